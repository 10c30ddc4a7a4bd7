//! The exposition: everything `/metrics` says, written by one writer
//! ([`text`]) from the families of one catalogue ([`catalogue`]), for every
//! workspace the process watches (its [`Source`]s).
//!
//! It has two parts. The large one — the [`inventory`] and the [`jobs`]
//! families, one series or more per recipe — depends on the snapshots alone
//! and is rendered per workspace and family, once per change of that
//! workspace's snapshot, and assembled by the [`cache`]. The live one —
//! [`health`], the [`self_metrics`], the process-wide [`exporter`] metrics —
//! is a few dozen series per workspace written on every scrape. Both are
//! written family-major: each family for every workspace (sorted by label)
//! before the next family, as the text format and its parsers require one
//! `# HELP`/`# TYPE` per family. Rendering reads the snapshots and the
//! self-metrics and changes nothing; nothing is registered in a global
//! registry.

mod cache;
mod catalogue;
mod deflate;
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

use cache::{Chunk, Rendered, Stamp};
use catalogue::*;
use deflate::{Deflating, Joined};
pub use exporter::{ExporterMetrics, Reading, RequestCounts};
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
/// workspace's in turn. A workspace's families are cached like the large
/// part's, rendered again when its snapshot or self-metrics change; the
/// others are rendered on every scrape.
enum Live {
    Process,
    Exporter,
    Workspace(LiveFamily),
    /// A workspace's family whose values move by themselves.
    Fresh(LiveFamily),
}

/// An Embedded customer's count, as a gauge's value.
fn count(value: Option<u64>) -> Option<f64> {
    value.map(|n| n as f64)
}

