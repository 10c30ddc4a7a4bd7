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
use std::sync::{Arc, RwLock};

use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::client::ClientOptions;
use crate::config::WorkspaceConfig;
use crate::error::{Error, Result};
use crate::metrics::SelfMetrics;
use crate::workspace::Workspace;

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
    /// Serialises changes (a reload waits for stopped pollers).
    state: Mutex<State>,
    /// What readers see: every workspace, sorted by name.
    current: RwLock<Arc<[Arc<Workspace>]>>,
}

#[derive(Default)]
struct State {
    running: BTreeMap<String, Running>,
    /// Set once the pollers run: new workspaces start at once.
    shutdown: Option<CancellationToken>,
}

struct Running {
    config: WorkspaceConfig,
    workspace: Arc<Workspace>,
    /// Stops this workspace's pollers alone; a child of the shutdown.
    stop: Option<CancellationToken>,
    task: Option<JoinHandle<()>>,
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
            shutdown: None,
        };
        Ok(fleet)
    }

    /// Every workspace, sorted by name.
    pub fn workspaces(&self) -> Arc<[Arc<Workspace>]> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The workspace labelled `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Workspace>> {
        self.workspaces().iter().find(|w| w.name == name).cloned()
    }

    /// Starts every workspace's pollers; they stop when `shutdown` is
    /// cancelled (or their workspace is removed).
    pub async fn start(&self, shutdown: CancellationToken) {
        let mut state = self.state.lock().await;
        for running in state.running.values_mut() {
            running.spawn(&shutdown);
        }
        state.shutdown = Some(shutdown);
    }

    /// Waits for every workspace's pollers to stop (after shutdown).
    pub async fn stopped(&self) {
        let mut state = self.state.lock().await;
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
                Some(running) if running.config == *config => changes.unchanged += 1,
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
            .keys()
            .filter(|name| !wanted.contains_key(*name) || fresh.contains_key(*name))
            .cloned()
            .collect();
        for name in &gone {
            if let Some(mut running) = state.running.remove(name) {
                running.stop.take().inspect(CancellationToken::cancel);
                running.join(name).await;
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

    fn wire(&self, config: &WorkspaceConfig) -> Result<Running> {
        Ok(Running {
            config: config.clone(),
            workspace: Arc::new(Workspace::new(config, self.options.clone(), (self.self_metrics)())?),
            stop: None,
            task: None,
        })
    }

    fn publish(&self, running: &BTreeMap<String, Running>) {
        let list: Vec<Arc<Workspace>> = running.values().map(|r| Arc::clone(&r.workspace)).collect();
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::from(list);
        (self.on_change)(&self.workspaces());
    }
}

impl Running {
    /// Runs the pollers until the process shuts down or this workspace is
    /// removed.
    fn spawn(&mut self, shutdown: &CancellationToken) {
        let stop = shutdown.child_token();
        self.task = Some(tokio::spawn(Arc::clone(&self.workspace.poller).run(stop.clone())));
        self.stop = Some(stop);
    }

    async fn join(&mut self, name: &str) {
        if let Some(task) = self.task.take()
            && let Err(error) = task.await
        {
            tracing::error!(workspace = name, %error, "a workspace's pollers stopped abnormally");
        }
    }
}
