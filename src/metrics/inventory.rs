//! The workspace's inventory — recipes, connections, API collections and
//! endpoints — rendered from a snapshot straight into text. Families follow
//! the snapshot, so a recipe deleted in Workato is gone at the next poll.

use std::collections::HashMap;

use super::catalogue::*;
use super::family::Spec;
use super::text::Writer;
use crate::snapshot::{Connection, Recipe, Snapshot};

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

fn id_text(id: Option<u64>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

/// Writes every inventory family of the snapshot.
pub fn render(snapshot: &Snapshot, w: &mut Writer<'_>) {
    recipes(snapshot, w);
    connections(snapshot, w);
    api_platform(snapshot, w);
}

fn recipes(s: &Snapshot, w: &mut Writer<'_>) {
    let recipes = &s.recipes;
    let ids: Vec<String> = recipes.iter().map(|r| r.id.to_string()).collect();
    for (r, id) in recipes.iter().zip(&ids) {
        let folder = id_text(r.folder_id);
        let values = [
            folder.as_str(),
            r.project_id.as_deref().unwrap_or(""),
            r.name.as_str(),
            id,
            r.trigger_application.as_deref().unwrap_or(""),
            r.version.as_deref().unwrap_or(""),
        ];
        w.sample(&RECIPE_INFO, &values, 1.0);
    }
    let per_recipe = |w: &mut Writer<'_>, spec: &'static Spec, value: &dyn Fn(&Recipe) -> Option<f64>| {
        for (r, id) in recipes.iter().zip(&ids) {
            if let Some(value) = value(r) {
                w.sample(spec, &[&r.name, id], value);
            }
        }
    };
    // A recipe whose `running` Workato left out has no state series at all.
    per_recipe(w, &RECIPE_RUNNING, &|r| r.running.map(flag));
    for (r, id) in recipes.iter().zip(&ids).filter(|(r, _)| r.running == Some(false)) {
        let cause = r.stop_cause.as_deref().unwrap_or("manual");
        w.sample(&RECIPE_STOP_CAUSE, &[cause, &r.name, id], 1.0);
    }
    per_recipe(w, &RECIPE_SUCCEEDED, &|r| r.jobs_succeeded.map(|v| v as f64));
    per_recipe(w, &RECIPE_FAILED, &|r| r.jobs_failed.map(|v| v as f64));
    per_recipe(w, &RECIPE_TASKS, &|r| r.tasks.map(|v| v as f64));
    per_recipe(w, &RECIPE_LAST_RUN, &|r| r.last_run_at);
    per_recipe(w, &RECIPE_LAST_JOB_STARTED, &|r| r.last_job_started_at);
    per_recipe(w, &RECIPE_STOPPED_AT, &|r| r.stopped_at);
}

fn connections(s: &Snapshot, w: &mut Writer<'_>) {
    let mut running_by_connection: HashMap<u64, u32> = HashMap::new();
    for recipe in s.recipes.iter().filter(|r| r.running == Some(true)) {
        for id in &recipe.connection_ids {
            *running_by_connection.entry(*id).or_default() += 1;
        }
    }
    let ids: Vec<String> = s.connections.iter().map(|c| c.id.to_string()).collect();
    for (c, id) in s.connections.iter().zip(&ids) {
        let folder = id_text(c.folder_id);
        let status = c.authorization_status.as_deref().unwrap_or("none");
        let values = [c.application.as_str(), status, &c.name, id, &folder];
        w.sample(&CONNECTION_INFO, &values, 1.0);
    }
    let per_connection = |w: &mut Writer<'_>, spec: &'static Spec, value: &dyn Fn(&Connection) -> Option<f64>| {
        for (c, id) in s.connections.iter().zip(&ids) {
            if let Some(value) = value(c) {
                w.sample(spec, &[&c.application, &c.name, id], value);
            }
        }
    };
    per_connection(w, &CONNECTION_AUTHORIZED, &|c| {
        Some(flag(c.authorization_status.as_deref() == Some("success")))
    });
    per_connection(w, &CONNECTION_LOST, &|c| c.lost_at);
    per_connection(w, &CONNECTION_RUNNING_RECIPES, &|c| {
        Some(f64::from(running_by_connection.get(&c.id).copied().unwrap_or(0)))
    });
}

fn api_platform(s: &Snapshot, w: &mut Writer<'_>) {
    let platform = &s.api_platform;
    for c in &platform.collections {
        let id = c.id.to_string();
        let values = [c.name.as_str(), &id, c.version.as_deref().unwrap_or("")];
        w.sample(&API_COLLECTION_INFO, &values, 1.0);
    }
    for e in &platform.endpoints {
        let (id, collection, recipe) = (e.id.to_string(), id_text(e.collection_id), id_text(e.recipe_id));
        let values = [collection.as_str(), &e.name, &id, &e.method, &e.path, &recipe];
        w.sample(&API_ENDPOINT_ACTIVE, &values, flag(e.active));
    }
}
