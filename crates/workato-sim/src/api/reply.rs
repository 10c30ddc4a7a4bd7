//! What every route of the simulated API shares over HTTP: the query, a
//! POST body, a 429, and a reply turned into a response.

use std::collections::HashMap;

use http_body_util::{BodyExt, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use http_server::{Body, json_message};

use crate::routes::Reply;

/// A 429 with Workato's body and a `Retry-After` in seconds.
pub fn too_many(retry_after: u64) -> Response<Body> {
    let mut response = json_message(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

pub fn query_of(request: &Request<Incoming>) -> HashMap<String, String> {
    request
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

/// The body of a POST (at most 1 MiB), `None` for other methods.
pub async fn body_of(request: Request<Incoming>) -> Result<Option<Bytes>, Response<Body>> {
    if request.method() != Method::POST {
        return Ok(None);
    }
    match Limited::new(request.into_body(), 1 << 20).collect().await {
        Ok(collected) => Ok(Some(collected.to_bytes())),
        Err(_) => Err(json_message(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large")),
    }
}

pub fn answer(reply: Reply) -> Response<Body> {
    match reply {
        Ok(value) => http_server::json(StatusCode::OK, &value),
        Err((status, message)) => json_message(status, &message),
    }
}
