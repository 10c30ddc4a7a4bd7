//! The accept loop: one task per connection, at most a given number of
//! them open at once, HTTP/1.1 with a header read timeout, and a graceful
//! stop when the shutdown token is cancelled.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::body::Body;
use crate::web::Web;

/// The default limit of open connections (the exporter's
/// `--web.max-connections`): well under the usual 1,024 file descriptors,
/// far above what Prometheus and a few browsers need.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

/// The target of this loop's log lines: the module it lived in inside the
/// exporter, so that log filters (`workato_exporter=debug`) and the
/// `module` field of each line read as they did.
const LOG_TARGET: &str = "workato_exporter::http";

/// How long a client gets to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The TLS handshake; a client speaking clear-text HTTP to the TLS port
/// gets a plain 400 saying so instead, and nothing else.
async fn handshake(
    mut stream: TcpStream,
    tls: Arc<rustls::ServerConfig>,
) -> std::io::Result<tokio_rustls::server::TlsStream<TcpStream>> {
    let mut first = [0u8; 1];
    let n = stream.peek(&mut first).await?;
    // 22: a TLS handshake record.
    if n == 1 && first[0] != 22 {
        use tokio::io::AsyncWriteExt as _;
        let _ = stream
            .write_all(b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
            .await;
        let _ = stream.shutdown().await;
        return Err(std::io::Error::other("clear-text HTTP on the TLS port"));
    }
    tokio_rustls::TlsAcceptor::from(tls).accept(stream).await
}

/// How long open connections get to finish once shutdown starts.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(4);

/// Answers requests; implemented by the exporter's routes, its admin
/// route and the simulated Workato API.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, request: Request<Incoming>, peer: SocketAddr) -> impl Future<Output = Response<Body>> + Send;
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
    serve_with(listener, handler, shutdown, max_connections, None).await;
}

/// As [`serve`], with a web configuration applied to every connection
/// (TLS) and every request (basic auth, extra headers) when given.
pub async fn serve_with<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    shutdown: CancellationToken,
    max_connections: usize,
    web: Option<Arc<Web>>,
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
                target: LOG_TARGET,
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
                            tracing::warn!(target: LOG_TARGET, %error, times_since_last_said = unsaid, "accepting a connection failed");
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
            tracing::debug!(target: LOG_TARGET, %error, "cannot set TCP_NODELAY");
        }
        let handler = Arc::clone(&handler);
        let web = web.clone();
        let watcher = graceful.watcher();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let settings = web.as_ref().map(|web| {
                // A certificate replaced on disk is served from the next
                // connection on.
                web.refresh();
                web.current()
            });
            let service = service_fn(move |request: Request<Incoming>| {
                let handler = Arc::clone(&handler);
                let web = web.clone();
                async move {
                    // Basic auth and headers as they are now, not as they
                    // were when the connection opened.
                    let Some(settings) = web.map(|web| web.current()) else {
                        return Ok::<_, Infallible>(handler.handle(request, peer).await);
                    };
                    let mut response = match settings.refuse(request.headers()).await {
                        Some(refusal) => refusal,
                        None => handler.handle(request, peer).await,
                    };
                    settings.decorate(&mut response);
                    Ok(response)
                }
            });
            let http = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .to_owned();
            let served = match settings.and_then(|s| s.tls.clone()) {
                None => {
                    watcher
                        .watch(http.serve_connection(TokioIo::new(stream), service))
                        .await
                }
                Some(tls) => {
                    let handshake = tokio::select! {
                        _ = stop.cancelled() => return,
                        done = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(stream, tls)) => done,
                    };
                    match handshake {
                        Ok(Ok(stream)) => {
                            watcher
                                .watch(http.serve_connection(TokioIo::new(stream), service))
                                .await
                        }
                        Ok(Err(error)) => {
                            tracing::debug!(target: LOG_TARGET, %error, %peer, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(target: LOG_TARGET, %peer, "TLS handshake timed out");
                            return;
                        }
                    }
                }
            };
            if let Err(error) = served {
                tracing::debug!(target: LOG_TARGET, %error, %peer, "connection ended with an error");
            }
            // The connection's file descriptor is closed: make room.
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!(target: LOG_TARGET, "connections still open after {SHUTDOWN_GRACE:?}; closing them"),
    }
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
}
