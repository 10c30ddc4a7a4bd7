//! Our own typed model of a Workato workspace, and the shared snapshot the
//! poller writes and `/metrics` reads.
//!
//! The snapshot is an immutable value behind an `Arc`; a poll builds the new
//! part and swaps the whole value under a short write lock, so a scrape never
//! waits on Workato and never sees half a poll. Each part is its own `Arc`,
//! so a swap copies pointers, not recipes.
//!
//! The job histograms the snapshot carries (classic, native, exemplars)
//! are in `histogram`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

mod histogram;

pub use histogram::{
    DELAY_BUCKETS, DURATION_BUCKETS, Delays, DurationDetail, Durations, Histogram, JobExemplar, MAX_EXEMPLAR_JOB_ID,
    NATIVE_MAX_BUCKETS, NATIVE_SCHEMA, NATIVE_ZERO_THRESHOLD, NativeHistogram,
};

/// A recipe, as the recipes list describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipe {
    pub id: u64,
    pub name: String,
    pub folder_id: Option<u64>,
    pub project_id: Option<String>,
    /// `None` when Workato left `running` out: the recipe's state is
    /// unknown for this poll, and no state series is exported for it.
    pub running: Option<bool>,
    /// Workato's `stop_cause`; `None` for a manual stop (or a running recipe).
    pub stop_cause: Option<String>,
    pub trigger_application: Option<String>,
    pub version: Option<String>,
    /// Lifetime counters; `None` when Workato left them out.
    pub jobs_succeeded: Option<u64>,
    pub jobs_failed: Option<u64>,
    pub tasks: Option<u64>,
    /// Unix seconds. Workato does not move `last_run_at` when a job
    /// starts: a recorded reply had it a day older than
    /// `last_job_started_at`.
    pub last_run_at: Option<f64>,
    /// When the recipe's newest job started.
    pub last_job_started_at: Option<f64>,
    pub stopped_at: Option<f64>,
    /// Connections bound in the recipe's `config`, sorted, unique.
    pub connection_ids: Vec<u64>,
}

/// A connection to an application.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    pub id: u64,
    pub name: String,
    pub application: String,
    pub folder_id: Option<u64>,
    /// `success`, `failed`, `exception`, or `None` when never authorised.
    pub authorization_status: Option<String>,
    pub lost_at: Option<f64>,
}

/// An API platform collection.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiCollection {
    pub id: u64,
    pub name: String,
    pub version: Option<String>,
}

/// An API platform endpoint and the recipe behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiEndpoint {
    pub id: u64,
    pub name: String,
    pub collection_id: Option<u64>,
    pub method: String,
    pub path: String,
    pub recipe_id: Option<u64>,
    pub active: bool,
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Pending,
    Succeeded,
    Failed,
}

/// One job of a recipe, as the jobs list describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Workato's job id (a string such as `j-KGAKfhsz-GYoLe`).
    pub id: String,
    pub status: JobStatus,
    /// Unix seconds.
    pub started_at: Option<f64>,
    pub completed_at: Option<f64>,
    /// `error_parts.adapter` and `error_parts.error_type` of a failed job.
    pub error: Option<(String, String)>,
}

/// What job ingestion has observed, as the jobs tracker last published it:
/// everything the job families show, computed when published, so that
/// rendering only reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobStats {
    /// Failed writes of `--jobs.state-file`; `None` without a state file.
    pub state_file_errors: Option<u64>,
    pub delays: Delays,
    /// Recipes that ran since they were calibrated, by id; the others have
    /// no job series. Each is shared with the publication before when it
    /// did not change.
    pub recipes: Vec<Arc<RecipeJobStats>>,
    /// Unix time at which a failure ratio changes with no new job (a minute
    /// leaves its window); the stats are published again then.
    pub ratios_expire_at: Option<f64>,
}

/// A failed job's (adapter, error_type): shared by the tracker and every
/// stats published from it, so that publishing copies no text.
pub type ErrorKey = (Arc<str>, Arc<str>);

/// One recipe's share of [`JobStats`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecipeJobStats {
    pub id: u64,
    pub name: String,
    /// Index 0 succeeded, 1 failed.
    pub durations: [Durations; 2],
    /// Exemplars and native buckets of `durations`, in the same order:
    /// shared with the jobs tracker (each is kilobytes, and most recipes'
    /// do not change between two publications).
    pub detail: [Arc<DurationDetail>; 2],
    /// Jobs seen pending and not yet seen completed.
    pub pending: usize,
    /// Failed / completed over the window; `None` when none completed in it.
    pub failure_ratio: Option<f64>,
    /// Failed jobs by (adapter, error_type), sorted.
    pub errors: Vec<(ErrorKey, u64)>,
}

/// Workspace details from `users/me`, or for an Embedded customer from
/// its record in the Embed admin workspace's list of managed users.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkspaceInfo {
    pub id: u64,
    pub name: String,
    pub plan: String,
    /// Set for an Embedded customer workspace.
    pub customer: Option<CustomerInfo>,
}

