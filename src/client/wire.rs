//! Workato's JSON as it arrives, decoded leniently, and its conversion into
//! our own model. Nothing here leaves the client module.
//!
//! Workato's shapes drift: ids arrive as numbers or strings, `project_id` as
//! either, booleans sometimes as strings, fields go missing. Each item of a
//! list is decoded on its own so one malformed recipe is logged and skipped
//! instead of losing the page.

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use serde_json::Value;

use crate::error::Error;
use crate::snapshot::{ApiCollection, ApiEndpoint, Connection, Job, JobStatus, Recipe, WorkspaceInfo};

/// A decoded list plus the number of raw items the page held (malformed
/// ones included), which paging needs to know whether the page was full.
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    pub raw_len: usize,
}

/// Decodes a list reply: a bare array, or an object wrapping it in `items`
/// or `data`. Items that do not decode are logged and skipped.
pub(crate) fn decode_list<W, T>(endpoint: &'static str, body: &[u8]) -> Result<Page<T>, Error>
where
    W: DeserializeOwned,
    T: From<W>,
{
    let value: Value = serde_json::from_slice(body).map_err(|e| Error::Decode {
        endpoint,
        reason: format!("not JSON: {e}"),
    })?;
    let raw = match value {
        Value::Array(items) => items,
        Value::Object(mut map) => match map.remove("items").or_else(|| map.remove("data")) {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(Error::Decode {
                    endpoint,
                    reason: "expected a JSON array or an object with an \"items\" array".into(),
                });
            }
        },
        other => {
            return Err(Error::Decode {
                endpoint,
                reason: format!("expected a JSON array, found {}", json_kind(&other)),
            });
        }
    };
    let raw_len = raw.len();
    let mut items = Vec::with_capacity(raw_len);
    for (index, item) in raw.into_iter().enumerate() {
        let id = item.get("id").map(Value::to_string).unwrap_or_else(|| "?".into());
        match W::deserialize(item) {
            Ok(wire) => items.push(T::from(wire)),
            Err(error) => tracing::warn!(endpoint, index, id, %error, "skipping a malformed item"),
        }
    }
    Ok(Page { items, raw_len })
}

/// Keeps the first item of each id: two series with the same labels would
/// make Prometheus reject the whole scrape.
pub(crate) fn unique_by_id<T>(endpoint: &'static str, items: Vec<T>, id: impl Fn(&T) -> u64) -> Vec<T> {
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    let before = items.len();
    let unique: Vec<T> = items.into_iter().filter(|item| seen.insert(id(item))).collect();
    if unique.len() < before {
        tracing::warn!(
            endpoint,
            duplicates = before - unique.len(),
            "Workato listed the same id twice; keeping the first"
        );
    }
    unique
}

/// The id of the first item of a list reply, if it has one.
pub(crate) fn first_id(body: &[u8]) -> Option<u64> {
    #[derive(Deserialize)]
    struct IdOnly {
        #[serde(deserialize_with = "lenient::id")]
        id: u64,
    }
    struct Id(u64);
    impl From<IdOnly> for Id {
        fn from(w: IdOnly) -> Id {
            Id(w.id)
        }
    }
    let page = decode_list::<IdOnly, Id>("probe", body).ok()?;
    page.items.first().map(|id| id.0)
}

/// Decodes a single object reply.
pub(crate) fn decode_one<W: DeserializeOwned>(endpoint: &'static str, body: &[u8]) -> Result<W, Error> {
    serde_json::from_slice(body).map_err(|e| Error::Decode {
        endpoint,
        reason: e.to_string(),
    })
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The longest error id kept: Workato's are uuids (36 characters).
const MAX_ERROR_ID: usize = 64;

/// Workato's error body, `{"message": "...", "id": "<uuid>"}` (the id, on
/// 500s, is what Workato support asks for), or the start of whatever it
/// sent. An id that is not a short token of letters, digits and dashes is
/// dropped rather than carried into logs and replies.
pub(crate) fn error_body(body: &[u8]) -> (String, Option<String>) {
    #[derive(Deserialize)]
    struct ErrorBody {
        message: String,
        #[serde(default, deserialize_with = "lenient::opt_text")]
        id: Option<String>,
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => {
            let id = e.id.filter(|id| {
                id.len() <= MAX_ERROR_ID && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            });
            (e.message, id)
        }
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            let message = if text.is_empty() {
                "(empty body)".into()
            } else {
                text.chars().take(200).collect()
            };
            (message, None)
        }
    }
}

