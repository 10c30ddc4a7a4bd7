//! Workato's JSON as it arrives, one wire type per resource, and its
//! conversion into our own model. Nothing here leaves the client module;
//! the lenient decoding itself is in `decode`.

use serde::Deserialize;
use serde_json::Value;

use super::decode::lenient;
use super::outcome::ActionOutcome;
use crate::snapshot::{ApiCollection, ApiEndpoint, Connection, Job, JobStatus, Recipe, WorkspaceInfo};

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
    /// What Embedded's customer-scoped connections call the application.
    #[serde(default)]
    provider: Option<String>,
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
            application: w.application.or(w.provider).unwrap_or_default(),
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
    pub(crate) fn outcome(self) -> ActionOutcome {
        match self.success {
            Some(false) => {
                let mut reply = self.rest;
                reply.insert("success".into(), Value::Bool(false));
                ActionOutcome::Refused(Value::Object(reply))
            }
            _ => ActionOutcome::Done,
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
            customer: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::decode::decode_list;

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
}
