//! What a handler answers with: a [`Body`] of one or more buffers, and the
//! few ways of building a response that every handler here uses.

use std::convert::Infallible;

use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

/// A response body of one or more buffers, sent without joining them: a
/// scrape sends the cached inventory and the fresh self-metrics as they are.
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
        std::task::Poll::Ready(self.chunks.pop_front().map(|chunk| Ok(hyper::body::Frame::data(chunk))))
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
