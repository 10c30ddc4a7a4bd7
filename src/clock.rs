//! The wall clock as Workato gives times: Unix seconds.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in Unix seconds; 0 for a clock set before 1970.
pub(crate) fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
