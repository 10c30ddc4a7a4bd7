//! The admin route against wiremock and the simulated workspace: auth,
//! each action's request and outcome, bad input, budget, audit.

use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};
use workato_sim::{self as sim, SimConfig};

use crate::helpers::{ADMIN_TOKEN, ListPages, TOKEN, TestApp, admin_config, fast_options, fixture, mount_workspace};

async fn admin_app(server: &MockServer, flags: &[&str]) -> TestApp {
    let app = TestApp::spawn_with(admin_config(&server.uri(), flags), fast_options()).await;
    mount_workspace(server).await;
    assert!(app.poll_all().await.is_empty());
    app
}

/// Sends an admin request; returns status, headers and JSON body.
async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<(&str, Vec<u8>)>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = reqwest::Client::new().request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some((content_type, bytes)) = body {
        request = request.header("content-type", content_type).body(bytes);
    }
    let response = request.send().await.expect("exporter answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

async fn admin(app: &TestApp, method: &str, path: &str) -> (u16, Value) {
    let (status, _, body) = send(app, method, path, Some(ADMIN_TOKEN), None).await;
    (status, body)
}

async fn post_properties(app: &TestApp, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let (status, _, body) = send(
        app,
        "POST",
        "/admin/properties",
        Some(ADMIN_TOKEN),
        Some((content_type, body)),
    )
    .await;
    (status, body)
}

fn recipe_with(running: bool) -> Value {
    let mut recipe = fixture("recipes.json")["items"][1].clone();
    recipe["running"] = json!(running);
    recipe["stop_cause"] = Value::Null;
    recipe
}

#[tokio::test]
async fn without_an_admin_token_every_admin_path_is_404() {
    let (_server, app) = TestApp::polled_fixture().await;
    for path in [
        "/admin",
        "/admin/recipes/1/start",
        "/admin/properties?prefix=",
        "/admin/nope",
    ] {
        let (status, body) = admin(&app, "GET", path).await;
        assert_eq!(
            (status, body),
            (404, json!({"message": "admin API disabled"})),
            "{path}"
        );
    }
}

#[tokio::test]
async fn no_request_without_the_admin_token_reaches_workato() {
    let server = MockServer::start().await;
    let app = admin_app(&server, &[]).await;
    let before = server.received_requests().await.unwrap().len();
    for verb in ["PUT", "POST"] {
        Mock::given(method(verb))
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/api/properties"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    for token in [None, Some("wrong-token-wrong-token"), Some(TOKEN)] {
        for (method, path) in [
            ("PUT", "/admin/recipes/1913514/start"),
            ("POST", "/admin/api-endpoints/9904/enable"),
            ("GET", "/admin/properties?prefix=a"),
            ("GET", "/admin"),
        ] {
            let (status, headers, body) = send(&app, method, path, token, None).await;
            assert_eq!(status, 401, "{method} {path} with {token:?}");
            assert_eq!(body, json!({"message": "Unauthorized"}));
            assert!(headers["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
        }
    }
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        before,
        "Workato was called without the admin token"
    );
    let s = app.samples().await;
    assert_eq!(
        s.value(
            "workato_admin_requests_total",
            &[("action", "recipe_start"), ("code", "401"), ("workspace", "acme")]
        ),
        3.0
    );
    assert!(
        s.find("workato_admin_requests_total", &[])
            .iter()
            .all(|x| x.labels.get("workspace").map(String::as_str) == Some("acme"))
    );
}

#[tokio::test]
async fn starting_a_stopped_recipe_shows_in_metrics_at_once() {
    let server = MockServer::start().await;
    let app = admin_app(&server, &[]).await;
    let running = |s: &crate::helpers::Samples| s.value("workato_recipe_running", &[("recipe_id", "1913514")]);
    assert_eq!(running(&app.samples().await), 0.0);
    Mock::given(method("PUT"))
        .and(path("/api/recipes/1913514/start"))
        .and(wiremock::matchers::header(
            "authorization",
            format!("Bearer {TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/recipes/1913514"))
        .respond_with(ResponseTemplate::new(200).set_body_json(recipe_with(true)))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        admin(&app, "PUT", "/admin/recipes/1913514/start").await,
        (200, json!({"success": true}))
    );
    server.verify().await;
    let s = app.samples().await;
    assert_eq!(running(&s), 1.0, "no need to wait for the next sweep");
    assert!(!s.has("workato_recipe_stop_cause", &[("recipe_id", "1913514")]));
    assert_eq!(
        s.value(
            "workato_admin_requests_total",
            &[("action", "recipe_start"), ("code", "200")]
        ),
        1.0
    );

    server.reset().await;
    Mock::given(method("PUT"))
        .and(path("/api/recipes/1913514/stop"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/recipes/1913514"))
        .respond_with(ResponseTemplate::new(200).set_body_json(recipe_with(false)))
        .mount(&server)
        .await;
    assert_eq!(
        admin(&app, "POST", "/admin/recipes/1913514/stop").await.0,
        200,
        "POST works as well as PUT"
    );
    assert_eq!(running(&app.samples().await), 0.0);
}

#[tokio::test]
async fn a_recipe_re_read_by_the_admin_route_never_takes_a_counter_back() {
    let server = MockServer::start().await;
    let app = admin_app(&server, &[]).await;
    let succeeded =
        |s: &crate::helpers::Samples| s.value("workato_recipe_jobs_succeeded_total", &[("recipe_id", "1913514")]);
    assert_eq!(succeeded(&app.samples().await), 120.0);
    // The single-recipe read lags the sweep: its counter reads lower.
    let mut lagging = recipe_with(true);
    lagging["job_succeeded_count"] = json!(100);
    Mock::given(method("PUT"))
        .and(path("/api/recipes/1913514/start"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/recipes/1913514"))
        .respond_with(ResponseTemplate::new(200).set_body_json(lagging))
        .mount(&server)
        .await;
    assert_eq!(admin(&app, "PUT", "/admin/recipes/1913514/start").await.0, 200);
    let s = app.samples().await;
    assert_eq!(s.value("workato_recipe_running", &[("recipe_id", "1913514")]), 1.0);
    assert_eq!(succeeded(&s), 120.0, "a counter never goes back");
    assert_eq!(s.value("workato_recipe_lifetime_decreases_total", &[]), 1.0);
}

#[tokio::test]
async fn a_refused_start_is_409_with_workatos_errors_unchanged() {
    let server = MockServer::start().await;
    let app = admin_app(&server, &[]).await;
    let refusal = json!({
        "success": false,
        "code_errors": [[2, [["Issue key", null, "can't be blank", "issue_key"]]]],
        "config_errors": [["jira", "Connection is not authorized"]],
    });
    Mock::given(method("PUT"))
        .and(path("/api/recipes/1913513/start"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&refusal))
        .expect(1)
        .mount(&server)
        .await;
    let (status, body) = admin(&app, "PUT", "/admin/recipes/1913513/start").await;
    assert_eq!(status, 409);
    assert_eq!(body["code_errors"], refusal["code_errors"]);
    assert_eq!(body["config_errors"], refusal["config_errors"]);
    assert_eq!(body["success"], false);
    assert!(body["message"].as_str().unwrap().contains("1913513"));
}

#[tokio::test]
async fn workato_errors_pass_through_and_its_5xx_become_502() {
    let server = MockServer::start().await;
    let app = admin_app(&server, &[]).await;
    Mock::given(method("PUT"))
        .and(path("/api/recipes/42/start"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not found"})))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/api/recipes/43/stop"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"message": "Recipe is already stopped"})))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/api/recipes/44/stop"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"message": "Server error", "id": "x"})))
        .mount(&server)
        .await;
    assert_eq!(
        admin(&app, "PUT", "/admin/recipes/42/start").await,
        (404, json!({"message": "Not found"}))
    );
    assert_eq!(
        admin(&app, "PUT", "/admin/recipes/43/stop").await,
        (400, json!({"message": "Recipe is already stopped"}))
    );
    let (status, body) = admin(&app, "PUT", "/admin/recipes/44/stop").await;
    assert_eq!(status, 502);
    assert!(body["message"].as_str().unwrap().contains("500"), "{body}");
}

#[tokio::test]
async fn endpoints_enable_and_disable_with_their_series_refreshed() {
    let server = MockServer::start().await;
    let app = admin_app(&server, &[]).await;
    let active = |s: &crate::helpers::Samples| s.value("workato_api_endpoint_active", &[("endpoint_id", "9904")]);
    assert_eq!(active(&app.samples().await), 0.0);
    Mock::given(method("PUT"))
        .and(path("/api/api_endpoints/9904/enable"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(1)
        .mount(&server)
        .await;
    let mut endpoints = fixture("api_endpoints.json");
    endpoints[1]["active"] = json!(true);
    let collection: Vec<Value> = endpoints
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["api_collection_id"] == 1361)
        .cloned()
        .collect();
    Mock::given(method("GET"))
        .and(path("/api/api_endpoints"))
        .and(query_param("api_collection_id", "1361"))
        .respond_with(ListPages::new(json!(collection), 100))
        .with_priority(1)
        .expect(2)
        .mount(&server)
        .await;
    assert_eq!(
        admin(&app, "PUT", "/admin/api-endpoints/9904/enable").await,
        (200, json!({"success": true}))
    );
    server.verify().await;
    assert_eq!(active(&app.samples().await), 1.0);
}

#[tokio::test]
async fn properties_round_trip_and_bad_input_never_reaches_workato() {
    let server = MockServer::start().await;
    let app = admin_app(&server, &[]).await;
    Mock::given(method("GET"))
        .and(path("/api/properties"))
        .and(query_param("prefix", "team."))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"team.name": "ops"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/properties"))
        .and(body_json(json!({"properties": {"team.name": "ops", "team.size": "4"}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        admin(&app, "GET", "/admin/properties?prefix=team.").await,
        (200, json!({"team.name": "ops"}))
    );
    let good = serde_json::to_vec(&json!({"properties": {"team.name": "ops", "team.size": "4"}})).unwrap();
    assert_eq!(
        post_properties(&app, "application/json; charset=utf-8", good).await,
        (200, json!({"success": true}))
    );

    let (status, body) = admin(&app, "GET", "/admin/properties").await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("prefix"));
    let (status, body) = post_properties(&app, "text/plain", b"{}".to_vec()).await;
    assert_eq!(status, 415);
    assert!(body["message"].as_str().unwrap().contains("application/json"));
    let (status, body) = post_properties(&app, "application/json", b"{\"properties\": {\"a\": }".to_vec()).await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("line 1 column"),
        "says where: {body}"
    );
    let (status, body) = post_properties(&app, "application/json", vec![b' '; 70 * 1024]).await;
    assert_eq!(status, 413, "{body}");
    for (bad, needle) in [
        (json!({"properties": {"a": 1}}), "must be a string"),
        (json!({"properties": {"n".repeat(101): "x"}}), "1 to 100"),
        (json!({"properties": {"v": "x".repeat(1025)}}), "at most 1024"),
        (json!({"props": {}}), "must be {"),
    ] {
        let (status, body) = post_properties(&app, "application/json", serde_json::to_vec(&bad).unwrap()).await;
        assert_eq!(status, 400, "{bad}");
        assert!(
            body["message"].as_str().unwrap().contains(needle),
            "{body} lacks {needle}"
        );
    }
    server.verify().await;
}

#[tokio::test]
async fn ids_methods_and_routes_are_checked() {
    let server = MockServer::start().await;
    let app = admin_app(&server, &[]).await;
    let before = server.received_requests().await.unwrap().len();
    let (status, body) = admin(&app, "PUT", "/admin/recipes/abc/start").await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("\"abc\""));
    assert_eq!(admin(&app, "GET", "/admin/recipes/1/start").await.0, 405);
    assert_eq!(admin(&app, "DELETE", "/admin/properties").await.0, 405);
    assert_eq!(admin(&app, "GET", "/admin/recipes").await.0, 404);
    let (status, index) = admin(&app, "GET", "/admin").await;
    assert_eq!(status, 200);
    assert_eq!(index["writes_allowed"], true);
    assert_eq!(index["routes"].as_array().unwrap().len(), 7);
    assert_eq!(server.received_requests().await.unwrap().len(), before);
}

#[tokio::test]
async fn read_only_mode_refuses_writes_and_allows_reads() {
    let server = MockServer::start().await;
    let app = admin_app(&server, &["--admin.read-only"]).await;
    Mock::given(method("GET"))
        .and(path("/api/properties"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    for path in [
        "/admin/recipes/1913514/start",
        "/admin/recipes/1913515/stop",
        "/admin/api-endpoints/9903/disable",
    ] {
        let (status, body) = admin(&app, "PUT", path).await;
        assert_eq!(status, 403, "{path}");
        assert!(body["message"].as_str().unwrap().contains("read-only"));
    }
    assert_eq!(
        post_properties(&app, "application/json", b"{\"properties\":{\"a\":\"b\"}}".to_vec())
            .await
            .0,
        403
    );
    assert_eq!(admin(&app, "GET", "/admin/properties?prefix=").await.0, 200);
    assert_eq!(admin(&app, "GET", "/admin").await.1["writes_allowed"], false);
    server.verify().await;
}

#[tokio::test]
async fn an_exhausted_budget_answers_429_with_retry_after_instead_of_waiting() {
    let server = MockServer::start().await;
    // No poll here: with one request a minute it would take minutes.
    let app = TestApp::spawn_with(
        admin_config(&server.uri(), &["--workato.requests-per-minute", "1"]),
        fast_options(),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/api/properties"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(admin(&app, "GET", "/admin/properties?prefix=").await.0, 200);
    let started = std::time::Instant::now();
    let (status, headers, body) = send(&app, "GET", "/admin/properties?prefix=", Some(ADMIN_TOKEN), None).await;
    assert_eq!(status, 429, "{body}");
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((50..=60).contains(&retry_after), "{retry_after}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "the caller is not held"
    );
    server.verify().await;
}

#[tokio::test]
async fn the_admin_route_can_have_its_own_listener() {
    let server = MockServer::start().await;
    let address = format!("127.0.0.1:{}", crate::helpers::free_port());
    let config = admin_config(&server.uri(), &["--admin.listen-address", &address]);
    let app = workato_exporter::App::with_client_options(config, fast_options()).unwrap();
    let main = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let main_address = main.local_addr().unwrap();
    let admin_listener = tokio::net::TcpListener::bind(&address).await.unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    tokio::spawn(app.run(main, Some(admin_listener), shutdown.clone()));
    let client = reqwest::Client::new();
    let on_main = client
        .get(format!("http://{main_address}/admin"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(on_main.status(), 404);
    let on_own = client
        .get(format!("http://{address}/admin"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(on_own.status(), 200);
    let metrics_there = client.get(format!("http://{address}/metrics")).send().await.unwrap();
    assert_eq!(metrics_there.status(), 404, "the admin listener serves only /admin");
    shutdown.cancel();
}

#[tokio::test]
async fn against_the_demo_workspace_a_stop_and_a_start_change_its_state() {
    let running = sim::spawn(SimConfig {
        incidents: false,
        token: Some(TOKEN.to_string()),
        ..SimConfig::demo()
    })
    .await
    .unwrap();
    let app = TestApp::spawn_with(admin_config(&running.base_url(), &[]), fast_options()).await;
    assert!(app.poll_all().await.is_empty());
    let s = app.samples().await;
    let live = s
        .find("workato_recipe_running", &[])
        .into_iter()
        .find(|x| x.value == 1.0)
        .unwrap()
        .labels["recipe_id"]
        .clone();
    let draft = s
        .find("workato_recipe_running", &[])
        .into_iter()
        .find(|x| x.labels["recipe"].starts_with("Draft"))
        .unwrap()
        .labels["recipe_id"]
        .clone();

    assert_eq!(admin(&app, "PUT", &format!("/admin/recipes/{live}/stop")).await.0, 200);
    let s = app.samples().await;
    assert_eq!(s.value("workato_recipe_running", &[("recipe_id", &live)]), 0.0);
    assert_eq!(
        s.value(
            "workato_recipe_stop_cause",
            &[("recipe_id", &live), ("cause", "manual")]
        ),
        1.0
    );
    assert_eq!(admin(&app, "PUT", &format!("/admin/recipes/{live}/start")).await.0, 200);
    assert_eq!(
        app.samples()
            .await
            .value("workato_recipe_running", &[("recipe_id", &live)]),
        1.0
    );

    let (status, body) = admin(&app, "PUT", &format!("/admin/recipes/{draft}/start")).await;
    assert_eq!(status, 409);
    assert!(!body["code_errors"].as_array().unwrap().is_empty());

    let upsert = serde_json::to_vec(&json!({"properties": {"demo.flag": "on"}})).unwrap();
    assert_eq!(post_properties(&app, "application/json", upsert).await.0, 200);
    assert_eq!(
        admin(&app, "GET", "/admin/properties?prefix=demo.flag").await,
        (200, json!({"demo.flag": "on"}))
    );
}
