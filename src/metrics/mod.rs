//! The exporter's own registry: the workspace families rendered from the
//! snapshot, self-metrics about talking to Workato and polling, build info,
//! and process metrics. Nothing is registered in prometheus's global
//! default registry.

mod catalogue;
mod gzip;
mod inventory;
mod jobs;
mod text;
mod workspace;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;

use prometheus::{CounterVec, Encoder, GaugeVec, HistogramOpts, HistogramVec, Opts, Registry, TextEncoder};

pub use workspace::{BudgetView, WorkspaceCollector};

use crate::client::{Observer, Route};
use crate::jobs::JobsTracker;
use crate::snapshot::{Collector, SharedSnapshot};
use crate::version;

/// The Content-Type of the exposition we serve.
pub const TEXT_CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

/// Self-metrics the client and poller update as they work.
pub struct SelfMetrics {
    admin_requests: CounterVec,
    api_requests: CounterVec,
    api_request_duration: HistogramVec,
    collector_duration: HistogramVec,
}

impl SelfMetrics {
    /// Counts one admin request by action and HTTP status.
    pub fn observe_admin(&self, action: &str, code: u16) {
        self.admin_requests
            .with_label_values(&[action, &code.to_string()])
            .inc();
    }

    /// Records how long one poll of a collector took.
    pub fn observe_poll(&self, collector: Collector, elapsed: Duration) {
        self.collector_duration
            .with_label_values(&[collector.name()])
            .observe(elapsed.as_secs_f64());
    }
}

impl Observer for SelfMetrics {
    fn request_finished(&self, route: &Route, code: &str, elapsed: Duration) {
        self.api_requests.with_label_values(&[route.label, code]).inc();
        self.api_request_duration
            .with_label_values(&[route.label])
            .observe(elapsed.as_secs_f64());
    }
}

/// The registry and the handles that feed it.
pub struct Metrics {
    registry: Registry,
    pub self_metrics: Arc<SelfMetrics>,
    workspace: String,
    snapshot: OnceLock<Arc<SharedSnapshot>>,
    jobs: OnceLock<Arc<JobsTracker>>,
    cache: Mutex<Option<Rendered>>,
}

/// The inventory and job families as text and as a gzip prefix, rendered
/// once per change of the snapshot or the jobs tracker.
struct Rendered {
    key: (u64, u64),
    at: Instant,
    text: Bytes,
    gzip: gzip::Prefix,
}

/// Re-render at least this often, for values that move with time alone
/// (the failure ratio's sliding window).
const MAX_AGE: Duration = Duration::from_secs(15);

