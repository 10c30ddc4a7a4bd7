//! `workato_exporter`: a Prometheus exporter for the Workato integration
//! platform.
//!
//! Data flows in one direction, one module per stage:
//!
//! - [`config`] turns flags and environment into a validated [`config::Config`].
//! - [`client`] talks to the Workato developer API: auth, paging, lenient
//!   decoding, a per-endpoint-group request budget and retries. It is built
//!   from plain settings (URL, auth, budget, timeout), not from the config.
//! - [`poller`] runs one background task per resource on its own interval
//!   and publishes what it fetched into the [`snapshot`], our own typed model
//!   of the workspace, swapped atomically; after each recipes sweep, [`jobs`]
//!   reads the jobs of the recipes that moved, each completed job once, and
//!   publishes what it counted into the snapshot too.
//! - [`metrics`] only reads: it writes the snapshot and the exporter's
//!   self-metrics (built first, recorded into by the client) as the
//!   exposition, the per-recipe part once per change of the snapshot.
//! - [`Workspace`] holds all of the above for one workspace, wired once:
//!   client and budget, snapshot, jobs tracker, pollers, self-metrics and
//!   metrics. [`App`] holds one, with the admin route and the listeners.
//!   `clock` is the wall clock in Unix seconds, as Workato gives times.
//! - [`http`] serves `/metrics`, `/healthz`, `/readyz` and a landing page;
//!   `shutdown` stops everything on SIGINT or SIGTERM.
//! - `admin` is the authenticated admin route: start and stop recipes,
//!   enable and disable API endpoints, read and upsert properties, through
//!   the same client and budget, refreshing the snapshot it touched.
//! - `check` is the `check` subcommand: what may this API client read?
//!   `healthcheck` is the `healthcheck` subcommand, which reads
//!   `--web.config.file` as the listeners do.
//! - `demo` is the glue to the simulated Workato workspace, which is a
//!   crate of its own (`crates/workato-sim`, behind the default cargo
//!   feature `demo`): `--demo` points the unchanged client at it over HTTP;
//!   `simulate` serves it alone.
//! - [`logging`] sets up the logs, written to stderr by a thread of their
//!   own so that no stderr can stall the process.
//! - [`version`] is what `--version` and `workato_exporter_build_info` say.
//!
//! Errors are one enum, [`error::Error`].
//!
//! No module imports one that imports it back: `error` and the facts of
//! `workato_api` are at the bottom, `config` above them, the client above
//! that, and `admin` stands on the serving leaf, not on [`http`], which
//! mounts it. `tests/it/imports.rs` checks it (`cargo test --test it imports`).
//!
//! Beside this crate, in `crates/`: `workato_api` holds the facts about
//! Workato's API that the client and the simulator share (endpoint groups,
//! the rate-limit [`client::Budget`], property limits), and `http_server`
//! the serving leaf under [`http`], `admin` and the simulator (accept
//! loop, connection limit, response body). Neither imports this crate.

mod admin;
mod allocator;
mod check;
pub mod client;
mod clock;
pub mod config;
mod counters;
mod demo;
mod embedded;
pub mod error;
pub mod fleet;
mod healthcheck;
pub mod http;
pub mod jobs;
pub mod logging;
pub mod metrics;
pub mod poller;
pub mod reload;
pub mod shard;
mod shutdown;
pub mod snapshot;
pub mod version;
mod workspace;

use std::io::Write as _;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::client::{Client, ClientOptions};
use crate::config::Config;
use crate::config::WorkspaceConfig;
use crate::error::{Error, Result};
use crate::fleet::Fleet;
use crate::metrics::{ExporterMetrics, Metrics};
use crate::reload::Reloader;
pub use crate::workspace::Workspace;

pub use crate::allocator::tune as tune_allocator;
pub use crate::healthcheck::healthcheck;

/// The exporter, wired but not yet running.
pub struct App {
    pub config: Config,
    /// The workspaces it watches.
    pub fleet: Arc<Fleet>,
    /// The exposition of its workspaces.
    pub metrics: Arc<Metrics>,
    /// The admin route, when an admin token is configured.
    admin: Option<Arc<admin::Admin>>,
    /// `--web.config.file`, for every listener.
    web: Option<Arc<http::Web>>,
    /// Reads `--config.file` again, when there is one.
    reloader: Option<Arc<Reloader>>,
}

