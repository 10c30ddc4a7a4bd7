//! `GET /api/managed_users`: an Embed admin workspace's customers
//! (WORKATO_EMBEDDED.md, "Customers"), each a workspace of its own.
//!
//! Paging is undocumented: `page` and `per_page` are sent and the walk
//! ends at the first page that brings no customer not seen before (an
//! empty `result` past the end, or a server that ignores `page` and sends
//! the first again), or at [`MAX_CUSTOMER_PAGES`].

use std::collections::{HashMap, HashSet};

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::decode::{decode_list, lenient};
use super::group::{Group, Route};
use super::transport::Client;
use crate::error::{Error, Result};
use crate::snapshot::{CustomerInfo, WorkspaceInfo};

/// Workato counts it with the other manage-customer calls (60 a minute).
pub const LIST_CUSTOMERS: Route = Route {
    label: "GET /api/managed_users",
    method: Method::GET,
    group: Group::Workspace,
    blind_retry: true,
};

/// Counted by Workato with the usage endpoints (1,000 a minute); spent here
/// from the small manage-customers budget, a call per poll interval.
pub const CUSTOMER_USAGE: Route = Route {
    label: "POST /api/v2/managed_users/statistics/usage",
    method: Method::POST,
    group: Group::Workspace,
    blind_retry: true,
};

const PER_PAGE: usize = 100;

/// The most customers one usage call names.
const USAGE_IDS: usize = 1_000;

/// The most pages of customers read in one listing: 100,000 customers.
pub const MAX_CUSTOMER_PAGES: usize = 1_000;

#[derive(Deserialize)]
pub(crate) struct CustomerWire {
    #[serde(deserialize_with = "lenient::id")]
    id: u64,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    external_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    plan_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    in_trial: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    task_count: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    task_limit: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    active_recipe_count: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    active_connection_count: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    active_connection_limit: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_time")]
    current_billing_period_end: Option<f64>,
}

impl From<CustomerWire> for WorkspaceInfo {
    fn from(w: CustomerWire) -> WorkspaceInfo {
        WorkspaceInfo {
            id: w.id,
            name: w.name.unwrap_or_default(),
            plan: w.plan_id.unwrap_or_default(),
            customer: Some(CustomerInfo {
                external_id: w.external_id.filter(|id| !id.is_empty()),
                in_trial: w.in_trial,
                task_count: w.task_count,
                task_limit: w.task_limit,
                active_recipe_count: w.active_recipe_count,
                active_connection_count: w.active_connection_count,
                active_connection_limit: w.active_connection_limit,
                billing_period_end: w.current_billing_period_end,
            }),
        }
    }
}

/// One customer's line of the usage statistics. Workato documents the
/// parameters but not the answer; this reads `result` items carrying
/// `workspace_id` (or `id`) and `succeeded_job_count`/`failed_job_count`,
/// and an answer without them is an error, not "no jobs".
#[derive(Deserialize)]
struct UsageWire {
    #[serde(alias = "id", deserialize_with = "lenient::id")]
    workspace_id: u64,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    succeeded_job_count: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    failed_job_count: Option<u64>,
}

/// Jobs a customer completed in the period asked about.
struct Completed(u64, Option<u64>);

impl From<UsageWire> for Completed {
    fn from(w: UsageWire) -> Completed {
        let jobs = match (w.succeeded_job_count, w.failed_job_count) {
            (None, None) => None,
            (s, f) => Some(s.unwrap_or(0) + f.unwrap_or(0)),
        };
        Completed(w.workspace_id, jobs)
    }
}

