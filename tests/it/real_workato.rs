//! Replays of what real Workato sends (tests/fixtures/recorded): API
//! clients without DEV access, pages shorter than asked for, running jobs
//! that move neither `last_run_at` nor the counters, recipes without
//! `running`, 500s carrying an error id, and workspaces past 5,000 recipes.

use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};
use workato_exporter::snapshot::Collector;

use crate::helpers::{
    ADMIN_TOKEN, ListPages, Samples, TestApp, admin_config, config_with, fast_options, fixture, mount_jobs,
    mount_workspace,
};

/// Answers users/me with the recorded 403, forever (mount it before the
/// workspace, so it wins over the fixture).
async fn refuse_users_me(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/users/me"))
        .respond_with(ResponseTemplate::new(403).set_body_json(fixture("recorded/users_me_403.json")))
        .mount(server)
        .await;
}

#[tokio::test]
async fn an_api_client_without_dev_access_is_ready_and_up_without_workspace_details() {
    let server = MockServer::start().await;
    refuse_users_me(&server).await;
    mount_workspace(&server).await;
    let app = TestApp::spawn(&server).await;
    let failed = app.poll_all().await;
    assert_eq!(
        failed.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
        vec![Collector::Workspace],
        "only users/me is refused: {failed:?}"
    );

    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200, "{}", ready.text().await.unwrap());
    let s = app.samples().await;
    assert_eq!(s.value("workato_up", &[]), 1.0);
    assert_eq!(
        s.value("workato_collector_available", &[("collector", "workspace")]),
        0.0
    );
    assert!(
        !s.has("workato_collector_up", &[("collector", "workspace")]),
        "a collector not available to this client is neither up nor down"
    );
    assert_eq!(s.value("workato_collector_up", &[("collector", "recipes")]), 1.0);
    assert!(!s.has("workato_workspace_info", &[]));
    let page = app.get("/").await.text().await.unwrap();
    assert!(page.contains("not available to this API client"), "{page}");

    // DEV access granted later: the next poll of workspace details brings them back.
    server.reset().await;
    mount_workspace(&server).await;
    app.poller
        .poll_once(Collector::Workspace)
        .await
        .expect("users/me allowed now");
    let s = app.samples().await;
    assert_eq!(
        s.value("workato_collector_available", &[("collector", "workspace")]),
        1.0
    );
    assert_eq!(s.value("workato_collector_up", &[("collector", "workspace")]), 1.0);
    assert!(s.has("workato_workspace_info", &[]));
}

#[tokio::test]
async fn a_403_on_any_other_collector_still_holds_back_up() {
    let server = MockServer::start().await;
    crate::helpers::forbid(&server, "/api/connections").await;
    mount_workspace(&server).await;
    let app = TestApp::spawn(&server).await;
    app.poll_all().await;
    let s = app.samples().await;
    assert_eq!(
        s.value("workato_up", &[]),
        0.0,
        "a missing privilege on connections can be granted"
    );
    assert_eq!(s.value("workato_collector_up", &[("collector", "connections")]), 0.0);
    assert_eq!(
        s.value("workato_collector_available", &[("collector", "connections")]),
        1.0
    );
    // Every collector has been polled once: ready, with the trouble in
    // workato_up and workato_collector_up, not in readiness (#15).
    assert_eq!(app.get("/readyz").await.status(), 200);
}

/// `n` recipes with ids counting down from 3,000,000.
fn many_recipes(n: u64) -> Value {
    let items: Vec<Value> = (0..n)
        .map(|i| {
            json!({"id": 3_000_000 - i, "name": format!("recipe {i}"), "running": i % 7 != 0,
                   "job_succeeded_count": 0, "job_failed_count": 0, "last_run_at": null})
        })
        .collect();
    json!({ "items": items })
}

async fn mount_recipes(server: &MockServer, list: Value, page_cap: usize) {
    Mock::given(method("GET"))
        .and(path("/api/recipes"))
        .respond_with(ListPages::new(list, page_cap))
        .mount(server)
        .await;
}

