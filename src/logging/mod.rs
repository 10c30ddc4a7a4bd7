//! Logging: which events (`--log.level` or `RUST_LOG`), how they look
//! (`--log.format`: tracing's text, or logfmt or flat JSON from `format`),
//! and where they go: stderr, through a queue and a thread of their own
//! ([`Stderr`]), so that whatever stderr is (a terminal, a file, a closed
//! or a full pipe) the exporter keeps serving and stops on a signal.
//! Colour only on a terminal, and only while `NO_COLOR` is unset or empty.

mod format;
mod stderr;

use std::io::IsTerminal;
use std::time::Duration;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use format::{Encoding, Structured};
pub use stderr::Stderr;

use crate::config::{LogFormat as Format, parse_filter};
use crate::error::{Error, Result};

/// How long the process waits at exit for its last log lines to be
/// written; a stderr nobody reads must not hold up a shutdown.
pub const FLUSH_LIMIT: Duration = Duration::from_secs(1);

/// The installed logger: lets `main` print its last line through the same
/// queue and wait, bounded, for the queue to drain.
pub struct Logs {
    stderr: Stderr,
    /// `None` for text.
    structured: Option<Structured>,
}

impl Logs {
    /// Reports the error the process exits with: `error: ...` on a line of
    /// its own in text, an error line in logfmt and JSON, so that a log
    /// pipeline can parse every line.
    pub fn fatal(&self, error: &dyn std::fmt::Display) {
        let line = match &self.structured {
            None => format!("error: {error}\n"),
            Some(structured) => structured.error_line(&error.to_string()),
        };
        self.stderr.line(line.as_bytes());
    }

    /// Waits up to [`FLUSH_LIMIT`] for every queued line to be written.
    pub fn flush(&self) -> bool {
        self.stderr.flush(FLUSH_LIMIT)
    }
}

/// Whether text logs are coloured: only on a terminal, and only while
/// `NO_COLOR` is unset or empty (no-color.org).
fn colour(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && no_color.is_none_or(|value| value.is_empty())
}

/// The filter in force: `RUST_LOG` when it is set and not blank, else the
/// (already checked) `--log.level`. A bad `RUST_LOG` is named as such.
fn filter(level: &str, rust_log: Option<&str>) -> Result<EnvFilter> {
    let (text, source) = match rust_log {
        Some(rust_log) if !rust_log.trim().is_empty() => (rust_log, "RUST_LOG"),
        _ => (level, "--log.level"),
    };
    let invalid = |e: String| Error::Config(format!("invalid value '{text}' for {source}: {e}"));
    let filter = EnvFilter::try_new(parse_filter(text).map_err(invalid)?).map_err(|e| invalid(e.to_string()))?;
    // rustls warns of each malformed TLS handshake (a bad SNI, say): lines a
    // remote party could write at will. Its errors only, unless named.
    if text.contains("rustls") {
        return Ok(filter);
    }
    Ok(filter.add_directive("rustls=error".parse().expect("a valid directive")))
}

/// Sets up logging: `RUST_LOG` when set, else `--log.level`, in `format`,
/// to stderr.
pub fn init(level: &str, format: Format) -> Result<Logs> {
    let filter = filter(level, std::env::var("RUST_LOG").ok().as_deref())?;
    let stderr = Stderr::start().map_err(|e| Error::Config(format!("cannot start the log writer: {e}")))?;
    let ansi = colour(std::io::stderr().is_terminal(), std::env::var_os("NO_COLOR").as_deref());
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(stderr.clone())
        .with_ansi(ansi && format == Format::Text);
    let registry = tracing_subscriber::registry().with(filter);
    let encoding = match format {
        Format::Text => None,
        Format::Logfmt => Some(Encoding::Logfmt),
        Format::Json => Some(Encoding::Json),
    };
    match encoding {
        None => registry.with(layer).init(),
        Some(encoding) => registry.with(layer.event_format(Structured::new(encoding))).init(),
    }
    Ok(Logs {
        stderr,
        structured: encoding.map(Structured::new),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_rust_log_is_reported_as_rust_log() {
        let error = filter("info", Some("loud")).unwrap_err().to_string();
        assert!(error.contains("RUST_LOG") && !error.contains("--log.level"), "{error}");
        assert!(error.contains("'loud'"), "{error}");
        assert!(filter("info", Some("debug")).is_ok());
        assert!(filter("info", Some("  ")).is_ok(), "a blank RUST_LOG is unset");
        let error = filter("loud", None).unwrap_err().to_string();
        assert!(error.contains("--log.level"), "{error}");
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        use std::ffi::OsStr;
        assert!(colour(true, None));
        assert!(colour(true, Some(OsStr::new(""))));
        assert!(!colour(true, Some(OsStr::new("1"))));
        assert!(!colour(false, None));
    }
}
