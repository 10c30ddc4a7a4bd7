//! The workspaces one process watches, and changing them while it runs.
//!
//! Each [`Workspace`] is a unit of its own — client and budget, snapshot,
//! jobs tracker, pollers, self-metrics — so one whose token is refused or
//! whose host is down never delays or blanks another. The fleet starts
//! their pollers, and on a configuration reload [`Fleet::apply`]s the new
//! list: workspaces that are new start, those that are gone stop (their
//! series go with them), those whose settings changed start afresh, and
//! those unchanged keep running untouched — their counters, watermarks and
//! histograms are never reset by a reload.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, Weak};

use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::client::ClientOptions;
use crate::config::{EmbeddedConfig, WorkspaceConfig};
use crate::embedded::Partner;
use crate::error::{Error, Result};
use crate::metrics::{ExporterMetrics, SelfMetrics};
use crate::shard::Shard;
use crate::snapshot::WorkspaceInfo;
use crate::workspace::Workspace;
use running::{PartnerRunning, Running};

mod running;

/// Told of every change of the list of workspaces.
type OnChange = Box<dyn Fn(&[Arc<Workspace>]) + Send + Sync>;

/// What a reload changed, by workspace name.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Settings changed: stopped and started afresh.
    pub restarted: Vec<String>,
    pub unchanged: usize,
}

/// The watched workspaces.
pub struct Fleet {
    options: ClientOptions,
    /// Each workspace's self-metrics, new.
    self_metrics: Box<dyn Fn() -> Arc<SelfMetrics> + Send + Sync>,
    /// Told of every change of the list (the exposition follows it).
    on_change: OnChange,
    /// Which workspaces and Embedded customers this replica watches.
    shard: Option<Shard>,
    /// Where the Embed admin workspaces' listings are reported.
    exporter: Option<Arc<ExporterMetrics>>,
    /// Serialises changes (a reload waits for stopped pollers).
    state: Mutex<State>,
    /// Embed admin workspaces whose customers have not been listed yet
    /// (successfully or not): readiness waits for them.
    unlisted: std::sync::Mutex<std::collections::BTreeSet<String>>,
    /// What readers see: every workspace, sorted by name.
    current: RwLock<Arc<[Arc<Workspace>]>>,
}

#[derive(Default)]
struct State {
    /// Workspaces, Embedded customers among them, by label.
    running: BTreeMap<String, Running>,
    /// Embed admin workspaces, by name.
    partners: BTreeMap<String, PartnerRunning>,
    /// Set once the pollers run: new workspaces start at once.
    shutdown: Option<CancellationToken>,
}

impl Fleet {
    /// Wires a workspace for each of `configs` (names must be unique);
    /// nothing polls until [`Fleet::start`].
    pub fn new(
        configs: &[WorkspaceConfig],
        options: ClientOptions,
        self_metrics: impl Fn() -> Arc<SelfMetrics> + Send + Sync + 'static,
        on_change: impl Fn(&[Arc<Workspace>]) + Send + Sync + 'static,
    ) -> Result<Fleet> {
        let mut fleet = Fleet {
            options,
            self_metrics: Box::new(self_metrics),
            on_change: Box::new(on_change),
            shard: None,
            exporter: None,
            unlisted: Default::default(),
            state: Mutex::new(State::default()),
            current: RwLock::new(Arc::from(Vec::new())),
        };
        let mut running = BTreeMap::new();
        for config in configs {
            if running.contains_key(&config.name) {
                return Err(Error::Config(format!(
                    "workspace {:?} is configured twice",
                    config.name
                )));
            }
            running.insert(config.name.clone(), fleet.wire(config)?);
        }
        fleet.publish(&running);
        *fleet.state.get_mut() = State {
            running,
            partners: BTreeMap::new(),
            shutdown: None,
        };
        Ok(fleet)
    }

    /// The same fleet, watching only what `shard` owns (a replica's share
    /// of the Embedded customers and budgets too).
    pub fn sharded(mut self, shard: Option<Shard>) -> Fleet {
        self.shard = shard;
        self
    }

    /// The same fleet with the Embed admin workspaces `configs`, whose
    /// customers are listed once it starts.
    pub fn with_partners(mut self, configs: &[EmbeddedConfig], options: &ClientOptions) -> Result<Fleet> {
        let state = self.state.get_mut();
        let unlisted = self.unlisted.get_mut().unwrap_or_else(|p| p.into_inner());
        for config in configs {
            unlisted.insert(config.name.clone());
            let partner = Partner::new(config.clone(), options.clone(), self.shard)?;
            state.partners.insert(config.name.clone(), PartnerRunning::new(partner));
        }
        Ok(self)
    }

