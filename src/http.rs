//! The HTTP surface: `/metrics` (or `--web.telemetry-path`), `/healthz`,
//! `/readyz` and a landing page, served by hyper 1 over HTTP/1.1. Nothing
//! here calls Workato; every answer is built from the current snapshot.

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

/// The serving leaf (accept loop, connection limit, response body, JSON
/// answers) is the `http_server` crate, shared with the simulator.
pub use http_server::{Body, Handler, Web, json, json_message, serve, serve_with, text};

pub mod web_config;

use crate::fleet::Fleet;
use crate::metrics::{Format, Metrics};
use crate::reload::Reloader;
use crate::snapshot::Collector;

/// What request handlers read.
pub struct State {
    pub fleet: Arc<Fleet>,
    pub metrics: Arc<Metrics>,
    pub telemetry_path: String,
    /// Polling the built-in simulated workspace (`--demo`).
    pub demo: bool,
    /// Where `/admin` is served.
    pub admin: AdminMount,
    /// `--web.enable-lifecycle`: `POST /-/reload` allowed.
    pub lifecycle: bool,
    /// Reads `--config.file` again, when there is one.
    pub reloader: Option<Arc<Reloader>>,
    /// [`SCRAPE_THREADS`] permits.
    pub scrapes: tokio::sync::Semaphore,
}

/// Scrapes put together at once, each on a blocking thread; more wait
/// for a turn without holding a thread (a flood of scrapes would otherwise
/// take up to tokio's 512).
pub const SCRAPE_THREADS: usize = 4;

/// Where the admin route lives, as seen from the main listener.
pub enum AdminMount {
    /// No admin token configured.
    Disabled,
    /// On this listener.
    Here(Arc<crate::admin::Admin>),
    /// On `--admin.listen-address`.
    Elsewhere,
}

impl Handler for State {
    async fn handle(&self, request: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
        if crate::admin::is_admin_path(request.uri().path()) {
            return match &self.admin {
                AdminMount::Here(admin) => admin.handle(request, peer).await,
                AdminMount::Disabled => json_message(StatusCode::NOT_FOUND, "admin API disabled"),
                AdminMount::Elsewhere => json_message(
                    StatusCode::NOT_FOUND,
                    "not found: the admin API is served on --admin.listen-address",
                ),
            };
        }
        route(self, request).await
    }
}

