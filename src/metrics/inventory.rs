//! The workspace's inventory — recipes, connections, API collections and
//! endpoints — rendered from a snapshot straight into text. Families follow
//! the snapshot, so a recipe deleted in Workato is gone at the next poll.

use std::collections::HashMap;

use super::catalogue::*;
use super::text::TextWriter;
use crate::snapshot::Snapshot;

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

fn id_text(id: Option<u64>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

/// Appends every inventory family of the snapshot to `out`.
pub fn render(snapshot: &Snapshot, workspace: &str, out: &mut String) {
    let mut w = TextWriter::new(out, workspace);
    recipes(snapshot, &mut w);
    connections(snapshot, &mut w);
    api_platform(snapshot, &mut w);
}

fn recipes(s: &Snapshot, w: &mut TextWriter<'_>) {
    let recipes = &s.recipes;
    if recipes.is_empty() {
        return;
    }
    let ids: Vec<String> = recipes.iter().map(|r| r.id.to_string()).collect();
    header(w, &RECIPE_INFO);
    for (r, id) in recipes.iter().zip(&ids) {
        let folder = id_text(r.folder_id);
        let labels = [
            ("folder_id", folder.as_str()),
            ("project_id", r.project_id.as_deref().unwrap_or("")),
            ("recipe", r.name.as_str()),
            ("recipe_id", id.as_str()),
            ("trigger_application", r.trigger_application.as_deref().unwrap_or("")),
            ("version", r.version.as_deref().unwrap_or("")),
        ];
        w.sample(RECIPE_INFO.name, &labels, None, 1.0);
    }
    let per_recipe = |w: &mut TextWriter<'_>, spec: &Spec, value: &dyn Fn(&crate::snapshot::Recipe) -> Option<f64>| {
        let mut wrote_header = false;
        for (r, id) in recipes.iter().zip(&ids) {
            if let Some(value) = value(r) {
                if !wrote_header {
                    header(w, spec);
                    wrote_header = true;
                }
                w.sample(
                    spec.name,
                    &[("recipe", r.name.as_str()), ("recipe_id", id.as_str())],
                    None,
                    value,
                );
            }
        }
    };
    // A recipe whose `running` Workato left out has no state series at all.
    per_recipe(w, &RECIPE_RUNNING, &|r| r.running.map(flag));
    let stopped = |r: &crate::snapshot::Recipe| r.running == Some(false);
    if recipes.iter().any(stopped) {
        header(w, &RECIPE_STOP_CAUSE);
        for (r, id) in recipes.iter().zip(&ids).filter(|(r, _)| stopped(r)) {
            let cause = r.stop_cause.as_deref().unwrap_or("manual");
            let labels = [
                ("cause", cause),
                ("recipe", r.name.as_str()),
                ("recipe_id", id.as_str()),
            ];
            w.sample(RECIPE_STOP_CAUSE.name, &labels, None, 1.0);
        }
    }
    per_recipe(w, &RECIPE_SUCCEEDED, &|r| r.jobs_succeeded.map(|v| v as f64));
    per_recipe(w, &RECIPE_FAILED, &|r| r.jobs_failed.map(|v| v as f64));
    per_recipe(w, &RECIPE_TASKS, &|r| r.tasks.map(|v| v as f64));
    per_recipe(w, &RECIPE_LAST_RUN, &|r| r.last_run_at);
    per_recipe(w, &RECIPE_LAST_JOB_STARTED, &|r| r.last_job_started_at);
    per_recipe(w, &RECIPE_STOPPED_AT, &|r| r.stopped_at);
}

fn connections(s: &Snapshot, w: &mut TextWriter<'_>) {
    if s.connections.is_empty() {
        return;
    }
    let mut running_by_connection: HashMap<u64, u32> = HashMap::new();
    for recipe in s.recipes.iter().filter(|r| r.running == Some(true)) {
        for id in &recipe.connection_ids {
            *running_by_connection.entry(*id).or_default() += 1;
        }
    }
    let ids: Vec<String> = s.connections.iter().map(|c| c.id.to_string()).collect();
    header(w, &CONNECTION_INFO);
    for (c, id) in s.connections.iter().zip(&ids) {
        let folder = id_text(c.folder_id);
        let labels = [
            ("application", c.application.as_str()),
            (
                "authorization_status",
                c.authorization_status.as_deref().unwrap_or("none"),
            ),
            ("connection", c.name.as_str()),
            ("connection_id", id.as_str()),
            ("folder_id", folder.as_str()),
        ];
        w.sample(CONNECTION_INFO.name, &labels, None, 1.0);
    }
    let per_connection =
        |w: &mut TextWriter<'_>, spec: &Spec, value: &dyn Fn(&crate::snapshot::Connection) -> Option<f64>| {
            let mut wrote_header = false;
            for (c, id) in s.connections.iter().zip(&ids) {
                if let Some(value) = value(c) {
                    if !wrote_header {
                        header(w, spec);
                        wrote_header = true;
                    }
                    let labels = [
                        ("application", c.application.as_str()),
                        ("connection", c.name.as_str()),
                        ("connection_id", id.as_str()),
                    ];
                    w.sample(spec.name, &labels, None, value);
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

fn api_platform(s: &Snapshot, w: &mut TextWriter<'_>) {
    let platform = &s.api_platform;
    if !platform.collections.is_empty() {
        header(w, &API_COLLECTION_INFO);
        for c in &platform.collections {
            let id = c.id.to_string();
            let labels = [
                ("collection", c.name.as_str()),
                ("collection_id", id.as_str()),
                ("version", c.version.as_deref().unwrap_or("")),
            ];
            w.sample(API_COLLECTION_INFO.name, &labels, None, 1.0);
        }
    }
    if !platform.endpoints.is_empty() {
        header(w, &API_ENDPOINT_ACTIVE);
        for e in &platform.endpoints {
            let (id, collection, recipe) = (e.id.to_string(), id_text(e.collection_id), id_text(e.recipe_id));
            let labels = [
                ("collection_id", collection.as_str()),
                ("endpoint", e.name.as_str()),
                ("endpoint_id", id.as_str()),
                ("method", e.method.as_str()),
                ("path", e.path.as_str()),
                ("recipe_id", recipe.as_str()),
            ];
            w.sample(API_ENDPOINT_ACTIVE.name, &labels, None, flag(e.active));
        }
    }
}
