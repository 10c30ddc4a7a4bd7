//! One workspace's share of the exporter's own work: requests to Workato
//! and to the admin route, poll durations. The workspace's client, poller
//! and admin route record into its [`SelfMetrics`], built before any of
//! them; every series carries the workspace. What belongs to the process
//! (build info, reloads, shards, process metrics) is in `exporter`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use super::catalogue::{ADMIN_REQUESTS, API_REQUEST_DURATION, API_REQUESTS, COLLECTOR_DURATION};
use super::text::Writer;
use crate::client::{Observer, Route};
use crate::snapshot::{Collector, Histogram};

/// Upper bounds of `workato_api_request_duration_seconds`.
const REQUEST_BUCKETS: [f64; 9] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Upper bounds of `workato_collector_duration_seconds`.
const POLL_BUCKETS: [f64; 10] = [0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0];

/// Counters and histograms the client, poller and admin route update as
/// they work. Keys are label values in the catalogue's label order, so the
/// maps iterate in the order series are written.
#[derive(Default)]
pub struct SelfMetrics {
    inner: Mutex<Recorded>,
}

#[derive(Default)]
struct Recorded {
    /// By (action, code).
    admin_requests: BTreeMap<(String, u16), u64>,
    /// By (code, endpoint).
    api_requests: BTreeMap<(String, &'static str), u64>,
    /// By endpoint.
    api_request_durations: BTreeMap<&'static str, Histogram<{ REQUEST_BUCKETS.len() + 1 }>>,
    /// By collector.
    poll_durations: BTreeMap<&'static str, Histogram<{ POLL_BUCKETS.len() + 1 }>>,
}

impl SelfMetrics {
    fn recorded(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one admin request by action and HTTP status.
    pub fn observe_admin(&self, action: &str, code: u16) {
        *self
            .recorded()
            .admin_requests
            .entry((action.to_string(), code))
            .or_default() += 1;
    }

    /// Records how long one poll of a collector took.
    pub fn observe_poll(&self, collector: Collector, elapsed: Duration) {
        self.recorded()
            .poll_durations
            .entry(collector.name())
            .or_default()
            .observe(&POLL_BUCKETS, elapsed.as_secs_f64());
    }

    pub(super) fn render_admin_requests(&self, w: &mut Writer<'_>) {
        for ((action, code), count) in &self.recorded().admin_requests {
            w.sample(&ADMIN_REQUESTS, &[action, &code.to_string()], *count as f64);
        }
    }

    pub(super) fn render_api_request_durations(&self, w: &mut Writer<'_>) {
        for (endpoint, histogram) in &self.recorded().api_request_durations {
            w.histogram(&API_REQUEST_DURATION, &[endpoint], &REQUEST_BUCKETS, histogram);
        }
    }

    pub(super) fn render_api_requests(&self, w: &mut Writer<'_>) {
        for ((code, endpoint), count) in &self.recorded().api_requests {
            w.sample(&API_REQUESTS, &[code, endpoint], *count as f64);
        }
    }

    pub(super) fn render_poll_durations(&self, w: &mut Writer<'_>) {
        for (collector, histogram) in &self.recorded().poll_durations {
            w.histogram(&COLLECTOR_DURATION, &[collector], &POLL_BUCKETS, histogram);
        }
    }
}

impl Observer for SelfMetrics {
    fn request_finished(&self, route: &Route, code: &str, elapsed: Duration) {
        let mut recorded = self.recorded();
        *recorded
            .api_requests
            .entry((code.to_string(), route.label))
            .or_default() += 1;
        recorded
            .api_request_durations
            .entry(route.label)
            .or_default()
            .observe(&REQUEST_BUCKETS, elapsed.as_secs_f64());
    }
}