/// What an Embed admin workspace keeps about one customer beyond its
/// workspace (WORKATO_EMBEDDED.md, "Customers"); each field as Workato
/// sent it, `None` when it did not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerInfo {
    pub external_id: Option<String>,
    pub in_trial: Option<bool>,
    /// Tasks of the current billing period.
    pub task_count: Option<u64>,
    pub task_limit: Option<u64>,
    pub active_recipe_count: Option<u64>,
    pub active_connection_count: Option<u64>,
    /// 0 means no limit.
    pub active_connection_limit: Option<u64>,
    /// Unix time at which the current billing period ends.
    pub billing_period_end: Option<f64>,
}

/// The API platform's two lists, polled together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiPlatform {
    pub collections: Vec<ApiCollection>,
    pub endpoints: Vec<ApiEndpoint>,
}

/// What `check`, the status page and the logs say of workspace details
/// refused with 403.
pub const WORKSPACE_NOT_AVAILABLE: &str =
    "not available to this API client (environments: only DEV clients may read workspace details)";

/// The background collectors, each polling one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Collector {
    Workspace,
    Recipes,
    Jobs,
    Connections,
    ApiPlatform,
}

impl Collector {
    pub const ALL: [Collector; 5] = [
        Collector::Workspace,
        Collector::Recipes,
        Collector::Jobs,
        Collector::Connections,
        Collector::ApiPlatform,
    ];

    /// Whether an API client may, by nature, be unable to call this
    /// collector's endpoint: only clients with DEV access in workspaces that
    /// use environments may read `users/me`. A 403 then means "not available
    /// to this API client", not "down".
    pub fn optional(self) -> bool {
        self == Collector::Workspace
    }

    /// The `collector` label value.
    pub fn name(self) -> &'static str {
        match self {
            Collector::Workspace => "workspace",
            Collector::Recipes => "recipes",
            Collector::Jobs => "jobs",
            Collector::Connections => "connections",
            Collector::ApiPlatform => "api_platform",
        }
    }
}

/// The outcome of a collector's polls so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CollectorStatus {
    /// Whether the last poll succeeded.
    pub up: bool,
    /// Unix seconds at the end of the last successful poll.
    pub last_success: Option<f64>,
    /// Unix seconds at the end of the last poll, whatever its outcome.
    pub last_attempt: Option<f64>,
    /// The last poll's error, when it failed.
    pub last_error: Option<String>,
    /// The last poll of an optional collector was refused (403): this API
    /// client may not call it. It neither holds back readiness nor counts
    /// against `workato_up`, and is retried at its interval.
    pub unavailable: bool,
}

impl CollectorStatus {
    /// Neither failing nor waiting: its last poll succeeded, or it is not
    /// available to this API client.
    fn fine(&self) -> bool {
        self.up || self.unavailable
    }
}

/// Everything the exporter knows about the workspace at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub workspace: Option<Arc<WorkspaceInfo>>,
    pub recipes: Arc<Vec<Recipe>>,
    /// The workspace holds more recipes than the exporter keeps.
    pub recipes_truncated: bool,
    /// Lifetime counters Workato sent lower than before, held so far.
    pub counter_decreases: u64,
    pub connections: Arc<Vec<Connection>>,
    pub api_platform: Arc<ApiPlatform>,
    pub jobs: Arc<JobStats>,
    pub collectors: BTreeMap<Collector, CollectorStatus>,
}

impl Snapshot {
    /// True once every collector's first poll has ended, successfully or
    /// not: the exporter has something to say about the workspace, if only
    /// that Workato does not answer (`workato_up` says which).
    pub fn ready(&self) -> bool {
        self.waiting().is_empty()
    }

    /// The collectors whose first poll has not ended yet. Jobs are polled
    /// after a first successful recipes sweep: while there is none, there
    /// is nothing to wait for.
    pub fn waiting(&self) -> Vec<Collector> {
        let polled = |c: &Collector| {
            self.collectors
                .get(c)
                .is_some_and(|s| s.last_attempt.is_some() || s.last_success.is_some() || s.unavailable)
        };
        let swept = self
            .collectors
            .get(&Collector::Recipes)
            .is_some_and(|s| s.last_success.is_some());
        Collector::ALL
            .into_iter()
            .filter(|c| !polled(c) && (*c != Collector::Jobs || swept))
            .collect()
    }

    /// True when the last poll of every collector succeeded (collectors not
    /// available to this API client aside).
    pub fn up(&self) -> bool {
        Collector::ALL
            .iter()
            .all(|c| self.collectors.get(c).is_some_and(CollectorStatus::fine))
    }
}

/// The snapshot shared between the poller (writer) and HTTP (readers).
#[derive(Debug, Default)]
pub struct SharedSnapshot {
    inner: RwLock<Arc<Snapshot>>,
    /// Bumped by every update, so the exposition knows when to re-render.
    generation: AtomicU64,
}

impl SharedSnapshot {
    /// The current snapshot; cheap, never blocks on a poll.
    pub fn load(&self) -> Arc<Snapshot> {
        self.inner.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Applies a change and publishes the result as the new snapshot.
    pub fn update(&self, change: impl FnOnce(&mut Snapshot)) {
        let mut guard = self.inner.write().unwrap_or_else(|p| p.into_inner());
        let mut next = Snapshot::clone(&guard);
        change(&mut next);
        *guard = Arc::new(next);
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    /// Updates so far; equal values mean the same snapshot.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests;
