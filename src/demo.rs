//! The glue to the simulated workspace, the `workato_sim` crate: `--demo`
//! starts two on loopback ports, `prod` with the scripted incidents and a
//! smaller, calm `dev`, and points the unchanged client at each over HTTP,
//! like at Workato; `simulate` serves one alone. The crate comes with
//! the default cargo feature `demo`; a binary built without it answers both
//! with an error saying so, and nothing else changes.

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[cfg(feature = "demo")]
use crate::config::Auth;
use crate::config::{Demo, SimulateArgs, WorkspaceConfig};
use crate::error::{Error, Result};

/// A demo workspace serving in the background for as long as this is held.
#[cfg(feature = "demo")]
pub type Workspace = workato_sim::Running;
/// Without the simulator no demo workspace can exist.
#[cfg(not(feature = "demo"))]
pub type Workspace = std::convert::Infallible;

/// The simulated API that `simulate` serves.
#[cfg(feature = "demo")]
pub type Simulator = std::sync::Arc<workato_sim::Simulator>;
#[cfg(not(feature = "demo"))]
pub type Simulator = std::convert::Infallible;

/// Starts the demo workspace `config` names, accepting the token it holds
/// (made up for the demo), and points its `base_url` at it. [`Demo::DEV`]
/// is the calm one; any other name is prod.
#[cfg(feature = "demo")]
pub async fn start(config: &mut WorkspaceConfig, demo: Demo) -> Result<Workspace> {
    let token = match &config.auth {
        Auth::Bearer(token) | Auth::Legacy { token, .. } => secrecy::ExposeSecret::expose_secret(token).to_string(),
    };
    let settings = workato_sim::SimConfig {
        speed: demo.speed,
        token: Some(token),
        ..sim_config(config.name == Demo::DEV, demo.seed)
    };
    let seed = settings.seed;
    let running = workato_sim::spawn(settings).await.map_err(|e| Error::Listen {
        address: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        reason: format!("cannot start the demo workspace: {e}"),
    })?;
    config.base_url =
        reqwest::Url::parse(&running.base_url()).map_err(|e| Error::Config(format!("demo workspace address: {e}")))?;
    // Logged as from the crate root, where this line was written before.
    tracing::info!(target: "workato_exporter", workato = %config.base_url, workspace = %config.name, seed, "demo mode: polling a simulated Workato workspace");
    Ok(running)
}

/// Prod is the simulator's demo workspace with `--demo.seed`, so the
/// README's incident and alert tables hold for it. Dev, seeded with the
/// next number, is a third its size, with a sixth of the jobs and no
/// scripted incidents; its two connections are too few for the one lost
/// days ago that a larger workspace has. Only its recipe stopped by the
/// action quota days ago stands out.
#[cfg(feature = "demo")]
fn sim_config(dev: bool, seed: u64) -> workato_sim::SimConfig {
    let prod = workato_sim::SimConfig {
        seed,
        ..workato_sim::SimConfig::demo()
    };
    if !dev {
        return prod;
    }
    workato_sim::SimConfig {
        seed: seed.wrapping_add(1),
        recipes: 12,
        connections: 2,
        endpoints: 3,
        jobs_per_minute: 20.0,
        incidents: false,
        ..prod
    }
}

#[cfg(not(feature = "demo"))]
pub async fn start(_config: &mut WorkspaceConfig, _demo: Demo) -> Result<Workspace> {
    Err(built_without("--demo"))
}

/// The simulated API `simulate` serves, sized by its flags.
#[cfg(feature = "demo")]
pub fn simulator(args: &SimulateArgs) -> Result<Simulator> {
    Ok(workato_sim::Simulator::new(workato_sim::SimConfig {
        seed: args.seed,
        recipes: args.recipes as usize,
        connections: args.connections as usize,
        endpoints: args.endpoints as usize,
        jobs_per_minute: args.jobs_per_minute,
        speed: args.speed,
        token: args.token.clone(),
        rate_limit: args.rate_limit,
        incidents: !args.no_incidents,
        embedded: args.embedded_customers.map(|customers| workato_sim::EmbeddedConfig {
            recipes: args.customer_recipes as usize,
            jobs_per_minute: args.customer_jobs_per_minute,
            ..workato_sim::EmbeddedConfig::new(customers as usize)
        }),
        ..workato_sim::SimConfig::demo()
    }))
}

#[cfg(not(feature = "demo"))]
pub fn simulator(_args: &SimulateArgs) -> Result<Simulator> {
    Err(built_without("simulate"))
}

/// Serves `simulator` on `listener` until `shutdown` is cancelled.
#[cfg(feature = "demo")]
pub async fn serve(listener: TcpListener, simulator: Simulator, shutdown: CancellationToken) {
    workato_sim::serve(listener, simulator, shutdown).await;
}

#[cfg(not(feature = "demo"))]
pub async fn serve(_listener: TcpListener, simulator: Simulator, _shutdown: CancellationToken) {
    match simulator {}
}

#[cfg(not(feature = "demo"))]
fn built_without(what: &str) -> Error {
    Error::Config(format!(
        "{what}: this workato_exporter was built without the simulated workspace \
         (cargo feature `demo`); rebuild it with default features to use {what}"
    ))
}
