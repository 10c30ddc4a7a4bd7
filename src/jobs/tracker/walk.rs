//! A recipe's walk through its jobs pages, as the tracker applies it:
//! calibrating on the newest page, a first read's older pages, where a
//! forward walk starts, each page it reads, how long a page is, and a walk
//! that misses the watermark.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use super::JobsTracker;
use crate::jobs::baseline::FirstRead;
use crate::jobs::{Counts, Mark, PendingJob, Walk};
use crate::snapshot::{Job, JobStatus};

impl JobsTracker {
    pub(in crate::jobs) fn learn_page_size(&self, len: usize) {
        self.page_size.0.fetch_max(len, Ordering::Relaxed);
    }

    /// True when a page this long cannot have a successor.
    pub(in crate::jobs) fn is_last_page(&self, len: usize) -> bool {
        len == 0 || len < self.page_size.get()
    }

    /// Takes the newest page as the starting point: its newest job is the
    /// watermark, its pending jobs (and `older_pending`, started before the
    /// page) are tracked, its completed jobs are history but for those in
    /// `new`, which are observed (completed since the recipe's baseline).
    /// A first read with older pages to go is kept to resume.
    pub(in crate::jobs) fn calibrate(
        &self,
        recipe_id: u64,
        counts: Counts,
        newest_page: &[Job],
        older_pending: &[Job],
        mut new: HashSet<String>,
        first_read: Option<FirstRead>,
    ) {
        self.change(recipe_id, |jobs, config| {
            jobs.calibrated = true;
            jobs.baseline = None;
            jobs.first_read = first_read;
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
                } else if new.remove(&job.id) {
                    self.observe(jobs, job, config);
                }
                jobs.watermark = Some(Mark {
                    id: job.id.clone(),
                    ordinal,
                });
                after = Some(job.id.clone());
            }
            jobs.seen = Some(counts);
            true
        });
    }

    /// One older page of a first read (newest first): its pending jobs
    /// are tracked, its completed jobs in `new` observed, and the read
    /// moves on to `first_read`, in one change, so that a restart resumes
    /// after this page and counts none of it twice.
    pub(in crate::jobs) fn first_read_page(
        &self,
        recipe_id: u64,
        page: &[Job],
        mut new: HashSet<String>,
        first_read: FirstRead,
    ) {
        self.change(recipe_id, |jobs, config| {
            for job in page.iter().filter(|j| !first_read.tracked.contains(&j.id)) {
                if job.status == JobStatus::Pending {
                    jobs.pending.entry(job.id.clone()).or_insert(PendingJob {
                        ordinal: 0,
                        after: None,
                    });
                } else if !jobs.pending.contains_key(&job.id) && new.remove(&job.id) {
                    self.observe(jobs, job, config);
                }
            }
            jobs.first_read = Some(first_read);
            true
        });
    }

    /// Ends a first read: the jobs in doubt that its counters settle
    /// (`new`) are observed, but for those tracked pending (the pending
    /// jobs' reads count them).
    pub(in crate::jobs) fn finish_first_read(&self, recipe_id: u64, new: &[Job]) {
        self.change(recipe_id, |jobs, config| {
            for job in new {
                if jobs.pending.contains_key(&job.id) {
                    continue;
                }
                self.observe(jobs, job, config);
            }
            jobs.first_read = None;
            true
        });
    }

    /// A first read still to finish.
    pub(in crate::jobs) fn first_read(&self, recipe_id: u64) -> Option<FirstRead> {
        self.read(recipe_id, |jobs| jobs.first_read.clone()).flatten()
    }

    /// Where this recipe's forward walk starts: at its oldest young pending
    /// job, or at the watermark (`None`: the recipe had no jobs at all).
    pub(in crate::jobs) fn walk_start(&self, recipe_id: u64) -> Option<(String, Walk)> {
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
    pub(in crate::jobs) fn apply_page(&self, recipe_id: u64, page: &[Job], walk: &mut Walk) {
        self.change(recipe_id, |jobs, config| {
            for job in page.iter().rev() {
                if !walk.met.insert(job.id.clone()) {
                    continue;
                }
                let after = walk.last.replace(job.id.clone());
                if jobs.pending.contains_key(&job.id) {
                    if job.status != JobStatus::Pending {
                        jobs.pending.remove(&job.id);
                        self.observe(jobs, job, config);
                    }
                } else if walk.past_watermark {
                    let ordinal = jobs.next_ordinal;
                    jobs.next_ordinal += 1;
                    if job.status == JobStatus::Pending {
                        jobs.pending.insert(job.id.clone(), PendingJob { ordinal, after });
                    } else {
                        self.observe(jobs, job, config);
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
            true
        });
    }

    /// A walk that started at a young pending job ended without meeting the
    /// watermark (Workato no longer lists it): its pending jobs are re-checked
    /// by id from now on, and the next walk starts at the watermark.
    pub(in crate::jobs) fn watermark_not_met(&self, recipe_id: u64) {
        self.change(recipe_id, |jobs, _| {
            for pending in jobs.pending.values_mut() {
                pending.after = None;
            }
            true
        });
    }
}
