//! The one writer of the exposition: every family of the catalogue is
//! written by [`Writer`], straight into a buffer, in the [`Format`] asked
//! for — Prometheus text 0.0.4, OpenMetrics 1.0.0 or protobuf.
//!
//! The large families — one series or more per recipe, connection and
//! endpoint, a histogram per active recipe — are rendered once per change
//! of the snapshot, not per scrape (see `cache`), and for a gzip scrape
//! compressed as they are written (`spill`).
//!
//! Label values come from Workato (recipe, connection, endpoint and
//! collection names, paths, error types) and Workato puts no limit on them:
//! each is cut to `labels::MAX_LABEL_BYTES` here, where every sample is written,
//! so a megabyte of recipe name costs 256 bytes per series, not a megabyte.

use std::io::Write;

use prost::Message;

use super::deflate::Deflating;
use super::family::{Extras, Kind, Spec, WORKSPACE};
use super::format::Format;
use super::proto;
use super::protobuf::{self, label_pair};
use crate::snapshot::Histogram;

/// Appends samples of the catalogue's families to a buffer, in one format.
///
/// A family's metadata is written with its first sample (a family with no
/// sample is absent, none is announced twice), a histogram series whole
/// ([`Writer::histogram`]). A family goes on across workspaces
/// ([`Writer::set_workspace`]). Labels follow the family's [`Spec`]; callers
/// leave out `workspace`, which the writer fills in. In protobuf a family is
/// one length-delimited message, written when the next family starts.
pub struct Writer {
    format: Format,
    out: Vec<u8>,
    /// The `workspace` label's value, capped, and escaped for the text formats.
    workspace: String,
    workspace_escaped: String,
    /// The family whose samples are being written.
    current: Option<&'static Spec>,
    /// Where `workspace` is among the current family's labels, if at all.
    workspace_at: Option<usize>,
    /// Families finished, which must not start again.
    done: Vec<&'static str>,
    /// The `le` values of the last bounds seen, formatted once.
    bounds: Vec<f64>,
    le: Vec<String>,
    /// The protobuf family being built.
    family: Option<proto::MetricFamily>,
    /// Takes what was written a quarter of a megabyte at a time (`spill`).
    sink: Option<Deflating>,
    /// Writes samples without their family's metadata (`chunks`).
    bare: bool,
    /// Where a series' name and labels, or a number, are put together
    /// before they go out: one buffer for every sample, not one each.
    scratch: String,
}

impl Writer {
    pub fn new(format: Format, capacity: usize) -> Writer {
        Writer {
            format,
            out: Vec::with_capacity(capacity),
            workspace: String::new(),
            workspace_escaped: String::new(),
            current: None,
            workspace_at: None,
            done: Vec::new(),
            bounds: Vec::new(),
            le: Vec::new(),
            family: None,
            sink: None,
            scratch: String::new(),
            bare: false,
        }
    }

    /// The `workspace` label of the samples written next.
    pub fn set_workspace(&mut self, workspace: &str) {
        if self.workspace == *cap_label(workspace) {
            return;
        }
        self.workspace = cap_label(workspace).into_owned();
        self.workspace_escaped.clear();
        escape_into(&mut self.workspace_escaped, workspace);
    }

    /// Everything written, the last protobuf family included; OpenMetrics
    /// ends with `# EOF` when `eof`.
    pub fn finish(mut self, eof: bool) -> Vec<u8> {
        self.flush_family();
        if eof && self.format == Format::OpenMetrics {
            self.out.extend_from_slice(b"# EOF\n");
        }
        self.out
    }

    /// One sample of a gauge or counter: `values` in the order of
    /// `spec.labels`, without `workspace`.
    pub fn sample(&mut self, spec: &'static Spec, values: &[&str], value: f64) {
        self.counter(spec, values, value, None);
    }

    /// A sample, and for a counter when it started counting, if known.
    pub fn counter(&mut self, spec: &'static Spec, values: &[&str], value: f64, created: Option<f64>) {
        debug_assert!(!matches!(spec.kind, Kind::Histogram), "{}: use histogram()", spec.name);
        self.family(spec);
        match self.format {
            Format::Protobuf => {
                let metric = protobuf::scalar(spec.kind, self.labels(spec, values), value, created);
                self.push(metric);
            }
            Format::Text => {
                self.series(spec, "", values, None);
                self.value(value);
            }
            Format::OpenMetrics => {
                self.series(spec, "", values, None);
                self.value(value);
                if let (Kind::Counter, Some(created)) = (spec.kind, created) {
                    self.series_named(family_name(spec), "_created", spec, values, None);
                    self.value(created);
                }
            }
        }
        self.spill_when_full();
    }

