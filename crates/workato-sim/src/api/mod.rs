//! The simulated Workato API over HTTP: auth, per-group rate limits answered
//! with 429 and `Retry-After`, and each documented route with Workato's
//! paging, parameters, limits and error bodies. The Embedded routes
//! (`/api/managed_users/...`) are in [`embedded`].

mod embedded;
mod reply;

use std::collections::HashMap;
use std::net::SocketAddr;

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use http_server::{Body, Handler, json_message};
use workato_api::Group;

use crate::json as render;
use crate::routes::{self, Reply, id, not_found};
use crate::simulator::Simulator;
use crate::world::World;
use reply::{answer, body_of, query_of, too_many};

/// The rate-limit group of an API path (`recipes/1/jobs` → jobs).
fn group_of(segments: &[&str]) -> Option<Group> {
    Some(match segments {
        ["recipes", _, "jobs", ..] => Group::Jobs,
        ["recipes", ..] => Group::Recipes,
        ["connections", ..] => Group::Connections,
        ["api_collections", ..] | ["api_endpoints", ..] => Group::ApiPlatform,
        ["properties", ..] => Group::Properties,
        ["users", "me"] => Group::Workspace,
        _ => return None,
    })
}

impl Handler for Simulator {
    async fn handle(&self, request: Request<Incoming>, _peer: SocketAddr) -> Response<Body> {
        let path = request.uri().path().to_string();
        if path == "/sim/stats" {
            return http_server::json(StatusCode::OK, &self.stats());
        }
        let Some(rest) = path.strip_prefix("/api/") else {
            return json_message(StatusCode::NOT_FOUND, "Not found");
        };
        let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
        if let Some(embedded) = &self.embedded
            && embedded::is_embedded(&segments)
        {
            return embedded::handle(self, embedded, request, &segments).await;
        }
        let Some(group) = group_of(&segments) else {
            return json_message(StatusCode::NOT_FOUND, "Not found");
        };
        if !self.authorized(&request) {
            return json_message(StatusCode::UNAUTHORIZED, "Unauthorized");
        }
        if group == Group::Jobs && !self.config.jobs_latency.is_zero() {
            tokio::time::sleep(self.config.jobs_latency).await;
        }
        match self.inject_fault(group) {
            Some(true) => return json_message(StatusCode::TOO_MANY_REQUESTS, "Too many requests"),
            Some(false) => return json_message(StatusCode::INTERNAL_SERVER_ERROR, "Server error"),
            None => {}
        }
        if let Err(retry_after) = self.admit(group) {
            return too_many(retry_after);
        }
        let query = query_of(&request);
        let method = request.method().clone();
        let body = match body_of(request).await {
            Ok(body) => body,
            Err(response) => return response,
        };
        answer(self.with_world(|w| route(w, &method, &segments, &query, body.as_deref())))
    }
}

fn route(w: &mut World, method: &Method, segments: &[&str], q: &HashMap<String, String>, body: Option<&[u8]>) -> Reply {
    match (method, segments) {
        (&Method::GET, ["users", "me"]) => Ok(render::users_me(w)),
        (&Method::GET, ["recipes"]) => Ok(json!({ "items": routes::recipes_page(w, q) })),
        (&Method::GET, ["recipes", recipe]) => {
            let index = w.recipe_index(id(recipe)?).ok_or_else(not_found)?;
            Ok(render::recipe(&w.recipes[index], w.recipe_user_id, false))
        }
        (&Method::PUT, ["recipes", recipe, action @ ("start" | "stop")]) => routes::start_stop(w, id(recipe)?, action),
        (&Method::GET, ["recipes", recipe, "jobs"]) => routes::list_jobs(w, id(recipe)?, q),
        (&Method::GET, ["recipes", recipe, "jobs", job]) => routes::get_job(w, id(recipe)?, job),
        (&Method::GET, ["connections"]) => Ok(Value::Array(w.connections.iter().map(render::connection).collect())),
        (&Method::GET, ["api_collections"]) => Ok(routes::collections_page(w, q)),
        (&Method::GET, ["api_endpoints"]) => Ok(routes::endpoints_page(w, q)),
        (&Method::PUT, ["api_endpoints", endpoint, action @ ("enable" | "disable")]) => {
            routes::enable_disable(w, id(endpoint)?, *action == "enable")
        }
        (&Method::GET, ["properties"]) => routes::properties(w, q),
        (&Method::POST, ["properties"]) => routes::upsert_properties(w, body.unwrap_or_default()),
        _ => Err(not_found()),
    }
}