impl App {
    pub fn new(config: Config) -> Result<App> {
        let options = ClientOptions::with_timeout(config.timeout);
        App::with_client_options(config, options)
    }

    /// As [`App::new`], with the client's timeouts and retry policy given
    /// (tests shorten them).
    pub fn with_client_options(config: Config, options: ClientOptions) -> Result<App> {
        let web = http::web_config::setup(&config)?;
        let globals = Arc::new(ExporterMetrics::new(web.clone()));
        let metrics = Arc::new(Metrics::new(Arc::clone(&globals)));
        let exposed = Arc::clone(&metrics);
        let follow = move |workspaces: &[Arc<Workspace>]| {
            exposed.set_sources(workspaces.iter().map(|w| w.source()).collect());
        };
        let shard = config.shard;
        if let Some(shard) = shard {
            globals.set_shard(shard.index, shard.count);
        }
        let owned = move |workspaces: Vec<WorkspaceConfig>| -> Vec<WorkspaceConfig> {
            workspaces
                .into_iter()
                .filter(|w| shard.is_none_or(|s| s.owns(&w.name)))
                .collect()
        };
        let fleet = Arc::new(
            Fleet::new(&owned(config.workspaces.clone()), options.clone(), Arc::default, follow)?
                .sharded(shard)
                .reporting_to(Arc::clone(&globals))
                .with_partners(&config.embedded, &options)?,
        );
        let reloader = config.config_file.as_ref().map(|_| {
            globals.set_config_reload(true, clock::unix_now());
            let again = config.clone();
            let load: reload::Load = Box::new(move || {
                let env = |name: &str| std::env::var(name).ok();
                let file = again
                    .reload(&env)
                    .unwrap_or_else(|| Ok(config::FileConfig::default()))?;
                Ok((owned(file.workspaces), file.embedded))
            });
            let recorded = Arc::clone(&globals);
            let outcome: reload::Outcome = Box::new(move |ok| recorded.set_config_reload(ok, clock::unix_now()));
            Arc::new(Reloader::new(load, Arc::clone(&fleet), outcome))
        });
        let admin = config
            .admin
            .as_ref()
            .map(|admin_config| Arc::new(admin::Admin::new(admin_config, Arc::clone(&fleet))));
        Ok(App {
            config,
            fleet,
            metrics,
            admin,
            web,
            reloader,
        })
    }

    /// Reads `--config.file` again and applies it, as SIGHUP does; `None`
    /// without a file.
    pub async fn reload(&self) -> Option<Result<fleet::Changes>> {
        Some(self.reloader.as_ref()?.reload("App::reload").await)
    }

    /// Every workspace, sorted by name.
    pub fn workspaces(&self) -> Arc<[Arc<Workspace>]> {
        self.fleet.workspaces()
    }

    /// What the HTTP handlers read.
    pub fn http_state(&self) -> Arc<http::State> {
        Arc::new(http::State {
            fleet: Arc::clone(&self.fleet),
            metrics: Arc::clone(&self.metrics),
            telemetry_path: self.config.telemetry_path.clone(),
            demo: self.config.demo.is_some(),
            admin: match (&self.admin, self.config.admin.as_ref().and_then(|a| a.listen_address)) {
                (None, _) => http::AdminMount::Disabled,
                (Some(admin), None) => http::AdminMount::Here(Arc::clone(admin)),
                (Some(_), Some(_)) => http::AdminMount::Elsewhere,
            },
            lifecycle: self.config.enable_lifecycle,
            reloader: self.reloader.clone(),
            scrapes: tokio::sync::Semaphore::new(http::SCRAPE_THREADS),
        })
    }

