//! The catalogue's tests: labels in written order, unique names that follow
//! Prometheus' rules.

use super::super::family::WORKSPACE;
use super::*;

/// Every family of the catalogue.
const ALL: [&Spec; 51] = [
    &UP,
    &COLLECTOR_UP,
    &COLLECTOR_AVAILABLE,
    &COLLECTOR_LAST_SUCCESS,
    &RATE_LIMIT_REMAINING,
    &RECIPES_TRUNCATED,
    &COUNTER_DECREASES,
    &WORKSPACE_INFO,
    &CUSTOMER_WORKSPACE_INFO,
    &CUSTOMER_TASKS,
    &CUSTOMER_TASK_LIMIT,
    &CUSTOMER_ACTIVE_RECIPES,
    &CUSTOMER_ACTIVE_CONNECTIONS,
    &CUSTOMER_ACTIVE_CONNECTION_LIMIT,
    &CUSTOMER_IN_TRIAL,
    &CUSTOMER_BILLING_PERIOD_END,
    &ADMIN_REQUESTS,
    &API_REQUESTS,
    &API_REQUEST_DURATION,
    &COLLECTOR_DURATION,
    &BUILD_INFO,
    &CONFIG_RELOAD_SUCCESSFUL,
    &CONFIG_RELOAD_SUCCESS_TIMESTAMP,
    &SHARD_INFO,
    &EMBEDDED_CUSTOMERS,
    &EMBEDDED_SWEEPS_SKIPPED,
    &EMBEDDED_REQUESTS,
    &EMBEDDED_UP,
    &WORKSPACES,
    &WEB_CONFIG_RELOAD_FAILURES,
    &RECIPE_INFO,
    &RECIPE_RUNNING,
    &RECIPE_STOP_CAUSE,
    &RECIPE_SUCCEEDED,
    &RECIPE_FAILED,
    &RECIPE_TASKS,
    &RECIPE_LAST_RUN,
    &RECIPE_LAST_JOB_STARTED,
    &RECIPE_STOPPED_AT,
    &CONNECTION_INFO,
    &CONNECTION_AUTHORIZED,
    &CONNECTION_LOST,
    &CONNECTION_RUNNING_RECIPES,
    &API_COLLECTION_INFO,
    &API_ENDPOINT_ACTIVE,
    &JOB_DURATION,
    &JOBS_PENDING,
    &JOB_FAILURE_RATIO,
    &JOB_ERRORS,
    &JOB_INGESTION_DELAY,
    &JOBS_STATE_FILE_ERRORS,
];

/// The exposition's label order is the catalogue's: sorted, as the
/// golden file and Prometheus' client libraries have it. A label added
/// out of order fails here, not in a diff of the output.
#[test]
fn every_family_lists_its_labels_in_written_order() {
    for spec in ALL {
        assert!(
            spec.labels.windows(2).all(|pair| pair[0] < pair[1]),
            "{}: labels {:?} are not sorted (or repeat)",
            spec.name,
            spec.labels
        );
        let per_exporter = [
            "workato_exporter_build_info",
            "workato_exporter_config_last_reload_successful",
            "workato_exporter_config_last_reload_success_timestamp_seconds",
            "workato_exporter_embedded_customers",
            "workato_exporter_embedded_requests_total",
            "workato_exporter_embedded_sweeps_skipped_total",
            "workato_exporter_embedded_up",
            "workato_exporter_shard_info",
            "workato_exporter_web_config_reload_failures_total",
            "workato_exporter_workspaces",
        ];
        assert_eq!(
            spec.labels.contains(&WORKSPACE),
            !per_exporter.contains(&spec.name),
            "{}: every family but the exporter's own carries workspace",
            spec.name
        );
        assert!(!spec.labels.contains(&"le"), "{}: le is the writer's", spec.name);
    }
}

#[test]
fn names_are_unique_and_follow_prometheus_rules() {
    // One family may have two specs, one per label set (an Embedded
    // customer's workspace_info): the same kind and help.
    for (i, a) in ALL.iter().enumerate() {
        for b in &ALL[i + 1..] {
            if a.name == b.name {
                assert!(a.help == b.help && a.labels != b.labels, "{} listed twice", a.name);
            }
        }
    }
    for spec in ALL {
        assert!(spec.name.starts_with("workato_"), "{}", spec.name);
        assert!(
            spec.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{}",
            spec.name
        );
        assert_eq!(
            spec.name.ends_with("_total"),
            matches!(spec.kind, Kind::Counter),
            "{}: _total on counters only",
            spec.name
        );
    }
}
