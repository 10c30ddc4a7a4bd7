//! Deflate pieces that join into one gzip member: what lets a scrape send
//! cached compressed bytes (see `cache`) and compress only what is new.
//!
//! Each piece of text is deflated on its own and ends in a sync flush
//! (byte-aligned, no final block): raw deflate segments ending so can be
//! sent one after the other as one stream, the dictionary starting afresh
//! in each. A few bytes known only per scrape go in a stored block
//! ([`stored`]). The live part of the exposition is the final deflate, and
//! one gzip header and trailer frame everything — the CRCs of the pieces
//! combined, their lengths summed: a single gzip member, unlike
//! concatenated members, which curl and other clients stop reading after
//! the first.

use std::io::Write;

use bytes::Bytes;
use flate2::write::{DeflateEncoder, GzEncoder};
use flate2::{Compress, Compression, FlushCompress};

mod crc;
use crc::Crc;

/// A piece of text deflated on its own, ending at a sync point.
#[derive(Clone)]
pub struct Deflated {
    /// `None` when the deflate could not be ended at a sync point (never
    /// seen): the scrape then compresses the whole text instead.
    deflate: Option<Bytes>,
    /// The text's CRC and length.
    crc: Crc,
}

impl Deflated {
    /// Bytes of text in it.
    pub fn len(&self) -> usize {
        self.crc.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The deflate, when it ended at a sync point.
    pub fn deflate(&self) -> Option<&Bytes> {
        self.deflate.as_ref()
    }

    /// Bytes of deflate in it.
    pub fn deflated_len(&self) -> usize {
        self.deflate.as_ref().map_or(0, Bytes::len)
    }

    /// The same deflate, held elsewhere (an assembly's buffer): `deflate`
    /// must hold the same bytes.
    pub fn replace_deflate(&mut self, deflate: Bytes) {
        debug_assert_eq!(self.deflate.as_deref(), Some(&deflate[..]));
        self.deflate = Some(deflate);
    }
}

/// Pieces in the order they are sent, the CRC and length of their text.
#[derive(Clone)]
pub struct Joined {
    pub segments: Vec<Bytes>,
    pub crc: Crc,
    /// False when a piece had no deflate to go on from.
    pub complete: bool,
}

impl Default for Joined {
    fn default() -> Joined {
        Joined {
            segments: Vec::new(),
            crc: Crc::default(),
            complete: true,
        }
    }
}

impl Joined {
    pub fn push(&mut self, piece: &Deflated) {
        match &piece.deflate {
            Some(deflate) => self.segments.push(deflate.clone()),
            None => self.complete = false,
        }
        self.crc = self.crc.then(&piece.crc);
    }

    /// Everything `other` holds, after what this holds.
    pub fn append(&mut self, other: &Joined) {
        self.segments.extend(other.segments.iter().cloned());
        self.crc = self.crc.then(&other.crc);
        self.complete &= other.complete;
    }

    /// A few bytes as they are: a stored block (byte-aligned, not final).
    pub fn push_stored(&mut self, data: &[u8]) {
        self.segments.push(stored(data));
        self.crc = self.crc.then(&Crc::of(data));
    }

