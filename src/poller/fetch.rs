//! What each collector fetches, and how it lands in the snapshot.

use std::sync::Arc;

use tokio::time::Instant;

use super::Poller;
use crate::clock::unix_now;
use crate::error::{Error, Result};
use crate::snapshot::{ApiPlatform, Collector, Connection, JobStats, Snapshot, WorkspaceInfo};

/// What one successful poll brings back.
pub(super) enum Fetched {
    /// What the jobs tracker holds after a cycle. It also publishes each
    /// change as it happens, so a long cycle shows its progress.
    Jobs(JobStats),
    Workspace(WorkspaceInfo),
    Recipes(crate::client::RecipeList),
    Connections(Vec<Connection>),
    ApiPlatform(ApiPlatform),
}

impl Fetched {
    pub(super) fn publish(self, snapshot: &mut Snapshot) {
        match self {
            Fetched::Jobs(stats) => snapshot.jobs = Arc::new(stats),
            Fetched::Workspace(w) => snapshot.workspace = Some(Arc::new(w)),
            Fetched::Recipes(mut list) => {
                snapshot.counter_decreases += crate::counters::hold(&snapshot.recipes, &mut list.recipes);
                if list.truncated && !snapshot.recipes_truncated {
                    tracing::warn!(
                        kept = crate::client::MAX_RECIPES,
                        "the workspace holds more than {} recipes; the oldest are left out of every metric",
                        crate::client::MAX_RECIPES
                    );
                }
                snapshot.recipes_truncated = list.truncated;
                snapshot.recipes = Arc::new(list.recipes);
            }
            Fetched::Connections(c) => snapshot.connections = Arc::new(c),
            Fetched::ApiPlatform(a) => snapshot.api_platform = Arc::new(a),
        }
    }
}

impl Poller {
    /// Publishes workspace details read elsewhere: an Embedded customer's
    /// come with the admin workspace's list of customers (see
    /// [`Poller::details_from_elsewhere`]).
    pub fn details_read(&self, outcome: Result<WorkspaceInfo>) {
        let _ = self.publish(Collector::Workspace, outcome.map(Fetched::Workspace));
    }

    /// Publishes one poll's outcome: its data, or its error beside the
    /// data read before.
    pub(super) fn publish(&self, collector: Collector, outcome: Result<Fetched>) -> Result<()> {
        let (fetched, error) = match outcome {
            Ok(fetched) => (Some(fetched), None),
            Err(error) => (None, Some(error)),
        };
        let now = unix_now();
        let unavailable = collector.optional() && matches!(error, Some(Error::Forbidden { .. }));
        self.snapshot.update(|snapshot| {
            if let Some(fetched) = fetched {
                fetched.publish(snapshot);
            }
            if unavailable && collector == Collector::Workspace {
                // What was read before the privilege went away is no longer
                // this client's to show.
                snapshot.workspace = None;
            }
            let status = snapshot.collectors.entry(collector).or_default();
            status.last_attempt = Some(now);
            status.up = error.is_none();
            status.unavailable = unavailable;
            if error.is_none() {
                status.last_success = Some(now);
            }
            status.last_error = error.as_ref().map(ToString::to_string);
        });
        if collector == Collector::Recipes && error.is_none() {
            self.sweeps.send_modify(|n| *n += 1);
        }
        error.map_or(Ok(()), Err)
    }

    pub(super) async fn fetch(&self, collector: Collector) -> Result<Fetched> {
        Ok(match collector {
            Collector::Workspace => Fetched::Workspace(self.client.workspace().await?),
            Collector::Recipes => {
                let mut list = self.client.recipes().await?;
                // One empty list after a full one is more likely a glitch
                // than every recipe deleted at once (which would also drop
                // every recipe's job state): read again before believing it.
                if list.recipes.is_empty() && !self.snapshot.load().recipes.is_empty() {
                    tracing::warn!("Workato listed no recipes after listing some; reading again before believing it");
                    list = self.client.recipes().await?;
                }
                Fetched::Recipes(list)
            }
            Collector::Jobs => {
                let recipes = Arc::clone(&self.snapshot.load().recipes);
                // Until the next cycle would start anyway: the next sweep's.
                let patience = self.intervals.jobs.min(self.intervals.resources);
                crate::jobs::ingest::cycle(&self.client, &self.jobs, &recipes, patience).await?;
                Fetched::Jobs(self.jobs.stats(unix_now()))
            }
            Collector::Connections => {
                let mut connections = self.client.connections().await?;
                if connections.is_empty() && !self.snapshot.load().connections.is_empty() {
                    tracing::warn!(
                        "Workato listed no connections after listing some; reading again before believing it"
                    );
                    connections = self.client.connections().await?;
                }
                Fetched::Connections(connections)
            }
            Collector::ApiPlatform => {
                let endpoints = self.client.api_endpoints().await?;
                let last_read = *self.collections_read.lock().unwrap_or_else(|p| p.into_inner());
                let collections = match last_read {
                    Some(at) if at.elapsed() < self.intervals.workspace => {
                        self.snapshot.load().api_platform.collections.clone()
                    }
                    _ => {
                        let collections = self.client.api_collections().await?;
                        *self.collections_read.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
                        collections
                    }
                };
                Fetched::ApiPlatform(ApiPlatform { collections, endpoints })
            }
        })
    }
}
