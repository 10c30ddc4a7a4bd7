//! What belongs to the exporter process rather than to one workspace:
//! build info, the outcome of configuration reloads, the shard this
//! replica is, how many workspaces it watches, `--web.config.file` reload
//! failures, and the `process_*` metrics. Those about a configuration file
//! or shards are written only once the app has said it uses one.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use prometheus::core::Collector as _;
use prometheus::process_collector::ProcessCollector;
use prometheus::proto::MetricType;

use super::catalogue::{
    BUILD_INFO, CONFIG_RELOAD_SUCCESS_TIMESTAMP, CONFIG_RELOAD_SUCCESSFUL, EMBEDDED_CUSTOMERS, EMBEDDED_REQUESTS,
    EMBEDDED_SWEEPS_SKIPPED, EMBEDDED_UP, PROCESS, SHARD_INFO, WEB_CONFIG_RELOAD_FAILURES, WORKSPACES,
};
use super::text::Writer;
use crate::client::{Observer, Route};
use crate::version;

/// Process-wide self-metrics, shared by every workspace's exposition.
pub struct ExporterMetrics {
    /// `--web.config.file`, whose reload failures are counted, when in use.
    web: Option<Arc<http_server::Web>>,
    deployment: Mutex<Deployment>,
    /// Per Embed admin workspace: whether its last listing succeeded, and
    /// how many of its customers this process watches.
    embedded: Mutex<BTreeMap<String, Embedded>>,
    /// Unix time these metrics began, the `_created` of process-wide counters.
    started: f64,
}

/// What an Embed admin workspace reports.
#[derive(Clone)]
struct Embedded {
    listed: bool,
    customers: usize,
    /// Reads the recipes sweeps left out so far.
    skipped: Reading,
    /// The admin workspace's own requests.
    requests: Arc<RequestCounts>,
}

/// Requests by (route template, status), counted as they finish: the
/// observer of an Embed admin workspace's own client.
pub struct RequestCounts {
    counts: Mutex<BTreeMap<(&'static str, String), u64>>,
    /// Unix time the counting began (a reload that changes the entry
    /// starts it again): the counters' `_created`.
    created: f64,
}

impl Default for RequestCounts {
    fn default() -> RequestCounts {
        RequestCounts {
            counts: Mutex::default(),
            created: crate::clock::unix_now(),
        }
    }
}

impl RequestCounts {
    fn read(&self) -> BTreeMap<(&'static str, String), u64> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Observer for RequestCounts {
    fn request_finished(&self, route: &Route, code: &str, _: std::time::Duration) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *counts.entry((route.label, code.to_string())).or_default() += 1;
    }
}

/// Reads a counter kept elsewhere.
pub type Reading = Arc<dyn Fn() -> u64 + Send + Sync>;

#[derive(Default, Clone, Copy)]
struct Deployment {
    /// Set once a configuration file is in use.
    reload: Option<Reload>,
    /// (index, count), when sharding is configured.
    shard: Option<(u32, u32)>,
}

#[derive(Clone, Copy)]
struct Reload {
    successful: bool,
    last_success: Option<f64>,
}

impl Default for ExporterMetrics {
    fn default() -> Self {
        ExporterMetrics::new(None)
    }
}

impl ExporterMetrics {
    /// The exporter's metrics when serving with `web` (or without a web
    /// configuration file).
    pub fn new(web: Option<Arc<http_server::Web>>) -> ExporterMetrics {
        ExporterMetrics {
            web,
            deployment: Mutex::default(),
            embedded: Mutex::default(),
            started: crate::clock::unix_now(),
        }
    }

    fn deployment(&self) -> std::sync::MutexGuard<'_, Deployment> {
        self.deployment.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The outcome of a load of the configuration file at Unix time
    /// `at_unix` (the first load at start-up counts): a failure keeps the
    /// time of the last success.
    pub fn set_config_reload(&self, ok: bool, at_unix: f64) {
        let mut deployment = self.deployment();
        let last_success = deployment.reload.and_then(|r| r.last_success);
        deployment.reload = Some(Reload {
            successful: ok,
            last_success: if ok { Some(at_unix) } else { last_success },
        });
    }

