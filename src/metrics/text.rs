//! The one writer of the exposition: every family of the catalogue is
//! written by [`Writer`], straight into a buffer, in the [`Format`] asked
//! for — Prometheus text 0.0.4, OpenMetrics 1.0.0 or protobuf.
//!
//! The large families — one series or more per recipe, connection and
//! endpoint, a histogram per active recipe — are rendered once per change
//! of the snapshot, not per scrape (see `cache`). The `prometheus` crate's
//! encoder would first build a protobuf model of every series (several
//! times the size of the text) on each collect, which at 5,000 recipes is
//! most of the exporter's memory and CPU.
//!
//! Label values come from Workato (recipe, connection, endpoint and
//! collection names, paths, error types) and Workato puts no limit on them:
//! each is cut to [`MAX_LABEL_BYTES`] here, where every sample is written,
//! so a megabyte of recipe name costs 256 bytes per series, not a megabyte.

use std::borrow::Cow;
use std::io::Write;

use prost::Message;

use super::cache::{Deflating, Prefix};
use super::family::{Kind, Spec, WORKSPACE};
use super::format::Format;
use super::proto;
use crate::snapshot::{Histogram, JobExemplar, NATIVE_ZERO_THRESHOLD, NativeHistogram};

/// The longest label value written, in bytes of UTF-8 before escaping. A
/// longer value is cut on a character boundary and ends in [`CUT_MARKER`],
/// which counts within the limit.
pub const MAX_LABEL_BYTES: usize = 256;

/// Ends a label value that was cut, so a reader sees it is not whole.
pub const CUT_MARKER: &str = "…";

/// What a deflating [`Writer`] holds before handing it on.
pub const SPILL_BYTES: usize = 256 * 1024;

/// `value` as written in a label: itself when it fits in
/// [`MAX_LABEL_BYTES`], else its longest prefix on a character boundary
/// that leaves room for [`CUT_MARKER`], followed by the marker. Series stay
/// unique: every family that carries a name also carries its id.
pub fn cap_label(value: &str) -> Cow<'_, str> {
    if value.len() <= MAX_LABEL_BYTES {
        return Cow::Borrowed(value);
    }
    let mut end = MAX_LABEL_BYTES - CUT_MARKER.len();
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    let mut cut = String::with_capacity(end + CUT_MARKER.len());
    cut.push_str(&value[..end]);
    cut.push_str(CUT_MARKER);
    Cow::Owned(cut)
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

