//! What a handler answers with: a [`Body`] of one or more buffers, and the
//! few ways of building a response that every handler here uses.

use std::convert::Infallible;

use bytes::{Bytes, BytesMut};
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

/// A chunk shorter than this is sent joined with the short ones around it,
/// up to [`JOINED`] bytes at a time: a scrape of many workspaces is
/// thousands of small pieces, and a write per piece (a system call, a
/// segment and a wake-up of the reader) costs more than copying them.
const SHORT: usize = 16 * 1024;
/// The most bytes of short chunks sent as one: well under the exporter's
/// mmap threshold (256 KiB, `allocator.rs`), so that the buffer comes from
/// the heap and its pages are reused, not mapped and unmapped (and faulted
/// in again) for each buffer sent.
const JOINED: usize = 64 * 1024;

/// A response body of one or more buffers, sent without copying the long
/// ones: a scrape sends the cached inventory and the fresh self-metrics as
/// they are.
#[derive(Debug, Default)]
pub struct Body {
    chunks: std::collections::VecDeque<Bytes>,
}

impl Body {
    pub fn from_chunks(chunks: impl IntoIterator<Item = Bytes>) -> Body {
        Body {
            chunks: chunks.into_iter().filter(|c| !c.is_empty()).collect(),
        }
    }
}

impl Body {
    /// The next chunk to send: a long one as it is, a run of short ones
    /// joined.
    fn next_frame(&mut self) -> Option<Bytes> {
        let short = |chunk: &Bytes| chunk.len() < SHORT;
        let run = self.chunks.iter().take_while(|c| short(c)).scan(0, |len, c| {
            *len += c.len();
            (*len <= JOINED).then_some(c.len())
        });
        let (count, len) = run.fold((0, 0), |(n, total), len| (n + 1, total + len));
        if count < 2 {
            return self.chunks.pop_front();
        }
        let mut joined = BytesMut::with_capacity(len);
        for chunk in self.chunks.drain(..count) {
            joined.extend_from_slice(&chunk);
        }
        Some(joined.freeze())
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Body {
        Body::from_chunks([Bytes::from(bytes)])
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        std::task::Poll::Ready(self.next_frame().map(|chunk| Ok(hyper::body::Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.chunks.iter().map(|c| c.len() as u64).sum())
    }
}

pub fn text(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Errors everywhere are JSON `{"message": "..."}`, like Workato's own.
pub fn json_message(status: StatusCode, message: &str) -> Response<Body> {
    json(status, &serde_json::json!({ "message": message }))
}

/// A JSON answer.
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    text(
        status,
        "application/json; charset=utf-8",
        value.to_string().into_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(chunks: Vec<Bytes>) -> Vec<Bytes> {
        let mut body = Body::from_chunks(chunks);
        std::iter::from_fn(|| body.next_frame()).collect()
    }

    #[test]
    fn short_chunks_go_joined_and_long_ones_as_they_are() {
        let short = |byte: u8| Bytes::from(vec![byte; 1000]);
        let long = Bytes::from(vec![b'L'; SHORT]);
        let mut chunks: Vec<Bytes> = (0..300).map(|i| short(i as u8)).collect();
        chunks.push(long.clone());
        chunks.extend([short(b'y'), short(b'z')]);
        let sent = frames(chunks.clone());
        let lens: Vec<usize> = sent.iter().map(Bytes::len).collect();
        assert_eq!(
            lens,
            [65_000, 65_000, 65_000, 65_000, 40_000, SHORT, 2_000],
            "runs of at most {JOINED} bytes"
        );
        assert_eq!(sent.concat(), chunks.concat(), "every byte, in order");
        assert_eq!(sent[5].as_ptr(), long.as_ptr(), "a long chunk is not copied");
    }

    #[test]
    fn a_lone_short_chunk_is_not_copied() {
        let one = Bytes::from_static(b"# EOF\n");
        let sent = frames(vec![one.clone()]);
        assert_eq!(sent[0].as_ptr(), one.as_ptr());
    }
}
