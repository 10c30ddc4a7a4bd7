//! Customers and their workspaces: list, get, `E<external_id>`, and each
//! customer-scoped route's shape.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{all_customers, call, config, get, spawn, stats};

#[tokio::test]
async fn customers_page_until_an_empty_page_and_get_answers_one_without_a_wrapper() {
    let running = spawn(config(23, 6)).await;
    let mut lengths = Vec::new();
    for page in [1, 2, 3, 4] {
        let body = get(&running, &format!("/api/managed_users?page={page}&per_page=10")).await;
        lengths.push(body["result"].as_array().expect("a list").len());
    }
    assert_eq!(lengths, [10, 10, 3, 0]);
    // per_page is capped at 100, not refused.
    let big = get(&running, "/api/managed_users?per_page=500").await;
    assert_eq!(big["result"].as_array().map(Vec::len), Some(23));

    let customers = all_customers(&running).await;
    let ids: BTreeSet<u64> = customers.iter().filter_map(|c| c["id"].as_u64()).collect();
    assert_eq!(ids.len(), 23, "ids are integers and unique");
    for field in [
        "external_id",
        "name",
        "plan_id",
        "trial",
        "in_trial",
        "task_count",
        "task_limit",
        "active_recipe_count",
        "active_connection_count",
        "active_connection_limit",
        "created_at",
        "updated_at",
        "current_billing_period_start",
        "current_billing_period_end",
        "environments",
    ] {
        assert!(
            customers.iter().all(|c| c.get(field).is_some()),
            "every customer has {field}"
        );
    }
    let first = &customers[0];
    let one = get(&running, &format!("/api/managed_users/{}", first["id"])).await;
    assert_eq!(&one, first, "no wrapper, the same record as the list");
}

