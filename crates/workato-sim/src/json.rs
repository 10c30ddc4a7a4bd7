//! The simulated workspace rendered as Workato renders it: field names,
//! nesting, nullability and the quirks WORKATO_API.md lists (timestamps with
//! the workspace's offset and milliseconds, `webhook_url` false, ids as
//! strings in places).

use chrono::{DateTime, FixedOffset, SecondsFormat};
use serde_json::{Value, json};

use crate::world::{SimCollection, SimConnection, SimEndpoint, SimJob, SimRecipe, World};

/// Workato answers in the workspace's time zone; the demo's is US Pacific.
pub fn time(unix: f64) -> Value {
    let offset = FixedOffset::west_opt(8 * 3600).expect("valid offset");
    match DateTime::from_timestamp_millis((unix * 1000.0).round() as i64) {
        Some(t) => Value::String(t.with_timezone(&offset).to_rfc3339_opts(SecondsFormat::Millis, false)),
        None => Value::Null,
    }
}

fn opt_time(unix: Option<f64>) -> Value {
    unix.map_or(Value::Null, time)
}

pub fn users_me(w: &World) -> Value {
    let active = w.recipes.iter().filter(|r| r.running).count();
    json!({
        "id": w.workspace_id,
        "name": w.workspace_name,
        "created_at": time(w.epoch - 400.0 * 86_400.0),
        "plan_id": "business_2024",
        "current_billing_period_start": time(w.epoch - 10.0 * 86_400.0),
        "current_billing_period_end": time(w.epoch + 20.0 * 86_400.0),
        "expert": false,
        "avatar_url": null,
        "recipes_count": w.recipes.len(),
        "interested_applications": [],
        "company_name": "Demo Corp",
        "location": null,
        "last_seen": time(w.now()),
        "contact_phone": null,
        "contact_email": null,
        "about_me": null,
        "email": "demo@example.com",
        "phone": null,
        "active_recipes_count": active,
        "root_folder_id": w.root_folder_id,
    })
}

pub fn recipe(r: &SimRecipe, user_id: u64, exclude_code: bool) -> Value {
    let mut applications = vec![r.trigger_application.clone()];
    applications.extend(r.action_applications.iter().cloned());
    let config: Vec<Value> = r
        .config
        .iter()
        .map(|(app, account)| {
            json!({"keyword": "application", "name": app, "provider": app, "skip_validation": false, "account_id": account})
        })
        .collect();
    let mut value = json!({
        "id": r.id,
        "user_id": user_id,
        "name": r.name,
        "created_at": time(r.created_at),
        "updated_at": time(r.updated_at),
        "copy_count": r.id % 3,
        "trigger_application": r.trigger_application,
        "action_applications": r.action_applications,
        "applications": applications,
        "description": format!("When something happens in {}, act in {}", r.trigger_application, r.action_applications.join(", ")),
        "parameters_schema": [],
        "parameters": {},
        "webhook_url": if r.trigger_application == "workato_webhooks" { json!("https://webhooks.example.workato.com/x") } else { json!(false) },
        "folder_id": r.folder_id,
        "running": r.running,
        "job_succeeded_count": r.succeeded,
        "job_failed_count": r.failed,
        "lifetime_task_count": r.tasks,
        "last_run_at": opt_time(r.last_run_at),
        "last_job_started_at": opt_time(r.last_job_started_at),
        "stopped_at": opt_time(r.stopped_at),
        "version_no": r.version_no,
        "stop_cause": r.stop_cause,
        "config": config,
        "trigger_closure": null,
        "author_name": "Demo Admin",
        "version_author_name": "Demo Admin",
        "version_author_email": "demo@example.com",
        "version_comment": null,
        "tags": [],
    });
    if let Some(project) = r.project_id {
        // Workato sends project_id as a string on some recipes.
        value["project_id"] = if project % 2 == 0 {
            json!(project)
        } else {
            json!(project.to_string())
        };
    }
    if !exclude_code {
        let code =
            json!({"number": 0, "provider": r.trigger_application, "name": "new_event", "as": "trigger", "block": []});
        value["code"] = Value::String(code.to_string());
    }
    value
}

pub fn job(j: &SimJob, recipe: &SimRecipe, now: f64) -> Value {
    let status = j.status(now);
    let done = status != "pending";
    let failed = status == "failed";
    let mut value = json!({
        "id": j.id,
        "flow_run_id": j.seq,
        "started_at": time(j.started_at),
        "completed_at": if done { time(j.completed_at) } else { Value::Null },
        "title": format!("{} #{}", recipe.name, j.seq),
        "is_error": failed,
        "is_poll_error": false,
        "error": if failed { json!(j.error.as_ref().map(|e| e.message.clone())) } else { Value::Null },
        "status": status,
    });
    if let (true, Some(error)) = (failed, &j.error) {
        value["error_parts"] = json!({
            "adapter": error.adapter,
            "error_type": error.error_type,
            "message": error.message,
            "error_id": format!("e-{}", j.seq),
            "error_at": time(j.completed_at),
        });
    }
    value
}

pub fn connection(c: &SimConnection) -> Value {
    json!({
        "id": c.id,
        "application": c.application,
        "name": c.name,
        "description": null,
        "authorized_at": opt_time(c.authorized_at),
        "authorization_status": c.authorization_status,
        "authorization_error": c.authorization_error,
        "created_at": time(c.created_at),
        "updated_at": time(c.authorized_at.unwrap_or(c.created_at)),
        "external_id": null,
        "folder_id": c.folder_id,
        "connection_lost_at": opt_time(c.lost_at),
        "connection_lost_reason": c.lost_at.and(c.authorization_error.clone()),
        "parent_id": null,
        "provider": c.application,
        "tags": null,
    })
}

pub fn collection(c: &SimCollection, epoch: f64) -> Value {
    let slug = c.name.to_lowercase().replace(' ', "-");
    json!({
        "id": c.id,
        "name": c.name,
        "version": c.version,
        "url": format!("https://apim.example.workato.com/{slug}-v{}", c.version),
        "api_spec_url": format!("https://www.workato.com/doc/service/{slug}/swagger"),
        "project_id": c.project_id.map(|p| p.to_string()),
        "created_at": time(epoch - 200.0 * 86_400.0),
        "updated_at": time(epoch - 20.0 * 86_400.0),
    })
}

pub fn endpoint(e: &SimEndpoint, epoch: f64) -> Value {
    json!({
        "id": e.id,
        "api_collection_id": e.collection_id,
        "flow_id": e.recipe_id,
        "name": e.name,
        "method": e.method,
        "url": format!("https://apim.example.workato.com/c{}/{}", e.collection_id, e.path),
        "legacy_url": null,
        "base_path": format!("/c{}/{}", e.collection_id, e.path),
        "path": e.path,
        "active": e.active,
        "legacy": false,
        "created_at": time(epoch - 100.0 * 86_400.0),
        "updated_at": time(epoch - 10.0 * 86_400.0),
    })
}
