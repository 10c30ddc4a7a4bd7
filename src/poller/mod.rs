//! Background polling: one task per collector, each on its own interval.
//!
//! `poll_once` is the unit of work (fetch one resource, publish it into the
//! snapshot, record the outcome) and is what tests call; `run` only
//! schedules, logs changes of outcome and stops on shutdown. A failed poll
//! leaves the previous data in place and marks the collector down.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::client::Client;
use crate::clock::unix_now;
use crate::error::{Error, Result};
use crate::jobs::JobsTracker;
use crate::metrics::SelfMetrics;
use crate::snapshot::{Collector, SharedSnapshot};

mod fetch;
mod quiet;

pub use quiet::{MAX_QUIET, Quiet};

/// Poll intervals.
#[derive(Debug, Clone)]
pub struct Intervals {
    /// Recipes, connections and API platform.
    pub resources: Duration,
    /// Workspace details (users/me), which rarely change.
    pub workspace: Duration,
    /// Jobs: at least this often, and after every recipes sweep.
    pub jobs: Duration,
}

impl Intervals {
    fn of(&self, collector: Collector) -> Duration {
        match collector {
            Collector::Workspace => self.workspace,
            Collector::Jobs => self.jobs,
            Collector::Recipes | Collector::Connections | Collector::ApiPlatform => self.resources,
        }
    }

    /// When to try a collector again after a failed poll, if sooner than
    /// its interval: at the poll interval. Workspace details, read every
    /// 15 minutes, would otherwise read as down for 15 minutes after one
    /// failure, and "down for 15 minutes" would no longer mean anything.
    fn retry(&self, collector: Collector) -> Option<Duration> {
        (self.resources < self.of(collector)).then_some(self.resources)
    }
}

/// How often the failure ratios are checked against the clock: at most
/// this late does a ratio drop a minute that left its window.
pub const SLIDE_CHECK: Duration = Duration::from_secs(15);

pub struct Poller {
    client: Client,
    snapshot: Arc<SharedSnapshot>,
    self_metrics: Arc<SelfMetrics>,
    intervals: Intervals,
    jobs: Arc<JobsTracker>,
    /// Counts successful recipes sweeps; the jobs collector wakes on it.
    sweeps: watch::Sender<u64>,
    /// When API collections were last read: they change rarely and carry
    /// only descriptive labels, so they follow the workspace interval while
    /// endpoints (whose state alerts watch) follow the poll interval.
    collections_read: std::sync::Mutex<Option<Instant>>,
    /// Whether the workspace collector polls (users/me), or its details
    /// are published from elsewhere.
    polls_details: bool,
    /// Set by an Embedded partner while its usage statistics show this
    /// customer completed no job lately.
    quiet: Option<Arc<Quiet>>,
    /// When the second poll of each collector comes, in intervals after
    /// the first (see [`Poller::second_poll_after`]); `None`: one interval.
    second_poll: Option<f64>,
}

impl Poller {
    pub fn new(
        client: Client,
        snapshot: Arc<SharedSnapshot>,
        self_metrics: Arc<SelfMetrics>,
        intervals: Intervals,
        jobs: Arc<JobsTracker>,
    ) -> Poller {
        Poller {
            client,
            snapshot,
            self_metrics,
            intervals,
            jobs,
            sweeps: watch::channel(0).0,
            collections_read: std::sync::Mutex::new(None),
            polls_details: true,
            quiet: None,
            second_poll: None,
        }
    }

    /// Spreads this workspace's polls over the interval: its first polls
    /// at once, the second ones `intervals` after them (for a workspace
    /// labelled `label`, [`second_poll`]`(label)`, between half an interval
    /// and one and a half), and every interval from there. An Embed admin
    /// workspace's customers start together and share one budget: in step,
    /// every customer's recipes sweep, and then its jobs cycle, fell in the
    /// same few seconds of each minute, which spent the minute's jobs
    /// budget at once and left the reads it had no room for to wait a whole
    /// minute (the jobs cycle follows its sweep).
    pub fn second_poll_after(mut self, intervals: f64) -> Poller {
        self.second_poll = Some(intervals);
        self
    }

    /// This poller's recipes sweep waits while `quiet` says so.
    pub fn quiet_when(mut self, quiet: Arc<Quiet>) -> Poller {
        self.quiet = Some(quiet);
        self
    }

