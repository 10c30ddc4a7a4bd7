//! The simulated workspace's state: the whole [`World`] and the entities
//! it holds, as Workato keeps them. `seed` builds it, `life` plays it
//! forward, `json` renders it; each of them imports this file, and this
//! file imports none of them.

use std::collections::{BTreeMap, VecDeque};

/// A recipe and the counters Workato keeps for it.
#[derive(Debug, Clone)]
pub struct SimRecipe {
    pub id: u64,
    pub name: String,
    pub folder_id: u64,
    pub project_id: Option<u64>,
    pub trigger_application: String,
    pub action_applications: Vec<String>,
    /// `(application, connection id)` per app the recipe uses.
    pub config: Vec<(String, Option<u64>)>,
    pub created_at: f64,
    pub updated_at: f64,
    pub running: bool,
    pub stopped_at: Option<f64>,
    pub stop_cause: Option<&'static str>,
    pub version_no: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub tasks: u64,
    /// As Workato: moved when a job completes, not when one starts.
    pub last_run_at: Option<f64>,
    /// When the newest job started.
    pub last_job_started_at: Option<f64>,
    /// A start is refused with these (a draft with an incomplete step).
    pub broken: bool,
    /// Mean jobs a minute while running, before the activity wave.
    pub jobs_per_minute: f64,
    /// Chance that a job fails in normal times.
    pub failure_rate: f64,
    /// Median job duration in seconds; durations are log-normal around it.
    pub median_duration: f64,
    /// Failed jobs in a row, for Workato's trigger error limit.
    pub consecutive_failures: u32,
    /// Jobs kept for the jobs API, oldest first (Workato's retention).
    pub jobs: VecDeque<SimJob>,
    /// Jobs not yet completed: `(seq, fate)`.
    pub pending: Vec<(u64, Pending)>,
}

/// One job. Its status at a given time follows from when it started and
/// how long it runs.
#[derive(Debug, Clone)]
pub struct SimJob {
    /// Global start order; newer jobs have higher sequence numbers.
    pub seq: u64,
    pub id: String,
    pub started_at: f64,
    pub completed_at: f64,
    pub error: Option<JobError>,
}

impl SimJob {
    pub fn completed_by(&self, now: f64) -> bool {
        self.completed_at <= now
    }

    /// Workato's `status` of the job at `now`.
    pub fn status(&self, now: f64) -> &'static str {
        match (self.completed_by(now), self.error.is_some()) {
            (false, _) => "pending",
            (true, true) => "failed",
            (true, false) => "succeeded",
        }
    }
}

/// Workato's `error_parts` of a failed job.
#[derive(Debug, Clone)]
pub struct JobError {
    pub adapter: String,
    pub error_type: &'static str,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct SimConnection {
    pub id: u64,
    pub name: String,
    pub application: String,
    pub folder_id: u64,
    pub created_at: f64,
    pub authorized_at: Option<f64>,
    /// `success`, `failed`, or `None` when never authorised.
    pub authorization_status: Option<&'static str>,
    pub authorization_error: Option<String>,
    pub lost_at: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct SimCollection {
    pub id: u64,
    pub name: String,
    pub version: String,
    pub project_id: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct SimEndpoint {
    pub id: u64,
    pub collection_id: u64,
    pub recipe_id: u64,
    pub name: String,
    pub method: &'static str,
    pub path: String,
    pub active: bool,
}

/// Which entities the scripted incidents act on (indices into the lists).
#[derive(Debug, Clone, Copy)]
pub struct Cast {
    /// Failures climb until Workato stops it with `trigger_errors_limit`.
    pub storm_recipe: usize,
    /// Stopped by `txn_quota_limit` for part of each cycle.
    pub quota_recipe: usize,
    /// Loses its authorisation for part of each cycle.
    pub lost_connection: usize,
    /// Disabled for part of each cycle while its recipe runs.
    pub disabled_endpoint: usize,
}

/// The whole simulated workspace.
pub struct World {
    pub rng: fastrand::Rng,
    /// Unix seconds of simulated time zero.
    pub epoch: f64,
    /// Whole simulated seconds already played.
    pub elapsed: u64,
    pub workspace_id: u64,
    pub workspace_name: String,
    pub root_folder_id: u64,
    pub recipes: Vec<SimRecipe>,
    pub connections: Vec<SimConnection>,
    pub collections: Vec<SimCollection>,
    pub endpoints: Vec<SimEndpoint>,
    pub properties: BTreeMap<String, String>,
    pub next_job_seq: u64,
    pub cast: Option<Cast>,
    pub incidents: bool,
    pub job_retention: usize,
    /// Jobs older than this many seconds are forgotten too (Embedded
    /// customers: memory grows with the job rate, not with the run's length).
    pub job_max_age: Option<f64>,
    pub jobs_page_size: usize,
    /// The `user_id` recipes carry: the workspace id for an Embedded
    /// customer, 17 for the lone demo workspace (as it always was).
    pub recipe_user_id: u64,
    /// The sequence number of the world's first job.
    pub first_job_seq: u64,
    /// Completed jobs per second, kept only for Embedded customers (the
    /// usage statistics endpoint reads it).
    pub usage: Option<UsageLog>,
}

/// Jobs and tasks completed in one simulated second.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub succeeded: u64,
    pub failed: u64,
    pub tasks: u64,
}

impl Usage {
    pub fn add(&mut self, other: Usage) {
        self.succeeded += other.succeeded;
        self.failed += other.failed;
        self.tasks += other.tasks;
    }
}

/// Completions by the Unix second of their `completed_at` for the recent
/// past, by the hour before that; only seconds and hours that saw one, so a
/// quiet customer's log stays short. The recent past spans at least the
/// jobs the jobs API still serves, so counts agree with them to the second;
/// older completions count by the hour they fell in. Workato keeps usage
/// for months; the simulator keeps [`UsageLog::KEEP`].
#[derive(Debug, Clone, Default)]
pub struct UsageLog {
    /// Seconds kept one by one.
    recent: u64,
    seconds: Vec<(u64, Usage)>,
    /// Older completions by the hour (its first second), oldest first.
    hours: Vec<(u64, Usage)>,
}

fn add_at(buckets: &mut Vec<(u64, Usage)>, at: u64, usage: Usage) {
    // Completions arrive almost in order: a tick ends jobs of the last
    // second or two, so the search from the end is short.
    match buckets.iter().rposition(|(s, _)| *s <= at) {
        Some(i) if buckets[i].0 == at => buckets[i].1.add(usage),
        Some(i) => buckets.insert(i + 1, (at, usage)),
        None => buckets.insert(0, (at, usage)),
    }
}

fn sum_between(buckets: &[(u64, Usage)], from: u64, to: u64) -> Usage {
    let start = buckets.partition_point(|(s, _)| *s < from);
    let mut total = Usage::default();
    for (_, usage) in buckets[start..].iter().take_while(|(s, _)| *s < to) {
        total.add(*usage);
    }
    total
}

impl UsageLog {
    /// Seconds of history kept (31 days, a billing period).
    pub const KEEP: u64 = 31 * 86_400;

