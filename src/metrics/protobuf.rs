//! The protobuf side of the writer: a series as an
//! `io.prometheus.client.Metric`, with a histogram's native buckets laid out
//! as spans and deltas.

use super::family::{Extras, Kind, Spec};
use super::proto;
use crate::snapshot::{Histogram, NATIVE_ZERO_THRESHOLD, NativeHistogram};

/// A family's message, without its metrics yet.
pub fn family(spec: &Spec) -> proto::MetricFamily {
    proto::MetricFamily {
        name: spec.name.to_string(),
        help: spec.help.to_string(),
        r#type: match spec.kind {
            Kind::Counter => proto::MetricType::Counter,
            Kind::Gauge => proto::MetricType::Gauge,
            Kind::Histogram => proto::MetricType::Histogram,
        } as i32,
        metric: Vec::new(),
        unit: spec.unit().unwrap_or_default().to_string(),
    }
}

/// A counter (with its start, when known) or gauge sample.
pub fn scalar(kind: Kind, label: Vec<proto::LabelPair>, value: f64, created: Option<f64>) -> proto::Metric {
    match kind {
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
    }
}

/// A histogram series: cumulative classic buckets (the last at +Inf) with
/// their exemplars, and the native buckets when `extras` has them.
pub fn histogram<const B: usize>(
    label: Vec<proto::LabelPair>,
    bounds: &[f64],
    classic: &Histogram<B>,
    extras: Extras<'_>,
) -> proto::Metric {
    let mut cumulative = 0;
    let bucket = classic
        .buckets
        .iter()
        .enumerate()
        .map(|(i, count)| {
            cumulative += count;
            proto::Bucket {
                cumulative_count: cumulative,
                upper_bound: bounds.get(i).copied().unwrap_or(f64::INFINITY),
                exemplar: extras.exemplar(i).map(|(e, recipe)| proto::Exemplar {
                    label: vec![label_pair("job_id", &e.job_id), label_pair("recipe_id", recipe)],
                    value: e.value,
                    timestamp: Some(proto::Timestamp::from_unix(e.completed_at)),
                }),
            }
        })
        .collect();
    let mut h = proto::Histogram {
        sample_count: classic.count,
        sample_sum: classic.sum,
        bucket,
        created_timestamp: extras.created.map(proto::Timestamp::from_unix),
        ..proto::Histogram::default()
    };
    if let Some(native) = extras.native {
        native_into(native, &mut h);
    }
    proto::Metric {
        label,
        histogram: Some(h),
        ..proto::Metric::default()
    }
}

pub fn label_pair(name: &str, value: &str) -> proto::LabelPair {
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
    for (index, count) in native.buckets() {
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        match (previous_index, h.positive_span.last_mut()) {
            (Some(previous), Some(span)) if index == previous + 1 => span.length += 1,
            (previous, _) => h.positive_span.push(proto::BucketSpan {
                offset: previous.map_or(index, |p| index - p - 1),
                length: 1,
            }),
        }
        h.positive_delta.push(count.wrapping_sub(previous_count));
        previous_count = count;
        previous_index = Some(index);
    }
    if h.positive_span.is_empty() {
        h.positive_span.push(proto::BucketSpan { offset: 0, length: 0 });
    }
}