    /// One histogram series without extras.
    pub fn histogram<const B: usize>(
        &mut self,
        spec: &'static Spec,
        values: &[&str],
        bounds: &[f64],
        histogram: &Histogram<B>,
    ) {
        self.histogram_with(spec, values, bounds, histogram, Extras::default());
    }

    /// One histogram series: its cumulative buckets up to `+Inf`, then
    /// `_sum` and `_count` (and `_created`), with what `extras` adds where
    /// the format can say it. `bounds` are the upper bounds `histogram` was
    /// observed with.
    pub fn histogram_with<const B: usize>(
        &mut self,
        spec: &'static Spec,
        values: &[&str],
        bounds: &[f64],
        histogram: &Histogram<B>,
        extras: Extras<'_>,
    ) {
        debug_assert!(matches!(spec.kind, Kind::Histogram), "{} is no histogram", spec.name);
        debug_assert_eq!(bounds.len() + 1, B, "{}: one bucket per bound, and +Inf", spec.name);
        self.family(spec);
        if self.format == Format::Protobuf {
            let metric = protobuf::histogram(self.labels(spec, values), bounds, histogram, extras);
            self.push(metric);
            return;
        }
        if self.bounds != bounds {
            self.bounds = bounds.to_vec();
            self.le = bounds.iter().map(|b| value_text(*b)).collect();
            self.le.push("+Inf".to_string());
        }
        let le = std::mem::take(&mut self.le);
        let mut cumulative = 0;
        for (i, (le, count)) in le.iter().zip(&histogram.buckets).enumerate() {
            cumulative += count;
            self.series(spec, "_bucket", values, Some(le));
            self.write_float(cumulative as f64);
            if let (Format::OpenMetrics, Some((e, recipe))) = (self.format, extras.exemplar(i)) {
                self.out.extend_from_slice(b" # {job_id=\"");
                through(&mut self.scratch, &mut self.out, |escaped| {
                    escape_into(escaped, &e.job_id)
                });
                self.out.extend_from_slice(b"\",recipe_id=\"");
                self.out.extend_from_slice(recipe.as_bytes());
                self.out.extend_from_slice(b"\"} ");
                self.write_float(e.value);
                self.out.push(b' ');
                self.write_float(e.completed_at);
            }
            self.out.push(b'\n');
        }
        self.le = le;
        self.series(spec, "_sum", values, None);
        self.value(histogram.sum);
        self.series(spec, "_count", values, None);
        self.value(histogram.count as f64);
        if let (Format::OpenMetrics, Some(created)) = (self.format, extras.created) {
            self.series(spec, "_created", values, None);
            self.value(created);
        }
        self.spill_when_full();
    }

    /// The family guard: metadata before a family's first sample.
    fn family(&mut self, spec: &'static Spec) {
        // Most samples continue the family before them: the same literal,
        // recognised by its address before its bytes are compared.
        if let Some(current) = self.current
            && (std::ptr::eq(current.name, spec.name) || current.name == spec.name)
        {
            if !std::ptr::eq(current.labels, spec.labels) {
                // The same family, another label set (a customer's info).
                self.workspace_at = spec.labels.iter().position(|label| *label == WORKSPACE);
                self.current = Some(spec);
            }
            return;
        }
        self.flush_family();
        self.spill_when_full();
        self.workspace_at = spec.labels.iter().position(|label| *label == WORKSPACE);
        debug_assert!(!self.done.contains(&spec.name), "{} written in two places", spec.name);
        self.done.extend(self.current.replace(spec).map(|s| s.name));
        match self.format {
            _ if self.bare => {}
            Format::Protobuf => self.family = Some(protobuf::family(spec)),
            Format::Text | Format::OpenMetrics => metadata(self.format, spec, &mut self.out),
        }
    }

    /// Writes the protobuf family being built, length-delimited.
    fn flush_family(&mut self) {
        if let Some(family) = self.family.take() {
            // Encoding into a Vec cannot run out of room.
            let _ = family.encode_length_delimited(&mut self.out);
        }
    }

    fn push(&mut self, metric: proto::Metric) {
        if self.bare {
            // As the family's repeated field `metric` (4) encodes it.
            prost::encoding::message::encode(4, &metric, &mut self.out);
        } else if let Some(family) = &mut self.family {
            family.metric.push(metric);
        }
    }

