//! One gzip stream from a cached compressed prefix and a fresh tail.
//!
//! The inventory is compressed once per change, ending with a sync flush
//! (byte-aligned, not final); each scrape compresses only the small dynamic
//! part as a new deflate stream whose last block is final, and frames both
//! with one gzip header and trailer. The result is a single gzip member —
//! unlike concatenated members, which curl and other clients stop reading
//! after the first.

use std::io::Write;

use flate2::Compression;
use flate2::write::DeflateEncoder;

/// Deflate of a prefix, ready to be continued by [`finish`].
#[derive(Clone)]
pub struct Prefix {
    deflate: bytes::Bytes,
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
    pub fn deflate(&self) -> bytes::Bytes {
        self.deflate.clone()
    }
}

/// A gzip stream of `prefix` followed by `tail`, as the header and the
/// end to send around [`Prefix::deflate`].
pub fn finish(prefix: &Prefix, tail: &[u8]) -> (bytes::Bytes, bytes::Bytes) {
    const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut encoder = DeflateEncoder::new(Vec::with_capacity(tail.len() / 4 + 64), Compression::fast());
    let _ = encoder.write_all(tail);
    let mut end = encoder.finish().unwrap_or_default();
    let mut crc = prefix.crc.clone();
    crc.update(tail);
    end.extend_from_slice(&crc.finalize().to_le_bytes());
    end.extend_from_slice(&((prefix.len + tail.len()) as u32).to_le_bytes());
    (bytes::Bytes::from_static(&HEADER), end.into())
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
