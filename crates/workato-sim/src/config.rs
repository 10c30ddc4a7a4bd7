//! What to simulate: the size of the workspace, its pace, its rate limit,
//! the faults tests ask for, and the Embedded customers behind it.

use std::num::NonZeroU32;

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
    /// Serve an Embed admin workspace with customer workspaces behind it
    /// (`/api/managed_users/...`); `None` is the plain developer API.
    pub embedded: Option<EmbeddedConfig>,
}

/// The customer workspaces of an Embed admin workspace.
#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    /// Customer workspaces (managed users).
    pub customers: usize,
    /// Recipes in each customer workspace.
    pub recipes: usize,
    /// Jobs a minute per customer, on average over customers: most are
    /// quiet, a few are busy (drawn from the seed).
    pub jobs_per_minute: f64,
    /// Jobs kept per customer recipe for the jobs API; lower than a lone
    /// workspace's so that thousands of recipes fit in memory.
    pub job_retention: usize,
    /// Jobs older than this are forgotten too, however few a recipe has.
    pub job_max_age: std::time::Duration,
}

impl EmbeddedConfig {
    /// `customers` customer workspaces of 25 recipes, 6 jobs a minute each
    /// on average, 100 jobs kept per recipe and none older than two hours.
    pub fn new(customers: usize) -> EmbeddedConfig {
        EmbeddedConfig {
            customers,
            recipes: 25,
            jobs_per_minute: 6.0,
            job_retention: 100,
            job_max_age: std::time::Duration::from_secs(2 * 3_600),
        }
    }
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
            embedded: None,
        }
    }
}
