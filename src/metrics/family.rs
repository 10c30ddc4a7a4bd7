//! What a family of the exposition is: its name, help, type and labels,
//! and what a histogram series may carry beyond its buckets. The catalogue
//! lists the families; the writer writes them.

use crate::snapshot::{JobExemplar, NativeHistogram};

/// One family of the catalogue.
pub(super) struct Spec {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    /// Written in this order; `workspace` is filled in by the writer.
    pub labels: &'static [&'static str],
}

impl Spec {
    /// The unit the name ends in (before a counter's `_total`), for
    /// OpenMetrics' `# UNIT` and protobuf's `unit`: base units only, as
    /// Prometheus names them.
    pub fn unit(&self) -> Option<&'static str> {
        let name = self.name.strip_suffix("_total").unwrap_or(self.name);
        ["seconds", "bytes", "ratio"]
            .into_iter()
            .find(|unit| name.strip_suffix(unit).is_some_and(|rest| rest.ends_with('_')))
    }
}

/// The label every per-workspace family carries, filled in by the writer.
pub(super) const WORKSPACE: &str = "workspace";

/// The type line of a family.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Gauge,
    Counter,
    Histogram,
}

impl Kind {
    pub(super) fn name(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
        }
    }
}

/// What a histogram series carries beyond its classic buckets, where the
/// format can say it.
#[derive(Default, Clone, Copy)]
pub struct Extras<'a> {
    /// When the series started counting (OpenMetrics `_created`, protobuf
    /// `created_timestamp`).
    pub created: Option<f64>,
    /// An exemplar per classic bucket and the `recipe_id` it names
    /// (OpenMetrics and protobuf).
    pub exemplars: Option<(&'a [Option<JobExemplar>], &'a str)>,
    /// The native buckets (protobuf only).
    pub native: Option<&'a NativeHistogram>,
}

impl<'a> Extras<'a> {
    /// The exemplar of classic bucket `i` and its `recipe_id`, if any.
    pub fn exemplar(&self, i: usize) -> Option<(&'a JobExemplar, &'a str)> {
        let (all, recipe) = self.exemplars?;
        all.get(i)?.as_ref().map(|e| (e, recipe))
    }
}
