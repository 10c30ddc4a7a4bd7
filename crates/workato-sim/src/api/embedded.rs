//! The Embedded API over HTTP: `/api/managed_users` (list, get, and each
//! customer's routes under `/api/managed_users/:id/`) and
//! `/api/v2/managed_users/statistics/usage`. `:id` is a workspace id or
//! `E` + the URL-encoded external id. Every call spends the admin
//! workspace's quota of its group, whichever customer it targets; each
//! call that names a customer is counted for it in `/sim/stats`.

use std::collections::HashMap;

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use http_server::{Body, json_message};
use workato_api::Group;

use super::reply::{answer, body_of, query_of, too_many};
use crate::embedded::Embedded;
use crate::embedded::limits::EmbeddedGroup;
use crate::embedded::routes::{customer_route, group_of};
use crate::embedded::usage;
use crate::routes::{Reply, not_found, number};
use crate::simulator::Simulator;

pub use crate::embedded::routes::is_embedded;

/// The most customers a page of `GET /api/managed_users` holds.
pub const MAX_PER_PAGE: u64 = 100;

pub async fn handle(
    sim: &Simulator,
    embedded: &Embedded,
    request: Request<Incoming>,
    segments: &[&str],
) -> Response<Body> {
    let method = request.method().clone();
    let Some(group) = group_of(&method, segments) else {
        return json_message(StatusCode::NOT_FOUND, "Not found");
    };
    if !sim.authorized(&request) {
        return json_message(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    let customer = match segments {
        ["managed_users", key, ..] => {
            let key = percent_encoding::percent_decode_str(key).decode_utf8_lossy();
            match embedded.find(&key) {
                Some(index) => {
                    embedded.count_call(index);
                    Some(index)
                }
                None => return json_message(StatusCode::NOT_FOUND, "Customer not found"),
            }
        }
        _ => None,
    };
    if group == EmbeddedGroup::Jobs {
        if !sim.config.jobs_latency.is_zero() {
            tokio::time::sleep(sim.config.jobs_latency).await;
        }
        match sim.inject_fault(Group::Jobs) {
            Some(true) => return json_message(StatusCode::TOO_MANY_REQUESTS, "Too many requests"),
            Some(false) => return json_message(StatusCode::INTERNAL_SERVER_ERROR, "Server error"),
            None => {}
        }
    }
    if let Err(retry_after) = embedded.limits.admit(group) {
        return too_many(retry_after);
    }
    let query = query_of(&request);
    let body = match body_of(request).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let elapsed = sim.elapsed();
    answer(match (&method, segments, customer) {
        (&Method::POST, ["v2", ..], _) => usage::statistics(embedded, elapsed, &query, body.as_deref()),
        (&Method::GET, ["managed_users"], _) => Ok(list_customers(embedded, elapsed, &query)),
        (&Method::GET, ["managed_users", _], Some(index)) => {
            let world = embedded.world(index, elapsed);
            Ok(embedded.customers[index].profile.render(&world))
        }
        (_, ["managed_users", _, rest @ ..], Some(index)) => {
            let mut world = embedded.world(index, elapsed);
            customer_route(&mut world, &method, rest, &query, body.as_deref())
        }
        _ => Reply::Err(not_found()),
    })
}

/// One page of customers, oldest first: `page` from 1, `per_page` 10 by
/// default and at most [`MAX_PER_PAGE`]; past the end, an empty `result`
/// (Workato documents no other end signal, nor a count).
fn list_customers(embedded: &Embedded, elapsed: u64, q: &HashMap<String, String>) -> Value {
    let per_page = number(q, "per_page").unwrap_or(10).clamp(1, MAX_PER_PAGE) as usize;
    let page = number(q, "page").unwrap_or(1).max(1) as usize;
    let listed = embedded.listed();
    let start = (page - 1).saturating_mul(per_page).min(listed.len());
    let end = start.saturating_add(per_page).min(listed.len());
    let result: Vec<Value> = listed[start..end]
        .iter()
        .map(|&index| {
            let world = embedded.world(index, elapsed);
            embedded.customers[index].profile.render(&world)
        })
        .collect();
    json!({ "result": result })
}