#[tokio::test]
async fn a_customer_is_addressed_by_e_and_its_url_encoded_external_id() {
    let running = spawn(config(12, 4)).await;
    let customers = all_customers(&running).await;
    let awkward = customers
        .iter()
        .find(|c| {
            c["external_id"]
                .as_str()
                .is_some_and(|e| e.contains(' ') && e.contains('/'))
        })
        .expect("some external ids need escaping");
    let encoded: String = awkward["external_id"]
        .as_str()
        .unwrap_or_default()
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let found = get(&running, &format!("/api/managed_users/E{encoded}")).await;
    assert_eq!(found["id"], awkward["id"]);
    let recipes = get(&running, &format!("/api/managed_users/E{encoded}/recipes")).await;
    assert_eq!(
        recipes["result"][0]["user_id"], awkward["id"],
        "recipe.user_id is the customer's id"
    );

    let plain = customers
        .iter()
        .find(|c| c["external_id"].as_str().is_some_and(|e| e.starts_with('A')))
        .expect("plain external ids");
    let found = get(
        &running,
        &format!(
            "/api/managed_users/E{}",
            plain["external_id"].as_str().unwrap_or_default()
        ),
    )
    .await;
    assert_eq!(found["id"], plain["id"]);
    assert!(
        customers.iter().any(|c| c["external_id"].is_null()),
        "some customers have none"
    );

    for missing in [
        "/api/managed_users/Enobody",
        "/api/managed_users/1",
        "/api/managed_users/1/recipes",
    ] {
        let (status, _, _) = call(&running, Method::GET, missing, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    }
    let stats = stats(&running).await;
    let id = awkward["id"].to_string();
    assert_eq!(
        stats["embedded"]["customer_requests"][&id],
        json!(2),
        "calls are counted per customer"
    );
}

#[tokio::test]
async fn each_customer_route_answers_in_embedded_shapes() {
    let running = spawn(config(3, 30)).await;
    running.simulator.advance(600);
    let customer = &all_customers(&running).await[1];
    let base = format!("/api/managed_users/{}", customer["id"]);

    // Recipes: wrapped, newest first, paged by page/per_page and since_id.
    let first = get(&running, &format!("{base}/recipes?per_page=20")).await["result"].clone();
    let first = first.as_array().expect("a list").clone();
    assert_eq!(first.len(), 20);
    let last_id = first[19]["id"].as_u64().expect("integer id");
    let rest = get(&running, &format!("{base}/recipes?per_page=100&since_id={last_id}")).await;
    let rest = rest["result"].as_array().expect("a list").clone();
    assert_eq!(rest.len(), 10);
    assert!(rest.iter().all(|r| r["id"].as_u64() < Some(last_id)));
    let page3 = get(&running, &format!("{base}/recipes?per_page=10&page=4")).await;
    assert_eq!(page3["result"], json!([]));
    let running_count = first
        .iter()
        .chain(&rest)
        .filter(|r| r["running"] == json!(true))
        .count();
    let record = get(&running, &base).await;
    assert_eq!(record["active_recipe_count"], json!(running_count));

    // One recipe: {"result": [Recipe]}.
    let recipe = &first[0];
    let one = get(&running, &format!("{base}/recipes/{}", recipe["id"])).await;
    assert_eq!(one["result"][0]["id"], recipe["id"]);

    // Jobs: the developer API's body.
    let busiest = first
        .iter()
        .chain(&rest)
        .max_by_key(|r| r["job_succeeded_count"].as_u64())
        .expect("recipes");
    let jobs = get(&running, &format!("{base}/recipes/{}/jobs", busiest["id"])).await;
    for key in [
        "job_succeeded_count",
        "job_failed_count",
        "job_count",
        "job_scope_count",
        "items",
    ] {
        assert!(jobs.get(key).is_some(), "jobs have {key}");
    }

    // Connections carry provider, not application; counted as the record says.
    let connections = get(&running, &format!("{base}/connections")).await["result"].clone();
    let connections = connections.as_array().expect("a list").clone();
    assert!(!connections.is_empty());
    assert!(
        connections
            .iter()
            .all(|c| c["provider"].is_string() && c.get("application").is_none())
    );
    let authorised = connections
        .iter()
        .filter(|c| c["authorization_status"] == json!("success"))
        .count();
    assert_eq!(record["active_connection_count"], json!(authorised));

    // API platform lists are wrapped; endpoints switch.
    let collections = get(&running, &format!("{base}/api_collections")).await;
    assert!(collections["result"].as_array().is_some_and(|c| !c.is_empty()));
    let endpoints = get(&running, &format!("{base}/api_endpoints?per_page=100")).await;
    let endpoint = endpoints["result"][0].clone();
    let (status, _, body) = call(
        &running,
        Method::PUT,
        &format!("{base}/api_endpoints/{}/disable", endpoint["id"]),
        None,
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));

    // Start and stop.
    let stopped = first
        .iter()
        .chain(&rest)
        .find(|r| r["running"] == json!(true))
        .expect("a running recipe");
    let (status, _, body) = call(
        &running,
        Method::PUT,
        &format!("{base}/recipes/{}/stop", stopped["id"]),
        None,
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    let after = get(&running, &base).await;
    assert_eq!(after["active_recipe_count"], json!(running_count - 1));

    // Properties: wrapped; POST upserts.
    let (status, _, body) = call(
        &running,
        Method::POST,
        &format!("{base}/properties"),
        Some(json!({"properties": {"exporter.seen": "yes"}})),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    let properties = get(&running, &format!("{base}/properties?prefix=exporter.")).await;
    assert_eq!(properties, json!({"result": {"exporter.seen": "yes"}}));
}

#[tokio::test]
async fn the_same_seed_gives_the_same_customers_and_history() {
    let summary = |customers: Vec<Value>| -> Vec<Value> {
        customers
            .into_iter()
            .map(|c| {
                json!([
                    c["id"],
                    c["external_id"],
                    c["name"],
                    c["plan_id"],
                    c["task_count"],
                    c["active_recipe_count"]
                ])
            })
            .collect()
    };
    let (a, b) = (spawn(config(15, 8)).await, spawn(config(15, 8)).await);
    let mut other = config(15, 8);
    other.seed = 2;
    let c = spawn(other).await;
    for running in [&a, &b, &c] {
        running.simulator.advance(900);
    }
    let (sa, sb, sc) = (
        summary(all_customers(&a).await),
        summary(all_customers(&b).await),
        summary(all_customers(&c).await),
    );
    assert_eq!(sa, sb);
    assert_ne!(sa, sc, "another seed, other customers");
    let (ja, jb) = (stats(&a).await, stats(&b).await);
    assert_eq!(ja["embedded"]["jobs_started"], jb["embedded"]["jobs_started"]);
    assert!(ja["embedded"]["jobs_started"].as_u64() > Some(0));
}

#[tokio::test]
async fn without_embedded_customers_the_managed_users_routes_do_not_exist() {
    let running = spawn(workato_sim::SimConfig {
        embedded: None,
        ..config(1, 4)
    })
    .await;
    let (status, _, _) = call(&running, Method::GET, "/api/managed_users", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        stats(&running).await.get("embedded").is_none(),
        "today's stats, unchanged"
    );
}

#[tokio::test]
async fn a_customers_ledger_matches_its_recipes_counters() {
    let running = spawn(config(4, 6)).await;
    running.simulator.advance(300);
    let ids = running.simulator.customer_ids();
    assert_eq!(ids.len(), 4);
    let customer = json!(ids[0]);
    let recipes = get(&running, &format!("/api/managed_users/{customer}/recipes?per_page=100")).await;
    let ledger = running.simulator.customer_ledger(ids[0]).expect("a customer");
    for recipe in recipes["result"].as_array().expect("a list") {
        let entry = ledger
            .iter()
            .find(|l| json!(l.recipe_id) == recipe["id"])
            .expect("in the ledger");
        assert_eq!(json!(entry.succeeded), recipe["job_succeeded_count"]);
    }
    assert!(running.simulator.customer_ledger(1).is_none());
}
