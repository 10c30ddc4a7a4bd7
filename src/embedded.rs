//! An Embed admin workspace and its customers (WORKATO_EMBEDDED.md).
//!
//! A [`Partner`] lists the admin workspace's customers (managed users) at
//! start and every `workspace_interval` (15 minutes by default), and says
//! which of them this replica watches: those the `customers` setting names
//! (all by default) and, with shards, those whose label rendezvous hashing
//! gives this replica. Each becomes a workspace of the fleet labelled
//! `<name>/<managed user id>`, polled through the customer-scoped routes.
//!
//! Workato counts every call of an admin workspace and its customers
//! against one quota per group, so the admin client's budget is the one
//! every customer's client spends: `requests_per_minute` (divided by the
//! shard count, each replica taking its share), and at most 60 a minute for
//! listing customers. Fairness between customers comes from the budget's
//! line: each customer has at most one request waiting per collector,
//! whatever its size, and waiting requests are served in order (a job read
//! by how long its recipe has waited to be read), so a customer with many
//! recipes waits its turn like the others and cannot starve them.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;
use workato_api::Budget;

use crate::client::{Client, ClientOptions, Group};
use crate::clock::unix_now;
use crate::config::{CustomerRef, Customers, EmbeddedConfig};
use crate::error::Result;
use crate::jobs::PageSize;
use crate::metrics::RequestCounts;
use crate::poller::Quiet;
use crate::shard::Shard;
use crate::snapshot::WorkspaceInfo;

/// Workato's quota for listing customers and the other manage-customer
/// calls, per admin workspace.
const CUSTOMERS_PER_MINUTE: u32 = 60;

/// An Embed admin workspace, as one replica sees it.
pub struct Partner {
    pub config: EmbeddedConfig,
    /// The admin workspace's client; its customers' clients share its
    /// connections and budget.
    pub admin: Client,
    /// The admin client's own requests (its customers' count in theirs).
    pub requests: Arc<RequestCounts>,
    shard: Option<Shard>,
    /// Each watched customer's quiet flag, set from the usage statistics.
    quiet: Mutex<HashMap<u64, Arc<Quiet>>>,
    /// What its customers have learnt of the length of jobs pages.
    pub jobs_page_size: Arc<PageSize>,
    /// Recipes sweeps of customers no longer watched, left out while they
    /// were (the counter never goes back).
    skipped_before: std::sync::atomic::AtomicU64,
    /// Where the usage statistics' period starts.
    usage_from: f64,
}

impl Partner {
    pub fn new(config: EmbeddedConfig, options: ClientOptions, shard: Option<Shard>) -> Result<Partner> {
        let replicas = shard.map_or(1, |s| s.count.max(1));
        let share = |per_minute: u32| NonZeroU32::new(per_minute / replicas).unwrap_or(NonZeroU32::MIN);
        let budget = Budget::new(share(config.requests_per_minute.get()))
            .with_limit(Group::Workspace, share(CUSTOMERS_PER_MINUTE));
        let requests = Arc::new(RequestCounts::default());
        let observer: Arc<RequestCounts> = Arc::clone(&requests);
        let admin = Client::with_budget(&config.base_url, &config.auth, budget, options, observer)?;
        Ok(Partner {
            config,
            admin,
            requests,
            shard,
            quiet: Mutex::default(),
            jobs_page_size: Arc::default(),
            skipped_before: Default::default(),
            usage_from: unix_now() - 3_600.0,
        })
    }

