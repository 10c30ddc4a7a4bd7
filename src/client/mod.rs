//! The Workato API client: base URL, auth, timeout and user agent, built
//! once; one method per endpoint (in the files beside this one); paging,
//! error mapping, the per-group budget and retries. It knows nothing of
//! metrics: it reports each request to an [`Observer`].

mod api_platform;
mod connections;
mod group;
mod jobs;
mod probe;
pub mod properties;
mod recipes;
mod wire;
mod workspace;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{StatusCode, Url};
use secrecy::ExposeSecret;
use tokio::time::Instant;

pub use group::{Group, Route};
pub use jobs::{JobsQuery, LIST_JOBS};
pub use recipes::{ActionOutcome, MAX_RECIPES, RecipeList, decode_recipes};
pub use workato_api::{Budget, MAX_HOLD};

use crate::config::{Auth, Config};
use crate::error::{Error, Result};

/// Told about every request the client sends, for self-metrics.
pub trait Observer: Send + Sync {
    /// `code` is the HTTP status, or `error` when no response came back.
    fn request_finished(&self, route: &Route, code: &str, elapsed: Duration);
}

/// An observer that ignores everything (for `check` and tests).
pub struct NoObserver;

impl Observer for NoObserver {
    fn request_finished(&self, _: &Route, _: &str, _: Duration) {}
}

/// Timeouts and retry policy; the defaults are the production values.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Whole-request timeout (Workato's own is 40 s).
    pub timeout: Duration,
    /// Attempts per request for 429, 5xx, timeouts and connection errors.
    pub max_attempts: u32,
    /// First backoff when Workato gives no `Retry-After`; doubles each time.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// A `Retry-After` longer than this fails the request at once (the group
    /// stays on hold) instead of holding the caller.
    pub max_retry_after: Duration,
    /// The largest reply body read; a longer one fails the request as it
    /// streams in, before it is buffered.
    pub max_reply_bytes: usize,
}

/// Default of [`ClientOptions::max_reply_bytes`]: a page of 100 recipes
/// without code is a few hundred KB; the connections list (not paged) of a
/// workspace with 10,000 connections about 10 MB. Five collectors reading at
/// once stay under 100 MB however large the replies.
pub const MAX_REPLY_BYTES: usize = 16 * 1024 * 1024;

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(30),
            max_attempts: 3,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            max_reply_bytes: MAX_REPLY_BYTES,
        }
    }
}

impl ClientOptions {
    /// The production values, with the request timeout of `--workato.timeout`.
    pub fn for_config(config: &Config) -> ClientOptions {
        ClientOptions {
            timeout: config.timeout,
            ..ClientOptions::default()
        }
    }
}

/// A Workato API client for one workspace. Cheap to clone; clones share the
/// connection pool and the budget.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// How long a call may wait for the budget (or a `Retry-After`) before
    /// giving up with [`Error::Busy`] / [`Error::Throttled`]; `None` waits.
    patience: Option<Duration>,
}

struct Inner {
    http: reqwest::Client,
    api_root: Url,
    budget: Budget,
    options: ClientOptions,
    observer: Arc<dyn Observer>,
    /// Set while Workato rejects the token, so "token rejected" is logged
    /// once per episode, not once per request.
    token_rejected: AtomicBool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("api_root", &self.inner.api_root.as_str())
            .field("patience", &self.patience)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds the client from the exporter's configuration.
    pub fn new(config: &Config, observer: Arc<dyn Observer>) -> Result<Client> {
        Client::with_options(
            &config.base_url,
            &config.auth,
            config.requests_per_minute,
            ClientOptions::for_config(config),
            observer,
        )
    }

