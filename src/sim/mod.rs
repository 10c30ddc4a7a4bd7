//! A simulated Workato workspace, served over HTTP exactly as the developer
//! API describes (WORKATO_API.md): the demo (`--demo`), the `simulate`
//! subcommand, and the tests and benchmarks all use it.
//!
//! - [`world`] builds the workspace from a seed: folders, projects, recipes,
//!   connections, API collections and endpoints, properties.
//! - [`life`] plays it forward, one tick per simulated second: jobs arrive,
//!   run and complete; scripted incidents repeat every two simulated hours.
//! - [`json`] renders it the way Workato does; [`api`] routes requests,
//!   checks auth and enforces Workato's per-group rate limits with 429s.
//!
//! Time advances lazily: each request first plays the ticks that have
//! elapsed since the last one, so the history depends only on the seed and
//! the clock, not on who asks when.

mod api;
mod json;
mod life;
mod world;

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::body::Incoming;
use hyper::header;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use life::{INCIDENT_CYCLE, script};

use crate::client::{Budget, Group};
use world::World;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub recipes: usize,
    pub connections: usize,
    pub endpoints: usize,
    /// Jobs a minute across the workspace, on average.
    pub jobs_per_minute: f64,
    /// Simulated seconds per real second; 0 stops the clock, which then
    /// moves only by [`Simulator::advance`] (tests).
    pub speed: f64,
    /// The accepted API token; `None` accepts any non-empty one.
    pub token: Option<String>,
    /// Requests a minute per endpoint group before 429 (Workato: 60).
    pub rate_limit: NonZeroU32,
    /// Play the scripted incidents.
    pub incidents: bool,
    /// Jobs kept per recipe for the jobs API.
    pub job_retention: usize,
    /// The jobs API's page size (undocumented by Workato).
    pub jobs_page_size: usize,
    /// Share of jobs requests answered with an injected 500 or 429 (tests).
    pub jobs_fault_rate: f64,
    /// How long each jobs request takes to answer (tests: a slow walk is
    /// one a restart can cut in the middle).
    pub jobs_latency: std::time::Duration,
}

impl SimConfig {
    /// The demo workspace: about 40 recipes, a dozen connections, ten API
    /// endpoints, a couple of jobs a second, incidents on.
    pub fn demo() -> SimConfig {
        SimConfig {
            seed: 1,
            recipes: 40,
            connections: 12,
            endpoints: 10,
            jobs_per_minute: 120.0,
            speed: 1.0,
            token: None,
            rate_limit: NonZeroU32::new(60).expect("non-zero"),
            incidents: true,
            job_retention: 5_000,
            jobs_page_size: 50,
            jobs_fault_rate: 0.0,
            jobs_latency: std::time::Duration::ZERO,
        }
    }
}

/// The simulated API: the world, its clock, rate limits and counters.
pub struct Simulator {
    config: SimConfig,
    world: Mutex<World>,
    started: Instant,
    limits: Budget,
    requests: [AtomicU64; Group::ALL.len()],
    throttled: [AtomicU64; Group::ALL.len()],
    /// Simulated seconds added by hand (a stopped clock's only motion).
    advanced: AtomicU64,
    injected: AtomicU64,
    faults: Mutex<fastrand::Rng>,
}

impl Simulator {
    pub fn new(config: SimConfig) -> Arc<Simulator> {
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
            .floor();
        Arc::new(Simulator {
            world: Mutex::new(World::build(&config, epoch)),
            started: Instant::now(),
            limits: Budget::new(config.rate_limit),
            requests: Default::default(),
            throttled: Default::default(),
            advanced: AtomicU64::new(0),
            injected: AtomicU64::new(0),
            faults: Mutex::new(fastrand::Rng::with_seed(config.seed ^ 0x5eed)),
            config,
        })
    }

