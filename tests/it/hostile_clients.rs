//! What a hostile Workato or hostile HTTP clients send cannot bloat the
//! exposition, take every file descriptor, wedge the admin route or write
//! on the status page (issue 11, items 7, 11, 12 and 13).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use workato_exporter::config::Config;
use workato_exporter::snapshot::Collector;

use crate::helpers::{
    ADMIN_TOKEN, ListPages, Samples, TOKEN, TestApp, admin_config, config_with, fast_options, fixture, free_port,
    mount_workspace, wait_for,
};

/// A mebibyte.
const MIB: usize = 1 << 20;

/// Writes a raw HTTP/1.1 request on `stream`.
async fn write_request(stream: &mut TcpStream, request_line: &str, headers: &[&str], body: &[u8]) {
    let mut head = format!("{request_line} HTTP/1.1\r\nHost: exporter\r\n");
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("request written");
    stream.write_all(body).await.expect("body written");
}

/// Reads one response with a Content-Length from a kept-alive connection.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).await.expect("response") > 0,
            "closed: {head}"
        );
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().expect("a length");
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.expect("body");
    head + &String::from_utf8_lossy(&body)
}

// Item 7: label-size amplification.

#[tokio::test]
async fn megabyte_names_from_workato_cost_at_most_256_bytes_per_label() {
    let server = MockServer::start().await;
    // A quote and a backslash to escape, then two-byte characters so that
    // byte 253, where the cut falls, is inside one; the names differ only
    // a mebibyte in, far past the cut.
    let name = |i: usize| format!("ab\"\\{}{i}", "é".repeat(MIB / 2));
    let mut recipes = Vec::new();
    for i in 0..4 {
        let mut recipe = fixture("recipes.json")["items"][0].clone();
        recipe["id"] = json!(1000 + i);
        recipe["name"] = json!(name(i));
        recipe["trigger_application"] = json!("t".repeat(MIB));
        recipes.push(recipe);
    }
    // The list an hour earlier, before their newest jobs started: the
    // recipes' baselines. One recipe a page (and the empty page after):
    // no reply is much over a mebibyte.
    let mut earlier = recipes.clone();
    for recipe in &mut earlier {
        recipe["last_job_started_at"] = json!("2026-11-22T22:40:12.500Z");
    }
    Mock::given(method("GET"))
        .and(path("/api/recipes"))
        .respond_with(ListPages::new(json!({ "items": earlier }), 1))
        .with_priority(1)
        .up_to_n_times(5)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/recipes"))
        .respond_with(ListPages::new(json!({ "items": recipes }), 1))
        .mount(&server)
        .await;
    let mut me = fixture("users_me.json");
    me["name"] = json!("w".repeat(MIB));
    Mock::given(method("GET"))
        .and(path("/api/users/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(me))
        .mount(&server)
        .await;
    mount_workspace(&server).await;
    let app = TestApp::spawn(&server).await;
    assert!(app.poll_all().await.is_empty());
    // The recipes moved: their jobs are read, and they get job series.
    for collector in [Collector::Recipes, Collector::Jobs] {
        app.poller.poll_once(collector).await.expect("the second poll");
    }

    let bytes = app.get("/metrics").await.bytes().await.unwrap();
    assert!(
        bytes.len() < MIB,
        "{} bytes of exposition for 4 recipes (4 MiB of names and 4 MiB of trigger application)",
        bytes.len()
    );
    let text = String::from_utf8(bytes.to_vec()).expect("the exposition is UTF-8");
    let samples = Samples::parse(&text);
    let cut = format!("ab\"\\{}…", "é".repeat(124));
    assert_eq!(cut.len(), 255, "cut before the character that byte 253 falls in");
    let running = samples.find("workato_recipe_running", &[]);
    assert_eq!(running.len(), 4, "one series per recipe");
    let mut ids: Vec<&str> = running.iter().map(|s| s.labels["recipe_id"].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 4, "the same cut name, still one series per recipe_id");
    for sample in samples.0.iter().filter(|s| s.labels.contains_key("recipe")) {
        assert_eq!(sample.labels["recipe"], cut, "{}", sample.name);
    }
    assert!(samples.has("workato_job_duration_seconds_count", &[("recipe", &cut)]));
    for sample in &samples.0 {
        for (label, value) in &sample.labels {
            assert!(
                value.len() <= 256,
                "{}{{{label}}} is {} bytes",
                sample.name,
                value.len()
            );
        }
    }
    let info = samples.find("workato_workspace_info", &[]);
    assert_eq!(info[0].labels["name"], format!("{}…", "w".repeat(253)));
}

// Item 11: file descriptors.

#[tokio::test]
async fn beyond_the_connection_limit_new_connections_wait_until_one_closes() {
    let server = MockServer::start().await;
    mount_workspace(&server).await;
    let config = config_with(&server.uri(), &["--web.max-connections", "4"]);
    let app = TestApp::spawn_with(config, fast_options()).await;
    // Four kept-alive connections, each answered once: all four are open.
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut stream = TcpStream::connect(app.address).await.unwrap();
        write_request(&mut stream, "GET /healthz", &[], b"").await;
        assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
        held.push(stream);
    }
    let mut waiting = TcpStream::connect(app.address).await.expect("the kernel queues it");
    write_request(&mut waiting, "GET /metrics", &["Connection: close"], b"").await;
    let mut first = [0u8; 1];
    assert!(
        tokio::time::timeout(Duration::from_millis(300), waiting.read(&mut first))
            .await
            .is_err(),
        "a fifth connection was served while four were open"
    );
    drop(held.pop());
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), waiting.read_to_end(&mut answer))
        .await
        .expect("served once a connection closed")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("workato_up"), "{answer}");
}

