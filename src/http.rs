//! The HTTP surface: `/metrics` (or `--web.telemetry-path`), `/healthz`,
//! `/readyz` and a landing page, served by hyper 1 over HTTP/1.1. Nothing
//! here calls Workato; every answer is built from the current snapshot.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::metrics::{Metrics, TEXT_CONTENT_TYPE};
use crate::snapshot::{Collector, SharedSnapshot};

/// How long open connections get to finish once shutdown starts.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(4);

/// What request handlers read.
pub struct State {
    pub metrics: Arc<Metrics>,
    pub snapshot: Arc<SharedSnapshot>,
    pub telemetry_path: String,
    pub workspace: String,
    pub base_url: String,
    /// Polling the built-in simulated workspace (`--demo`).
    pub demo: bool,
    /// Where `/admin` is served.
    pub admin: AdminMount,
}

/// Where the admin route lives, as seen from the main listener.
pub enum AdminMount {
    /// No admin token configured.
    Disabled,
    /// On this listener.
    Here(Arc<crate::admin::Admin>),
    /// On `--admin.listen-address`.
    Elsewhere,
}

/// A response body of one or more buffers, sent without joining them: a
/// scrape sends the cached inventory and the fresh self-metrics as they are.
#[derive(Debug, Default)]
pub struct Body {
    chunks: std::collections::VecDeque<Bytes>,
}

impl Body {
    pub fn from_chunks(chunks: impl IntoIterator<Item = Bytes>) -> Body {
        Body {
            chunks: chunks.into_iter().filter(|c| !c.is_empty()).collect(),
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Body {
        Body::from_chunks([Bytes::from(bytes)])
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        std::task::Poll::Ready(self.chunks.pop_front().map(|chunk| Ok(hyper::body::Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.chunks.iter().map(|c| c.len() as u64).sum())
    }
}

/// Answers requests; implemented by the exporter's [`State`] and by the
/// simulated Workato API.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, request: Request<Incoming>, peer: SocketAddr) -> impl Future<Output = Response<Body>> + Send;
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
        route(self, request)
    }
}

/// At most one log line per this long about failing accepts or a full
/// connection limit; the lines in between are counted, not written.
pub const ACCEPT_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// How long the accept loop rests after a failed accept (out of file
/// descriptors, say) before it tries again, so it does not spin.
pub const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// Says a recurring condition at most once per [`ACCEPT_LOG_INTERVAL`], with
/// how many times it happened unsaid since. Time is a parameter.
#[derive(Debug, Default)]
pub struct LogLimiter {
    last_said: Option<Instant>,
    unsaid: u64,
}

impl LogLimiter {
    /// Notes one occurrence at `now`. `Some(n)` means: log it now, adding
    /// that it happened `n` more times since the last line; `None`: stay quiet.
    pub fn note(&mut self, now: Instant) -> Option<u64> {
        match self.last_said {
            Some(said) if now.saturating_duration_since(said) < ACCEPT_LOG_INTERVAL => {
                self.unsaid += 1;
                None
            }
            _ => {
                self.last_said = Some(now);
                Some(std::mem::take(&mut self.unsaid))
            }
        }
    }
}

/// Serves until `shutdown` is cancelled, then lets open connections finish
/// for up to [`SHUTDOWN_GRACE`].
///
/// At most `max_connections` are open at once: the loop takes a permit
/// before it accepts, so beyond the limit new connections wait in the
/// kernel's backlog (back-pressure) instead of taking file descriptors
/// until `/metrics` itself cannot be served.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    shutdown: CancellationToken,
    max_connections: usize,
) {
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(max_connections.max(1)));
    let mut full = LogLimiter::default();
    let mut failing = LogLimiter::default();
    'serving: loop {
        if permits.available_permits() == 0
            && let Some(unsaid) = full.note(Instant::now())
        {
            tracing::warn!(
                max_connections,
                times_since_last_said = unsaid,
                "connection limit reached: no new connection is accepted until one closes (--web.max-connections)"
            );
        }
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, peer) = loop {
            tokio::select! {
                _ = shutdown.cancelled() => break 'serving,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => break accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: say so now
                        // and then, and rest before trying again.
                        if let Some(unsaid) = failing.note(Instant::now()) {
                            tracing::warn!(%error, times_since_last_said = unsaid, "accepting a connection failed");
                        }
                        tokio::select! {
                            _ = shutdown.cancelled() => break 'serving,
                            _ = tokio::time::sleep(ACCEPT_PAUSE) => {}
                        }
                    }
                },
            }
        };
        // Responses leave in a few writes (the cached exposition, then the
        // fresh part): without NODELAY the last would wait for the
        // client's delayed ACK, some 40 ms.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let handler = Arc::clone(&handler);
        let service = service_fn(move |request| {
            let handler = Arc::clone(&handler);
            async move { Ok::<_, Infallible>(handler.handle(request, peer).await) }
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(Duration::from_secs(10))
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
            // The connection's file descriptor is closed: make room.
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}; closing them"),
    }
}

