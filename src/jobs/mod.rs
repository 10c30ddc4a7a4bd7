//! Job ingestion: every completed job observed exactly once, with the fewest
//! calls to Workato's jobs API (60 a minute for the whole workspace).
//!
//! Per recipe the tracker keeps a watermark (the newest job already read),
//! the jobs seen pending, and the recipe's counters as of its last complete
//! read. A cycle ([`ingest::cycle`]) reads only recipes whose counters or
//! `last_run_at` moved, walking forward from the watermark, and re-checks
//! pending jobs. What it observes accumulates here: duration histograms,
//! error counts and a sliding window for the failure ratio. After every
//! change the tracker publishes what the job families show (a
//! [`JobStats`](crate::snapshot::JobStats), the ratio computed then) into
//! the snapshot, which is all `metrics` reads. [`state_file`] keeps
//! watermarks and pending jobs across restarts.
//!
//! A recipe seen for the first time costs no call: its counts become its
//! [`baseline`], and a job counts iff it completes after it. When the counts
//! move, its first read both calibrates it (the newest job becomes the
//! watermark, pending jobs are tracked) and counts the jobs that completed
//! since the baseline, without backfilling older history.

mod baseline;
mod counts;
pub mod ingest;
pub mod state_file;
mod tracker;
mod window;

pub use counts::Counts;
pub use tracker::{JobsTracker, PageSize};

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use self::window::Window;
use crate::clock::unix_now;
use crate::snapshot::{DURATION_BUCKETS, DurationDetail, Durations, ErrorKey, Job, JobStatus, RecipeJobStats};

/// The `error_type` that error types beyond the per-recipe cap count under.
pub const OTHER_ERROR_TYPE: &str = "other";

pub use crate::config::JobsConfig;

/// A job and its place in the recipe's history as the tracker met it
/// (ordinals grow in the order jobs started; Workato's ids do not sort).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    pub id: String,
    pub ordinal: u64,
}

/// A job seen pending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingJob {
    pub ordinal: u64,
    /// The job just before it, where a walk that should see it again starts
    /// (`offset_job_id` is exclusive); `None` when unknown.
    pub after: Option<String>,
}

/// Everything tracked about one recipe's jobs.
#[derive(Debug, Clone, Default)]
pub struct RecipeJobs {
    pub name: String,
    /// False until the recipe's newest job is known.
    pub calibrated: bool,
    /// Its counts when first seen, until its first read (uncalibrated
    /// recipes only).
    pub baseline: Option<Counts>,
    /// A first read whose older pages are still to be read (calibrated
    /// recipes only): it resumes where it stopped.
    pub first_read: Option<baseline::FirstRead>,
    /// The newest job already read; `None` when the recipe had none.
    pub watermark: Option<Mark>,
    /// Jobs seen pending, by id.
    pub pending: BTreeMap<String, PendingJob>,
    /// The ordinal the next new job gets.
    pub next_ordinal: u64,
    /// The recipe's counters when its jobs were last read completely.
    pub seen: Option<Counts>,
    /// Index 0 succeeded, 1 failed.
    pub durations: [Durations; 2],
    /// Exemplars and native buckets of `durations`, in the same order.
    /// Shared with the published stats until the next job changes one.
    pub detail: [Arc<DurationDetail>; 2],
    /// Failed jobs by (adapter, error_type).
    pub errors: BTreeMap<ErrorKey, u64>,
    /// The plan that first held a read of this recipe still to be done
    /// (not kept in the state file: after a restart every recipe waits
    /// from the first plan).
    pub waiting_since: Option<Since>,
    window: Window,
}

impl RecipeJobs {
    /// The plan since which a read of it waits: from `plan` on, unless it
    /// is waiting already; a read for a job's start alone never waits (see
    /// `JobsTracker::plan`).
    fn wait(&mut self, plan: Since, only_started: bool) -> Since {
        if only_started {
            self.waiting_since = None;
            return plan;
        }
        *self.waiting_since.get_or_insert(plan)
    }

    fn observe(&mut self, job: &Job, config: &JobsConfig) {
        let failed = job.status == JobStatus::Failed;
        let seconds = match (job.started_at, job.completed_at) {
            (Some(start), Some(end)) => (end - start).max(0.0),
            _ => 0.0,
        };
        self.durations[usize::from(failed)].observe(&DURATION_BUCKETS, seconds);
        Arc::make_mut(&mut self.detail[usize::from(failed)]).observe(&job.id, seconds, job.completed_at);
        if let Some((adapter, error_type)) = job.error.as_ref().filter(|_| failed) {
            // At most `max_error_types` and an `other` per adapter: a walk
            // over them finds the key without building one.
            let counted = |t: &str| {
                let key = self.errors.keys().find(|(a, k)| **a == **adapter && **k == *t);
                key.map(|(a, k)| (Arc::clone(a), Arc::clone(k)))
            };
            let key = counted(error_type).unwrap_or_else(|| {
                let distinct = self.errors.keys().filter(|(_, t)| &**t != OTHER_ERROR_TYPE).count();
                if distinct < config.max_error_types {
                    (adapter.as_str().into(), error_type.as_str().into())
                } else {
                    counted(OTHER_ERROR_TYPE).unwrap_or_else(|| (adapter.as_str().into(), OTHER_ERROR_TYPE.into()))
                }
            });
            *self.errors.entry(key).or_default() += 1;
        }
        self.window.record(job.completed_at, failed, config.window, unix_now());
    }

