//! Job families rendered from the jobs tracker straight into text: duration
//! histograms by status, pending jobs, failure ratio, errors by type. A
//! recipe deleted in Workato leaves the tracker, and so these families.

use std::time::{SystemTime, UNIX_EPOCH};

use super::text::{Kind, TextWriter, write_value};
use crate::jobs::{DELAY_BUCKETS, DURATION_BUCKETS, JobsTracker, RecipeJobs};

const DURATION: (&str, &str) = (
    "workato_job_duration_seconds",
    "Duration of completed jobs, each observed once when the jobs poll first sees it completed.",
);
const PENDING: (&str, &str) = (
    "workato_recipe_jobs_pending",
    "Jobs of the recipe seen pending and not yet seen completed.",
);
const RATIO: (&str, &str) = (
    "workato_recipe_job_failure_ratio",
    "Failed / completed jobs of the recipe over the --jobs.window; absent when none completed in it.",
);
const DELAY: (&str, &str) = (
    "workato_job_ingestion_delay_seconds",
    "Time from a job's completion in Workato to the exporter counting it (how fresh job metrics are).",
);
const ERRORS: (&str, &str) = (
    "workato_job_errors_total",
    "Failed jobs by error_parts adapter and error_type; error types beyond the per-recipe cap count as other.",
);

/// The bucket bounds as label values, formatted once.
fn bounds(buckets: &[f64]) -> Vec<String> {
    buckets
        .iter()
        .map(|b| {
            let mut text = String::new();
            write_value(&mut text, *b);
            text
        })
        .chain(std::iter::once("+Inf".to_string()))
        .collect()
}

/// Appends the job families to `out`. Recipes with no job seen since the
/// exporter started get no job series: at 5,000 mostly idle recipes,
/// zero-filled histograms would be most of the exposition. Once a recipe has
/// run, both statuses appear, so `increase()` sees its first failure.
pub fn render(tracker: &JobsTracker, workspace: &str, out: &mut String) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let active =
        |jobs: &RecipeJobs| jobs.calibrated && (jobs.durations.iter().any(|d| d.count > 0) || !jobs.pending.is_empty());
    let mut w = TextWriter::new(out, workspace);
    let (mut any, mut ratios, mut errors) = (false, false, false);
    tracker.for_each(|_, jobs, config| {
        if active(jobs) {
            any = true;
            ratios |= jobs.failure_ratio(config.window, now).is_some();
            errors |= !jobs.errors.is_empty();
        }
    });
    if !any {
        return;
    }

    let delays = tracker.delays();
    if delays.count > 0 {
        w.family(DELAY.0, DELAY.1, Kind::Histogram);
        let mut cumulative = 0;
        for (bound, count) in bounds(&DELAY_BUCKETS).iter().zip(&delays.buckets) {
            cumulative += count;
            w.sample(
                "workato_job_ingestion_delay_seconds_bucket",
                &[],
                Some(("le", bound)),
                cumulative as f64,
            );
        }
        w.sample("workato_job_ingestion_delay_seconds_sum", &[], None, delays.sum);
        w.sample(
            "workato_job_ingestion_delay_seconds_count",
            &[],
            None,
            delays.count as f64,
        );
    }

    let bounds = bounds(&DURATION_BUCKETS);
    w.family(DURATION.0, DURATION.1, Kind::Histogram);
    tracker.for_each(|id, jobs, _| {
        if !active(jobs) {
            return;
        }
        let id = id.to_string();
        for (status, observed) in [("failed", &jobs.durations[1]), ("succeeded", &jobs.durations[0])] {
            let labels = [
                ("recipe", jobs.name.as_str()),
                ("recipe_id", id.as_str()),
                ("status", status),
            ];
            let mut cumulative = 0;
            for (bound, count) in bounds.iter().zip(&observed.buckets) {
                cumulative += count;
                w.sample(
                    "workato_job_duration_seconds_bucket",
                    &labels,
                    Some(("le", bound)),
                    cumulative as f64,
                );
            }
            w.sample("workato_job_duration_seconds_sum", &labels, None, observed.sum);
            w.sample(
                "workato_job_duration_seconds_count",
                &labels,
                None,
                observed.count as f64,
            );
        }
    });
    w.family(PENDING.0, PENDING.1, Kind::Gauge);
    tracker.for_each(|id, jobs, _| {
        if active(jobs) {
            let id = id.to_string();
            w.sample(
                PENDING.0,
                &[("recipe", jobs.name.as_str()), ("recipe_id", id.as_str())],
                None,
                jobs.pending.len() as f64,
            );
        }
    });
    if ratios {
        w.family(RATIO.0, RATIO.1, Kind::Gauge);
        tracker.for_each(|id, jobs, config| {
            if let Some(ratio) = jobs.failure_ratio(config.window, now).filter(|_| active(jobs)) {
                let id = id.to_string();
                w.sample(
                    RATIO.0,
                    &[("recipe", jobs.name.as_str()), ("recipe_id", id.as_str())],
                    None,
                    ratio,
                );
            }
        });
    }
    if errors {
        w.family(ERRORS.0, ERRORS.1, Kind::Counter);
        tracker.for_each(|id, jobs, _| {
            let id = id.to_string();
            for ((adapter, error_type), count) in &jobs.errors {
                let labels = [
                    ("adapter", adapter.as_str()),
                    ("error_type", error_type.as_str()),
                    ("recipe", jobs.name.as_str()),
                    ("recipe_id", id.as_str()),
                ];
                w.sample(ERRORS.0, &labels, None, *count as f64);
            }
        });
    }
}
