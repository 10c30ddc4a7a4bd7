//! `workato_sim`: a simulated Workato workspace, served over HTTP exactly as
//! the developer API describes (WORKATO_API.md). The exporter's demo
//! (`--demo`) and its `simulate` subcommand, the tests and the benchmarks
//! all use it. It stands on `workato_api` (endpoint groups, rate limit,
//! property limits) and `http_server`, never on the exporter.
//!
//! Modules, each importing only the ones listed before it:
//!
//! - `config`: what to simulate, [`SimConfig`].
//! - `world`: the workspace's state, the entities Workato keeps.
//! - `seed`: builds the world from a seed: folders, projects, recipes,
//!   connections, API collections and endpoints, properties.
//! - `life`: plays it forward, one tick per simulated second: jobs arrive,
//!   run and complete; scripted incidents repeat every two simulated hours
//!   ([`script`], [`INCIDENT_CYCLE`]).
//! - `json`: renders it the way Workato does.
//! - `routes`: the developer API's answers on one world, apart from HTTP.
//! - `embedded`: an Embed admin workspace's customers, each a world of its
//!   own, their records, shared quotas and usage statistics.
//! - `simulator`: the [`Simulator`], the world behind a lock, its lazy
//!   clock, rate limits and counters.
//! - `api`: routes requests, checks auth and enforces Workato's per-group
//!   rate limits with 429s.
//!
//! This file serves it: [`serve`] on a listener, [`spawn`] on a loopback
//! port in the background.

mod api;
mod config;
mod embedded;
mod json;
mod life;
mod routes;
mod seed;
mod simulator;
mod world;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::{EmbeddedConfig, SimConfig};
pub use life::{INCIDENT_CYCLE, script};
pub use simulator::{CompletedJob, Ledger, Simulator};

/// A simulator serving on a loopback port until its token is cancelled.
pub struct Running {
    pub address: SocketAddr,
    pub simulator: Arc<Simulator>,
    pub shutdown: CancellationToken,
}

impl Running {
    /// The base URL to point the client at.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }
}

/// Serves the simulator on `listener` until `shutdown` is cancelled.
pub async fn serve(listener: TcpListener, simulator: Arc<Simulator>, shutdown: CancellationToken) {
    http_server::serve(listener, simulator, shutdown, http_server::DEFAULT_MAX_CONNECTIONS).await;
}

/// Starts a simulator on `127.0.0.1:0` in the background.
pub async fn spawn(config: SimConfig) -> std::io::Result<Running> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let address = listener.local_addr()?;
    let simulator = Simulator::new(config);
    let shutdown = CancellationToken::new();
    tokio::spawn(serve(listener, Arc::clone(&simulator), shutdown.clone()));
    Ok(Running {
        address,
        simulator,
        shutdown,
    })
}
