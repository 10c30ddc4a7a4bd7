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
//! A recipe seen for the first time is calibrated (its newest job becomes
//! the watermark, its pending jobs are tracked) without backfilling history:
//! a job counts iff it completes after calibration.

pub mod ingest;
pub mod state_file;
mod tracker;
mod window;

pub use tracker::JobsTracker;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use self::window::Window;
use crate::clock::unix_now;
use crate::snapshot::{DURATION_BUCKETS, DurationDetail, Durations, Job, JobStatus, Recipe, RecipeJobStats};

/// The `error_type` that error types beyond the per-recipe cap count under.
pub const OTHER_ERROR_TYPE: &str = "other";

pub use crate::config::JobsConfig;

/// What the recipes list says about a recipe's jobs; a change means new
/// activity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub succeeded: Option<u64>,
    pub failed: Option<u64>,
    pub last_run_at: Option<f64>,
    /// Moves when a job starts, while the counters and `last_run_at` stand
    /// still until it completes. Absent from state files written before it.
    #[serde(default)]
    pub last_job_started_at: Option<f64>,
}

impl Counts {
    pub fn of(recipe: &Recipe) -> Counts {
        Counts {
            succeeded: recipe.jobs_succeeded,
            failed: recipe.jobs_failed,
            last_run_at: recipe.last_run_at,
            last_job_started_at: recipe.last_job_started_at,
        }
    }

    /// A recipe that never ran has no history to skip.
    fn never_ran(&self) -> bool {
        self.succeeded == Some(0)
            && self.failed == Some(0)
            && self.last_run_at.is_none()
            && self.last_job_started_at.is_none()
    }

    /// Whether a job may have started since `seen`: either start time moved.
    fn started_since(&self, seen: &Counts) -> bool {
        seen.last_run_at != self.last_run_at || seen.last_job_started_at != self.last_job_started_at
    }

    /// The most recent sign of activity, for reading busy recipes first.
    fn latest(&self) -> f64 {
        self.last_run_at
            .unwrap_or(0.0)
            .max(self.last_job_started_at.unwrap_or(0.0))
    }
}

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
    pub errors: BTreeMap<(String, String), u64>,
    window: Window,
}