    /// Failed / completed over the window at `now`; `None` when nothing
    /// completed in it.
    pub fn failure_ratio(&self, window: Duration, now: f64) -> Option<f64> {
        self.window.ratio(window, now)
    }

    /// Whether the recipe has job series: recipes with no job seen since
    /// their baseline get none (at 5,000 mostly idle recipes, zero-filled
    /// histograms would be most of the exposition); once one ran, both
    /// statuses appear, so `increase()` sees its first failure.
    fn active(&self) -> bool {
        self.calibrated && (self.durations.iter().any(|d| d.count > 0) || !self.pending.is_empty())
    }

    /// What the job families show of this recipe at `now`.
    /// `previous` (this recipe's last published stats) is shared again
    /// when nothing in it changed.
    fn stats(
        &self,
        id: u64,
        window: Duration,
        now: f64,
        previous: Option<&Arc<RecipeJobStats>>,
    ) -> Arc<RecipeJobStats> {
        let failure_ratio = self.failure_ratio(window, now);
        if let Some(previous) = previous.filter(|p| {
            p.id == id
                && p.name == self.name
                && p.durations == self.durations
                && Arc::ptr_eq(&p.detail[0], &self.detail[0])
                && Arc::ptr_eq(&p.detail[1], &self.detail[1])
                && p.pending == self.pending.len()
                && p.failure_ratio == failure_ratio
                && p.errors.len() == self.errors.len()
                && p.errors
                    .iter()
                    .zip(&self.errors)
                    .all(|((a, n), (b, m))| a == b && n == m)
        }) {
            return Arc::clone(previous);
        }
        Arc::new(RecipeJobStats {
            id,
            name: self.name.clone(),
            durations: self.durations.clone(),
            detail: self.detail.clone(),
            pending: self.pending.len(),
            failure_ratio,
            errors: self.errors.iter().map(|(key, n)| (key.clone(), *n)).collect(),
        })
    }
}

/// One recipe's share of a cycle.
#[derive(Debug, Clone)]
pub struct Planned {
    pub recipe_id: u64,
    pub counts: Counts,
    /// A baselined recipe that moved: its first read (the newest pages)
    /// learns the watermark and counts what completed since the baseline.
    pub calibrate: bool,
    /// Walk forward (its counters moved and new jobs may have started).
    pub walk: bool,
    /// Go on with its first read's older pages.
    pub first_read: bool,
    /// Its counters moved: record them once this cycle's reads succeed.
    pub settle: bool,
    /// Pending jobs too old for the walk to pass by, to re-check by id.
    pub pending: Vec<String>,
    /// The plan since which it waits (see `RecipeJobs::waiting_since`).
    pub waiting_since: Since,
    /// Nothing completed since it was last read, a job only started: read
    /// after every recipe with completions to count, when there is room.
    pub only_started: bool,
}

/// A plan of the jobs cycle: its number, and when it was made. A read
/// waits in the budget's line from when it was first planned (see
/// `Budget::acquire_ranked`), so that, across an Embed admin workspace's
/// customers, the reads waiting longest go first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Since {
    pub plan: u64,
    pub at: tokio::time::Instant,
}

impl Planned {
    /// Its rank in the budget's line: when it became due. A start alone
    /// changes what runs, not what is counted: it goes behind the reads of
    /// completions due within the next `interval`, whoever's.
    pub fn due(&self, interval: Duration) -> tokio::time::Instant {
        match self.only_started {
            true => self.waiting_since.at + interval,
            false => self.waiting_since.at,
        }
    }
}

/// Where a forward walk stands.
#[derive(Debug, Default)]
pub struct Walk {
    /// Jobs already met in this walk.
    met: HashSet<String>,
    /// Whether the walk has passed the watermark: later jobs are new.
    past_watermark: bool,
    /// The last job met, in start order: the one before the next page.
    last: Option<String>,
}

impl Walk {
    /// A walk over a recipe that had no jobs when calibrated.
    fn everything_new() -> Walk {
        Walk {
            past_watermark: true,
            ..Walk::default()
        }
    }
}

#[cfg(test)]
mod tests;
