//! The v1 catalogue of families rendered from the snapshot and the jobs
//! tracker (DESIGN.md): names, help texts, types and variable labels, in
//! one table.

pub(super) use super::text::Kind;
use super::text::TextWriter;

/// Writes a family's `# HELP` and `# TYPE` lines.
pub(super) fn header(w: &mut TextWriter<'_>, spec: &Spec) {
    w.family(spec.name, spec.help, spec.kind);
}

/// One family of the catalogue: name, help, type and variable labels
/// (`workspace` is added to all of them as a constant label).
pub(super) struct Spec {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub labels: &'static [&'static str],
}

const RECIPE: &[&str] = &["recipe_id", "recipe"];
const CONNECTION: &[&str] = &["connection_id", "connection", "application"];

macro_rules! spec {
    ($id:ident, $name:literal, $kind:ident, $labels:expr, $help:literal) => {
        pub(super) const $id: Spec = Spec {
            name: $name,
            help: $help,
            kind: Kind::$kind,
            labels: $labels,
        };
    };
}

spec!(
    UP,
    "workato_up",
    Gauge,
    &[],
    "1 if the last poll of every collector succeeded (collectors not available to this API client aside), else 0."
);
spec!(
    COLLECTOR_UP,
    "workato_collector_up",
    Gauge,
    &["collector"],
    "1 if the collector's last poll succeeded, else 0; absent while the collector is not available to this API client."
);
spec!(
    COLLECTOR_AVAILABLE,
    "workato_collector_available",
    Gauge,
    &["collector"],
    "0 while Workato refuses the collector's endpoint to this API client by nature (users/me for API clients without DEV access), else 1."
);
spec!(
    COLLECTOR_LAST_SUCCESS,
    "workato_collector_last_success_timestamp_seconds",
    Gauge,
    &["collector"],
    "Unix time at the end of the collector's last successful poll; shows how old its values are."
);
spec!(
    RATE_LIMIT_REMAINING,
    "workato_api_rate_limit_remaining",
    Gauge,
    &["group"],
    "Requests the exporter may still send to this Workato endpoint group in the current minute (client-side budget)."
);
spec!(
    RECIPES_TRUNCATED,
    "workato_recipes_truncated",
    Gauge,
    &[],
    "1 when the workspace holds more than 5,000 recipes and the oldest are left out of every metric, else 0."
);
spec!(
    COUNTER_DECREASES,
    "workato_recipe_lifetime_decreases_total",
    Counter,
    &[],
    "Times one of Workato's lifetime recipe counters read lower than before; the previous value is kept, so the exported counters never go back."
);
spec!(
    WORKSPACE_INFO,
    "workato_workspace_info",
    Gauge,
    &["workspace_id", "name", "plan"],
    "Workspace details from users/me, refreshed by a poll; always 1."
);
spec!(
    RECIPE_INFO,
    "workato_recipe_info",
    Gauge,
    &[
        "recipe_id",
        "recipe",
        "folder_id",
        "project_id",
        "trigger_application",
        "version"
    ],
    "Descriptive attributes of a recipe, refreshed by a poll; always 1."
);
spec!(
    RECIPE_RUNNING,
    "workato_recipe_running",
    Gauge,
    RECIPE,
    "1 if the recipe is running, 0 if stopped, as of the last poll."
);
spec!(
    RECIPE_STOP_CAUSE,
    "workato_recipe_stop_cause",
    Gauge,
    &["recipe_id", "recipe", "cause"],
    "1 for a stopped recipe, labelled with Workato's stop_cause, or manual when Workato gives none."
);
spec!(
    RECIPE_SUCCEEDED,
    "workato_recipe_jobs_succeeded_total",
    Counter,
    RECIPE,
    "Jobs of the recipe that succeeded over its lifetime (Workato's job_succeeded_count), refreshed by a poll."
);
spec!(
    RECIPE_FAILED,
    "workato_recipe_jobs_failed_total",
    Counter,
    RECIPE,
    "Jobs of the recipe that failed over its lifetime (Workato's job_failed_count), refreshed by a poll."
);
spec!(
    RECIPE_TASKS,
    "workato_recipe_tasks_total",
    Counter,
    RECIPE,
    "Tasks the recipe used over its lifetime (Workato's lifetime_task_count), refreshed by a poll."
);
spec!(
    RECIPE_LAST_RUN,
    "workato_recipe_last_run_timestamp_seconds",
    Gauge,
    RECIPE,
    "Workato's last_run_at as Unix time; absent if null. Workato does not move it when a job starts (it can be a day older than the last job's start): see workato_recipe_last_job_started_timestamp_seconds."
);
spec!(
    RECIPE_LAST_JOB_STARTED,
    "workato_recipe_last_job_started_timestamp_seconds",
    Gauge,
    RECIPE,
    "Unix time the recipe's newest job started (last_job_started_at); absent if null."
);
spec!(
    RECIPE_STOPPED_AT,
    "workato_recipe_stopped_timestamp_seconds",
    Gauge,
    RECIPE,
    "Unix time the recipe was last stopped (stopped_at); absent if never."
);
spec!(
    CONNECTION_INFO,
    "workato_connection_info",
    Gauge,
    &[
        "connection_id",
        "connection",
        "application",
        "folder_id",
        "authorization_status"
    ],
    "Descriptive attributes of a connection; authorization_status is none when never authorised. Always 1."
);
spec!(
    CONNECTION_AUTHORIZED,
    "workato_connection_authorized",
    Gauge,
    CONNECTION,
    "1 if the connection's authorization_status is success, else 0."
);
spec!(
    CONNECTION_LOST,
    "workato_connection_lost_timestamp_seconds",
    Gauge,
    CONNECTION,
    "Unix time Workato lost the connection (connection_lost_at); absent if not lost."
);
spec!(
    CONNECTION_RUNNING_RECIPES,
    "workato_connection_running_recipes",
    Gauge,
    CONNECTION,
    "Running recipes whose configuration binds this connection."
);
spec!(
    API_COLLECTION_INFO,
    "workato_api_collection_info",
    Gauge,
    &["collection_id", "collection", "version"],
    "An API platform collection; always 1."
);
spec!(
    API_ENDPOINT_ACTIVE,
    "workato_api_endpoint_active",
    Gauge,
    &[
        "endpoint_id",
        "endpoint",
        "collection_id",
        "method",
        "path",
        "recipe_id"
    ],
    "1 if the API platform endpoint is enabled, 0 if disabled."
);

