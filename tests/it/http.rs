//! The HTTP surface: gzip, health, readiness, landing page, errors.

use std::io::Read;

use wiremock::MockServer;

use crate::helpers::{TestApp, config_with, fast_options, mount_workspace};

#[tokio::test]
async fn metrics_are_gzipped_when_accepted_and_identical_when_inflated() {
    let (_server, app) = TestApp::polled_fixture().await;
    let client = reqwest::Client::builder().build().unwrap();
    let response = client
        .get(app.url("/metrics"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4");
    let compressed = response.bytes().await.unwrap();
    let mut inflated = String::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_string(&mut inflated)
        .expect("valid gzip");
    assert!(inflated.contains("workato_recipe_running{"), "{inflated}");
    assert!(compressed.len() < inflated.len());

    let plain = client
        .get(app.url("/metrics"))
        .header("accept-encoding", "gzip;q=0, identity")
        .send()
        .await
        .unwrap();
    assert!(plain.headers().get("content-encoding").is_none(), "q=0 refuses gzip");
}

#[tokio::test]
async fn health_readiness_landing_and_unknown_paths() {
    let server = MockServer::start().await;
    mount_workspace(&server).await;
    let app = TestApp::spawn(&server).await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let not_ready = app.get("/readyz").await;
    assert_eq!(not_ready.status(), 503);
    let reason: serde_json::Value = not_ready.json().await.unwrap();
    assert!(reason["message"].as_str().unwrap().contains("recipes"), "{reason}");

    let landing = app.get("/").await.text().await.unwrap();
    assert!(landing.contains("Workato exporter") && landing.contains("acme") && landing.contains("not polled yet"));

    let missing = app.get("/nope").await;
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["message"], "not found: /nope");

    let post = reqwest::Client::new().post(app.url("/metrics")).send().await.unwrap();
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET, HEAD");
}

#[tokio::test]
async fn the_telemetry_path_can_be_moved() {
    let server = MockServer::start().await;
    mount_workspace(&server).await;
    let config = config_with(&server.uri(), &["--web.telemetry-path", "/workato/metrics"]);
    let app = TestApp::spawn_with(config, fast_options()).await;
    assert_eq!(app.get("/workato/metrics").await.status(), 200);
    assert_eq!(app.get("/metrics").await.status(), 404);
}

#[tokio::test]
async fn head_requests_get_headers_without_a_body() {
    let server = MockServer::start().await;
    let app = TestApp::spawn(&server).await;
    let response = reqwest::Client::new().head(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.unwrap().is_empty());
}
