//! Job families rendered from the jobs tracker straight into text: duration
//! histograms by status, pending jobs, failure ratio, errors by type. A
//! recipe deleted in Workato leaves the tracker, and so these families.

use std::time::{SystemTime, UNIX_EPOCH};

use super::catalogue::{
    JOB_DURATION, JOB_ERRORS, JOB_FAILURE_RATIO, JOB_INGESTION_DELAY, JOBS_PENDING, JOBS_STATE_FILE_ERRORS, header,
};
use super::text::{TextWriter, write_value};
use crate::jobs::{DELAY_BUCKETS, DURATION_BUCKETS, JobsTracker, RecipeJobs};

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
    if tracker.config().state_file.is_some() {
        header(&mut w, &JOBS_STATE_FILE_ERRORS);
        w.sample(
            "workato_jobs_state_file_errors_total",
            &[],
            None,
            tracker.state_file_errors() as f64,
        );
    }
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
        header(&mut w, &JOB_INGESTION_DELAY);
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
    header(&mut w, &JOB_DURATION);
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
    header(&mut w, &JOBS_PENDING);
    tracker.for_each(|id, jobs, _| {
        if active(jobs) {
            let id = id.to_string();
            w.sample(
                JOBS_PENDING.name,
                &[("recipe", jobs.name.as_str()), ("recipe_id", id.as_str())],
                None,
                jobs.pending.len() as f64,
            );
        }
    });
    if ratios {
        header(&mut w, &JOB_FAILURE_RATIO);
        tracker.for_each(|id, jobs, config| {
            if let Some(ratio) = jobs.failure_ratio(config.window, now).filter(|_| active(jobs)) {
                let id = id.to_string();
                w.sample(
                    JOB_FAILURE_RATIO.name,
                    &[("recipe", jobs.name.as_str()), ("recipe_id", id.as_str())],
                    None,
                    ratio,
                );
            }
        });
    }
    if errors {
        header(&mut w, &JOB_ERRORS);
        tracker.for_each(|id, jobs, _| {
            let id = id.to_string();
            for ((adapter, error_type), count) in &jobs.errors {
                let labels = [
                    ("adapter", adapter.as_str()),
                    ("error_type", error_type.as_str()),
                    ("recipe", jobs.name.as_str()),
                    ("recipe_id", id.as_str()),
                ];
                w.sample(JOB_ERRORS.name, &labels, None, *count as f64);
            }
        });
    }
}
