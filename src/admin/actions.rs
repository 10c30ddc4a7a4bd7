//! The admin actions: each checks its input, calls Workato through the
//! impatient client, and refreshes what it changed in the snapshot so
//! `/metrics` shows the new state at once rather than at the next sweep.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header;
use hyper::{Request, StatusCode};
use serde_json::{Map, Value, json};
// Workato's limits on account properties, shared with the simulator.
use workato_api::properties::{MAX_PROPERTIES, check_property};

use super::reply::Reply;
use super::route::Action;
use crate::client::ActionOutcome;
use crate::client::Client;
use crate::error::Error;
use crate::snapshot::{ApiEndpoint, Recipe, SharedSnapshot};

/// Largest request body accepted.
pub(super) const MAX_BODY: usize = 64 * 1024;

/// What the actions need: the impatient client and the snapshot they
/// refresh. The admin handler holds one and knows nothing of Workato.
pub(super) struct Actions {
    client: Client,
    snapshot: Arc<SharedSnapshot>,
}

impl Actions {
    pub(super) fn new(client: Client, snapshot: Arc<SharedSnapshot>) -> Actions {
        Actions { client, snapshot }
    }

    pub(super) async fn start_stop(&self, id: u64, start: bool) -> Reply {
        let verb = if start { "start" } else { "stop" };
        let action = if start { Action::RecipeStart } else { Action::RecipeStop };
        match self.client.start_stop_recipe(id, start).await {
            Ok(ActionOutcome::Done) => {
                self.refresh_recipe(id).await;
                Reply::ok(json!({ "success": true }))
            }
            // Workato may have applied it before failing to answer: the
            // recipe's state, read again, tells.
            Err(error) if unanswered(&error) => {
                let fresh = self.refresh_recipe(id).await;
                let applied = fresh.is_some_and(|recipe| recipe.running == Some(start));
                applied_despite(
                    &error,
                    action,
                    applied,
                    &format!("recipe {id} is {}", if start { "running" } else { "stopped" }),
                )
            }
            Ok(ActionOutcome::Refused(mut workato)) => {
                if let Value::Object(reply) = &mut workato {
                    reply.insert(
                        "message".into(),
                        json!(format!("Workato refused to {verb} recipe {id}")),
                    );
                }
                Reply {
                    status: StatusCode::CONFLICT,
                    body: workato,
                    retry_after: None,
                }
            }
            Err(error) => Reply::from_error(&error, action),
        }
    }

    /// Re-reads one recipe into the snapshot; returns it as read.
    async fn refresh_recipe(&self, id: u64) -> Option<Recipe> {
        match self.client.recipe(id).await {
            Ok(mut fresh) => {
                self.snapshot.update(|snapshot| {
                    // Counters this recipe had in the last sweep hold, as
                    // they do in the next one.
                    snapshot.counter_decreases +=
                        crate::counters::hold(&snapshot.recipes, std::slice::from_mut(&mut fresh));
                    let mut recipes = Vec::clone(&snapshot.recipes);
                    match recipes.iter_mut().find(|r| r.id == id) {
                        Some(recipe) => *recipe = fresh.clone(),
                        None => recipes.push(fresh.clone()),
                    }
                    snapshot.recipes = Arc::new(recipes);
                });
                Some(fresh)
            }
            Err(error) => {
                tracing::warn!(recipe_id = id, %error, "re-reading the recipe failed; /metrics catches up at the next sweep");
                None
            }
        }
    }

    pub(super) async fn enable_disable(&self, id: u64, enable: bool) -> Reply {
        let action = if enable {
            Action::EndpointEnable
        } else {
            Action::EndpointDisable
        };
        match self.client.enable_disable_api_endpoint(id, enable).await {
            Ok(ActionOutcome::Done) => {
                self.refresh_endpoint(id).await;
                Reply::ok(json!({ "success": true }))
            }
            Err(error) if unanswered(&error) => {
                let fresh = self.refresh_endpoint(id).await;
                let applied = fresh.is_some_and(|endpoint| endpoint.active == enable);
                applied_despite(
                    &error,
                    action,
                    applied,
                    &format!("API endpoint {id} is {}", if enable { "enabled" } else { "disabled" }),
                )
            }
            Ok(ActionOutcome::Refused(workato)) => Reply {
                status: StatusCode::CONFLICT,
                body: workato,
                retry_after: None,
            },
            Err(error) => Reply::from_error(&error, action),
        }
    }

    /// Re-reads the endpoints of the collection holding `id` (Workato has no
    /// call for one endpoint; one collection is usually one page); returns
    /// the endpoint as read.
    async fn refresh_endpoint(&self, id: u64) -> Option<ApiEndpoint> {
        let collection = self
            .snapshot
            .load()
            .api_platform
            .endpoints
            .iter()
            .find(|e| e.id == id)
            .and_then(|e| e.collection_id);
        let collection = collection?;
        match self.client.api_endpoints_in(collection).await {
            Ok(fresh) => {
                self.snapshot.update(|snapshot| {
                    let mut platform = (*snapshot.api_platform).clone();
                    for endpoint in &mut platform.endpoints {
                        if let Some(new) = fresh.iter().find(|f| f.id == endpoint.id) {
                            *endpoint = new.clone();
                        }
                    }
                    snapshot.api_platform = Arc::new(platform);
                });
                fresh.into_iter().find(|e| e.id == id)
            }
            Err(error) => {
                tracing::warn!(endpoint_id = id, %error, "re-reading the endpoint failed; /metrics catches up at the next poll");
                None
            }
        }
    }