    /// A log counting the last `recent` seconds one by one.
    pub fn new(recent: u64) -> UsageLog {
        UsageLog {
            recent,
            ..UsageLog::default()
        }
    }

    /// Counts a job completed at `completed_at` (Unix seconds).
    pub fn record(&mut self, completed_at: f64, failed: bool, tasks: u64) {
        let second = completed_at.max(0.0).floor() as u64;
        let usage = Usage {
            succeeded: u64::from(!failed),
            failed: u64::from(failed),
            tasks,
        };
        add_at(&mut self.seconds, second, usage);
        let horizon = second.saturating_sub(self.recent);
        let old = self.seconds.partition_point(|(s, _)| *s < horizon);
        for (at, usage) in self.seconds.drain(..old) {
            add_at(&mut self.hours, at - at % 3_600, usage);
        }
        let oldest = second.saturating_sub(Self::KEEP);
        if self.hours.first().is_some_and(|(s, _)| *s < oldest) {
            self.hours.retain(|(s, _)| *s >= oldest);
        }
    }

    /// Totals of the completions in `[from, to)`, Unix seconds; an older
    /// hour counts whole when its first second is in the range.
    pub fn between(&self, from: u64, to: u64) -> Usage {
        let mut total = sum_between(&self.hours, from, to);
        total.add(sum_between(&self.seconds, from, to));
        total
    }
}

/// A pending job's fate, kept apart from the listing so Workato's
/// retention of old jobs never loses a completion.
#[derive(Debug, Clone, Copy)]
pub struct Pending {
    pub completed_at: f64,
    pub failed: bool,
}

impl World {
    /// The ids of the connections that have lost their authorisation.
    pub fn lost_connection_ids(&self) -> Vec<u64> {
        self.connections
            .iter()
            .filter(|c| c.lost_at.is_some())
            .map(|c| c.id)
            .collect()
    }

    /// Unix seconds at the current simulated moment.
    pub fn now(&self) -> f64 {
        self.epoch + self.elapsed as f64
    }

    pub fn recipe_index(&self, id: u64) -> Option<usize> {
        // Recipes are created with increasing ids and never reordered.
        self.recipes.binary_search_by_key(&id, |r| r.id).ok()
    }

    /// Jobs started since simulated time zero.
    pub fn jobs_started(&self) -> u64 {
        self.next_job_seq - self.first_job_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usage_log_counts_each_completion_in_its_second_whatever_the_order() {
        let mut log = UsageLog::new(3_600);
        log.record(100.5, false, 3);
        log.record(101.2, true, 2);
        log.record(100.9, false, 4);
        log.record(99.0, false, 1);
        let count = |from, to| log.between(from, to);
        assert_eq!(
            count(100, 101),
            Usage {
                succeeded: 2,
                failed: 0,
                tasks: 7
            }
        );
        assert_eq!(
            count(0, 1_000),
            Usage {
                succeeded: 3,
                failed: 1,
                tasks: 10
            }
        );
        assert_eq!(count(101, 102).failed, 1);
        assert_eq!(count(102, 200), Usage::default());
    }

    #[test]
    fn the_usage_log_counts_older_completions_by_the_hour_and_forgets_the_oldest() {
        let mut log = UsageLog::new(600);
        log.record(7_210.0, false, 1);
        log.record(9_000.0, true, 1);
        log.record(10_000.0, false, 1);
        // 7,210 and 9,000 are past the recent 600 seconds: hour 7,200.
        assert_eq!(
            log.between(7_200, 7_201).succeeded + log.between(7_200, 7_201).failed,
            2
        );
        assert_eq!(
            log.between(7_201, 10_800),
            Usage {
                succeeded: 1,
                failed: 0,
                tasks: 1
            }
        );
        assert_eq!(log.between(0, u64::MAX).tasks, 3);
        log.record((UsageLog::KEEP + 10_000) as f64, false, 1);
        assert_eq!(log.between(0, u64::MAX).tasks, 1, "hour 7,200 (all three) is forgotten");
    }
}
