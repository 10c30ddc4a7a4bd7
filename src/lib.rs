//! `workato_exporter`: a Prometheus exporter for the Workato integration
//! platform.
//!
//! Data flows in one direction, one module per stage:
//!
//! - [`config`] turns flags and environment into a validated [`config::Config`].
//! - [`client`] talks to the Workato developer API: auth, paging, lenient
//!   decoding, a per-endpoint-group request budget and retries.
//! - [`poller`] runs one background task per resource on its own interval
//!   and publishes what it fetched into the [`snapshot`], our own typed model
//!   of the workspace, swapped atomically.
//! - [`metrics`] renders the snapshot into fresh metric families on every
//!   scrape, beside the exporter's self-metrics.
//! - [`http`] serves `/metrics`, `/healthz`, `/readyz` and a landing page;
//!   [`shutdown`] stops everything on SIGINT or SIGTERM.
//! - [`check`] is the `check` subcommand: what may this API client read?
//!
//! Errors are one enum, [`error::Error`].

pub mod check;
pub mod client;
pub mod config;
pub mod error;
pub mod http;
pub mod metrics;
pub mod poller;
pub mod shutdown;
pub mod snapshot;

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::client::{Client, ClientOptions};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::poller::{Intervals, Poller};
use crate::snapshot::SharedSnapshot;

/// The exporter, wired but not yet running.
pub struct App {
    pub config: Config,
    pub client: Client,
    pub snapshot: Arc<SharedSnapshot>,
    pub metrics: Arc<Metrics>,
    pub poller: Arc<Poller>,
}

impl App {
    pub fn new(config: Config) -> Result<App> {
        App::with_client_options(config, ClientOptions::default())
    }

    /// As [`App::new`], with the client's timeouts and retry policy given
    /// (tests shorten them).
    pub fn with_client_options(config: Config, options: ClientOptions) -> Result<App> {
        let metrics = Arc::new(Metrics::new(&config.workspace));
        let client = Client::with_options(
            &config.base_url,
            &config.auth,
            config.requests_per_minute,
            options,
            metrics.self_metrics.clone(),
        )?;
        let snapshot = Arc::new(SharedSnapshot::default());
        metrics.register_workspace(&config.workspace, Arc::clone(&snapshot), Some(Arc::new(client.clone())));
        let intervals = Intervals {
            resources: config.poll_interval,
            workspace: config.workspace_interval,
        };
        let poller = Arc::new(Poller::new(
            client.clone(),
            Arc::clone(&snapshot),
            metrics.self_metrics.clone(),
            intervals,
        ));
        Ok(App {
            config,
            client,
            snapshot,
            metrics,
            poller,
        })
    }

    /// Polls in the background and serves HTTP on `listener` until
    /// `shutdown` is cancelled.
    pub async fn run(self, listener: TcpListener, shutdown: CancellationToken) {
        let poller = tokio::spawn(Arc::clone(&self.poller).run(shutdown.clone()));
        let state = Arc::new(http::State {
            metrics: self.metrics,
            snapshot: self.snapshot,
            telemetry_path: self.config.telemetry_path.clone(),
            workspace: self.config.workspace.clone(),
            base_url: self.config.base_url.to_string(),
        });
        http::serve(listener, state, shutdown).await;
        if let Err(error) = poller.await {
            tracing::error!(%error, "the poller stopped abnormally");
        }
    }
}

/// Binds `--web.listen-address` and runs the exporter until SIGINT/SIGTERM.
pub async fn serve(config: Config) -> Result<()> {
    let listener = TcpListener::bind(config.listen_address)
        .await
        .map_err(|e| Error::Listen {
            address: config.listen_address,
            reason: e.to_string(),
        })?;
    let address = listener.local_addr().unwrap_or(config.listen_address);
    tracing::info!(
        %address,
        workato = %config.base_url,
        workspace = %config.workspace,
        interval = ?config.poll_interval,
        "serving {} and polling Workato",
        config.telemetry_path
    );
    App::new(config)?.run(listener, shutdown::on_signal()).await;
    Ok(())
}

/// Runs `check` and prints its table; true when every group is ok.
pub async fn check(config: Config) -> Result<bool> {
    let client = Client::new(&config, Arc::new(client::NoObserver))?;
    let (table, all_ok) = check::report(&check::run(&client).await);
    print!("{table}");
    Ok(all_ok)
}

/// Sets up logging: `RUST_LOG` when set, else `--log.level`; text or JSON.
pub fn init_tracing(level: &str, format: &str) -> Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(filter) if !filter.trim().is_empty() => EnvFilter::try_new(filter),
        _ => EnvFilter::try_new(level),
    }
    .map_err(|e| Error::Config(format!("--log.level: {e}; expected error, warn, info, debug or trace")))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
    Ok(())
}
