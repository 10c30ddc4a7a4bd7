//! What the client is told besides where Workato is and who it is: its
//! timeouts and retry policy, and who hears about each request.

use std::time::Duration;

use super::group::Route;

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
    pub fn with_timeout(timeout: Duration) -> ClientOptions {
        ClientOptions {
            timeout,
            ..ClientOptions::default()
        }
    }
}
