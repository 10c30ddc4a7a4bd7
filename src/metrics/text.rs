//! The one writer of the Prometheus text format (0.0.4): every family of
//! the catalogue is written by [`Writer`], straight into a buffer.
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
use std::fmt::Write;

use super::family::{Kind, Spec, WORKSPACE};
use crate::snapshot::Histogram;

/// The longest label value written, in bytes of UTF-8 before escaping. A
/// longer value is cut on a character boundary and ends in [`CUT_MARKER`],
/// which counts within the limit.
pub const MAX_LABEL_BYTES: usize = 256;

/// Ends a label value that was cut, so a reader sees it is not whole.
pub const CUT_MARKER: &str = "…";

/// What a spilling [`Writer`] holds before handing it on.
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

/// Appends samples of the catalogue's families to a `String`.
///
/// Two guards keep the output well formed: a family's `# HELP` and
/// `# TYPE` lines are written with its first sample (so a family with no
/// sample is absent, and none is announced twice), and a histogram series
/// is written whole by [`Writer::histogram`]. Labels follow the order of
/// the family's [`Spec`]; callers give their values in that order, leaving
/// out `workspace`, which the writer fills in.
pub struct Writer<'a> {
    out: &'a mut String,
    /// Given the buffer whenever it holds [`SPILL_BYTES`] or more, to take
    /// what was written (and clear it): the large part is compressed as it
    /// is written, never held whole.
    spill: Option<&'a mut dyn FnMut(&mut String)>,
    /// The `workspace` label's value, escaped once.
    workspace: String,
    /// The family whose samples are being written.
    current: Option<&'static str>,
    /// Where `workspace` is among the current family's labels, if at all.
    workspace_at: Option<usize>,
    /// Families finished, which must not start again.
    done: Vec<&'static str>,
    /// The `le` values of the last bounds seen, formatted once.
    bounds: Vec<f64>,
    le: Vec<String>,
}

impl<'a> Writer<'a> {
    pub fn new(out: &'a mut String, workspace: &str) -> Writer<'a> {
        let mut w = Writer {
            out,
            spill: None,
            workspace: String::new(),
            current: None,
            workspace_at: None,
            done: Vec::new(),
            bounds: Vec::new(),
            le: Vec::new(),
        };
        w.set_workspace(workspace);
        w
    }

    /// The `workspace` label of the samples written next. A family may go
    /// on across workspaces: the exposition writes each family for every
    /// workspace before the next family.
    pub fn set_workspace(&mut self, workspace: &str) {
        self.workspace.clear();
        escape_into(&mut self.workspace, workspace);
    }

    /// As [`Writer::new`], handing the buffer to `spill` whenever it holds
    /// [`SPILL_BYTES`] or more; what is left at the end is the caller's.
    pub fn spilling(out: &'a mut String, workspace: &str, spill: &'a mut dyn FnMut(&mut String)) -> Writer<'a> {
        Writer {
            spill: Some(spill),
            ..Writer::new(out, workspace)
        }
    }

    /// One sample of a gauge or counter: `values` in the order of
    /// `spec.labels`, without `workspace`.
    pub fn sample(&mut self, spec: &'static Spec, values: &[&str], value: f64) {
        debug_assert!(!matches!(spec.kind, Kind::Histogram), "{}: use histogram()", spec.name);
        self.family(spec);
        self.series(spec, "", values, None);
        self.value(value);
        self.spill_when_full();
    }

    fn spill_when_full(&mut self) {
        if self.out.len() >= SPILL_BYTES
            && let Some(spill) = &mut self.spill
        {
            spill(self.out);
        }
    }

    /// One histogram series: its cumulative buckets up to `+Inf`, then
    /// `_sum` and `_count`. `bounds` are the upper bounds `histogram` was
    /// observed with.
    pub fn histogram<const B: usize>(
        &mut self,
        spec: &'static Spec,
        values: &[&str],
        bounds: &[f64],
        histogram: &Histogram<B>,
    ) {
        debug_assert!(matches!(spec.kind, Kind::Histogram), "{} is no histogram", spec.name);
        debug_assert_eq!(bounds.len() + 1, B, "{}: one bucket per bound, and +Inf", spec.name);
        self.family(spec);
        if self.bounds != bounds {
            self.bounds = bounds.to_vec();
            self.le = bounds.iter().map(|b| value_text(*b)).collect();
            self.le.push("+Inf".to_string());
        }
        let le = std::mem::take(&mut self.le);
        let mut cumulative = 0;
        for (le, count) in le.iter().zip(&histogram.buckets) {
            cumulative += count;
            self.series(spec, "_bucket", values, Some(le));
            self.value(cumulative as f64);
        }
        self.le = le;
        self.series(spec, "_sum", values, None);
        self.value(histogram.sum);
        self.series(spec, "_count", values, None);
        self.value(histogram.count as f64);
        self.spill_when_full();
    }

