//! A running workspace and a running Embed admin workspace: what each
//! runs, and how it is stopped and awaited.

use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::WorkspaceConfig;
use crate::embedded::Partner;
use crate::error::Result;
use crate::metrics::{ExporterMetrics, Reading};
use crate::snapshot::WorkspaceInfo;
use crate::workspace::Workspace;

pub struct Running {
    /// `None` for an Embedded customer, which its partner starts and stops.
    pub config: Option<WorkspaceConfig>,
    pub workspace: Arc<Workspace>,
    /// Stops this workspace's pollers alone; a child of the shutdown.
    pub stop: Option<CancellationToken>,
    pub task: Option<JoinHandle<()>>,
}

/// An Embed admin workspace and the task that lists its customers.
pub struct PartnerRunning {
    pub partner: Arc<Partner>,
    pub stop: Option<CancellationToken>,
    pub task: Option<JoinHandle<()>>,
}

impl PartnerRunning {
    pub fn new(partner: Partner) -> PartnerRunning {
        PartnerRunning {
            partner: Arc::new(partner),
            stop: None,
            task: None,
        }
    }

    /// Lists the customers until the process shuts down or this partner is
    /// removed, handing each listing to the fleet.
    pub fn spawn(
        &mut self,
        listed: impl Fn(Result<Vec<WorkspaceInfo>>) + Send + Sync + 'static,
        shutdown: &CancellationToken,
    ) {
        let stop = shutdown.child_token();
        self.task = Some(tokio::spawn(Arc::clone(&self.partner).watch(stop.clone(), listed)));
        self.stop = Some(stop);
    }

    pub async fn join(&mut self) {
        if let Some(task) = self.task.take()
            && let Err(error) = task.await
        {
            tracing::error!(embedded = self.partner.config.name, %error, "listing the customers stopped abnormally");
        }
    }

    /// Stops listing the customers and waits for the task to end.
    pub async fn stop(&mut self) {
        self.stop.take().inspect(CancellationToken::cancel);
        self.join().await;
    }
}

impl Running {
    /// `workspace`, not running yet; `config` is `None` for an Embedded
    /// customer.
    pub fn new(config: Option<WorkspaceConfig>, workspace: Workspace) -> Running {
        Running {
            config,
            workspace: Arc::new(workspace),
            stop: None,
            task: None,
        }
    }

    /// Runs the pollers until the process shuts down or this workspace is
    /// removed.
    pub fn spawn(&mut self, shutdown: &CancellationToken) {
        let stop = shutdown.child_token();
        self.task = Some(tokio::spawn(Arc::clone(&self.workspace.poller).run(stop.clone())));
        self.stop = Some(stop);
    }

    pub async fn join(&mut self, name: &str) {
        if let Some(task) = self.task.take()
            && let Err(error) = task.await
        {
            tracing::error!(workspace = name, %error, "a workspace's pollers stopped abnormally");
        }
    }

    /// Stops this workspace's pollers alone and waits for them.
    pub async fn stop(&mut self, name: &str) {
        self.stop.take().inspect(CancellationToken::cancel);
        self.join(name).await;
    }
}

/// Reports a listing of `partner`'s customers to the exporter's metrics.
pub fn report(exporter: &ExporterMetrics, partner: &Arc<Partner>, listed: bool, customers: usize) {
    let counted = Arc::clone(partner);
    let skipped: Reading = Arc::new(move || counted.sweeps_skipped());
    let requests = Arc::clone(&partner.requests);
    exporter.set_embedded(&partner.config.name, Some((listed, customers, skipped, requests)));
}
