//! Job ingestion: forward walks, resuming after errors, pending jobs,
//! deleted recipes, restarts with a state file, the fewest calls, and
//! exact counts against the simulated workspace under injected faults.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};
use workato_exporter::snapshot::Collector;
use workato_sim::{self as sim, SimConfig};

use crate::helpers::{ListPages, Samples, TOKEN, TestApp, config_with, fast_options};

/// The start of every scene: a whole minute, 50 minutes before the tests
/// start, so that every job time below (at most 3,000 s after it) lies in
/// the past and, for the ten minutes a run may take, inside the failure
/// ratio's one-hour window, on any date. Fixed once per run, so a test that
/// crosses a minute sees the same job times.
fn epoch() -> chrono::DateTime<chrono::Utc> {
    static EPOCH: std::sync::OnceLock<chrono::DateTime<chrono::Utc>> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(|| {
        let now = chrono::Utc::now().timestamp();
        let start = (now - 50 * 60).div_euclid(60) * 60;
        chrono::DateTime::from_timestamp(start, 0).expect("a time in range")
    })
}

/// Workato's timestamp `seconds` after [`epoch`].
fn time(seconds: f64) -> String {
    let at = epoch() + chrono::Duration::milliseconds((seconds * 1000.0).round() as i64);
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A completed (or pending, with `end` None) job that started `start`
/// seconds after [`epoch`] and lasted until `end`.
fn job(id: &str, start: f64, end: Option<f64>, failed: bool) -> Value {
    let mut job = json!({
        "id": id,
        "flow_run_id": 1,
        "started_at": time(start),
        "completed_at": end.map(time),
        "title": "job",
        "is_error": failed,
        "is_poll_error": false,
        "error": if failed { json!("boom") } else { Value::Null },
        "status": match (end, failed) { (None, _) => "pending", (Some(_), true) => "failed", _ => "succeeded" },
    });
    if failed && end.is_some() {
        job["error_parts"] = json!({"adapter": "slack", "error_type": "Timeout", "message": "slow", "error_id": "e-1"});
    }
    job
}

fn page(jobs: &[Value]) -> Value {
    json!({"job_succeeded_count": 0, "job_failed_count": 0, "job_count": jobs.len(), "items": jobs})
}

/// The recipes list, each `(id, completed jobs so far)`.
fn recipes(list: &[(u64, u64)]) -> Value {
    recipes_at(list, None)
}

/// The recipes list, with every `last_run_at` at `last_run_at` when given.
fn recipes_at(list: &[(u64, u64)], last_run_at: Option<f64>) -> Value {
    let items: Vec<Value> = list
        .iter()
        .map(|(id, done)| {
            json!({"id": id, "name": format!("recipe {id}"), "running": true,
                   "job_succeeded_count": done, "job_failed_count": 0,
                   "last_run_at": time(last_run_at.unwrap_or((done % 60) as f64))})
        })
        .collect();
    json!({ "items": items })
}

/// A first cycle that baselines these recipes (at no jobs call), their
/// last completion after every job the tests show: the jobs their first
/// read finds are history (the next `scene` moves `last_run_at` only).
async fn baselined(server: &MockServer, app: &TestApp, list: &[(u64, u64)]) {
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/api/recipes"))
        .respond_with(ListPages::new(recipes_at(list, Some(2999.5)), 100))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("/jobs"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .named("a jobs call at first sight")
        .mount(server)
        .await;
    cycle(app).await.expect("baseline");
    server.verify().await;
}

/// Resets the mock Workato to a workspace with these recipes. Each test
/// mounts the jobs pages it expects; behind them, at a lower priority, no
/// recipe has newer jobs or pending jobs.
async fn scene(server: &MockServer, list: &[(u64, u64)]) {
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/api/recipes"))
        .respond_with(ListPages::new(recipes(list), 100))
        .mount(server)
        .await;
    for (key, value) in [("prev", "true"), ("status", "pending")] {
        Mock::given(method("GET"))
            .and(path_regex(r"^/api/recipes/\d+/jobs$"))
            .and(query_param(key, value))
            .respond_with(ResponseTemplate::new(200).set_body_json(page(&[])))
            .with_priority(10)
            .mount(server)
            .await;
    }
}

fn jobs_mock(recipe: u64, offset: Option<&str>, reply: Value) -> Mock {
    let mock = Mock::given(method("GET")).and(path(format!("/api/recipes/{recipe}/jobs")));
    let mock = match offset {
        Some(offset) => mock
            .and(query_param("offset_job_id", offset))
            .and(query_param("prev", "true")),
        None => mock
            .and(query_param_is_missing("offset_job_id"))
            .and(query_param_is_missing("status")),
    };
    mock.respond_with(ResponseTemplate::new(200).set_body_json(reply))
}

fn pending_mock(recipe: u64, pending: &[Value]) -> Mock {
    Mock::given(method("GET"))
        .and(path(format!("/api/recipes/{recipe}/jobs")))
        .and(query_param("status", "pending"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(pending)))
}

async fn cycle(app: &TestApp) -> Result<(), String> {
    app.poller
        .poll_once(Collector::Recipes)
        .await
        .map_err(|e| e.to_string())?;
    app.poller.poll_once(Collector::Jobs).await.map_err(|e| e.to_string())
}

fn observed(s: &Samples, recipe: &str, status: &str) -> (f64, f64) {
    let labels = [("recipe_id", recipe), ("status", status)];
    (
        s.value("workato_job_duration_seconds_count", &labels),
        s.value("workato_job_duration_seconds_sum", &labels),
    )
}

/// A recipe calibrated on `j-0`, whose newest page held one job.
async fn calibrated(server: &MockServer, app: &TestApp) {
    baselined(server, app, &[(1, 10)]).await;
    scene(server, &[(1, 10)]).await;
    jobs_mock(1, None, page(&[job("j-0", 0.0, Some(1.0), false)]))
        .expect(1)
        .mount(server)
        .await;
    cycle(app).await.expect("calibration");
}

#[tokio::test]
async fn a_forward_walk_reads_more_new_jobs_than_one_page_each_exactly_once() {
    let server = MockServer::start().await;
    let app = TestApp::spawn(&server).await;
    calibrated(&server, &app).await;

    scene(&server, &[(1, 15)]).await;
    let first = [
        job("j-3", 30.0, Some(33.5), false),
        job("j-2", 20.0, Some(22.0), false),
        job("j-1", 10.0, Some(10.25), false),
    ];
    jobs_mock(1, Some("j-0"), page(&first)).expect(1).mount(&server).await;
    jobs_mock(
        1,
        Some("j-3"),
        page(&[job("j-5", 50.0, Some(50.5), false), job("j-4", 40.0, Some(41.0), false)]),
    )
    .expect(1)
    .mount(&server)
    .await;
    cycle(&app).await.expect("walk");
    server.verify().await;

    let s = app.samples().await;
    assert_eq!(observed(&s, "1", "succeeded"), (5.0, 3.5 + 2.0 + 0.25 + 0.5 + 1.0));
    assert_eq!(observed(&s, "1", "failed"), (0.0, 0.0));
    assert_eq!(
        s.value(
            "workato_job_duration_seconds_bucket",
            &[("recipe_id", "1"), ("status", "succeeded"), ("le", "0.5")]
        ),
        2.0,
        "0.25 s and 0.5 s"
    );
    assert_eq!(s.value("workato_recipe_job_failure_ratio", &[("recipe_id", "1")]), 0.0);
}

#[tokio::test]
async fn an_error_mid_walk_keeps_what_was_read_and_resumes_there() {
    let server = MockServer::start().await;
    let app = TestApp::spawn(&server).await;
    calibrated(&server, &app).await;

    scene(&server, &[(1, 15)]).await;
    let first = [
        job("j-3", 30.0, Some(31.0), false),
        job("j-2", 20.0, Some(21.0), false),
        job("j-1", 10.0, Some(11.0), false),
    ];
    jobs_mock(1, Some("j-0"), page(&first)).expect(1).mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/recipes/1/jobs"))
        .and(query_param("offset_job_id", "j-3"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"message": "Server error"})))
        .expect(3)
        .mount(&server)
        .await;
    let failed = cycle(&app).await.unwrap_err();
    assert!(failed.contains("500"), "{failed}");
    server.verify().await;
    let s = app.samples().await;
    assert_eq!(observed(&s, "1", "succeeded").0, 3.0, "the first page counts");
    assert_eq!(s.value("workato_collector_up", &[("collector", "jobs")]), 0.0);

    // Same counters in the next sweep: the walk was not finished, so it resumes.
    scene(&server, &[(1, 15)]).await;
    jobs_mock(1, Some("j-0"), page(&first)).expect(0).mount(&server).await;
    jobs_mock(
        1,
        Some("j-3"),
        page(&[job("j-5", 50.0, Some(51.0), false), job("j-4", 40.0, Some(41.0), false)]),
    )
    .expect(1)
    .mount(&server)
    .await;
    cycle(&app).await.expect("resumed walk");
    server.verify().await;
    let s = app.samples().await;
    assert_eq!(observed(&s, "1", "succeeded"), (5.0, 5.0), "five jobs, none twice");
    assert_eq!(s.value("workato_collector_up", &[("collector", "jobs")]), 1.0);
}

