//! Writes the Prometheus text format (0.0.4) straight into a buffer.
//!
//! The large families — one series or more per recipe, connection and
//! endpoint, a histogram per active recipe — are rendered with this once
//! per change of the workspace, not per scrape. The `prometheus` crate's
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

/// The longest label value written, in bytes of UTF-8 before escaping. A
/// longer value is cut on a character boundary and ends in [`CUT_MARKER`],
/// which counts within the limit.
pub const MAX_LABEL_BYTES: usize = 256;

/// Ends a label value that was cut, so a reader sees it is not whole.
pub const CUT_MARKER: &str = "…";

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

/// The type line of a family.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Gauge,
    Counter,
    Histogram,
}

/// Appends families and samples to a `String`; every sample carries the
/// constant `workspace` label. Labels are written in the order given, which
/// callers keep alphabetical like the `prometheus` crate does.
pub struct TextWriter<'a> {
    out: &'a mut String,
    workspace: String,
}

impl<'a> TextWriter<'a> {
    pub fn new(out: &'a mut String, workspace: &str) -> TextWriter<'a> {
        let mut escaped = String::with_capacity(workspace.len());
        escape_into(&mut escaped, workspace);
        TextWriter {
            out,
            workspace: escaped,
        }
    }

    /// `# HELP` and `# TYPE` lines.
    pub fn family(&mut self, name: &str, help: &str, kind: Kind) {
        let kind = match kind {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
        };
        self.out.push_str("# HELP ");
        self.out.push_str(name);
        self.out.push(' ');
        for c in help.chars() {
            match c {
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                c => self.out.push(c),
            }
        }
        let _ = writeln!(self.out, "\n# TYPE {name} {kind}");
    }

    /// One sample. `labels` must sort before `workspace` alphabetically
    /// (all of the catalogue's do), followed by `extra` (such as `le`).
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], extra: Option<(&str, &str)>, value: f64) {
        self.out.push_str(name);
        self.out.push('{');
        for (key, value) in labels {
            self.out.push_str(key);
            self.out.push_str("=\"");
            escape_into(self.out, value);
            self.out.push_str("\",");
        }
        self.out.push_str("workspace=\"");
        self.out.push_str(&self.workspace);
        self.out.push('"');
        if let Some((key, value)) = extra {
            self.out.push(',');
            self.out.push_str(key);
            self.out.push_str("=\"");
            escape_into(self.out, value);
            self.out.push('"');
        }
        self.out.push_str("} ");
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

/// Go's float formatting as Prometheus expects it: `+Inf`, `-Inf`, `NaN`,
/// integers without a decimal point.
pub fn write_value(out: &mut String, value: f64) {
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

    #[test]
    fn samples_escape_labels_and_format_values_like_prometheus() {
        let mut out = String::new();
        let mut w = TextWriter::new(&mut out, "ws \"a\"");
        w.family("x_total", "Help with \\ and\nnewline.", Kind::Counter);
        w.sample("x_total", &[("recipe", "a\"b\\c\nd é")], None, 5402.0);
        w.sample("x_bucket", &[], Some(("le", "+Inf")), f64::INFINITY);
        w.sample("x", &[], None, 0.5);
        assert_eq!(
            out,
            "# HELP x_total Help with \\\\ and\\nnewline.\n# TYPE x_total counter\n\
             x_total{recipe=\"a\\\"b\\\\c\\nd é\",workspace=\"ws \\\"a\\\"\"} 5402\n\
             x_bucket{workspace=\"ws \\\"a\\\"\",le=\"+Inf\"} +Inf\n\
             x{workspace=\"ws \\\"a\\\"\"} 0.5\n"
        );
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
        let mut w = TextWriter::new(&mut out, "w");
        let long = format!("{}\"\\\n{}", "a".repeat(200), "b".repeat(1_000));
        w.sample("x", &[("recipe", &long)], None, 1.0);
        let expected = format!(
            "x{{recipe=\"{}\\\"\\\\\\n{}…\",workspace=\"w\"}} 1\n",
            "a".repeat(200),
            "b".repeat(50)
        );
        assert_eq!(out, expected);
    }
}
