//! The v1 catalogue on /metrics: names, types, labels, values, escaping,
//! and a golden exposition of the fixture workspace.

use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{ListPages, Samples, TestApp, fixtures_dir};

/// A generated workspace: 250 recipes (three pages), 40 connections,
/// 3 collections and 150 endpoints (two pages), every field varied.
struct Generated {
    recipes: Vec<Value>,
    connections: Vec<Value>,
    collections: Vec<Value>,
    endpoints: Vec<Value>,
}

fn generated() -> Generated {
    let statuses = [json!("success"), json!("failed"), json!("exception"), Value::Null];
    let causes = [
        Value::Null,
        json!("trigger_errors_limit"),
        json!("txn_quota_limit"),
        json!("action_quota_limit"),
        json!("trial_expired"),
    ];
    let recipes = (0..250u64)
        .rev()
        .map(|i| {
            let id = 5000 + i;
            json!({
                "id": id,
                "name": format!("Recipe {i} \"q\" \\ é"),
                "folder_id": 100 + i % 7,
                "project_id": if i % 2 == 0 { json!(i % 5) } else { json!(format!("{}", i % 5)) },
                "running": i % 3 != 0,
                "stop_cause": causes[(i % 5) as usize],
                "trigger_application": format!("app{}", i % 4),
                "version_no": i % 9 + 1,
                "job_succeeded_count": i * 31,
                "job_failed_count": i * 3 % 17,
                "lifetime_task_count": i * 101,
                "last_run_at": if i % 10 == 0 { Value::Null } else { json!(format!("2026-11-2{}T10:00:{:02}.250Z", i % 10, i % 60)) },
                "stopped_at": if i % 3 == 0 { json!("2026-11-20T09:00:00.000-08:00") } else { Value::Null },
                "config": [{"keyword": "application", "account_id": 9000 + i % 40}, {"keyword": "application", "account_id": 9000 + (i + 1) % 40}],
            })
        })
        .collect();
    let connections = (0..40u64)
        .map(|i| {
            json!({
                "id": 9000 + i,
                "name": format!("Conn {i}"),
                "application": format!("app{}", i % 4),
                "folder_id": 100 + i % 7,
                "authorization_status": statuses[(i % 4) as usize],
                "connection_lost_at": if i % 4 == 1 { json!("2026-11-21T04:00:00.500Z") } else { Value::Null },
            })
        })
        .collect();
    let collections = (0..3u64)
        .map(|i| json!({"id": 70 + i, "name": format!("Collection {i}"), "version": format!("{i}.0")}))
        .collect();
    let endpoints = (0..150u64)
        .map(|i| {
            let method = ["GET", "POST", "PUT"][(i % 3) as usize];
            json!({
                "id": 800 + i,
                "api_collection_id": 70 + i % 3,
                "flow_id": 5000 + i,
                "name": format!("Endpoint {i}"),
                "method": method,
                "path": format!("items/{i}"),
                "active": i % 4 != 0,
            })
        })
        .collect();
    Generated {
        recipes,
        connections,
        collections,
        endpoints,
    }
}

async fn mount_generated(server: &MockServer, g: &Generated) {
    Mock::given(method("GET"))
        .and(path("/api/users/me"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": 1, "name": "Generated", "plan_id": "enterprise"})),
        )
        .mount(server)
        .await;
    let pages: Vec<&[Value]> = g.recipes.chunks(100).collect();
    for (i, page) in pages.iter().enumerate() {
        let mock = Mock::given(method("GET")).and(path("/api/recipes"));
        let mock = if i == 0 {
            mock.and(query_param_is_missing("since_id"))
        } else {
            let since = pages[i - 1].last().unwrap()["id"].to_string();
            mock.and(query_param("since_id", since.as_str()))
        };
        mock.respond_with(ResponseTemplate::new(200).set_body_json(json!({ "items": page })))
            .expect(1)
            .mount(server)
            .await;
    }
    let oldest = g.recipes.last().unwrap()["id"].to_string();
    Mock::given(method("GET"))
        .and(path("/api/recipes"))
        .and(query_param("since_id", oldest.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "items": [] })))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/connections"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&g.connections))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/api_collections"))
        .respond_with(ListPages::new(json!(g.collections), 100))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex(r"^/api/recipes/\d+/jobs$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": []})))
        .mount(server)
        .await;
    // Every page once, and the empty one after.
    Mock::given(method("GET"))
        .and(path("/api/api_endpoints"))
        .respond_with(ListPages::new(json!(g.endpoints), 100))
        .expect(g.endpoints.len().div_ceil(100) as u64 + 1)
        .mount(server)
        .await;
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn unix(v: &Value) -> Option<f64> {
    let t = chrono::DateTime::parse_from_rfc3339(v.as_str()?).ok()?;
    Some(t.timestamp_millis() as f64 / 1000.0)
}

