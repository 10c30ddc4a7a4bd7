//! The writer in pieces, for the per-workspace render cache: one family's
//! samples of one workspace at a time, without the family's metadata, so
//! that the exposition can be assembled family by family from pieces
//! rendered at different times ([`Writer::pieces`]); and that metadata on
//! its own ([`header`]).
//!
//! In protobuf a piece is the family's `metric` entries (field 4) as the
//! whole message encodes them: the message is its [`Header`]'s head, the
//! pieces one after the other, then its tail, behind a varint of their
//! total length — the same bytes `prost` writes for the whole family.

use prost::Message;

use super::super::deflate::{Deflated, Deflating};
use super::super::family::Spec;
use super::super::format::Format;
use super::super::{proto, protobuf};
use super::{Writer, metadata};

/// What a family says around its samples in one format.
pub struct Header {
    /// The text formats' `# HELP`/`# TYPE` (`# UNIT`) lines; protobuf's
    /// fields before `metric`: name, help, type.
    pub head: Vec<u8>,
    /// Protobuf's field after `metric`: the unit, when there is one.
    pub tail: Vec<u8>,
}

/// `spec`'s [`Header`] in `format`.
pub fn header(format: Format, spec: &Spec) -> Header {
    match format {
        Format::Protobuf => {
            let mut family = protobuf::family(spec);
            let unit = std::mem::take(&mut family.unit);
            let tail = proto::MetricFamily {
                unit,
                ..proto::MetricFamily::default()
            };
            Header {
                head: family.encode_to_vec(),
                tail: tail.encode_to_vec(),
            }
        }
        Format::Text | Format::OpenMetrics => {
            let mut head = Vec::new();
            metadata(format, spec, &mut head);
            Header { head, tail: Vec::new() }
        }
    }
}

/// What a piece's buffer starts with.
const PIECE_START: usize = 64 * 1024;

impl Writer {
    /// A writer of pieces, plain or deflated as they are written (a
    /// family of 5,000 recipes is megabytes of text).
    pub fn pieces(format: Format, deflate: bool) -> Writer {
        Writer {
            bare: true,
            sink: deflate.then(Deflating::new),
            ..Writer::new(format, PIECE_START)
        }
    }

    /// The samples written since the last piece, and their family; `None`
    /// when there were none.
    pub fn take_text(&mut self) -> Option<(&'static Spec, Vec<u8>)> {
        let spec = self.current.take()?;
        // The buffer itself, fitted to the piece, which is kept: a copy
        // would hold both at once, and a family of 5,000 recipes is
        // megabytes (a plain scrape's peak was the pieces and the largest
        // family's buffer, grown by doubling).
        let mut piece = std::mem::replace(&mut self.out, Vec::with_capacity(PIECE_START));
        piece.shrink_to_fit();
        Some((spec, piece))
    }

    /// The same, deflated on its own (see `deflate`).
    pub fn take_deflated(&mut self) -> Option<(&'static Spec, Deflated)> {
        let spec = self.current.take()?;
        let sink = self.sink.get_or_insert_with(Deflating::new);
        sink.feed(&self.out);
        self.out.clear();
        Some((spec, sink.finish_piece()))
    }
}
