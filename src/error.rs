//! The crate's one error type. Every failure the exporter can meet while
//! talking to Workato or reading its configuration is a variant here. It
//! stands at the bottom of the crate: it names Workato's endpoint groups
//! from `workato_api` and nothing of this crate.

use std::time::Duration;

use workato_api::Group;

/// Everything that can go wrong in the exporter.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// A flag or environment variable holds a value we cannot use.
    #[error("{0}")]
    Config(String),

    /// Workato answered 401: the token is wrong, revoked or expired.
    #[error("Workato rejected the API token (HTTP 401) on {endpoint}")]
    Unauthorized { endpoint: &'static str },

    /// Workato answered 403: the API client's role lacks a privilege.
    #[error(
        "Workato refused {endpoint} (HTTP 403): the API client's role lacks the privilege {privilege:?}",
        privilege = group.privilege()
    )]
    Forbidden { endpoint: &'static str, group: Group },

    /// Workato kept answering 429 after our retries, or asked us to wait
    /// longer than we are willing to hold a poll.
    #[error("Workato throttled {endpoint} (HTTP 429); retry after {retry_after:?}")]
    Throttled {
        endpoint: &'static str,
        retry_after: Duration,
    },

    /// The client-side budget has no room within the caller's patience.
    #[error("the {group} request budget has no room for {retry_after:?}", group = group.name())]
    Busy { group: Group, retry_after: Duration },

    /// Any other non-success status from Workato, with its `message` and,
    /// when it sent one, the error id to quote to Workato support.
    #[error(
        "Workato answered HTTP {status} on {endpoint}: {message}{}",
        error_id.as_ref().map(|id| format!(" (Workato error id {id})")).unwrap_or_default()
    )]
    Status {
        endpoint: &'static str,
        status: u16,
        message: String,
        error_id: Option<String>,
    },

    /// The request did not complete: connection refused, DNS, TLS, timeout.
    #[error("could not reach Workato on {endpoint}: {reason}")]
    Transport { endpoint: &'static str, reason: String },

    /// The reply was longer than the exporter reads.
    #[error("the reply of Workato on {endpoint} is over {limit} bytes; not read")]
    TooLarge { endpoint: &'static str, limit: usize },

    /// The body was not the JSON shape the endpoint documents.
    #[error("malformed reply from Workato on {endpoint}: {reason}")]
    Decode { endpoint: &'static str, reason: String },

    /// A paginated walk went on past the most pages the exporter reads.
    #[error("{endpoint} went on for more than {pages} pages; stopped there")]
    PageLimit { endpoint: &'static str, pages: u32 },

    /// A paginated walk returned a page of nothing but what it had listed
    /// already: following it would loop forever.
    #[error("pagination of {endpoint} does not advance (page {page} lists again what earlier pages did)")]
    PaginationStuck { endpoint: &'static str, page: u32 },

    /// A poll panicked (a bug): caught, reported, and polling goes on.
    #[error("the {collector} poll failed unexpectedly: {reason}")]
    Panicked { collector: &'static str, reason: String },

    /// The HTTP listener could not be bound.
    #[error("cannot listen on {address}: {reason}")]
    Listen {
        address: std::net::SocketAddr,
        reason: String,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