spec!(
    JOB_DURATION,
    "workato_job_duration_seconds",
    Histogram,
    &["recipe_id", "recipe", "status"],
    "Duration of completed jobs, each observed once when the jobs poll first sees it completed."
);
spec!(
    JOBS_PENDING,
    "workato_recipe_jobs_pending",
    Gauge,
    RECIPE,
    "Jobs of the recipe seen pending and not yet seen completed."
);
spec!(
    JOB_FAILURE_RATIO,
    "workato_recipe_job_failure_ratio",
    Gauge,
    RECIPE,
    "Failed / completed jobs of the recipe over the --jobs.window; absent when none completed in it."
);
spec!(
    JOB_ERRORS,
    "workato_job_errors_total",
    Counter,
    &["recipe_id", "recipe", "adapter", "error_type"],
    "Failed jobs by error_parts adapter and error_type; error types beyond the per-recipe cap count as other."
);
spec!(
    JOB_INGESTION_DELAY,
    "workato_job_ingestion_delay_seconds",
    Histogram,
    &[],
    "Time from a job's completion in Workato to the exporter counting it (how fresh job metrics are)."
);
spec!(
    JOBS_STATE_FILE_ERRORS,
    "workato_jobs_state_file_errors_total",
    Counter,
    &[],
    "Failed writes of --jobs.state-file or its journal; after one, a restart may count jobs again."
);

/// The families the health collector renders on every scrape.
pub(super) const HEALTH: [&Spec; 8] = [
    &UP,
    &COLLECTOR_UP,
    &COLLECTOR_AVAILABLE,
    &COLLECTOR_LAST_SUCCESS,
    &RATE_LIMIT_REMAINING,
    &RECIPES_TRUNCATED,
    &COUNTER_DECREASES,
    &WORKSPACE_INFO,
];
