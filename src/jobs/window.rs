//! The failure ratio's sliding window: completed jobs counted per minute of
//! completion, over the last `--jobs.window`. Time is a parameter.

use std::collections::VecDeque;
use std::time::Duration;

/// Completed jobs of one recipe per minute, oldest first, none older than
/// the window as of the last job recorded.
#[derive(Debug, Clone, Default)]
pub struct Window {
    minutes: VecDeque<Minute>,
}

/// Completed jobs in one minute (of Unix time).
#[derive(Debug, Clone, Copy)]
struct Minute {
    minute: i64,
    succeeded: u32,
    failed: u32,
}

/// The first minute inside a window of `window` ending at `now`.
fn oldest_minute(window: Duration, now: f64) -> i64 {
    ((now - window.as_secs_f64()) / 60.0).floor() as i64
}

impl Window {
    /// Counts a job completed at `completed_at` and drops the minutes that
    /// left the window. A completion time ahead of `now` (a skewed server,
    /// or the simulator playing faster than life) counts as now: the window
    /// then holds at most its own length in minutes, whatever Workato sends.
    pub fn record(&mut self, completed_at: Option<f64>, failed: bool, window: Duration, now: f64) {
        let minute = (completed_at.unwrap_or(now).min(now) / 60.0).floor() as i64;
        match self.minutes.iter_mut().rev().find(|m| m.minute == minute) {
            Some(bucket) if failed => bucket.failed += 1,
            Some(bucket) => bucket.succeeded += 1,
            None => {
                let position = self
                    .minutes
                    .iter()
                    .position(|m| m.minute > minute)
                    .unwrap_or(self.minutes.len());
                let bucket = Minute {
                    minute,
                    succeeded: u32::from(!failed),
                    failed: u32::from(failed),
                };
                self.minutes.insert(position, bucket);
            }
        }
        let oldest = oldest_minute(window, now);
        while self.minutes.front().is_some_and(|m| m.minute < oldest) {
            self.minutes.pop_front();
        }
    }

    /// Failed / completed over the window at `now`; `None` when nothing
    /// completed in it. Only reads: minutes older than the window are
    /// skipped here and dropped when the next job is recorded.
    pub fn ratio(&self, window: Duration, now: f64) -> Option<f64> {
        let oldest = oldest_minute(window, now);
        let (ok, failed) = self
            .minutes
            .iter()
            .filter(|m| m.minute >= oldest)
            .fold((0u64, 0u64), |(ok, failed), m| {
                (ok + u64::from(m.succeeded), failed + u64::from(m.failed))
            });
        (ok + failed > 0).then(|| failed as f64 / (ok + failed) as f64)
    }

    /// When the ratio at `now` next changes with no new job: when its
    /// oldest minute leaves the window.
    pub fn expires_at(&self, window: Duration, now: f64) -> Option<f64> {
        let oldest = oldest_minute(window, now);
        let first = self.minutes.iter().find(|m| m.minute >= oldest)?;
        Some((first.minute + 1) as f64 * 60.0 + window.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);
    const NOW: f64 = 1_795_300_000.0;

    #[test]
    fn completion_times_from_the_future_do_not_grow_the_window() {
        let mut window = Window::default();
        for hour in 0..100 {
            window.record(Some(NOW + 3600.0 * f64::from(hour)), false, HOUR, NOW);
        }
        assert_eq!(window.minutes.len(), 1, "all count as now");
        assert_eq!(window.ratio(HOUR, NOW), Some(0.0));
    }

    #[test]
    fn the_failure_ratio_covers_the_window_only() {
        let mut window = Window::default();
        window.record(Some(NOW - 7200.0), true, HOUR, NOW);
        assert_eq!(
            window.ratio(HOUR, NOW),
            None,
            "a job two hours old is outside a 1h window"
        );
        for (i, failed) in [false, true, false, false].into_iter().enumerate() {
            window.record(Some(NOW - 30.0 * i as f64), failed, HOUR, NOW);
        }
        assert_eq!(window.ratio(HOUR, NOW), Some(0.25));
    }

    #[test]
    fn the_failure_ratio_slides_with_time_and_reading_it_changes_nothing() {
        let mut window = Window::default();
        let completed = NOW - 90.0;
        window.record(Some(completed), true, HOUR, NOW);
        window.record(Some(completed), false, HOUR, NOW);
        let expires = window.expires_at(HOUR, NOW).expect("a minute in the window");
        assert_eq!(expires, ((completed / 60.0).floor() + 1.0) * 60.0 + 3600.0);
        assert_eq!(window.ratio(HOUR, expires - 1.0), Some(0.5));
        assert_eq!(window.ratio(HOUR, expires), None, "the minute left the window");
        assert_eq!(window.expires_at(HOUR, expires), None, "nothing left to slide");
        assert_eq!(
            window.ratio(HOUR, NOW),
            Some(0.5),
            "asking about a later time dropped nothing"
        );
    }
}