    /// Polls in the background and serves HTTP on `listener` (and the admin
    /// route on `admin_listener`, when it has its own) until `shutdown` is
    /// cancelled.
    pub async fn run(self, listener: TcpListener, admin_listener: Option<TcpListener>, shutdown: CancellationToken) {
        self.fleet.start(shutdown.clone()).await;
        let release = tokio::spawn(allocator::release_freed(shutdown.clone()));
        let hangups = self
            .reloader
            .clone()
            .map(|reloader| tokio::spawn(reloader.on_sighup(shutdown.clone())));
        let watch = self.web.clone().map(|web| tokio::spawn(web.watch(shutdown.clone())));
        let admin = match (admin_listener, &self.admin) {
            (Some(listener), Some(admin)) => Some(tokio::spawn(http::serve_with(
                listener,
                Arc::clone(admin),
                shutdown.clone(),
                self.config.max_connections,
                self.web.clone(),
            ))),
            _ => None,
        };
        let state = self.http_state();
        let web = self.web.clone();
        http::serve_with(listener, state, shutdown, self.config.max_connections, web).await;
        for task in [Some(release), hangups, admin, watch].into_iter().flatten() {
            if let Err(error) = task.await {
                tracing::error!(%error, "a background task stopped abnormally");
            }
        }
        self.fleet.stopped().await;
    }
}

async fn bind(address: std::net::SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(address).await.map_err(|e| Error::Listen {
        address,
        reason: e.to_string(),
    })
}

/// Binds `--web.listen-address` and runs the exporter until SIGINT/SIGTERM.
/// In demo mode the simulated workspace starts first, on a loopback port,
/// and the client is pointed at it over HTTP like at Workato.
pub async fn serve(mut config: Config) -> Result<()> {
    let listener = bind(config.listen_address).await?;
    let mut demos = Vec::new();
    if let Some(demo) = config.demo {
        for workspace in &mut config.workspaces {
            demos.push(demo::start(workspace, demo).await?);
        }
    }
    let address = listener.local_addr().unwrap_or(config.listen_address);
    for workspace in &config.workspaces {
        tracing::info!(
            %address,
            workato = %workspace.base_url,
            workspace = %workspace.name,
            interval = ?workspace.poll_interval,
            "serving {} and polling Workato",
            config.telemetry_path
        );
    }
    let admin_listener = match config.admin.as_ref().and_then(|a| a.listen_address) {
        Some(address) => {
            let listener = bind(address).await?;
            tracing::info!(address = %listener.local_addr().unwrap_or(address), "serving the admin API on its own listener");
            Some(listener)
        }
        None => None,
    };
    App::new(config)?
        .run(listener, admin_listener, shutdown::on_signal())
        .await;
    Ok(())
}

/// Serves the simulated Workato API alone until SIGINT/SIGTERM.
pub async fn simulate(args: &config::SimulateArgs) -> Result<()> {
    let simulator = demo::simulator(args)?;
    let listener = bind(args.listen).await?;
    let address = listener.local_addr().unwrap_or(args.listen);
    tracing::info!(
        %address,
        recipes = args.recipes,
        connections = args.connections,
        endpoints = args.endpoints,
        jobs_per_minute = args.jobs_per_minute,
        speed = args.speed,
        "serving a simulated Workato API; point the exporter at --workato.base-url http://{address}"
    );
    demo::serve(listener, simulator, shutdown::on_signal()).await;
    Ok(())
}

/// Runs `check` and prints its table; true when every group is ok. Each
/// group is called once, never retried, so the whole check fits in
/// `--workato.timeout`. A closed stdout loses the table, not the exit code.
pub async fn check(config: Config) -> Result<bool> {
    let options = ClientOptions {
        max_attempts: 1,
        ..ClientOptions::with_timeout(config.timeout)
    };
    let mut all_ok = true;
    let mut out = String::new();
    for workspace in &config.workspaces {
        let client = Client::with_options(
            &workspace.base_url,
            &workspace.auth,
            workspace.requests_per_minute,
            options.clone(),
            Arc::new(client::NoObserver),
        )?;
        let (table, ok) = check::report(&check::run(&client, config.timeout).await);
        if config.workspaces.len() > 1 {
            out.push_str(&format!("workspace {}\n", workspace.name));
        }
        out.push_str(&table);
        all_ok &= ok;
    }
    let _ = std::io::stdout().write_all(out.as_bytes());
    Ok(all_ok)
}
