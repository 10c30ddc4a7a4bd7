//! First sight of a recipe costs no call: its [`Counts`] from the recipes
//! list become its *baseline*, and a job counts iff it completes after it.
//! Only when the counts move is the recipe's *first read* made
//! ([`FirstRead`]): its newest page, then older pages while every job on
//! them may be new. Each page's jobs are placed as it is applied, so a read
//! cut short by a restart resumes after its last page.
//!
//! The rule, in the order it is applied to each completed job:
//!
//! 1. The baseline's counters were both 0: nothing had completed, so every
//!    completed job is new.
//! 2. It started more than [`TIE`] after the baseline's
//!    `last_job_started_at` (the newest start Workato had recorded): it did
//!    not exist at the baseline, so it is new.
//! 3. Against the baseline's `last_run_at` (Workato moves it when a job
//!    completes: the newest completion it had counted): completed at or
//!    before it, old; after it, new. When `last_run_at` is a whole second
//!    (perhaps cut to the second), a job completed within that second is in
//!    doubt; without `last_run_at` every such job is.
//! 4. Jobs in doubt are settled, once the pages are read, by Workato's
//!    counters: of the Δ completions they moved by between the baseline
//!    and the sweep that saw them move, those not accounted for by jobs
//!    placed new by 1–3 (and completed by that sweep's `last_run_at`) are
//!    the latest-completed jobs in doubt; the rest are not counted.
//!
//! Rules 1–3 use only stamps Workato wrote before the baseline was taken,
//! so a job that completes between the recipes sweep and the jobs read is
//! placed like any other. Rule 4 never counts more jobs than Δ, itself a
//! lower bound on the new ones: it may miss a job in doubt when jobs also
//! completed between the sweep and the read, never count one twice.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::{Deserialize, Serialize};

use super::counts::Counts;
use crate::snapshot::{Job, JobStatus};

/// How close two of Workato's timestamps may be while their order is not
/// to be trusted (different clocks, stamps cut to the second).
pub const TIE: f64 = 1.0;

/// What a recipe's first read decided about its completed jobs.
#[cfg(test)]
#[derive(Debug, Default, PartialEq)]
pub struct Decision {
    /// Completed since the baseline: to be counted.
    pub new: HashSet<String>,
    /// In doubt and left uncounted (rule 4).
    pub doubtful: u64,
    /// Completions Workato's counters show since the baseline that no job
    /// read accounts for (a job running at the baseline that completed
    /// off the pages read, or more jobs than the read's page cap).
    pub missing: u64,
}

#[derive(Debug, PartialEq)]
enum Place {
    New,
    Old,
    Doubt,
}

/// Completions since the baseline by Workato's counters (0 when a counter
/// is missing or went back).
fn delta(baseline: &Counts, now: &Counts) -> u64 {
    match (baseline.succeeded, baseline.failed, now.succeeded, now.failed) {
        (Some(s0), Some(f0), Some(s1), Some(f1)) => (s1 + f1).saturating_sub(s0 + f0),
        _ => 0,
    }
}

/// Whether a timestamp has no milliseconds (Workato sends them).
fn whole_second(t: f64) -> bool {
    (t * 1000.0).round().rem_euclid(1000.0) == 0.0
}

/// Where a completed job stands against the baseline by rules 1–3.
fn place(baseline: &Counts, job: &Job) -> Place {
    let nothing_completed = baseline.succeeded == Some(0) && baseline.failed == Some(0);
    let started_after = matches!((baseline.last_job_started_at, job.started_at), (Some(l), Some(s)) if s > l + TIE);
    if nothing_completed || started_after {
        return Place::New;
    }
    match (baseline.last_run_at, job.completed_at) {
        (Some(last), Some(completed)) if whole_second(last) => {
            if completed < last {
                Place::Old
            } else if completed >= last + TIE {
                Place::New
            } else {
                Place::Doubt
            }
        }
        (Some(last), Some(completed)) if completed <= last => Place::Old,
        (Some(_), Some(_)) => Place::New,
        _ => Place::Doubt,
    }
}

/// Whether `job` surely existed at the baseline: a page holding one holds
/// (with the pages before it) every job started since, so the first read
/// goes no further back.
pub fn before_baseline(baseline: &Counts, job: &Job) -> bool {
    let started_before = matches!((baseline.last_job_started_at, job.started_at), (Some(l), Some(s)) if s < l - TIE);
    started_before || (job.status != JobStatus::Pending && place(baseline, job) == Place::Old)
}

/// The most jobs in doubt a first read keeps for rule 4; more are left
/// uncounted (counted as doubtful). A bound on what a server's stamps can
/// make the state file hold.
pub const MAX_DOUBTS: usize = 1_000;

