//! A writer that compresses as it goes: a deflated piece of the large part
//! of the exposition is handed to a [`Deflating`] a quarter of a megabyte
//! at a time, so its text is never held whole (a family of 5,000 recipes is
//! megabytes).
//!
//! [`Deflating`]: super::super::deflate::Deflating

use super::Writer;

/// What a deflating [`Writer`] holds before handing it on.
pub const SPILL_BYTES: usize = 256 * 1024;

impl Writer {
    /// Hands what was written to the sink once it holds [`SPILL_BYTES`]:
    /// the buffer holds whole lines and whole protobuf metrics only.
    pub(super) fn spill_when_full(&mut self) {
        if self.out.len() >= SPILL_BYTES
            && let Some(sink) = &mut self.sink
        {
            sink.feed(&self.out);
            self.out.clear();
        }
    }
}