async fn route(state: &State, request: Request<Incoming>) -> Response<Body> {
    let path = request.uri().path();
    let is_read = matches!(*request.method(), Method::GET | Method::HEAD);
    let response = match path {
        p if p == state.telemetry_path && is_read => {
            let (format, gzip) = wanted(&request);
            metrics(state, format, gzip).await
        }
        "/healthz" if is_read => text(StatusCode::OK, "text/plain; charset=utf-8", "ok\n".into()),
        "/readyz" if is_read => readyz(state),
        "/" if is_read => landing(state),
        "/-/reload" => return reload(state, request).await,
        p if p == state.telemetry_path || matches!(p, "/healthz" | "/readyz" | "/") => {
            let mut response = json_message(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("method {} not allowed on {p}; use GET", request.method()),
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            response
        }
        p => json_message(StatusCode::NOT_FOUND, &format!("not found: {p}")),
    };
    if *request.method() == Method::HEAD {
        let (parts, _) = response.into_parts();
        return Response::from_parts(parts, Body::default());
    }
    response
}

/// The format `Accept` asks for (text 0.0.4 by default, OpenMetrics,
/// protobuf), and whether `Accept-Encoding` allows gzip.
fn wanted(request: &Request<Incoming>) -> (Format, bool) {
    // Several Accept headers read as one list, as RFC 9110 has it.
    let accept: Vec<&str> = request
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let accept = accept.join(",");
    let format = Format::negotiate((!accept.is_empty()).then_some(accept.as_str()));
    (format, accepts_gzip(request))
}

/// The exposition in `format`, gzipped when asked. It is put together on a
/// blocking thread: rendering what changed since the last scrape (a whole
/// workspace after its poll) takes from milliseconds to a fraction of a
/// second, and concurrent scrapes wait for that rendering on the cache's
/// lock; on the runtime's workers either stalled every connection, sending
/// included.
async fn metrics(state: &State, format: Format, gzip: bool) -> Response<Body> {
    // The semaphore is never closed.
    let Ok(_turn) = state.scrapes.acquire().await else {
        return json_message(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    };
    let metrics = Arc::clone(&state.metrics);
    let scrape = match tokio::task::spawn_blocking(move || metrics.scrape(format, gzip)).await {
        Ok(scrape) => scrape,
        Err(error) => {
            tracing::error!(%error, "rendering the exposition stopped abnormally");
            return json_message(StatusCode::INTERNAL_SERVER_ERROR, "rendering the exposition failed");
        }
    };
    let mut response = Response::new(Body::from_chunks(scrape.chunks));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(scrape.format.content_type()),
    );
    if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    headers.insert(header::VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
    response
}

/// `POST` (or `PUT`) `/-/reload`: reads `--config.file` again, as SIGHUP
/// does; answers once it is applied, 500 naming the problem when the file
/// does not load (the running configuration stays). As Prometheus, only
/// with `--web.enable-lifecycle`.
async fn reload(state: &State, request: Request<Incoming>) -> Response<Body> {
    if !matches!(*request.method(), Method::POST | Method::PUT) {
        let mut response = json_message(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("method {} not allowed on /-/reload; use POST", request.method()),
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST, PUT"));
        return response;
    }
    if !state.lifecycle {
        return json_message(
            StatusCode::FORBIDDEN,
            "Lifecycle API is not enabled: start with --web.enable-lifecycle",
        );
    }
    let Some(reloader) = &state.reloader else {
        return json_message(
            StatusCode::BAD_REQUEST,
            "nothing to reload: the workspaces come from flags, not --config.file",
        );
    };
    match reloader.reload("POST /-/reload").await {
        Ok(changes) => json(
            StatusCode::OK,
            &serde_json::json!({
                "status": "reloaded",
                "added": changes.added,
                "removed": changes.removed,
                "restarted": changes.restarted,
                "unchanged": changes.unchanged,
            }),
        ),
        Err(error) => json_message(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("not reloaded, the running configuration stays: {error}"),
        ),
    }
}

/// True when `Accept-Encoding` lists gzip with a non-zero quality.
fn accepts_gzip(request: &Request<Incoming>) -> bool {
    request
        .headers()
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let zero_quality = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !zero_quality
        })
}

/// 200 once every workspace has finished its first poll, successfully or
/// not: readiness says the exporter has something to say; whether Workato
/// answered is what `workato_up` says.
fn readyz(state: &State) -> Response<Body> {
    let mut waiting: Vec<String> = (state.fleet.unlisted().into_iter())
        .map(|name| format!("{name} (Embedded customers)"))
        .collect();
    for workspace in state.fleet.workspaces().iter() {
        let collectors = workspace.snapshot.load().waiting();
        if !collectors.is_empty() {
            let names: Vec<&str> = collectors.into_iter().map(Collector::name).collect();
            waiting.push(format!("{} ({})", workspace.name, names.join(", ")));
        }
    }
    if waiting.is_empty() {
        return json(StatusCode::OK, &serde_json::json!({"status": "ready"}));
    }
    let shown = waiting.len().min(MAX_WAITING_SHOWN);
    let more = match waiting.len() - shown {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    json_message(
        StatusCode::SERVICE_UNAVAILABLE,
        &format!("waiting for a first poll of: {}{more}", waiting[..shown].join("; ")),
    )
}

/// Workspaces named in a 503 from `/readyz`.
const MAX_WAITING_SHOWN: usize = 10;

/// The status page: one table per workspace.
fn landing(state: &State) -> Response<Body> {
    let now = crate::clock::unix_now();
    let workspaces = state.fleet.workspaces();
    let mut sections = String::new();
    for workspace in workspaces.iter() {
        let snapshot = workspace.snapshot.load();
        let mut rows = String::new();
        for collector in Collector::ALL {
            let status = snapshot.collectors.get(&collector).cloned().unwrap_or_default();
            let outcome = match (&status.last_attempt, status.up) {
                (None, _) => "not polled yet".to_string(),
                (Some(_), true) => "ok".to_string(),
                (Some(_), false) if status.unavailable => crate::snapshot::WORKSPACE_NOT_AVAILABLE.to_string(),
                (Some(_), false) => format!("failing: {}", shorten(status.last_error.as_deref().unwrap_or_default())),
            };
            let age = status
                .last_success
                .map(|t| format!("{:.0}s ago", (now - t).max(0.0)))
                .unwrap_or_else(|| "never".into());
            rows.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                collector.name(),
                escape_html(&outcome),
                age
            ));
        }
        sections.push_str(&format!(
            "<h2>Workspace {name}</h2>\n<p>Polling {base_url}.</p>\n\
             <table border=\"1\" cellpadding=\"4\"><tr><th>collector</th><th>last poll</th><th>last success</th></tr>\n{rows}</table>\n",
            name = escape_html(&workspace.name),
            base_url = escape_html(&workspace.base_url),
        ));
    }
    let page = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Workato exporter</title></head><body>\n\
         <h1>Workato exporter</h1>\n{demo}\
         <p>Version {version} ({revision}), watching {count} workspace{plural}.</p>\n\
         <p><a href=\"{path}\">Metrics</a> · <a href=\"/healthz\">Health</a> · <a href=\"/readyz\">Readiness</a></p>\n\
         {sections}</body></html>\n",
        version = crate::version::VERSION,
        revision = crate::version::REVISION,
        count = workspaces.len(),
        plural = if workspaces.len() == 1 { "" } else { "s" },
        path = escape_html(&state.telemetry_path),
        demo = if state.demo {
            "<p><b>Demo mode:</b> these figures come from a simulated Workato workspace built into the exporter, \
             with incidents scripted to repeat every two simulated hours. Point it at your own workspace with \
             WORKATO_API_TOKEN and --workato.region.</p>\n"
        } else {
            ""
        },
    );
    text(StatusCode::OK, "text/html; charset=utf-8", page.into_bytes())
}

/// The most of an error's text the status page shows, in characters.
pub const MAX_ERROR_CHARS: usize = 120;

/// An error for the unauthenticated status page: the exporter's own words
/// come first (what failed, the HTTP status), Workato's message after them,
/// so cutting at [`MAX_ERROR_CHARS`] keeps what matters and bounds what a
/// remote party can write on the page. Control and bidirectional-override
/// characters, which could disguise the text, become spaces. The whole
/// text is in the log.
fn shorten(error: &str) -> String {
    let visible = |c: char| !(c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'));
    let mut chars = error.chars().map(|c| if visible(c) { c } else { ' ' });
    let mut out: String = chars.by_ref().take(MAX_ERROR_CHARS).collect();
    if chars.next().is_some() {
        out.pop();
        out.push('…');
        out.push_str(" (see the log)");
    }
    out
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