fn route(state: &State, request: Request<Incoming>) -> Response<Body> {
    let path = request.uri().path();
    let is_read = matches!(*request.method(), Method::GET | Method::HEAD);
    let response = match path {
        p if p == state.telemetry_path && is_read => metrics(state, &request),
        "/healthz" if is_read => text(StatusCode::OK, "text/plain; charset=utf-8", "ok\n".into()),
        "/readyz" if is_read => readyz(state),
        "/" if is_read => landing(state),
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

fn metrics(state: &State, request: &Request<Incoming>) -> Response<Body> {
    let gzip = accepts_gzip(request);
    let mut response = Response::new(Body::from_chunks(state.metrics.scrape(gzip)));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_CONTENT_TYPE));
    let headers = response.headers_mut();
    if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    response
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

fn readyz(state: &State) -> Response<Body> {
    let snapshot = state.snapshot.load();
    if snapshot.ready() {
        return json(StatusCode::OK, &serde_json::json!({"status": "ready"}));
    }
    let waiting: Vec<&str> = snapshot.waiting().into_iter().map(Collector::name).collect();
    json_message(
        StatusCode::SERVICE_UNAVAILABLE,
        &format!("waiting for a first successful poll of: {}", waiting.join(", ")),
    )
}

fn landing(state: &State) -> Response<Body> {
    let snapshot = state.snapshot.load();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
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
    let page = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Workato exporter</title></head><body>\n\
         <h1>Workato exporter</h1>\n{demo}\
         <p>Version {version} ({revision}), workspace <b>{workspace}</b>, polling {base_url}.</p>\n\
         <p><a href=\"{path}\">Metrics</a> · <a href=\"/healthz\">Health</a> · <a href=\"/readyz\">Readiness</a></p>\n\
         <table border=\"1\" cellpadding=\"4\"><tr><th>collector</th><th>last poll</th><th>last success</th></tr>\n{rows}</table>\n\
         </body></html>\n",
        version = crate::version::VERSION,
        revision = crate::version::REVISION,
        workspace = escape_html(&state.workspace),
        base_url = escape_html(&state.base_url),
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

pub fn text(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Errors everywhere are JSON `{"message": "..."}`, like Workato's own.
pub fn json_message(status: StatusCode, message: &str) -> Response<Body> {
    json(status, &serde_json::json!({ "message": message }))
}

/// A JSON answer.
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    text(
        status,
        "application/json; charset=utf-8",
        value.to_string().into_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_failures_are_said_once_per_interval_with_a_count() {
        let start = Instant::now();
        let mut limiter = LogLimiter::default();
        assert_eq!(limiter.note(start), Some(0), "the first is said");
        for ms in [1, 50, 5_000, 9_999] {
            assert_eq!(limiter.note(start + Duration::from_millis(ms)), None);
        }
        assert_eq!(
            limiter.note(start + ACCEPT_LOG_INTERVAL),
            Some(4),
            "then once per interval, with what went unsaid"
        );
        assert_eq!(limiter.note(start + ACCEPT_LOG_INTERVAL * 3), Some(0));
        // 500 failures a second for a minute: six lines.
        let mut limiter = LogLimiter::default();
        let said = (0..60_000u64)
            .step_by(2)
            .filter(|ms| limiter.note(start + Duration::from_millis(*ms)).is_some())
            .count();
        assert_eq!(said, 6);
    }

    #[test]
    fn errors_on_the_status_page_are_short_and_plain() {
        assert_eq!(shorten("Workato answered HTTP 500"), "Workato answered HTTP 500");
        let long = format!("Workato answered HTTP 500 on GET /api/recipes: {}", "é".repeat(500));
        let short = shorten(&long);
        assert_eq!(short.chars().count(), MAX_ERROR_CHARS + " (see the log)".len());
        assert!(short.starts_with("Workato answered HTTP 500 on GET /api/recipes: éé"));
        assert!(short.ends_with("é… (see the log)"), "{short}");
        assert_eq!(shorten("a\nb\u{202E}c\u{7}"), "a b c ");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<b>\"x\" & 'y'</b>"),
            "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;"
        );
    }
}
