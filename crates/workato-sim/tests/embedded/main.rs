//! `simulate --embedded-customers`: the Embed admin workspace over HTTP,
//! on a stopped clock moved by hand.

mod customers;
mod quota;
mod usage;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use workato_sim::{self as sim, EmbeddedConfig, SimConfig};

pub const TOKEN: &str = "embed-admin-token";

/// `customers` customers of `recipes` recipes, a stopped clock, jobs kept
/// long enough for a test to walk them all.
pub fn config(customers: usize, recipes: usize) -> SimConfig {
    SimConfig {
        speed: 0.0,
        token: Some(TOKEN.to_string()),
        embedded: Some(EmbeddedConfig {
            recipes,
            jobs_per_minute: 30.0,
            job_retention: 100_000,
            ..EmbeddedConfig::new(customers)
        }),
        ..SimConfig::demo()
    }
}

pub async fn spawn(config: SimConfig) -> sim::Running {
    sim::spawn(config).await.expect("simulator binds a loopback port")
}

/// Sends a request with the admin token; the status, `Retry-After` and body.
pub async fn call(
    running: &sim::Running,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Option<u64>, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", running.base_url()))
        .bearer_auth(TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("simulator answers");
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (status, retry_after, response.json().await.unwrap_or(Value::Null))
}

/// A GET that must answer 200; its body.
pub async fn get(running: &sim::Running, path: &str) -> Value {
    let (status, _, body) = call(running, Method::GET, path, None).await;
    assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
    body
}

/// Every customer, paging 100 at a time until an empty page.
pub async fn all_customers(running: &sim::Running) -> Vec<Value> {
    let mut customers = Vec::new();
    for page in 1.. {
        let body = get(running, &format!("/api/managed_users?page={page}&per_page=100")).await;
        let result = body["result"].as_array().expect("result is a list").clone();
        if result.is_empty() {
            return customers;
        }
        customers.extend(result);
    }
    unreachable!()
}

pub async fn stats(running: &sim::Running) -> Value {
    reqwest::get(format!("{}/sim/stats", running.base_url()))
        .await
        .expect("stats answer")
        .json()
        .await
        .expect("stats are JSON")
}
