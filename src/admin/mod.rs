//! The admin route: start and stop recipes, enable and disable API
//! endpoints, read and upsert account properties, through the exporter's own
//! Workato client and rate budget.
//!
//! Every request is authenticated (Bearer admin token, compared in constant
//! time) before anything else is looked at, audited in the log and counted
//! in `workato_admin_requests_total`. Input is checked before Workato is
//! called; Workato's answers are passed on (its 5xx as 502, its throttling
//! and our budget's as 429 with `Retry-After`). [`actions`] holds the
//! routes themselves.

mod actions;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::client::Client;
use crate::config::AdminConfig;
use crate::error::Error;
use crate::metrics::SelfMetrics;
use crate::snapshot::SharedSnapshot;
use http_server::{Body, Handler, json as json_response, json_message};

/// How long an admin call may wait for the rate budget before it answers
/// 429 instead of holding the caller.
pub const PATIENCE: Duration = Duration::from_secs(3);

/// Largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;

/// What a request asks for; its name is the `action` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Index,
    RecipeStart,
    RecipeStop,
    EndpointEnable,
    EndpointDisable,
    PropertiesGet,
    PropertiesUpsert,
    Unknown,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Index => "index",
            Action::RecipeStart => "recipe_start",
            Action::RecipeStop => "recipe_stop",
            Action::EndpointEnable => "endpoint_enable",
            Action::EndpointDisable => "endpoint_disable",
            Action::PropertiesGet => "properties_get",
            Action::PropertiesUpsert => "properties_upsert",
            Action::Unknown => "unknown",
        }
    }

    /// The API client role privilege (Workspace admin › API clients ›
    /// Client roles) the action needs, named when Workato answers 403.
    fn privilege(self) -> &'static str {
        match self {
            Action::RecipeStart | Action::RecipeStop => "Projects › Recipes › Start/stop recipes",
            Action::EndpointEnable | Action::EndpointDisable => {
                "API Platform › API collections and endpoints › Enable/disable API endpoints"
            }
            Action::PropertiesGet => "Projects › Project properties › Get project properties",
            Action::PropertiesUpsert => "Projects › Project properties › Upsert project properties",
            Action::Index | Action::Unknown => "none (the exporter does not call Workato for this)",
        }
    }

    fn writes(self) -> bool {
        !matches!(self, Action::Index | Action::PropertiesGet | Action::Unknown)
    }

    /// The route a path names, its target id text, and the methods it takes.
    fn route(path: &str) -> (Action, Option<&str>, &'static [Method]) {
        const ACT: &[Method] = &[Method::PUT, Method::POST];
        let rest = path.strip_prefix("/admin").unwrap_or(path).trim_matches('/');
        let segments: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        match segments.as_slice() {
            [] => (Action::Index, None, &[Method::GET, Method::HEAD]),
            ["recipes", id, "start"] => (Action::RecipeStart, Some(id), ACT),
            ["recipes", id, "stop"] => (Action::RecipeStop, Some(id), ACT),
            ["api-endpoints", id, "enable"] => (Action::EndpointEnable, Some(id), ACT),
            ["api-endpoints", id, "disable"] => (Action::EndpointDisable, Some(id), ACT),
            ["properties"] => (Action::PropertiesGet, None, &[Method::GET, Method::POST]),
            _ => (Action::Unknown, None, &[]),
        }
    }
}

/// An admin answer before it becomes a response.
struct Reply {
    status: StatusCode,
    body: Value,
    retry_after: Option<Duration>,
}

impl Reply {
    fn ok(body: Value) -> Reply {
        Reply {
            status: StatusCode::OK,
            body,
            retry_after: None,
        }
    }