#[tokio::test]
async fn out_of_file_descriptors_the_exporter_says_so_once_and_serves_again_after() {
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    // Few descriptors and a connection limit above them: accepts fail.
    let mut child = tokio::process::Command::new("sh")
        .args(["-c", "ulimit -n 48 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_workato_exporter"))
        .args(["--web.listen-address", &address, "--web.max-connections", "1000"])
        .args(["--workato.base-url", "http://127.0.0.1:9", "--log.format", "json"])
        .env("WORKATO_API_TOKEN", TOKEN)
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("sh and the exporter run");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let collected = Arc::clone(&lines);
    tokio::spawn(async move {
        while let Ok(Some(line)) = stderr.next_line().await {
            collected.lock().unwrap().push(line);
        }
    });
    wait_for(
        &format!("http://{address}/healthz"),
        "the exporter",
        Duration::from_secs(10),
    )
    .await;
    let failures = || {
        lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("accepting a connection failed"))
            .count()
    };
    let mut flood = Vec::new();
    for _ in 0..100 {
        flood.push(TcpStream::connect(&address).await.expect("the kernel queues it"));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while failures() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no accept failed: {:?}",
            lines.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The flood stays a second: the old loop logged every 50 ms.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(failures(), 1, "{:#?}", lines.lock().unwrap());
    drop(flood);
    wait_for(
        &format!("http://{address}/metrics"),
        "/metrics after the flood",
        Duration::from_secs(10),
    )
    .await;
    child.kill().await.unwrap();
}

// Item 12: the admin route.

/// An exporter with the admin route, against a mock Workato holding the
/// fixture workspace; `adjust` changes its configuration first.
async fn admin_app(server: &MockServer, adjust: impl FnOnce(&mut Config)) -> TestApp {
    mount_workspace(server).await;
    let mut config = admin_config(&server.uri(), &[]);
    adjust(&mut config);
    // A patient client, as in production: only the admin deadline cuts.
    let options = workato_exporter::client::ClientOptions {
        timeout: Duration::from_secs(120),
        ..fast_options()
    };
    TestApp::spawn_with(config, options).await
}

/// Sends an admin request with the admin token; returns status and body.
async fn admin(app: &TestApp, verb: &str, path: &str, authorization: Option<String>) -> (u16, Value) {
    let verb = reqwest::Method::from_bytes(verb.as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let authorization = authorization.unwrap_or_else(|| format!("Bearer {ADMIN_TOKEN}"));
    let response = client
        .request(verb, app.url(path))
        .header("authorization", authorization)
        .send()
        .await
        .expect("the admin route answers within 30 s");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("HTTP {status} without JSON: {text:?}"));
    (status, body)
}

