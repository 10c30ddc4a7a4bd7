//! Our own typed model of a Workato workspace, and the shared snapshot the
//! poller writes and `/metrics` reads.
//!
//! The snapshot is an immutable value behind an `Arc`; a poll builds the new
//! part and swaps the whole value under a short write lock, so a scrape never
//! waits on Workato and never sees half a poll. Each part is its own `Arc`,
//! so a swap copies pointers, not recipes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

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

/// Upper bounds of `workato_job_duration_seconds`: sub-second API calls to
/// hour-long batch jobs.
pub const DURATION_BUCKETS: [f64; 10] = [0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];

/// Upper bounds of `workato_job_ingestion_delay_seconds`: from a job's
/// completion in Workato to the exporter counting it, about one poll
/// interval at most.
pub const DELAY_BUCKETS: [f64; 12] = [1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 45.0, 60.0, 90.0, 120.0, 300.0, 900.0];

/// A histogram's counts over fixed bounds: `B` is the number of bounds plus
/// one for +Inf.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram<const B: usize> {
    /// Non-cumulative counts per bucket, the last one +Inf.
    pub buckets: [u64; B],
    pub sum: f64,
    pub count: u64,
}

impl<const B: usize> Default for Histogram<B> {
    fn default() -> Self {
        Histogram {
            buckets: [0; B],
            sum: 0.0,
            count: 0,
        }
    }
}

impl<const B: usize> Histogram<B> {
    /// Counts `value` in the first bucket whose bound is at least `value`.
    pub fn observe(&mut self, bounds: &[f64], value: f64) {
        let index = bounds.iter().position(|b| value <= *b).unwrap_or(B - 1);
        self.buckets[index] += 1;
        self.sum += value;
        self.count += 1;
    }
}

/// Observed durations of one recipe's jobs with one status.
pub type Durations = Histogram<{ DURATION_BUCKETS.len() + 1 }>;

/// The finest schema of the native job duration histograms: each power of
/// two split into 2^4 = 16 buckets, so a bucket's bounds differ by 4.4%
/// (a value is at most 2.2% from its bucket's middle).
pub const NATIVE_SCHEMA: i8 = 4;

/// Durations up to this many seconds count in the native histogram's zero
/// bucket (a job Workato reports as taking no time at all).
pub const NATIVE_ZERO_THRESHOLD: f64 = 0.001;

/// The most buckets one native histogram keeps: past it the histogram
/// halves its resolution (schema minus one), as client_golang does, so a
/// series costs at most this many (index, count) pairs whatever the
/// durations Workato reports.
pub const NATIVE_MAX_BUCKETS: usize = 160;

/// A native (exponential) histogram of positive values: bucket `i` holds
/// the values in (2^((i-1)/2^schema), 2^(i/2^schema)].
#[derive(Debug, Clone, PartialEq)]
pub struct NativeHistogram {
    pub schema: i8,
    /// Values at most [`NATIVE_ZERO_THRESHOLD`].
    pub zero_count: u64,
    /// (bucket index, count), sorted by index, no zero counts.
    pub buckets: Vec<(i32, u64)>,
}

impl Default for NativeHistogram {
    fn default() -> Self {
        NativeHistogram {
            schema: NATIVE_SCHEMA,
            zero_count: 0,
            buckets: Vec::new(),
        }
    }
}

impl NativeHistogram {
    /// Counts `value` (NaN and values up to the zero threshold in the zero
    /// bucket).
    pub fn observe(&mut self, value: f64) {
        if value.is_nan() || value <= NATIVE_ZERO_THRESHOLD {
            self.zero_count += 1;
            return;
        }
        self.add(value, 1);
    }

    fn add(&mut self, value: f64, count: u64) {
        let index = bucket_index(value, self.schema);
        match self.buckets.binary_search_by_key(&index, |(i, _)| *i) {
            Ok(at) => self.buckets[at].1 += count,
            Err(at) => {
                self.buckets.insert(at, (index, count));
                while self.buckets.len() > NATIVE_MAX_BUCKETS && self.schema > -4 {
                    self.halve();
                }
            }
        }
    }

