//! One watched workspace: everything it needs, wired once — its client and
//! rate budget, the snapshot its collectors publish into, the jobs tracker,
//! the pollers and its self-metrics; the exposition reads it as a
//! [`Source`]. [`App`] holds one; watching many is holding more of these.
//!
//! [`App`]: crate::App

use std::sync::Arc;

use crate::client::{Client, ClientOptions};
use crate::config::WorkspaceConfig;
use crate::error::Result;
use crate::jobs::JobsTracker;
use crate::metrics::{BudgetView, SelfMetrics, Source};
use crate::poller::{Intervals, Poller};
use crate::snapshot::SharedSnapshot;

pub struct Workspace {
    /// The `workspace` label.
    pub name: String,
    /// Where its API is, as configured.
    pub base_url: String,
    pub client: Client,
    pub snapshot: Arc<SharedSnapshot>,
    pub jobs: Arc<JobsTracker>,
    pub poller: Arc<Poller>,
    pub self_metrics: Arc<SelfMetrics>,
}

impl Workspace {
    /// Wires the workspace `config` describes, with the client's timeouts
    /// and retry policy given (tests shorten them). Nothing runs yet.
    /// `self_metrics` come first: the client records into them; the
    /// exposition reads them and the client's budget (see [`Workspace::source`]).
    pub fn new(config: &WorkspaceConfig, options: ClientOptions, self_metrics: Arc<SelfMetrics>) -> Result<Workspace> {
        let client = Client::with_options(
            &config.base_url,
            &config.auth,
            config.requests_per_minute,
            options,
            self_metrics.clone(),
        )?;
        let snapshot = Arc::new(SharedSnapshot::default());
        let jobs = Arc::new(JobsTracker::new(config.jobs.clone(), Arc::clone(&snapshot)));
        let intervals = Intervals {
            resources: config.poll_interval,
            workspace: config.workspace_interval,
            jobs: config.jobs_interval,
        };
        let poller = Arc::new(Poller::new(
            client.clone(),
            Arc::clone(&snapshot),
            Arc::clone(&self_metrics),
            intervals,
            Arc::clone(&jobs),
        ));
        Ok(Workspace {
            name: config.name.clone(),
            base_url: config.base_url.to_string(),
            client,
            snapshot,
            jobs,
            poller,
            self_metrics,
        })
    }

    /// The workspace as the exposition reads it.
    pub fn source(&self) -> Source {
        let budget: Arc<dyn BudgetView> = Arc::new(self.client.clone());
        Source {
            workspace: self.name.clone(),
            snapshot: Arc::clone(&self.snapshot),
            self_metrics: Arc::clone(&self.self_metrics),
            budget: Some(budget),
        }
    }
}
