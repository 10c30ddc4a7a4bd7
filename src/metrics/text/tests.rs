//! The writer in each format: escaping, family guards, histograms,
//! OpenMetrics names and protobuf messages.

use prost::Message;

use super::*;
use crate::snapshot::{JobExemplar, NativeHistogram};

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
    assert_eq!((h.sample_count, h.schema, h.zero_count), (7, Some(3), 1));
    // Buckets 0 (1.0) and 1 (1.04, twice), then 13 (3.0 three times).
    let spans: Vec<(i32, u32)> = h.positive_span.iter().map(|s| (s.offset, s.length)).collect();
    assert_eq!(spans, [(0, 2), (11, 1)]);
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
        out.contains("\nx_total{recipe=\"a\",workspace=\"w\"} 3\nx_created{recipe=\"a\",workspace=\"w\"} 1700000000\n"),
        "{out}"
    );
    assert!(
        out.contains("# TYPE h_seconds histogram\n# UNIT h_seconds seconds\n"),
        "{out}"
    );
    assert!(out.ends_with("# EOF\n"), "{out}");
}
