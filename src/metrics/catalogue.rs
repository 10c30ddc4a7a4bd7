//! The v1 catalogue (DESIGN.md): every family the exporter writes, with
//! its name, help text, type and labels, in one table. Process metrics
//! aside, nothing is written that is not here.
//!
//! A family's `labels` are the order its samples carry them in: sorted by
//! name with `workspace` in its place, as Prometheus' own client libraries
//! write them (a test keeps it so). Callers give the values in that order,
//! `workspace` left out: the writer adds it.

use super::family::{Kind, Spec};

const RECIPE: &[&str] = &["recipe", "recipe_id", "workspace"];
const CONNECTION: &[&str] = &["application", "connection", "connection_id", "workspace"];

/// A family of the catalogue: `pub`, as far as this private module reaches.
macro_rules! spec {
    ($id:ident, $name:literal, $kind:ident, $labels:expr, $help:literal) => {
        pub const $id: Spec = Spec {
            name: $name,
            help: $help,
            kind: Kind::$kind,
            labels: $labels,
        };
    };
}

// Embed admin workspaces and their customers.
mod embedded;
pub(super) use embedded::*;

// Health: rendered from the snapshot on every scrape.
spec!(
    UP,
    "workato_up",
    Gauge,
    &["workspace"],
    "1 if the last poll of every collector succeeded (collectors not available to this API client aside), else 0."
);
spec!(
    COLLECTOR_UP,
    "workato_collector_up",
    Gauge,
    &["collector", "workspace"],
    "1 if the collector's last poll succeeded, else 0; absent while the collector is not available to this API client."
);
spec!(
    COLLECTOR_AVAILABLE,
    "workato_collector_available",
    Gauge,
    &["collector", "workspace"],
    "0 while Workato refuses the collector's endpoint to this API client by nature (users/me for API clients without DEV access), else 1."
);
spec!(
    COLLECTOR_LAST_SUCCESS,
    "workato_collector_last_success_timestamp_seconds",
    Gauge,
    &["collector", "workspace"],
    "Unix time at the end of the collector's last successful poll; shows how old its values are."
);
spec!(
    RATE_LIMIT_REMAINING,
    "workato_api_rate_limit_remaining",
    Gauge,
    &["group", "workspace"],
    "Requests the exporter may still send to this Workato endpoint group in the current minute (client-side budget)."
);
spec!(
    RECIPES_TRUNCATED,
    "workato_recipes_truncated",
    Gauge,
    &["workspace"],
    "1 when the workspace holds more than 5,000 recipes and the oldest are left out of every metric, else 0."
);
spec!(
    COUNTER_DECREASES,
    "workato_recipe_lifetime_decreases_total",
    Counter,
    &["workspace"],
    "Times one of Workato's lifetime recipe counters read lower than before; the previous value is kept, so the exported counters never go back."
);
spec!(
    WORKSPACE_INFO,
    "workato_workspace_info",
    Gauge,
    &["name", "plan", "workspace", "workspace_id"],
    "Workspace details from users/me, refreshed by a poll; always 1."
);

// The exporter's own work: rendered from the self-metrics on every scrape.
spec!(
    ADMIN_REQUESTS,
    "workato_admin_requests_total",
    Counter,
    &["action", "code", "workspace"],
    "Requests to the admin route, by action and HTTP status answered."
);
spec!(
    API_REQUESTS,
    "workato_api_requests_total",
    Counter,
    &["code", "endpoint", "workspace"],
    "Requests the exporter sent to Workato, by route template and HTTP status (error when no response came back)."
);
spec!(
    API_REQUEST_DURATION,
    "workato_api_request_duration_seconds",
    Histogram,
    &["endpoint", "workspace"],
    "Latency of requests to Workato, by route template."
);
spec!(
    COLLECTOR_DURATION,
    "workato_collector_duration_seconds",
    Histogram,
    &["collector", "workspace"],
    "Time one poll of a collector took, waits for the rate budget included."
);
spec!(
    WEB_CONFIG_RELOAD_FAILURES,
    "workato_exporter_web_config_reload_failures_total",
    Counter,
    &[],
    "Times a changed --web.config.file (or a file it names) could not be used; the last good configuration stayed in force."
);
spec!(
    CONFIG_RELOAD_SUCCESSFUL,
    "workato_exporter_config_last_reload_successful",
    Gauge,
    &[],
    "1 if the last load of --config.file succeeded, 0 if it failed and the running configuration stayed in force; only with a configuration file."
);
spec!(
    CONFIG_RELOAD_SUCCESS_TIMESTAMP,
    "workato_exporter_config_last_reload_success_timestamp_seconds",
    Gauge,
    &[],
    "Unix time of the last successful load of --config.file; only with a configuration file."
);
spec!(
    SHARD_INFO,
    "workato_exporter_shard_info",
    Gauge,
    &["count", "index"],
    "The shard this replica is (index, from 0) among count replicas that split the workspaces; always 1, only when sharding is configured."
);
spec!(
    WORKSPACES,
    "workato_exporter_workspaces",
    Gauge,
    &[],
    "Workspaces this process watches (its shard's share when sharded); only with a configuration file or sharding."
);
spec!(
    BUILD_INFO,
    "workato_exporter_build_info",
    Gauge,
    &["build_date", "revision", "rustc_version", "target", "version"],
    "Version, git revision, build date, rustc version and target of the running exporter; always 1."
);

