//! A writer that compresses as it goes: the large part of the exposition
//! is handed to a [`Deflating`] a quarter of a megabyte at a time, so a
//! gzip scrape never holds its text whole (tens of megabytes at 5,000
//! recipes).

use super::super::cache::{Deflating, Prefix};
use super::super::format::Format;
use super::Writer;

/// What a deflating [`Writer`] holds before handing it on.
pub const SPILL_BYTES: usize = 256 * 1024;

impl Writer {
    /// A writer that deflates as it goes; [`Writer::finish_deflated`] ends it.
    pub fn deflating(format: Format) -> Writer {
        Writer {
            sink: Some(Deflating::new()),
            ..Writer::new(format, SPILL_BYTES + 64 * 1024)
        }
    }

    /// Everything written by a [`Writer::deflating`], compressed, the last
    /// protobuf family included.
    pub fn finish_deflated(mut self) -> Prefix {
        self.flush_family();
        let mut sink = self.sink.take().unwrap_or_default();
        sink.feed(&self.out);
        sink.finish()
    }

    /// Hands what was written to the sink once it holds [`SPILL_BYTES`]:
    /// the buffer holds whole lines and whole protobuf families only.
    pub(super) fn spill_when_full(&mut self) {
        if self.out.len() >= SPILL_BYTES
            && let Some(sink) = &mut self.sink
        {
            sink.feed(&self.out);
            self.out.clear();
        }
    }
}