    /// Whether this turn's recipes sweep is left out: the customer is quiet
    /// and its last successful sweep is younger than [`MAX_QUIET`].
    fn sweep_waits(&self) -> bool {
        let Some(quiet) = self.quiet.as_ref() else {
            return false;
        };
        let last = self
            .snapshot
            .load()
            .collectors
            .get(&Collector::Recipes)
            .and_then(|s| s.last_success);
        let waits = quiet.is_quiet() && last.is_some_and(|at| unix_now() - at < MAX_QUIET.as_secs_f64());
        if waits {
            quiet.skipped.fetch_add(1, Ordering::Relaxed);
        } else {
            quiet.sweeping();
        }
        waits
    }

    /// Marks a collector down with `error`, keeping its data.
    fn record_failure(&self, collector: Collector, error: &Error) {
        let now = unix_now();
        self.snapshot.update(|snapshot| {
            let status = snapshot.collectors.entry(collector).or_default();
            status.last_attempt = Some(now);
            status.up = false;
            status.unavailable = false;
            status.last_error = Some(error.to_string());
        });
    }

    /// Polls one collector once and publishes the result into the snapshot.
    pub async fn poll_once(&self, collector: Collector) -> Result<()> {
        let started = Instant::now();
        let outcome = self.fetch(collector).await;
        self.self_metrics.observe_poll(collector, started.elapsed());
        self.publish(collector, outcome)
    }

    /// This poller leaves the workspace details to [`Poller::details_read`].
    pub fn details_from_elsewhere(mut self) -> Poller {
        self.polls_details = false;
        self
    }

    /// Runs every collector until `shutdown` is cancelled.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tasks = JoinSet::new();
        let polled = Collector::ALL
            .into_iter()
            .filter(|c| *c != Collector::Workspace || self.polls_details);
        for collector in polled {
            let poller = Arc::clone(&self);
            let shutdown = shutdown.clone();
            tasks.spawn(async move { poller.run_collector(collector, shutdown).await });
        }
        tasks.spawn(Arc::clone(&self).slide_failure_ratios(shutdown));
        while tasks.join_next().await.is_some() {}
    }

    /// Republishes the job stats when a failure ratio's window has slid
    /// past a minute, so that the ratio follows the clock between jobs.
    async fn slide_failure_ratios(self: Arc<Self>, shutdown: CancellationToken) {
        let mut ticker = tokio::time::interval(SLIDE_CHECK);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticker.tick() => {}
            }
            self.jobs.slide(unix_now());
        }
    }

    /// Waits for the collector's next turn: its interval, or for jobs also
    /// the end of a recipes sweep (the first jobs cycle waits for the first
    /// sweep, since it reads what the sweep saw move), for the recipes of a
    /// quiet customer also the news that it moved.
    async fn next_turn(
        &self,
        collector: Collector,
        ticker: &mut tokio::time::Interval,
        sweeps: &mut watch::Receiver<u64>,
    ) {
        if collector == Collector::Recipes
            && let Some(quiet) = &self.quiet
        {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = quiet.moved.notified() => ticker.reset(),
            }
            return;
        }
        if collector != Collector::Jobs {
            ticker.tick().await;
            return;
        }
        if *sweeps.borrow_and_update() == 0 {
            let _ = sweeps.wait_for(|n| *n > 0).await;
            ticker.reset();
            return;
        }
        tokio::select! {
            _ = ticker.tick() => {}
            _ = sweeps.changed() => ticker.reset(),
        }
    }

    async fn run_collector(self: Arc<Self>, collector: Collector, shutdown: CancellationToken) {
        let mut ticker = tokio::time::interval(self.intervals.of(collector));
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut sweeps = self.sweeps.subscribe();
        let mut last_error: Option<String> = None;
        // An optional collector refused by Workato: said once, not an error.
        let mut unavailable = false;
        let mut first = true;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.next_turn(collector, &mut ticker, &mut sweeps) => {}
            }
            if collector == Collector::Recipes && self.sweep_waits() {
                continue;
            }
            let started = Instant::now();
            let poll = guarded(collector, {
                let poller = Arc::clone(&self);
                async move { poller.poll_once(collector).await }
            });
            let outcome = tokio::select! {
                _ = shutdown.cancelled() => return,
                outcome = poll => outcome,
            };
            if let Err(error @ Error::Panicked { .. }) = &outcome {
                self.record_failure(collector, error);
            }
            if std::mem::take(&mut first) && collector != Collector::Jobs {
                // The jobs cycle follows the sweeps, staggered or not.
                if let Some(intervals) = self.second_poll {
                    ticker.reset_at(started + self.intervals.of(collector).mul_f64(intervals));
                }
            }
            let name = collector.name();
            match outcome {
                Ok(()) => {
                    let was_unavailable = std::mem::take(&mut unavailable);
                    if last_error.take().is_some() {
                        tracing::info!(collector = name, "poll succeeded again");
                    } else if was_unavailable {
                        tracing::info!(collector = name, "available to this API client now");
                    } else {
                        tracing::debug!(collector = name, elapsed = ?started.elapsed(), "poll succeeded");
                    }
                }
                Err(Error::Forbidden { .. }) if collector.optional() => {
                    if !unavailable {
                        tracing::info!(
                            collector = name,
                            interval = ?self.intervals.of(collector),
                            "{}; retrying at the collector's interval",
                            crate::snapshot::WORKSPACE_NOT_AVAILABLE
                        );
                    }
                    unavailable = true;
                    last_error = None;
                }
                Err(error) => {
                    // Log a failure when it starts or changes, not on every
                    // poll; the client already logged a rejected token.
                    unavailable = false;
                    let text = error.to_string();
                    if last_error.as_deref() != Some(text.as_str()) {
                        if matches!(error, Error::Unauthorized { .. }) {
                            tracing::debug!(collector = name, "poll failed: {text}");
                        } else {
                            tracing::error!(collector = name, "poll failed, keeping the last good data: {text}");
                        }
                    }
                    last_error = Some(text);
                    if let Some(sooner) = self.intervals.retry(collector) {
                        ticker.reset_after(sooner);
                    }
                }
            }
        }
    }
}

