//! Job families rendered from the jobs tracker on every collect: duration
//! histograms by status, pending jobs, failure ratio, errors by type. A
//! recipe deleted in Workato leaves the tracker, and so these families.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus::core::{Collector, Desc};
use prometheus::proto::{Bucket, Histogram, LabelPair, Metric, MetricFamily, MetricType};
use prometheus::{CounterVec, GaugeVec, Opts};

use crate::jobs::{DURATION_BUCKETS, JobsTracker};

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
const ERRORS: (&str, &str) = (
    "workato_job_errors_total",
    "Failed jobs by error_parts adapter and error_type; error types beyond the per-recipe cap count as other.",
);

pub struct JobsCollector {
    workspace: String,
    tracker: Arc<JobsTracker>,
    descs: Vec<Desc>,
}

impl JobsCollector {
    pub fn new(workspace: &str, tracker: Arc<JobsTracker>) -> JobsCollector {
        let desc = |(name, help): (&str, &str), labels: &[&str]| {
            Desc::new(
                name.to_string(),
                help.to_string(),
                labels.iter().map(|l| l.to_string()).collect(),
                [("workspace".to_string(), workspace.to_string())].into(),
            )
            .expect("valid job metric")
        };
        let descs = vec![
            desc(DURATION, &["recipe_id", "recipe", "status"]),
            desc(PENDING, &["recipe_id", "recipe"]),
            desc(RATIO, &["recipe_id", "recipe"]),
            desc(ERRORS, &["recipe_id", "recipe", "adapter", "error_type"]),
        ];
        JobsCollector {
            workspace: workspace.to_string(),
            tracker,
            descs,
        }
    }

    fn label(name: &str, value: &str) -> LabelPair {
        let mut pair = LabelPair::default();
        pair.set_name(name.to_string());
        pair.set_value(value.to_string());
        pair
    }
}

impl Collector for JobsCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let opts = |(name, help): (&str, &str)| Opts::new(name, help).const_label("workspace", &self.workspace);
        let pending = GaugeVec::new(opts(PENDING), &["recipe_id", "recipe"]).expect("valid job metric");
        let ratio = GaugeVec::new(opts(RATIO), &["recipe_id", "recipe"]).expect("valid job metric");
        let errors =
            CounterVec::new(opts(ERRORS), &["recipe_id", "recipe", "adapter", "error_type"]).expect("valid job metric");
        let mut durations = MetricFamily::default();
        durations.set_name(DURATION.0.to_string());
        durations.set_help(DURATION.1.to_string());
        durations.set_field_type(MetricType::HISTOGRAM);

        self.tracker.for_each(|id, jobs, config| {
            // Recipes with no job seen since the exporter started get no job
            // series: at 5,000 mostly idle recipes, zero-filled histograms
            // would be most of the exposition. Once a recipe has run, both
            // statuses appear, so `increase()` sees its first failure.
            let observed = jobs.durations.iter().any(|d| d.count > 0);
            if !jobs.calibrated || (!observed && jobs.pending.is_empty()) {
                return;
            }
            let id = id.to_string();
            let failure_ratio = jobs.failure_ratio(config.window, now);
            let recipe = [id.as_str(), jobs.name.as_str()];
            pending.with_label_values(&recipe).set(jobs.pending.len() as f64);
            if let Some(value) = failure_ratio {
                ratio.with_label_values(&recipe).set(value);
            }
            for ((adapter, error_type), count) in &jobs.errors {
                errors
                    .with_label_values(&[id.as_str(), &jobs.name, adapter, error_type])
                    .inc_by(*count as f64);
            }
            for (status, observed) in ["succeeded", "failed"].iter().zip(&jobs.durations) {
                let mut histogram = Histogram::default();
                histogram.set_sample_count(observed.count);
                histogram.set_sample_sum(observed.sum);
                let mut cumulative = 0;
                for (bound, count) in DURATION_BUCKETS.iter().zip(&observed.buckets) {
                    cumulative += count;
                    let mut bucket = Bucket::default();
                    bucket.set_upper_bound(*bound);
                    bucket.set_cumulative_count(cumulative);
                    histogram.bucket.push(bucket);
                }
                let mut metric = Metric::default();
                metric.set_label(vec![
                    Self::label("recipe", &jobs.name),
                    Self::label("recipe_id", &id),
                    Self::label("status", status),
                    Self::label("workspace", &self.workspace),
                ]);
                metric.set_histogram(histogram);
                durations.mut_metric().push(metric);
            }
        });
        let mut out = vec![durations];
        out.extend(pending.collect());
        out.extend(ratio.collect());
        out.extend(errors.collect());
        out
    }
}
