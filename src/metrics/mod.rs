//! The exposition: everything `/metrics` says, written by one writer
//! ([`text`]) from the families of one catalogue ([`catalogue`]), for every
//! workspace the process watches (its [`Source`]s).
//!
//! It has two parts. The large one — the [`inventory`] and the [`jobs`]
//! families, one series or more per recipe — depends on the snapshots alone
//! and is rendered once per change of any of them ([`cache`]). The live one —
//! [`health`], the [`self_metrics`], the process-wide [`exporter`] metrics —
//! is a few dozen series per workspace written on every scrape. Both are
//! written family-major: each family for every workspace (sorted by label)
//! before the next family, as the text format and its parsers require one
//! `# HELP`/`# TYPE` per family. Rendering reads the snapshots and the
//! self-metrics and changes nothing; nothing is registered in a global
//! registry.

mod cache;
mod catalogue;
mod exporter;
mod family;
mod format;
mod health;
mod inventory;
mod jobs;
mod proto;
mod protobuf;
mod self_metrics;
mod source;
mod text;
mod view;

use std::sync::{Arc, RwLock};

use bytes::Bytes;
use prometheus::process_collector::ProcessCollector;

use catalogue::*;
pub use exporter::{ExporterMetrics, Reading};
pub use format::Format;
pub use health::BudgetView;
pub use self_metrics::SelfMetrics;
pub use source::Source;
use source::Sources;
use text::Writer;
use view::View;

use crate::snapshot::Snapshot;

/// One scrape's answer: its format and the buffers to send one after the
/// other (the cached part shared, not copied).
pub struct Scrape {
    pub format: Format,
    pub chunks: Vec<Bytes>,
}

/// Writes one family of the live part for one workspace.
type LiveFamily = fn(&Source, &Snapshot, &mut Writer);

/// The live part, in name order as Prometheus' client libraries sort
/// families (a test keeps it so): the process's families once, each
/// workspace's in turn.
enum Live {
    Process,
    Exporter,
    Workspace(LiveFamily),
}

/// An Embedded customer's count, as a gauge's value.
fn count(value: Option<u64>) -> Option<f64> {
    value.map(|n| n as f64)
}

const LIVE: [Live; 21] = [
    Live::Process,
    Live::Workspace(|source, _, w| source.self_metrics.render_admin_requests(w)),
    Live::Workspace(|source, _, w| health::rate_limit_remaining(source.budget.as_deref(), w)),
    Live::Workspace(|source, _, w| source.self_metrics.render_api_request_durations(w)),
    Live::Workspace(|source, _, w| source.self_metrics.render_api_requests(w)),
    Live::Workspace(|_, snapshot, w| health::collector_available(snapshot, w)),
    Live::Workspace(|source, _, w| source.self_metrics.render_poll_durations(w)),
    Live::Workspace(|_, snapshot, w| health::collector_last_success(snapshot, w)),
    Live::Workspace(|_, snapshot, w| health::collector_up(snapshot, w)),
    Live::Workspace(|_, s, w| {
        health::customer(
            s,
            &CUSTOMER_ACTIVE_CONNECTION_LIMIT,
            |c| count(c.active_connection_limit),
            w,
        )
    }),
    Live::Workspace(|_, s, w| {
        health::customer(s, &CUSTOMER_ACTIVE_CONNECTIONS, |c| count(c.active_connection_count), w)
    }),
    Live::Workspace(|_, s, w| health::customer(s, &CUSTOMER_ACTIVE_RECIPES, |c| count(c.active_recipe_count), w)),
    Live::Workspace(|_, s, w| health::customer(s, &CUSTOMER_BILLING_PERIOD_END, |c| c.billing_period_end, w)),
    Live::Workspace(|_, s, w| health::customer(s, &CUSTOMER_IN_TRIAL, |c| c.in_trial.map(f64::from), w)),
    Live::Workspace(|_, s, w| health::customer(s, &CUSTOMER_TASK_LIMIT, |c| count(c.task_limit), w)),
    Live::Workspace(|_, s, w| health::customer(s, &CUSTOMER_TASKS, |c| count(c.task_count), w)),
    Live::Exporter,
    Live::Workspace(|_, snapshot, w| health::lifetime_decreases(snapshot, w)),
    Live::Workspace(|_, snapshot, w| health::recipes_truncated(snapshot, w)),
    Live::Workspace(|_, snapshot, w| health::up(snapshot, w)),
    Live::Workspace(|_, snapshot, w| health::workspace_info(snapshot, w)),
];

