//! Log lines leave the process through a thread of their own.
//!
//! Writing to stderr from the runtime's threads ties the exporter to
//! whoever reads it: a closed pipe made `eprintln!` panic inside the
//! formatter, and a full pipe (a reader that stopped reading) blocks
//! `write(2)` for ever, freezing the workers, the signal handler with
//! them. Here a formatted line is only queued; one thread writes the queue
//! out and ignores write errors. While more than [`CAPACITY`] bytes wait,
//! new lines are dropped: losing log lines beats a process that no longer
//! serves or stops.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// Bytes of log lines that may wait for the writer thread.
pub const CAPACITY: usize = 1 << 20;

#[derive(Default)]
struct State {
    lines: VecDeque<Vec<u8>>,
    bytes: usize,
    /// The writer thread holds lines it took from the queue.
    writing: bool,
}

#[derive(Default)]
struct Queue {
    state: Mutex<State>,
    /// Signalled when a line is queued.
    queued: Condvar,
    /// Signalled when the queue is empty and nothing is being written.
    idle: Condvar,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A queue in front of a slow, full or closed output, and the thread that
/// drains it. Clones share the queue.
#[derive(Clone)]
pub struct Stderr {
    queue: Arc<Queue>,
}

impl Stderr {
    /// Starts the thread that writes queued lines to the process's stderr.
    pub fn start() -> std::io::Result<Stderr> {
        Stderr::to(std::io::stderr())
    }

    /// Starts the thread that writes queued lines to `out`.
    pub fn to<W: Write + Send + 'static>(mut out: W) -> std::io::Result<Stderr> {
        let queue = Arc::new(Queue::default());
        let drained = Arc::clone(&queue);
        std::thread::Builder::new().name("log-writer".into()).spawn(move || {
            loop {
                let lines = {
                    let mut state = drained.lock();
                    while state.lines.is_empty() {
                        state = drained.queued.wait(state).unwrap_or_else(PoisonError::into_inner);
                    }
                    state.writing = true;
                    state.bytes = 0;
                    std::mem::take(&mut state.lines)
                };
                for line in lines {
                    // Nobody to tell when stderr itself fails.
                    let _ = out.write_all(&line);
                }
                let mut state = drained.lock();
                state.writing = false;
                if state.lines.is_empty() {
                    drained.idle.notify_all();
                }
            }
        })?;
        Ok(Stderr { queue })
    }

    /// Queues `line` (which should end with a newline); drops it when the
    /// queue is full.
    pub fn line(&self, line: &[u8]) {
        let mut state = self.queue.lock();
        if state.bytes + line.len() > CAPACITY {
            return;
        }
        state.bytes += line.len();
        state.lines.push_back(line.to_vec());
        self.queue.queued.notify_one();
    }

    /// Waits until every queued line is written, for at most `limit`;
    /// false when lines are still waiting (a reader that does not read).
    pub fn flush(&self, limit: Duration) -> bool {
        let state = self.queue.lock();
        let (state, _) = self
            .queue
            .idle
            .wait_timeout_while(state, limit, |state| !state.lines.is_empty() || state.writing)
            .unwrap_or_else(PoisonError::into_inner);
        state.lines.is_empty() && !state.writing
    }
}

/// What the formatter writes one event into: the whole line arrives in
/// one `write` call, and is queued as it is.
impl Write for &Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.line(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = &'a Stderr;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output that blocks every write until it is opened.
    #[derive(Clone, Default)]
    struct Gate {
        open: Arc<(Mutex<bool>, Condvar)>,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Gate {
        fn open(&self) {
            *self.open.0.lock().unwrap() = true;
            self.open.1.notify_all();
        }
    }

    impl Write for Gate {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let (open, opened) = &*self.open;
            let _open = opened.wait_while(open.lock().unwrap(), |open| !*open).unwrap();
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_blocked_output_never_blocks_the_logger_and_drops_lines_past_the_cap() {
        let gate = Gate::default();
        let stderr = Stderr::to(gate.clone()).unwrap();
        let line = vec![b'x'; 1023];
        // Four times the cap: none of these calls may block.
        for _ in 0..4 * CAPACITY / 1024 {
            stderr.line(&[line.as_slice(), b"\n"].concat());
        }
        assert!(!stderr.flush(Duration::from_millis(50)), "nothing can be written yet");
        gate.open();
        assert!(stderr.flush(Duration::from_secs(10)));
        let written = gate.written.lock().unwrap().len();
        // What the thread took before it blocked, plus a full queue.
        assert!((CAPACITY..=2 * CAPACITY).contains(&written), "{written} bytes written");
    }

    #[test]
    fn a_failing_output_is_ignored_and_flush_returns() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let stderr = Stderr::to(Closed).unwrap();
        for _ in 0..1000 {
            stderr.line(b"level=info msg=hello\n");
        }
        assert!(stderr.flush(Duration::from_secs(10)));
    }

    #[test]
    fn lines_arrive_whole_and_in_order() {
        let gate = Gate::default();
        gate.open();
        let stderr = Stderr::to(gate.clone()).unwrap();
        for i in 0..100 {
            (&stderr).write_all(format!("line {i}\n").as_bytes()).unwrap();
        }
        assert!(stderr.flush(Duration::from_secs(10)));
        let text = String::from_utf8(gate.written.lock().unwrap().clone()).unwrap();
        let expected: String = (0..100).map(|i| format!("line {i}\n")).collect();
        assert_eq!(text, expected);
    }
}