    fn error(status: StatusCode, message: impl Into<String>) -> Reply {
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
    fn from_error(error: &Error, action: Action) -> Reply {
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
    fn keep_error_id(&mut self, error: &Error) {
        if let Error::Status { error_id: Some(id), .. } = error {
            self.body["workato_error_id"] = json!(id);
        }
    }
}

/// The admin route, with what its actions need.
pub struct Admin {
    token: SecretString,
    read_only: bool,
    deadline: Duration,
    body_timeout: Duration,
    client: Client,
    snapshot: Arc<SharedSnapshot>,
    metrics: Arc<SelfMetrics>,
}

impl Admin {
    pub fn new(
        config: &AdminConfig,
        client: &Client,
        snapshot: Arc<SharedSnapshot>,
        metrics: Arc<SelfMetrics>,
    ) -> Admin {
        Admin {
            token: config.token.clone(),
            read_only: config.read_only,
            deadline: config.deadline,
            body_timeout: config.body_timeout,
            client: client.impatient(PATIENCE),
            snapshot,
            metrics,
        }
    }

    /// `Authorization: Bearer <admin token>`, compared in constant time.
    /// The scheme is case-insensitive (RFC 7235: `bearer`, `BEARER`).
    fn authorized(&self, request: &Request<Incoming>) -> bool {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim_start().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        presented.is_some_and(|token| bool::from(token.as_bytes().ct_eq(self.token.expose_secret().as_bytes())))
    }

    /// Answers one `/admin...` request, audits it and counts it.
    pub async fn handle(&self, request: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
        let path = request.uri().path().to_string();
        let (action, target, methods) = Action::route(&path);
        let target = target.map(str::to_string);
        let action = if action == Action::PropertiesGet && request.method() == Method::POST {
            Action::PropertiesUpsert
        } else {
            action
        };
        let reply = if !self.authorized(&request) {
            Reply::error(StatusCode::UNAUTHORIZED, "Unauthorized")
        } else if action == Action::Unknown {
            Reply::error(
                StatusCode::NOT_FOUND,
                format!("no admin route {path}; GET /admin lists them"),
            )
        } else if !methods.contains(request.method()) {
            let allowed: Vec<&str> = methods.iter().map(Method::as_str).collect();
            Reply::error(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{} {path}: use {}", request.method(), allowed.join(" or ")),
            )
        } else {
            self.act(action, target.as_deref(), request).await
        };
        let code = reply.status.as_u16();
        self.metrics.observe_admin(action.name(), code);
        tracing::info!(
            action = action.name(),
            target = target.as_deref().unwrap_or("-"),
            code,
            client = %peer,
            "admin request"
        );
        respond(reply)
    }

    async fn act(&self, action: Action, target: Option<&str>, request: Request<Incoming>) -> Reply {
        if action.writes() && self.read_only {
            return Reply::error(
                StatusCode::FORBIDDEN,
                format!(
                    "{} refused: the admin API is read-only (--admin.read-only)",
                    action.name()
                ),
            );
        }
        let id = match target.map(parse_id) {
            Some(Some(id)) => id,
            Some(None) => {
                return Reply::error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "the id must be a positive whole number in plain digits (no sign, space or leading zero), not {:?}",
                        target.unwrap_or_default()
                    ),
                );
            }
            None => 0,
        };
        match action {
            Action::Index => Reply::ok(self.index()),
            Action::RecipeStart | Action::RecipeStop => {
                self.within_deadline(action, self.start_stop(id, action == Action::RecipeStart))
                    .await
            }
            Action::EndpointEnable | Action::EndpointDisable => {
                self.within_deadline(action, self.enable_disable(id, action == Action::EndpointEnable))
                    .await
            }
            Action::PropertiesGet => {
                let query = request.uri().query().map(str::to_string);
                self.within_deadline(action, self.get_properties(query.as_deref()))
                    .await
            }
            // Reads the body first, on its own clock, then calls Workato
            // within the deadline.
            Action::PropertiesUpsert => self.upsert_properties(request).await,
            Action::Unknown => Reply::error(StatusCode::NOT_FOUND, "no such admin route"),
        }
    }

    /// Gives Workato's part of an action (budget wait, the call, the state
    /// read again) [`AdminConfig::deadline`] in all; past it the caller gets
    /// 504 rather than a request held for minutes.
    async fn within_deadline(&self, action: Action, work: impl Future<Output = Reply>) -> Reply {
        match tokio::time::timeout(self.deadline, work).await {
            Ok(reply) => reply,
            Err(_) => {
                let outcome = if action.writes() {
                    "; the action may or may not have taken effect: check the state before trying again"
                } else {
                    ""
                };
                Reply::error(
                    StatusCode::GATEWAY_TIMEOUT,
                    format!(
                        "Workato did not answer {} within {:?}{outcome}",
                        action.name(),
                        self.deadline
                    ),
                )
            }
        }
    }

    fn index(&self) -> Value {
        let route = |method: &str, path: &str, writes: bool| json!({"method": method, "path": path, "writes": writes});
        json!({
            "routes": [
                route("GET", "/admin", false),
                route("PUT|POST", "/admin/recipes/{id}/start", true),
                route("PUT|POST", "/admin/recipes/{id}/stop", true),
                route("PUT|POST", "/admin/api-endpoints/{id}/enable", true),
                route("PUT|POST", "/admin/api-endpoints/{id}/disable", true),
                route("GET", "/admin/properties?prefix={prefix}", false),
                route("POST", "/admin/properties", true),
            ],
            "writes_allowed": !self.read_only,
        })
    }
}

fn respond(reply: Reply) -> Response<Body> {
    let mut response = json_response(reply.status, &reply.body);
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

/// An id as Workato writes them: ASCII digits without sign, space or
/// leading zero, within u64. `+5`, ` 5`, `05` and `0` are refused rather
/// than read as 5 (or 0): the audit log shows the target as it was sent.
fn parse_id(text: &str) -> Option<u64> {
    let plain = text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0');
    if plain { text.parse().ok() } else { None }
}

/// Whether a path belongs to the admin route.
pub fn is_admin_path(path: &str) -> bool {
    path == "/admin" || path.starts_with("/admin/")
}

/// The admin route alone, on `--admin.listen-address`.
impl Handler for Admin {
    async fn handle(&self, request: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
        if is_admin_path(request.uri().path()) {
            Admin::handle(self, request, peer).await
        } else {
            json_message(StatusCode::NOT_FOUND, "this listener serves only /admin")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_digits_without_sign_space_or_leading_zero() {
        assert_eq!(parse_id("5"), Some(5));
        assert_eq!(parse_id("1913514"), Some(1_913_514));
        assert_eq!(parse_id("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "+5",
            "-5",
            " 5",
            "5 ",
            "05",
            "0",
            "5.0",
            "5e3",
            "٥",
            "18446744073709551616",
            "%35",
        ] {
            assert_eq!(parse_id(bad), None, "{bad:?}");
        }
    }
}
