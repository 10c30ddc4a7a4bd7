//! First sight of a recipe costs no call: its [`Counts`] from the recipes
//! list become its *baseline*, and a job counts iff it completes after it.
//! Only when the counts move is the recipe's first page read (newest
//! first, older pages while every job on them may be new); [`decide`] then
//! says which of its completed jobs are new.
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
//! 4. Jobs in doubt are settled by Workato's counters: of the Δ completions
//!    they moved by between the baseline and the sweep that saw them move,
//!    those not accounted for by jobs placed new by 1–3 (and completed by
//!    that sweep's `last_run_at`) are the latest-completed jobs in doubt;
//!    the rest are not counted.
//!
//! Rules 1–3 use only stamps Workato wrote before the baseline was taken,
//! so a job that completes between the recipes sweep and the jobs read is
//! placed like any other. Rule 4 never counts more jobs than Δ, itself a
//! lower bound on the new ones: it may miss a job in doubt when jobs also
//! completed between the sweep and the read, never count one twice.

use std::collections::HashSet;

use super::Counts;
use crate::snapshot::{Job, JobStatus};

/// How close two of Workato's timestamps may be while their order is not
/// to be trusted (different clocks, stamps cut to the second).
pub const TIE: f64 = 1.0;

/// What a recipe's first read decided about its completed jobs.
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

/// Which completed jobs of a first read (`jobs`, the pages read, newest
/// first) are new since `baseline`, the recipe's counts now being `now`.
pub fn decide(baseline: &Counts, now: &Counts, jobs: &[Job]) -> Decision {
    let mut decision = Decision::default();
    let mut doubt: Vec<&Job> = Vec::new();
    let completed: Vec<&Job> = jobs.iter().filter(|j| j.status != JobStatus::Pending).collect();
    for &job in &completed {
        match place(baseline, job) {
            Place::New => {
                decision.new.insert(job.id.clone());
            }
            Place::Old => {}
            Place::Doubt => doubt.push(job),
        }
    }
    let delta = delta(baseline, now);
    // The latest-completed first: new jobs completed after every old one.
    doubt.sort_by(|a, b| {
        let at = |j: &Job| j.completed_at.unwrap_or(f64::NEG_INFINITY);
        at(b).total_cmp(&at(a))
    });
    // Of the new jobs, those Δ counts: completed by the sweep's newest
    // completion (the others completed between the sweep and the read).
    let by_the_sweep = |jobs: &HashSet<String>| {
        let counted = |j: &&Job| match (now.last_run_at, j.completed_at) {
            (Some(last), Some(completed)) => completed <= last,
            _ => true,
        };
        jobs_read(jobs, &completed).filter(counted).count() as u64
    };
    let wanted = delta.saturating_sub(by_the_sweep(&decision.new));
    let taken = (wanted as usize).min(doubt.len());
    decision.new.extend(doubt[..taken].iter().map(|j| j.id.clone()));
    decision.doubtful = (doubt.len() - taken) as u64;
    decision.missing = delta.saturating_sub(by_the_sweep(&decision.new));
    decision
}

/// The jobs of `completed` whose ids are in `ids`.
fn jobs_read<'a>(ids: &'a HashSet<String>, completed: &'a [&'a Job]) -> impl Iterator<Item = &'a Job> + 'a {
    completed.iter().copied().filter(|j| ids.contains(&j.id))
}

#[cfg(test)]
mod tests;