    /// One schema coarser: buckets 2j-1 and 2j become bucket j.
    fn halve(&mut self) {
        self.schema -= 1;
        let mut merged: Vec<(i32, u64)> = Vec::with_capacity(self.buckets.len() / 2 + 1);
        for (index, count) in self.buckets.drain(..) {
            let index = (index + 1).div_euclid(2);
            match merged.last_mut() {
                Some((last, total)) if *last == index => *total += count,
                _ => merged.push((index, count)),
            }
        }
        self.buckets = merged;
    }

    /// Observations counted: the zero bucket and every other.
    pub fn count(&self) -> u64 {
        self.zero_count + self.buckets.iter().map(|(_, c)| c).sum::<u64>()
    }

    /// A native histogram holding the counts of a classic one, each at its
    /// bucket's upper bound (the +Inf bucket at the last bound): for job
    /// counters restored from a state file written before native
    /// histograms, so both views count the same jobs.
    pub fn from_classic(bounds: &[f64], classic: &Durations) -> NativeHistogram {
        let mut native = NativeHistogram::default();
        for (i, count) in classic.buckets.iter().enumerate().filter(|(_, c)| **c > 0) {
            let bound = bounds.get(i).or(bounds.last()).copied().unwrap_or(1.0);
            native.add(bound.max(NATIVE_ZERO_THRESHOLD * 2.0), *count);
        }
        native
    }
}

/// The native bucket of `value` (> 0) at `schema`: the smallest `i` with
/// `value <= 2^(i / 2^schema)`. Values beyond f64's exponent range land in
/// the last bucket Prometheus accepts.
fn bucket_index(value: f64, schema: i8) -> i32 {
    let scaled = value.log2() * 2f64.powi(i32::from(schema));
    // Within f64's range |log2| <= 1075, so this fits an i32 at any schema.
    scaled.ceil().clamp(-(1 << 20) as f64, (1 << 20) as f64) as i32
}

/// The job behind a bucket of `workato_job_duration_seconds`: the most
/// recent one that fell in it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobExemplar {
    pub job_id: Box<str>,
    /// Its duration in seconds.
    pub value: f64,
    /// When it completed, Unix seconds.
    pub completed_at: f64,
}

/// The longest job id kept for an exemplar: OpenMetrics allows 128
/// characters for an exemplar's label names and values together, and
/// `job_id`, `recipe_id` and a recipe id take at most 35.
pub const MAX_EXEMPLAR_JOB_ID: usize = 90;

/// What one recipe's job durations with one status carry beside the
/// classic buckets: an exemplar per bucket and the native histogram.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DurationDetail {
    /// By classic bucket (the last is +Inf).
    pub exemplars: [Option<JobExemplar>; DURATION_BUCKETS.len() + 1],
    pub native: NativeHistogram,
}

impl DurationDetail {
    /// Counts a job of `seconds` that completed at `completed_at`.
    pub fn observe(&mut self, job_id: &str, seconds: f64, completed_at: Option<f64>) {
        self.native.observe(seconds);
        let bucket = DURATION_BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(DURATION_BUCKETS.len());
        let printable = job_id.len() <= MAX_EXEMPLAR_JOB_ID && !job_id.is_empty();
        if let (Some(completed_at), true) = (completed_at, printable) {
            self.exemplars[bucket] = Some(JobExemplar {
                job_id: job_id.into(),
                value: seconds,
                completed_at,
            });
        }
    }
}

/// Observed delays from completion to ingestion, workspace-wide.
pub type Delays = Histogram<{ DELAY_BUCKETS.len() + 1 }>;

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
    pub errors: Vec<((String, String), u64)>,
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
mod tests {
    use super::*;

