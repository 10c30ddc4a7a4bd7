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
use flate2::Compression;
use flate2::write::DeflateEncoder;

/// The last rendering of the large part, and the snapshot generation it
/// was rendered from.
#[derive(Default)]
pub struct Cache {
    last: Mutex<Option<(u64, Bytes, Prefix)>>,
}

impl Cache {
    /// The text and compressed prefix of snapshot generation `generation`:
    /// cached, or rendered by `render` (given a capacity hint). Concurrent
    /// scrapes of a new generation wait for one rendering, not one each.
    pub fn get(&self, generation: u64, render: impl FnOnce(usize) -> String) -> (Bytes, Prefix) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, text, prefix)) = last.as_ref().filter(|(g, _, _)| *g == generation) {
            return (text.clone(), prefix.clone());
        }
        // Drop the old rendering before building the new one: at 5,000
        // recipes each is megabytes.
        let capacity = last
            .as_ref()
            .map_or(64 * 1024, |(_, text, _)| text.len() + text.len() / 8);
        *last = None;
        let text = Bytes::from(render(capacity).into_bytes());
        let prefix = Prefix::compress(&text);
        *last = Some((generation, text.clone(), prefix.clone()));
        (text, prefix)
    }
}

/// Deflate of a prefix, ready to be continued by [`finish`].
#[derive(Clone)]
pub struct Prefix {
    deflate: Bytes,
    crc: crc32fast::Hasher,
    len: usize,
}

impl Prefix {
    pub fn compress(data: &[u8]) -> Prefix {
        let mut encoder = DeflateEncoder::new(Vec::with_capacity(data.len() / 6 + 64), Compression::fast());
        // Writing to a Vec cannot fail.
        let _ = encoder.write_all(data);
        let _ = encoder.flush();
        let deflate = std::mem::take(encoder.get_mut());
        let mut crc = crc32fast::Hasher::new();
        crc.update(data);
        Prefix {
            deflate: deflate.into(),
            crc,
            len: data.len(),
        }
    }
}

impl Prefix {
    /// The cached deflate data (shared, not copied).
    pub fn deflate(&self) -> Bytes {
        self.deflate.clone()
    }
}

/// A gzip stream of `prefix` followed by `tail`, as the header and the
/// end to send around [`Prefix::deflate`].
pub fn finish(prefix: &Prefix, tail: &[u8]) -> (Bytes, Bytes) {
    const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut encoder = DeflateEncoder::new(Vec::with_capacity(tail.len() / 4 + 64), Compression::fast());
    let _ = encoder.write_all(tail);
    let mut end = encoder.finish().unwrap_or_default();
    let mut crc = prefix.crc.clone();
    crc.update(tail);
    end.extend_from_slice(&crc.finalize().to_le_bytes());
    end.extend_from_slice(&((prefix.len + tail.len()) as u32).to_le_bytes());
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
            let (text, _) = cache.get(generation, |_| {
                renders += 1;
                format!("rendering {renders}\n")
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
        let cached = Prefix::compress(&prefix);
        for tail in [&b""[..], b"tail\n", &prefix[..1000]] {
            let gz = joined(&cached, tail);
            let mut expected = prefix.clone();
            expected.extend_from_slice(tail);
            assert_eq!(gunzip(&gz), expected);
        }
        assert_eq!(gunzip(&joined(&Prefix::compress(b""), b"only tail")), b"only tail");
    }
}
