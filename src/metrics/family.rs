//! What a family of the exposition is: its name, help, type and labels.
//! The catalogue lists the families; the text writer writes them.

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
