//! `POST /api/v2/managed_users/statistics/usage` counts, per customer, the
//! jobs the jobs API serves and the tasks the recipes' counters gained.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SecondsFormat};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{all_customers, call, config, get, spawn, stats};

fn iso(unix: i64) -> String {
    DateTime::from_timestamp(unix, 0)
        .expect("a valid instant")
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Each recipe's `(job_succeeded_count, job_failed_count, lifetime_task_count)`.
async fn counters(running: &workato_sim::Running, customer: &Value) -> HashMap<u64, (u64, u64, u64)> {
    let path = format!("/api/managed_users/{}/recipes?per_page=100", customer["id"]);
    get(running, &path).await["result"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| {
            let n = |key: &str| r[key].as_u64().unwrap_or_default();
            (
                n("id"),
                (
                    n("job_succeeded_count"),
                    n("job_failed_count"),
                    n("lifetime_task_count"),
                ),
            )
        })
        .collect()
}

/// Succeeded and failed jobs a recipe's jobs list serves, walked to the end.
async fn served(running: &workato_sim::Running, customer: &Value, recipe: u64) -> (u64, u64) {
    let base = format!("/api/managed_users/{}/recipes/{recipe}/jobs", customer["id"]);
    let (mut succeeded, mut failed, mut offset) = (0, 0, None::<String>);
    loop {
        let path = match &offset {
            Some(job) => format!("{base}?offset_job_id={job}"),
            None => base.clone(),
        };
        let page = get(running, &path).await;
        let items = page["items"].as_array().expect("items").clone();
        let Some(last) = items.last() else {
            return (succeeded, failed);
        };
        offset = last["id"].as_str().map(str::to_string);
        succeeded += items.iter().filter(|j| j["status"] == json!("succeeded")).count() as u64;
        failed += items.iter().filter(|j| j["status"] == json!("failed")).count() as u64;
    }
}

#[tokio::test]
async fn usage_statistics_agree_with_the_jobs_served_and_the_task_counters() {
    let running = spawn(config(5, 8)).await;
    let customers = all_customers(&running).await;
    let mut before = Vec::new();
    for customer in &customers {
        before.push(counters(&running, customer).await);
    }
    running.simulator.advance(1_800);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    let ids: Vec<Value> = customers.iter().map(|c| c["id"].clone()).collect();
    let request =
        json!({"from": iso(now - 7_200), "to": iso(now + 3 * 3_600), "interval": "hour", "workspace_ids": ids});
    let (status, _, body) = call(
        &running,
        Method::POST,
        "/api/v2/managed_users/statistics/usage",
        Some(request),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rows = body["result"].as_array().expect("a result list").clone();
    assert_eq!(rows.len(), customers.len());

    let mut moved = 0;
    for ((customer, before), row) in customers.iter().zip(&before).zip(&rows) {
        assert_eq!(row["workspace_id"], customer["id"]);
        let after = counters(&running, customer).await;
        let (mut jobs_ok, mut jobs_failed, mut tasks, mut served_ok, mut served_failed) = (0, 0, 0, 0, 0);
        for (recipe, (ok, failed, task)) in &after {
            let (ok0, failed0, task0) = before[recipe];
            (jobs_ok, jobs_failed, tasks) = (jobs_ok + ok - ok0, jobs_failed + failed - failed0, tasks + task - task0);
            let (s, f) = served(&running, customer, *recipe).await;
            (served_ok, served_failed) = (served_ok + s, served_failed + f);
        }
        let n = |key: &str| row[key].as_u64().unwrap_or(u64::MAX);
        assert_eq!(
            (n("succeeded_job_count"), n("failed_job_count")),
            (served_ok, served_failed)
        );
        assert_eq!(
            (served_ok, served_failed),
            (jobs_ok, jobs_failed),
            "counters and jobs agree"
        );
        assert_eq!(n("task_count"), tasks);
        let periods = row["usage"].as_array().expect("periods");
        assert!(periods.len() >= 5, "hourly periods over five hours");
        let sum: u64 = periods
            .iter()
            .map(|p| p["succeeded_job_count"].as_u64().unwrap_or_default())
            .sum();
        assert_eq!(sum, served_ok, "the periods add up");
        moved += usize::from(served_ok + served_failed > 0);
    }
    assert!(moved > 0, "some customer ran jobs in half an hour");
}

#[tokio::test]
async fn usage_statistics_take_external_ids_and_count_a_call_per_customer_named() {
    let running = spawn(config(4, 4)).await;
    let customers = all_customers(&running).await;
    let external = customers[1]["external_id"].clone();
    let request = json!({"from": "2020-01-01", "to": "2040-01-01T00:00:00Z", "external_ids": [external]});
    let (status, _, body) = call(
        &running,
        Method::POST,
        "/api/v2/managed_users/statistics/usage",
        Some(request),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["result"][0]["workspace_id"], customers[1]["id"]);
    assert_eq!(body["interval"], json!("none"));
    let stats = stats(&running).await;
    let counted = stats["embedded"]["customer_usage_requests"]
        .as_object()
        .expect("an object")
        .clone();
    assert_eq!(counted.len(), 1);
    assert_eq!(counted[&customers[1]["id"].to_string()], json!(1));

    for bad in [
        json!({"to": "2040-01-01T00:00:00Z"}),
        json!({"from": "2040-01-01", "to": "2020-01-01"}),
        json!({"from": "2020-01-01", "to": "2040-01-01", "interval": "fortnight"}),
        json!({"from": "2020-01-01", "to": "2040-01-01", "interval": "hour"}),
    ] {
        let (status, _, _) = call(
            &running,
            Method::POST,
            "/api/v2/managed_users/statistics/usage",
            Some(bad.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
}
