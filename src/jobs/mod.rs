//! Job ingestion: every completed job observed exactly once, with the fewest
//! calls to Workato's jobs API (60 a minute for the whole workspace).
//!
//! Per recipe the tracker keeps a watermark (the newest job already read),
//! the jobs seen pending, and the recipe's counters as of its last complete
//! read. A cycle ([`ingest::cycle`]) reads only recipes whose counters or
//! `last_run_at` moved, walking forward from the watermark, and re-checks
//! pending jobs. What it observes accumulates here: duration histograms,
//! error counts and a sliding window for the failure ratio, rendered by
//! `metrics`. [`state_file`] keeps watermarks and pending jobs across
//! restarts.
//!
//! A recipe seen for the first time is calibrated (its newest job becomes
//! the watermark, its pending jobs are tracked) without backfilling history:
//! a job counts iff it completes after calibration.

pub mod ingest;
pub mod state_file;

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::snapshot::{Job, JobStatus, Recipe};

/// Upper bounds of `workato_job_duration_seconds`: sub-second API calls to
/// hour-long batch jobs.
pub const DURATION_BUCKETS: [f64; 10] = [0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];

/// The `error_type` that error types beyond the per-recipe cap count under.
pub const OTHER_ERROR_TYPE: &str = "other";

/// Job ingestion settings.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    /// Window of `workato_recipe_job_failure_ratio`.
    pub window: Duration,
    /// Distinct (adapter, error_type) pairs per recipe before `other`.
    pub max_error_types: usize,
    /// Where watermarks and pending jobs survive restarts.
    pub state_file: Option<PathBuf>,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            window: Duration::from_secs(3600),
            max_error_types: 10,
            state_file: None,
        }
    }
}

/// What the recipes list says about a recipe's jobs; a change means new
/// activity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub succeeded: Option<u64>,
    pub failed: Option<u64>,
    pub last_run_at: Option<f64>,
}

impl Counts {
    pub fn of(recipe: &Recipe) -> Counts {
        Counts {
            succeeded: recipe.jobs_succeeded,
            failed: recipe.jobs_failed,
            last_run_at: recipe.last_run_at,
        }
    }

    /// A recipe that never ran has no history to skip.
    fn never_ran(&self) -> bool {
        self.succeeded == Some(0) && self.failed == Some(0) && self.last_run_at.is_none()
    }
}

/// Upper bounds of `workato_job_ingestion_delay_seconds`: from a job's
/// completion in Workato to the exporter counting it, about one poll
/// interval at most.
pub const DELAY_BUCKETS: [f64; 12] = [1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 45.0, 60.0, 90.0, 120.0, 300.0, 900.0];

/// A histogram's counts over fixed bounds: `B` is the number of bounds plus
/// one for +Inf.
#[derive(Debug, Clone)]
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
    fn observe(&mut self, bounds: &[f64], value: f64) {
        let index = bounds.iter().position(|b| value <= *b).unwrap_or(B - 1);
        self.buckets[index] += 1;
        self.sum += value;
        self.count += 1;
    }
}

/// Observed durations of one recipe's jobs with one status.
pub type Durations = Histogram<{ DURATION_BUCKETS.len() + 1 }>;

/// Observed delays from completion to ingestion, workspace-wide.
pub type Delays = Histogram<{ DELAY_BUCKETS.len() + 1 }>;

/// Completed jobs per minute of completion, for the failure ratio.
#[derive(Debug, Clone, Copy)]
struct Minute {
    minute: i64,
    succeeded: u32,
    failed: u32,
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
    /// Failed jobs by (adapter, error_type).
    pub errors: BTreeMap<(String, String), u64>,
    window: VecDeque<Minute>,
}

impl RecipeJobs {
    fn observe(&mut self, job: &Job, config: &JobsConfig) {
        let failed = job.status == JobStatus::Failed;
        let seconds = match (job.started_at, job.completed_at) {
            (Some(start), Some(end)) => (end - start).max(0.0),
            _ => 0.0,
        };
        self.durations[usize::from(failed)].observe(&DURATION_BUCKETS, seconds);
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
        let minute = (job.completed_at.unwrap_or_else(unix_now) / 60.0).floor() as i64;
        match self.window.iter_mut().rev().find(|m| m.minute == minute) {
            Some(bucket) if failed => bucket.failed += 1,
            Some(bucket) => bucket.succeeded += 1,
            None => {
                let position = self
                    .window
                    .iter()
                    .position(|m| m.minute > minute)
                    .unwrap_or(self.window.len());
                self.window.insert(
                    position,
                    Minute {
                        minute,
                        succeeded: u32::from(!failed),
                        failed: u32::from(failed),
                    },
                );
            }
        }
        self.trim_window(config.window, unix_now());
    }

