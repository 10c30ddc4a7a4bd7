//! What the recipes list says about a recipe's jobs: the counts a jobs
//! cycle compares with what it saw last, and a recipe's baseline.

use serde::{Deserialize, Serialize};

use crate::snapshot::Recipe;

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
    pub(super) fn never_ran(&self) -> bool {
        self.succeeded == Some(0)
            && self.failed == Some(0)
            && self.last_run_at.is_none()
            && self.last_job_started_at.is_none()
    }

    /// Whether a job may have started since `seen`: either start time moved.
    pub(super) fn started_since(&self, seen: &Counts) -> bool {
        seen.last_run_at != self.last_run_at || seen.last_job_started_at != self.last_job_started_at
    }

    /// Whether the only move since `earlier` is a job's start: no job
    /// completed, so reading it finds nothing to count, only what runs.
    pub(super) fn only_started_since(&self, earlier: &Counts) -> bool {
        self.succeeded == earlier.succeeded
            && self.failed == earlier.failed
            && self.last_run_at == earlier.last_run_at
            && self.last_job_started_at != earlier.last_job_started_at
    }

    /// The most recent sign of activity, for reading busy recipes first.
    pub(super) fn latest(&self) -> f64 {
        self.last_run_at
            .unwrap_or(0.0)
            .max(self.last_job_started_at.unwrap_or(0.0))
    }
}
