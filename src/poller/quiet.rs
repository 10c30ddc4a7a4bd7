//! Whether an Embedded customer's recipes sweep may wait: its partner
//! reads the usage statistics and says which customers completed no job.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// An Embedded customer that completed no job lately (the partner's usage
/// statistics say so): its recipes sweep may wait, at most [`MAX_QUIET`]
/// since the last one, so that recipes stopped without a failing job
/// still show within minutes.
#[derive(Debug, Default)]
pub struct Quiet {
    quiet: AtomicBool,
    /// A job completed since the last sweep began: the next one is owed,
    /// however quiet the customer looks again by then.
    owed: AtomicBool,
    /// Recipes sweeps left out, for the partner's metrics.
    pub(super) skipped: AtomicU64,
    /// Wakes the customer's poller, waiting for its next turn, when the
    /// statistics show it moved after it was quiet.
    pub(super) moved: Notify,
}

impl Quiet {
    /// What the usage statistics say: nothing completed since the last
    /// reading (`quiet`), or something did (a sweep is owed). A customer
    /// that was quiet is swept at once: its sweeps were left out, and
    /// waiting for its next turn would add up to an interval to the time
    /// its jobs take to be counted.
    pub fn set(&self, quiet: bool) {
        if !quiet {
            self.owed.store(true, Ordering::Relaxed);
        }
        if self.quiet.swap(quiet, Ordering::Relaxed) && !quiet {
            self.moved.notify_waiters();
        }
    }

    pub fn is_quiet(&self) -> bool {
        self.quiet.load(Ordering::Relaxed) && !self.owed.load(Ordering::Relaxed)
    }

    /// A sweep begins: what was owed is paid.
    pub(super) fn sweeping(&self) {
        self.owed.store(false, Ordering::Relaxed);
    }

    /// Recipes sweeps left out so far.
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }
}

/// The longest a quiet customer's recipes sweep waits.
pub const MAX_QUIET: Duration = Duration::from_secs(5 * 60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customer_that_moved_is_swept_once_however_quiet_it_looks_again() {
        let quiet = Quiet::default();
        assert!(!quiet.is_quiet(), "nobody is quiet before a reading");
        quiet.set(true);
        assert!(quiet.is_quiet());
        quiet.set(false);
        quiet.set(true);
        assert!(!quiet.is_quiet(), "the sweep owed for the move is not forgotten");
        quiet.sweeping();
        assert!(quiet.is_quiet());
    }
}
