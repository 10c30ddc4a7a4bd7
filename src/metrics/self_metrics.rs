//! One workspace's share of the exporter's own work: requests to Workato
//! and to the admin route, poll durations. The workspace's client, poller
//! and admin route record into its [`SelfMetrics`], built before any of
//! them; every series carries the workspace. What belongs to the process
//! (build info, reloads, shards, process metrics) is in `exporter`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use super::catalogue::{ADMIN_REQUESTS, API_REQUEST_DURATION, API_REQUESTS, COLLECTOR_DURATION};
use super::family::Extras;
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

/// Each series with the Unix time it was first recorded (OpenMetrics'
/// `_created`).
#[derive(Default)]
struct Recorded {
    /// By (action, code).
    admin_requests: BTreeMap<(String, u16), Created<u64>>,
    /// By (code, endpoint).
    api_requests: BTreeMap<(String, &'static str), Created<u64>>,
    /// By endpoint.
    api_request_durations: BTreeMap<&'static str, Created<Histogram<{ REQUEST_BUCKETS.len() + 1 }>>>,
    /// By collector.
    poll_durations: BTreeMap<&'static str, Created<Histogram<{ POLL_BUCKETS.len() + 1 }>>>,
    /// Records so far: the version the render cache keys this workspace's
    /// rendering of them by.
    changes: u64,
}

/// A series' value and when it was created.
struct Created<T> {
    value: T,
    at: f64,
}

impl<T: Default> Default for Created<T> {
    fn default() -> Self {
        Created {
            value: T::default(),
            at: crate::clock::unix_now(),
        }
    }
}

impl SelfMetrics {
    fn recorded(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes so far: equal versions render equal.
    pub(super) fn version(&self) -> u64 {
        self.recorded().changes
    }

    /// Counts one admin request by action and HTTP status.
    pub fn observe_admin(&self, action: &str, code: u16) {
        let mut recorded = self.recorded();
        recorded.changes += 1;
        recorded
            .admin_requests
            .entry((action.to_string(), code))
            .or_default()
            .value += 1;
    }

    /// Records how long one poll of a collector took.
    pub fn observe_poll(&self, collector: Collector, elapsed: Duration) {
        let mut recorded = self.recorded();
        recorded.changes += 1;
        recorded
            .poll_durations
            .entry(collector.name())
            .or_default()
            .value
            .observe(&POLL_BUCKETS, elapsed.as_secs_f64());
    }

    pub(super) fn render_admin_requests(&self, w: &mut Writer) {
        for ((action, code), count) in &self.recorded().admin_requests {
            let values = [action.as_str(), &code.to_string()];
            w.counter(&ADMIN_REQUESTS, &values, count.value as f64, Some(count.at));
        }
    }

    pub(super) fn render_api_request_durations(&self, w: &mut Writer) {
        for (endpoint, histogram) in &self.recorded().api_request_durations {
            let extras = Extras {
                created: Some(histogram.at),
                ..Extras::default()
            };
            w.histogram_with(
                &API_REQUEST_DURATION,
                &[endpoint],
                &REQUEST_BUCKETS,
                &histogram.value,
                extras,
            );
        }
    }

    pub(super) fn render_api_requests(&self, w: &mut Writer) {
        for ((code, endpoint), count) in &self.recorded().api_requests {
            w.counter(&API_REQUESTS, &[code, endpoint], count.value as f64, Some(count.at));
        }
    }

    pub(super) fn render_poll_durations(&self, w: &mut Writer) {
        for (collector, histogram) in &self.recorded().poll_durations {
            let extras = Extras {
                created: Some(histogram.at),
                ..Extras::default()
            };
            w.histogram_with(
                &COLLECTOR_DURATION,
                &[collector],
                &POLL_BUCKETS,
                &histogram.value,
                extras,
            );
        }
    }
}

impl Observer for SelfMetrics {
    fn request_finished(&self, route: &Route, code: &str, elapsed: Duration) {
        let mut recorded = self.recorded();
        recorded.changes += 1;
        recorded
            .api_requests
            .entry((code.to_string(), route.label))
            .or_default()
            .value += 1;
        recorded
            .api_request_durations
            .entry(route.label)
            .or_default()
            .value
            .observe(&REQUEST_BUCKETS, elapsed.as_secs_f64());
    }
}