/// What `/metrics` renders, and the render cache.
pub struct Metrics {
    globals: Arc<ExporterMetrics>,
    sources: RwLock<Arc<Sources>>,
    process: ProcessCollector,
    /// One per format, filled when that format is first asked for.
    caches: [cache::Cache; 3],
}

/// Each source with the snapshot one scrape reads, for both parts.
type Loaded<'a> = Vec<(&'a Source, Arc<Snapshot>)>;

impl Metrics {
    /// An exposition of no workspace yet (see [`Metrics::set_sources`]),
    /// with the process-wide metrics `globals`.
    pub fn new(globals: Arc<ExporterMetrics>) -> Metrics {
        Metrics {
            globals,
            sources: RwLock::default(),
            process: ProcessCollector::for_self(),
            caches: Default::default(),
        }
    }

    /// The process-wide metrics, for the app to record reloads and shards.
    pub fn exporter(&self) -> &Arc<ExporterMetrics> {
        &self.globals
    }

    /// The workspaces to expose, at start and on every configuration
    /// reload; written in the order of their labels. The next scrape
    /// renders them all again.
    pub fn set_sources(&self, mut sources: Vec<Source>) {
        sources.sort_by(|a, b| a.workspace.cmp(&b.workspace));
        let mut current = self.sources.write().unwrap_or_else(|p| p.into_inner());
        let epoch = current.epoch + 1;
        *current = Arc::new(Sources { epoch, list: sources });
    }

    fn sources(&self) -> Arc<Sources> {
        Arc::clone(&self.sources.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The inventory and job families of every source, family by family.
    fn large(format: Format, loaded: &Loaded<'_>, capacity: usize) -> Vec<u8> {
        let mut w = Writer::new(format, capacity);
        Metrics::large_into(loaded, &mut w);
        w.finish(false)
    }

    /// The same, compressed as it is written, never held whole.
    fn large_deflated(format: Format, loaded: &Loaded<'_>) -> cache::Prefix {
        let mut w = Writer::deflating(format);
        Metrics::large_into(loaded, &mut w);
        w.finish_deflated()
    }

    fn large_into(loaded: &Loaded<'_>, w: &mut Writer) {
        let views: Vec<View<'_>> = loaded.iter().map(|(_, snapshot)| View::new(snapshot)).collect();
        for family in inventory::FAMILIES.iter().chain(&jobs::FAMILIES) {
            for ((source, _), view) in loaded.iter().zip(&views) {
                w.set_workspace(&source.workspace);
                family(view, w);
            }
        }
    }

    /// The families written on every scrape, and OpenMetrics' `# EOF`.
    fn live(&self, format: Format, loaded: &Loaded<'_>) -> Vec<u8> {
        let mut w = Writer::new(format, 16 * 1024 * loaded.len().max(1));
        for family in &LIVE {
            match family {
                Live::Process => exporter::render_process(&self.process, &mut w),
                Live::Exporter => self.globals.render(loaded.len(), &mut w),
                Live::Workspace(render) => {
                    for (source, snapshot) in loaded {
                        w.set_workspace(&source.workspace);
                        render(source, snapshot, &mut w);
                    }
                }
            }
        }
        w.finish(true)
    }

    /// The whole exposition in `format`, gzipped when asked, as buffers to
    /// send one after the other: the cached part is shared, not copied.
    pub fn scrape(&self, format: Format, gzip: bool) -> Scrape {
        let sources = self.sources();
        // One snapshot per source for both parts, each generation read
        // before its snapshot: a newer snapshot at worst renders again at
        // the next scrape.
        let mut key = Vec::with_capacity(sources.list.len() + 1);
        key.push(sources.epoch);
        let loaded: Loaded<'_> = sources
            .list
            .iter()
            .map(|source| {
                key.push(source.snapshot.generation());
                (source, source.snapshot.load())
            })
            .collect();
        let cache = &self.caches[format as usize];
        let text = |capacity| Metrics::large(format, &loaded, capacity);
        let chunks = if gzip {
            let prefix = cache.deflated(&key, || Metrics::large_deflated(format, &loaded));
            let live = self.live(format, &loaded);
            match (cache::finish(&prefix, &live), prefix.deflate()) {
                (Some((head, tail)), Some(deflate)) => vec![head, deflate, tail],
                _ => vec![cache::gzip_whole(&cache.text(&key, text), &live)],
            }
        } else {
            vec![cache.text(&key, text), Bytes::from(self.live(format, &loaded))]
        };
        Scrape { format, chunks }
    }
}

#[cfg(test)]
mod tests;