fn message(body: &Value) -> &str {
    body["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message in {body}"))
}

#[tokio::test]
async fn admin_ids_are_plain_digits_only() {
    let server = MockServer::start().await;
    let app = admin_app(&server, |_| {}).await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(0)
        .mount(&server)
        .await;
    for id in ["+5", "%205", "5%20", "05", "0", "%2B5", "-5", "99999999999999999999"] {
        let (status, body) = admin(&app, "PUT", &format!("/admin/recipes/{id}/stop"), None).await;
        assert_eq!(status, 400, "{id}: {body}");
        assert!(message(&body).contains("plain digits"), "{body}");
    }
    server.verify().await;
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let server = MockServer::start().await;
    let app = admin_app(&server, |_| {}).await;
    for scheme in ["bearer", "BEARER", "Bearer", "bEaReR"] {
        let (status, body) = admin(&app, "GET", "/admin", Some(format!("{scheme} {ADMIN_TOKEN}"))).await;
        assert_eq!(status, 200, "{scheme}: {body}");
    }
    for refused in [
        format!("Bearer{ADMIN_TOKEN}"),
        format!("Basic {ADMIN_TOKEN}"),
        format!("Bearers {ADMIN_TOKEN}"),
        "Bearer".to_string(),
    ] {
        assert_eq!(
            admin(&app, "GET", "/admin", Some(refused.clone())).await.0,
            401,
            "{refused}"
        );
    }
}

#[tokio::test]
async fn an_admin_call_workato_never_answers_ends_with_504_at_the_deadline() {
    let server = MockServer::start().await;
    let app = admin_app(&server, |config| {
        config.admin.as_mut().unwrap().deadline = Duration::from_millis(500);
    })
    .await;
    for (verb, route) in [("PUT", "/api/recipes/1913514/stop"), ("GET", "/api/properties")] {
        Mock::given(method(verb))
            .and(path(route))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(600)))
            .mount(&server)
            .await;
    }
    let (status, body) = admin(&app, "PUT", "/admin/recipes/1913514/stop", None).await;
    assert_eq!(status, 504, "{body}");
    assert!(message(&body).contains("may or may not have taken effect"), "{body}");
    let (status, body) = admin(&app, "GET", "/admin/properties?prefix=", None).await;
    assert_eq!(status, 504, "{body}");
}