#[tokio::test]
async fn every_recipe_is_exported_when_the_server_caps_pages_at_50() {
    let server = MockServer::start().await;
    mount_recipes(&server, many_recipes(230), 50).await;
    let app = TestApp::spawn(&server).await;
    app.poller.poll_once(Collector::Recipes).await.expect("recipes");
    let s = app.samples().await;
    assert_eq!(
        s.find("workato_recipe_running", &[]).len(),
        230,
        "no recipe lost to a short page"
    );
    assert_eq!(s.value("workato_recipes_truncated", &[]), 0.0);
    let calls = server.received_requests().await.unwrap().len();
    assert_eq!(
        calls, 6,
        "five pages of at most 50, then the empty page that ends the walk"
    );
}

#[tokio::test]
async fn past_5000_recipes_the_sweep_stops_says_so_and_keeps_the_newest() {
    let server = MockServer::start().await;
    mount_recipes(&server, many_recipes(5_120), 100).await;
    let config = config_with(&server.uri(), &["--workato.requests-per-minute", "1000"]);
    let app = TestApp::spawn_with(config, fast_options()).await;
    app.poller.poll_once(Collector::Recipes).await.expect("recipes");
    let s = app.samples().await;
    let running = s.find("workato_recipe_running", &[]);
    assert_eq!(running.len(), 5_000);
    assert!(
        running
            .iter()
            .all(|r| r.labels["recipe_id"].parse::<u64>().unwrap() > 3_000_000 - 5_000)
    );
    assert_eq!(s.value("workato_recipes_truncated", &[]), 1.0);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        51,
        "fifty pages, and the one that shows there are more"
    );

    // Exactly 5,000: the 51st call finds the empty page; nothing is cut.
    server.reset().await;
    mount_recipes(&server, many_recipes(5_000), 100).await;
    app.poller.poll_once(Collector::Recipes).await.expect("recipes");
    let s = app.samples().await;
    assert_eq!(s.find("workato_recipe_running", &[]).len(), 5_000);
    assert_eq!(s.value("workato_recipes_truncated", &[]), 0.0);
}

#[tokio::test]
async fn a_recipe_without_running_has_no_state_series_but_keeps_the_rest() {
    let server = MockServer::start().await;
    let list = json!({"items": [fixture("recorded/recipe_without_running.json"), fixture("recorded/recipe_job_running.json")]});
    mount_recipes(&server, list, 100).await;
    let app = TestApp::spawn(&server).await;
    app.poller.poll_once(Collector::Recipes).await.expect("recipes");
    let s = app.samples().await;
    let without = [("recipe_id", "2201877")];
    assert!(!s.has("workato_recipe_running", &without), "Workato did not say");
    assert!(
        !s.has("workato_recipe_stop_cause", &without),
        "not 'manual': Workato did not say"
    );
    assert_eq!(s.value("workato_recipe_jobs_succeeded_total", &without), 5120.0);
    assert!(s.has("workato_recipe_info", &without));
    assert_eq!(s.value("workato_recipe_running", &[("recipe_id", "2201876")]), 1.0);
}