    /// The gzip member of everything pushed, then `tail` as the final
    /// deflate: the buffers to send one after the other.
    pub fn gzip(&self, tail: &[u8]) -> Vec<Bytes> {
        const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        let mut encoder = DeflateEncoder::new(Vec::with_capacity(tail.len() / 4 + 64), Compression::fast());
        let _ = encoder.write_all(tail);
        let mut end = encoder.finish().unwrap_or_default();
        let crc = self.crc.then(&Crc::of(tail));
        end.extend_from_slice(&crc.value.to_le_bytes());
        // ISIZE is the length modulo 2^32.
        end.extend_from_slice(&(crc.len as u32).to_le_bytes());
        let mut out = Vec::with_capacity(self.segments.len() + 2);
        out.push(Bytes::from_static(&HEADER));
        out.extend(self.segments.iter().cloned());
        out.push(end.into());
        out
    }
}

/// `data` (at most 64 KiB) as a stored deflate block that is not the last:
/// a header byte (BFINAL 0, BTYPE 00, padding), LEN and its complement.
pub fn stored(data: &[u8]) -> Bytes {
    let len = u16::try_from(data.len()).expect("a stored block holds at most 64 KiB");
    let mut block = Vec::with_capacity(5 + data.len());
    block.push(0);
    block.extend_from_slice(&len.to_le_bytes());
    block.extend_from_slice(&(!len).to_le_bytes());
    block.extend_from_slice(data);
    block.into()
}

/// Deflate fed a piece at a time, to end in a sync flush: every byte out,
/// byte-aligned, no final block — where another deflate stream may go on.
///
/// Through the low-level API rather than `write::DeflateEncoder::flush`:
/// with the miniz_oxide backend a sync flush that does not fit the output
/// buffer at once loses its marker and part of the data when continued (a
/// soak saw 1 corrupt gzip scrape in ~15; half-random data shows it in 1
/// render of ~25). So the data goes in without flushing, a slice at a time
/// (flate2 zero-fills the room it is given), and the one sync flush gets
/// far more room than the compressor can hold back; the result is checked
/// to end at a sync point.
pub struct Deflating {
    compress: Compress,
    out: Vec<u8>,
    crc: crc32fast::Hasher,
    failed: bool,
}

impl Default for Deflating {
    fn default() -> Deflating {
        Deflating::new()
    }
}

/// Room given to each call of the compressor.
const STEP: usize = 256 * 1024;
/// Room for the flush: miniz_oxide holds back at most its 64 KiB of pending
/// codes and its ~85 KiB output buffer.
const FLUSH_ROOM: usize = 1024 * 1024;

impl Deflating {
    pub fn new() -> Deflating {
        Deflating {
            compress: Compress::new(Compression::fast(), false),
            out: Vec::new(),
            crc: crc32fast::Hasher::new(),
            failed: false,
        }
    }

    /// Compresses `data` after what came before.
    pub fn feed(&mut self, data: &[u8]) {
        self.crc.update(data);
        let start = self.compress.total_in();
        while !self.failed {
            let consumed = usize::try_from(self.compress.total_in() - start).map_or(data.len(), |n| n.min(data.len()));
            if consumed == data.len() {
                return;
            }
            let end = (consumed + STEP).min(data.len());
            // Room for the slice stored, at worst: flate2 zero-fills what
            // it is given, and a piece is often a few kilobytes.
            self.out.reserve(end - consumed + 1024);
            let before = self.compress.total_in();
            let stuck = self
                .compress
                .compress_vec(&data[consumed..end], &mut self.out, FlushCompress::None)
                .is_err()
                || (self.compress.total_in() == before && self.out.len() < self.out.capacity());
            self.failed |= stuck;
        }
    }