#[tokio::test]
async fn a_403_names_the_privilege_of_the_action() {
    let server = MockServer::start().await;
    let app = admin_app(&server, |_| {}).await;
    for (verb, route) in [
        ("PUT", "/api/recipes/1913514/stop"),
        ("PUT", "/api/api_endpoints/9904/disable"),
        ("POST", "/api/properties"),
    ] {
        Mock::given(method(verb))
            .and(path(route))
            .respond_with(ResponseTemplate::new(403).set_body_json(json!({"message": "Forbidden"})))
            .mount(&server)
            .await;
    }
    let (status, body) = admin(&app, "PUT", "/admin/recipes/1913514/stop", None).await;
    assert_eq!(status, 403);
    assert!(
        message(&body).contains("Projects › Recipes › Start/stop recipes"),
        "{body}"
    );
    assert!(!message(&body).contains("List recipes"), "{body}");
    let (status, body) = admin(&app, "PUT", "/admin/api-endpoints/9904/disable", None).await;
    assert_eq!(status, 403);
    assert!(message(&body).contains("Enable/disable API endpoints"), "{body}");
    let response = reqwest::Client::new()
        .post(app.url("/admin/properties"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"properties": {"a": "b"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert!(message(&body).contains("Upsert project properties"), "{body}");
}

#[tokio::test]
async fn unexpected_workato_statuses_never_pass_through_without_a_body() {
    let server = MockServer::start().await;
    let app = admin_app(&server, |_| {}).await;
    let recipe = |id: u64, running: bool| {
        let mut recipe = fixture("recipes.json")["items"][1].clone();
        recipe["id"] = json!(id);
        recipe["running"] = json!(running);
        recipe
    };
    for (verb, route, status) in [
        ("PUT", "/api/recipes/61/start", 304),
        ("PUT", "/api/recipes/62/start", 302),
        ("PUT", "/api/recipes/63/start", 204),
        ("PUT", "/api/recipes/64/start", 204),
        ("GET", "/api/properties", 204),
    ] {
        Mock::given(method(verb))
            .and(path(route))
            .respond_with(ResponseTemplate::new(status))
            .mount(&server)
            .await;
    }
    // Recipe 63 runs after its 204, recipe 64 does not.
    for (id, running) in [(63, true), (64, false)] {
        Mock::given(method("GET"))
            .and(path(format!("/api/recipes/{id}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(recipe(id, running)))
            .mount(&server)
            .await;
    }
    for (id, upstream) in [(61, "304"), (62, "302")] {
        let (status, body) = admin(&app, "PUT", &format!("/admin/recipes/{id}/start"), None).await;
        assert_eq!(status, 502, "{body}");
        assert!(message(&body).contains(upstream), "{body}");
    }
    let (status, body) = admin(&app, "PUT", "/admin/recipes/63/start", None).await;
    assert_eq!(status, 200, "a 204, and the recipe runs: done ({body})");
    assert_eq!(body["success"], true);
    let (status, body) = admin(&app, "PUT", "/admin/recipes/64/start", None).await;
    assert_eq!(status, 502, "a 204, and the recipe does not run ({body})");
    assert!(message(&body).contains("malformed reply"), "{body}");
    let (status, body) = admin(&app, "GET", "/admin/properties?prefix=", None).await;
    assert_eq!(status, 502, "{body}");
    assert!(!message(&body).is_empty());
}

#[tokio::test]
async fn a_request_body_that_does_not_arrive_is_answered_408() {
    let server = MockServer::start().await;
    let app = admin_app(&server, |config| {
        config.admin.as_mut().unwrap().body_timeout = Duration::from_millis(300);
    })
    .await;
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    let authorization = format!("Authorization: Bearer {ADMIN_TOKEN}");
    write_request(
        &mut stream,
        "POST /admin/properties",
        &[&authorization, "Content-Type: application/json", "Content-Length: 100"],
        b"{\"properties\": {\"a\"",
    )
    .await;
    let answer = tokio::time::timeout(Duration::from_secs(20), read_response(&mut stream))
        .await
        .expect("answered while the body is still missing");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive"), "{answer}");
}

// Item 13: the status page and the telemetry path.

#[tokio::test]
async fn upstream_error_text_on_the_status_page_is_escaped_and_short() {
    let server = MockServer::start().await;
    let hostile = format!("<script>alert(1)</script>\u{202E}{}", "A".repeat(400));
    Mock::given(method("GET"))
        .and(path("/api/recipes"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "message": hostile })))
        .mount(&server)
        .await;
    let app = TestApp::spawn(&server).await;
    app.poll_once_failing(Collector::Recipes).await;
    let page = app.get("/").await.text().await.unwrap();
    let row = page
        .lines()
        .find(|l| l.starts_with("<tr><td>recipes</td>"))
        .unwrap_or_else(|| panic!("no recipes row: {page}"));
    assert!(!row.contains("<script>") && row.contains("&lt;script&gt;"), "{row}");
    assert!(!row.contains('\u{202E}'), "{row}");
    assert!(row.contains("(see the log)"), "{row}");
    assert!(!row.contains(&"A".repeat(100)), "{row}");
}

#[tokio::test]
async fn a_telemetry_path_the_exporter_answers_otherwise_is_refused_at_startup() {
    for taken in ["/admin/x", "/admin", "/healthz", "/readyz"] {
        let out = tokio::time::timeout(
            Duration::from_secs(20),
            tokio::process::Command::new(env!("CARGO_BIN_EXE_workato_exporter"))
                .args(["--web.telemetry-path", taken, "--web.listen-address", "127.0.0.1:0"])
                .env("WORKATO_API_TOKEN", TOKEN)
                .kill_on_drop(true)
                .output(),
        )
        .await
        .unwrap_or_else(|_| panic!("--web.telemetry-path {taken} was accepted: the exporter kept running"))
        .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{taken}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains("--web.telemetry-path"), "{err}");
    }
}
