//! An Embed admin workspace's customers (WORKATO_EMBEDDED.md): each
//! customer workspace is a [`World`] of its own, built by `seed` with ids
//! no other customer shares and played by `life` behind its own lock, so
//! that calls for different customers never wait on each other. The
//! admin workspace's own developer API stays the lone demo world
//! (`Simulator`); this module adds the customers, their records, the
//! shared per-group quotas ([`limits`]), the per-customer routes
//! ([`routes`]) and the usage statistics ([`usage`]).
//!
//! Customers differ, deterministically from the seed: one in ten is busy,
//! three in ten moderate, the rest quiet; one in seven plays the scripted
//! incidents (when they are on); plans, trials and billing periods vary.
//!
//! Size (release build, 200 customers of 250 recipes, 6 jobs a minute
//! each on average): 47 MB resident at start, 51 MB after six minutes at
//! speed 1 answering about 1,300 calls a minute (about 1.5 CPU seconds a
//! minute); about 105 MB once two hours of jobs are kept (speed 120, 13
//! simulated hours). Jobs kept, not recipes, make the bulk.
//!
//! Choices where WORKATO_EMBEDDED.md finds no shape (each a guess):
//!
//! - `GET /api/managed_users`: `{"result": [...]}` only (no `count`,
//!   `page`, `per_page`), oldest first, `per_page` 10 by default and at
//!   most 100, an empty `result` past the end.
//! - `environments` is always `[]`: environments are not simulated, so
//!   every customer is one workspace id.
//! - A customer's `task_count` is the tasks of its billing period: a seeded
//!   amount spent before simulated time zero plus every task played since;
//!   `active_recipe_count` its running recipes, `active_connection_count`
//!   its authorised connections, `external_id` `A<n>`, `org <n>/eu` (one
//!   in ten, to need URL-encoding) or null (one in ten).
//! - Quotas (`limits`) are the table's, multiplied by `rate_limit / 60`;
//!   a call for an unknown customer answers 404 without spending one.
//! - The admin workspace's own developer API (`/api/recipes`...) is the
//!   lone demo workspace, unchanged, with its own 60-a-minute groups.
//! - `/sim/stats` gains `embedded`: per-group `requests` and `throttled`,
//!   `customer_requests` and `customer_usage_requests` (workspace id →
//!   calls, only customers asked about) and the customers' `jobs_started`;
//!   the top-level `throttled_total` counts Embedded 429s too.

pub mod limits;
pub mod profile;
pub mod routes;
pub mod usage;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use serde_json::{Map, Value, json};

use crate::config::{EmbeddedConfig, SimConfig};
use crate::world::{UsageLog, World};
use limits::Limits;
use profile::Profile;

/// One customer workspace: its record and its world.
pub struct Customer {
    pub profile: Profile,
    world: Mutex<World>,
}

/// The customers of the Embed admin workspace and what they were asked.
pub struct Embedded {
    pub customers: Vec<Customer>,
    by_id: HashMap<u64, usize>,
    by_external_id: HashMap<String, usize>,
    pub limits: Limits,
    /// Customer-scoped calls (`/api/managed_users/:id...`) per customer.
    calls: Vec<AtomicU64>,
    /// Usage statistics calls that named the customer (or all of them).
    usage_calls: Vec<AtomicU64>,
    /// Customers removed from the admin workspace (by a test): no longer
    /// listed, and their routes answer 404.
    departed: Vec<AtomicBool>,
}

/// Room between two customers' ids of each kind (recipes, connections...).
const ID_STRIDE: u64 = 10_000_000;
/// Room between two customers' job sequence numbers.
const JOB_STRIDE: u64 = 1 << 36;