/// A first read in progress: the newest pages are read one at a time,
/// older and older, and each page's new jobs are counted as it is applied,
/// so a read that a restart interrupts resumes at `cursor` and counts
/// nothing twice. Kept with the recipe's state (state file and journal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirstRead {
    /// The recipe's counts when first seen.
    pub baseline: Counts,
    /// Its counts in the sweep that saw them move (Δ is from `baseline`).
    pub counts: Counts,
    /// The oldest job read: the next page is the one before it.
    pub cursor: Option<String>,
    /// Pages read.
    pub pages: u32,
    /// Jobs placed new by rules 1–3 and completed by the sweep.
    pub new_by_sweep: u64,
    /// Jobs in doubt, kept for rule 4 (at most [`MAX_DOUBTS`]).
    pub doubts: Vec<Doubt>,
    /// Jobs in doubt past [`MAX_DOUBTS`].
    pub doubts_over: u64,
    /// A job that surely existed at the baseline was read.
    pub reached: bool,
    /// A short page was read: the pages hold the whole history.
    pub whole_history: bool,
    /// The jobs running since before the newest page when it was read:
    /// tracked from then on, and counted by their own reads once they
    /// complete, so not where the older pages list them.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub tracked: BTreeSet<String>,
    /// The jobs read so far, by id, and when they started (at most
    /// [`MAX_REMEMBERED`]): a page listing one again (pages overlapping
    /// where starts tie, a server going back) has it passed over, so that
    /// no job counts twice.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub remembered: BTreeMap<String, Option<f64>>,
    /// Past [`MAX_REMEMBERED`], the latest-started jobs are forgotten
    /// first: the earliest start forgotten. A job not remembered that
    /// started at or after it may have been read, and is passed over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forgotten_from: Option<f64>,
    /// A job with no start was forgotten: such jobs are passed over now.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forgot_unstarted: bool,
}

/// The most jobs a first read remembers by id (ten pages of Workato's).
pub const MAX_REMEMBERED: usize = 1_000;

/// A page that brings nothing but jobs a first read took already: a
/// server not advancing (it ignores the offset, say), to be reported.
/// (Any page with one job not read before is taken.)
#[derive(Debug, PartialEq)]
pub struct NothingNew;

/// A completed job in doubt, as much of it as counting it later needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Doubt {
    pub id: String,
    pub failed: bool,
    pub started_at: Option<f64>,
    pub completed_at: Option<f64>,
    pub error: Option<(String, String)>,
}

impl From<&Job> for Doubt {
    fn from(job: &Job) -> Doubt {
        Doubt {
            id: job.id.clone(),
            failed: job.status == JobStatus::Failed,
            started_at: job.started_at,
            completed_at: job.completed_at,
            error: job.error.clone(),
        }
    }
}

impl From<&Doubt> for Job {
    fn from(doubt: &Doubt) -> Job {
        Job {
            id: doubt.id.clone(),
            status: if doubt.failed {
                JobStatus::Failed
            } else {
                JobStatus::Succeeded
            },
            started_at: doubt.started_at,
            completed_at: doubt.completed_at,
            error: doubt.error.clone(),
        }
    }
}

/// The end of a first read.
#[derive(Debug, Default, PartialEq)]
pub struct Settled {
    /// Jobs in doubt that rule 4 counts.
    pub new: Vec<Job>,
    /// In doubt and left uncounted.
    pub doubtful: u64,
    /// Completions Workato's counters show since the baseline that no job
    /// read accounts for (a job running at the baseline that completed
    /// off the pages read, or more jobs than the read's page cap).
    pub missing: u64,
}

impl FirstRead {
    pub fn new(baseline: Counts, counts: Counts) -> FirstRead {
        FirstRead {
            baseline,
            counts,
            cursor: None,
            pages: 0,
            new_by_sweep: 0,
            doubts: Vec::new(),
            doubts_over: 0,
            reached: false,
            whole_history: false,
            tracked: BTreeSet::new(),
            remembered: BTreeMap::new(),
            forgotten_from: None,
            forgot_unstarted: false,
        }
    }

    /// Whether a job counted now is one Δ counts: completed by the sweep's
    /// newest completion (later ones completed between the sweep and the read).
    fn by_the_sweep(&self, completed_at: Option<f64>) -> bool {
        match (self.counts.last_run_at, completed_at) {
            (Some(last), Some(completed)) => completed <= last,
            _ => true,
        }
    }

