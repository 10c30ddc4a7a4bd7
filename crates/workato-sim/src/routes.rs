//! The developer API's answers on one workspace, apart from HTTP: paging,
//! filters, the jobs walk, start and stop, endpoint switches and property
//! upserts. `api` serves them for the lone workspace, `embedded` for each
//! customer workspace under `/api/managed_users/:id`.

use std::collections::HashMap;

use hyper::StatusCode;
use serde_json::{Map, Value, json};

use workato_api::properties::{MAX_PROPERTIES, check_property};

use crate::json as render;
use crate::life::job_seq;
use crate::world::{SimJob, World};

pub type Reply = Result<Value, (StatusCode, String)>;

pub fn not_found() -> (StatusCode, String) {
    (StatusCode::NOT_FOUND, "Not found".into())
}

pub fn bad_request(message: impl Into<String>) -> (StatusCode, String) {
    (StatusCode::BAD_REQUEST, message.into())
}

/// A path segment as an id; anything else is not found.
pub fn id(text: &str) -> Result<u64, (StatusCode, String)> {
    text.parse::<u64>().map_err(|_| not_found())
}

pub fn number(q: &HashMap<String, String>, key: &str) -> Option<u64> {
    q.get(key).and_then(|v| v.trim().parse().ok())
}

/// `page`/`per_page` paging: per_page defaults to 10 and is clamped to 100.
pub fn page(q: &HashMap<String, String>, items: impl Iterator<Item = Value>) -> Value {
    let per_page = number(q, "per_page").unwrap_or(10).clamp(1, 100) as usize;
    let page = number(q, "page").unwrap_or(1).max(1) as usize;
    Value::Array(items.skip((page - 1) * per_page).take(per_page).collect())
}

/// Recipes newest first, one page of them, as a JSON array.
pub fn recipes_page(w: &World, q: &HashMap<String, String>) -> Value {
    let since_id = number(q, "since_id");
    let running = q.get("running").map(|r| r == "true");
    let exclude_code = q.get("exclude_code").is_some_and(|v| v == "true");
    let recipes = w
        .recipes
        .iter()
        .rev()
        .filter(|r| since_id.is_none_or(|s| r.id < s))
        .filter(|r| running.is_none_or(|want| r.running == want))
        .map(|r| render::recipe(r, w.recipe_user_id, exclude_code));
    page(q, recipes)
}

pub fn start_stop(w: &mut World, id: u64, action: &str) -> Reply {
    let now = w.now();
    let index = w.recipe_index(id).ok_or_else(not_found)?;
    let recipe = &mut w.recipes[index];
    match action {
        "start" if recipe.broken => Ok(json!({
            "success": false,
            "code_errors": [[2, [["Issue key", null, "can't be blank", "issue_key"]]]],
            "config_errors": [],
        })),
        "start" if recipe.running => Err(bad_request("Recipe is already running")),
        "start" => {
            recipe.running = true;
            recipe.stop_cause = None;
            recipe.consecutive_failures = 0;
            Ok(json!({"success": true}))
        }
        _ if !recipe.running => Err(bad_request("Recipe is already stopped")),
        _ => {
            recipe.running = false;
            recipe.stop_cause = None;
            recipe.stopped_at = Some(now);
            Ok(json!({"success": true}))
        }
    }
}