    /// A series' labels for protobuf, values capped (not escaped).
    fn labels(&self, spec: &Spec, values: &[&str]) -> Vec<proto::LabelPair> {
        let mut values = values.iter();
        spec.labels
            .iter()
            .enumerate()
            .map(|(i, name)| {
                if Some(i) == self.workspace_at {
                    label_pair(name, &self.workspace)
                } else {
                    label_pair(name, &cap_label(values.next().copied().unwrap_or_default()))
                }
            })
            .collect()
    }

    fn series(&mut self, spec: &Spec, suffix: &str, values: &[&str], le: Option<&str>) {
        self.series_named(spec.name, suffix, spec, values, le);
    }

    /// A series' name and labels, up to the space before its value; `le`
    /// comes last, as Prometheus writes it.
    fn series_named(&mut self, name: &str, suffix: &str, spec: &Spec, values: &[&str], le: Option<&str>) {
        debug_assert_eq!(
            values.len() + usize::from(spec.labels.contains(&WORKSPACE)),
            spec.labels.len(),
            "{}: one value per label but workspace",
            spec.name
        );
        through(&mut self.scratch, &mut self.out, |line| {
            line.push_str(name);
            line.push_str(suffix);
            let mut separator = '{';
            let mut values = values.iter();
            for (i, label) in spec.labels.iter().enumerate() {
                line.push(separator);
                separator = ',';
                line.push_str(label);
                line.push_str("=\"");
                if Some(i) == self.workspace_at {
                    line.push_str(&self.workspace_escaped);
                } else {
                    escape_into(line, values.next().copied().unwrap_or_default());
                }
                line.push('"');
            }
            if let Some(le) = le {
                line.push(separator);
                separator = ',';
                line.push_str("le=\"");
                line.push_str(le);
                line.push('"');
            }
            if separator == ',' {
                line.push('}');
            }
            line.push(' ');
        });
    }

    fn write_float(&mut self, value: f64) {
        through(&mut self.scratch, &mut self.out, |text| write_value(text, value));
    }

    fn value(&mut self, value: f64) {
        self.write_float(value);
        self.out.push(b'\n');
    }
}

/// A text family's `# HELP` and `# TYPE` lines (and OpenMetrics' `# UNIT`).
fn metadata(format: Format, spec: &Spec, out: &mut Vec<u8>) {
    let open_metrics = format == Format::OpenMetrics;
    let name = if open_metrics { family_name(spec) } else { spec.name };
    out.extend_from_slice(b"# HELP ");
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    for c in spec.help.chars() {
        match c {
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '"' if open_metrics => out.extend_from_slice(b"\\\""),
            c => {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    let _ = write!(out, "\n# TYPE {name} {}\n", spec.kind.name());
    if let (true, Some(unit)) = (open_metrics, spec.unit()) {
        let _ = writeln!(out, "# UNIT {name} {unit}");
    }
}

/// The name of a family in OpenMetrics: a counter's without `_total`.
fn family_name(spec: &Spec) -> &'static str {
    match spec.kind {
        Kind::Counter => spec.name.strip_suffix("_total").unwrap_or(spec.name),
        _ => spec.name,
    }
}

/// `value` as [`write_value`] writes it.
fn value_text(value: f64) -> String {
    let mut text = String::new();
    write_value(&mut text, value);
    text
}

/// Go's float formatting as Prometheus expects it: `+Inf`, `-Inf`, `NaN`,
/// integers without a decimal point.
/// Puts text together in `scratch` (emptied first, its allocation reused
/// from sample to sample) with `build`, and appends it to `out`.
fn through(scratch: &mut String, out: &mut Vec<u8>, build: impl FnOnce(&mut String)) {
    scratch.clear();
    build(scratch);
    out.extend_from_slice(scratch.as_bytes());
}

fn write_value(out: &mut String, value: f64) {
    use std::fmt::Write as _;
    if value.is_nan() {
        out.push_str("NaN");
    } else if value == f64::INFINITY {
        out.push_str("+Inf");
    } else if value == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        let _ = write!(out, "{value}");
    }
}

mod chunks;
mod labels;
mod spill;
pub use chunks::{Header, header};
pub use labels::cap_label;
use labels::escape_into;
#[cfg(test)]
pub use labels::{CUT_MARKER, MAX_LABEL_BYTES};
#[cfg(test)]
pub use spill::SPILL_BYTES;

#[cfg(test)]
mod tests;
