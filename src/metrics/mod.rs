//! The exposition: everything `/metrics` says, written by one writer
//! ([`text`]) from the families of one catalogue ([`catalogue`]).
//!
//! It has two parts. The large one — the [`inventory`] and the [`jobs`]
//! families, one series or more per recipe — depends on the snapshot alone
//! and is rendered once per snapshot generation ([`cache`]). The live one —
//! [`health`], the [`self_metrics`] and process metrics — is a few dozen
//! series written on every scrape. Rendering reads the snapshot and the
//! self-metrics and changes nothing; nothing is registered in a global
//! registry.

mod cache;
mod catalogue;
mod family;
mod health;
mod inventory;
mod jobs;
mod self_metrics;
mod text;

use std::sync::Arc;

use bytes::Bytes;
use prometheus::process_collector::ProcessCollector;

pub use health::BudgetView;
pub use self_metrics::SelfMetrics;
use text::Writer;

use crate::snapshot::{SharedSnapshot, Snapshot};

/// The Content-Type of the exposition we serve.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// What `/metrics` renders, and the render cache.
pub struct Metrics {
    workspace: String,
    snapshot: Arc<SharedSnapshot>,
    self_metrics: Arc<SelfMetrics>,
    /// The client's rate budget, when there is a client.
    budget: Option<Arc<dyn BudgetView>>,
    process: ProcessCollector,
    cache: cache::Cache,
}

impl Metrics {
    /// The exposition of `snapshot` and `self_metrics`, every series labelled
    /// with `workspace`.
    pub fn new(
        workspace: &str,
        snapshot: Arc<SharedSnapshot>,
        self_metrics: Arc<SelfMetrics>,
        budget: Option<Arc<dyn BudgetView>>,
    ) -> Metrics {
        Metrics {
            workspace: workspace.to_string(),
            snapshot,
            self_metrics,
            budget,
            process: ProcessCollector::for_self(),
            cache: cache::Cache::default(),
        }
    }

    /// The inventory and job families of a snapshot.
    fn large(&self, snapshot: &Snapshot, capacity: usize) -> String {
        let mut out = String::with_capacity(capacity);
        let mut w = Writer::new(&mut out, &self.workspace);
        inventory::render(snapshot, &mut w);
        jobs::render(&snapshot.jobs, &mut w);
        out
    }

    /// The same, compressed as it is written.
    fn large_deflated(&self, snapshot: &Snapshot, deflating: &mut cache::Deflating) {
        let mut out = String::with_capacity(text::SPILL_BYTES + 64 * 1024);
        let mut spill = |buffer: &mut String| {
            deflating.feed(buffer.as_bytes());
            buffer.clear();
        };
        let mut w = Writer::spilling(&mut out, &self.workspace, &mut spill);
        inventory::render(snapshot, &mut w);
        jobs::render(&snapshot.jobs, &mut w);
        drop(w);
        deflating.feed(out.as_bytes());
    }

    /// The families written on every scrape, in name order as Prometheus'
    /// client libraries sort them (a test keeps it so).
    fn live(&self, snapshot: &Snapshot) -> String {
        let mut out = String::with_capacity(16 * 1024);
        self_metrics::render_process(&self.process, &mut out);
        let mut w = Writer::new(&mut out, &self.workspace);
        let recorded = &self.self_metrics;
        recorded.render_admin_requests(&mut w);
        health::rate_limit_remaining(self.budget.as_deref(), &mut w);
        recorded.render_api_request_durations(&mut w);
        recorded.render_api_requests(&mut w);
        health::collector_available(snapshot, &mut w);
        recorded.render_poll_durations(&mut w);
        health::collector_last_success(snapshot, &mut w);
        health::collector_up(snapshot, &mut w);
        self_metrics::render_build_info(&mut w);
        recorded.render_web_config_reload_failures(&mut w);
        health::recipes(snapshot, &mut w);
        health::up(snapshot, &mut w);
        health::workspace_info(snapshot, &mut w);
        out
    }

