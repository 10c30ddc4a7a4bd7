//! The flags' value parsers: what each flag accepts, checked as clap reads
//! it, and the message naming what was expected when it does not.

use std::net::{Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use reqwest::Url;

pub fn parse_rate(text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|r| (0.0..=100_000.0).contains(r))
        .ok_or_else(|| "expected a number of jobs a minute from 0 to 100000".into())
}

pub fn parse_speed(text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| (0.1..=3_600.0).contains(s))
        .ok_or_else(|| "expected a speed factor from 0.1 to 3600".into())
}

pub fn parse_base_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| format!("{e}; expected a URL like https://www.workato.com"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("expected an http or https URL with a host, like https://www.workato.com".into());
    }
    if url.path().trim_end_matches('/').ends_with("/api") {
        return Err("give the host root (https://www.workato.com) without /api; the exporter adds /api/...".into());
    }
    if url.query().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err("the URL may not carry a query string or credentials".into());
    }
    Ok(url)
}

pub fn parse_budget(text: &str) -> Result<NonZeroU32, String> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=60_000).contains(n))
        .and_then(NonZeroU32::new)
        .ok_or_else(|| "expected a whole number of requests a minute from 1 to 60000".into())
}

pub fn parse_listen_address(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    let expected = || "expected HOST:PORT with an IP address, or :PORT for every interface".to_string();
    if let Some(port) = text.strip_prefix(':') {
        let port: u16 = port.parse().map_err(|_| expected())?;
        return Ok(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)));
    }
    if let Some(port) = text.strip_prefix("localhost:") {
        let port: u16 = port.parse().map_err(|_| expected())?;
        return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    }
    text.parse().map_err(|_| expected())
}

/// The telemetry path: absolute, and not one the exporter answers
/// otherwise, where metrics would be unreachable (the admin route is
/// matched first, `/healthz`, `/readyz` and `/` are fixed).
pub fn parse_path(text: &str) -> Result<String, String> {
    if !(text.starts_with('/') && text.len() > 1 && !text.contains(['?', '#', ' '])) {
        return Err("expected an absolute path such as /metrics".into());
    }
    // `/admin` as `admin::is_admin_path` matches it.
    if text == "/admin" || text.starts_with("/admin/") || matches!(text, "/healthz" | "/readyz") {
        return Err(format!(
            "{text} is taken by the exporter itself (/admin/..., /healthz, /readyz, /); choose another, such as /metrics"
        ));
    }
    Ok(text.to_string())
}

pub fn parse_max_connections(text: &str) -> Result<usize, String> {
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=1_000_000).contains(n))
        .ok_or_else(|| "expected a whole number of connections from 1 to 1000000".into())
}

/// Durations as `500ms`, `5s`, `2m`, `1h` (humantime), at least one second
/// for poll intervals so a typo cannot hammer Workato.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| format!("{e}; expected a duration such as 500ms, 5s, 2m or 1h"))
}

pub fn parse_window(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration < Duration::from_secs(60) || duration > Duration::from_secs(7 * 86_400) {
        return Err("expected a window from 1m to 7d, such as 15m or 1h".into());
    }
    Ok(duration)
}

/// `--workato.timeout`: bounded so that a typo neither fails every request
/// nor lets a silent connection hold a poll for hours.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration < Duration::from_secs(1) || duration > Duration::from_secs(300) {
        return Err("expected a timeout from 1s to 5m, such as 30s".into());
    }
    Ok(duration)
}

pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration < Duration::from_secs(1) {
        return Err("expected an interval of at least 1s, such as 30s, 2m or 1h".into());
    }
    Ok(duration)
}
