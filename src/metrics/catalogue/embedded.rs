//! The families of Embed admin workspaces and their customers: the
//! customers' own records (billing-relevant for a partner) and each
//! listing's outcome.

use super::super::family::{Kind, Spec};

// `workato_workspace_info` of an Embedded customer (details from the list of
// customers, not users/me): the same family, two
// labels more.
spec!(
    CUSTOMER_WORKSPACE_INFO,
    "workato_workspace_info",
    Gauge,
    &[
        "customer_name",
        "external_id",
        "name",
        "plan",
        "workspace",
        "workspace_id"
    ],
    "Workspace details from users/me, refreshed by a poll; always 1."
);

spec!(
    CUSTOMER_TASKS,
    "workato_customer_tasks",
    Gauge,
    &["workspace"],
    "Tasks the Embedded customer used in its current billing period (task_count of its record)."
);

spec!(
    CUSTOMER_TASK_LIMIT,
    "workato_customer_task_limit",
    Gauge,
    &["workspace"],
    "Tasks the Embedded customer may use in a billing period (task_limit of its record)."
);

spec!(
    CUSTOMER_ACTIVE_RECIPES,
    "workato_customer_active_recipes",
    Gauge,
    &["workspace"],
    "Running recipes of the Embedded customer, as its record counts them."
);

spec!(
    CUSTOMER_ACTIVE_CONNECTIONS,
    "workato_customer_active_connections",
    Gauge,
    &["workspace"],
    "Active connections of the Embedded customer, as its record counts them."
);

spec!(
    CUSTOMER_ACTIVE_CONNECTION_LIMIT,
    "workato_customer_active_connection_limit",
    Gauge,
    &["workspace"],
    "Active connections the Embedded customer may have; 0 means no limit."
);

spec!(
    CUSTOMER_IN_TRIAL,
    "workato_customer_in_trial",
    Gauge,
    &["workspace"],
    "1 while the Embedded customer is in a trial, else 0."
);

spec!(
    CUSTOMER_BILLING_PERIOD_END,
    "workato_customer_billing_period_end_timestamp_seconds",
    Gauge,
    &["workspace"],
    "When the Embedded customer's current billing period ends, in Unix time."
);

spec!(
    EMBEDDED_CUSTOMERS,
    "workato_exporter_embedded_customers",
    Gauge,
    &["embedded"],
    "Customers of the Embed admin workspace this process watches (its shard's share when sharded), as of the last listing."
);

spec!(
    EMBEDDED_SWEEPS_SKIPPED,
    "workato_exporter_embedded_sweeps_skipped_total",
    Counter,
    &["embedded"],
    "Recipes sweeps of Embedded customers left out because the usage statistics showed no job completed lately (each would have cost a recipes call per 100 recipes, and more)."
);
spec!(
    EMBEDDED_REQUESTS,
    "workato_exporter_embedded_requests_total",
    Counter,
    &["code", "embedded", "endpoint"],
    "Requests of the Embed admin workspace itself (listing customers, usage statistics), by route template and HTTP status (error when no response came back); its customers' requests are in workato_api_requests_total."
);
spec!(
    EMBEDDED_UP,
    "workato_exporter_embedded_up",
    Gauge,
    &["embedded"],
    "1 if the last listing of the Embed admin workspace's customers succeeded, else 0."
);
