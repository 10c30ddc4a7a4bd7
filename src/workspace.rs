//! One watched workspace: everything it needs, wired once — its client and
//! rate budget, the snapshot its collectors publish into, the jobs tracker,
//! the pollers, its self-metrics and the metrics that render it. [`App`]
//! holds one; watching many is holding more of these.
//!
//! [`App`]: crate::App

use std::sync::Arc;

use crate::client::{Client, ClientOptions};
use crate::config::WorkspaceConfig;
use crate::error::Result;
use crate::jobs::JobsTracker;
use crate::metrics::{BudgetView, Metrics, SelfMetrics};
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
    pub metrics: Arc<Metrics>,
}

impl Workspace {
    /// Wires the workspace `config` describes, with the client's timeouts
    /// and retry policy given (tests shorten them). Nothing runs yet.
    /// `self_metrics` come first: the client records into them, the
    /// exposition reads them and the client's budget.
    pub fn new(config: &WorkspaceConfig, options: ClientOptions, self_metrics: Arc<SelfMetrics>) -> Result<Workspace> {
        let client = Client::with_options(
            &config.base_url,
            &config.auth,
            config.requests_per_minute,
            options,
            self_metrics.clone(),
        )?;
        let snapshot = Arc::new(SharedSnapshot::default());
        let budget: Arc<dyn BudgetView> = Arc::new(client.clone());
        let metrics = Arc::new(Metrics::new(
            &config.name,
            Arc::clone(&snapshot),
            Arc::clone(&self_metrics),
            Some(budget),
        ));
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
            metrics,
        })
    }
}
