//! The render cache and the gzip splice: what makes a scrape between polls
//! cost about what sending bytes costs (BENCHMARKS.md).
//!
//! The large part of the exposition (inventory and jobs) is rendered once
//! per change of the snapshot and kept as text and as a compressed prefix.
//! The prefix ends with a sync flush (byte-aligned, not final); each scrape
//! compresses only the small live part as a new deflate stream whose last
//! block is final, and frames both with one gzip header and trailer. The
//! result is a single gzip member — unlike concatenated members, which curl
//! and other clients stop reading after the first.

use std::io::Write;
use std::sync::Mutex;

use bytes::Bytes;
use flate2::write::{DeflateEncoder, GzEncoder};
use flate2::{Compress, Compression, FlushCompress};

/// The last rendering of the large part, and the key it was rendered
/// for: the sources' epoch and each one's snapshot generation.
#[derive(Default)]
pub struct Cache {
    last: Mutex<Option<(Vec<u64>, Bytes, Prefix)>>,
}

impl Cache {
    /// The text and compressed prefix for `key`: cached, or rendered by
    /// `render` (given a capacity hint). Concurrent scrapes of a new key
    /// wait for one rendering, not one each.
    pub fn get(&self, key: &[u64], render: impl FnOnce(usize) -> Vec<u8>) -> (Bytes, Prefix) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, text, prefix)) = last.as_ref().filter(|(k, _, _)| k == key) {
            return (text.clone(), prefix.clone());
        }
        // Drop the old rendering before building the new one: at 5,000
        // recipes each is megabytes.
        let capacity = last
            .as_ref()
            .map_or(64 * 1024, |(_, text, _)| text.len() + text.len() / 8);
        *last = None;
        let text = Bytes::from(render(capacity));
        let prefix = Prefix::compress(&text);
        *last = Some((key.to_vec(), text.clone(), prefix.clone()));
        (text, prefix)
    }
}

/// Deflate of a prefix, ready to be continued by [`finish`].
#[derive(Clone)]
pub struct Prefix {
    /// `None` when the deflate could not be ended at a sync point (never
    /// seen): each scrape then compresses the whole text instead.
    deflate: Option<Bytes>,
    text: Bytes,
    crc: crc32fast::Hasher,
}

impl Prefix {
    pub fn compress(text: &Bytes) -> Prefix {
        let deflate = deflate_to_sync_point(text);
        if deflate.is_none() {
            tracing::error!(
                bytes = text.len(),
                "could not end the cached exposition's deflate at a sync point; compressing every scrape whole"
            );
        }
        let mut crc = crc32fast::Hasher::new();
        crc.update(text);
        Prefix {
            deflate: deflate.map(Bytes::from),
            text: text.clone(),
            crc,
        }
    }

    /// The cached deflate data (shared, not copied); empty when [`finish`]
    /// sends the whole stream itself.
    pub fn deflate(&self) -> Bytes {
        self.deflate.clone().unwrap_or_default()
    }
}

/// Deflate of `data` ending in a sync flush: every byte of `data` out,
/// byte-aligned, no final block — where another deflate stream may go on.
///
/// Through the low-level API rather than `write::DeflateEncoder::flush`:
/// with the miniz_oxide backend a sync flush that does not fit the output
/// buffer at once loses its marker and part of the data when continued (a
/// soak saw 1 corrupt gzip scrape in ~15; half-random data shows it in 1
/// render of ~25). So the data goes in without flushing, a slice at a time
/// (flate2 zero-fills the room it is given: room for the whole exposition
/// would cost its size in RSS), and the one sync flush gets far more room
/// than the compressor can hold back. `None` if the result is not a
/// complete sync point after all.
fn deflate_to_sync_point(data: &[u8]) -> Option<Vec<u8>> {
    /// Room given to each call.
    const STEP: usize = 256 * 1024;
    /// Room for the flush: miniz_oxide holds back at most its 64 KiB of
    /// pending codes and its ~85 KiB output buffer.
    const FLUSH_ROOM: usize = 1024 * 1024;
    let mut compress = Compress::new(Compression::fast(), false);
    let mut out = Vec::with_capacity(data.len() / 4 + FLUSH_ROOM);
    loop {
        let consumed = usize::try_from(compress.total_in()).ok()?.min(data.len());
        if consumed == data.len() {
            break;
        }
        out.reserve(STEP);
        let end = (consumed + STEP).min(data.len());
        let before = compress.total_in();
        compress
            .compress_vec(&data[consumed..end], &mut out, FlushCompress::None)
            .ok()?;
        if compress.total_in() == before && out.len() < out.capacity() {
            return None;
        }
    }
    out.reserve(FLUSH_ROOM);
    compress.compress_vec(&[], &mut out, FlushCompress::Sync).ok()?;
    let complete = out.len() < out.capacity() && (data.is_empty() || out.ends_with(&[0, 0, 0xff, 0xff]));
    complete.then(|| {
        out.shrink_to_fit();
        out
    })
}

/// A gzip stream of `prefix` followed by `tail`, as the header and the
/// end to send around [`Prefix::deflate`] (or, without a cached deflate, the
/// whole stream and nothing).
pub fn finish(prefix: &Prefix, tail: &[u8]) -> (Bytes, Bytes) {
    const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let Some(_) = &prefix.deflate else {
        let mut whole = GzEncoder::new(Vec::with_capacity(prefix.text.len() / 4 + 64), Compression::fast());
        let _ = whole.write_all(&prefix.text);
        let _ = whole.write_all(tail);
        return (whole.finish().unwrap_or_default().into(), Bytes::new());
    };
    let mut encoder = DeflateEncoder::new(Vec::with_capacity(tail.len() / 4 + 64), Compression::fast());
    let _ = encoder.write_all(tail);
    let mut end = encoder.finish().unwrap_or_default();
    let mut crc = prefix.crc.clone();
    crc.update(tail);
    end.extend_from_slice(&crc.finalize().to_le_bytes());
    end.extend_from_slice(&((prefix.text.len() + tail.len()) as u32).to_le_bytes());
    (Bytes::from_static(&HEADER), end.into())
}

/// The whole stream in one buffer (tests).
#[cfg(test)]
fn joined(prefix: &Prefix, tail: &[u8]) -> Vec<u8> {
    let (head, end) = finish(prefix, tail);
    [head, prefix.deflate(), end].concat()
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
    fn a_generation_is_rendered_once() {
        let cache = Cache::default();
        let mut renders = 0;
        for generation in [1, 1, 2, 2, 1] {
            let (text, _) = cache.get(&[0, generation], |_| {
                renders += 1;
                format!("rendering {renders}\n").into_bytes()
            });
            assert!(text.starts_with(b"rendering "));
        }
        assert_eq!(renders, 3, "1, then 2, then 1 again");
    }

    #[test]
    fn prefix_and_tail_make_one_gzip_stream() {
        let prefix: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let cached = Prefix::compress(&Bytes::from(prefix.clone()));
        for tail in [&b""[..], b"tail\n", &prefix[..1000]] {
            let gz = joined(&cached, tail);
            let mut expected = prefix.clone();
            expected.extend_from_slice(tail);
            assert_eq!(gunzip(&gz), expected);
        }
        assert_eq!(
            gunzip(&joined(&Prefix::compress(&Bytes::new()), b"only tail")),
            b"only tail"
        );
        let whole = Prefix {
            deflate: None,
            ..Prefix::compress(&Bytes::from(prefix.clone()))
        };
        assert_eq!(gunzip(&joined(&whole, b"tail")), [&prefix[..], b"tail"].concat());
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
            let prefix = Prefix::compress(&Bytes::from(text));
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