    /// The whole exposition (text format 0.0.4), gzipped when asked, as
    /// buffers to send one after the other: the cached part is shared, not
    /// copied.
    pub fn scrape(&self, gzip: bool) -> Vec<Bytes> {
        // One snapshot for both parts, and the generation read before it:
        // a newer snapshot at worst renders again at the next scrape.
        let generation = self.snapshot.generation();
        let snapshot = self.snapshot.load();
        let text = |capacity| self.large(&snapshot, capacity);
        if gzip {
            let prefix = self
                .cache
                .deflated(generation, |deflating| self.large_deflated(&snapshot, deflating));
            let live = self.live(&snapshot);
            return match (cache::finish(&prefix, live.as_bytes()), prefix.deflate()) {
                (Some((head, tail)), Some(deflate)) => vec![head, deflate, tail],
                _ => vec![cache::gzip_whole(&self.cache.text(generation, text), live.as_bytes())],
            };
        }
        let large = self.cache.text(generation, text);
        vec![large, Bytes::from(self.live(&snapshot).into_bytes())]
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::client::{Group, Observer, Route};
    use crate::snapshot::{Collector, CollectorStatus, JobStats, RecipeJobStats, WorkspaceInfo};

    struct FullBudget;

    impl BudgetView for FullBudget {
        fn remaining(&self, _: Group) -> u32 {
            50
        }
    }

    /// A snapshot and self-metrics in which every family has a sample.
    fn everything() -> Metrics {
        let snapshot = Arc::new(SharedSnapshot::default());
        snapshot.update(|s| {
            s.workspace = Some(Arc::new(WorkspaceInfo {
                id: 17,
                name: "Acme".into(),
                plan: "oem".into(),
            }));
            for c in Collector::ALL {
                let status = CollectorStatus {
                    up: true,
                    last_success: Some(1.0),
                    ..CollectorStatus::default()
                };
                s.collectors.insert(c, status);
            }
            s.jobs = Arc::new(JobStats {
                recipes: vec![RecipeJobStats {
                    id: 1,
                    name: "r".into(),
                    failure_ratio: Some(0.5),
                    ..RecipeJobStats::default()
                }],
                ..JobStats::default()
            });
        });
        let recorded = Arc::new(SelfMetrics::default());
        recorded.observe_admin("start_recipe", 200);
        recorded.observe_poll(Collector::Recipes, Duration::from_millis(30));
        let route = Route {
            label: "GET /api/recipes",
            ..crate::client::LIST_JOBS
        };
        recorded.request_finished(&route, "200", Duration::from_millis(80));
        Metrics::new("w", snapshot, recorded, Some(Arc::new(FullBudget)))
    }

    fn families(text: &str) -> Vec<&str> {
        text.lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .collect()
    }

    #[test]
    fn the_live_part_writes_its_families_in_name_order() {
        let metrics = everything();
        let live = metrics.live(&metrics.snapshot.load());
        let written = families(&live);
        let mut sorted = written.clone();
        sorted.sort_unstable();
        assert_eq!(written, sorted);
        let workato: Vec<&str> = written.into_iter().filter(|f| f.starts_with("workato_")).collect();
        assert_eq!(workato.len(), 13, "every live family has a sample here: {workato:?}");
        assert!(live.contains("process_resident_memory_bytes "), "{live}");
    }

    #[test]
    fn the_large_part_deflated_as_written_inflates_to_the_text() {
        use std::io::Read;
        let metrics = everything();
        metrics.snapshot.update(|s| {
            let recipes = (1..=3_000u64)
                .map(|id| crate::snapshot::Recipe {
                    id,
                    name: format!("recipe number {id} with a name long enough to matter"),
                    folder_id: Some(id % 7),
                    project_id: None,
                    running: Some(id % 3 != 0),
                    stop_cause: None,
                    trigger_application: Some("salesforce".into()),
                    version: Some("3".into()),
                    jobs_succeeded: Some(id * 10),
                    jobs_failed: Some(id),
                    tasks: Some(id * 100),
                    last_run_at: Some(1.7e9),
                    last_job_started_at: Some(1.7e9),
                    stopped_at: None,
                    connection_ids: vec![id % 50],
                })
                .collect();
            s.recipes = Arc::new(recipes);
        });
        let plain: Vec<u8> = metrics.scrape(false).concat();
        assert!(
            plain.len() > 4 * text::SPILL_BYTES,
            "spilled several times: {}",
            plain.len()
        );
        let gzipped: Vec<u8> = metrics.scrape(true).concat();
        let mut inflated = Vec::new();
        flate2::read::GzDecoder::new(&gzipped[..])
            .read_to_end(&mut inflated)
            .expect("valid gzip");
        // The live part (process metrics) may differ between two scrapes:
        // compare up to the first family of the live part.
        let cut = |text: &[u8]| {
            let text = String::from_utf8_lossy(text).into_owned();
            text[..text.find("# HELP process_").expect("live part")].to_string()
        };
        assert_eq!(cut(&inflated), cut(&plain));
    }

    #[test]
    fn scraping_changes_nothing_and_renders_the_large_part_once() {
        let metrics = everything();
        let generation = metrics.snapshot.generation();
        let jobs = Arc::clone(&metrics.snapshot.load().jobs);
        let first = metrics.scrape(false);
        for gzip in [false, true, false] {
            metrics.scrape(gzip);
        }
        let again = metrics.scrape(false);
        assert_eq!(metrics.snapshot.generation(), generation, "no update");
        assert!(
            Arc::ptr_eq(&jobs, &metrics.snapshot.load().jobs),
            "the job stats are as published"
        );
        assert_eq!(
            first[0].as_ptr(),
            again[0].as_ptr(),
            "the cached text, not a new rendering"
        );
        let text = String::from_utf8_lossy(&again[0]);
        assert!(
            text.contains("workato_recipe_job_failure_ratio{recipe=\"r\",recipe_id=\"1\",workspace=\"w\"} 0.5"),
            "{text}"
        );
    }
}