    /// The same fleet, reporting its Embedded listings to `exporter`.
    pub fn reporting_to(mut self, exporter: Arc<ExporterMetrics>) -> Fleet {
        self.exporter = Some(exporter);
        self
    }

    /// Every workspace, sorted by name.
    pub fn workspaces(&self) -> Arc<[Arc<Workspace>]> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The Embed admin workspaces whose customers were never listed yet.
    pub fn unlisted(&self) -> Vec<String> {
        self.unlisted_names().iter().cloned().collect()
    }

    fn unlisted_names(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeSet<String>> {
        self.unlisted.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The workspace labelled `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Workspace>> {
        self.workspaces().iter().find(|w| w.name == name).cloned()
    }

    /// Starts every workspace's pollers; they stop when `shutdown` is
    /// cancelled (or their workspace is removed).
    pub async fn start(self: &Arc<Self>, shutdown: CancellationToken) {
        let mut state = self.state.lock().await;
        for running in state.running.values_mut() {
            running.spawn(&shutdown);
        }
        for partner in state.partners.values_mut() {
            partner.spawn(self.on_listing(&partner.partner), &shutdown);
        }
        state.shutdown = Some(shutdown);
    }

    /// Waits for every workspace's pollers to stop (after shutdown).
    pub async fn stopped(&self) {
        let mut state = self.state.lock().await;
        for partner in state.partners.values_mut() {
            partner.join().await;
        }
        for (name, running) in &mut state.running {
            running.join(name).await;
        }
    }

    /// Makes `configs` the watched workspaces. Everything new is wired
    /// before anything stops, so a workspace that cannot be built (a bad
    /// address) leaves the running set as it was and says why.
    pub async fn apply(&self, configs: Vec<WorkspaceConfig>) -> Result<Changes> {
        let mut wanted = BTreeMap::new();
        for config in configs {
            let name = config.name.clone();
            if wanted.insert(name.clone(), config).is_some() {
                return Err(Error::Config(format!("workspace {name:?} is configured twice")));
            }
        }
        let mut state = self.state.lock().await;
        let mut changes = Changes::default();
        let mut fresh = BTreeMap::new();
        for (name, config) in &wanted {
            match state.running.get(name) {
                Some(running) if running.config.as_ref() == Some(config) => changes.unchanged += 1,
                found => {
                    fresh.insert(name.clone(), self.wire(config)?);
                    match found {
                        Some(_) => changes.restarted.push(name.clone()),
                        None => changes.added.push(name.clone()),
                    }
                }
            }
        }
        let gone: Vec<String> = state
            .running
            .iter()
            .filter(|(_, running)| running.config.is_some())
            .map(|(name, _)| name)
            .filter(|name| !wanted.contains_key(*name) || fresh.contains_key(*name))
            .cloned()
            .collect();
        for name in &gone {
            if let Some(mut running) = state.running.remove(name) {
                running.stop(name).await;
            }
            if !wanted.contains_key(name) {
                changes.removed.push(name.clone());
            }
        }
        let shutdown = state.shutdown.clone();
        for (name, mut running) in fresh {
            if let Some(shutdown) = &shutdown {
                running.spawn(shutdown);
            }
            state.running.insert(name, running);
        }
        self.publish(&state.running);
        Ok(changes)
    }

    /// Makes `configs` the watched Embed admin workspaces: new ones start
    /// listing their customers, removed ones stop with every customer, and
    /// changed ones start afresh; unchanged ones and their customers run on.
    pub async fn apply_partners(self: &Arc<Self>, configs: Vec<EmbeddedConfig>) -> Result<Changes> {
        let mut state = self.state.lock().await;
        let mut changes = Changes::default();
        let mut fresh = BTreeMap::new();
        for config in &configs {
            match state.partners.get(&config.name) {
                Some(running) if running.partner.config == *config => changes.unchanged += 1,
                found => {
                    let partner = Partner::new(config.clone(), self.options.clone(), self.shard)?;
                    self.unlisted_names().insert(config.name.clone());
                    fresh.insert(config.name.clone(), PartnerRunning::new(partner));
                    match found {
                        Some(_) => changes.restarted.push(config.name.clone()),
                        None => changes.added.push(config.name.clone()),
                    }
                }
            }
        }
        let gone: Vec<String> = state
            .partners
            .keys()
            .filter(|name| fresh.contains_key(*name) || !configs.iter().any(|c| &c.name == *name))
            .cloned()
            .collect();
        for name in gone {
            if let Some(mut running) = state.partners.remove(&name) {
                running.stop().await;
                for label in customers_of(&state.running, &name) {
                    if let Some(mut customer) = state.running.remove(&label) {
                        customer.stop(&label).await;
                    }
                }
                if let Some(exporter) = &self.exporter {
                    exporter.set_embedded(&name, None);
                }
                if !fresh.contains_key(&name) {
                    self.unlisted_names().remove(&name);
                }
            }
            if !fresh.contains_key(&name) {
                changes.removed.push(name);
            }
        }
        let shutdown = state.shutdown.clone();
        for (name, mut running) in fresh {
            if let Some(shutdown) = &shutdown {
                running.spawn(self.on_listing(&running.partner), shutdown);
            }
            state.partners.insert(name, running);
        }
        self.publish(&state.running);
        Ok(changes)
    }

    /// The Embed admin workspace `name` listed its customers: those it
    /// lists and this replica watches start (or have their details
    /// refreshed), those it no longer lists stop and their series go. A
    /// failed listing leaves the customers watched and says so in their
    /// workspace collector.
    async fn customers_listed(&self, name: &str, outcome: Result<Vec<WorkspaceInfo>>) {
        let mut state = self.state.lock().await;
        let Some(partner) = state.partners.get(name).map(|p| Arc::clone(&p.partner)) else {
            return;
        };
        self.unlisted_names().remove(name);
        let watched = customers_of(&state.running, name);
        let listed = match outcome {
            Ok(listed) => listed,
            Err(error) => {
                for label in &watched {
                    state.running[label].workspace.poller.details_read(Err(error.clone()));
                }
                if let Some(exporter) = &self.exporter {
                    running::report(exporter, &partner, false, watched.len());
                }
                return;
            }
        };
        let wanted: BTreeMap<String, WorkspaceInfo> = partner.watched(listed).into_iter().collect();
        for label in watched.iter().filter(|label| !wanted.contains_key(*label)) {
            if let Some(mut customer) = state.running.remove(label) {
                tracing::info!(workspace = label, "no longer listed as a customer; its series go");
                if let Some(id) = customer.workspace.snapshot.load().workspace.as_ref().map(|w| w.id) {
                    partner.forget(id);
                }
                customer.stop(label).await;
            }
        }
        let shutdown = state.shutdown.clone();
        for (label, details) in &wanted {
            if let Some(running) = state.running.get(label) {
                running.workspace.poller.details_read(Ok(details.clone()));
                continue;
            }
            let (quiet, pages) = (partner.quiet(details.id), Arc::clone(&partner.jobs_page_size));
            match Workspace::customer(
                &partner.config,
                &partner.admin,
                details,
                quiet,
                pages,
                (self.self_metrics)(),
            ) {
                Ok(workspace) => {
                    let mut running = Running::new(None, workspace);
                    if let Some(shutdown) = &shutdown {
                        running.spawn(shutdown);
                    }
                    state.running.insert(label.clone(), running);
                }
                Err(error) => tracing::error!(workspace = label, %error, "cannot watch the customer"),
            }
        }
        // Published first: a scrape that sees the count sees the customers.
        self.publish(&state.running);
        if let Some(exporter) = &self.exporter {
            running::report(exporter, &partner, true, wanted.len());
        }
    }

    /// What a partner's listing task does with each listing: hands it to
    /// the fleet, if the fleet is still there.
    fn on_listing(self: &Arc<Self>, partner: &Partner) -> impl Fn(Result<Vec<WorkspaceInfo>>) + Send + Sync + 'static {
        let fleet: Weak<Fleet> = Arc::downgrade(self);
        let name = partner.config.name.clone();
        let handle = tokio::runtime::Handle::current();
        move |outcome| {
            if let Some(fleet) = fleet.upgrade() {
                let name = name.clone();
                handle.spawn(async move { fleet.customers_listed(&name, outcome).await });
            }
        }
    }

    fn wire(&self, config: &WorkspaceConfig) -> Result<Running> {
        let workspace = Workspace::new(config, self.options.clone(), (self.self_metrics)())?;
        Ok(Running::new(Some(config.clone()), workspace))
    }

    fn publish(&self, running: &BTreeMap<String, Running>) {
        let list: Vec<Arc<Workspace>> = running.values().map(|r| Arc::clone(&r.workspace)).collect();
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::from(list);
        (self.on_change)(&self.workspaces());
    }
}

/// The labels of the Embed admin workspace `name`'s customers among `running`.
fn customers_of(running: &BTreeMap<String, Running>, name: &str) -> Vec<String> {
    let prefix = format!("{name}/");
    running
        .keys()
        .filter(|label| label.starts_with(&prefix))
        .cloned()
        .collect()
}