#[tokio::test]
async fn after_one_poll_every_series_has_the_sources_value() {
    let server = MockServer::start().await;
    let g = generated();
    mount_generated(&server, &g).await;
    let app = TestApp::spawn(&server).await;
    assert!(app.poll_all().await.is_empty());
    let s = app.samples().await;
    server.verify().await;

    assert_eq!(s.find("workato_recipe_running", &[]).len(), 250);
    for r in &g.recipes {
        let id = r["id"].to_string();
        let name = r["name"].as_str().unwrap();
        let labels = [("recipe_id", id.as_str()), ("recipe", name), ("workspace", "acme")];
        let running = r["running"].as_bool().unwrap();
        assert_eq!(
            s.value("workato_recipe_running", &labels),
            if running { 1.0 } else { 0.0 }
        );
        assert_eq!(
            s.value("workato_recipe_jobs_succeeded_total", &labels),
            r["job_succeeded_count"].as_f64().unwrap()
        );
        assert_eq!(
            s.value("workato_recipe_jobs_failed_total", &labels),
            r["job_failed_count"].as_f64().unwrap()
        );
        assert_eq!(
            s.value("workato_recipe_tasks_total", &labels),
            r["lifetime_task_count"].as_f64().unwrap()
        );
        match unix(&r["last_run_at"]) {
            Some(t) => assert_eq!(s.value("workato_recipe_last_run_timestamp_seconds", &labels), t),
            None => assert!(!s.has("workato_recipe_last_run_timestamp_seconds", &labels)),
        }
        match unix(&r["stopped_at"]) {
            Some(t) => assert_eq!(s.value("workato_recipe_stopped_timestamp_seconds", &labels), t),
            None => assert!(!s.has("workato_recipe_stopped_timestamp_seconds", &labels)),
        }
        let cause = r["stop_cause"].as_str().unwrap_or("manual");
        if running {
            assert!(!s.has("workato_recipe_stop_cause", &[("recipe_id", id.as_str())]));
        } else {
            assert_eq!(
                s.value(
                    "workato_recipe_stop_cause",
                    &[("recipe_id", id.as_str()), ("cause", cause)]
                ),
                1.0
            );
        }
        let info = [
            ("recipe_id", id.as_str()),
            ("recipe", name),
            ("folder_id", &text(&r["folder_id"])),
            ("project_id", &text(&r["project_id"])),
            ("trigger_application", &text(&r["trigger_application"])),
            ("version", &text(&r["version_no"])),
        ];
        assert_eq!(s.value("workato_recipe_info", &info), 1.0, "{id}");
    }

    for c in &g.connections {
        let id = c["id"].to_string();
        let labels = [
            ("connection_id", id.as_str()),
            ("connection", c["name"].as_str().unwrap()),
            ("application", c["application"].as_str().unwrap()),
        ];
        let status = c["authorization_status"].as_str().unwrap_or("none");
        assert_eq!(
            s.value("workato_connection_authorized", &labels),
            if status == "success" { 1.0 } else { 0.0 }
        );
        assert_eq!(
            s.value(
                "workato_connection_info",
                &[
                    ("connection_id", id.as_str()),
                    ("authorization_status", status),
                    ("folder_id", &text(&c["folder_id"]))
                ]
            ),
            1.0
        );
        match unix(&c["connection_lost_at"]) {
            Some(t) => assert_eq!(s.value("workato_connection_lost_timestamp_seconds", &labels), t),
            None => assert!(!s.has("workato_connection_lost_timestamp_seconds", &labels)),
        }
        let conn_id = c["id"].as_u64().unwrap();
        let running = g
            .recipes
            .iter()
            .filter(|r| r["running"].as_bool().unwrap())
            .filter(|r| {
                r["config"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["account_id"].as_u64() == Some(conn_id))
            })
            .count();
        assert_eq!(
            s.value("workato_connection_running_recipes", &labels),
            running as f64,
            "connection {id}"
        );
    }

    for c in &g.collections {
        assert_eq!(
            s.value(
                "workato_api_collection_info",
                &[
                    ("collection_id", &c["id"].to_string()),
                    ("collection", c["name"].as_str().unwrap()),
                    ("version", c["version"].as_str().unwrap())
                ]
            ),
            1.0
        );
    }
    assert_eq!(s.find("workato_api_endpoint_active", &[]).len(), 150);
    for e in &g.endpoints {
        let labels = [
            ("endpoint_id", e["id"].to_string()),
            ("endpoint", text(&e["name"])),
            ("collection_id", e["api_collection_id"].to_string()),
            ("method", text(&e["method"])),
            ("path", text(&e["path"])),
            ("recipe_id", e["flow_id"].to_string()),
        ];
        let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            s.value("workato_api_endpoint_active", &labels),
            if e["active"].as_bool().unwrap() { 1.0 } else { 0.0 }
        );
    }

    assert_eq!(
        s.value(
            "workato_workspace_info",
            &[("workspace_id", "1"), ("name", "Generated"), ("plan", "enterprise")]
        ),
        1.0
    );
    // Three recipe pages, one connections call, one collections page, two
    // endpoint pages, users/me; each paged walk ends on an empty page.
    assert_eq!(
        s.value(
            "workato_api_requests_total",
            &[("endpoint", "GET /api/recipes"), ("code", "200")]
        ),
        4.0
    );
    assert_eq!(
        s.value(
            "workato_api_requests_total",
            &[("endpoint", "GET /api/api_endpoints"), ("code", "200")]
        ),
        3.0
    );
    assert_eq!(
        s.value("workato_api_rate_limit_remaining", &[("group", "recipes")]),
        46.0
    );
    assert_eq!(
        s.value("workato_api_rate_limit_remaining", &[("group", "api_platform")]),
        45.0
    );
    // The recipes seen for the first time are baselined from the list: no
    // jobs call, the jobs budget untouched (it was 250 calibration calls,
    // a whole budget and four more minutes).
    assert_eq!(s.value("workato_api_rate_limit_remaining", &[("group", "jobs")]), 50.0);
    assert_eq!(
        server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path().ends_with("/jobs"))
            .count(),
        0
    );
}

