//! Reading `--config.file` again while running: on SIGHUP, or on
//! `POST /-/reload` when `--web.enable-lifecycle` is set (Prometheus'
//! conventions). The fleet applies what it read; a file that does not
//! load leaves the running configuration as it is, and says why in the log
//! and in `workato_exporter_config_last_reload_successful`.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::config::{EmbeddedConfig, WorkspaceConfig};
use crate::error::Result;
use crate::fleet::{Changes, Fleet};

/// Reads the workspaces this process should watch from the file (already
/// narrowed to its shard), and the Embed admin workspaces.
pub type Load = Box<dyn Fn() -> Result<(Vec<WorkspaceConfig>, Vec<EmbeddedConfig>)> + Send + Sync>;

/// Told of each reload's outcome (the self-metrics record it).
pub type Outcome = Box<dyn Fn(bool) + Send + Sync>;

pub struct Reloader {
    load: Load,
    fleet: Arc<Fleet>,
    outcome: Outcome,
    /// One reload at a time: a second waits for the first.
    busy: tokio::sync::Mutex<()>,
}

impl Reloader {
    pub fn new(load: Load, fleet: Arc<Fleet>, outcome: Outcome) -> Reloader {
        Reloader {
            load,
            fleet,
            outcome,
            busy: tokio::sync::Mutex::new(()),
        }
    }

    /// Reads the file and applies it; `cause` is for the log.
    pub async fn reload(&self, cause: &str) -> Result<Changes> {
        let _one = self.busy.lock().await;
        let result = match (self.load)() {
            Ok((workspaces, embedded)) => match self.fleet.apply(workspaces).await {
                Ok(mut changes) => self.fleet.apply_partners(embedded).await.map(|partners| {
                    changes.added.extend(partners.added);
                    changes.removed.extend(partners.removed);
                    changes.restarted.extend(partners.restarted);
                    changes.unchanged += partners.unchanged;
                    changes
                }),
                Err(error) => Err(error),
            },
            Err(error) => Err(error),
        };
        match &result {
            Ok(changes) => tracing::info!(
                cause,
                added = ?changes.added,
                removed = ?changes.removed,
                restarted = ?changes.restarted,
                unchanged = changes.unchanged,
                "configuration reloaded"
            ),
            Err(error) => tracing::error!(cause, %error, "configuration not reloaded; the running one stays"),
        }
        (self.outcome)(result.is_ok());
        result
    }

    /// Reloads on every SIGHUP until `shutdown`.
    pub async fn on_sighup(self: Arc<Self>, shutdown: CancellationToken) {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut hangups = match signal(SignalKind::hangup()) {
                Ok(hangups) => hangups,
                Err(error) => {
                    tracing::error!(%error, "cannot listen for SIGHUP; reload with POST /-/reload");
                    return;
                }
            };
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    received = hangups.recv() => {
                        if received.is_none() {
                            return;
                        }
                        let _ = self.reload("SIGHUP").await;
                    }
                }
            }
        }
        #[cfg(not(unix))]
        shutdown.cancelled().await;
    }
}