/// Appends samples of the catalogue's families to a buffer, in one format.
///
/// Two guards keep the output well formed: a family's metadata is written
/// with its first sample (so a family with no sample is absent, and none is
/// announced twice), and a histogram series is written whole by
/// [`Writer::histogram`]. A family may go on across workspaces
/// ([`Writer::set_workspace`]): the exposition writes each family for every
/// workspace before the next. Labels follow the order of the family's
/// [`Spec`]; callers give their values in that order, leaving out
/// `workspace`, which the writer fills in. In protobuf a family is one
/// length-delimited message, written when the next family starts or at
/// [`Writer::finish`].
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
    /// Takes what was written whenever it reaches [`SPILL_BYTES`]: the large
    /// part is compressed as it is written, never held whole.
    sink: Option<Deflating>,
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
        }
    }

    /// A writer that deflates as it goes, a quarter of a megabyte at a
    /// time; [`Writer::finish_deflated`] ends it.
    pub fn deflating(format: Format) -> Writer {
        Writer {
            sink: Some(Deflating::new()),
            ..Writer::new(format, SPILL_BYTES + 64 * 1024)
        }
    }

    /// Everything written by a [`Writer::deflating`], compressed, the last
    /// protobuf family included.
    pub fn finish_deflated(mut self) -> Prefix {
        self.flush_family();
        let mut sink = self.sink.take().unwrap_or_default();
        sink.feed(&self.out);
        sink.finish()
    }

    /// Hands what was written to the sink once it holds [`SPILL_BYTES`]:
    /// `out` holds whole lines and whole protobuf families only.
    fn spill_when_full(&mut self) {
        if self.out.len() >= SPILL_BYTES
            && let Some(sink) = &mut self.sink
        {
            sink.feed(&self.out);
            self.out.clear();
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
                let label = self.labels(spec, values);
                let metric = match spec.kind {
                    Kind::Counter => proto::Metric {
                        label,
                        counter: Some(proto::Counter {
                            value,
                            created_timestamp: created.map(proto::Timestamp::from_unix),
                        }),
                        ..proto::Metric::default()
                    },
                    _ => proto::Metric {
                        label,
                        gauge: Some(proto::Gauge { value }),
                        ..proto::Metric::default()
                    },
                };
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
        let exemplar = |i: usize| {
            extras
                .exemplars
                .and_then(|(all, recipe)| all.get(i)?.as_ref().map(|e| (e, recipe)))
        };
        if self.format == Format::Protobuf {
            let mut cumulative = 0;
            let bucket = histogram
                .buckets
                .iter()
                .enumerate()
                .map(|(i, count)| {
                    cumulative += count;
                    proto::Bucket {
                        cumulative_count: cumulative,
                        upper_bound: bounds.get(i).copied().unwrap_or(f64::INFINITY),
                        exemplar: exemplar(i).map(|(e, recipe)| proto::Exemplar {
                            label: vec![label_pair("job_id", &e.job_id), label_pair("recipe_id", recipe)],
                            value: e.value,
                            timestamp: Some(proto::Timestamp::from_unix(e.completed_at)),
                        }),
                    }
                })
                .collect();
            let mut h = proto::Histogram {
                sample_count: histogram.count,
                sample_sum: histogram.sum,
                bucket,
                created_timestamp: extras.created.map(proto::Timestamp::from_unix),
                ..proto::Histogram::default()
            };
            if let Some(native) = extras.native {
                native_into(native, &mut h);
            }
            let metric = proto::Metric {
                label: self.labels(spec, values),
                histogram: Some(h),
                ..proto::Metric::default()
            };
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
            if let (Format::OpenMetrics, Some((e, recipe))) = (self.format, exemplar(i)) {
                self.out.extend_from_slice(b" # {job_id=\"");
                let mut escaped = String::new();
                escape_into(&mut escaped, &e.job_id);
                self.out.extend_from_slice(escaped.as_bytes());
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
        if self
            .current
            .is_some_and(|current| std::ptr::eq(current.name, spec.name) || current.name == spec.name)
        {
            return;
        }
        self.flush_family();
        self.spill_when_full();
        self.workspace_at = spec.labels.iter().position(|label| *label == WORKSPACE);
        debug_assert!(!self.done.contains(&spec.name), "{} written in two places", spec.name);
        self.done.extend(self.current.replace(spec).map(|s| s.name));
        match self.format {
            Format::Protobuf => {
                self.family = Some(proto::MetricFamily {
                    name: spec.name.to_string(),
                    help: spec.help.to_string(),
                    r#type: match spec.kind {
                        Kind::Counter => proto::MetricType::Counter,
                        Kind::Gauge => proto::MetricType::Gauge,
                        Kind::Histogram => proto::MetricType::Histogram,
                    } as i32,
                    metric: Vec::new(),
                    unit: spec.unit().unwrap_or_default().to_string(),
                });
            }
            Format::Text | Format::OpenMetrics => {
                let open_metrics = self.format == Format::OpenMetrics;
                let name = if open_metrics { family_name(spec) } else { spec.name };
                self.out.extend_from_slice(b"# HELP ");
                self.out.extend_from_slice(name.as_bytes());
                self.out.push(b' ');
                for c in spec.help.chars() {
                    match c {
                        '\\' => self.out.extend_from_slice(b"\\\\"),
                        '\n' => self.out.extend_from_slice(b"\\n"),
                        '"' if open_metrics => self.out.extend_from_slice(b"\\\""),
                        c => {
                            let mut buf = [0; 4];
                            self.out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                    }
                }
                let _ = write!(self.out, "\n# TYPE {name} {}\n", spec.kind.name());
                if let (true, Some(unit)) = (open_metrics, spec.unit()) {
                    let _ = writeln!(self.out, "# UNIT {name} {unit}");
                }
            }
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
        if let Some(family) = &mut self.family {
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
        let mut line = String::new();
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
                escape_into(&mut line, values.next().copied().unwrap_or_default());
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
        self.out.extend_from_slice(line.as_bytes());
    }

    fn write_float(&mut self, value: f64) {
        let mut text = String::new();
        write_value(&mut text, value);
        self.out.extend_from_slice(text.as_bytes());
    }

    fn value(&mut self, value: f64) {
        self.write_float(value);
        self.out.push(b'\n');
    }
}

/// The name of a family in OpenMetrics: a counter's without `_total`.
fn family_name(spec: &Spec) -> &'static str {
    match spec.kind {
        Kind::Counter => spec.name.strip_suffix("_total").unwrap_or(spec.name),
        _ => spec.name,
    }
}

fn label_pair(name: &str, value: &str) -> proto::LabelPair {
    proto::LabelPair {
        name: name.to_string(),
        value: value.to_string(),
    }
}

/// The native part of a protobuf histogram: schema, zero bucket, spans of
/// consecutive buckets and the deltas between their counts. An empty one
/// still gets a zero threshold and an empty span, so that Prometheus reads
/// it as native from the first scrape on.
fn native_into(native: &NativeHistogram, h: &mut proto::Histogram) {
    h.schema = Some(i32::from(native.schema));
    h.zero_threshold = NATIVE_ZERO_THRESHOLD;
    h.zero_count = native.zero_count;
    let mut previous_index: Option<i32> = None;
    let mut previous_count = 0i64;
    for (index, count) in &native.buckets {
        let count = i64::try_from(*count).unwrap_or(i64::MAX);
        match (previous_index, h.positive_span.last_mut()) {
            (Some(previous), Some(span)) if *index == previous + 1 => span.length += 1,
            (previous, _) => h.positive_span.push(proto::BucketSpan {
                offset: previous.map_or(*index, |p| index - p - 1),
                length: 1,
            }),
        }
        h.positive_delta.push(count.wrapping_sub(previous_count));
        previous_count = count;
        previous_index = Some(*index);
    }
    if h.positive_span.is_empty() {
        h.positive_span.push(proto::BucketSpan { offset: 0, length: 0 });
    }
}

/// Label values are capped at [`MAX_LABEL_BYTES`], then escape
/// backslash, double quote and line feed.
fn escape_into(out: &mut String, value: &str) {
    let value = &*cap_label(value);
    if !value.contains(['\\', '"', '\n']) {
        out.push_str(value);
        return;
    }
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(workspace: &str) -> Writer {
        let mut w = Writer::new(Format::Text, 0);
        w.set_workspace(workspace);
        w
    }

    fn text(w: Writer) -> String {
        String::from_utf8(w.finish(true)).expect("UTF-8")
    }

    const COUNTER: Spec = Spec {
        name: "x_total",
        help: "Help with \\ and\nnewline.",
        kind: Kind::Counter,
        labels: &["recipe", "workspace"],
    };
    const GAUGE: Spec = Spec {
        name: "x",
        help: "A gauge.",
        kind: Kind::Gauge,
        labels: &["name", "workspace", "workspace_id"],
    };
    const UNLABELLED: Spec = Spec {
        name: "y",
        help: "Nothing but a value.",
        kind: Kind::Gauge,
        labels: &[],
    };
    const HISTOGRAM: Spec = Spec {
        name: "h_seconds",
        help: "A histogram.",
        kind: Kind::Histogram,
        labels: &["status", "workspace"],
    };

    #[test]
    fn samples_escape_labels_and_format_values_like_prometheus() {
        let mut w = writer("ws \"a\"");
        w.sample(&COUNTER, &["a\"b\\c\nd é"], 5402.0);
        w.sample(&GAUGE, &["n", "17"], 0.5);
        w.sample(&UNLABELLED, &[], f64::INFINITY);
        assert_eq!(
            text(w),
            "# HELP x_total Help with \\\\ and\\nnewline.\n# TYPE x_total counter\n\
             x_total{recipe=\"a\\\"b\\\\c\\nd é\",workspace=\"ws \\\"a\\\"\"} 5402\n\
             # HELP x A gauge.\n# TYPE x gauge\n\
             x{name=\"n\",workspace=\"ws \\\"a\\\"\",workspace_id=\"17\"} 0.5\n\
             # HELP y Nothing but a value.\n# TYPE y gauge\n\
             y +Inf\n"
        );
    }

    #[test]
    fn a_family_is_announced_once_on_its_first_sample_and_not_at_all_without_one() {
        let mut w = writer("w");
        w.sample(&COUNTER, &["a"], 1.0);
        w.sample(&COUNTER, &["b"], 2.0);
        let out = text(w);
        assert_eq!(out.matches("# HELP x_total ").count(), 1, "{out}");
        assert_eq!(out.matches("# TYPE x_total counter\n").count(), 1, "{out}");
        assert!(!out.contains("# HELP x "), "a family with no sample is absent");
    }

    #[test]
    #[should_panic(expected = "written in two places")]
    fn a_family_cannot_start_again_after_another() {
        let mut w = writer("w");
        w.sample(&COUNTER, &["a"], 1.0);
        w.sample(&GAUGE, &["n", "1"], 1.0);
        w.sample(&COUNTER, &["b"], 2.0);
    }

    #[test]
    fn a_histogram_is_written_whole_with_cumulative_buckets_and_le_last() {
        let mut h = Histogram::<3>::default();
        for v in [0.05, 0.7, 9.0] {
            h.observe(&[0.1, 1.0], v);
        }
        let mut w = writer("w");
        w.histogram(&HISTOGRAM, &["failed"], &[0.1, 1.0], &h);
        w.histogram(&HISTOGRAM, &["succeeded"], &[0.1, 1.0], &Histogram::<3>::default());
        let out = text(w);
        let expected = "# HELP h_seconds A histogram.\n# TYPE h_seconds histogram\n\
            h_seconds_bucket{status=\"failed\",workspace=\"w\",le=\"0.1\"} 1\n\
            h_seconds_bucket{status=\"failed\",workspace=\"w\",le=\"1\"} 2\n\
            h_seconds_bucket{status=\"failed\",workspace=\"w\",le=\"+Inf\"} 3\n\
            h_seconds_sum{status=\"failed\",workspace=\"w\"} 9.75\n\
            h_seconds_count{status=\"failed\",workspace=\"w\"} 3\n\
            h_seconds_bucket{status=\"succeeded\",workspace=\"w\",le=\"0.1\"} 0\n\
            h_seconds_bucket{status=\"succeeded\",workspace=\"w\",le=\"1\"} 0\n\
            h_seconds_bucket{status=\"succeeded\",workspace=\"w\",le=\"+Inf\"} 0\n\
            h_seconds_sum{status=\"succeeded\",workspace=\"w\"} 0\n\
            h_seconds_count{status=\"succeeded\",workspace=\"w\"} 0\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn long_label_values_are_cut_on_a_character_boundary_with_a_marker() {
        assert_eq!(cap_label("short"), "short");
        let exact = "a".repeat(MAX_LABEL_BYTES);
        assert_eq!(cap_label(&exact), exact.as_str(), "a value at the limit is whole");
        // Two bytes, then two-byte characters: byte 253 falls inside one.
        let long = format!("xx{}", "é".repeat(1_000));
        let cut = cap_label(&long);
        assert!(cut.len() <= MAX_LABEL_BYTES, "{}", cut.len());
        assert!(cut.ends_with(CUT_MARKER));
        assert!(long.starts_with(cut.trim_end_matches(CUT_MARKER)));
        assert_eq!(cut.len(), 2 + 2 * 125 + CUT_MARKER.len());
    }

    #[test]
    fn a_cut_value_is_still_escaped() {
        let mut w = writer("w");
        let long = format!("{}\"\\\n{}", "a".repeat(200), "b".repeat(1_000));
        w.sample(&COUNTER, &[&long], 1.0);
        let out = text(w);
        let expected = format!(
            "x_total{{recipe=\"{}\\\"\\\\\\n{}…\",workspace=\"w\"}} 1\n",
            "a".repeat(200),
            "b".repeat(50)
        );
        assert!(out.ends_with(&expected), "{out}");
    }

    #[test]
    fn protobuf_histograms_carry_native_spans_deltas_and_bucket_exemplars() {
        let mut native = NativeHistogram::default();
        for v in [0.0, 1.0, 1.04, 1.04, 3.0, 3.0, 3.0] {
            native.observe(v);
        }
        let mut classic = Histogram::<3>::default();
        for v in [0.0, 1.0, 1.04, 1.04, 3.0, 3.0, 3.0] {
            classic.observe(&[0.1, 1.0], v);
        }
        let exemplars = [
            None,
            Some(JobExemplar {
                job_id: "j-1".into(),
                value: 1.0,
                completed_at: 1_700_000_000.5,
            }),
            None,
        ];
        let mut w = Writer::new(Format::Protobuf, 0);
        w.set_workspace("w");
        let extras = Extras {
            created: None,
            exemplars: Some((&exemplars, "7")),
            native: Some(&native),
        };
        w.histogram_with(&HISTOGRAM, &["failed"], &[0.1, 1.0], &classic, extras);
        w.sample(&GAUGE, &["n", "1"], 2.0);
        let bytes = w.finish(true);
        let mut rest = &bytes[..];
        let family = proto::MetricFamily::decode_length_delimited(&mut rest).expect("one family");
        let gauge = proto::MetricFamily::decode_length_delimited(&mut rest).expect("then another");
        assert!(rest.is_empty(), "no # EOF in protobuf");
        assert_eq!((family.name.as_str(), family.unit.as_str()), ("h_seconds", "seconds"));
        assert_eq!(gauge.metric[0].gauge.as_ref().map(|g| g.value), Some(2.0));
        let metric = &family.metric[0];
        let labels: Vec<(&str, &str)> = metric
            .label
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        assert_eq!(labels, [("status", "failed"), ("workspace", "w")]);
        let h = metric.histogram.as_ref().expect("a histogram");
        assert_eq!((h.sample_count, h.schema, h.zero_count), (7, Some(4), 1));
        // Buckets 0 (1.0) and 1 (1.04, twice), then 26 (3.0 three times).
        let spans: Vec<(i32, u32)> = h.positive_span.iter().map(|s| (s.offset, s.length)).collect();
        assert_eq!(spans, [(0, 2), (24, 1)]);
        assert_eq!(h.positive_delta, [1, 1, 1]);
        let cumulative: Vec<u64> = h.bucket.iter().map(|b| b.cumulative_count).collect();
        assert_eq!(cumulative, [1, 2, 7]);
        let exemplar = h.bucket[1].exemplar.as_ref().expect("the second bucket's exemplar");
        assert_eq!(exemplar.label[0].value, "j-1");
        assert_eq!(exemplar.label[1].value, "7");
        assert_eq!(
            exemplar.timestamp.as_ref().map(|t| (t.seconds, t.nanos)),
            Some((1_700_000_000, 500_000_000))
        );
        assert!(h.bucket[0].exemplar.is_none() && h.bucket[2].exemplar.is_none());
    }

    #[test]
    fn an_empty_native_histogram_still_reads_as_native() {
        let mut w = Writer::new(Format::Protobuf, 0);
        let extras = Extras {
            native: Some(&NativeHistogram::default()),
            ..Extras::default()
        };
        w.histogram_with(&HISTOGRAM, &["failed"], &[0.1, 1.0], &Histogram::<3>::default(), extras);
        let family = proto::MetricFamily::decode_length_delimited(&w.finish(false)[..]).expect("a family");
        let h = family.metric[0].histogram.clone().expect("a histogram");
        assert!(h.zero_threshold > 0.0 && h.positive_span.len() == 1);
    }

    #[test]
    fn openmetrics_names_counters_without_total_and_ends_with_eof() {
        let mut w = Writer::new(Format::OpenMetrics, 0);
        w.set_workspace("w");
        w.counter(&COUNTER, &["a"], 3.0, Some(1_700_000_000.0));
        w.histogram(&HISTOGRAM, &["ok"], &[0.1, 1.0], &Histogram::<3>::default());
        let out = String::from_utf8(w.finish(true)).unwrap();
        assert!(
            out.starts_with("# HELP x Help with \\\\ and\\nnewline.\n# TYPE x counter\n"),
            "{out}"
        );
        assert!(
            out.contains(
                "\nx_total{recipe=\"a\",workspace=\"w\"} 3\nx_created{recipe=\"a\",workspace=\"w\"} 1700000000\n"
            ),
            "{out}"
        );
        assert!(
            out.contains("# TYPE h_seconds histogram\n# UNIT h_seconds seconds\n"),
            "{out}"
        );
        assert!(out.ends_with("# EOF\n"), "{out}");
    }
}
