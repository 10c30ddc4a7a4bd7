//! The admin route: start and stop recipes, enable and disable API
//! endpoints, read and upsert account properties, through the exporter's own
//! Workato client and rate budget.
//!
//! Every request is authenticated (Bearer admin token, compared in constant
//! time) before anything else is looked at, audited in the log and counted
//! in `workato_admin_requests_total`. Input is checked before Workato is
//! called; Workato's answers are passed on (its 5xx as 502, its throttling
//! and our budget's as 429 with `Retry-After`).
//!
//! From the bottom up: `route` is the table of paths and actions, `reply`
//! what an answer holds and how Workato's failures read to the caller,
//! `actions` the actions themselves (Workato's part: the impatient client
//! and the snapshot they refresh), and this file on top, the [`Admin`]
//! handler: authentication, dispatch, deadline, audit. The actions never
//! reach back into the handler.

mod actions;
mod reply;
mod route;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_server::{Body, Handler, json_message};
use hyper::body::Incoming;
use hyper::header;
use hyper::{Method, Request, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use self::actions::{Actions, read_properties};
use self::reply::{Reply, respond};
pub use self::route::is_admin_path;
use self::route::{Action, parse_id};
use crate::config::AdminConfig;
use crate::fleet::Fleet;
use crate::workspace::Workspace;

/// The header that may carry the admin token when `Authorization` holds
/// basic-auth credentials.
pub const ADMIN_TOKEN_HEADER: &str = "x-admin-token";

/// How long an admin call may wait for the rate budget before it answers
/// 429 instead of holding the caller.
pub const PATIENCE: Duration = Duration::from_secs(3);

/// Workspace names listed in an answer that asks for one.
const MAX_NAMES_SHOWN: usize = 20;

/// The admin route, acting on the workspaces of the fleet.
pub struct Admin {
    token: SecretString,
    read_only: bool,
    deadline: Duration,
    body_timeout: Duration,
    fleet: Arc<Fleet>,
}

impl Admin {
    pub fn new(config: &AdminConfig, fleet: Arc<Fleet>) -> Admin {
        Admin {
            token: config.token.clone(),
            read_only: config.read_only,
            deadline: config.deadline,
            body_timeout: config.body_timeout,
            fleet,
        }
    }

    /// The workspace a request acts on: `?workspace=NAME`, which may be left
    /// out when there is only one.
    fn workspace(&self, request: &Request<Incoming>) -> Result<Arc<Workspace>, String> {
        let asked = request.uri().query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(key, _)| key == "workspace")
                .map(|(_, value)| value.into_owned())
        });
        let workspaces = self.fleet.workspaces();
        let known = || {
            let mut names: Vec<&str> = workspaces
                .iter()
                .take(MAX_NAMES_SHOWN)
                .map(|w| w.name.as_str())
                .collect();
            if workspaces.len() > MAX_NAMES_SHOWN {
                names.push("…");
            }
            names.join(", ")
        };
        match asked {
            Some(name) => workspaces
                .iter()
                .find(|w| w.name == name)
                .cloned()
                .ok_or_else(|| format!("unknown workspace {name:?}; known: {}", known())),
            None if workspaces.len() == 1 => Ok(Arc::clone(&workspaces[0])),
            None => Err(format!(
                "{} workspaces are watched: say which with ?workspace=NAME (one of: {})",
                workspaces.len(),
                known()
            )),
        }
    }

    /// `Authorization: Bearer <admin token>`, compared in constant time.
    /// The scheme is case-insensitive (RFC 7235: `bearer`, `BEARER`). With
    /// basic auth on the listener (`--web.config.file`) `Authorization`
    /// carries the basic credentials, so the token may come as
    /// `X-Admin-Token: <admin token>` instead: a second, independent lock.
    fn authorized(&self, request: &Request<Incoming>) -> bool {
        let bearer = request
            .headers()
            .get_all(header::AUTHORIZATION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.trim_start().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        let header = request
            .headers()
            .get_all(ADMIN_TOKEN_HEADER)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::trim);
        let expected = self.token.expose_secret().as_bytes();
        bearer
            .chain(header)
            .take(4)
            .fold(false, |ok, token| ok | bool::from(token.as_bytes().ct_eq(expected)))
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
        let workspace = self.workspace(&request);
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
        } else if action == Action::Index {
            Reply::ok(self.index())
        } else {
            match &workspace {
                Ok(workspace) => self.act(action, target.as_deref(), workspace, request).await,
                Err(message) => Reply::error(StatusCode::BAD_REQUEST, message.clone()),
            }
        };
        let code = reply.status.as_u16();
        // Counted in the workspace's own metrics; a request naming none
        // that exists is in the audit log only.
        if let Ok(workspace) = &workspace {
            workspace.self_metrics.observe_admin(action.name(), code);
        }
        tracing::info!(
            action = action.name(),
            workspace = workspace.as_ref().map_or("-", |w| w.name.as_str()),
            target = target.as_deref().unwrap_or("-"),
            code,
            client = %peer,
            "admin request"
        );
        respond(reply)
    }

    async fn act(
        &self,
        action: Action,
        target: Option<&str>,
        workspace: &Workspace,
        request: Request<Incoming>,
    ) -> Reply {
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
        let actions = Actions::new(workspace.client.impatient(PATIENCE), Arc::clone(&workspace.snapshot));
        match action {
            Action::Index => Reply::ok(self.index()),
            Action::RecipeStart | Action::RecipeStop => {
                self.within_deadline(action, actions.start_stop(id, action == Action::RecipeStart))
                    .await
            }
            Action::EndpointEnable | Action::EndpointDisable => {
                self.within_deadline(action, actions.enable_disable(id, action == Action::EndpointEnable))
                    .await
            }
            Action::PropertiesGet => {
                let query = request.uri().query().map(str::to_string);
                self.within_deadline(action, actions.get_properties(query.as_deref()))
                    .await
            }
            // Reads the body first, on its own clock, then calls Workato
            // within the deadline.
            Action::PropertiesUpsert => match read_properties(request, self.body_timeout).await {
                Ok(properties) => {
                    self.within_deadline(action, actions.upsert_properties(properties))
                        .await
                }
                Err(reply) => reply,
            },
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
            "workspace_parameter": "?workspace=NAME on every route but this one; required when more than one workspace is watched",
            "workspaces": self.fleet.workspaces().iter().map(|w| w.name.as_str()).collect::<Vec<_>>(),
        })
    }
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