impl RecipeJobs {
    fn observe(&mut self, job: &Job, config: &JobsConfig) {
        let failed = job.status == JobStatus::Failed;
        let seconds = match (job.started_at, job.completed_at) {
            (Some(start), Some(end)) => (end - start).max(0.0),
            _ => 0.0,
        };
        self.durations[usize::from(failed)].observe(&DURATION_BUCKETS, seconds);
        Arc::make_mut(&mut self.detail[usize::from(failed)]).observe(&job.id, seconds, job.completed_at);
        if let Some((adapter, error_type)) = job.error.clone().filter(|_| failed) {
            let known = self.errors.contains_key(&(adapter.clone(), error_type.clone()));
            let distinct = self.errors.keys().filter(|(_, t)| t != OTHER_ERROR_TYPE).count();
            let key = if known || distinct < config.max_error_types {
                (adapter, error_type)
            } else {
                (adapter, OTHER_ERROR_TYPE.to_string())
            };
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
    /// calibration get none (at 5,000 mostly idle recipes, zero-filled
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
    /// Read the newest page to learn the watermark.
    pub calibrate: bool,
    /// Walk forward (its counters moved and new jobs may have started).
    pub walk: bool,
    /// Its counters moved: record them once this cycle's reads succeed.
    pub settle: bool,
    /// Pending jobs too old for the walk to pass by, to re-check by id.
    pub pending: Vec<String>,
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
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::snapshot::SharedSnapshot;

    fn job(id: &str, status: JobStatus, start: f64, end: Option<f64>, error: Option<(&str, &str)>) -> Job {
        Job {
            id: id.into(),
            status,
            started_at: Some(start),
            completed_at: end,
            error: error.map(|(a, t)| (a.into(), t.into())),
        }
    }

    #[test]
    fn durations_land_in_their_buckets() {
        let mut d = Durations::default();
        for s in [0.05, 0.1, 0.7, 4000.0] {
            d.observe(&DURATION_BUCKETS, s);
        }
        assert_eq!(d.buckets[0], 2, "0.1 is in the le=0.1 bucket");
        assert_eq!(d.buckets[2], 1, "0.7 is in the le=1 bucket");
        assert_eq!(d.buckets[DURATION_BUCKETS.len()], 1, "beyond an hour is +Inf only");
        assert_eq!(d.count, 4);
    }

    #[test]
    fn error_types_beyond_the_cap_count_as_other() {
        let config = JobsConfig {
            max_error_types: 2,
            ..JobsConfig::default()
        };
        let mut jobs = RecipeJobs::default();
        let now = unix_now();
        for (i, kind) in ["Timeout", "Bad request", "Timeout", "Server error", "Rate limit"]
            .iter()
            .enumerate()
        {
            let j = job(
                &format!("j{i}"),
                JobStatus::Failed,
                now - 2.0,
                Some(now - 1.0),
                Some(("slack", kind)),
            );
            jobs.observe(&j, &config);
        }
        let key = |t: &str| ("slack".to_string(), t.to_string());
        assert_eq!(jobs.errors.get(&key("Timeout")), Some(&2));
        assert_eq!(jobs.errors.get(&key("Bad request")), Some(&1));
        assert_eq!(jobs.errors.get(&key(OTHER_ERROR_TYPE)), Some(&2));
        assert_eq!(jobs.errors.len(), 3);
    }

    fn recipe(id: u64, succeeded: u64, last_run_at: Option<f64>) -> Recipe {
        Recipe {
            id,
            name: format!("r{id}"),
            folder_id: None,
            project_id: None,
            running: Some(true),
            stop_cause: None,
            trigger_application: None,
            version: None,
            jobs_succeeded: Some(succeeded),
            jobs_failed: Some(0),
            tasks: None,
            last_run_at,
            last_job_started_at: None,
            stopped_at: None,
            connection_ids: vec![],
        }
    }

    #[test]
    fn plans_read_only_what_moved() {
        let tracker = JobsTracker::new(JobsConfig::default(), Arc::default());
        let first = tracker.plan(&[recipe(1, 5, Some(10.0)), recipe(2, 0, None)]);
        assert_eq!(first.len(), 1, "a recipe that never ran needs no calibration call");
        assert!(first[0].calibrate);
        tracker.calibrate(1, first[0].counts, &[], &[]);
        assert!(
            tracker.plan(&[recipe(1, 5, Some(10.0)), recipe(2, 0, None)]).is_empty(),
            "nothing moved"
        );
        let moved = tracker.plan(&[recipe(1, 6, Some(11.0)), recipe(2, 0, None)]);
        assert_eq!(
            moved.iter().map(|p| (p.recipe_id, p.walk)).collect::<Vec<_>>(),
            vec![(1, true)]
        );
        tracker.plan(&[recipe(2, 0, None)]);
        assert_eq!(tracker.tracked(), 1, "a deleted recipe's state is dropped");
    }

    #[test]
    fn a_recipe_that_did_not_change_is_published_again_as_it_was() {
        let snapshot: Arc<SharedSnapshot> = Arc::default();
        let tracker = JobsTracker::new(JobsConfig::default(), Arc::clone(&snapshot));
        let quiet = |id| {
            let mut r = recipe(id, 0, None);
            r.jobs_succeeded = Some(0);
            r
        };
        tracker.plan(&[quiet(1), quiet(2)]);
        let now = unix_now();
        let done = |id: &str| job(id, JobStatus::Succeeded, now - 5.0, Some(now - 1.0), None);
        tracker.apply_page(1, &[done("a1")], &mut Walk::everything_new());
        tracker.apply_page(2, &[done("b1")], &mut Walk::everything_new());
        let before = snapshot.load().jobs.clone();
        tracker.apply_page(2, &[done("b2")], &mut Walk::everything_new());
        let after = snapshot.load().jobs.clone();
        assert!(Arc::ptr_eq(&before.recipes[0], &after.recipes[0]), "recipe 1 shared");
        assert!(!Arc::ptr_eq(&before.recipes[1], &after.recipes[1]), "recipe 2 new");
        assert_eq!((after.recipes[1].id, after.recipes[1].durations[0].count), (2, 2));
        assert_eq!(
            before.recipes[1].durations[0].count, 1,
            "what was published stays as it was"
        );
    }

    #[test]
    fn every_change_is_published_into_the_snapshot_and_only_then() {
        let snapshot: Arc<SharedSnapshot> = Arc::default();
        let tracker = JobsTracker::new(JobsConfig::default(), Arc::clone(&snapshot));
        let mut never_ran = recipe(1, 0, None);
        never_ran.jobs_succeeded = Some(0);
        tracker.plan(&[never_ran]);
        assert!(snapshot.load().jobs.recipes.is_empty(), "no job seen, no job series");
        let now = unix_now();
        let failed = job(
            "j1",
            JobStatus::Failed,
            now - 5.0,
            Some(now - 1.0),
            Some(("slack", "Timeout")),
        );
        tracker.apply_page(1, &[failed], &mut Walk::everything_new());
        let published = snapshot.load().jobs.clone();
        assert_eq!(published.recipes.len(), 1);
        let stats = &published.recipes[0];
        assert_eq!((stats.id, stats.name.as_str()), (1, "r1"));
        assert_eq!((stats.durations[0].count, stats.durations[1].count), (0, 1));
        assert_eq!(stats.failure_ratio, Some(1.0));
        assert_eq!(stats.errors, vec![(("slack".into(), "Timeout".into()), 1)]);
        assert_eq!(published.delays.count, 1);
        assert!(published.ratios_expire_at.is_some_and(|t| t > now));

        let generation = snapshot.generation();
        tracker.forget_pending(1, "not tracked");
        assert!(!tracker.slide(now), "no minute left the window yet");
        assert_eq!(snapshot.generation(), generation, "nothing changed, nothing published");
        let later = tracker.stats(now + 7200.0);
        assert_eq!(later.recipes[0].failure_ratio, None, "the window slid past the job");
        assert_eq!(tracker.stats(now), *published, "computing stats changes nothing");

        let expired = published.ratios_expire_at.unwrap();
        assert!(tracker.slide(expired), "the job's minute left the window");
        let slid = snapshot.load().jobs.clone();
        assert_eq!(slid.recipes[0].failure_ratio, None);
        assert_eq!(
            slid.recipes[0].durations, published.recipes[0].durations,
            "only the ratio moved"
        );
        assert_eq!(slid.ratios_expire_at, None, "nothing left to slide");
    }
}