    pub(super) async fn get_properties(&self, query: Option<&str>) -> Reply {
        let prefix = query.and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(key, _)| key == "prefix")
                .map(|(_, value)| value.into_owned())
        });
        let Some(prefix) = prefix else {
            return Reply::error(
                StatusCode::BAD_REQUEST,
                "missing query parameter prefix (prefix= with nothing after it lists every property)",
            );
        };
        match self.client.properties(&prefix).await {
            Ok(properties) => Reply::ok(Value::Object(properties)),
            Err(error) => Reply::from_error(&error, Action::PropertiesGet),
        }
    }

    /// Upserts properties already read and checked by [`read_properties`].
    pub(super) async fn upsert_properties(&self, properties: Map<String, Value>) -> Reply {
        match self.client.upsert_properties(&properties).await {
            Ok(()) => Reply::ok(json!({ "success": true })),
            Err(error) => Reply::from_error(&error, Action::PropertiesUpsert),
        }
    }
}

/// A 5xx, a timeout, or a 2xx whose body is not the documented reply (a
/// 204, say): Workato may or may not have applied the action.
fn unanswered(error: &Error) -> bool {
    matches!(
        error,
        Error::Status { status: 500.., .. } | Error::Transport { .. } | Error::Decode { .. }
    )
}

/// The reply to an action Workato did not answer, from the state read
/// again: success when it took effect (Workato's error id kept, for the
/// record), else the original error.
fn applied_despite(error: &Error, action: Action, applied: bool, state: &str) -> Reply {
    tracing::warn!(%error, applied, "Workato did not answer an admin action; re-read the state");
    if !applied {
        return Reply::from_error(error, action);
    }
    let mut reply = Reply::ok(json!({
        "success": true,
        "message": format!("{error}; read again, {state}: the action took effect"),
    }));
    reply.keep_error_id(error);
    reply
}

/// Reads and checks `{"properties": {"name": "value", ...}}` within
/// Workato's limits, before anything is sent to Workato. A body that has not
/// all arrived within `timeout` is answered 408.
pub(super) async fn read_properties(
    request: Request<Incoming>,
    timeout: Duration,
) -> Result<Map<String, Value>, Reply> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let is_json = content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(Reply::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Type must be application/json, not {content_type:?}"),
        ));
    }
    let too_large = || {
        Reply::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over {} KiB", MAX_BODY / 1024),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_BODY) {
        return Err(too_large());
    }
    let read = tokio::time::timeout(timeout, Limited::new(request.into_body(), MAX_BODY).collect());
    let Ok(read) = read.await else {
        return Err(Reply::error(
            StatusCode::REQUEST_TIMEOUT,
            format!("the request body did not arrive within {timeout:?}"),
        ));
    };
    let body = match read {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Err(error) => {
            return Err(Reply::error(
                StatusCode::BAD_REQUEST,
                format!("cannot read the body: {error}"),
            ));
        }
    };
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| Reply::error(StatusCode::BAD_REQUEST, format!("malformed JSON: {e}")))?;
    validate(value).map_err(|message| Reply::error(StatusCode::BAD_REQUEST, message))
}

/// Workato's shape and limits for an upsert.
pub fn validate(value: Value) -> Result<Map<String, Value>, String> {
    let shape = "the body must be {\"properties\": {\"name\": \"value\", ...}}";
    let Value::Object(mut body) = value else {
        return Err(shape.into());
    };
    let Some(Value::Object(properties)) = body.remove("properties") else {
        return Err(shape.into());
    };
    if let Some(extra) = body.keys().next() {
        return Err(format!("unexpected field {extra:?}; {shape}"));
    }
    if properties.is_empty() {
        return Err("properties is empty: nothing to upsert".into());
    }
    if properties.len() > MAX_PROPERTIES {
        return Err(format!(
            "at most {MAX_PROPERTIES} properties per workspace, found {} in the request",
            properties.len()
        ));
    }
    for (name, value) in &properties {
        check_property(name, value)?;
    }
    Ok(properties)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upserts_are_checked_against_workatos_limits() {
        assert!(validate(json!({"properties": {"a": "1", "b": ""}})).is_ok());
        let error = |v: Value| validate(v).unwrap_err();
        assert!(error(json!([1])).contains("must be"));
        assert!(error(json!({"properties": {}})).contains("empty"));
        assert!(error(json!({"properties": {"a": 1}})).contains("must be a string"));
        assert!(error(json!({"properties": {"a": "1"}, "more": 1})).contains("\"more\""));
        assert!(error(json!({"properties": {"n".repeat(101): "x"}})).contains("1 to 100"));
        assert!(
            validate(json!({"properties": {"n".repeat(100): "é".repeat(1024)}})).is_ok(),
            "limits count characters"
        );
        assert!(error(json!({"properties": {"v": "x".repeat(1025)}})).contains("at most 1024"));
        let many: Map<String, Value> = (0..1001).map(|i| (format!("p{i}"), json!("v"))).collect();
        assert!(error(json!({ "properties": many })).contains("at most 1000"));
    }
}
