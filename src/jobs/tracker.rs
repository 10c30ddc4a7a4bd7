//! The tracker: per recipe the watermark, the pending jobs and the counters
//! last read, and what has been observed; the plan of each cycle and the
//! operations a cycle applies (see `ingest`).
//!
//! The operations of a walk through a recipe's jobs pages are in `walk`.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::{Counts, JobsConfig, PendingJob, Planned, RecipeJobs, Since, state_file};
use crate::clock::unix_now;
use crate::snapshot::{DELAY_BUCKETS, Delays, Job, JobStats, JobStatus, Recipe, SharedSnapshot};

mod walk;

/// What is known of the length of Workato's jobs pages (not documented):
/// the longest page seen, a shorter one being the last of a walk. The
/// customers of an Embed admin workspace share it (one Workato, one page
/// length): a customer whose recipes have run a few jobs each learns from
/// the others that its pages are whole histories, and reads no more.
#[derive(Debug, Default)]
pub struct PageSize(AtomicUsize);

impl PageSize {
    /// The longest page seen; 0 before any.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// The job ingestion state of the whole workspace.
pub struct JobsTracker {
    config: JobsConfig,
    /// By recipe id, so the published stats come in a stable order.
    recipes: Mutex<BTreeMap<u64, RecipeJobs>>,
    /// Where every change is published, as [`JobStats`].
    snapshot: Arc<SharedSnapshot>,
    /// From completion in Workato to ingestion here.
    delays: Mutex<Delays>,
    /// The largest jobs page seen: a shorter page is the last of a walk.
    page_size: Arc<PageSize>,
    /// `--jobs.state-file`, when set.
    store: Option<Mutex<state_file::Store>>,
    /// Writes to the state file or its journal that failed.
    store_errors: AtomicU64,
    /// Plans made: a recipe left waiting by one is read before the
    /// recipes that started waiting after it.
    plans: AtomicU64,
}

impl JobsTracker {
    /// A tracker (restored from the state file, when one is configured)
    /// that publishes into `snapshot`, starting now.
    pub fn new(config: JobsConfig, snapshot: Arc<SharedSnapshot>) -> JobsTracker {
        JobsTracker::sharing(config, snapshot, Arc::default())
    }

    /// A tracker that learns the length of jobs pages with others of the
    /// same Workato (see [`PageSize`]).
    pub fn sharing(config: JobsConfig, snapshot: Arc<SharedSnapshot>, page_size: Arc<PageSize>) -> JobsTracker {
        let loaded = config.state_file.as_deref().map(state_file::load).unwrap_or_default();
        let tracker = JobsTracker {
            recipes: Mutex::new(loaded.recipes),
            snapshot,
            delays: Mutex::new(loaded.delays),
            page_size,
            store: config
                .state_file
                .as_deref()
                .map(|p| Mutex::new(state_file::Store::new(p))),
            store_errors: AtomicU64::new(0),
            plans: AtomicU64::new(0),
            config,
        };
        tracker.publish_from(&tracker.lock(), unix_now());
        tracker
    }

    /// What the job families show at `now`, computed from the tracker
    /// without changing it.
    pub fn stats(&self, now: f64) -> JobStats {
        self.stats_of(&self.lock(), now)
    }

    fn stats_of(&self, state: &BTreeMap<u64, RecipeJobs>, now: f64) -> JobStats {
        let window = self.config.window;
        let active = state.iter().filter(|(_, jobs)| jobs.active());
        // The last publication, by id, to share what did not change: most
        // recipes do not move between two publications, and rebuilding
        // every one each cycle churned the heap.
        let published = self.snapshot.load().jobs.clone();
        let mut before = published.recipes.iter().peekable();
        let recipes = active
            .clone()
            .map(|(id, jobs)| {
                while before.next_if(|p| p.id < *id).is_some() {}
                let previous = before.next_if(|p| p.id == *id);
                jobs.stats(*id, window, now, previous)
            })
            .collect();
        JobStats {
            state_file_errors: self.store.as_ref().map(|_| self.store_errors.load(Ordering::Relaxed)),
            delays: self.delays(),
            recipes,
            ratios_expire_at: active
                .filter_map(|(_, jobs)| jobs.window.expires_at(window, now))
                .min_by(f64::total_cmp),
        }
    }

    /// Publishes the stats as of `now` if a failure ratio's window slid past
    /// a minute since the last publication (true if so): the poller asks
    /// every few seconds, so that a ratio follows the clock between jobs.
    pub fn slide(&self, now: f64) -> bool {
        let state = self.lock();
        let slid = self.snapshot.load().jobs.ratios_expire_at.is_some_and(|at| at <= now);
        if slid {
            self.publish_from(&state, now);
        }
        slid
    }

