//! The workspace's inventory — recipes, connections, API collections and
//! endpoints — rendered from a snapshot straight into text. Families follow
//! the snapshot, so a recipe deleted in Workato is gone at the next poll.
//!
//! One function per family, listed in [`FAMILIES`] in the order they are
//! written: the exposition calls each for every workspace before the next.

use super::catalogue::*;
use super::family::Spec;
use super::text::Writer;
use super::view::View;
use crate::snapshot::{Connection, Recipe};

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

fn id_text(id: Option<u64>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

/// Writes one family of a workspace.
pub type Family = fn(&View<'_>, &mut Writer);

/// Every inventory family, in written order.
pub const FAMILIES: [Family; 15] = [
    recipe_info,
    |v, w| per_recipe(v, w, &RECIPE_RUNNING, |r| r.running.map(flag)),
    recipe_stop_cause,
    |v, w| per_recipe(v, w, &RECIPE_SUCCEEDED, |r| r.jobs_succeeded.map(|v| v as f64)),
    |v, w| per_recipe(v, w, &RECIPE_FAILED, |r| r.jobs_failed.map(|v| v as f64)),
    |v, w| per_recipe(v, w, &RECIPE_TASKS, |r| r.tasks.map(|v| v as f64)),
    |v, w| per_recipe(v, w, &RECIPE_LAST_RUN, |r| r.last_run_at),
    |v, w| per_recipe(v, w, &RECIPE_LAST_JOB_STARTED, |r| r.last_job_started_at),
    |v, w| per_recipe(v, w, &RECIPE_STOPPED_AT, |r| r.stopped_at),
    connection_info,
    |v, w| {
        per_connection(v, w, &CONNECTION_AUTHORIZED, |c, _| {
            Some(flag(c.authorization_status.as_deref() == Some("success")))
        })
    },
    |v, w| per_connection(v, w, &CONNECTION_LOST, |c, _| c.lost_at),
    |v, w| {
        per_connection(v, w, &CONNECTION_RUNNING_RECIPES, |c, v| {
            Some(f64::from(v.running_by_connection.get(&c.id).copied().unwrap_or(0)))
        })
    },
    api_collection_info,
    api_endpoint_active,
];

fn recipe_info(v: &View<'_>, w: &mut Writer) {
    for (r, id) in v.snapshot.recipes.iter().zip(v.recipe_ids.iter()) {
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
}

/// A family of one sample per recipe (labels `recipe`, `recipe_id`); a
/// recipe whose value is `None` has none, as a recipe whose `running`
/// Workato left out has no state series at all.
fn per_recipe(v: &View<'_>, w: &mut Writer, spec: &'static Spec, value: fn(&Recipe) -> Option<f64>) {
    for (r, id) in v.snapshot.recipes.iter().zip(v.recipe_ids.iter()) {
        if let Some(value) = value(r) {
            w.sample(spec, &[&r.name, id], value);
        }
    }
}

fn recipe_stop_cause(v: &View<'_>, w: &mut Writer) {
    let recipes = v.snapshot.recipes.iter().zip(v.recipe_ids.iter());
    for (r, id) in recipes.filter(|(r, _)| r.running == Some(false)) {
        let cause = r.stop_cause.as_deref().unwrap_or("manual");
        w.sample(&RECIPE_STOP_CAUSE, &[cause, &r.name, id], 1.0);
    }
}

fn connection_info(v: &View<'_>, w: &mut Writer) {
    for (c, id) in v.snapshot.connections.iter().zip(v.connection_ids.iter()) {
        let folder = id_text(c.folder_id);
        let status = c.authorization_status.as_deref().unwrap_or("none");
        let values = [c.application.as_str(), status, &c.name, id, &folder];
        w.sample(&CONNECTION_INFO, &values, 1.0);
    }
}

fn per_connection(v: &View<'_>, w: &mut Writer, spec: &'static Spec, value: fn(&Connection, &View<'_>) -> Option<f64>) {
    for (c, id) in v.snapshot.connections.iter().zip(v.connection_ids.iter()) {
        if let Some(value) = value(c, v) {
            w.sample(spec, &[&c.application, &c.name, id], value);
        }
    }
}

fn api_collection_info(v: &View<'_>, w: &mut Writer) {
    for c in &v.snapshot.api_platform.collections {
        let id = c.id.to_string();
        let values = [c.name.as_str(), &id, c.version.as_deref().unwrap_or("")];
        w.sample(&API_COLLECTION_INFO, &values, 1.0);
    }
}

fn api_endpoint_active(v: &View<'_>, w: &mut Writer) {
    for e in &v.snapshot.api_platform.endpoints {
        let (id, collection, recipe) = (e.id.to_string(), id_text(e.collection_id), id_text(e.recipe_id));
        let values = [collection.as_str(), &e.name, &id, &e.method, &e.path, &recipe];
        w.sample(&API_ENDPOINT_ACTIVE, &values, flag(e.active));
    }
}