/// Lenient field decoders.
mod lenient {
    use super::*;

    fn number(value: &Value) -> Option<u64> {
        match value {
            Value::Number(n) => n
                .as_u64()
                .or_else(|| n.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0).map(|f| f as u64)),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// An id that is a number or a numeric string.
    pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let value = Value::deserialize(d)?;
        number(&value).ok_or_else(|| serde::de::Error::custom(format!("expected a numeric id, found {value}")))
    }

    /// A number or numeric string, `null`/absent/garbage meaning unknown.
    pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Ok(number(&Value::deserialize(d)?))
    }

    /// A required id that is a string or a number (job ids).
    pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) if !s.is_empty() => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            other => Err(serde::de::Error::custom(format!("expected a string id, found {other}"))),
        }
    }

    /// Text that may arrive as a number (`project_id`, `version`).
    pub fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) if !s.is_empty() => Some(s),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    }

    /// A boolean, also from "true"/"false" and 0/1.
    pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Bool(b) => Some(b),
            Value::String(s) => match s.trim() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            Value::Number(n) => n.as_u64().map(|n| n != 0),
            _ => None,
        })
    }

    /// RFC 3339 time as Unix seconds; an unparseable time is treated as
    /// absent rather than failing the whole item.
    pub fn opt_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) => parse_time(&s),
            _ => None,
        })
    }
}

/// Parses Workato's RFC 3339 timestamps (`2021-11-25T07:07:38.568-08:00`).
pub(crate) fn parse_time(text: &str) -> Option<f64> {
    let time = chrono::DateTime::parse_from_rfc3339(text.trim()).ok()?;
    Some(time.timestamp() as f64 + f64::from(time.timestamp_subsec_millis()) / 1000.0)
}

#[derive(Deserialize)]
pub(crate) struct RecipeWire {
    #[serde(deserialize_with = "lenient::id")]
    id: u64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    folder_id: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    project_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    running: Option<bool>,
    #[serde(default)]
    stop_cause: Option<String>,
    #[serde(default)]
    trigger_application: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    version_no: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    job_succeeded_count: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    job_failed_count: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    lifetime_task_count: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_time")]
    last_run_at: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_time")]
    last_job_started_at: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_time")]
    stopped_at: Option<f64>,
    #[serde(default)]
    config: Option<Vec<Value>>,
}