#[tokio::test]
async fn a_pending_job_counts_when_it_completes_and_is_pending_meanwhile() {
    let server = MockServer::start().await;
    let app = TestApp::spawn(&server).await;
    baselined(&server, &app, &[(1, 10)]).await;
    scene(&server, &[(1, 10)]).await;
    jobs_mock(
        1,
        None,
        page(&[job("j-1", 5.0, None, false), job("j-0", 0.0, Some(1.0), false)]),
    )
    .mount(&server)
    .await;
    cycle(&app).await.unwrap();
    let s = app.samples().await;
    assert_eq!(s.value("workato_recipe_jobs_pending", &[("recipe_id", "1")]), 1.0);
    assert_eq!(observed(&s, "1", "failed").0, 0.0);

    // Its counters stand still while the job runs: no call at all.
    scene(&server, &[(1, 10)]).await;
    Mock::given(method("GET"))
        .and(path_regex("/jobs"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    cycle(&app).await.unwrap();
    server.verify().await;

    // It completed (the counters moved). The walk starts just before it, at
    // j-0, so the page that looks for new jobs shows it completed too.
    scene(&server, &[(1, 12)]).await;
    let newer = [job("j-2", 70.0, Some(70.5), false), job("j-1", 5.0, Some(65.0), true)];
    jobs_mock(1, Some("j-0"), page(&newer)).expect(1).mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/recipes/1/jobs/j-1"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    cycle(&app).await.unwrap();
    server.verify().await;
    let s = app.samples().await;
    assert_eq!(s.value("workato_recipe_jobs_pending", &[("recipe_id", "1")]), 0.0);
    assert_eq!(observed(&s, "1", "failed"), (1.0, 60.0));
    assert_eq!(observed(&s, "1", "succeeded"), (1.0, 0.5));
    assert_eq!(
        s.value(
            "workato_job_errors_total",
            &[("recipe_id", "1"), ("adapter", "slack"), ("error_type", "Timeout")]
        ),
        1.0
    );
    assert_eq!(s.value("workato_recipe_job_failure_ratio", &[("recipe_id", "1")]), 0.5);

    // Seen completed once, never again.
    scene(&server, &[(1, 13)]).await;
    jobs_mock(1, Some("j-2"), page(&[job("j-3", 80.0, Some(81.0), false)]))
        .expect(1)
        .mount(&server)
        .await;
    cycle(&app).await.unwrap();
    server.verify().await;
    let s = app.samples().await;
    assert_eq!(
        (observed(&s, "1", "failed").0, observed(&s, "1", "succeeded").0),
        (1.0, 2.0)
    );
}

#[tokio::test]
async fn a_long_running_job_is_found_by_a_pending_read_and_read_once_by_id() {
    let server = MockServer::start().await;
    let app = TestApp::spawn(&server).await;
    // The newest page is full, so the job that started before it and still
    // runs is found by one status=pending read.
    baselined(&server, &app, &[(1, 10)]).await;
    scene(&server, &[(1, 10)]).await;
    let newest = [
        job("j-3", 30.0, Some(31.0), false),
        job("j-2", 20.0, Some(21.0), false),
        job("j-1", 10.0, Some(11.0), false),
    ];
    jobs_mock(1, None, page(&newest)).expect(1).mount(&server).await;
    pending_mock(1, &[job("j-0", 0.0, None, false)])
        .expect(1)
        .mount(&server)
        .await;
    cycle(&app).await.unwrap();
    server.verify().await;
    assert_eq!(
        app.samples()
            .await
            .value("workato_recipe_jobs_pending", &[("recipe_id", "1")]),
        1.0
    );

    // One old pending job: read by id directly, no pending list needed.
    scene(&server, &[(1, 11)]).await;
    jobs_mock(1, Some("j-3"), page(&[])).expect(1).mount(&server).await;
    pending_mock(1, &[]).expect(0).mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/recipes/1/jobs/j-0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(job("j-0", 0.0, Some(3000.0), false)))
        .expect(1)
        .mount(&server)
        .await;
    cycle(&app).await.unwrap();
    server.verify().await;
    let s = app.samples().await;
    assert_eq!(observed(&s, "1", "succeeded"), (1.0, 3000.0));
    assert_eq!(s.value("workato_recipe_jobs_pending", &[("recipe_id", "1")]), 0.0);
}

#[tokio::test]
async fn a_deleted_recipe_takes_its_job_series_along() {
    let server = MockServer::start().await;
    let app = TestApp::spawn(&server).await;
    baselined(&server, &app, &[(1, 10), (2, 10)]).await;
    scene(&server, &[(1, 10), (2, 10)]).await;
    jobs_mock(1, None, page(&[job("a-0", 0.0, Some(1.0), false)]))
        .mount(&server)
        .await;
    jobs_mock(2, None, page(&[job("b-0", 0.0, Some(1.0), false)]))
        .mount(&server)
        .await;
    cycle(&app).await.unwrap();
    scene(&server, &[(1, 10), (2, 11)]).await;
    jobs_mock(2, Some("b-0"), page(&[job("b-1", 2.0, Some(3.0), true)]))
        .mount(&server)
        .await;
    cycle(&app).await.unwrap();
    assert!(
        app.samples()
            .await
            .has("workato_job_duration_seconds_count", &[("recipe_id", "2")])
    );

    scene(&server, &[(1, 10)]).await;
    cycle(&app).await.unwrap();
    let s = app.samples().await;
    for name in [
        "workato_job_duration_seconds_count",
        "workato_recipe_jobs_pending",
        "workato_job_errors_total",
        "workato_recipe_job_failure_ratio",
    ] {
        assert!(!s.has(name, &[("recipe_id", "2")]), "{name} outlives its recipe");
    }
}

#[tokio::test]
async fn a_steady_cycle_reads_only_recipes_that_moved_plus_pending_rechecks() {
    let server = MockServer::start().await;
    let app = TestApp::spawn(&server).await;
    baselined(&server, &app, &[(1, 10), (2, 10), (3, 10), (4, 10)]).await;
    scene(&server, &[(1, 10), (2, 10), (3, 10), (4, 10)]).await;
    jobs_mock(1, None, page(&[job("a-0", 0.0, Some(1.0), false)]))
        .mount(&server)
        .await;
    jobs_mock(2, None, page(&[job("b-0", 0.0, Some(1.0), false)]))
        .mount(&server)
        .await;
    jobs_mock(
        3,
        None,
        page(&[job("c-1", 5.0, None, false), job("c-0", 0.0, Some(1.0), false)]),
    )
    .mount(&server)
    .await;
    let full = [
        job("d-3", 30.0, Some(31.0), false),
        job("d-2", 20.0, Some(21.0), false),
        job("d-1", 10.0, Some(11.0), false),
    ];
    jobs_mock(4, None, page(&full)).mount(&server).await;
    pending_mock(4, &[job("d-0", 0.0, None, false)]).mount(&server).await;
    cycle(&app).await.unwrap();

    // 1 ran a job; 2 is idle; 3 is idle while its job runs on; 4 moved
    // because its long-running job completed.
    scene(&server, &[(1, 11), (2, 10), (3, 10), (4, 11)]).await;
    jobs_mock(1, Some("a-0"), page(&[job("a-1", 2.0, Some(3.0), false)]))
        .expect(1)
        .mount(&server)
        .await;
    jobs_mock(4, Some("d-3"), page(&[])).expect(1).mount(&server).await;
    pending_mock(4, &[]).expect(0).mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/recipes/4/jobs/d-0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(job("d-0", 0.0, Some(40.0), false)))
        .expect(1)
        .mount(&server)
        .await;
    for idle in [2, 3] {
        Mock::given(method("GET"))
            .and(path_regex(format!("^/api/recipes/{idle}/jobs")))
            .respond_with(ResponseTemplate::new(500))
            .expect(0)
            .mount(&server)
            .await;
    }
    cycle(&app).await.unwrap();
    server.verify().await;
    let jobs_calls = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().contains("/jobs"))
        .count();
    assert_eq!(
        jobs_calls,
        2 + 1,
        "two recipes with new activity (one page each) plus one pending re-check (the job, by id)"
    );
    let s = app.samples().await;
    assert_eq!(observed(&s, "4", "succeeded"), (1.0, 40.0));
    assert_eq!(observed(&s, "1", "succeeded"), (1.0, 1.0));

    // Nothing moved at all: no jobs call.
    scene(&server, &[(1, 11), (2, 10), (3, 10), (4, 11)]).await;
    Mock::given(method("GET"))
        .and(path_regex("/jobs"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .named("any jobs call")
        .mount(&server)
        .await;
    cycle(&app).await.unwrap();
    server.verify().await;
}

#[tokio::test]
async fn a_restart_with_the_state_file_ingests_what_completed_while_down() {
    let dir = std::env::temp_dir().join(format!("we-jobs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("restart.json");
    let _ = std::fs::remove_file(&state);
    let server = MockServer::start().await;
    let flags = ["--jobs.state-file", state.to_str().unwrap()];
    {
        let app = TestApp::spawn_with(config_with(&server.uri(), &flags), fast_options()).await;
        baselined(&server, &app, &[(1, 10)]).await;
        scene(&server, &[(1, 10)]).await;
        jobs_mock(
            1,
            None,
            page(&[job("j-1", 5.0, None, false), job("j-0", 0.0, Some(1.0), false)]),
        )
        .mount(&server)
        .await;
        cycle(&app).await.unwrap();
    }
    assert!(state.exists(), "the state file is written after a cycle");

    // While the exporter is down, j-1 completes and j-2, j-3 run.
    let app = TestApp::spawn_with(config_with(&server.uri(), &flags), fast_options()).await;
    scene(&server, &[(1, 13)]).await;
    jobs_mock(1, None, page(&[])).expect(0).mount(&server).await;
    jobs_mock(
        1,
        Some("j-1"),
        page(&[job("j-3", 30.0, Some(31.0), false), job("j-2", 20.0, Some(22.0), true)]),
    )
    .expect(1)
    .mount(&server)
    .await;
    pending_mock(1, &[]).expect(0).mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/recipes/1/jobs/j-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(job("j-1", 5.0, Some(8.0), false)))
        .expect(1)
        .mount(&server)
        .await;
    cycle(&app).await.unwrap();
    server.verify().await;
    let s = app.samples().await;
    assert_eq!(observed(&s, "1", "succeeded"), (2.0, 4.0), "j-1 and j-3");
    assert_eq!(observed(&s, "1", "failed"), (1.0, 2.0), "j-2");

    std::fs::write(&state, b"not json").unwrap();
    let app = TestApp::spawn_with(config_with(&server.uri(), &flags), fast_options()).await;
    scene(&server, &[(1, 13)]).await;
    jobs_mock(1, None, page(&[job("j-3", 30.0, Some(31.0), false)]))
        .expect(0)
        .mount(&server)
        .await;
    cycle(&app)
        .await
        .expect("a corrupt state file is a fresh start: the recipe is baselined, at no call");
    server.verify().await;
}

/// Thousands of jobs over several cycles from the simulated workspace, with
/// 5xx and 429 injected into a quarter of the jobs calls: every job that
/// completed after calibration is counted once, with its real duration.
#[tokio::test]
async fn under_injected_faults_every_completed_job_is_counted_once_with_its_duration() {
    let running = sim::spawn(SimConfig {
        recipes: 12,
        connections: 6,
        endpoints: 2,
        jobs_per_minute: 600.0,
        speed: 0.0,
        token: Some(TOKEN.to_string()),
        rate_limit: std::num::NonZeroU32::new(600).unwrap(),
        jobs_fault_rate: 0.25,
        ..SimConfig::demo()
    })
    .await
    .unwrap();
    let simulator = &running.simulator;
    let app = TestApp::spawn_with(
        config_with(&running.base_url(), &["--workato.requests-per-minute", "600"]),
        fast_options(),
    )
    .await;
    simulator.advance(300);
    let mut failures = 0;
    while cycle(&app).await.is_err() {
        failures += 1;
        assert!(failures < 50, "calibration never succeeded");
    }
    let baseline: HashMap<u64, (u64, HashSet<String>)> = simulator
        .ledger()
        .into_iter()
        .map(|l| {
            (
                l.recipe_id,
                (l.succeeded + l.failed, l.completed.into_iter().map(|j| j.id).collect()),
            )
        })
        .collect();

    for _ in 0..10 {
        simulator.advance(60);
        if cycle(&app).await.is_err() {
            failures += 1;
        }
    }
    // Drain without moving the clock: walks cut short by faults resume.
    let mut drained = false;
    for _ in 0..30 {
        if cycle(&app).await.is_ok() {
            drained = true;
            break;
        }
        failures += 1;
    }
    assert!(drained, "the jobs collector never caught up");
    assert!(simulator.injected_faults() > 10, "faults were injected");
    assert!(failures > 0, "some cycles failed part-way, as intended");

    let s = app.samples().await;
    let mut total = 0.0;
    for ledger in simulator.ledger() {
        let (before, known) = &baseline[&ledger.recipe_id];
        let id = ledger.recipe_id.to_string();
        let count = |status| {
            s.find(
                "workato_job_duration_seconds_count",
                &[("recipe_id", &id), ("status", status)],
            )
            .first()
            .map_or(0.0, |x| x.value)
        };
        let sum = |status| {
            s.find(
                "workato_job_duration_seconds_sum",
                &[("recipe_id", &id), ("status", status)],
            )
            .first()
            .map_or(0.0, |x| x.value)
        };
        let workato = (ledger.succeeded + ledger.failed - before) as f64;
        assert_eq!(
            count("succeeded") + count("failed"),
            workato,
            "recipe {id}: jobs counted vs Workato's counters"
        );
        let new: Vec<_> = ledger.completed.iter().filter(|j| !known.contains(&j.id)).collect();
        assert_eq!(
            new.len() as f64,
            workato,
            "recipe {id}: the simulator kept every new job"
        );
        let real: f64 = new.iter().map(|j| j.duration).sum();
        let measured = sum("succeeded") + sum("failed");
        assert!(
            (measured - real).abs() <= 0.001 * workato + 1e-6,
            "recipe {id}: durations {measured} vs {real}"
        );
        let real_failed = new.iter().filter(|j| j.failed).count() as f64;
        assert_eq!(count("failed"), real_failed, "recipe {id}: failed jobs");
        total += workato;
    }
    assert!(total > 2_000.0, "only {total} jobs completed; the test needs thousands");
}

/// Restarting with `--jobs.state-file` in the middle of the same run: what
/// the first exporter counted plus what the second counted equals what
/// Workato counted, jobs that completed while neither ran included.
#[tokio::test]
async fn across_a_restart_with_the_state_file_no_job_is_lost_or_counted_twice() {
    let running = sim::spawn(SimConfig {
        recipes: 8,
        connections: 4,
        endpoints: 1,
        jobs_per_minute: 300.0,
        speed: 0.0,
        token: Some(TOKEN.to_string()),
        rate_limit: std::num::NonZeroU32::new(600).unwrap(),
        ..SimConfig::demo()
    })
    .await
    .unwrap();
    let simulator = &running.simulator;
    let dir = std::env::temp_dir().join(format!("we-jobs-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state.json");
    let _ = std::fs::remove_file(&state);
    let flags = [
        "--workato.requests-per-minute",
        "600",
        "--jobs.state-file",
        state.to_str().unwrap(),
    ];
    let counted = |s: &Samples| -> HashMap<String, f64> {
        s.find("workato_job_duration_seconds_count", &[])
            .iter()
            .fold(HashMap::new(), |mut by_recipe, sample| {
                *by_recipe.entry(sample.labels["recipe_id"].clone()).or_default() += sample.value;
                by_recipe
            })
    };

    simulator.advance(300);
    let first = TestApp::spawn_with(config_with(&running.base_url(), &flags), fast_options()).await;
    cycle(&first).await.expect("calibration");
    let baseline: HashMap<String, u64> = simulator
        .ledger()
        .iter()
        .map(|l| (l.recipe_id.to_string(), l.succeeded + l.failed))
        .collect();
    for _ in 0..3 {
        simulator.advance(60);
        cycle(&first).await.expect("cycle");
    }
    let before_restart = counted(&first.samples().await);
    drop(first);

    simulator.advance(600);
    let second = TestApp::spawn_with(config_with(&running.base_url(), &flags), fast_options()).await;
    for _ in 0..2 {
        cycle(&second).await.expect("cycle after restart");
        simulator.advance(60);
    }
    cycle(&second).await.expect("last cycle");
    let after_restart = counted(&second.samples().await);

    let mut total = 0;
    for ledger in simulator.ledger() {
        let id = ledger.recipe_id.to_string();
        let workato = ledger.succeeded + ledger.failed - baseline[&id];
        // The counters continue from the state file: no reset at the restart.
        let ours = after_restart.get(&id).copied().unwrap_or(0.0);
        assert!(
            before_restart.get(&id).copied().unwrap_or(0.0) <= ours,
            "recipe {id}: a counter went back at the restart"
        );
        assert_eq!(
            ours, workato as f64,
            "recipe {id}: counted across the restart vs Workato"
        );
        total += workato;
    }
    assert!(total > 1_000, "only {total} jobs");
}

/// Issue #15: at first sight a recipe costs no jobs call, however many
/// there are; the one that moves is read once and its job metrics exist
/// after that cycle, counting exactly the jobs completed since.
#[tokio::test]
async fn at_first_start_only_the_recipes_that_move_cost_a_jobs_call() {
    let server = MockServer::start().await;
    let app = TestApp::spawn(&server).await;
    let idle: Vec<(u64, u64)> = (1..=300).map(|id| (id, 10)).collect();
    scene(&server, &idle).await;
    cycle(&app).await.expect("first cycle");
    let jobs_calls =
        |requests: Vec<wiremock::Request>| requests.iter().filter(|r| r.url.path().contains("/jobs")).count();
    assert_eq!(
        jobs_calls(server.received_requests().await.unwrap()),
        0,
        "300 recipes with history, none moved: no jobs call (one each before #15)"
    );
    assert!(!app.samples().await.has("workato_job_duration_seconds_count", &[]));

    // Recipe 7 ran two jobs (one more still runs); the others stand still.
    let mut moved = idle.clone();
    moved[6].1 = 12;
    scene(&server, &moved).await;
    let newest = [
        job("j-3", 25.0, None, false),
        job("j-2", 11.0, Some(11.5), true),
        job("j-1", 10.0, Some(11.0), false),
        job("j-0", 0.0, Some(1.0), false),
    ];
    jobs_mock(7, None, page(&newest)).expect(1).mount(&server).await;
    cycle(&app).await.expect("first read");
    server.verify().await;
    assert!(
        jobs_calls(server.received_requests().await.unwrap()) <= 2,
        "the newest page, and at most the pending list"
    );
    let s = app.samples().await;
    assert_eq!(
        observed(&s, "7", "succeeded"),
        (1.0, 1.0),
        "j-1; j-0 completed before the baseline"
    );
    assert_eq!(observed(&s, "7", "failed"), (1.0, 0.5), "j-2");
    assert_eq!(s.value("workato_recipe_jobs_pending", &[("recipe_id", "7")]), 1.0);
    assert!(!s.has("workato_job_duration_seconds_count", &[("recipe_id", "8")]));

    // From there on, an ordinary forward walk: j-3 completed, j-4 ran.
    moved[6].1 = 14;
    scene(&server, &moved).await;
    jobs_mock(
        7,
        Some("j-2"),
        page(&[job("j-4", 30.0, Some(31.0), false), job("j-3", 25.0, Some(29.0), false)]),
    )
    .expect(1)
    .mount(&server)
    .await;
    cycle(&app).await.expect("walk");
    server.verify().await;
    let s = app.samples().await;
    assert_eq!(
        observed(&s, "7", "succeeded").0 + observed(&s, "7", "failed").0,
        4.0,
        "14 - 10 completed since the baseline, each once"
    );
    assert_eq!(s.value("workato_recipe_jobs_pending", &[("recipe_id", "7")]), 0.0);
}

/// The recipes list, each `(id, completed jobs so far, when its newest job
/// started)`, its last completion at 10 s.
fn recipes_started(list: &[(u64, u64, f64)]) -> Value {
    let items: Vec<Value> = list
        .iter()
        .map(|(id, done, started)| {
            json!({"id": id, "name": format!("recipe {id}"), "running": true,
                   "job_succeeded_count": done, "job_failed_count": 0,
                   "last_run_at": time(10.0 + *done as f64), "last_job_started_at": time(*started)})
        })
        .collect();
    json!({ "items": items })
}

/// A read for a job's start alone counts nothing: it takes only the room a
/// tenth of the jobs budget leaves free, so that the reads of completions
/// to come never wait for it.
#[tokio::test]
async fn a_start_alone_is_read_only_in_the_room_the_reserve_leaves() {
    let server = MockServer::start().await;
    let flags = [
        "--workato.requests-per-minute",
        "30", // the reserve: 3
        "--poll.interval",
        "1s",
        "--jobs.interval",
        "1s",
    ];
    let app = TestApp::spawn_with(config_with(&server.uri(), &flags), fast_options()).await;
    let mount = |list: Vec<(u64, u64, f64)>| {
        let server = &server;
        async move {
            server.reset().await;
            Mock::given(method("GET"))
                .and(path("/api/recipes"))
                .respond_with(ListPages::new(recipes_started(&list), 100))
                .mount(server)
                .await;
            // Every recipe's newest page: a job that completed (or, for the
            // one that started, runs) at the time of the list; no older
            // running job.
            for (id, done, started) in list {
                let newest = job(
                    &format!("j-{id}-{done}"),
                    started,
                    (done > 10).then_some(started + 1.0),
                    false,
                );
                jobs_mock(id, None, page(&[newest])).mount(server).await;
                pending_mock(id, &[]).mount(server).await;
                Mock::given(method("GET"))
                    .and(path(format!("/api/recipes/{id}/jobs")))
                    .and(query_param("prev", "false"))
                    .respond_with(ResponseTemplate::new(200).set_body_json(page(&[])))
                    .mount(server)
                    .await;
            }
        }
    };
    let jobs_calls = |requests: &[wiremock::Request], id: u64| {
        let jobs = format!("/api/recipes/{id}/jobs");
        requests.iter().filter(|r| r.url.path() == jobs).count()
    };
    let still: Vec<(u64, u64, f64)> = (1..=12).map(|id| (id, 10, 5.0)).collect();
    mount(still.clone()).await;
    cycle(&app).await.expect("baseline");

    // 1–8 complete a job (three jobs calls each: the newest page, one job
    // long, the running jobs and the page before); a job starts on 11: 24
    // of 30 spent, its read takes the 25th to the 27th.
    let mut list = still.clone();
    for recipe in &mut list[..8] {
        *recipe = (recipe.0, 11, 20.0);
    }
    list[10].2 = 30.0;
    mount(list.clone()).await;
    cycle(&app).await.expect("completions and a start");
    let requests = server.received_requests().await.unwrap();
    assert_eq!((1..=8).map(|id| jobs_calls(&requests, id)).sum::<usize>(), 24);
    assert_eq!(jobs_calls(&requests, 11), 3, "the start, read in spare room");

    // A job starts on 12: the three requests left are the reserve; the read
    // waits for spare room until the next cycle, then gives up.
    list[11].2 = 40.0;
    mount(list.clone()).await;
    cycle(&app).await.expect("a start in no spare room");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(jobs_calls(&requests, 12), 0, "the start is left for a later cycle");
    assert_eq!(
        app.samples()
            .await
            .value("workato_recipe_jobs_pending", &[("recipe_id", "11")]),
        1.0
    );

    // A completion on 9 is read at once, from the reserve.
    list[8] = (9, 11, 50.0);
    mount(list.clone()).await;
    cycle(&app).await.expect("a completion");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(jobs_calls(&requests, 9), 3);
    assert_eq!(jobs_calls(&requests, 12), 0);
    assert_eq!(observed(&app.samples().await, "9", "succeeded"), (1.0, 1.0));
}
