//! An Embed admin workspace's customers watched as workspaces of their own
//! (#15): listed from the simulator's `/api/managed_users`, polled through
//! the customer-scoped routes, each customer's jobs counted exactly, its
//! record exported, quiet customers' sweeps left out while the usage
//! statistics show no job completing, customers that leave dropped at the
//! next listing, and shards splitting them.

use std::collections::{BTreeSet, HashMap};
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use serde_json::Value;
use workato_sim::{self as sim, SimConfig};

use crate::exposition::promtool_check;
use crate::formats::parse_openmetrics;
use crate::helpers::{Samples, TOKEN, sim_get};
use crate::many::{Files, counted, run, samples, since, totals, until};

/// An Embed admin workspace of `customers` customers of 6 recipes, whose
/// clock moves only when told.
async fn partner(customers: usize) -> sim::Running {
    sim::spawn(SimConfig {
        seed: 5,
        recipes: 4,
        connections: 2,
        endpoints: 1,
        speed: 0.0,
        token: Some(TOKEN.to_string()),
        rate_limit: NonZeroU32::new(6_000).unwrap(),
        incidents: false,
        embedded: Some(sim::EmbeddedConfig {
            recipes: 6,
            jobs_per_minute: 60.0,
            ..sim::EmbeddedConfig::new(customers)
        }),
        ..SimConfig::demo()
    })
    .await
    .expect("the simulator starts")
}

/// The configuration file of one embedded entry, listing customers every
/// second.
fn write_config(files: &Files, base_url: &str, customers: &str) {
    let yaml = format!(
        "embedded:\n  - name: partner\n    base_url: {base_url}\n    token_file: token\n    poll_interval: 1s\n    jobs_interval: 1s\n    workspace_interval: 1s\n    requests_per_minute: 6000\n    customers: {customers}\n"
    );
    std::fs::write(files.config_file(), yaml).unwrap();
}

/// The simulator's own records of its customers, by id.
async fn records(running: &sim::Running) -> HashMap<u64, Value> {
    let reply: Value = sim_get(running, "/api/managed_users?per_page=100")
        .await
        .json()
        .await
        .unwrap();
    let list = reply["result"].as_array().expect("a result list").clone();
    list.into_iter().map(|c| (c["id"].as_u64().unwrap(), c)).collect()
}

/// Jobs a customer completed per recipe id since `baseline`.
fn completed(running: &sim::Running, id: u64, baseline: &HashMap<u64, u64>) -> HashMap<u64, f64> {
    since(&running.simulator.customer_ledger(id).expect("a customer"), baseline)
}

fn ledger(running: &sim::Running, id: u64) -> HashMap<u64, u64> {
    totals(&running.simulator.customer_ledger(id).expect("a customer"))
}

fn label(id: u64) -> String {
    format!("partner/{id}")
}

