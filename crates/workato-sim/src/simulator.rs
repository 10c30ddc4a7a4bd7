//! The simulator: the world behind a lock, its clock, Workato's per-group
//! rate limit and the counters `/sim/stats` reports.
//!
//! Time advances lazily: each request first plays the ticks that have
//! elapsed since the last one, so the history depends only on the seed and
//! the clock, not on who asks when.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::body::Incoming;
use hyper::header;
use serde_json::{Value, json};
use tokio::time::Instant;
use workato_api::{Budget, Group};

use crate::config::SimConfig;
use crate::embedded::Embedded;
use crate::world::World;

/// The simulated API: the world, its clock, rate limits and counters.
pub struct Simulator {
    pub(crate) config: SimConfig,
    world: Mutex<World>,
    /// The customers, when this is an Embed admin workspace.
    pub(crate) embedded: Option<Embedded>,
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
            embedded: config.embedded.as_ref().map(|e| Embedded::build(&config, e, epoch)),
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
    pub(crate) fn with_world<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let elapsed = self.elapsed();
        let mut world = self.world.lock().unwrap_or_else(|p| p.into_inner());
        world.advance_to(elapsed);
        f(&mut world)
    }

    /// Whole simulated seconds since the start: every world (the admin
    /// workspace's, each customer's) is played up to this before it answers.
    pub(crate) fn elapsed(&self) -> u64 {
        (self.started.elapsed().as_secs_f64() * self.config.speed) as u64 + self.advanced.load(Ordering::Relaxed)
    }

    /// Bearer token, or the legacy `X-USER-EMAIL` + `X-USER-TOKEN` pair.
    pub(crate) fn authorized(&self, request: &hyper::Request<Incoming>) -> bool {
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
    pub(crate) fn admit(&self, group: Group) -> Result<(), u64> {
        self.requests[group as usize].fetch_add(1, Ordering::Relaxed);
        self.limits.try_acquire(group).map(drop).map_err(|at| {
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
    pub(crate) fn inject_fault(&self, group: Group) -> Option<bool> {
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
        self.with_world(|w| ledger_of(w))
    }

    /// The Embedded customers' workspace ids, oldest first (none without
    /// `--embedded-customers`).
    pub fn customer_ids(&self) -> Vec<u64> {
        self.embedded
            .as_ref()
            .map(|e| e.customers.iter().map(|c| c.profile.id).collect())
            .unwrap_or_default()
    }

    /// Removes the Embedded customer `workspace_id` from the admin workspace
    /// (`gone`: no longer listed, its routes 404), or brings it back.
    pub fn set_customer_departed(&self, workspace_id: u64, gone: bool) {
        if let Some(embedded) = &self.embedded
            && let Some(index) = embedded.by_id(workspace_id)
        {
            embedded.set_departed(index, gone);
        }
    }

    /// [`Simulator::ledger`] of one Embedded customer's workspace.
    pub fn customer_ledger(&self, workspace_id: u64) -> Option<Vec<Ledger>> {
        let embedded = self.embedded.as_ref()?;
        let index = embedded.by_id(workspace_id)?;
        Some(ledger_of(&embedded.world(index, self.elapsed())))
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
        let (simulated_seconds, jobs_started) = self.with_world(|w| (w.elapsed, w.jobs_started()));
        let mut stats = json!({
            "requests": per_group(&self.requests),
            "throttled": per_group(&self.throttled),
            "throttled_total": self.throttled_total(),
            "simulated_seconds": simulated_seconds,
            "jobs_started": jobs_started,
        });
        // Only an Embed admin workspace adds its customers' side.
        if let Some(embedded) = &self.embedded {
            stats["embedded"] = embedded.stats(simulated_seconds);
        }
        stats
    }

    /// 429s answered so far, all groups together (the Embedded ones too).
    pub fn throttled_total(&self) -> u64 {
        let embedded = self.embedded.as_ref().map_or(0, |e| e.limits.throttled_total());
        self.throttled.iter().map(|c| c.load(Ordering::Relaxed)).sum::<u64>() + embedded
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

fn ledger_of(w: &World) -> Vec<Ledger> {
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
}