    /// Ends the stream at a sync point, and starts the next piece afresh
    /// with the same compressor (no allocation of its tables).
    pub fn finish_piece(&mut self) -> Deflated {
        let len = self.crc.total_len();
        // All that can be held back is part of the piece (stored, at worst).
        let held_back = usize::try_from(len).map_or(FLUSH_ROOM, |len| len + len / 8 + 1024);
        self.out.reserve(held_back.min(FLUSH_ROOM));
        let flushed = !self.failed
            && self
                .compress
                .compress_vec(&[], &mut self.out, FlushCompress::Sync)
                .is_ok();
        let complete =
            flushed && self.out.len() < self.out.capacity() && (len == 0 || self.out.ends_with(&[0, 0, 0xff, 0xff]));
        if !complete {
            tracing::error!(
                bytes = len,
                "could not end a cached piece of the exposition's deflate at a sync point; compressing every scrape whole"
            );
        }
        let mut out = std::mem::take(&mut self.out);
        out.shrink_to_fit();
        let piece = Deflated {
            deflate: complete.then(|| Bytes::from(out)),
            crc: Crc::new(self.crc.clone().finalize(), len),
        };
        self.crc.reset();
        self.compress.reset();
        self.failed = false;
        piece
    }
}

/// `text` then `tail` as one gzip stream, compressed whole (when a cached
/// piece could not be used).
pub fn gzip_whole(text: &[u8], tail: &[u8]) -> Bytes {
    let mut whole = GzEncoder::new(Vec::with_capacity(text.len() / 4 + 64), Compression::fast());
    let _ = whole.write_all(text);
    let _ = whole.write_all(tail);
    whole.finish().unwrap_or_default().into()
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    /// The single-member decoder: it would stop after a first member.
    fn gunzip(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(data)
            .read_to_end(&mut out)
            .expect("valid gzip");
        out
    }

    /// `pieces` then `tail` as one gzip member, in one buffer.
    fn joined(pieces: &[&Deflated], tail: &[u8]) -> Vec<u8> {
        let mut joined = Joined::default();
        for piece in pieces {
            joined.push(piece);
        }
        assert!(joined.complete, "every piece ends at a sync point");
        joined.gzip(tail).concat()
    }

    fn lines(n: u32) -> Vec<u8> {
        (0..n).flat_map(|i| format!("line {i}\n").into_bytes()).collect()
    }

    #[test]
    fn a_piece_fed_in_slices_equals_the_text() {
        let text = lines(300_000);
        let mut deflating = Deflating::new();
        for slice in text.chunks(STEP / 3 + 7) {
            deflating.feed(slice);
        }
        let piece = deflating.finish_piece();
        assert_eq!(piece.len(), text.len());
        assert_eq!(gunzip(&joined(&[&piece], b"tail\n")), [&text[..], b"tail\n"].concat());
    }

    #[test]
    fn pieces_deflated_apart_stored_bytes_and_a_tail_make_one_gzip_member() {
        let text = lines(200_000);
        let mut deflating = Deflating::new();
        let mut pieces = Vec::new();
        for part in [&text[..1000], &[], &text[1000..150_000], &text[150_000..]] {
            deflating.feed(part);
            pieces.push(deflating.finish_piece());
        }
        for tail in [&b""[..], b"tail\n", &text[..1000]] {
            let mut joined = Joined::default();
            joined.push_stored(b"\x07stored");
            for piece in &pieces {
                joined.push(piece);
                joined.push_stored(b"");
            }
            let expected = [&b"\x07stored"[..], &text, tail].concat();
            assert_eq!(gunzip(&joined.gzip(tail).concat()), expected);
        }
        assert_eq!(gunzip(&joined(&[], b"only tail")), b"only tail");
        assert_eq!(gunzip(&gzip_whole(&text, b"tail")), [&text[..], b"tail"].concat());
    }

    /// Half random bytes: blocks that barely compress, so a flush has more
    /// to write than an encoder's buffer holds. One in ~25 of these made a
    /// corrupt stream when the prefix was flushed by `write::DeflateEncoder`.
    #[test]
    fn every_piece_ends_where_the_next_can_go_on() {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut deflating = Deflating::new();
        for _ in 0..120 {
            let len = 50_000 + rng.usize(..400_000);
            let text: Vec<u8> = (0..len)
                .map(|_| if rng.bool() { rng.u8(..) } else { b'a' + rng.u8(..4) })
                .collect();
            deflating.feed(&text);
            let piece = deflating.finish_piece();
            assert!(piece.deflate.is_some(), "a piece of {len} bytes ends at a sync point");
            let gz = joined(&[&piece, &piece], b"tail\n");
            let mut out = Vec::new();
            let read = flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut out);
            assert!(
                read.is_ok() && out.len() == 2 * len + 5 && out.ends_with(b"tail\n"),
                "a piece of {len} bytes: {read:?}"
            );
        }
    }
}