    /// This replica is shard `index` (from 0) of `count`.
    pub fn set_shard(&self, index: u32, count: u32) {
        self.deployment().shard = Some((index, count));
    }

    /// The outcome of the last listing of the Embed admin workspace
    /// `name`'s customers: whether it succeeded, the customers watched, and
    /// what reads the recipes sweeps left out for quiet customers, and its
    /// own requests; `None` once it is no longer configured.
    pub fn set_embedded(&self, name: &str, outcome: Option<(bool, usize, Reading, Arc<RequestCounts>)>) {
        let mut embedded = self.embedded.lock().unwrap_or_else(|p| p.into_inner());
        match outcome {
            Some((listed, customers, skipped, requests)) => embedded.insert(
                name.to_string(),
                Embedded {
                    listed,
                    customers,
                    skipped,
                    requests,
                },
            ),
            None => embedded.remove(name),
        };
    }

    /// The families in name order, `workspaces` being how many this process
    /// watches.
    pub(super) fn render(&self, workspaces: usize, w: &mut Writer) {
        render_build_info(w);
        let deployment = *self.deployment();
        if let Some(reload) = deployment.reload {
            if let Some(at) = reload.last_success {
                w.sample(&CONFIG_RELOAD_SUCCESS_TIMESTAMP, &[], at);
            }
            w.sample(
                &CONFIG_RELOAD_SUCCESSFUL,
                &[],
                if reload.successful { 1.0 } else { 0.0 },
            );
        }
        let embedded = self.embedded.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for (name, e) in &embedded {
            w.sample(&EMBEDDED_CUSTOMERS, &[name], e.customers as f64);
        }
        // Label order: code, embedded, endpoint.
        let mut requests = Vec::new();
        for (name, e) in &embedded {
            for ((endpoint, code), n) in e.requests.read() {
                requests.push((code, name.as_str(), endpoint, n, e.requests.created));
            }
        }
        requests.sort_by(|a, b| (&a.0, a.1, a.2).cmp(&(&b.0, b.1, b.2)));
        for (code, name, endpoint, n, created) in &requests {
            w.counter(&EMBEDDED_REQUESTS, &[code, name, endpoint], *n as f64, Some(*created));
        }
        for (name, e) in &embedded {
            w.counter(
                &EMBEDDED_SWEEPS_SKIPPED,
                &[name],
                (e.skipped)() as f64,
                Some(self.started),
            );
        }
        for (name, e) in &embedded {
            w.sample(&EMBEDDED_UP, &[name], if e.listed { 1.0 } else { 0.0 });
        }
        if let Some((index, count)) = deployment.shard {
            w.sample(&SHARD_INFO, &[&count.to_string(), &index.to_string()], 1.0);
        }
        if let Some(web) = &self.web {
            w.counter(
                &WEB_CONFIG_RELOAD_FAILURES,
                &[],
                web.reload_failures() as f64,
                Some(self.started),
            );
        }
        if deployment.reload.is_some() || deployment.shard.is_some() {
            w.sample(&WORKSPACES, &[], workspaces as f64);
        }
    }
}

fn render_build_info(w: &mut Writer) {
    let values = [
        version::BUILD_DATE,
        version::REVISION,
        version::RUSTC_VERSION,
        version::TARGET,
        version::VERSION,
    ];
    w.sample(&BUILD_INFO, &values, 1.0);
}

/// The `process_*` families, read from `/proc` by the `prometheus` crate's
/// collector (the one thing it still does here: CPU, memory, file
/// descriptors, threads and start time, with the system's page size and
/// clock ticks), in name order, written as the catalogue's [`PROCESS`]
/// families; one the catalogue does not know is left out.
pub(super) fn render_process(collector: &ProcessCollector, w: &mut Writer) {
    let families = collector.collect();
    for spec in PROCESS {
        for family in families.iter().filter(|f| f.name() == spec.name) {
            for metric in family.get_metric() {
                let value = match family.get_field_type() {
                    MetricType::COUNTER => metric.get_counter().value(),
                    _ => metric.get_gauge().value(),
                };
                w.sample(spec, &[], value);
            }
        }
    }
}
