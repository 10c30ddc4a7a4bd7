//! The render cache and the gzip splice: what makes a scrape between polls
//! cost about what sending bytes costs (BENCHMARKS.md).
//!
//! The large part of the exposition (inventory and jobs) is rendered once
//! per change of the snapshot and per form it is asked in. Compressed (as
//! Prometheus asks for it) it is deflated as it is written, a quarter of a
//! megabyte at a time, so the text — tens of megabytes at 5,000 recipes —
//! is never held whole; the deflate ends with a sync flush (byte-aligned,
//! not final). Each scrape compresses only the small live part as a new
//! deflate stream whose last block is final, and frames both with one gzip
//! header and trailer: a single gzip member, unlike concatenated members,
//! which curl and other clients stop reading after the first. The plain
//! text is rendered only when a scrape asks for it, and kept until the
//! snapshot changes.

use std::io::Write;
use std::sync::Mutex;

use bytes::Bytes;
use flate2::write::{DeflateEncoder, GzEncoder};
use flate2::{Compress, Compression, FlushCompress};

/// The last renderings of the large part, each with the key it was
/// rendered for: the sources' epoch and each one's snapshot generation.
#[derive(Default)]
pub struct Cache {
    last: Mutex<Slots>,
}

#[derive(Default)]
struct Slots {
    text: Option<(Vec<u64>, Bytes)>,
    deflated: Option<(Vec<u64>, Prefix)>,
}

impl Slots {
    /// Drops renderings for other keys than `key`: at 5,000 recipes each
    /// is megabytes.
    fn keep_only(&mut self, key: &[u64]) {
        if self.text.as_ref().is_some_and(|(k, _)| k != key) {
            self.text = None;
        }
        if self.deflated.as_ref().is_some_and(|(k, _)| k != key) {
            self.deflated = None;
        }
    }
}

impl Cache {
    /// The text for `key`: cached, or rendered by `render` (given a
    /// capacity hint). Concurrent scrapes of a new key wait for one
    /// rendering, not one each.
    pub fn text(&self, key: &[u64], render: impl FnOnce(usize) -> Vec<u8>) -> Bytes {
        let mut slots = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, text)) = slots.text.as_ref().filter(|(k, _)| k == key) {
            return text.clone();
        }
        let known = slots
            .text
            .as_ref()
            .map(|(_, text)| text.len())
            .or(slots.deflated.as_ref().map(|(_, prefix)| prefix.len))
            .unwrap_or(64 * 1024);
        let capacity = known + known / 16;
        slots.text = None;
        slots.keep_only(key);
        let text = Bytes::from(render(capacity));
        slots.text = Some((key.to_vec(), text.clone()));
        text
    }

    /// The compressed prefix for `key`: cached, or rendered by `render`,
    /// which deflates as it writes.
    pub fn deflated(&self, key: &[u64], render: impl FnOnce() -> Prefix) -> Prefix {
        let mut slots = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, prefix)) = slots.deflated.as_ref().filter(|(k, _)| k == key) {
            return prefix.clone();
        }
        slots.deflated = None;
        slots.keep_only(key);
        let prefix = render();
        slots.deflated = Some((key.to_vec(), prefix.clone()));
        prefix
    }
}

/// Deflate of a prefix, ready to be continued by [`finish`].
#[derive(Clone)]
pub struct Prefix {
    /// `None` when the deflate could not be ended at a sync point (never
    /// seen): the scrape then compresses the whole text instead.
    deflate: Option<Bytes>,
    /// Bytes of text in it.
    len: usize,
    crc: crc32fast::Hasher,
}

impl Prefix {
    /// The prefix of `text` in one go.
    #[cfg(test)]
    pub fn compress(text: &[u8]) -> Prefix {
        let mut deflating = Deflating::new();
        deflating.feed(text);
        deflating.finish()
    }

    /// The cached deflate data (shared, not copied); `None` when the
    /// stream could not be ended at a sync point.
    pub fn deflate(&self) -> Option<Bytes> {
        self.deflate.clone()
    }
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
    len: usize,
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
            len: 0,
            failed: false,
        }
    }

    /// Compresses `data` after what came before.
    pub fn feed(&mut self, data: &[u8]) {
        self.crc.update(data);
        self.len += data.len();
        let start = self.compress.total_in();
        while !self.failed {
            let consumed = usize::try_from(self.compress.total_in() - start).map_or(data.len(), |n| n.min(data.len()));
            if consumed == data.len() {
                return;
            }
            self.out.reserve(STEP);
            let end = (consumed + STEP).min(data.len());
            let before = self.compress.total_in();
            let stuck = self
                .compress
                .compress_vec(&data[consumed..end], &mut self.out, FlushCompress::None)
                .is_err()
                || (self.compress.total_in() == before && self.out.len() < self.out.capacity());
            self.failed |= stuck;
        }
    }

    /// Ends the stream at a sync point.
    pub fn finish(mut self) -> Prefix {
        self.out.reserve(FLUSH_ROOM);
        let flushed = !self.failed
            && self
                .compress
                .compress_vec(&[], &mut self.out, FlushCompress::Sync)
                .is_ok();
        let complete = flushed
            && self.out.len() < self.out.capacity()
            && (self.len == 0 || self.out.ends_with(&[0, 0, 0xff, 0xff]));
        if !complete {
            tracing::error!(
                bytes = self.len,
                "could not end the cached exposition's deflate at a sync point; compressing every scrape whole"
            );
        }
        self.out.shrink_to_fit();
        Prefix {
            deflate: complete.then(|| Bytes::from(self.out)),
            len: self.len,
            crc: self.crc,
        }
    }
}