#[tokio::test]
async fn label_values_escape_quotes_backslashes_newlines_and_keep_unicode() {
    let (_server, app) = TestApp::polled_fixture().await;
    let body = app.scrape().await;
    let expected = r#"recipe="Sync \"Salesforce\" accounts \\ to NetSuite\nnightly — Größe""#;
    assert!(body.contains(expected), "escaped name not found in:\n{body}");
    let s = Samples::parse(&body);
    assert_eq!(
        s.value(
            "workato_recipe_running",
            &[("recipe", "Sync \"Salesforce\" accounts \\ to NetSuite\nnightly — Größe")]
        ),
        1.0
    );
}

#[tokio::test]
async fn exposition_types_and_workspace_labels_follow_the_catalogue() {
    let (_server, app) = TestApp::polled_fixture().await;
    let body = app.scrape().await;
    for (name, kind) in [
        ("workato_up", "gauge"),
        ("workato_collector_up", "gauge"),
        ("workato_collector_last_success_timestamp_seconds", "gauge"),
        ("workato_collector_duration_seconds", "histogram"),
        ("workato_api_requests_total", "counter"),
        ("workato_api_request_duration_seconds", "histogram"),
        ("workato_api_rate_limit_remaining", "gauge"),
        ("workato_workspace_info", "gauge"),
        ("workato_exporter_build_info", "gauge"),
        ("workato_recipe_info", "gauge"),
        ("workato_recipe_running", "gauge"),
        ("workato_recipe_stop_cause", "gauge"),
        ("workato_recipe_jobs_succeeded_total", "counter"),
        ("workato_recipe_jobs_failed_total", "counter"),
        ("workato_recipe_tasks_total", "counter"),
        ("workato_recipe_last_run_timestamp_seconds", "gauge"),
        ("workato_recipe_stopped_timestamp_seconds", "gauge"),
        ("workato_connection_info", "gauge"),
        ("workato_connection_authorized", "gauge"),
        ("workato_connection_lost_timestamp_seconds", "gauge"),
        ("workato_connection_running_recipes", "gauge"),
        ("workato_api_collection_info", "gauge"),
        ("workato_api_endpoint_active", "gauge"),
    ] {
        assert!(
            body.contains(&format!("# TYPE {name} {kind}\n")),
            "{name} is not a {kind}"
        );
    }
    let s = Samples::parse(&body);
    for sample in s.0.iter().filter(|s| s.name.starts_with("workato_")) {
        let has_workspace = sample.labels.get("workspace").map(String::as_str) == Some("acme");
        assert_eq!(
            has_workspace,
            sample.name != "workato_exporter_build_info",
            "{sample:?}"
        );
    }
    assert_eq!(
        s.value(
            "workato_recipe_stop_cause",
            &[("recipe_id", "1913513"), ("cause", "manual")]
        ),
        1.0
    );
    assert_eq!(
        s.value(
            "workato_recipe_stop_cause",
            &[("recipe_id", "1913514"), ("cause", "trigger_errors_limit")]
        ),
        1.0
    );
    assert_eq!(
        s.value("workato_connection_running_recipes", &[("connection_id", "772461")]),
        1.0
    );
    assert_eq!(
        s.value("workato_connection_running_recipes", &[("connection_id", "772463")]),
        0.0,
        "its recipe is stopped"
    );
    assert_eq!(
        s.value("workato_exporter_build_info", &[("version", env!("CARGO_PKG_VERSION"))]),
        1.0
    );
    let build_info = s.find("workato_exporter_build_info", &[]);
    for label in ["revision", "build_date", "rustc_version", "target"] {
        assert!(
            build_info
                .iter()
                .all(|sample| sample.labels.get(label).is_some_and(|v| !v.is_empty())),
            "build_info lacks {label}: {build_info:?}"
        );
    }
    assert!(s.has("process_resident_memory_bytes", &[]));
}