    pub fn with_options(
        base_url: &Url,
        auth: &Auth,
        requests_per_minute: std::num::NonZeroU32,
        options: ClientOptions,
        observer: Arc<dyn Observer>,
    ) -> Result<Client> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        let secret_header = |value: &str| {
            let mut value = HeaderValue::from_str(value).map_err(|_| {
                Error::Config("the Workato API token contains characters not allowed in an HTTP header".into())
            })?;
            value.set_sensitive(true);
            Ok::<_, Error>(value)
        };
        match auth {
            Auth::Bearer(token) => {
                headers.insert(
                    header::AUTHORIZATION,
                    secret_header(&format!("Bearer {}", token.expose_secret()))?,
                );
            }
            Auth::Legacy { email, token } => {
                let email = HeaderValue::from_str(email)
                    .map_err(|_| Error::Config("--workato.email: not a valid header value".into()))?;
                headers.insert("x-user-email", email);
                headers.insert("x-user-token", secret_header(token.expose_secret())?);
            }
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("workato_exporter/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            // Never follow a redirect: another host would get the legacy
            // X-USER-TOKEN header (reqwest strips only Authorization), its
            // data would pass for Workato's, and a loop would spend the
            // budget. A 3xx is an error naming where it pointed.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        let mut api_root = base_url.clone();
        if !api_root.path().ends_with('/') {
            let path = format!("{}/", api_root.path());
            api_root.set_path(&path);
        }
        let api_root = api_root
            .join("api/")
            .map_err(|e| Error::Config(format!("--workato.base-url: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                api_root,
                budget: Budget::new(requests_per_minute),
                options,
                observer,
                token_rejected: AtomicBool::new(false),
            }),
            patience: None,
        })
    }

    /// The same client (same connections, same budget) for callers that
    /// must not wait long, such as the admin route: a call that would wait
    /// longer than `patience` for the budget or a `Retry-After` fails at once.
    pub fn impatient(&self, patience: Duration) -> Client {
        Client {
            inner: Arc::clone(&self.inner),
            patience: Some(patience),
        }
    }

    /// The shared per-group budget.
    pub fn budget(&self) -> &Budget {
        &self.inner.budget
    }

    /// Sends one GET (or other body-less request) within the budget.
    pub(crate) async fn send(&self, route: &Route, path: &str, query: &[(&str, String)]) -> Result<Bytes> {
        self.call(route, path, query, None).await
    }

