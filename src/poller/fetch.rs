//! What each collector fetches, and how it lands in the snapshot.

use std::sync::Arc;

use tokio::time::Instant;

use super::Poller;
use crate::clock::unix_now;
use crate::error::Result;
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
                crate::jobs::ingest::cycle(&self.client, &self.jobs, &recipes).await?;
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