impl Metrics {
    /// Builds the registry. The workspace collector is added separately
    /// (`register_workspace`) because it needs the client's budget, and the
    /// client needs `self_metrics` first.
    pub fn new(workspace: &str) -> Metrics {
        let registry = Registry::new();
        let ws = |opts: Opts| opts.const_label("workspace", workspace);
        let api_requests = CounterVec::new(
            ws(Opts::new(
                "workato_api_requests_total",
                "Requests the exporter sent to Workato, by route template and HTTP status (error when no response came back).",
            )),
            &["endpoint", "code"],
        )
        .expect("valid metric");
        let api_request_duration = HistogramVec::new(
            HistogramOpts::new(
                "workato_api_request_duration_seconds",
                "Latency of requests to Workato, by route template.",
            )
            .const_label("workspace", workspace)
            .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
            &["endpoint"],
        )
        .expect("valid metric");
        let collector_duration = HistogramVec::new(
            HistogramOpts::new(
                "workato_collector_duration_seconds",
                "Time one poll of a collector took, waits for the rate budget included.",
            )
            .const_label("workspace", workspace)
            .buckets(vec![0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0]),
            &["collector"],
        )
        .expect("valid metric");
        let build_info = GaugeVec::new(
            Opts::new(
                "workato_exporter_build_info",
                "Version, git revision, build date, rustc version and target of the running exporter; always 1.",
            ),
            &["version", "revision", "build_date", "rustc_version", "target"],
        )
        .expect("valid metric");
        build_info
            .with_label_values(&[
                version::VERSION,
                version::REVISION,
                version::BUILD_DATE,
                version::RUSTC_VERSION,
                version::TARGET,
            ])
            .set(1.0);

        // No workspace label: one exporter, one admin route.
        let admin_requests = CounterVec::new(
            Opts::new(
                "workato_admin_requests_total",
                "Requests to the admin route, by action and HTTP status answered.",
            ),
            &["action", "code"],
        )
        .expect("valid metric");
        for collector in [
            Box::new(admin_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(api_requests.clone()),
            Box::new(api_request_duration.clone()),
            Box::new(collector_duration.clone()),
            Box::new(build_info),
            Box::new(prometheus::process_collector::ProcessCollector::for_self()),
        ] {
            registry.register(collector).expect("self-metrics have distinct names");
        }
        Metrics {
            registry,
            workspace: workspace.to_string(),
            snapshot: OnceLock::new(),
            jobs: OnceLock::new(),
            cache: Mutex::new(None),
            self_metrics: Arc::new(SelfMetrics {
                admin_requests,
                api_requests,
                api_request_duration,
                collector_duration,
            }),
        }
    }

    /// Adds the families rendered from the snapshot: the health families
    /// fresh on every scrape, the inventory once per change.
    pub fn register_workspace(
        &self,
        workspace: &str,
        snapshot: Arc<SharedSnapshot>,
        budget: Option<Arc<dyn BudgetView>>,
    ) {
        let collector = WorkspaceCollector::new(workspace, Arc::clone(&snapshot), budget);
        self.registry
            .register(Box::new(collector))
            .expect("workspace families do not clash with self-metrics");
        let _ = self.snapshot.set(snapshot);
    }

    /// Adds a family of the exporter's own beside the self-metrics (the web
    /// configuration's reload failures, only when one is in use).
    pub fn register(&self, collector: Box<dyn prometheus::core::Collector>) {
        if let Err(error) = self.registry.register(collector) {
            tracing::error!(%error, "registering a self-metric failed");
        }
    }

    /// Adds the job families rendered from the jobs tracker.
    pub fn register_jobs(&self, tracker: Arc<JobsTracker>) {
        let _ = self.jobs.set(tracker);
    }

    /// The inventory and job families, re-rendered when the snapshot or the
    /// jobs tracker changed (or the last rendering is older than MAX_AGE).
    fn rendered(&self) -> (Bytes, gzip::Prefix) {
        let key = (
            self.snapshot.get().map_or(0, |s| s.generation()),
            self.jobs.get().map_or(0, |j| j.generation()),
        );
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(rendered) = cache.as_ref().filter(|r| r.key == key && r.at.elapsed() < MAX_AGE) {
            return (rendered.text.clone(), rendered.gzip.clone());
        }
        // Drop the old rendering before building the new one: at 5,000
        // recipes each is megabytes.
        let capacity = cache.as_ref().map_or(64 * 1024, |r| r.text.len() + r.text.len() / 8);
        *cache = None;
        let mut text = String::with_capacity(capacity);
        if let Some(snapshot) = self.snapshot.get() {
            inventory::render(&snapshot.load(), &self.workspace, &mut text);
        }
        if let Some(jobs) = self.jobs.get() {
            jobs::render(jobs, &self.workspace, &mut text);
        }
        let text = Bytes::from(text.into_bytes());
        let rendered = Rendered {
            key,
            at: Instant::now(),
            gzip: gzip::Prefix::compress(&text),
            text,
        };
        let out = (rendered.text.clone(), rendered.gzip.clone());
        *cache = Some(rendered);
        out
    }

    /// The small families gathered from the registry on every scrape.
    fn dynamic(&self) -> Vec<u8> {
        let families = self.registry.gather();
        let mut buffer = Vec::with_capacity(16 * 1024);
        if let Err(error) = TextEncoder::new().encode(&families, &mut buffer) {
            // Only a family with an invalid name could fail; never expected,
            // but a scrape must not panic.
            tracing::error!(%error, "encoding metrics failed");
        }
        buffer
    }

    /// The whole exposition (text format 0.0.4), gzipped when asked, as
    /// buffers to send one after the other: the cached part is shared, not
    /// copied.
    pub fn scrape(&self, gzip: bool) -> Vec<Bytes> {
        let (text, prefix) = self.rendered();
        let dynamic = self.dynamic();
        if gzip {
            let (head, tail) = gzip::finish(&prefix, &dynamic);
            return vec![head, prefix.deflate(), tail];
        }
        vec![text, Bytes::from(dynamic)]
    }
}