const LIVE: [Live; 21] = [
    Live::Process,
    Live::Workspace(|source, _, w| source.self_metrics.render_admin_requests(w)),
    Live::Fresh(|source, _, w| health::rate_limit_remaining(source.budget.as_deref(), w)),
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
    /// One per format, filled when that format is first asked for: the
    /// large part, and the workspaces' live families.
    caches: [cache::Cache; 3],
    live_caches: [cache::Cache; 3],
    /// The workspaces whose large part was rendered, in order (tests).
    #[cfg(test)]
    rendered: std::sync::Mutex<Vec<String>>,
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
            caches: Format::ALL.map(cache::Cache::new),
            live_caches: Format::ALL.map(cache::Cache::new),
            #[cfg(test)]
            rendered: std::sync::Mutex::default(),
        }
    }

    /// The workspaces whose large part was rendered since the last call.
    #[cfg(test)]
    fn take_rendered(&self) -> Vec<String> {
        std::mem::take(&mut self.rendered.lock().unwrap())
    }

    /// The process-wide metrics, for the app to record reloads and shards.
    pub fn exporter(&self) -> &Arc<ExporterMetrics> {
        &self.globals
    }

    /// The workspaces to expose, at start and on every configuration
    /// reload; written in the order of their labels. A workspace that keeps
    /// its label and snapshot keeps its rendering.
    pub fn set_sources(&self, mut sources: Vec<Source>) {
        sources.sort_by(|a, b| a.workspace.cmp(&b.workspace));
        let mut current = self.sources.write().unwrap_or_else(|p| p.into_inner());
        *current = Arc::new(Sources { list: sources });
    }

    fn sources(&self) -> Arc<Sources> {
        Arc::clone(&self.sources.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The inventory and job families of every source, family by family,
    /// in one go (tests compare the cache's assembly with it).
    #[cfg(test)]
    fn large(format: Format, loaded: &Loaded<'_>) -> Vec<u8> {
        let mut w = Writer::new(format, 64 * 1024);
        let views: Vec<View<'_>> = loaded.iter().map(|(_, snapshot)| View::new(snapshot)).collect();
        for family in inventory::FAMILIES.iter().chain(&jobs::FAMILIES) {
            for ((source, _), view) in loaded.iter().zip(&views) {
                w.set_workspace(&source.workspace);
                family(view, &mut w);
            }
        }
        w.finish(false)
    }

    /// The pieces of the large part of the sources `which`: each family of
    /// each, without its metadata, plain or deflated.
    fn pieces(format: Format, loaded: &Loaded<'_>, which: &[usize], deflate: bool) -> Rendered {
        let mut w = Writer::pieces(format, deflate);
        let mut rendered = Vec::with_capacity(which.len());
        for (source, snapshot) in which.iter().filter_map(|&i| loaded.get(i)) {
            let view = View::new(snapshot);
            w.set_workspace(&source.workspace);
            let families = inventory::FAMILIES.iter().chain(&jobs::FAMILIES).map(|family| {
                family(&view, &mut w);
                if deflate {
                    w.take_deflated().map(|(spec, d)| (spec, Chunk::Deflated(d)))
                } else {
                    w.take_text().map(|(spec, t)| (spec, Chunk::Text(t.into())))
                }
            });
            rendered.push(families.collect());
        }
        rendered
    }

    /// The pieces of the workspaces' cached live families, as
    /// [`Metrics::pieces`].
    fn live_pieces(format: Format, loaded: &Loaded<'_>, which: &[usize], deflate: bool) -> Rendered {
        let mut w = Writer::pieces(format, deflate);
        let mut rendered = Vec::with_capacity(which.len());
        for (source, snapshot) in which.iter().filter_map(|&i| loaded.get(i)) {
            w.set_workspace(&source.workspace);
            let families = LIVE.iter().filter_map(|family| match family {
                Live::Workspace(render) => {
                    render(source, snapshot, &mut w);
                    Some(if deflate {
                        w.take_deflated().map(|(spec, d)| (spec, Chunk::Deflated(d)))
                    } else {
                        w.take_text().map(|(spec, t)| (spec, Chunk::Text(t.into())))
                    })
                }
                _ => None,
            });
            rendered.push(families.collect());
        }
        rendered
    }

    /// A live family rendered whole; nothing for a cached one.
    fn fresh(&self, format: Format, family: &Live, loaded: &Loaded<'_>) -> Vec<u8> {
        let mut w = Writer::new(format, 4 * 1024);
        match family {
            Live::Process => exporter::render_process(&self.process, &mut w),
            Live::Exporter => self.globals.render(loaded.len(), &mut w),
            Live::Fresh(render) => {
                for (source, snapshot) in loaded {
                    w.set_workspace(&source.workspace);
                    render(source, snapshot, &mut w);
                }
            }
            Live::Workspace(_) => {}
        }
        w.finish(false)
    }

    /// The live part in one go, and OpenMetrics' `# EOF` (tests compare
    /// the assembly with it).
    #[cfg(test)]
    fn live(&self, format: Format, loaded: &Loaded<'_>) -> Vec<u8> {
        let mut w = Writer::new(format, 16 * 1024 * loaded.len().max(1));
        for family in &LIVE {
            match family {
                Live::Process => exporter::render_process(&self.process, &mut w),
                Live::Exporter => self.globals.render(loaded.len(), &mut w),
                Live::Workspace(render) | Live::Fresh(render) => {
                    for (source, snapshot) in loaded {
                        w.set_workspace(&source.workspace);
                        render(source, snapshot, &mut w);
                    }
                }
            }
        }
        w.finish(true)
    }

    /// The lock of the text format's cache of the large part, as a
    /// rendering holds it (tests).
    #[cfg(test)]
    pub(crate) fn hold_text_cache(&self) -> impl Sized + '_ {
        self.caches[Format::Text as usize].hold()
    }

    /// The whole exposition in `format`, gzipped when asked, as buffers to
    /// send one after the other: the cached pieces are shared, not copied.
    pub fn scrape(&self, format: Format, gzip: bool) -> Scrape {
        let sources = self.sources();
        // One snapshot per source for both parts, each version read before
        // what it versions: a newer one at worst renders again at the next
        // scrape.
        let mut versions = Vec::with_capacity(sources.list.len());
        let loaded: Loaded<'_> = (sources.list.iter())
            .map(|source| {
                versions.push((source.snapshot.generation(), source.self_metrics.version()));
                (source, source.snapshot.load())
            })
            .collect();
        let stamps = |live: bool| -> Vec<Stamp<'_>> {
            (sources.list.iter().zip(&versions))
                .map(|(source, &(generation, recorded))| Stamp {
                    label: &source.workspace,
                    snapshot: &source.snapshot,
                    version: (generation, if live { recorded } else { 0 }),
                })
                .collect()
        };
        let (large, live) = (stamps(false), stamps(true));
        let (cache, live_cache) = (&self.caches[format as usize], &self.live_caches[format as usize]);
        // Text rendered by this scrape, for `release_now`.
        let rendered = std::cell::Cell::new(0);
        let render = |which: &[usize], deflate| {
            #[cfg(test)]
            (self.rendered.lock().unwrap())
                .extend(which.iter().filter_map(|&i| Some(loaded.get(i)?.0.workspace.clone())));
            let pieces = Metrics::pieces(format, &loaded, which, deflate);
            rendered.set(rendered.get() + cache::text_len(&pieces));
            pieces
        };
        let render_live = |which: &[usize], deflate| Metrics::live_pieces(format, &loaded, which, deflate);
        let eof: &'static [u8] = if format == Format::OpenMetrics { b"# EOF\n" } else { b"" };
        let plain = || {
            let (large, live) = (cache.text(&large, render), live_cache.text(&live, render_live));
            let mut chunks: Vec<Bytes> = large.iter().flatten().cloned().collect();
            let mut cached = live.iter();
            for family in &LIVE {
                match family {
                    Live::Workspace(_) => chunks.extend(cached.next().into_iter().flatten().cloned()),
                    fresh => chunks.push(self.fresh(format, fresh, &loaded).into()),
                }
            }
            chunks.push(Bytes::from_static(eof));
            chunks
        };
        // A large rendering's buffers, freed, go back to the system now
        // rather than at the next tick of `allocator::release_freed`.
        let give_back = || {
            if rendered.get() >= crate::allocator::RELEASE_AFTER_RENDERING {
                crate::allocator::release_now();
            }
        };
        if !gzip {
            let chunks = plain();
            give_back();
            return Scrape { format, chunks };
        }
        let mut joined = Joined::default();
        for family in cache.deflated(&large, render).iter() {
            joined.append(family);
        }
        let live_families = live_cache.deflated(&live, render_live);
        let mut cached = live_families.iter();
        let mut deflating = Deflating::new();
        for family in &LIVE {
            match family {
                Live::Workspace(_) => joined.append(cached.next().unwrap_or(&Joined::default())),
                fresh => {
                    deflating.feed(&self.fresh(format, fresh, &loaded));
                    joined.push(&deflating.finish_piece());
                }
            }
        }
        let chunks = if joined.complete {
            joined.gzip(eof)
        } else {
            vec![deflate::gzip_whole(&plain().concat(), b"")]
        };
        give_back();
        Scrape { format, chunks }
    }
}

#[cfg(test)]
mod tests;
