//! Job families, rendered from the jobs part of the snapshot: duration
//! histograms by status, pending jobs, failure ratio, errors by type. Only
//! recipes with job activity are there (see `JobStats`); a recipe deleted
//! in Workato leaves them with its tracker state.

use super::catalogue::{
    JOB_DURATION, JOB_ERRORS, JOB_FAILURE_RATIO, JOB_INGESTION_DELAY, JOBS_PENDING, JOBS_STATE_FILE_ERRORS,
};
use super::family::Extras;
use super::inventory::Family;
use super::text::Writer;
use super::view::View;
use crate::snapshot::{DELAY_BUCKETS, DURATION_BUCKETS, RecipeJobStats};

/// Every job family, in written order (after the inventory's).
pub const FAMILIES: [Family; 6] = [
    state_file_errors,
    ingestion_delay,
    durations,
    pending,
    failure_ratio,
    errors,
];

fn recipes<'v>(v: &'v View<'_>) -> impl Iterator<Item = (&'v RecipeJobStats, &'v str)> {
    v.snapshot
        .jobs
        .recipes
        .iter()
        .map(|r| &**r)
        .zip(v.job_recipe_ids.iter())
}

fn state_file_errors(v: &View<'_>, w: &mut Writer) {
    if let Some(errors) = v.snapshot.jobs.state_file_errors {
        w.sample(&JOBS_STATE_FILE_ERRORS, &[], errors as f64);
    }
}

/// Only once a job was counted, and while some recipe has job series.
fn ingestion_delay(v: &View<'_>, w: &mut Writer) {
    let jobs = &v.snapshot.jobs;
    if !jobs.recipes.is_empty() && jobs.delays.count > 0 {
        w.histogram(&JOB_INGESTION_DELAY, &[], &DELAY_BUCKETS, &jobs.delays);
    }
}

fn durations(v: &View<'_>, w: &mut Writer) {
    for (recipe, id) in recipes(v) {
        for status in [1, 0] {
            let values = [recipe.name.as_str(), id, ["succeeded", "failed"][status]];
            let detail = &recipe.detail[status];
            let extras = Extras {
                created: None,
                exemplars: Some((&detail.exemplars, id)),
                native: Some(&detail.native),
            };
            w.histogram_with(
                &JOB_DURATION,
                &values,
                &DURATION_BUCKETS,
                &recipe.durations[status],
                extras,
            );
        }
    }
}

fn pending(v: &View<'_>, w: &mut Writer) {
    for (recipe, id) in recipes(v) {
        w.sample(&JOBS_PENDING, &[&recipe.name, id], recipe.pending as f64);
    }
}

fn failure_ratio(v: &View<'_>, w: &mut Writer) {
    for (recipe, id) in recipes(v) {
        if let Some(ratio) = recipe.failure_ratio {
            w.sample(&JOB_FAILURE_RATIO, &[&recipe.name, id], ratio);
        }
    }
}

fn errors(v: &View<'_>, w: &mut Writer) {
    for (recipe, id) in recipes(v) {
        for ((adapter, error_type), count) in &recipe.errors {
            let values = [&**adapter, &**error_type, &recipe.name, id];
            w.sample(&JOB_ERRORS, &values, *count as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::snapshot::{Delays, Durations, JobStats, Snapshot};

    fn render(stats: &JobStats) -> String {
        let snapshot = Snapshot {
            jobs: Arc::new(stats.clone()),
            ..Snapshot::default()
        };
        let view = View::new(&snapshot);
        let mut w = Writer::new(crate::metrics::Format::Text, 0);
        w.set_workspace("w");
        for family in FAMILIES {
            family(&view, &mut w);
        }
        String::from_utf8(w.finish(false)).expect("UTF-8")
    }

    #[test]
    fn every_job_family_is_written_from_the_published_stats() {
        let mut failed = Durations::default();
        failed.observe(&DURATION_BUCKETS, 0.7);
        let mut delays = Delays::default();
        delays.observe(&DELAY_BUCKETS, 3.0);
        let stats = JobStats {
            state_file_errors: Some(2),
            delays,
            recipes: vec![Arc::new(RecipeJobStats {
                id: 7,
                name: "r".into(),
                durations: [Durations::default(), failed],
                detail: Default::default(),
                pending: 1,
                failure_ratio: Some(1.0),
                errors: vec![(("slack".into(), "Timeout".into()), 1)],
            })],
            ratios_expire_at: None,
        };
        let out = render(&stats);
        let has = |line: &str| out.lines().any(|l| l == line);
        assert!(has("workato_jobs_state_file_errors_total{workspace=\"w\"} 2"), "{out}");
        assert!(
            has("workato_job_ingestion_delay_seconds_bucket{workspace=\"w\",le=\"5\"} 1"),
            "{out}"
        );
        assert!(
            has("workato_job_ingestion_delay_seconds_count{workspace=\"w\"} 1"),
            "{out}"
        );
        let failed = "recipe=\"r\",recipe_id=\"7\",status=\"failed\",workspace=\"w\"";
        assert!(
            has(&format!("workato_job_duration_seconds_bucket{{{failed},le=\"0.5\"}} 0")),
            "{out}"
        );
        assert!(
            has(&format!("workato_job_duration_seconds_bucket{{{failed},le=\"1\"}} 1")),
            "{out}"
        );
        assert!(
            has(&format!("workato_job_duration_seconds_sum{{{failed}}} 0.7")),
            "{out}"
        );
        let recipe = "recipe=\"r\",recipe_id=\"7\",workspace=\"w\"";
        assert!(has(&format!("workato_recipe_jobs_pending{{{recipe}}} 1")), "{out}");
        assert!(has(&format!("workato_recipe_job_failure_ratio{{{recipe}}} 1")), "{out}");
        assert!(
            has(&format!(
                "workato_job_errors_total{{adapter=\"slack\",error_type=\"Timeout\",{recipe}}} 1"
            )),
            "{out}"
        );
        let families: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("# TYPE ")).collect();
        assert_eq!(
            families,
            [
                "workato_jobs_state_file_errors_total counter",
                "workato_job_ingestion_delay_seconds histogram",
                "workato_job_duration_seconds histogram",
                "workato_recipe_jobs_pending gauge",
                "workato_recipe_job_failure_ratio gauge",
                "workato_job_errors_total counter",
            ]
        );
    }

    #[test]
    fn without_job_activity_only_the_state_file_counter_is_written() {
        assert_eq!(render(&JobStats::default()), "");
        let stats = JobStats {
            state_file_errors: Some(0),
            ..JobStats::default()
        };
        let out = render(&stats);
        assert!(
            out.ends_with("workato_jobs_state_file_errors_total{workspace=\"w\"} 0\n"),
            "{out}"
        );
    }
}