/// Workato's RFC 3339 time, `seconds` from now.
fn at(seconds: f64) -> String {
    let time = chrono::Utc::now() + chrono::Duration::milliseconds((seconds * 1000.0) as i64);
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn job(id: &str, started: &str, completed: Option<&str>) -> Value {
    json!({"id": id, "flow_run_id": 1, "started_at": started, "completed_at": completed, "title": "export",
           "is_error": false, "is_poll_error": false, "error": null,
           "status": if completed.is_some() { "succeeded" } else { "pending" }})
}

fn jobs_page(jobs: &[Value]) -> Value {
    json!({"job_succeeded_count": 0, "job_failed_count": 0, "job_count": jobs.len(), "items": jobs})
}

/// The recorded recipe with its last completion, its job start time and
/// its completed count set (Workato moves `last_run_at` as a job completes).
fn running_recipe(last_run_at: &str, last_job_started_at: &str, succeeded: u64) -> Value {
    let mut recipe = fixture("recorded/recipe_job_running.json");
    recipe["last_run_at"] = json!(last_run_at);
    recipe["last_job_started_at"] = json!(last_job_started_at);
    recipe["job_succeeded_count"] = json!(succeeded);
    json!({ "items": [recipe] })
}

/// Resets the mock Workato to these recipes; behind the jobs pages a test
/// mounts, no newer jobs and no pending jobs.
async fn scene(server: &MockServer, recipes: Value) {
    server.reset().await;
    mount_recipes(server, recipes, 100).await;
    for (key, value) in [("prev", "true"), ("status", "pending")] {
        Mock::given(method("GET"))
            .and(wiremock::matchers::path_regex(r"^/api/recipes/\d+/jobs$"))
            .and(query_param(key, value))
            .respond_with(ResponseTemplate::new(200).set_body_json(jobs_page(&[])))
            .with_priority(10)
            .mount(server)
            .await;
    }
}

async fn sweep(app: &TestApp) {
    app.poller.poll_once(Collector::Recipes).await.expect("recipes");
    app.poller.poll_once(Collector::Jobs).await.expect("jobs");
}

#[tokio::test]
async fn a_job_that_starts_while_last_run_at_and_the_counters_stand_still_is_seen_pending_then_counted_once() {
    let server = MockServer::start().await;
    let app = TestApp::spawn(&server).await;
    let jobs_path = "/api/recipes/2201876/jobs";
    let (old_start, old_end) = (at(-86_400.0), at(-86_000.0));
    let (new_start, new_end) = (at(-600.0), at(-5.0));

    // First sight: the recipes list is the baseline (the newest job is
    // yesterday's, and none is pending), at no jobs call.
    scene(&server, running_recipe(&old_end, &old_start, 811)).await;
    {
        let _no_call = Mock::given(method("GET"))
            .and(path(jobs_path))
            .respond_with(ResponseTemplate::new(500))
            .expect(0)
            .mount_as_scoped(&server)
            .await;
        sweep(&app).await;
    }

    // A job starts: only last_job_started_at moves. The first read (the
    // newest page, and the running jobs since it is full) sees it pending.
    scene(&server, running_recipe(&old_end, &new_start, 811)).await;
    Mock::given(method("GET"))
        .and(path(jobs_path))
        .and(query_param_is_missing("offset_job_id"))
        .and(query_param_is_missing("status"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jobs_page(&[
            job("j-new", &new_start, None),
            job("j-old", &old_start, Some(&old_end)),
        ])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(jobs_path))
        .and(query_param("status", "pending"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jobs_page(&[job("j-new", &new_start, None)])))
        .expect(1)
        .mount(&server)
        .await;
    sweep(&app).await;
    server.verify().await;
    let pending = |s: &Samples| s.value("workato_recipe_jobs_pending", &[("recipe_id", "2201876")]);
    assert_eq!(pending(&app.samples().await), 1.0, "seen pending within one jobs cycle");

    // It runs for minutes; nothing moves: no call, still pending.
    scene(&server, running_recipe(&old_end, &new_start, 811)).await;
    Mock::given(method("GET"))
        .and(path(jobs_path))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    sweep(&app).await;
    server.verify().await;
    let s = app.samples().await;
    assert_eq!(pending(&s), 1.0);
    let started = s.value(
        "workato_recipe_last_job_started_timestamp_seconds",
        &[("recipe_id", "2201876")],
    );
    let last_run = s.value("workato_recipe_last_run_timestamp_seconds", &[("recipe_id", "2201876")]);
    assert!(
        started > last_run + 80_000.0,
        "the job start is a day newer than last_run_at"
    );

    // It completes: the counters move, and the walk from just before it sees it done.
    for _ in 0..2 {
        scene(&server, running_recipe(&new_end, &new_start, 812)).await;
        Mock::given(method("GET"))
            .and(path(jobs_path))
            .and(query_param("offset_job_id", "j-old"))
            .respond_with(ResponseTemplate::new(200).set_body_json(jobs_page(&[job(
                "j-new",
                &new_start,
                Some(&new_end),
            )])))
            .mount(&server)
            .await;
        sweep(&app).await;
    }
    let s = app.samples().await;
    assert_eq!(pending(&s), 0.0);
    let labels = [("recipe_id", "2201876"), ("status", "succeeded")];
    assert_eq!(
        s.value("workato_job_duration_seconds_count", &labels),
        1.0,
        "counted once, though read after two sweeps"
    );
    assert!((s.value("workato_job_duration_seconds_sum", &labels) - 595.0).abs() < 0.01);
}

async fn admin_app(server: &MockServer) -> TestApp {
    mount_workspace(server).await;
    let app = TestApp::spawn_with(admin_config(&server.uri(), &[]), fast_options()).await;
    assert!(app.poll_all().await.is_empty());
    app
}

async fn admin_put(app: &TestApp, route: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .put(app.url(route))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("admin answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON reply"))
}

/// A recipe as `GET /api/recipes/:id` answers after the action.
async fn recipe_reads(server: &MockServer, id: u64, running: bool) {
    Mock::given(method("GET"))
        .and(path(format!("/api/recipes/{id}")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": id, "name": "Draft: never run", "running": running})),
        )
        .expect(1)
        .mount(server)
        .await;
}

async fn start_answers_500(server: &MockServer, id: u64) {
    Mock::given(method("PUT"))
        .and(path(format!("/api/recipes/{id}/start")))
        .respond_with(ResponseTemplate::new(500).set_body_json(fixture("recorded/error_500.json")))
        .expect(1)
        .named("start, sent once")
        .mount(server)
        .await;
}

const ERROR_ID: &str = "8d3c1f0e-5a27-4b9e-b6f1-2e7a9c4d0b53";

#[tokio::test]
async fn an_admin_start_answered_500_reaches_workato_once_and_names_the_error_id() {
    let server = MockServer::start().await;
    let app = admin_app(&server).await;
    start_answers_500(&server, 1913513).await;
    recipe_reads(&server, 1913513, false).await;
    let (status, body) = admin_put(&app, "/admin/recipes/1913513/start").await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["workato_error_id"], ERROR_ID, "{body}");
    assert!(body["message"].as_str().unwrap().contains("500"), "{body}");
    server.verify().await;
}

#[tokio::test]
async fn an_admin_start_that_workato_applied_before_its_500_is_reported_as_done() {
    let server = MockServer::start().await;
    let app = admin_app(&server).await;
    start_answers_500(&server, 1913513).await;
    recipe_reads(&server, 1913513, true).await;
    let (status, body) = admin_put(&app, "/admin/recipes/1913513/start").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["workato_error_id"], ERROR_ID, "kept for the record: {body}");
    server.verify().await;
    assert_eq!(
        app.samples()
            .await
            .value("workato_recipe_running", &[("recipe_id", "1913513")]),
        1.0,
        "the state read again is in /metrics"
    );
}

#[tokio::test]
async fn an_endpoint_enable_that_times_out_is_not_sent_twice() {
    let server = MockServer::start().await;
    let app = admin_app(&server).await;
    Mock::given(method("PUT"))
        .and(path("/api/api_endpoints/9904/enable"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(2)))
        .expect(1)
        .mount(&server)
        .await;
    let (status, body) = admin_put(&app, "/admin/api-endpoints/9904/enable").await;
    assert_eq!(status, 504, "still disabled when read again: {body}");
    server.verify().await;
}

#[tokio::test]
async fn reads_that_fail_with_500_are_retried_and_their_error_names_the_error_id() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/connections"))
        .respond_with(ResponseTemplate::new(500).set_body_json(fixture("recorded/error_500.json")))
        .expect(3)
        .mount(&server)
        .await;
    mount_jobs(&server).await;
    let app = TestApp::spawn(&server).await;
    let error = app.poll_once_failing(Collector::Connections).await;
    assert!(error.contains(ERROR_ID), "{error}");
    server.verify().await;
}
