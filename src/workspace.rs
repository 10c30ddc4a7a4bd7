//! One watched workspace: everything it needs, wired once — its client and
//! rate budget, the snapshot its collectors publish into, the jobs tracker,
//! the pollers and its self-metrics; the exposition reads it as a
//! [`Source`]. [`App`] holds one; watching many is holding more of these.
//!
//! [`App`]: crate::App

use std::sync::Arc;

use crate::client::{Client, ClientOptions};
use crate::config::{EmbeddedConfig, JobsConfig, WorkspaceConfig};
use crate::error::Result;
use crate::jobs::{JobsTracker, PageSize};
use crate::metrics::{BudgetView, SelfMetrics, Source};
use crate::poller::{Intervals, Poller, Quiet};
use crate::snapshot::{SharedSnapshot, WorkspaceInfo};

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
        let intervals = Intervals {
            resources: config.poll_interval,
            workspace: config.workspace_interval,
            jobs: config.jobs_interval,
        };
        let poller = |client, snapshot, jobs| Poller::new(client, snapshot, Arc::clone(&self_metrics), intervals, jobs);
        Ok(Workspace::assemble(
            config.name.clone(),
            config.base_url.to_string(),
            client,
            &config.jobs,
            Arc::default(),
            poller,
            Arc::clone(&self_metrics),
        ))
    }

    /// The Embedded customer `details` of the Embed admin workspace
    /// `partner` (whose client `admin` is), labelled `label`: its calls go
    /// through the customer-scoped routes on the admin workspace's budget,
    /// its details come with the list of customers, not from a poll of its
    /// own, its recipes sweep waits while `quiet` says so, and what it learns
    /// of the length of jobs pages it shares with the other customers.
    pub fn customer(
        partner: &EmbeddedConfig,
        admin: &Client,
        details: &WorkspaceInfo,
        quiet: Arc<Quiet>,
        page_size: Arc<PageSize>,
        self_metrics: Arc<SelfMetrics>,
    ) -> Result<Workspace> {
        let label = partner.customer_label(details.id);
        let client = admin.customer(details.id, self_metrics.clone())?;
        let intervals = Intervals {
            resources: partner.poll_interval,
            workspace: partner.workspace_interval,
            jobs: partner.jobs_interval,
        };
        let jobs_config = JobsConfig {
            state_file: partner.customer_state_file(details.id),
            ..partner.jobs.clone()
        };
        let second_poll = crate::poller::second_poll(&label);
        let poller = |client, snapshot, jobs| {
            Poller::new(client, snapshot, Arc::clone(&self_metrics), intervals, jobs)
                .details_from_elsewhere()
                .quiet_when(quiet)
                .second_poll_after(second_poll)
        };
        let workspace = Workspace::assemble(
            label,
            client.api_root().to_string(),
            client,
            &jobs_config,
            page_size,
            poller,
            Arc::clone(&self_metrics),
        );
        workspace.poller.details_read(Ok(details.clone()));
        Ok(workspace)
    }

    fn assemble(
        name: String,
        base_url: String,
        client: Client,
        jobs_config: &JobsConfig,
        page_size: Arc<PageSize>,
        poller: impl FnOnce(Client, Arc<SharedSnapshot>, Arc<JobsTracker>) -> Poller,
        self_metrics: Arc<SelfMetrics>,
    ) -> Workspace {
        let snapshot = Arc::new(SharedSnapshot::default());
        let jobs = Arc::new(JobsTracker::sharing(
            jobs_config.clone(),
            Arc::clone(&snapshot),
            page_size,
        ));
        let poller = Arc::new(poller(client.clone(), Arc::clone(&snapshot), Arc::clone(&jobs)));
        Workspace {
            name,
            base_url,
            client,
            snapshot,
            jobs,
            poller,
            self_metrics,
        }
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