    /// Takes in one page (newest first, each older than the last): returns
    /// its completed jobs that rules 1–3 place new, to be counted now, each
    /// once. Jobs read already (or perhaps read, once forgotten) are passed
    /// over; a page of nothing else is [`NothingNew`] and changes nothing.
    pub fn read<'a>(&mut self, page: &'a [Job], short: bool) -> Result<Vec<&'a Job>, NothingNew> {
        let mut listed = HashSet::new();
        let fresh: Vec<&Job> = page
            .iter()
            .filter(|j| !self.remembered.contains_key(&j.id) && listed.insert(j.id.as_str()))
            .collect();
        if fresh.is_empty() && !page.is_empty() {
            return Err(NothingNew);
        }
        let mut new = Vec::new();
        for job in fresh {
            if self.maybe_read(job) {
                continue;
            }
            self.remember(job);
            self.reached |= before_baseline(&self.baseline, job);
            if job.status == JobStatus::Pending || self.tracked.contains(&job.id) {
                continue;
            }
            match place(&self.baseline, job) {
                Place::New => {
                    if self.by_the_sweep(job.completed_at) {
                        self.new_by_sweep += 1;
                    }
                    new.push(job);
                }
                Place::Old => {}
                Place::Doubt if self.doubts.len() < MAX_DOUBTS => self.doubts.push(job.into()),
                Place::Doubt => self.doubts_over += 1,
            }
        }
        if let Some(last) = page.last() {
            self.cursor = Some(last.id.clone());
        }
        self.pages += 1;
        self.whole_history |= short;
        Ok(new)
    }

    /// Whether a job not remembered may still have been read: it started
    /// no earlier than a job forgotten.
    fn maybe_read(&self, job: &Job) -> bool {
        match job.started_at {
            Some(started) => self.forgotten_from.is_some_and(|from| started >= from),
            None => self.forgot_unstarted,
        }
    }

    /// Remembers a job read, forgetting the latest-started past the bound
    /// (jobs with no start first): the earliest ones are those the next
    /// pages may list again.
    fn remember(&mut self, job: &Job) {
        self.remembered.insert(job.id.clone(), job.started_at);
        while self.remembered.len() > MAX_REMEMBERED {
            let latest = (self.remembered.iter())
                .max_by(|(_, a), (_, b)| a.unwrap_or(f64::INFINITY).total_cmp(&b.unwrap_or(f64::INFINITY)))
                .map(|(id, started)| (id.clone(), *started));
            let Some((id, started)) = latest else { break };
            self.remembered.remove(&id);
            match started {
                Some(started) => self.forgotten_from = Some(self.forgotten_from.map_or(started, |f| f.min(started))),
                None => self.forgot_unstarted = true,
            }
        }
    }

    /// Rule 4: the latest-completed jobs in doubt, as many as Δ leaves
    /// unexplained.
    fn taken(&self) -> Vec<&Doubt> {
        let wanted = delta(&self.baseline, &self.counts).saturating_sub(self.new_by_sweep);
        let mut doubts: Vec<&Doubt> = self.doubts.iter().collect();
        doubts.sort_by(|a, b| {
            let at = |d: &Doubt| d.completed_at.unwrap_or(f64::NEG_INFINITY);
            at(b).total_cmp(&at(a))
        });
        doubts.truncate(wanted.min(usize::MAX as u64) as usize);
        doubts
    }

    fn missing(&self, taken: &[&Doubt]) -> u64 {
        let by_the_sweep = taken.iter().filter(|d| self.by_the_sweep(d.completed_at)).count() as u64;
        delta(&self.baseline, &self.counts).saturating_sub(self.new_by_sweep + by_the_sweep)
    }

    /// Whether older pages are needed no more: the whole history was read,
    /// or a job that existed at the baseline was and every completion
    /// Workato's counters show since is accounted for (else a job that ran
    /// across the baseline, started pages earlier, is still to be found).
    pub fn is_done(&self) -> bool {
        self.whole_history || (self.reached && self.missing(&self.taken()) == 0)
    }

    /// Settles the jobs in doubt by rule 4.
    pub fn settle(&self) -> Settled {
        let taken = self.taken();
        Settled {
            new: taken.iter().map(|&d| d.into()).collect(),
            doubtful: (self.doubts.len() - taken.len()) as u64 + self.doubts_over,
            missing: self.missing(&taken),
        }
    }
}

/// Which completed jobs of a first read (`jobs`, the pages read, newest
/// first) are new since `baseline`, the recipe's counts now being `now`:
/// [`FirstRead`] over them as one page.
#[cfg(test)]
pub fn decide(baseline: &Counts, now: &Counts, jobs: &[Job]) -> Decision {
    let mut read = FirstRead::new(*baseline, *now);
    let mut new: HashSet<String> = read
        .read(jobs, false)
        .expect("one page is never all jobs read before")
        .into_iter()
        .map(|j| j.id.clone())
        .collect();
    let settled = read.settle();
    new.extend(settled.new.into_iter().map(|j| j.id));
    Decision {
        new,
        doubtful: settled.doubtful,
        missing: settled.missing,
    }
}

#[cfg(test)]
mod tests;