    fn trim_window(&mut self, window: Duration, now: f64) {
        let oldest = ((now - window.as_secs_f64()) / 60.0).floor() as i64;
        while self.window.front().is_some_and(|m| m.minute < oldest) {
            self.window.pop_front();
        }
    }

    /// Failed / completed over the window; `None` when nothing completed.
    pub fn failure_ratio(&mut self, window: Duration, now: f64) -> Option<f64> {
        self.trim_window(window, now);
        let (ok, failed) = self.window.iter().fold((0u64, 0u64), |(ok, failed), m| {
            (ok + u64::from(m.succeeded), failed + u64::from(m.failed))
        });
        (ok + failed > 0).then(|| failed as f64 / (ok + failed) as f64)
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

/// The job ingestion state of the whole workspace.
pub struct JobsTracker {
    config: JobsConfig,
    /// By recipe id, so metrics render in a stable order.
    recipes: Mutex<BTreeMap<u64, RecipeJobs>>,
    /// Bumped by every change, so the exposition knows when to re-render.
    generation: AtomicU64,
    /// From completion in Workato to ingestion here.
    delays: Mutex<Delays>,
    /// The largest jobs page seen: a shorter page is the last of a walk.
    page_size: AtomicUsize,
}

impl JobsTracker {
    pub fn new(config: JobsConfig) -> JobsTracker {
        let tracker = JobsTracker {
            recipes: Mutex::new(BTreeMap::new()),
            generation: AtomicU64::new(0),
            delays: Mutex::new(Delays::default()),
            page_size: AtomicUsize::new(0),
            config,
        };
        if let Some(path) = &tracker.config.state_file {
            let restored = state_file::load(path);
            tracker.lock().extend(restored);
        }
        tracker
    }

    pub fn config(&self) -> &JobsConfig {
        &self.config
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, RecipeJobs>> {
        self.recipes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A pending job is young when fewer than a page of jobs started after
    /// it up to the watermark: a walk starting at it re-reads no more than
    /// the page it needs anyway, and sees it complete for free.
    fn is_young(&self, jobs: &RecipeJobs, pending: &PendingJob) -> bool {
        let page = self.page_size.load(Ordering::Relaxed) as u64;
        pending.after.is_some()
            && jobs
                .watermark
                .as_ref()
                .is_some_and(|w| page > 0 && w.ordinal.saturating_sub(pending.ordinal) < page)
    }

    /// Follows the recipes list (new recipes appear, deleted ones and their
    /// job state go, names follow renames) and decides what this cycle reads:
    /// calibrated recipes first, most recently run first.
    pub fn plan(&self, recipes: &[Recipe]) -> Vec<Planned> {
        self.generation.fetch_add(1, Ordering::Relaxed);
        let mut state = self.lock();
        let present: HashSet<u64> = recipes.iter().map(|r| r.id).collect();
        state.retain(|id, _| present.contains(id));
        let mut plan = Vec::new();
        for recipe in recipes {
            let counts = Counts::of(recipe);
            let jobs = state.entry(recipe.id).or_default();
            jobs.name.clone_from(&recipe.name);
            if !jobs.calibrated && counts.never_ran() {
                // Nothing to skip: every job it ever runs is new.
                jobs.calibrated = true;
                jobs.seen = Some(counts);
                continue;
            }
            // A pending job that completes moves the recipe's counters, so a
            // recipe whose counters stand still needs no call at all, however
            // many jobs it holds pending.
            let moved = jobs.calibrated && jobs.seen != Some(counts);
            let old_pending: Vec<String> = jobs
                .pending
                .iter()
                .filter(|(_, pending)| moved && !self.is_young(jobs, pending))
                .map(|(id, _)| id.clone())
                .collect();
            // No new job started (last_run_at stands), no young pending job
            // to pass by, and no more completions than old pending jobs:
            // only those can have completed, and reading them by id is all
            // it takes.
            let started_new = jobs.seen.is_none_or(|seen| seen.last_run_at != counts.last_run_at);
            let young = jobs.pending.values().any(|pending| self.is_young(jobs, pending));
            let completed = |c: &Counts| c.succeeded.unwrap_or(0) + c.failed.unwrap_or(0);
            let explained = jobs
                .seen
                .is_some_and(|seen| completed(&counts).saturating_sub(completed(&seen)) <= old_pending.len() as u64);
            let planned = Planned {
                recipe_id: recipe.id,
                counts,
                calibrate: !jobs.calibrated,
                walk: moved && (started_new || young || old_pending.is_empty() || !explained),
                settle: moved,
                pending: old_pending,
            };
            if planned.calibrate || planned.settle {
                plan.push(planned);
            }
        }
        plan.sort_by(|a, b| {
            a.calibrate.cmp(&b.calibrate).then(
                b.counts
                    .last_run_at
                    .unwrap_or(0.0)
                    .total_cmp(&a.counts.last_run_at.unwrap_or(0.0)),
            )
        });
        plan
    }

    fn with<R>(&self, recipe_id: u64, f: impl FnOnce(&mut RecipeJobs, &JobsConfig) -> R) -> Option<R> {
        self.generation.fetch_add(1, Ordering::Relaxed);
        self.lock().get_mut(&recipe_id).map(|jobs| f(jobs, &self.config))
    }

    /// Changes so far; equal values mean nothing changed in between.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    fn learn_page_size(&self, len: usize) {
        self.page_size.fetch_max(len, Ordering::Relaxed);
    }

    /// True when a page this long cannot have a successor.
    fn is_last_page(&self, len: usize) -> bool {
        len == 0 || len < self.page_size.load(Ordering::Relaxed)
    }

    /// Takes the newest page as the starting point: its newest job is the
    /// watermark, its pending jobs (and `older_pending`, started before the
    /// page) are tracked, its completed jobs are history.
    fn calibrate(&self, recipe_id: u64, counts: Counts, newest_page: &[Job], older_pending: &[Job]) {
        self.with(recipe_id, |jobs, _| {
            jobs.calibrated = true;
            jobs.pending.clear();
            for job in older_pending {
                jobs.pending.insert(
                    job.id.clone(),
                    PendingJob {
                        ordinal: 0,
                        after: None,
                    },
                );
            }
            jobs.next_ordinal = 1;
            jobs.watermark = None;
            let mut after: Option<String> = None;
            for job in newest_page.iter().rev() {
                let ordinal = jobs.next_ordinal;
                jobs.next_ordinal += 1;
                if job.status == JobStatus::Pending {
                    let pending = PendingJob {
                        ordinal,
                        after: after.clone(),
                    };
                    jobs.pending.insert(job.id.clone(), pending);
                }
                jobs.watermark = Some(Mark {
                    id: job.id.clone(),
                    ordinal,
                });
                after = Some(job.id.clone());
            }
            jobs.seen = Some(counts);
        });
    }

    /// Where this recipe's forward walk starts: at its oldest young pending
    /// job, or at the watermark (`None`: the recipe had no jobs at all).
    fn walk_start(&self, recipe_id: u64) -> Option<(String, Walk)> {
        self.with(recipe_id, |jobs, _| {
            let watermark = jobs.watermark.clone()?;
            let young = jobs
                .pending
                .values()
                .filter(|pending| self.is_young(jobs, pending))
                .min_by_key(|pending| pending.ordinal)
                .and_then(|pending| pending.after.clone());
            Some(match young {
                Some(after) => (
                    after.clone(),
                    Walk {
                        last: Some(after),
                        ..Walk::default()
                    },
                ),
                None => (
                    watermark.id.clone(),
                    Walk {
                        last: Some(watermark.id),
                        past_watermark: true,
                        ..Walk::default()
                    },
                ),
            })
        })
        .flatten()
    }

    /// Applies one page of a forward walk (newest first, as Workato lists):
    /// tracked pending jobs that completed are observed; jobs past the
    /// watermark are new (observed, or tracked if pending) and move it; jobs
    /// in between were counted before.
    fn apply_page(&self, recipe_id: u64, page: &[Job], walk: &mut Walk) {
        self.with(recipe_id, |jobs, config| {
            for job in page.iter().rev() {
                if !walk.met.insert(job.id.clone()) {
                    continue;
                }
                let after = walk.last.replace(job.id.clone());
                if jobs.pending.contains_key(&job.id) {
                    if job.status != JobStatus::Pending {
                        jobs.pending.remove(&job.id);
                        jobs.observe(job, config);
                        self.record_delay(job);
                    }
                } else if walk.past_watermark {
                    let ordinal = jobs.next_ordinal;
                    jobs.next_ordinal += 1;
                    if job.status == JobStatus::Pending {
                        jobs.pending.insert(job.id.clone(), PendingJob { ordinal, after });
                    } else {
                        jobs.observe(job, config);
                        self.record_delay(job);
                    }
                    jobs.watermark = Some(Mark {
                        id: job.id.clone(),
                        ordinal,
                    });
                }
                if jobs.watermark.as_ref().is_some_and(|w| w.id == job.id) {
                    walk.past_watermark = true;
                }
            }
        });
    }

    /// A walk that started at a young pending job ended without meeting the
    /// watermark (Workato no longer lists it): its pending jobs are re-checked
    /// by id from now on, and the next walk starts at the watermark.
    fn watermark_not_met(&self, recipe_id: u64) {
        self.with(recipe_id, |jobs, _| {
            for pending in jobs.pending.values_mut() {
                pending.after = None;
            }
        });
    }

    fn record_delay(&self, job: &Job) {
        if let Some(completed) = job.completed_at {
            let delay = (unix_now() - completed).max(0.0);
            self.delays
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .observe(&DELAY_BUCKETS, delay);
        }
    }

    /// Delays from completion to ingestion observed so far.
    pub fn delays(&self) -> Delays {
        self.delays.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Records that the recipe's jobs were read up to its current counters.
    fn finish_walk(&self, recipe_id: u64, counts: Counts) {
        self.with(recipe_id, |jobs, _| jobs.seen = Some(counts));
    }

    /// A pending job read again: observed and forgotten once completed.
    fn resolve_pending(&self, recipe_id: u64, job: &Job) {
        self.with(recipe_id, |jobs, config| {
            if job.status != JobStatus::Pending && jobs.pending.remove(&job.id).is_some() {
                jobs.observe(job, config);
                self.record_delay(job);
            }
        });
    }

    /// A pending job Workato no longer has (retention): nothing to observe.
    fn forget_pending(&self, recipe_id: u64, job_id: &str) {
        self.with(recipe_id, |jobs, _| jobs.pending.remove(job_id));
    }

    fn forget_recipe(&self, recipe_id: u64) {
        self.generation.fetch_add(1, Ordering::Relaxed);
        self.lock().remove(&recipe_id);
    }

    /// Runs `f` over every tracked recipe (for rendering metrics).
    pub fn for_each(&self, mut f: impl FnMut(u64, &mut RecipeJobs, &JobsConfig)) {
        let mut state = self.lock();
        for (id, jobs) in state.iter_mut() {
            f(*id, jobs, &self.config);
        }
    }

    /// Writes watermarks and pending jobs to the state file, if configured.
    pub fn save(&self) {
        if let Some(path) = &self.config.state_file {
            let state = self.lock().clone();
            state_file::save(path, &state);
        }
    }

    /// Tracked recipes (for tests and memory figures).
    pub fn tracked(&self) -> usize {
        self.lock().len()
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_failure_ratio_covers_the_window_only() {
        let config = JobsConfig::default();
        let mut jobs = RecipeJobs::default();
        let now = unix_now();
        let old = job("old", JobStatus::Failed, now - 7300.0, Some(now - 7200.0), None);
        jobs.observe(&old, &config);
        assert_eq!(
            jobs.failure_ratio(config.window, now),
            None,
            "a job two hours old is outside a 1h window"
        );
        for (i, status) in [
            JobStatus::Succeeded,
            JobStatus::Failed,
            JobStatus::Succeeded,
            JobStatus::Succeeded,
        ]
        .iter()
        .enumerate()
        {
            jobs.observe(
                &job(
                    &format!("j{i}"),
                    *status,
                    now - 100.0,
                    Some(now - 30.0 * i as f64),
                    None,
                ),
                &config,
            );
        }
        assert_eq!(jobs.failure_ratio(config.window, now), Some(0.25));
    }

    fn recipe(id: u64, succeeded: u64, last_run_at: Option<f64>) -> Recipe {
        Recipe {
            id,
            name: format!("r{id}"),
            folder_id: None,
            project_id: None,
            running: true,
            stop_cause: None,
            trigger_application: None,
            version: None,
            jobs_succeeded: Some(succeeded),
            jobs_failed: Some(0),
            tasks: None,
            last_run_at,
            stopped_at: None,
            connection_ids: vec![],
        }
    }

    #[test]
    fn plans_read_only_what_moved() {
        let tracker = JobsTracker::new(JobsConfig::default());
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
}