    #[test]
    fn native_buckets_follow_the_schema_and_count_every_value() {
        let mut h = NativeHistogram::default();
        // 1 is a bucket's upper bound at every schema; 2^(1/16) = 1.044 the next.
        for v in [1.0, 1.04, 1.01, 0.0, 0.0005, 3600.0] {
            h.observe(v);
        }
        assert_eq!(h.zero_count, 2);
        assert_eq!(h.buckets, vec![(0, 1), (1, 2), (190, 1)], "log2(3600) * 16 = 189.02");
        assert_eq!(h.count(), 6);
    }

    #[test]
    fn a_native_histogram_halves_its_resolution_past_its_bucket_cap() {
        let mut h = NativeHistogram::default();
        let mut v = 1e-2;
        for _ in 0..1_000 {
            h.observe(v);
            v *= 1.02;
        }
        assert!(h.buckets.len() <= NATIVE_MAX_BUCKETS, "{}", h.buckets.len());
        assert!(h.schema < NATIVE_SCHEMA);
        assert_eq!(h.count(), 1_000);
        assert!(h.buckets.windows(2).all(|w| w[0].0 < w[1].0));
        // Hostile values cost one bucket each, and never panic.
        for v in [f64::MAX, f64::MIN_POSITIVE, f64::INFINITY, f64::NAN, -5.0] {
            h.observe(v);
        }
        assert_eq!(h.count(), 1_005);
    }

    #[test]
    fn readers_keep_the_snapshot_they_loaded() {
        let shared = SharedSnapshot::default();
        let before = shared.load();
        shared.update(|s| {
            s.workspace = Some(Arc::new(WorkspaceInfo {
                id: 1,
                name: "w".into(),
                plan: "p".into(),
                customer: None,
            }))
        });
        assert!(before.workspace.is_none());
        assert_eq!(shared.load().workspace.as_ref().map(|w| w.id), Some(1));
    }

    #[test]
    fn ready_after_a_first_poll_of_every_collector_and_up_the_last_poll() {
        let mut snapshot = Snapshot::default();
        for c in Collector::ALL {
            assert!(!snapshot.ready());
            snapshot.collectors.insert(
                c,
                CollectorStatus {
                    up: true,
                    last_success: Some(1.0),
                    ..Default::default()
                },
            );
        }
        assert!(snapshot.ready() && snapshot.up());
        snapshot.collectors.insert(
            Collector::Recipes,
            CollectorStatus {
                up: false,
                last_success: Some(1.0),
                ..Default::default()
            },
        );
        assert!(snapshot.ready() && !snapshot.up());
    }

    #[test]
    fn a_failed_first_poll_is_a_first_poll_and_jobs_wait_for_a_sweep() {
        let failed = CollectorStatus {
            last_attempt: Some(1.0),
            last_error: Some("HTTP 500".into()),
            ..Default::default()
        };
        let mut snapshot = Snapshot::default();
        for c in Collector::ALL.into_iter().filter(|c| *c != Collector::Jobs) {
            snapshot.collectors.insert(c, failed.clone());
        }
        assert!(snapshot.ready() && !snapshot.up(), "no sweep: nothing for jobs to poll");
        snapshot.collectors.get_mut(&Collector::Recipes).unwrap().last_success = Some(2.0);
        assert_eq!(snapshot.waiting(), vec![Collector::Jobs]);
        snapshot.collectors.insert(Collector::Jobs, failed);
        assert!(snapshot.ready());
    }

    #[test]
    fn an_unavailable_optional_collector_holds_back_neither_readiness_nor_up() {
        let mut snapshot = Snapshot::default();
        for c in Collector::ALL {
            let status = if c.optional() {
                CollectorStatus {
                    unavailable: true,
                    last_error: Some("403".into()),
                    ..Default::default()
                }
            } else {
                CollectorStatus {
                    up: true,
                    last_success: Some(1.0),
                    ..Default::default()
                }
            };
            snapshot.collectors.insert(c, status);
        }
        assert!(snapshot.ready() && snapshot.up());
        snapshot.collectors.get_mut(&Collector::Workspace).unwrap().unavailable = false;
        assert!(!snapshot.ready() && !snapshot.up());
        assert_eq!(snapshot.waiting(), vec![Collector::Workspace]);
    }
}