/// Jobs of a recipe, newest first, in pages of the simulator's fixed size.
/// `offset_job_id` with `prev=true` gives the jobs just newer than the
/// offset; otherwise those just older.
pub fn list_jobs(w: &World, id: u64, q: &HashMap<String, String>) -> Reply {
    let now = w.now();
    let index = w.recipe_index(id).ok_or_else(not_found)?;
    let recipe = &w.recipes[index];
    let status = match q.get("status").map(String::as_str) {
        None | Some("") => None,
        Some(s @ ("succeeded" | "failed" | "pending")) => Some(s),
        Some(other) => return Err(bad_request(format!("Invalid status: {other}"))),
    };
    let scope: Vec<&SimJob> = recipe
        .jobs
        .iter()
        .filter(|j| status.is_none_or(|s| j.status(now) == s))
        .collect();
    let offset = match q.get("offset_job_id").filter(|o| !o.is_empty()) {
        Some(offset) => Some(
            recipe
                .jobs
                .iter()
                .find(|j| &j.id == offset)
                .map(|j| j.seq)
                .or_else(|| job_seq(offset))
                .ok_or_else(|| (StatusCode::NOT_FOUND, "Job not found".to_string()))?,
        ),
        None => None,
    };
    let size = w.jobs_page_size;
    let mut chosen: Vec<&SimJob> = match (offset, q.get("prev").is_some_and(|p| p == "true")) {
        (Some(offset), true) => scope.iter().filter(|j| j.seq > offset).take(size).copied().collect(),
        (Some(offset), false) => scope
            .iter()
            .rev()
            .filter(|j| j.seq < offset)
            .take(size)
            .copied()
            .collect(),
        (None, _) => scope.iter().rev().take(size).copied().collect(),
    };
    chosen.sort_by_key(|j| std::cmp::Reverse(j.seq));
    let pending = recipe.pending.len() as u64;
    Ok(json!({
        "job_succeeded_count": recipe.succeeded,
        "job_failed_count": recipe.failed,
        "job_count": recipe.succeeded + recipe.failed + pending,
        "job_scope_count": scope.len(),
        "items": chosen.iter().map(|j| render::job(j, recipe, now)).collect::<Vec<_>>(),
    }))
}

pub fn enable_disable(w: &mut World, id: u64, enable: bool) -> Reply {
    let index = w.endpoints.iter().position(|e| e.id == id).ok_or_else(not_found)?;
    let recipe_running = w
        .recipe_index(w.endpoints[index].recipe_id)
        .is_some_and(|r| w.recipes[r].running);
    if enable && !recipe_running {
        return Err(bad_request("The endpoint's recipe is not running; start it first"));
    }
    w.endpoints[index].active = enable;
    Ok(json!({"success": true}))
}

pub fn upsert_properties(w: &mut World, body: &[u8]) -> Reply {
    let value: Value = serde_json::from_slice(body).map_err(|e| bad_request(format!("Malformed JSON: {e}")))?;
    let Some(Value::Object(properties)) = value.get("properties") else {
        return Err(bad_request("Missing parameter: properties (an object of name: value)"));
    };
    let mut updates = Vec::with_capacity(properties.len());
    for (name, value) in properties {
        check_property(name, value).map_err(bad_request)?;
        updates.push((name.clone(), value.as_str().unwrap_or_default().to_string()));
    }
    let new = updates
        .iter()
        .filter(|(name, _)| !w.properties.contains_key(name))
        .count();
    if w.properties.len() + new > MAX_PROPERTIES {
        return Err(bad_request(format!(
            "A workspace holds at most {MAX_PROPERTIES} properties"
        )));
    }
    w.properties.extend(updates);
    Ok(json!({"success": true}))
}

/// One job of a recipe.
pub fn get_job(w: &World, recipe: u64, job: &str) -> Reply {
    let now = w.now();
    let index = w.recipe_index(recipe).ok_or_else(not_found)?;
    let recipe = &w.recipes[index];
    let job = recipe.jobs.iter().find(|j| j.id == job).ok_or_else(not_found)?;
    Ok(render::job(job, recipe, now))
}

/// The properties whose names start with `prefix` (required).
pub fn properties(w: &World, q: &HashMap<String, String>) -> Reply {
    let prefix = q
        .get("prefix")
        .ok_or_else(|| bad_request("Missing parameter: prefix"))?;
    let found: Map<String, Value> = w
        .properties
        .iter()
        .filter(|(name, _)| name.starts_with(prefix.as_str()))
        .map(|(name, value)| (name.clone(), Value::String(value.clone())))
        .collect();
    Ok(Value::Object(found))
}

/// One page of API collections, as a JSON array.
pub fn collections_page(w: &World, q: &HashMap<String, String>) -> Value {
    let epoch = w.epoch;
    page(q, w.collections.iter().map(|c| render::collection(c, epoch)))
}

/// One page of API endpoints, optionally of one collection, as a JSON array.
pub fn endpoints_page(w: &World, q: &HashMap<String, String>) -> Value {
    let collection = q.get("api_collection_id").and_then(|c| c.parse::<u64>().ok());
    let epoch = w.epoch;
    let endpoints = w
        .endpoints
        .iter()
        .filter(|e| collection.is_none_or(|c| e.collection_id == c));
    page(q, endpoints.map(|e| render::endpoint(e, epoch)))
}