    /// Sends one request within the budget, retrying 429, 5xx, timeouts and
    /// connection errors, and returns the body of a 2xx answer.
    pub(crate) async fn call(
        &self,
        route: &Route,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<Bytes> {
        let inner = &self.inner;
        let url = inner
            .api_root
            .join(path)
            .map_err(|e| Error::Config(format!("bad API path {path}: {e}")))?;
        let mut attempt = 1;
        loop {
            match self.patience {
                None => inner.budget.acquire(route.group).await,
                Some(patience) => inner
                    .budget
                    .acquire_within(route.group, patience)
                    .await
                    .map_err(|wait| Error::Busy {
                        group: route.group,
                        retry_after: wait,
                    })?,
            }
            let started = Instant::now();
            let outcome = self.attempt(route, url.clone(), query, body).await;
            let code = match &outcome {
                Ok((status, _, _)) => status.as_str().to_string(),
                Err(_) => "error".to_string(),
            };
            inner.observer.request_finished(route, &code, started.elapsed());

            let retry_in = match outcome {
                Ok((status, _, body)) if status.is_success() => {
                    if inner.token_rejected.swap(false, Ordering::Relaxed) {
                        tracing::info!("Workato accepts the API token again");
                    }
                    return Ok(body);
                }
                Ok((StatusCode::UNAUTHORIZED, _, _)) => {
                    if !inner.token_rejected.swap(true, Ordering::Relaxed) {
                        tracing::error!(
                            endpoint = route.label,
                            "token rejected: Workato answered 401 Unauthorized; check WORKATO_API_TOKEN or --workato.token-file (polling goes on)"
                        );
                    }
                    return Err(Error::Unauthorized { endpoint: route.label });
                }
                Ok((StatusCode::FORBIDDEN, _, _)) => {
                    return Err(Error::Forbidden {
                        endpoint: route.label,
                        group: route.group,
                    });
                }
                Ok((StatusCode::TOO_MANY_REQUESTS, headers, _)) => {
                    let wait = retry_after(&headers).unwrap_or_else(|| self.backoff(attempt));
                    inner.budget.hold(route.group, wait);
                    tracing::warn!(
                        endpoint = route.label,
                        ?wait,
                        attempt,
                        "Workato throttled the request (429)"
                    );
                    let patience = self.patience.unwrap_or(inner.options.max_retry_after);
                    if attempt >= inner.options.max_attempts || wait > patience {
                        return Err(Error::Throttled {
                            endpoint: route.label,
                            retry_after: wait,
                        });
                    }
                    // The hold makes `acquire` wait; nothing more to sleep here.
                    Duration::ZERO
                }
                Ok((status, _, body))
                    if status.is_server_error() && route.blind_retry && attempt < inner.options.max_attempts =>
                {
                    let (message, error_id) = wire::error_body(&body);
                    tracing::warn!(
                        endpoint = route.label,
                        status = status.as_u16(),
                        message,
                        workato_error_id = error_id.as_deref().unwrap_or(""),
                        attempt,
                        "Workato server error; retrying"
                    );
                    self.backoff(attempt)
                }
                Ok((status, headers, _)) if status.is_redirection() => {
                    return Err(Error::Status {
                        endpoint: route.label,
                        status: status.as_u16(),
                        message: redirect_message(&headers),
                        error_id: None,
                    });
                }
                Ok((status, _, body)) => {
                    let (message, error_id) = wire::error_body(&body);
                    return Err(Error::Status {
                        endpoint: route.label,
                        status: status.as_u16(),
                        message,
                        error_id,
                    });
                }
                // A reply too large now will be too large on a retry too.
                Err(error @ Error::TooLarge { .. }) => return Err(error),
                Err(error) if route.blind_retry && attempt < inner.options.max_attempts => {
                    tracing::warn!(endpoint = route.label, %error, attempt, "request to Workato failed; retrying");
                    self.backoff(attempt)
                }
                Err(error) => return Err(error),
            };
            attempt += 1;
            tokio::time::sleep(retry_in).await;
        }
    }

    async fn attempt(
        &self,
        route: &Route,
        url: Url,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<(StatusCode, HeaderMap, Bytes)> {
        let timeout = self.inner.options.timeout;
        let transport = |e: reqwest::Error| Error::Transport {
            endpoint: route.label,
            reason: if e.is_timeout() {
                format!("timed out after {timeout:?}")
            } else {
                error_chain(&e.without_url())
            },
        };
        let mut request = self.inner.http.request(route.method.clone(), url).query(query);
        if let Some(body) = body {
            request = request
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let mut response = request.send().await.map_err(transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let limit = self.inner.options.max_reply_bytes;
        let too_large = || Error::TooLarge {
            endpoint: route.label,
            limit,
        };
        if response.content_length().is_some_and(|length| length > limit as u64) {
            return Err(too_large());
        }
        let mut body = bytes::BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, headers, body.freeze()))
    }

    /// Exponential backoff with jitter: base·2^(attempt-1), scaled by a
    /// random factor in [0.5, 1.5), capped.
    fn backoff(&self, attempt: u32) -> Duration {
        let options = &self.inner.options;
        let exp = options
            .backoff_base
            .saturating_mul(1 << (attempt.saturating_sub(1)).min(16));
        exp.mul_f64(0.5 + fastrand::f64()).min(options.backoff_max)
    }
}

/// `Retry-After` as delay-seconds or an HTTP date, at most [`MAX_HOLD`]
/// (15 minutes): a larger value is taken as the cap.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let date = httpdate::parse_http_date(value).ok()?;
            date.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(MAX_HOLD))
}

/// What a 3xx says, without following it: the host it points at (a path
/// or query could carry anything).
fn redirect_message(headers: &HeaderMap) -> String {
    let target = headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|location| Url::parse(location).ok())
        .and_then(|url| url.host_str().map(|h| h.chars().take(100).collect::<String>()));
    match target {
        Some(host) => format!("a redirect to {host}, not followed (check --workato.base-url)"),
        None => "a redirect, not followed (check --workato.base-url)".into(),
    }
}

/// An error and its sources on one line (reqwest's own message is terse).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("17"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(17)));
        let soon = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        headers.insert(header::RETRY_AFTER, HeaderValue::from_str(&soon).unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(28) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(
            retry_after(&headers),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
        for huge in ["18446744073709551615", "1000000000", "Fri, 31 Dec 9999 23:59:59 GMT"] {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static(huge));
            assert_eq!(retry_after(&headers), Some(MAX_HOLD), "{huge}");
        }
    }

    #[test]
    fn every_group_names_a_privilege() {
        for group in Group::ALL {
            assert!(group.privilege().contains('›'), "{group:?}");
        }
    }
}