/// Where between half an interval and one and a half after the first polls
/// the second ones of the workspace labelled `label` come: xxh3 of the
/// label (fixed across builds and platforms), spread evenly.
pub fn second_poll(label: &str) -> f64 {
    let hash = xxhash_rust::xxh3::xxh3_64(label.as_bytes());
    0.5 + (hash >> 11) as f64 / (1u64 << 53) as f64
}

/// Runs one poll as a task of its own, so that a panic in it is caught and
/// becomes the collector's failure while the loop goes on: a collector must
/// never stop polling while it reads as up. Dropping the future (shutdown)
/// aborts the task.
async fn guarded(
    collector: Collector,
    poll: impl std::future::Future<Output = Result<()>> + Send + 'static,
) -> Result<()> {
    match tokio_util::task::AbortOnDropHandle::new(tokio::spawn(poll)).await {
        Ok(outcome) => outcome,
        Err(error) => Err(Error::Panicked {
            collector: collector.name(),
            reason: panic_text(error),
        }),
    }
}

/// What a poll task's panic said.
fn panic_text(error: tokio::task::JoinError) -> String {
    if !error.is_panic() {
        return error.to_string();
    }
    let payload = error.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_poll_of_a_slow_collector_is_tried_again_at_the_poll_interval() {
        let intervals = Intervals {
            resources: Duration::from_secs(60),
            workspace: Duration::from_secs(900),
            jobs: Duration::from_secs(60),
        };
        assert_eq!(intervals.retry(Collector::Workspace), Some(Duration::from_secs(60)));
        for collector in [
            Collector::Recipes,
            Collector::Jobs,
            Collector::Connections,
            Collector::ApiPlatform,
        ] {
            assert_eq!(intervals.retry(collector), None, "{collector:?} keeps its interval");
        }
    }

    #[tokio::test]
    async fn a_panicking_poll_is_an_error_naming_the_collector_not_a_dead_task() {
        let outcome = guarded(Collector::Recipes, async { panic!("attempt to add with overflow") }).await;
        let error = outcome.unwrap_err();
        assert!(
            matches!(
                error,
                Error::Panicked {
                    collector: "recipes",
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains("attempt to add with overflow"), "{error}");
        assert!(guarded(Collector::Jobs, async { Ok(()) }).await.is_ok());
    }
}
