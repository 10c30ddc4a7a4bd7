//! The workspace's inventory — recipes, connections, API collections and
//! endpoints — rendered from a snapshot straight into text. Families follow
//! the snapshot, so a recipe deleted in Workato is gone at the next poll.
//!
//! One function per family, listed in [`FAMILIES`] in the order they are
//! written: the exposition calls each for every workspace before the next.

use std::fmt::Write;

use super::catalogue::*;
use super::family::Spec;
use super::text::Writer;
use super::view::View;
use crate::snapshot::{Connection, Recipe};

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// `id` as text (empty when absent) in `buffer`, reused from sample to
/// sample: one allocation per family, not one per sample.
fn id_text(buffer: &mut String, id: Option<u64>) -> &str {
    buffer.clear();
    if let Some(id) = id {
        // Writing into a String cannot fail.
        let _ = write!(buffer, "{id}");
    }
    buffer
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
    let mut folder = String::new();
    for (r, id) in v.snapshot.recipes.iter().zip(v.recipe_ids.iter()) {
        let values = [
            id_text(&mut folder, r.folder_id),
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
    let mut folder = String::new();
    for (c, id) in v.snapshot.connections.iter().zip(v.connection_ids.iter()) {
        let status = c.authorization_status.as_deref().unwrap_or("none");
        let values = [
            c.application.as_str(),
            status,
            &c.name,
            id,
            id_text(&mut folder, c.folder_id),
        ];
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
    let mut id = String::new();
    for c in &v.snapshot.api_platform.collections {
        let values = [
            c.name.as_str(),
            id_text(&mut id, Some(c.id)),
            c.version.as_deref().unwrap_or(""),
        ];
        w.sample(&API_COLLECTION_INFO, &values, 1.0);
    }
}

fn api_endpoint_active(v: &View<'_>, w: &mut Writer) {
    let (mut id, mut collection, mut recipe) = (String::new(), String::new(), String::new());
    for e in &v.snapshot.api_platform.endpoints {
        let values = [
            id_text(&mut collection, e.collection_id),
            &e.name,
            id_text(&mut id, Some(e.id)),
            &e.method,
            &e.path,
            id_text(&mut recipe, e.recipe_id),
        ];
        w.sample(&API_ENDPOINT_ACTIVE, &values, flag(e.active));
    }
}