// The inventory: rendered once per change of the snapshot.
spec!(
    RECIPE_INFO,
    "workato_recipe_info",
    Gauge,
    &[
        "folder_id",
        "project_id",
        "recipe",
        "recipe_id",
        "trigger_application",
        "version",
        "workspace"
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
    &["cause", "recipe", "recipe_id", "workspace"],
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
        "application",
        "authorization_status",
        "connection",
        "connection_id",
        "folder_id",
        "workspace"
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
    &["collection", "collection_id", "version", "workspace"],
    "An API platform collection; always 1."
);
spec!(
    API_ENDPOINT_ACTIVE,
    "workato_api_endpoint_active",
    Gauge,
    &[
        "collection_id",
        "endpoint",
        "endpoint_id",
        "method",
        "path",
        "recipe_id",
        "workspace"
    ],
    "1 if the API platform endpoint is enabled, 0 if disabled."
);

// Jobs: rendered once per change of the snapshot, with the inventory.
spec!(
    JOB_DURATION,
    "workato_job_duration_seconds",
    Histogram,
    &["recipe", "recipe_id", "status", "workspace"],
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
    &["adapter", "error_type", "recipe", "recipe_id", "workspace"],
    "Failed jobs by error_parts adapter and error_type; error types beyond the per-recipe cap count as other."
);
spec!(
    JOB_INGESTION_DELAY,
    "workato_job_ingestion_delay_seconds",
    Histogram,
    &["workspace"],
    "Time from a job's completion in Workato to the exporter counting it (how fresh job metrics are)."
);
spec!(
    JOBS_STATE_FILE_ERRORS,
    "workato_jobs_state_file_errors_total",
    Counter,
    &["workspace"],
    "Failed writes of --jobs.state-file or its journal; after one, a restart may count jobs again."
);

// The process, read from /proc by the prometheus crate's collector.
spec!(
    PROCESS_CPU,
    "process_cpu_seconds_total",
    Counter,
    &[],
    "Total user and system CPU time spent in seconds."
);
spec!(
    PROCESS_MAX_FDS,
    "process_max_fds",
    Gauge,
    &[],
    "Maximum number of open file descriptors."
);
spec!(
    PROCESS_OPEN_FDS,
    "process_open_fds",
    Gauge,
    &[],
    "Number of open file descriptors."
);
spec!(
    PROCESS_RESIDENT_MEMORY,
    "process_resident_memory_bytes",
    Gauge,
    &[],
    "Resident memory size in bytes."
);
spec!(
    PROCESS_START_TIME,
    "process_start_time_seconds",
    Gauge,
    &[],
    "Start time of the process since unix epoch in seconds."
);
spec!(
    PROCESS_THREADS,
    "process_threads",
    Gauge,
    &[],
    "Number of OS threads in the process."
);
spec!(
    PROCESS_VIRTUAL_MEMORY,
    "process_virtual_memory_bytes",
    Gauge,
    &[],
    "Virtual memory size in bytes."
);

/// The process families, in name order.
pub(super) const PROCESS: [&Spec; 7] = [
    &PROCESS_CPU,
    &PROCESS_MAX_FDS,
    &PROCESS_OPEN_FDS,
    &PROCESS_RESIDENT_MEMORY,
    &PROCESS_START_TIME,
    &PROCESS_THREADS,
    &PROCESS_VIRTUAL_MEMORY,
];

#[cfg(test)]
mod tests;
