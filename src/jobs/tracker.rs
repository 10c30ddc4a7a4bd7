//! The tracker: per recipe the watermark, the pending jobs and the counters
//! last read, and what has been observed; the plan of each cycle and the
//! operations a cycle applies (see `ingest`).

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::{
    Counts, DELAY_BUCKETS, Delays, JobsConfig, Mark, PendingJob, Planned, RecipeJobs, Walk, state_file, unix_now,
};
use crate::snapshot::{Job, JobStatus, Recipe};

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
    /// `--jobs.state-file`, when set.
    store: Option<Mutex<state_file::Store>>,
    /// Writes to the state file or its journal that failed.
    store_errors: AtomicU64,
}

impl JobsTracker {
    pub fn new(config: JobsConfig) -> JobsTracker {
        let mut recipes = BTreeMap::new();
        let mut delays = Delays::default();
        if let Some(path) = &config.state_file {
            let loaded = state_file::load(path);
            recipes = loaded.recipes;
            delays = loaded.delays;
        }
        JobsTracker {
            recipes: Mutex::new(recipes),
            generation: AtomicU64::new(0),
            delays: Mutex::new(delays),
            page_size: AtomicUsize::new(0),
            store: config
                .state_file
                .as_deref()
                .map(|p| Mutex::new(state_file::Store::new(p))),
            store_errors: AtomicU64::new(0),
            config,
        }
    }

    /// Failed writes of the state file or its journal so far.
    pub fn state_file_errors(&self) -> u64 {
        self.store_errors.load(Ordering::Relaxed)
    }

    fn store_failed(&self, error: &std::io::Error) {
        // Logged once in a while, counted always.
        if self.store_errors.fetch_add(1, Ordering::Relaxed).is_multiple_of(100)
            && let Some(path) = &self.config.state_file
        {
            tracing::warn!(path = %path.display(), %error, "cannot write the jobs state file; a restart may count jobs again");
        }
    }

    pub fn config(&self) -> &JobsConfig {
        &self.config
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, RecipeJobs>> {
        self.recipes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A pending job is young when fewer than a page of jobs started after
    /// it up to the watermark: a walk starting at it re-reads no more than
    /// the page it needs anyway, and sees it complete for free.
    pub(super) fn is_young(&self, jobs: &RecipeJobs, pending: &PendingJob) -> bool {
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
                settle: moved,
                pending: old_pending,
            };
            if planned.calibrate || planned.settle {
                plan.push(planned);
            }
        }
        plan.sort_by(|a, b| {
            a.calibrate
                .cmp(&b.calibrate)
                .then(b.counts.latest().total_cmp(&a.counts.latest()))
        });
        plan
    }

    /// Changes one recipe's state. With a state file, the change reaches
    /// its journal before the lock is released, so nothing a scrape can see
    /// is missing from disk.
    pub(super) fn with<R>(&self, recipe_id: u64, f: impl FnOnce(&mut RecipeJobs, &JobsConfig) -> R) -> Option<R> {
        self.generation.fetch_add(1, Ordering::Relaxed);
        let mut state = self.lock();
        let jobs = state.get_mut(&recipe_id)?;
        let result = f(jobs, &self.config);
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
        Some(result)
    }

    /// Reads one recipe's state.
    fn read<R>(&self, recipe_id: u64, f: impl FnOnce(&RecipeJobs) -> R) -> Option<R> {
        self.lock().get(&recipe_id).map(f)
    }

    /// Changes so far; equal values mean nothing changed in between.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    pub(super) fn learn_page_size(&self, len: usize) {
        self.page_size.fetch_max(len, Ordering::Relaxed);
    }

    /// True when a page this long cannot have a successor.
    pub(super) fn is_last_page(&self, len: usize) -> bool {
        len == 0 || len < self.page_size.load(Ordering::Relaxed)
    }

    /// Takes the newest page as the starting point: its newest job is the
    /// watermark, its pending jobs (and `older_pending`, started before the
    /// page) are tracked, its completed jobs are history.
    pub(super) fn calibrate(&self, recipe_id: u64, counts: Counts, newest_page: &[Job], older_pending: &[Job]) {
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
    pub(super) fn walk_start(&self, recipe_id: u64) -> Option<(String, Walk)> {
        self.read(recipe_id, |jobs| {
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
    pub(super) fn apply_page(&self, recipe_id: u64, page: &[Job], walk: &mut Walk) {
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
    pub(super) fn watermark_not_met(&self, recipe_id: u64) {
        self.with(recipe_id, |jobs, _| {
            for pending in jobs.pending.values_mut() {
                pending.after = None;
            }
        });
    }

    pub(super) fn record_delay(&self, job: &Job) {
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
    pub(super) fn finish_walk(&self, recipe_id: u64, counts: Counts) {
        self.with(recipe_id, |jobs, _| jobs.seen = Some(counts));
    }

    /// A pending job read again: observed and forgotten once completed.
    pub(super) fn resolve_pending(&self, recipe_id: u64, job: &Job) {
        self.with(recipe_id, |jobs, config| {
            if job.status != JobStatus::Pending && jobs.pending.remove(&job.id).is_some() {
                jobs.observe(job, config);
                self.record_delay(job);
            }
        });
    }

    /// A pending job Workato no longer has (retention): nothing to observe.
    pub(super) fn forget_pending(&self, recipe_id: u64, job_id: &str) {
        self.with(recipe_id, |jobs, _| jobs.pending.remove(job_id));
    }

    pub(super) fn forget_recipe(&self, recipe_id: u64) {
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

    /// Writes the whole state to the state file (and empties its journal),
    /// if configured.
    pub fn save(&self) {
        if let Some(store) = &self.store {
            let state = self.lock().clone();
            let delays = self.delays();
            let saved = store.lock().unwrap_or_else(|p| p.into_inner()).save(&state, &delays);
            if let Err(error) = saved {
                self.store_failed(&error);
            }
        }
    }

    /// Tracked recipes (for tests and memory figures).
    pub fn tracked(&self) -> usize {
        self.lock().len()
    }
}
