//! Sending a request: within the per-group budget, with the client's
//! timeout, a bounded reply, and retries of 429, 5xx, timeouts and
//! connection errors; Workato's answer mapped to our [`Error`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::{self, HeaderMap};
use reqwest::{StatusCode, Url};
use tokio::time::Instant;
use workato_api::{Budget, MAX_HOLD};

use super::decode::error_body;
use super::group::Route;
use super::options::{ClientOptions, Observer};
use super::place::Place;
use crate::error::{Error, Result};

/// A Workato API client for one workspace. Cheap to clone; clones share the
/// connection pool and the budget.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// Where its calls stand in the budget's line, and how long they may
    /// wait there.
    place: Place,
}

struct Inner {
    http: reqwest::Client,
    api_root: Url,
    /// Shared with the clients of an Embed admin workspace's customers:
    /// Workato counts their quota together.
    budget: Arc<Budget>,
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
            .field("place", &self.place)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// The client around a built HTTP client (see `build`).
    pub(super) fn from_parts(
        http: reqwest::Client,
        api_root: Url,
        budget: Budget,
        options: ClientOptions,
        observer: Arc<dyn Observer>,
    ) -> Client {
        Client {
            inner: Arc::new(Inner {
                http,
                api_root,
                budget: Arc::new(budget),
                options,
                observer,
                token_rejected: AtomicBool::new(false),
            }),
            place: Place::Arrival,
        }
    }

    /// The same client whose calls wait in the budget's line as work due
    /// since `rank`: before the calls for work that became due later.
    pub fn in_line(&self, rank: Instant) -> Client {
        Client {
            inner: Arc::clone(&self.inner),
            place: Place::Due(rank),
        }
    }

    /// The same client for work due since `rank` that can wait for a later
    /// cycle: its calls take only the room the budget's reserve leaves
    /// ([`Budget::acquire_spare`]), and fail with [`Error::Busy`] when there
    /// is none by `until`.
    pub fn spare(&self, rank: Instant, until: Instant) -> Client {
        Client {
            inner: Arc::clone(&self.inner),
            place: Place::Spare { rank, until },
        }
    }

    /// The same client (same connections, same budget) for callers that
    /// must not wait long, such as the admin route: a call that would wait
    /// longer than `patience` for the budget or a `Retry-After` fails at once.
    pub fn impatient(&self, patience: Duration) -> Client {
        Client {
            inner: Arc::clone(&self.inner),
            place: Place::Within(patience),
        }
    }

    /// A client for the Embedded customer workspace `workspace_id`, through
    /// this Embed admin workspace's customer-scoped routes
    /// (`/api/managed_users/:id/...`): the same connections, credentials and
    /// budget, its requests reported to `observer`.
    pub fn customer(&self, workspace_id: u64, observer: Arc<dyn Observer>) -> Result<Client> {
        let inner = &self.inner;
        let api_root = inner
            .api_root
            .join(&format!("managed_users/{workspace_id}/"))
            .map_err(|e| Error::Config(format!("customer {workspace_id}: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http: inner.http.clone(),
                api_root,
                budget: Arc::clone(&inner.budget),
                options: inner.options.clone(),
                observer,
                token_rejected: AtomicBool::new(false),
            }),
            place: Place::Arrival,
        })
    }

    /// Where the API's routes start (`…/api/`, or a customer's
    /// `…/api/managed_users/:id/`).
    pub fn api_root(&self) -> &Url {
        &self.inner.api_root
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
            let slot = self.place.take(&inner.budget, route.group).await?;
            let started = Instant::now();
            let outcome = self.attempt(route, url.clone(), query, body).await;
            inner.budget.settle(route.group, slot);
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
                    let patience = self.place.patience().unwrap_or(inner.options.max_retry_after);
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
                    let (message, error_id) = error_body(&body);
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
                    let (message, error_id) = error_body(&body);
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
        let limit = self.inner.options.max_reply_bytes;
        let too_large = || Error::TooLarge {
            endpoint: route.label,
            limit,
        };
        let length = response.content_length();
        if length.is_some_and(|length| length > limit as u64) {
            return Err(too_large());
        }
        // Taken, not copied: the body is read without them.
        let headers = std::mem::take(response.headers_mut());
        // Room for the announced length, up to a megabyte (a length is
        // only a promise): a page is not copied again at each doubling.
        let room = length.map_or(0, |length| length.min(PRESIZE_AT_MOST));
        let mut body = bytes::BytesMut::with_capacity(room as usize);
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

/// The most room set aside for a reply before its bytes arrive.
const PRESIZE_AT_MOST: u64 = 1 << 20;

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
    use reqwest::header::HeaderValue;

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
}
