//! `GET /api/managed_users`: an Embed admin workspace's customers
//! (WORKATO_EMBEDDED.md, "Customers"), each a workspace of its own.
//!
//! Paging is undocumented: `page` and `per_page` are sent and the walk
//! ends at the first page that brings no customer not seen before (an
//! empty `result` past the end, or a server that ignores `page` and sends
//! the first again), or at [`MAX_CUSTOMER_PAGES`].

use std::collections::HashSet;

use reqwest::Method;
use serde::Deserialize;

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

const PER_PAGE: usize = 100;

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

impl Client {
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