impl From<RecipeWire> for Recipe {
    fn from(w: RecipeWire) -> Recipe {
        // `config` lists the apps the recipe uses; `account_id` is the
        // connection bound to each. Entries that are not objects are ignored.
        let mut connection_ids: Vec<u64> = w
            .config
            .unwrap_or_default()
            .iter()
            .filter_map(|entry| entry.get("account_id"))
            .filter_map(|id| lenient::id(id.clone()).ok())
            .collect();
        connection_ids.sort_unstable();
        connection_ids.dedup();
        if w.running.is_none() {
            tracing::warn!(
                recipe_id = w.id,
                recipe = w.name.as_deref().unwrap_or_default(),
                field = "running",
                "Workato left out a field the recipe's state needs; no state series for it this poll"
            );
        }
        Recipe {
            id: w.id,
            name: w.name.unwrap_or_default(),
            folder_id: w.folder_id,
            project_id: w.project_id,
            running: w.running,
            stop_cause: w.stop_cause.filter(|c| !c.is_empty()),
            trigger_application: w.trigger_application,
            version: w.version_no,
            jobs_succeeded: w.job_succeeded_count,
            jobs_failed: w.job_failed_count,
            tasks: w.lifetime_task_count,
            last_run_at: w.last_run_at,
            last_job_started_at: w.last_job_started_at,
            stopped_at: w.stopped_at,
            connection_ids,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct ConnectionWire {
    #[serde(deserialize_with = "lenient::id")]
    id: u64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    application: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    folder_id: Option<u64>,
    #[serde(default)]
    authorization_status: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_time")]
    connection_lost_at: Option<f64>,
}

impl From<ConnectionWire> for Connection {
    fn from(w: ConnectionWire) -> Connection {
        Connection {
            id: w.id,
            name: w.name.unwrap_or_default(),
            application: w.application.unwrap_or_default(),
            folder_id: w.folder_id,
            authorization_status: w.authorization_status.filter(|s| !s.is_empty()),
            lost_at: w.connection_lost_at,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct ApiCollectionWire {
    #[serde(deserialize_with = "lenient::id")]
    id: u64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    version: Option<String>,
}

impl From<ApiCollectionWire> for ApiCollection {
    fn from(w: ApiCollectionWire) -> ApiCollection {
        ApiCollection {
            id: w.id,
            name: w.name.unwrap_or_default(),
            version: w.version,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct ApiEndpointWire {
    #[serde(deserialize_with = "lenient::id")]
    id: u64,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    api_collection_id: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    flow_id: Option<u64>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    active: Option<bool>,
}

impl From<ApiEndpointWire> for ApiEndpoint {
    fn from(w: ApiEndpointWire) -> ApiEndpoint {
        ApiEndpoint {
            id: w.id,
            name: w.name.unwrap_or_default(),
            collection_id: w.api_collection_id,
            method: w.method.map(|m| m.to_ascii_uppercase()).unwrap_or_default(),
            path: w.path.unwrap_or_default(),
            recipe_id: w.flow_id,
            active: w.active.unwrap_or(false),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct JobWire {
    #[serde(deserialize_with = "lenient::text")]
    id: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    is_error: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_time")]
    started_at: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_time")]
    completed_at: Option<f64>,
    #[serde(default)]
    error_parts: Option<Value>,
}

impl From<JobWire> for Job {
    fn from(w: JobWire) -> Job {
        // `status` may be missing: derive it from completed_at and is_error.
        let status = match w.status.as_deref() {
            Some("succeeded") => JobStatus::Succeeded,
            Some("failed") => JobStatus::Failed,
            Some("pending") => JobStatus::Pending,
            _ if w.completed_at.is_none() => JobStatus::Pending,
            _ if w.is_error == Some(true) => JobStatus::Failed,
            _ => JobStatus::Succeeded,
        };
        let part = |key: &str| {
            w.error_parts
                .as_ref()
                .and_then(|p| p.get(key))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .unwrap_or("unknown")
                .to_string()
        };
        let error = (status == JobStatus::Failed).then(|| (part("adapter"), part("error_type")));
        Job {
            id: w.id,
            status,
            started_at: w.started_at,
            completed_at: w.completed_at,
            error,
        }
    }
}

/// `{"success": true}`, or a refusal with Workato's errors.
#[derive(Deserialize)]
pub(crate) struct ActionReply {
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    success: Option<bool>,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

impl ActionReply {
    pub(crate) fn outcome(self) -> super::recipes::ActionOutcome {
        match self.success {
            Some(false) => {
                let mut reply = self.rest;
                reply.insert("success".into(), Value::Bool(false));
                super::recipes::ActionOutcome::Refused(Value::Object(reply))
            }
            _ => super::recipes::ActionOutcome::Done,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct WorkspaceWire {
    #[serde(deserialize_with = "lenient::id")]
    id: u64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    plan_id: Option<String>,
}

impl From<WorkspaceWire> for WorkspaceInfo {
    fn from(w: WorkspaceWire) -> WorkspaceInfo {
        WorkspaceInfo {
            id: w.id,
            name: w.name.unwrap_or_default(),
            plan: w.plan_id.unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_project_ids_arrive_as_numbers_or_strings() {
        let body = br#"[
            {"id": 1, "name": "a", "project_id": 7, "running": true, "job_succeeded_count": 3},
            {"id": "2", "name": "b", "project_id": "8", "running": "false", "config": [{"account_id": "55"}, {"account_id": null}, 3]},
            {"id": "not-a-number", "name": "bad"},
            {"name": "no id"}
        ]"#;
        let page = decode_list::<RecipeWire, Recipe>("GET /api/recipes", body).unwrap();
        assert_eq!(page.raw_len, 4);
        assert_eq!(page.items.len(), 2, "the two malformed recipes are skipped, not fatal");
        assert_eq!(page.items[0].project_id.as_deref(), Some("7"));
        assert_eq!(page.items[0].jobs_succeeded, Some(3));
        assert_eq!(page.items[1].project_id.as_deref(), Some("8"));
        assert_eq!(page.items[1].running, Some(false));
        assert_eq!(page.items[1].connection_ids, vec![55]);
    }

    /// A log sink for one test.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_recipe_without_running_has_no_state_and_the_log_names_it_and_the_field() {
        let logs = Captured::default();
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish();
        let body = br#"[{"id": 2201877, "name": "Zendesk VIP alert", "job_succeeded_count": 3}]"#;
        let page = tracing::subscriber::with_default(subscriber, || {
            decode_list::<RecipeWire, Recipe>("GET /api/recipes", body).unwrap()
        });
        assert_eq!(page.items[0].running, None, "unknown, not stopped");
        assert_eq!(page.items[0].jobs_succeeded, Some(3));
        let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        for needle in ["2201877", "Zendesk VIP alert", "running"] {
            assert!(logs.contains(needle), "the log line names {needle}: {logs}");
        }
    }

    #[test]
    fn wrapped_and_bare_lists_both_decode() {
        let wrapped = br#"{"items": [{"id": 1}]}"#;
        let data = br#"{"data": [{"id": 1}], "count": 1}"#;
        for body in [&wrapped[..], &data[..]] {
            let page = decode_list::<ApiCollectionWire, ApiCollection>("x", body).unwrap();
            assert_eq!(page.items.len(), 1);
        }
        let error = decode_list::<ApiCollectionWire, ApiCollection>("x", b"{\"message\": 1}");
        assert!(matches!(error, Err(Error::Decode { .. })));
        let error = decode_list::<ApiCollectionWire, ApiCollection>("x", b"<html>");
        assert!(matches!(error, Err(Error::Decode { ref reason, .. }) if reason.contains("not JSON")));
    }

    #[test]
    fn workato_timestamps_with_offsets_and_millis() {
        assert_eq!(parse_time("2021-11-25T07:07:38.568-08:00"), Some(1637852858.568));
        assert_eq!(parse_time("1970-01-01T00:00:01Z"), Some(1.0));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn error_bodies_give_their_message() {
        let message = |body: &[u8]| error_body(body).0;
        assert_eq!(message(br#"{"message": "Not found"}"#), "Not found");
        assert_eq!(message(b""), "(empty body)");
        assert_eq!(message(b"Bad Gateway"), "Bad Gateway");
        let id = "4f1c2a9e-7b3d-4e8a-9c21-0d5e6f7a8b9c";
        let body = format!(r#"{{"message": "Server error", "id": "{id}"}}"#);
        assert_eq!(
            error_body(body.as_bytes()),
            ("Server error".to_string(), Some(id.to_string()))
        );
        let hostile = format!(r#"{{"message": "x", "id": "{}"}}"#, "a\nb");
        assert_eq!(error_body(hostile.as_bytes()).1, None, "an id is a token, not text");
        let long = format!(r#"{{"message": "x", "id": "{}"}}"#, "a".repeat(65));
        assert_eq!(error_body(long.as_bytes()).1, None);
    }
}