    /// Publishes the stats as of `now`, unless the snapshot holds them
    /// already. Under the lock, so an older publication never lands last.
    fn publish_from(&self, state: &BTreeMap<u64, RecipeJobs>, now: f64) {
        let stats = self.stats_of(state, now);
        if *self.snapshot.load().jobs != stats {
            let stats = Arc::new(stats);
            self.snapshot.update(|snapshot| snapshot.jobs = stats);
        }
    }

    fn store_failed(&self, error: &std::io::Error) {
        // Logged once in a while, counted always.
        if self.store_errors.fetch_add(1, Ordering::Relaxed).is_multiple_of(100)
            && let Some(path) = &self.config.state_file
        {
            tracing::warn!(path = %path.display(), %error, "cannot write the jobs state file; a restart may count jobs again");
        }
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, RecipeJobs>> {
        self.recipes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A pending job is young when fewer than a page of jobs started after
    /// it up to the watermark: a walk starting at it re-reads no more than
    /// the page it needs anyway, and sees it complete for free.
    pub(super) fn is_young(&self, jobs: &RecipeJobs, pending: &PendingJob) -> bool {
        let page = self.page_size.get() as u64;
        pending.after.is_some()
            && jobs
                .watermark
                .as_ref()
                .is_some_and(|w| page > 0 && w.ordinal.saturating_sub(pending.ordinal) < page)
    }

    /// Follows the recipes list (new recipes appear, baselined at no call;
    /// deleted ones and their job state go; names follow renames) and
    /// decides what this cycle reads. The recipes a cycle left unread (its
    /// budget ran dry) come first, the longest waiting first, so that a
    /// workspace moving faster than its budget reads every recipe in turn;
    /// among those that started waiting together, calibrated recipes
    /// before first reads of baselined ones, most recently run first. A
    /// recipe where a job only started (nothing completed since it was
    /// read) does not wait in that line: it comes after every recipe with
    /// completions, in each plan anew, read when the budget has room — a
    /// start changes what runs, not what is counted, and once its job
    /// completes the recipe is read for both in one call.
    pub fn plan(&self, recipes: &[Recipe]) -> Vec<Planned> {
        let this_plan = Since {
            plan: self.plans.fetch_add(1, Ordering::Relaxed),
            at: tokio::time::Instant::now(),
        };
        let mut state = self.lock();
        let present: HashSet<u64> = recipes.iter().map(|r| r.id).collect();
        state.retain(|id, _| present.contains(id));
        let mut plan = Vec::new();
        let mut baselined = Vec::new();
        for recipe in recipes {
            let counts = Counts::of(recipe);
            let jobs = state.entry(recipe.id).or_default();
            jobs.name.clone_from(&recipe.name);
            if !jobs.calibrated && counts.never_ran() {
                // Nothing to skip: every job it ever runs is new.
                jobs.calibrated = true;
                jobs.baseline = None;
                jobs.seen = Some(counts);
                continue;
            }
            if !jobs.calibrated {
                // First sight: the counts are the baseline, at no call; a
                // first read once they move.
                match jobs.baseline {
                    None => {
                        jobs.baseline = Some(counts);
                        baselined.push(recipe.id);
                    }
                    Some(baseline) if baseline != counts => {
                        let only_started = counts.only_started_since(&baseline);
                        plan.push(Planned {
                            recipe_id: recipe.id,
                            counts,
                            calibrate: true,
                            walk: false,
                            first_read: false,
                            settle: false,
                            pending: Vec::new(),
                            waiting_since: jobs.wait(this_plan, only_started),
                            only_started,
                        });
                    }
                    Some(_) => jobs.waiting_since = None,
                }
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
            let started_new = jobs.seen.is_none_or(|seen| counts.started_since(&seen));
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
                first_read: jobs.first_read.is_some(),
                settle: moved,
                only_started: old_pending.is_empty()
                    && jobs.first_read.is_none()
                    && jobs.seen.is_some_and(|seen| counts.only_started_since(&seen)),
                pending: old_pending,
                waiting_since: this_plan,
            };
            if planned.settle || planned.first_read {
                plan.push(Planned {
                    waiting_since: jobs.wait(this_plan, planned.only_started),
                    ..planned
                });
            } else {
                jobs.waiting_since = None;
            }
        }
        self.journal(&state, &baselined);
        self.publish_from(&state, unix_now());
        drop(state);
        plan.sort_by(|a, b| {
            (a.waiting_since, a.only_started, a.calibrate, a.first_read)
                .cmp(&(b.waiting_since, b.only_started, b.calibrate, b.first_read))
                .then(b.counts.latest().total_cmp(&a.counts.latest()))
        });
        plan
    }

    /// Appends these recipes' state to the state file's journal, so that a
    /// baseline survives a kill before the end of the cycle.
    fn journal(&self, state: &BTreeMap<u64, RecipeJobs>, ids: &[u64]) {
        let Some(store) = &self.store else { return };
        let delays = self.delays.lock().unwrap_or_else(|p| p.into_inner());
        let mut store = store.lock().unwrap_or_else(|p| p.into_inner());
        for id in ids {
            if let Some(jobs) = state.get(id)
                && let Err(error) = store.append(*id, jobs, &delays)
            {
                self.store_failed(&error);
                return;
            }
        }
    }

    /// Changes one recipe's state, when it is tracked and `f` says it
    /// changed something. With a state file, the change reaches its journal
    /// before the lock is released, so nothing a scrape can see is missing
    /// from disk; then it is published.
    pub(super) fn change(&self, recipe_id: u64, f: impl FnOnce(&mut RecipeJobs, &JobsConfig) -> bool) {
        let mut state = self.lock();
        let Some(jobs) = state.get_mut(&recipe_id) else {
            return;
        };
        if !f(jobs, &self.config) {
            return;
        }
        if let Some(store) = &self.store {
            let delays = self.delays.lock().unwrap_or_else(|p| p.into_inner());
            let appended = store
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .append(recipe_id, jobs, &delays);
            if let Err(error) = appended {
                self.store_failed(&error);
            }
        }
        self.publish_from(&state, unix_now());
    }

    /// A baselined recipe's baseline (`None` once calibrated).
    pub(super) fn baseline(&self, recipe_id: u64) -> Option<Counts> {
        self.read(recipe_id, |jobs| jobs.baseline).flatten()
    }

    /// Reads one recipe's state.
    fn read<R>(&self, recipe_id: u64, f: impl FnOnce(&RecipeJobs) -> R) -> Option<R> {
        self.lock().get(&recipe_id).map(f)
    }

    /// Counts a completed job in its recipe's `jobs`, and the delay from its
    /// completion to now.
    pub(super) fn observe(&self, jobs: &mut RecipeJobs, job: &Job, config: &JobsConfig) {
        jobs.observe(job, config);
        if let Some(completed) = job.completed_at {
            let delay = (unix_now() - completed).max(0.0);
            self.delays
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .observe(&DELAY_BUCKETS, delay);
        }
    }

    /// Delays from completion to ingestion observed so far.
    fn delays(&self) -> Delays {
        self.delays.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Records that a cycle read what its plan held for the recipe: it
    /// waits no more (a move after this starts a new wait).
    pub(super) fn served(&self, recipe_id: u64) {
        if let Some(jobs) = self.lock().get_mut(&recipe_id) {
            jobs.waiting_since = None;
        }
    }

    /// Records that the recipe's jobs were read up to its current counters.
    pub(super) fn finish_walk(&self, recipe_id: u64, counts: Counts) {
        self.change(recipe_id, |jobs, _| jobs.seen.replace(counts) != Some(counts));
    }

    /// A pending job read again: observed and forgotten once completed.
    pub(super) fn resolve_pending(&self, recipe_id: u64, job: &Job) {
        self.change(recipe_id, |jobs, config| {
            let completed = job.status != JobStatus::Pending && jobs.pending.remove(&job.id).is_some();
            if completed {
                self.observe(jobs, job, config);
            }
            completed
        });
    }

    /// A pending job Workato no longer has (retention): nothing to observe.
    pub(super) fn forget_pending(&self, recipe_id: u64, job_id: &str) {
        self.change(recipe_id, |jobs, _| jobs.pending.remove(job_id).is_some());
    }

    pub(super) fn forget_recipe(&self, recipe_id: u64) {
        let mut state = self.lock();
        if state.remove(&recipe_id).is_some() {
            self.publish_from(&state, unix_now());
        }
    }

    /// Writes the whole state to the state file, if any, and empties its journal.
    pub fn save(&self) {
        let Some(store) = &self.store else { return };
        let state = self.lock();
        let delays = self.delays();
        let mut store = store.lock().unwrap_or_else(|p| p.into_inner());
        let encoded = store.encode(&state, &delays);
        // The tracker is not held while the file is written and synced; the
        // store is, until the journal is emptied, so that no change can be
        // appended in between and emptied with it.
        drop(state);
        if let Err(error) = encoded.and_then(|encoded| store.save(&encoded)) {
            drop(store);
            self.store_failed(&error);
            self.publish_from(&self.lock(), unix_now());
        }
    }

    /// Tracked recipes (for tests and memory figures).
    pub fn tracked(&self) -> usize {
        self.lock().len()
    }
}
