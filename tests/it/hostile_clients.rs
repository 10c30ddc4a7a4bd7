//! What a hostile Workato or hostile HTTP clients send cannot bloat the
//! exposition (issue 11, item 7).

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use workato_exporter::snapshot::Collector;

use crate::helpers::{ListPages, Samples, TestApp, fixture, mount_workspace};

/// A mebibyte.
const MIB: usize = 1 << 20;

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
    // One recipe a page: no reply is much over a mebibyte.
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
    // A second jobs cycle observes the jobs the first one calibrated on.
    app.poller.poll_once(Collector::Jobs).await.expect("jobs poll");

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
