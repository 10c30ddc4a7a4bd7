//! An admin answer before it becomes a response: the JSON body, the
//! status, and a `Retry-After` when Workato or our budget asks to wait;
//! Workato's failures translated for the admin caller.

use std::time::Duration;

use http_server::{Body, json};
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::{Value, json};

use super::route::Action;
use crate::error::Error;

/// An admin answer before it becomes a response.
pub(super) struct Reply {
    pub(super) status: StatusCode,
    pub(super) body: Value,
    pub(super) retry_after: Option<Duration>,
}

impl Reply {
    pub(super) fn ok(body: Value) -> Reply {
        Reply {
            status: StatusCode::OK,
            body,
            retry_after: None,
        }
    }

    pub(super) fn error(status: StatusCode, message: impl Into<String>) -> Reply {
        Reply {
            status,
            body: json!({ "message": message.into() }),
            retry_after: None,
        }
    }

    /// A Workato or budget failure of `action` as the admin caller should
    /// see it: Workato's 4xx passed on with its message, anything else it
    /// answered (5xx, or a 1xx, 2xx or 3xx the client did not take) as 502
    /// with a message, never a status without a body. Workato's error id,
    /// when it sent one, is kept as `workato_error_id`.
    pub(super) fn from_error(error: &Error, action: Action) -> Reply {
        let mut reply = match error {
            Error::Status { status, message, .. } if *status >= 500 => Reply::error(
                StatusCode::BAD_GATEWAY,
                format!("Workato answered HTTP {status}: {message}"),
            ),
            Error::Status { status, message, .. } if (400..500).contains(status) => Reply::error(
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY),
                message.clone(),
            ),
            Error::Status { status, endpoint, .. } => Reply::error(
                StatusCode::BAD_GATEWAY,
                format!("Workato answered {endpoint} with HTTP {status}, which is not an answer to this request"),
            ),
            Error::Forbidden { endpoint, .. } => Reply::error(
                StatusCode::FORBIDDEN,
                format!(
                    "Workato refused {endpoint} (HTTP 403): the API client's role lacks the privilege {:?}",
                    action.privilege()
                ),
            ),
            Error::Unauthorized { .. } => Reply::error(
                StatusCode::BAD_GATEWAY,
                "Workato rejected the exporter's API token; check WORKATO_API_TOKEN",
            ),
            Error::Throttled { retry_after, .. } | Error::Busy { retry_after, .. } => Reply {
                retry_after: Some(*retry_after),
                ..Reply::error(StatusCode::TOO_MANY_REQUESTS, error.to_string())
            },
            Error::Transport { reason, .. } if reason.contains("timed out") => {
                Reply::error(StatusCode::GATEWAY_TIMEOUT, error.to_string())
            }
            _ => Reply::error(StatusCode::BAD_GATEWAY, error.to_string()),
        };
        reply.keep_error_id(error);
        reply
    }

    /// Adds Workato's error id, when `error` carries one, as
    /// `workato_error_id`: what Workato support asks for.
    pub(super) fn keep_error_id(&mut self, error: &Error) {
        if let Error::Status { error_id: Some(id), .. } = error {
            self.body["workato_error_id"] = json!(id);
        }
    }
}

pub(super) fn respond(reply: Reply) -> Response<Body> {
    let mut response = json(reply.status, &reply.body);
    let headers = response.headers_mut();
    if reply.status == StatusCode::UNAUTHORIZED {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"workato_exporter admin\""),
        );
    }
    if let Some(wait) = reply.retry_after {
        let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if reply.status == StatusCode::METHOD_NOT_ALLOWED {
        headers.insert(header::ALLOW, HeaderValue::from_static("GET, PUT, POST"));
    }
    response
}