    /// The family guard: `# HELP` and `# TYPE` before a family's first sample.
    fn family(&mut self, spec: &'static Spec) {
        // Most samples continue the family before them: the same literal,
        // recognised by its address before its bytes are compared.
        if self
            .current
            .is_some_and(|current| std::ptr::eq(current, spec.name) || current == spec.name)
        {
            return;
        }
        self.workspace_at = spec.labels.iter().position(|label| *label == WORKSPACE);
        debug_assert!(!self.done.contains(&spec.name), "{} written in two places", spec.name);
        self.done.extend(self.current.replace(spec.name));
        self.out.push_str("# HELP ");
        self.out.push_str(spec.name);
        self.out.push(' ');
        for c in spec.help.chars() {
            match c {
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                c => self.out.push(c),
            }
        }
        let _ = writeln!(self.out, "\n# TYPE {} {}", spec.name, spec.kind.name());
    }

    /// A series' name and labels, up to the space before its value; `le`
    /// comes last, as Prometheus writes it.
    fn series(&mut self, spec: &Spec, suffix: &str, values: &[&str], le: Option<&str>) {
        debug_assert_eq!(
            values.len() + usize::from(spec.labels.contains(&WORKSPACE)),
            spec.labels.len(),
            "{}: one value per label but workspace",
            spec.name
        );
        let out = &mut *self.out;
        out.push_str(spec.name);
        out.push_str(suffix);
        let mut separator = '{';
        let mut values = values.iter();
        for (i, label) in spec.labels.iter().enumerate() {
            out.push(separator);
            separator = ',';
            out.push_str(label);
            out.push_str("=\"");
            if Some(i) == self.workspace_at {
                out.push_str(&self.workspace);
            } else {
                escape_into(out, values.next().copied().unwrap_or_default());
            }
            out.push('"');
        }
        if let Some(le) = le {
            out.push(separator);
            separator = ',';
            out.push_str("le=\"");
            out.push_str(le);
            out.push('"');
        }
        if separator == ',' {
            out.push('}');
        }
        out.push(' ');
    }

    fn value(&mut self, value: f64) {
        write_value(self.out, value);
        self.out.push('\n');
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
        let mut out = String::new();
        let mut w = Writer::new(&mut out, "ws \"a\"");
        w.sample(&COUNTER, &["a\"b\\c\nd é"], 5402.0);
        w.sample(&GAUGE, &["n", "17"], 0.5);
        w.sample(&UNLABELLED, &[], f64::INFINITY);
        assert_eq!(
            out,
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
        let mut out = String::new();
        let mut w = Writer::new(&mut out, "w");
        w.sample(&COUNTER, &["a"], 1.0);
        w.sample(&COUNTER, &["b"], 2.0);
        assert_eq!(out.matches("# HELP x_total ").count(), 1, "{out}");
        assert_eq!(out.matches("# TYPE x_total counter\n").count(), 1, "{out}");
        assert!(!out.contains("# HELP x "), "a family with no sample is absent");
    }

    #[test]
    #[should_panic(expected = "written in two places")]
    fn a_family_cannot_start_again_after_another() {
        let mut out = String::new();
        let mut w = Writer::new(&mut out, "w");
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
        let mut out = String::new();
        let mut w = Writer::new(&mut out, "w");
        w.histogram(&HISTOGRAM, &["failed"], &[0.1, 1.0], &h);
        w.histogram(&HISTOGRAM, &["succeeded"], &[0.1, 1.0], &Histogram::<3>::default());
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
        let mut out = String::new();
        let mut w = Writer::new(&mut out, "w");
        let long = format!("{}\"\\\n{}", "a".repeat(200), "b".repeat(1_000));
        w.sample(&COUNTER, &[&long], 1.0);
        let expected = format!(
            "x_total{{recipe=\"{}\\\"\\\\\\n{}…\",workspace=\"w\"}} 1\n",
            "a".repeat(200),
            "b".repeat(50)
        );
        assert!(out.ends_with(&expected), "{out}");
    }
}