/// The customers' labels in an exposition.
fn customers_in(s: &Samples) -> BTreeSet<String> {
    s.find("workato_workspace_info", &[])
        .iter()
        .map(|sample| sample.labels["workspace"].clone())
        .filter(|w| w.starts_with("partner/"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_embed_admin_workspaces_customers_are_watched_counted_and_dropped_when_gone() {
    let running = partner(3).await;
    let ids = running.simulator.customer_ids();
    assert_eq!(ids.len(), 3);
    let files = Files::new("embedded");
    write_config(&files, &running.base_url(), "all");
    let exporter = run(&files.config_file(), &[]).await;
    let base = exporter.base.clone();
    let calibrated = |s: &Samples| {
        ids.iter().all(|id| {
            s.has(
                "workato_collector_last_success_timestamp_seconds",
                &[("collector", "jobs"), ("workspace", &label(*id))],
            )
        })
    };
    let s = until(&base, "every customer's first jobs cycle", calibrated).await;
    assert_eq!(reqwest::get(format!("{base}/readyz")).await.unwrap().status(), 200);
    let landing = reqwest::get(format!("{base}/")).await.unwrap().text().await.unwrap();
    let polled = format!("{}/api/managed_users/{}/", running.base_url(), ids[0]);
    assert!(landing.contains(&polled), "the status page names {polled}");

    // Each customer's record: info labels and the billing gauges.
    let records = records(&running).await;
    for id in &ids {
        let workspace = label(*id);
        let record = &records[id];
        let info = s.find("workato_workspace_info", &[("workspace", &workspace)]);
        assert_eq!(info.len(), 1, "{workspace}");
        assert_eq!(info[0].labels["customer_name"], record["name"].as_str().unwrap());
        assert_eq!(
            info[0].labels["external_id"],
            record["external_id"].as_str().unwrap_or("")
        );
        assert_eq!(info[0].labels["workspace_id"], id.to_string());
        assert_eq!(info[0].labels["plan"], record["plan_id"].as_str().unwrap());
        let gauge = |name: &str| s.value(name, &[("workspace", &workspace)]);
        assert_eq!(
            gauge("workato_customer_task_limit"),
            record["task_limit"].as_f64().unwrap()
        );
        assert_eq!(
            gauge("workato_customer_active_recipes"),
            record["active_recipe_count"].as_f64().unwrap()
        );
        assert_eq!(
            gauge("workato_customer_in_trial"),
            f64::from(record["in_trial"].as_bool().unwrap())
        );
        assert_eq!(gauge("workato_up"), 1.0, "{workspace}");
        // The customer's recipes are its own, polled through its routes.
        let recipes = running.simulator.customer_ledger(*id).unwrap();
        assert_eq!(
            s.find("workato_recipe_running", &[("workspace", &workspace)]).len(),
            recipes.len(),
            "{workspace}"
        );
    }
    assert_eq!(
        s.value("workato_exporter_embedded_customers", &[("embedded", "partner")]),
        3.0
    );
    assert_eq!(s.value("workato_exporter_embedded_up", &[("embedded", "partner")]), 1.0);
    // The admin workspace's own calls are counted under its name, not a
    // customer's.
    let listings = &[
        ("code", "200"),
        ("embedded", "partner"),
        ("endpoint", "GET /api/managed_users"),
    ];
    assert!(s.value("workato_exporter_embedded_requests_total", listings) >= 1.0);
    assert!(
        s.find("workato_api_requests_total", &[("endpoint", "GET /api/managed_users")])
            .is_empty(),
        "listing customers is no customer's request"
    );
    // workato_workspace_info with two label sets in one family, checked by
    // parsers nobody here wrote.
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    promtool_check(&text);
    let open_metrics = reqwest::Client::new()
        .get(format!("{base}/metrics"))
        .header("Accept", "application/openmetrics-text; version=1.0.0")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(parse_openmetrics(&open_metrics).contains("family workato_customer_tasks gauge"));

    // Nothing completes while the simulator's clock stands still: the usage
    // statistics say so, and the quiet customers' recipes sweeps wait.
    let key = [("embedded", "partner")];
    until(&base, "sweeps left out for quiet customers", |s| {
        s.has("workato_exporter_embedded_sweeps_skipped_total", &key)
            && s.value("workato_exporter_embedded_sweeps_skipped_total", &key) > 0.0
    })
    .await;
    let stats = running.simulator.stats();
    assert!(stats["embedded"]["requests"]["usage"].as_u64().unwrap() > 0, "{stats}");

    // Every job completed from now on is counted once, in its customer.
    let baselines: Vec<HashMap<u64, u64>> = ids.iter().map(|id| ledger(&running, *id)).collect();
    running.simulator.advance(120);
    let exact = |s: &Samples| {
        ids.iter()
            .zip(&baselines)
            .all(|(id, baseline)| counted(s, &label(*id)) == completed(&running, *id, baseline))
    };
    let s = until(&base, "each customer counts what it completed", exact).await;
    let total: f64 = ids
        .iter()
        .map(|id| counted(&s, &label(*id)).values().sum::<f64>())
        .sum();
    assert!(total > 0.0, "jobs completed in the customers");

    // A customer that leaves is dropped at the next listing; the others
    // keep counting.
    let (gone, stay) = (ids[0], &ids[1..]);
    running.simulator.set_customer_departed(gone, true);
    let s = until(&base, "the departed customer's series gone", |s| {
        !customers_in(s).contains(&label(gone))
    })
    .await;
    assert!(
        s.find("workato_recipe_running", &[("workspace", &label(gone))])
            .is_empty()
    );
    assert_eq!(
        s.value("workato_exporter_embedded_customers", &[("embedded", "partner")]),
        2.0
    );
    let baselines: Vec<HashMap<u64, u64>> = stay.iter().map(|id| ledger(&running, *id)).collect();
    let before: Vec<HashMap<u64, f64>> = stay.iter().map(|id| counted(&s, &label(*id))).collect();
    running.simulator.advance(60);
    until(&base, "the others count on, each job once", |s| {
        stay.iter()
            .zip(&baselines)
            .zip(&before)
            .all(|((id, baseline), before)| {
                let mut now = counted(s, &label(*id));
                for (recipe, n) in before {
                    *now.entry(*recipe).or_default() -= n;
                }
                now.retain(|_, n| *n != 0.0);
                now == completed(&running, *id, baseline)
            })
    })
    .await;
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn customers_chosen_by_id_and_external_id_and_split_across_shards() {
    let running = partner(6).await;
    let ids = running.simulator.customer_ids();
    let records = records(&running).await;
    // Chosen: the first by id, the second by its external id (if it has one).
    let second = &records[&ids[1]];
    let chosen = match second["external_id"].as_str() {
        Some(external) => format!("[{}, {:?}]", ids[0], external),
        None => format!("[{}, {}]", ids[0], ids[1]),
    };
    let files = Files::new("embedded-chosen");
    write_config(&files, &running.base_url(), &chosen);
    let exporter = run(&files.config_file(), &[]).await;
    let s = until(&exporter.base, "the two chosen customers", |s| {
        customers_in(s).len() == 2
    })
    .await;
    assert_eq!(customers_in(&s), BTreeSet::from([label(ids[0]), label(ids[1])]));
    exporter.stop().await;

    // Three replicas: each customer watched by exactly one.
    write_config(&files, &running.base_url(), "all");
    let mut union = BTreeSet::new();
    let mut watched = 0;
    for index in 0..3 {
        let shard = index.to_string();
        let exporter = run(&files.config_file(), &["--shard.count", "3", "--shard.index", &shard]).await;
        // The listing's count is published before its customers' series
        // (each customer's workspace starts after the listing): wait for both.
        let s = until(&exporter.base, "the shard's first listing and its customers", |s| {
            s.has("workato_exporter_embedded_up", &[("embedded", "partner")])
                && s.value("workato_exporter_embedded_customers", &[("embedded", "partner")])
                    == customers_in(s).len() as f64
        })
        .await;
        let mine = customers_in(&s);
        watched += mine.len();
        union.extend(mine);
        exporter.stop().await;
    }
    let all: BTreeSet<String> = ids.iter().map(|id| label(*id)).collect();
    assert_eq!(union, all, "every customer watched by some shard");
    assert_eq!(watched, all.len(), "and by one only");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partner_whose_customers_cannot_be_listed_is_ready_and_says_so() {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(500).set_body_json(serde_json::json!({"message": "down"})))
        .mount(&server)
        .await;
    let files = Files::new("embedded-down");
    write_config(&files, &server.uri(), "all");
    let exporter = run(&files.config_file(), &[]).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{}/readyz", exporter.base))
        .await
        .unwrap()
        .status()
        != 200
    {
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let s = samples(&exporter.base).await;
    assert_eq!(s.value("workato_exporter_embedded_up", &[("embedded", "partner")]), 0.0);
    assert_eq!(
        s.value("workato_exporter_embedded_customers", &[("embedded", "partner")]),
        0.0
    );
    assert!(customers_in(&s).is_empty());
    exporter.stop().await;
}

/// A partner server that misbehaves as Workato might: `page` ignored on the
/// customers list (the same two customers on every page), usage statistics
/// in a shape nobody documented, and empty customer workspaces.
async fn odd_partner() -> wiremock::MockServer {
    use wiremock::matchers::{method, path, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let customers = serde_json::json!({"result": [
        {"id": 1, "name": "One", "external_id": "E1"},
        {"id": 2, "name": "Two", "external_id": null}
    ]});
    Mock::given(method("GET"))
        .and(path("/api/managed_users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(customers))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/managed_users/statistics/usage"))
        // Items without job counts: not "no jobs", so nobody is quiet.
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"result": [{"workspace_id": 1, "task_count": 3}, {"workspace_id": 2}]}),
            ),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/api/managed_users/\d+/properties$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"result": {}})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/api/managed_users/\d+/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"result": []})))
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_that_ignores_paging_ends_and_unreadable_usage_sweeps_everyone() {
    let server = odd_partner().await;
    let files = Files::new("embedded-odd");
    write_config(&files, &server.uri(), "all");
    let exporter = run(&files.config_file(), &[]).await;
    let base = exporter.base.clone();
    let key = [("embedded", "partner")];
    until(&base, "both customers watched and polled", |s| {
        customers_in(s) == BTreeSet::from([label(1), label(2)])
            && s.value("workato_up", &[("workspace", "partner/1")]) == 1.0
    })
    .await;
    // Several poll intervals (1 s) later: every customer still swept every
    // poll, since the usage statistics gave no job counts.
    let recipe_calls = |requests: &[wiremock::Request]| {
        requests
            .iter()
            .filter(|r| r.url.path() == "/api/managed_users/1/recipes")
            .count()
    };
    let before = recipe_calls(&server.received_requests().await.unwrap());
    tokio::time::sleep(Duration::from_secs(4)).await;
    let requests = server.received_requests().await.unwrap();
    assert!(recipe_calls(&requests) >= before + 2, "customer 1 swept every poll");
    let s = samples(&base).await;
    assert_eq!(s.value("workato_exporter_embedded_sweeps_skipped_total", &key), 0.0);
    assert_eq!(s.value("workato_exporter_embedded_customers", &key), 2.0);
    // The customers list was not walked forever: a page with no customer
    // not seen before ends it.
    let listings = requests.iter().filter(|r| r.url.path() == "/api/managed_users").count();
    assert!(listings <= 2 * 8, "{listings} listing calls in ~5 listings");
    let info = s.find("workato_workspace_info", &[("workspace", "partner/2")]);
    assert_eq!(info[0].labels["external_id"], "", "no external id: an empty label");
    exporter.stop().await;
}