/// RFC 3339 in UTC, as the usage endpoint's `from` and `to` take it.
fn iso8601(unix: f64) -> String {
    chrono::DateTime::from_timestamp(unix as i64, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

impl Client {
    /// Jobs each of the customers `ids` completed between the Unix times
    /// `from` and `to`, from the usage statistics (one call per thousand
    /// customers). A customer the answer leaves out, or whose counts it
    /// does not give, is absent from the map.
    pub async fn completed_jobs(&self, ids: &[u64], from: f64, to: f64) -> Result<HashMap<u64, u64>> {
        let mut completed = HashMap::with_capacity(ids.len());
        for batch in ids.chunks(USAGE_IDS) {
            let body = json!({
                "from": iso8601(from),
                "to": iso8601(to),
                "interval": "none",
                "workspace_ids": batch,
            });
            let reply = self
                .call(&CUSTOMER_USAGE, "v2/managed_users/statistics/usage", &[], Some(&body))
                .await?;
            let listed = decode_list::<UsageWire, Completed>(CUSTOMER_USAGE.label, &reply)?;
            if listed.items.is_empty() && listed.raw_len > 0 {
                return Err(Error::Decode {
                    endpoint: CUSTOMER_USAGE.label,
                    reason: "no item of the usage statistics names a workspace_id".into(),
                });
            }
            completed.extend(
                listed
                    .items
                    .into_iter()
                    .filter_map(|Completed(id, jobs)| Some((id, jobs?))),
            );
        }
        Ok(completed)
    }

    /// Every customer of this Embed admin workspace, in the order Workato
    /// lists them, each once.
    pub async fn customers(&self) -> Result<Vec<WorkspaceInfo>> {
        let mut customers = Vec::new();
        let mut seen = HashSet::new();
        for page in 1..=MAX_CUSTOMER_PAGES {
            let query = [("page", page.to_string()), ("per_page", PER_PAGE.to_string())];
            let body = self.send(&LIST_CUSTOMERS, "managed_users", &query).await?;
            let listed = decode_list::<CustomerWire, WorkspaceInfo>(LIST_CUSTOMERS.label, &body)?;
            let before = customers.len();
            customers.extend(listed.items.into_iter().filter(|c| seen.insert(c.id)));
            if customers.len() == before {
                return Ok(customers);
            }
        }
        Err(Error::PageLimit {
            endpoint: LIST_CUSTOMERS.label,
            pages: MAX_CUSTOMER_PAGES as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_statistics_give_the_jobs_each_customer_completed() {
        // The simulator's guess at the shape (crates/workato-sim usage.rs).
        let body = br#"{"from": "x", "to": "y", "interval": "none", "result": [
            {"workspace_id": 4300003, "succeeded_job_count": 40, "failed_job_count": 2},
            {"workspace_id": "4300004", "succeeded_job_count": 0, "failed_job_count": 0},
            {"workspace_id": 4300005, "task_count": 9}
        ]}"#;
        let page = decode_list::<UsageWire, Completed>(CUSTOMER_USAGE.label, body).unwrap();
        let jobs: Vec<(u64, Option<u64>)> = page.items.into_iter().map(|Completed(id, n)| (id, n)).collect();
        assert_eq!(jobs, [(4300003, Some(42)), (4300004, Some(0)), (4300005, None)]);
        assert_eq!(iso8601(1_796_112_000.0), "2026-12-01T08:00:00Z");
    }

    #[test]
    fn a_customer_record_as_recorded_decodes_with_its_billing_figures() {
        // WORKATO_EMBEDDED.md, "Recorded bodies" (FYLE), with a name added.
        let body = br#"{"result": [
            {"id":890744, "external_id":"orTwovfDpEYc", "name": "Acme", "plan_id":"oem_enterprise",
             "trial":false, "in_trial":false, "task_count":7, "active_connection_limit":0,
             "active_connection_count":4, "active_recipe_count":1},
            {"id": "12", "external_id": null, "current_billing_period_end": "2026-12-01T00:00:00.000-08:00"},
            {"name": "no id"}
        ]}"#;
        let page = decode_list::<CustomerWire, WorkspaceInfo>(LIST_CUSTOMERS.label, body).unwrap();
        assert_eq!(page.items.len(), 2);
        let acme = &page.items[0];
        assert_eq!(
            (acme.id, acme.name.as_str(), acme.plan.as_str()),
            (890744, "Acme", "oem_enterprise")
        );
        let customer = acme.customer.as_ref().unwrap();
        assert_eq!(customer.external_id.as_deref(), Some("orTwovfDpEYc"));
        assert_eq!(customer.task_count, Some(7));
        assert_eq!(customer.active_connection_limit, Some(0));
        assert_eq!(customer.active_connection_count, Some(4));
        assert_eq!(customer.active_recipe_count, Some(1));
        assert_eq!(customer.in_trial, Some(false));
        let bare = page.items[1].customer.as_ref().unwrap();
        assert_eq!(page.items[1].id, 12);
        assert_eq!(bare.external_id, None);
        assert_eq!(bare.task_count, None);
        assert_eq!(bare.billing_period_end, Some(1_796_112_000.0));
    }
}
