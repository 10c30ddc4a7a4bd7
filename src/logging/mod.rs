//! Logging: which events (`--log.level` or `RUST_LOG`), how they look
//! (`--log.format`), and where they go: stderr, through a queue and a
//! thread of their own ([`Stderr`]), so that whatever stderr is (a
//! terminal, a file, a closed or a full pipe) the exporter keeps serving
//! and stops on a signal.

mod stderr;

use std::time::Duration;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub use stderr::Stderr;

use crate::error::{Error, Result};

/// How long the process waits at exit for its last log lines to be
/// written; a stderr nobody reads must not hold up a shutdown.
pub const FLUSH_LIMIT: Duration = Duration::from_secs(1);

/// The installed logger: lets `main` print its last line through the same
/// queue and wait, bounded, for the queue to drain.
pub struct Logs {
    stderr: Stderr,
}

impl Logs {
    /// Prints `text` as a line of its own, not as an event.
    pub fn line(&self, text: &str) {
        self.stderr.line(format!("{}\n", text.trim_end()).as_bytes());
    }

    /// Waits up to [`FLUSH_LIMIT`] for every queued line to be written.
    pub fn flush(&self) -> bool {
        self.stderr.flush(FLUSH_LIMIT)
    }
}

/// Sets up logging: `RUST_LOG` when set, else `--log.level`; text or JSON.
pub fn init(level: &str, format: &str) -> Result<Logs> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(filter) if !filter.trim().is_empty() => EnvFilter::try_new(filter),
        _ => EnvFilter::try_new(level),
    }
    .map_err(|e| Error::Config(format!("--log.level: {e}; expected error, warn, info, debug or trace")))?;
    let stderr = Stderr::start().map_err(|e| Error::Config(format!("cannot start the log writer: {e}")))?;
    let layer = tracing_subscriber::fmt::layer().with_writer(stderr.clone());
    let registry = tracing_subscriber::registry().with(filter);
    if format == "json" {
        registry.with(layer.json()).init();
    } else {
        registry.with(layer).init();
    }
    Ok(Logs { stderr })
}