    /// Runs `f` on the world brought up to the current simulated time.
    fn with_world<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let elapsed =
            (self.started.elapsed().as_secs_f64() * self.config.speed) as u64 + self.advanced.load(Ordering::Relaxed);
        let mut world = self.world.lock().unwrap_or_else(|p| p.into_inner());
        world.advance_to(elapsed);
        f(&mut world)
    }

    /// Bearer token, or the legacy `X-USER-EMAIL` + `X-USER-TOKEN` pair.
    fn authorized(&self, request: &hyper::Request<Incoming>) -> bool {
        let headers = request.headers();
        let header_text = |name| {
            headers
                .get(name)
                .and_then(|v: &hyper::header::HeaderValue| v.to_str().ok())
        };
        let presented = match header_text(header::AUTHORIZATION.as_str()).and_then(|v| v.strip_prefix("Bearer ")) {
            Some(token) => Some(token),
            None if header_text("x-user-email").is_some() => header_text("x-user-token"),
            None => None,
        };
        match (presented.map(str::trim), &self.config.token) {
            (Some(token), Some(expected)) => token == expected,
            (Some(token), None) => !token.is_empty(),
            (None, _) => false,
        }
    }

    /// Counts the request against its group's limit; `Err(seconds)` is the
    /// `Retry-After` of a 429.
    fn admit(&self, group: Group) -> Result<(), u64> {
        self.requests[group as usize].fetch_add(1, Ordering::Relaxed);
        self.limits.try_acquire(group).map_err(|at| {
            self.throttled[group as usize].fetch_add(1, Ordering::Relaxed);
            at.saturating_duration_since(Instant::now())
                .as_secs_f64()
                .ceil()
                .max(1.0) as u64
        })
    }

    /// Moves the simulated clock forward by hand.
    pub fn advance(&self, seconds: u64) {
        self.advanced.fetch_add(seconds, Ordering::Relaxed);
    }

    /// Decides whether to fail this jobs request on purpose: `Some(true)`
    /// for a 429, `Some(false)` for a 500.
    fn inject_fault(&self, group: Group) -> Option<bool> {
        if group != Group::Jobs || self.config.jobs_fault_rate <= 0.0 {
            return None;
        }
        let mut rng = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        (rng.f64() < self.config.jobs_fault_rate).then(|| {
            self.injected.fetch_add(1, Ordering::Relaxed);
            rng.bool()
        })
    }

    /// Faults injected so far.
    pub fn injected_faults(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }

    /// Each recipe's lifetime counters and the completed jobs it still
    /// keeps, for tests that check the exporter counted every job.
    pub fn ledger(&self) -> Vec<Ledger> {
        self.with_world(|w| {
            let now = w.now();
            w.recipes
                .iter()
                .map(|r| Ledger {
                    recipe_id: r.id,
                    succeeded: r.succeeded,
                    failed: r.failed,
                    completed: r
                        .jobs
                        .iter()
                        .filter(|j| j.completed_by(now))
                        .map(|j| CompletedJob {
                            id: j.id.clone(),
                            duration: j.completed_at - j.started_at,
                            failed: j.error.is_some(),
                        })
                        .collect(),
                })
                .collect()
        })
    }

    /// Requests and 429s answered so far, per group, and the simulated clock.
    pub fn stats(&self) -> Value {
        let per_group = |counters: &[AtomicU64; Group::ALL.len()]| {
            Group::ALL
                .iter()
                .map(|g| {
                    (
                        g.name().to_string(),
                        json!(counters[*g as usize].load(Ordering::Relaxed)),
                    )
                })
                .collect::<serde_json::Map<_, _>>()
        };
        let (simulated_seconds, jobs_started) = self.with_world(|w| (w.elapsed, w.next_job_seq - 1));
        json!({
            "requests": per_group(&self.requests),
            "throttled": per_group(&self.throttled),
            "throttled_total": self.throttled_total(),
            "simulated_seconds": simulated_seconds,
            "jobs_started": jobs_started,
        })
    }

    /// 429s answered so far, all groups together.
    pub fn throttled_total(&self) -> u64 {
        self.throttled.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }
}

/// One recipe in [`Simulator::ledger`].
#[derive(Debug, Clone)]
pub struct Ledger {
    pub recipe_id: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub completed: Vec<CompletedJob>,
}

/// A completed job and its real (unrounded) duration.
#[derive(Debug, Clone)]
pub struct CompletedJob {
    pub id: String,
    pub duration: f64,
    pub failed: bool,
}

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
    crate::http::serve(listener, simulator, shutdown, crate::config::DEFAULT_MAX_CONNECTIONS).await;
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