/// A gzip stream of `prefix` followed by `tail`, as the header and the
/// end to send around [`Prefix::deflate`]; `None` when the prefix has no
/// deflate to go on from.
pub fn finish(prefix: &Prefix, tail: &[u8]) -> Option<(Bytes, Bytes)> {
    const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    prefix.deflate.as_ref()?;
    let mut encoder = DeflateEncoder::new(Vec::with_capacity(tail.len() / 4 + 64), Compression::fast());
    let _ = encoder.write_all(tail);
    let mut end = encoder.finish().unwrap_or_default();
    let mut crc = prefix.crc.clone();
    crc.update(tail);
    end.extend_from_slice(&crc.finalize().to_le_bytes());
    end.extend_from_slice(&((prefix.len + tail.len()) as u32).to_le_bytes());
    Some((Bytes::from_static(&HEADER), end.into()))
}

/// `text` then `tail` as one gzip stream, compressed whole (when the
/// cached prefix could not be used).
pub fn gzip_whole(text: &[u8], tail: &[u8]) -> Bytes {
    let mut whole = GzEncoder::new(Vec::with_capacity(text.len() / 4 + 64), Compression::fast());
    let _ = whole.write_all(text);
    let _ = whole.write_all(tail);
    whole.finish().unwrap_or_default().into()
}

/// The whole stream in one buffer (tests).
#[cfg(test)]
fn joined(prefix: &Prefix, tail: &[u8]) -> Vec<u8> {
    let (head, end) = finish(prefix, tail).expect("a prefix ending at a sync point");
    [head, prefix.deflate().unwrap_or_default(), end].concat()
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn gunzip(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        // The single-member decoder: it would stop after a first member.
        flate2::read::GzDecoder::new(data)
            .read_to_end(&mut out)
            .expect("valid gzip");
        out
    }

    #[test]
    fn a_generation_is_rendered_once_per_form() {
        let cache = Cache::default();
        let mut renders = 0;
        for generation in [1, 1, 2, 2, 1] {
            let text = cache.text(&[generation], |_| {
                renders += 1;
                format!("rendering {renders}\n").into_bytes()
            });
            assert!(text.starts_with(b"rendering "));
        }
        assert_eq!(renders, 3, "1, then 2, then 1 again");
        let mut deflates = 0;
        for generation in [1, 1, 2] {
            let prefix = cache.deflated(&[generation], || {
                deflates += 1;
                Prefix::compress(b"x\n")
            });
            assert_eq!(prefix.len, 2);
        }
        assert_eq!(deflates, 2);
        let slots = cache.last.lock().unwrap();
        assert!(slots.text.is_none(), "generation 1's text went when 2 was deflated");
    }

    #[test]
    fn a_prefix_fed_in_pieces_equals_the_text() {
        let text: Vec<u8> = (0..300_000u32)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let mut deflating = Deflating::new();
        for piece in text.chunks(STEP / 3 + 7) {
            deflating.feed(piece);
        }
        let prefix = deflating.finish();
        assert_eq!(gunzip(&joined(&prefix, b"tail\n")), [&text[..], b"tail\n"].concat());
    }

    #[test]
    fn prefix_and_tail_make_one_gzip_stream() {
        let prefix: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let cached = Prefix::compress(&prefix);
        for tail in [&b""[..], b"tail\n", &prefix[..1000]] {
            let gz = joined(&cached, tail);
            let mut expected = prefix.clone();
            expected.extend_from_slice(tail);
            assert_eq!(gunzip(&gz), expected);
        }
        assert_eq!(gunzip(&joined(&Prefix::compress(&[]), b"only tail")), b"only tail");
        assert_eq!(gunzip(&gzip_whole(&prefix, b"tail")), [&prefix[..], b"tail"].concat());
    }

    /// Half random bytes: blocks that barely compress, so a flush has more
    /// to write than an encoder's buffer holds. One in ~25 of these made a
    /// corrupt stream when the prefix was flushed by `write::DeflateEncoder`.
    #[test]
    fn every_prefix_ends_where_the_tail_can_go_on() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..120 {
            let len = 50_000 + rng.usize(..400_000);
            let text: Vec<u8> = (0..len)
                .map(|_| if rng.bool() { rng.u8(..) } else { b'a' + rng.u8(..4) })
                .collect();
            let prefix = Prefix::compress(&text);
            assert!(prefix.deflate.is_some(), "a prefix of {len} bytes ends at a sync point");
            let gz = joined(&prefix, b"tail\n");
            let mut out = Vec::new();
            let read = flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut out);
            assert!(
                read.is_ok() && out.len() == len + 5 && out.ends_with(b"tail\n"),
                "a prefix of {len} bytes: {read:?}"
            );
        }
    }
}