impl Embedded {
    pub fn build(config: &SimConfig, embedded: &EmbeddedConfig, epoch: f64) -> Embedded {
        let customers: Vec<Customer> = (0..embedded.customers)
            .map(|index| Self::customer(config, embedded, index, epoch))
            .collect();
        let by_id = customers.iter().enumerate().map(|(i, c)| (c.profile.id, i)).collect();
        let by_external_id = customers
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.profile.external_id.clone().map(|e| (e, i)))
            .collect();
        let counters = || (0..customers.len()).map(|_| AtomicU64::new(0)).collect();
        Embedded {
            by_id,
            by_external_id,
            limits: Limits::new(config.rate_limit),
            calls: counters(),
            usage_calls: counters(),
            departed: (0..customers.len()).map(|_| AtomicBool::new(false)).collect(),
            customers,
        }
    }

    fn customer(config: &SimConfig, embedded: &EmbeddedConfig, index: usize, epoch: f64) -> Customer {
        let n = index as u64 + 1;
        let seed = config.seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut profile = Profile::draw(index, &mut rng, epoch);
        let sized = SimConfig {
            seed,
            recipes: embedded.recipes,
            connections: (embedded.recipes / 8).clamp(3, 1_000),
            endpoints: (embedded.recipes / 25).clamp(1, 10),
            jobs_per_minute: embedded.jobs_per_minute * profile.activity,
            incidents: config.incidents && index % 7 == 3,
            job_retention: embedded.job_retention,
            embedded: None,
            ..config.clone()
        };
        let mut world = World::build_offset(&sized, epoch, n * ID_STRIDE);
        world.workspace_id = profile.id;
        world.workspace_name = profile.name.clone();
        world.recipe_user_id = profile.id;
        world.first_job_seq = n * JOB_STRIDE;
        world.next_job_seq = world.first_job_seq;
        // The usage log counts by the second at least as far back as jobs
        // are served, so that the two agree.
        world.usage = Some(UsageLog::new(embedded.job_max_age.as_secs() + 60));
        world.job_max_age = Some(embedded.job_max_age.as_secs_f64());
        world.properties.insert("customer.plan".into(), profile.plan_id.into());
        world.properties.insert("customer.name".into(), profile.name.clone());
        profile.tasks_at_zero = world.recipes.iter().map(|r| r.tasks).sum();
        Customer {
            profile,
            world: Mutex::new(world),
        }
    }

    /// The customer a path's `:id` names: a workspace id, or `E` and an
    /// external id (already percent-decoded).
    pub fn find(&self, key: &str) -> Option<usize> {
        let index = match key.strip_prefix('E') {
            Some(external) => self.by_external_id.get(external).copied(),
            None => key.parse::<u64>().ok().and_then(|id| self.by_id.get(&id).copied()),
        }?;
        (!self.departed[index].load(Ordering::Relaxed)).then_some(index)
    }

    /// The customers still in the admin workspace, oldest first.
    pub fn listed(&self) -> Vec<usize> {
        (0..self.customers.len())
            .filter(|&index| !self.departed[index].load(Ordering::Relaxed))
            .collect()
    }

    /// Removes the customer from the admin workspace (`gone`), or brings
    /// it back as it was.
    pub fn set_departed(&self, index: usize, gone: bool) {
        self.departed[index].store(gone, Ordering::Relaxed);
    }

    /// The customer with this workspace id.
    pub fn by_id(&self, id: u64) -> Option<usize> {
        self.by_id.get(&id).copied()
    }

    /// The customer with this external id.
    pub fn by_external_id(&self, external_id: &str) -> Option<usize> {
        self.by_external_id.get(external_id).copied()
    }

    /// The customer's world brought up to `elapsed` simulated seconds.
    pub fn world(&self, index: usize, elapsed: u64) -> MutexGuard<'_, World> {
        let mut world = self.customers[index].world.lock().unwrap_or_else(|p| p.into_inner());
        world.advance_to(elapsed);
        world
    }

    pub fn count_call(&self, index: usize) {
        self.calls[index].fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_usage_call(&self, index: usize) {
        self.usage_calls[index].fetch_add(1, Ordering::Relaxed);
    }

    /// `/sim/stats`'s `embedded` object: per-group requests and 429s, and
    /// per customer (by workspace id, only those asked about) its calls.
    pub fn stats(&self, elapsed: u64) -> Value {
        let per_customer = |counters: &[AtomicU64]| {
            counters
                .iter()
                .zip(&self.customers)
                .filter_map(|(count, customer)| {
                    let count = count.load(Ordering::Relaxed);
                    (count > 0).then(|| (customer.profile.id.to_string(), json!(count)))
                })
                .collect::<Map<_, _>>()
        };
        let jobs_started: u64 = (0..self.customers.len())
            .map(|i| self.world(i, elapsed).jobs_started())
            .sum();
        let mut stats = self.limits.stats();
        stats["customers"] = json!(self.customers.len());
        stats["throttled_total"] = json!(self.limits.throttled_total());
        stats["customer_requests"] = Value::Object(per_customer(&self.calls));
        stats["customer_usage_requests"] = Value::Object(per_customer(&self.usage_calls));
        stats["jobs_started"] = json!(jobs_started);
        stats
    }
}
