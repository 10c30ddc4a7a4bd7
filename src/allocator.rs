//! Keeping glibc's allocator from holding on to memory the exporter has
//! freed.
//!
//! The exposition of a 5,000-recipe workspace is tens of megabytes of text
//! (compressed as it is written, a quarter of a megabyte at a time), and
//! every recipes sweep and jobs publication frees a generation of small
//! allocations for the next. glibc serves large buffers with mmap but
//! raises its mmap threshold to the size of each one freed, after which
//! the next ones come from the heap and stay in the process after they are
//! freed; and the free pages left inside its arenas between live
//! allocations are not given back unless asked. A 30-minute soak showed
//! both: `malloc_trim` on the running process gave back 6 MiB of 46. They
//! are asked for every few seconds, and at once after a large rendering.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How often freed pages inside the heap are given back.
pub const RELEASE_EVERY: Duration = Duration::from_secs(5);

/// Text rendered by one scrape past which the pages its rendering freed are
/// given back at once (see [`release_now`]).
pub const RELEASE_AFTER_RENDERING: usize = 4 << 20;

/// A fixed mmap threshold (which turns glibc's adjustment off) and two
/// arenas: large buffers go back to the system when freed.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it is called once at
    // start-up, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Gives the free pages inside glibc's arenas back to the system every
/// [`RELEASE_EVERY`] until `shutdown`: a walk over the arenas' free
/// chunks, each arena locked in turn.
pub async fn release_freed(shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(RELEASE_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticker.tick() => trim(),
        }
    }
}

/// Gives the free pages inside glibc's arenas back now: after a large
/// rendering (a workspace of thousands of recipes after its poll), whose
/// buffers, freed, would otherwise stay resident until the next tick.
pub fn release_now() {
    trim();
}

fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the system; glibc
    // takes each arena's lock while it walks it.
    unsafe {
        libc::malloc_trim(0);
    }
}
