//! The Embedded routes on one customer's world, apart from HTTP: which
//! quota group a path spends, and the answers under
//! `/api/managed_users/:id/`. They are the developer API's answers
//! (`crate::routes`) in Embedded's wrappers:
//!
//! - lists are `{"result": [...]}` (recipes, connections, API collections
//!   and endpoints), paged by `page`/`per_page` (default 10, max 100) where
//!   the developer API pages;
//! - `GET recipes/:recipe_id` is `{"result": [Recipe]}`, the shape the
//!   TypeScript client reads (*unconfirmed*; the developer API's is bare);
//! - jobs keep the developer API's body (`items` and the counts): no
//!   Embedded shape was found;
//! - connections carry `provider` and no `application`;
//! - properties are `{"result": {name: value}}`.

use std::collections::HashMap;

use hyper::Method;
use serde_json::{Value, json};

use super::limits::EmbeddedGroup;
use crate::json as render;
use crate::routes::{self, Reply, id, not_found};
use crate::world::World;

/// Whether the path (after `/api/`) is the Embedded API's.
pub fn is_embedded(segments: &[&str]) -> bool {
    matches!(segments, ["managed_users", ..] | ["v2", "managed_users", ..])
}

/// The quota group a request spends; `None` for paths not simulated.
pub fn group_of(method: &Method, segments: &[&str]) -> Option<EmbeddedGroup> {
    use EmbeddedGroup as G;
    Some(match segments {
        ["v2", "managed_users", "statistics", "usage"] => G::Usage,
        ["v2", ..] => return None,
        ["managed_users"] | ["managed_users", _] => G::Customers,
        ["managed_users", _, "recipes"] => G::ListRecipes,
        ["managed_users", _, "recipes", _] => G::GetRecipe,
        ["managed_users", _, "recipes", _, "jobs", ..] => G::Jobs,
        ["managed_users", _, "recipes", ..] => G::RecipeActions,
        ["managed_users", _, "connections", ..] => G::Connections,
        ["managed_users", _, "api_collections" | "api_endpoints", ..] => G::ApiPlatform,
        ["managed_users", _, "properties"] if method == Method::POST => G::PropertiesUpsert,
        ["managed_users", _, "properties"] => G::Properties,
        _ => return None,
    })
}

/// A customer workspace's answer to `rest`, the path after
/// `/api/managed_users/:id/`.
pub fn customer_route(
    w: &mut World,
    method: &Method,
    rest: &[&str],
    q: &HashMap<String, String>,
    body: Option<&[u8]>,
) -> Reply {
    let result = |value: Value| Ok(json!({ "result": value }));
    match (method, rest) {
        (&Method::GET, ["recipes"]) => result(routes::recipes_page(w, q)),
        (&Method::GET, ["recipes", recipe]) => {
            let index = w.recipe_index(id(recipe)?).ok_or_else(not_found)?;
            result(json!([render::recipe(&w.recipes[index], w.recipe_user_id, false)]))
        }
        (&Method::PUT, ["recipes", recipe, action @ ("start" | "stop")]) => routes::start_stop(w, id(recipe)?, action),
        (&Method::GET, ["recipes", recipe, "jobs"]) => routes::list_jobs(w, id(recipe)?, q),
        (&Method::GET, ["recipes", recipe, "jobs", job]) => routes::get_job(w, id(recipe)?, job),
        (&Method::GET, ["connections"]) => {
            let provider = q.get("provider").filter(|p| !p.is_empty());
            let connections = w
                .connections
                .iter()
                .filter(|c| provider.is_none_or(|p| &c.application == p))
                .map(|c| {
                    let mut value = render::connection(c);
                    if let Some(fields) = value.as_object_mut() {
                        fields.remove("application");
                    }
                    value
                });
            result(Value::Array(connections.collect()))
        }
        (&Method::GET, ["api_collections"]) => result(routes::collections_page(w, q)),
        (&Method::GET, ["api_endpoints"]) => result(routes::endpoints_page(w, q)),
        (&Method::PUT, ["api_endpoints", endpoint, action @ ("enable" | "disable")]) => {
            routes::enable_disable(w, id(endpoint)?, *action == "enable")
        }
        (&Method::GET, ["properties"]) => result(routes::properties(w, q)?),
        (&Method::POST, ["properties"]) => routes::upsert_properties(w, body.unwrap_or_default()),
        _ => Err(not_found()),
    }
}