/// Lines whose values change from run to run: timings, timestamps of our
/// own polls, process figures, the build revision.
fn deterministic(body: &str) -> String {
    let volatile = [
        "process_",
        "workato_api_request_duration_seconds",
        "workato_collector_duration_seconds",
        "workato_collector_last_success_timestamp_seconds",
        "workato_exporter_build_info",
    ];
    body.lines()
        .filter(|line| {
            let name = line
                .strip_prefix("# HELP ")
                .or_else(|| line.strip_prefix("# TYPE "))
                .unwrap_or(line);
            !volatile.iter().any(|v| name.starts_with(v))
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

#[tokio::test]
async fn metrics_of_the_fixture_workspace_match_the_golden_file() {
    let (_server, app) = TestApp::polled_fixture().await;
    let actual = deterministic(&app.scrape().await);
    let golden = fixtures_dir().join("metrics.golden");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &actual).expect("write golden file");
    }
    let expected = std::fs::read_to_string(&golden).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; run with UPDATE_GOLDEN=1 to create it",
            golden.display()
        )
    });
    if actual != expected {
        let first = actual.lines().zip(expected.lines()).position(|(a, e)| a != e);
        panic!(
            "/metrics differs from {} (first differing line {first:?}); rerun with UPDATE_GOLDEN=1 if the change is intended\n--- actual ---\n{actual}",
            golden.display()
        );
    }
}
