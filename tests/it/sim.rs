//! The simulated Workato API: the same client that talks to Workato (and to
//! wiremock in the other tests) reads it, its replies carry every field of
//! the Workato-shaped fixtures, and it enforces Workato's limits.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{Value, json};
use workato_exporter::client::{Client, NoObserver};
use workato_sim::{self as sim, SimConfig};

use crate::helpers::{TOKEN, TestApp, config_with, fast_options, fixture, sim_get as get};

fn config(recipes: usize, connections: usize, endpoints: usize) -> SimConfig {
    SimConfig {
        recipes,
        connections,
        endpoints,
        token: Some(TOKEN.to_string()),
        ..SimConfig::demo()
    }
}

fn client(base_url: &str) -> Client {
    let config = config_with(base_url, &[]);
    Client::with_options(
        &config.workspaces[0].base_url,
        &config.workspaces[0].auth,
        config.workspaces[0].requests_per_minute,
        fast_options(),
        Arc::new(NoObserver),
    )
    .expect("client builds")
}

async fn put(running: &sim::Running, path: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .put(format!("{}{path}", running.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("simulator answers");
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

async fn stats(running: &sim::Running, key: &str, group: &str) -> u64 {
    let stats: Value = reqwest::get(format!("{}/sim/stats", running.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    stats[key][group]
        .as_u64()
        .unwrap_or_else(|| panic!("no {key}.{group} in {stats}"))
}

#[tokio::test]
async fn the_client_reads_every_entity_of_the_simulated_workspace() {
    let running = sim::spawn(config(250, 40, 120)).await.unwrap();
    let client = client(&running.base_url());
    let recipes = client.recipes().await.expect("recipes").recipes;
    assert_eq!(recipes.len(), 250);
    assert_eq!(
        recipes.iter().map(|r| r.id).collect::<BTreeSet<_>>().len(),
        250,
        "no recipe twice"
    );
    assert_eq!(
        stats(&running, "requests", "recipes").await,
        4,
        "250 recipes take three pages of 100 and the empty page that ends the walk"
    );
    assert_eq!(client.connections().await.unwrap().len(), 40);
    assert_eq!(client.api_endpoints().await.unwrap().len(), 120);
    assert_eq!(client.api_collections().await.unwrap().len(), 30);
    let workspace = client.workspace().await.unwrap();
    assert_eq!(workspace.name, "Demo Workspace");
    assert!(
        recipes
            .iter()
            .any(|r| r.project_id.is_some() && !r.connection_ids.is_empty())
    );
}

/// Every field name anywhere in the items of a reply.
fn keys(items: &[Value]) -> BTreeSet<String> {
    items
        .iter()
        .filter_map(Value::as_object)
        .flat_map(|o| o.keys().cloned())
        .collect()
}

fn items(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        Value::Object(mut o) if o.contains_key("items") => items(o.remove("items").unwrap_or_default()),
        object @ Value::Object(_) => vec![object],
        _ => vec![],
    }
}

#[tokio::test]
async fn simulated_replies_carry_the_same_fields_as_the_workato_fixtures() {
    let running = sim::spawn(config(40, 12, 10)).await.unwrap();
    for (path, file, only_in_sim) in [
        ("/api/users/me", "users_me.json", &[][..]),
        ("/api/recipes?per_page=100", "recipes.json", &["code"][..]),
        ("/api/connections", "connections.json", &[][..]),
        ("/api/api_collections", "api_collections.json", &[][..]),
        ("/api/api_endpoints", "api_endpoints.json", &[][..]),
    ] {
        let simulated = keys(&items(get(&running, path).await.json().await.unwrap()));
        let documented = keys(&items(fixture(file)));
        let missing: Vec<_> = documented.difference(&simulated).collect();
        assert!(missing.is_empty(), "{path}: the simulator leaves out {missing:?}");
        let extra: Vec<_> = simulated
            .difference(&documented)
            .filter(|k| !only_in_sim.contains(&k.as_str()))
            .collect();
        assert!(extra.is_empty(), "{path}: the fixtures leave out {extra:?}");
    }
}

#[tokio::test]
async fn a_full_poll_of_5000_recipes_stays_within_the_simulated_rate_limits() {
    let running = sim::spawn(config(5_000, 1_000, 500)).await.unwrap();
    // Workato's own limit, 60 a minute: the sweep's 51 calls fit in it.
    let config = config_with(&running.base_url(), &["--workato.requests-per-minute", "60"]);
    let app = TestApp::spawn_with(config, fast_options()).await;
    let failed = app.poll_all().await;
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(running.simulator.throttled_total(), 0, "the simulator answered 429");
    // 5,000/100 recipe pages and the one after, which tells whether the
    // workspace holds more than the 5,000 the exporter keeps. 100
    // collections and 500 endpoints fill their last pages, so each walk
    // needs one empty page to know it is done.
    assert_eq!(stats(&running, "requests", "recipes").await, 51);
    assert_eq!(stats(&running, "requests", "api_platform").await, (1 + 1) + (5 + 1));
    assert_eq!(stats(&running, "requests", "connections").await, 1);
    let samples = app.samples().await;
    assert_eq!(samples.find("workato_recipe_running", &[]).len(), 5_000);
    assert_eq!(samples.find("workato_connection_authorized", &[]).len(), 1_000);
    assert_eq!(samples.find("workato_api_endpoint_active", &[]).len(), 500);
}

#[tokio::test]
async fn more_than_60_requests_a_minute_get_429_with_retry_after() {
    let running = sim::spawn(config(10, 5, 5)).await.unwrap();
    for _ in 0..60 {
        assert_eq!(get(&running, "/api/connections").await.status(), 200);
    }
    let throttled = get(&running, "/api/connections").await;
    assert_eq!(throttled.status(), 429);
    let retry_after: u64 = throttled.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(
        get(&running, "/api/recipes").await.status(),
        200,
        "other groups have their own limit"
    );
    assert_eq!(running.simulator.throttled_total(), 1);
}

#[tokio::test]
async fn requests_without_the_token_get_401() {
    let running = sim::spawn(config(10, 5, 5)).await.unwrap();
    let anonymous = reqwest::get(format!("{}/api/recipes", running.base_url()))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = reqwest::Client::new()
        .get(format!("{}/api/recipes", running.base_url()))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body, json!({"message": "Unauthorized"}));
}

#[tokio::test]
async fn recipes_page_with_clamped_per_page_and_since_id() {
    let running = sim::spawn(config(250, 5, 5)).await.unwrap();
    let page: Value = get(&running, "/api/recipes?per_page=500").await.json().await.unwrap();
    let ids: Vec<u64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), 100, "per_page is clamped to 100");
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    let lowest = ids[99];
    let next: Value = get(&running, &format!("/api/recipes?per_page=100&since_id={lowest}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        next["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"].as_u64().unwrap() < lowest)
    );
    let default: Value = get(&running, "/api/recipes").await.json().await.unwrap();
    assert_eq!(
        default["items"].as_array().unwrap().len(),
        10,
        "Workato's default page is 10"
    );
    assert!(
        default["items"][0].get("code").is_some(),
        "code is sent unless excluded"
    );
}

#[tokio::test]
async fn start_stop_and_a_refused_start() {
    let running = sim::spawn(config(40, 12, 10)).await.unwrap();
    let recipes: Value = get(&running, "/api/recipes?per_page=100").await.json().await.unwrap();
    let recipes = recipes["items"].as_array().unwrap();
    let draft = recipes
        .iter()
        .find(|r| r["name"].as_str().unwrap().starts_with("Draft"))
        .unwrap();
    let (status, body) = put(&running, &format!("/api/recipes/{}/start", draft["id"])).await;
    assert_eq!(status, 200, "a refused start is HTTP 200");
    assert_eq!(body["success"], false);
    assert!(body["code_errors"].as_array().is_some_and(|e| !e.is_empty()), "{body}");

    let live = recipes.iter().find(|r| r["running"] == true).unwrap();
    let path = format!("/api/recipes/{}", live["id"]);
    assert_eq!(
        put(&running, &format!("{path}/stop")).await,
        (200, json!({"success": true}))
    );
    let stopped: Value = get(&running, &path).await.json().await.unwrap();
    assert_eq!(
        (stopped["running"].clone(), stopped["stop_cause"].clone()),
        (json!(false), Value::Null)
    );
    assert_eq!(
        put(&running, &format!("{path}/stop")).await.0,
        400,
        "stopping a stopped recipe"
    );
    assert_eq!(
        put(&running, &format!("{path}/start")).await,
        (200, json!({"success": true}))
    );
    assert_eq!(
        get(&running, &path).await.json::<Value>().await.unwrap()["running"],
        true
    );
    assert_eq!(put(&running, "/api/recipes/1/start").await.0, 404);
}

#[tokio::test]
async fn endpoints_enable_only_while_their_recipe_runs() {
    let running = sim::spawn(SimConfig {
        incidents: false,
        ..config(40, 12, 10)
    })
    .await
    .unwrap();
    let endpoints: Value = get(&running, "/api/api_endpoints?per_page=100")
        .await
        .json()
        .await
        .unwrap();
    let endpoint = &endpoints[0];
    let id = endpoint["id"].clone();
    assert_eq!(
        put(&running, &format!("/api/api_endpoints/{id}/disable")).await,
        (200, json!({"success": true}))
    );
    assert_eq!(
        put(&running, &format!("/api/recipes/{}/stop", endpoint["flow_id"]))
            .await
            .0,
        200
    );
    assert_eq!(put(&running, &format!("/api/api_endpoints/{id}/enable")).await.0, 400);
    assert_eq!(
        put(&running, &format!("/api/recipes/{}/start", endpoint["flow_id"]))
            .await
            .0,
        200
    );
    assert_eq!(put(&running, &format!("/api/api_endpoints/{id}/enable")).await.0, 200);
}

#[tokio::test]
async fn properties_round_trip_within_workatos_limits() {
    let running = sim::spawn(config(10, 5, 5)).await.unwrap();
    let post = |body: Value| {
        let url = format!("{}/api/properties", running.base_url());
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .bearer_auth(TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(
        post(json!({"properties": {"team.name": "ops", "team.size": "4"}}))
            .await
            .0,
        200
    );
    let found: Value = get(&running, "/api/properties?prefix=team.")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found, json!({"team.name": "ops", "team.size": "4"}));
    assert_eq!(
        get(&running, "/api/properties").await.status(),
        400,
        "prefix is required"
    );
    let long_name = "n".repeat(101);
    let (status, body) = post(json!({"properties": {long_name: "x"}})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(post(json!({"properties": {"v": "x".repeat(1025)}})).await.0, 400);
    assert_eq!(post(json!({"properties": {"n": 1}})).await.0, 400);
    let many: serde_json::Map<String, Value> = (0..1_000).map(|i| (format!("bulk.{i}"), json!("v"))).collect();
    assert_eq!(
        post(json!({"properties": many})).await.0,
        400,
        "over 1,000 properties in all"
    );
}

#[tokio::test]
async fn jobs_walk_forward_with_offset_and_prev_in_fixed_pages() {
    // The simulated clock stands still but for five minutes played at
    // once: 3,000 jobs to page through.
    let running = sim::spawn(SimConfig {
        speed: 0.0,
        jobs_per_minute: 600.0,
        incidents: false,
        ..config(4, 4, 1)
    })
    .await
    .unwrap();
    running.simulator.advance(300);
    let recipes: Value = get(&running, "/api/recipes?per_page=100&running=true")
        .await
        .json()
        .await
        .unwrap();
    let recipe = recipes["items"][0]["id"].clone();
    let jobs_path = format!("/api/recipes/{recipe}/jobs");
    let newest: Value = get(&running, &jobs_path).await.json().await.unwrap();
    let page: Vec<Value> = newest["items"].as_array().unwrap().clone();
    assert_eq!(page.len(), 50, "a full page holds 50 jobs");
    let seq = |j: &Value| j["flow_run_id"].as_u64().unwrap();
    assert!(page.windows(2).all(|w| seq(&w[0]) > seq(&w[1])), "newest first");
    for job in &page {
        assert!(job["id"].as_str().unwrap().starts_with("j-"), "job ids are strings");
        match job["status"].as_str().unwrap() {
            "pending" => assert!(job["completed_at"].is_null()),
            "failed" => assert!(job["error_parts"]["error_type"].is_string()),
            "succeeded" => assert!(job["completed_at"].is_string()),
            other => panic!("status {other}"),
        }
    }
    // Walking forward from the oldest job of that page gives the jobs just
    // newer than it, oldest of them first in time but listed newest first.
    let oldest = page.last().unwrap();
    let forward: Value = get(
        &running,
        &format!("{jobs_path}?offset_job_id={}&prev=true", oldest["id"].as_str().unwrap()),
    )
    .await
    .json()
    .await
    .unwrap();
    let forward = forward["items"].as_array().unwrap();
    assert!(!forward.is_empty());
    assert!(forward.iter().all(|j| seq(j) > seq(oldest)));
    assert_eq!(
        forward.iter().map(seq).min(),
        Some(seq(&page[page.len() - 2])),
        "the walk starts right after the offset"
    );
    let older: Value = get(
        &running,
        &format!("{jobs_path}?offset_job_id={}", oldest["id"].as_str().unwrap()),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(older["items"].as_array().unwrap().iter().all(|j| seq(j) < seq(oldest)));
    assert_eq!(get(&running, &format!("{jobs_path}?status=bogus")).await.status(), 400);
    let failed: Value = get(&running, &format!("{jobs_path}?status=failed"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        failed["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["status"] == "failed")
    );
}