    fn flags(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Quiet>>> {
        self.quiet.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The quiet flag of the customer `id`, for its poller.
    pub fn quiet(&self, id: u64) -> Arc<Quiet> {
        Arc::clone(self.flags().entry(id).or_default())
    }

    /// The customer `id` is no longer watched.
    pub fn forget(&self, id: u64) {
        if let Some(flag) = self.flags().remove(&id) {
            self.skipped_before
                .fetch_add(flag.skipped(), std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Recipes sweeps left out because customers were quiet, so far.
    pub fn sweeps_skipped(&self) -> u64 {
        let watched: u64 = self.flags().values().map(|f| f.skipped()).sum();
        watched + self.skipped_before.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Reads the usage statistics of the watched customers — the jobs each
    /// completed from an hour before this partner started to a day ahead,
    /// so that neither clock skew nor a late completion time hides a job —
    /// and marks quiet those whose total has not moved since the last
    /// reading. On any failure (Workato documents no answer shape, and the
    /// client role may lack the privilege) nobody is quiet: every customer
    /// is swept.
    async fn check_usage(&self, totals: &mut HashMap<u64, u64>, said: &mut Option<String>) {
        let ids: Vec<u64> = self.flags().keys().copied().collect();
        if ids.is_empty() {
            return;
        }
        let to = unix_now() + 86_400.0;
        let outcome = self.admin.completed_jobs(&ids, self.usage_from, to).await;
        let flags = self.flags();
        match outcome {
            Ok(completed) => {
                for (id, flag) in flags.iter() {
                    let now = completed.get(id).copied();
                    flag.set(now.is_some() && now == totals.get(id).copied());
                }
                *totals = completed;
                if said.take().is_some() {
                    tracing::info!(embedded = self.config.name, "the usage statistics answer again");
                }
            }
            Err(error) => {
                for flag in flags.values() {
                    flag.set(false);
                }
                totals.clear();
                let text = error.to_string();
                if said.as_deref() != Some(&text) {
                    tracing::warn!(
                        embedded = self.config.name,
                        %error,
                        "cannot read the customers' usage statistics; sweeping every customer every poll"
                    );
                }
                *said = Some(text);
            }
        }
    }

    /// The label of the customer with managed user id `id`.
    pub fn label(&self, id: u64) -> String {
        self.config.customer_label(id)
    }

    /// Of the customers `listed`, those this replica watches, by label.
    pub fn watched(&self, listed: Vec<WorkspaceInfo>) -> Vec<(String, WorkspaceInfo)> {
        listed
            .into_iter()
            .filter(|customer| match &self.config.customers {
                Customers::All => true,
                Customers::Only(chosen) => chosen.iter().any(|c| names(c, customer)),
            })
            .map(|customer| (self.label(customer.id), customer))
            .filter(|(label, _)| self.shard.is_none_or(|s| s.owns(label)))
            .collect()
    }

    /// Lists the customers now and every `workspace_interval` until `stop`,
    /// telling `listed` each outcome. An empty list after a non-empty one
    /// is read a second time before it is believed (a hiccup would
    /// otherwise stop every customer and lose their state).
    pub async fn watch(self: Arc<Self>, stop: CancellationToken, listed: impl Fn(Result<Vec<WorkspaceInfo>>)) {
        let mut had_customers = false;
        let mut usage = tokio::time::interval(self.config.poll_interval);
        usage.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut usage_said = None;
        let mut totals = HashMap::new();
        loop {
            let mut outcome = self.admin.customers().await;
            if had_customers && outcome.as_ref().is_ok_and(Vec::is_empty) {
                tracing::warn!(
                    embedded = self.config.name,
                    "Workato listed no customers where it listed some before; reading the list again"
                );
                outcome = self.admin.customers().await;
            }
            match &outcome {
                Ok(customers) => had_customers = !customers.is_empty(),
                Err(error) => tracing::warn!(
                    embedded = self.config.name,
                    %error,
                    "cannot list the Embedded customers; watching those listed before"
                ),
            }
            listed(outcome);
            let relist = tokio::time::sleep(self.config.workspace_interval);
            tokio::pin!(relist);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = &mut relist => break,
                    _ = usage.tick() => self.check_usage(&mut totals, &mut usage_said).await,
                }
            }
        }
    }
}

/// Whether the file's `chosen` names `customer`.
fn names(chosen: &CustomerRef, customer: &WorkspaceInfo) -> bool {
    match chosen {
        CustomerRef::Id(id) => *id == customer.id,
        CustomerRef::External(external) => customer
            .customer
            .as_ref()
            .and_then(|c| c.external_id.as_deref())
            .is_some_and(|id| id == external),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrecy::SecretString;

    use super::*;
    use crate::config::{Auth, JobsConfig};
    use crate::snapshot::CustomerInfo;

    fn partner(customers: Customers, shard: Option<Shard>, per_minute: u32) -> Partner {
        let config = EmbeddedConfig {
            name: "partner".into(),
            base_url: "http://127.0.0.1:1".parse().unwrap(),
            auth: Auth::Bearer(SecretString::from("t")),
            requests_per_minute: NonZeroU32::new(per_minute).unwrap(),
            poll_interval: Duration::from_secs(60),
            workspace_interval: Duration::from_secs(900),
            jobs_interval: Duration::from_secs(60),
            jobs: JobsConfig::default(),
            state_dir: None,
            customers,
        };
        Partner::new(config, ClientOptions::default(), shard).unwrap()
    }

    fn customer(id: u64, external_id: Option<&str>) -> WorkspaceInfo {
        WorkspaceInfo {
            id,
            name: format!("c{id}"),
            plan: String::new(),
            customer: Some(CustomerInfo {
                external_id: external_id.map(String::from),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn customers_are_chosen_by_id_or_external_id_and_labelled_under_the_partner() {
        let listed = || vec![customer(1, Some("A1")), customer(2, None), customer(3, Some("3"))];
        let all = partner(Customers::All, None, 1000).watched(listed());
        let labels: Vec<&str> = all.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(labels, ["partner/1", "partner/2", "partner/3"]);
        let only = Customers::Only(vec![CustomerRef::External("3".into()), CustomerRef::Id(1)]);
        let some = partner(only, None, 1000).watched(listed());
        let ids: Vec<u64> = some.iter().map(|(_, c)| c.id).collect();
        assert_eq!(ids, [1, 3], "an external id of digits names by external id, not by id");
    }

    #[test]
    fn shards_split_the_customers_and_the_budget() {
        let listed: Vec<WorkspaceInfo> = (1..=60).map(|id| customer(id, None)).collect();
        let mut owners = std::collections::BTreeMap::new();
        for index in 0..3 {
            let shard = Shard { index, count: 3 };
            let replica = partner(Customers::All, Some(shard), 1000);
            assert_eq!(replica.admin.budget().per_minute(Group::Jobs), 333);
            assert_eq!(replica.admin.budget().per_minute(Group::Workspace), 20);
            for (label, _) in replica.watched(listed.clone()) {
                assert!(owners.insert(label, index).is_none(), "watched twice");
            }
        }
        assert_eq!(owners.len(), 60, "every customer watched by one replica");
        let alone = partner(Customers::All, None, 1000);
        assert_eq!(alone.admin.budget().per_minute(Group::Workspace), 60);
        assert_eq!(alone.admin.budget().per_minute(Group::Recipes), 1000);
    }
}
