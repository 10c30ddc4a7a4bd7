//! Polling against wiremock: the snapshot and /metrics follow Workato,
//! failures keep the last good data, and the exporter recovers by itself.

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use workato_exporter::snapshot::Collector;

use crate::helpers::{TOKEN, TestApp, fixture, mount_workspace};

#[tokio::test]
async fn one_poll_fills_every_collector_and_readiness() {
    let server = MockServer::start().await;
    mount_workspace(&server).await;
    let app = TestApp::spawn(&server).await;
    assert_eq!(app.get("/readyz").await.status(), 503);
    assert!(app.poll_all().await.is_empty());
    assert_eq!(app.get("/readyz").await.status(), 200);
    let samples = app.samples().await;
    assert_eq!(samples.value("workato_up", &[("workspace", "acme")]), 1.0);
    for collector in Collector::ALL {
        assert_eq!(
            samples.value("workato_collector_up", &[("collector", collector.name())]),
            1.0
        );
    }
}

#[tokio::test]
async fn a_deleted_recipe_connection_and_endpoint_disappear_at_the_next_poll() {
    let (server, app) = TestApp::polled_fixture().await;
    let before = app.samples().await;
    assert!(before.has("workato_recipe_running", &[("recipe_id", "1913513")]));
    assert!(before.has("workato_connection_authorized", &[("connection_id", "772463")]));
    assert!(before.has("workato_api_endpoint_active", &[("endpoint_id", "9905")]));

    server.reset().await;
    let mut recipes = fixture("recipes.json");
    recipes["items"].as_array_mut().unwrap().retain(|r| r["id"] != 1913513);
    let mut connections = fixture("connections.json");
    connections.as_array_mut().unwrap().retain(|c| c["id"] != 772463);
    let mut endpoints = fixture("api_endpoints.json");
    endpoints.as_array_mut().unwrap().retain(|e| e["id"] != 9905);
    Mock::given(method("GET"))
        .and(path("/api/recipes"))
        .respond_with(crate::helpers::ListPages::new(recipes, 100))
        .mount(&server)
        .await;
    for (route, body) in [
        ("/api/api_collections", fixture("api_collections.json")),
        ("/api/api_endpoints", endpoints),
    ] {
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(crate::helpers::ListPages::new(body, 100))
            .mount(&server)
            .await;
    }
    for (route, body) in [
        ("/api/users/me", fixture("users_me.json")),
        ("/api/connections", connections),
    ] {
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    crate::helpers::mount_jobs(&server).await;
    assert!(app.poll_all().await.is_empty());
    let after = app.samples().await;
    for name in [
        "workato_recipe_running",
        "workato_recipe_info",
        "workato_recipe_jobs_succeeded_total",
        "workato_recipe_stop_cause",
    ] {
        assert!(
            !after.has(name, &[("recipe_id", "1913513")]),
            "{name} still shows the deleted recipe"
        );
    }
    assert!(after.has("workato_recipe_running", &[("recipe_id", "1913515")]));
    assert!(!after.has("workato_connection_info", &[("connection_id", "772463")]));
    assert!(!after.has("workato_api_endpoint_active", &[("endpoint_id", "9905")]));
}

#[tokio::test]
async fn server_errors_keep_the_last_good_values_with_up_zero_then_recover() {
    let (server, app) = TestApp::polled_fixture().await;

    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"message": "Server error"})))
        .mount(&server)
        .await;
    let failed = app.poll_all().await;
    // Jobs had nothing to read: the recipes it follows did not move.
    assert_eq!(failed.len(), Collector::ALL.len() - 1, "{failed:?}");
    let during = app.samples().await;
    assert_eq!(during.value("workato_up", &[]), 0.0);
    assert_eq!(during.value("workato_collector_up", &[("collector", "recipes")]), 0.0);
    assert_eq!(
        during.value("workato_recipe_jobs_succeeded_total", &[("recipe_id", "1913515")]),
        5402.0,
        "last good value kept"
    );
    assert!(
        during.value(
            "workato_collector_last_success_timestamp_seconds",
            &[("collector", "recipes")]
        ) > 0.0
    );
    assert!(
        app.get("/").await.text().await.unwrap().contains("Server error"),
        "landing page shows the failure"
    );

    server.reset().await;
    mount_workspace(&server).await;
    assert!(app.poll_all().await.is_empty());
    assert_eq!(app.samples().await.value("workato_up", &[]), 1.0);
}

#[tokio::test]
async fn a_rejected_token_sets_up_to_zero_and_polling_goes_on() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"message": "Unauthorized"})))
        .mount(&server)
        .await;
    let app = TestApp::spawn(&server).await;
    let failed = app.poll_all().await;
    // Jobs had no recipe to read (the recipes sweep failed), so nothing failed there.
    assert_eq!(
        failed.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
        Collector::ALL
            .into_iter()
            .filter(|c| *c != Collector::Jobs)
            .collect::<Vec<_>>()
    );
    assert!(
        failed.iter().all(|(_, e)| e.contains("401") && !e.contains(TOKEN)),
        "{failed:?}"
    );
    let samples = app.samples().await;
    assert_eq!(samples.value("workato_up", &[]), 0.0);
    assert!(
        samples
            .find("workato_api_requests_total", &[("code", "401")])
            .iter()
            .map(|s| s.value)
            .sum::<f64>()
            >= 4.0
    );

    // The token is fixed (say, rotated in Workato): the next poll recovers.
    server.reset().await;
    mount_workspace(&server).await;
    assert!(app.poll_all().await.is_empty());
    assert_eq!(app.samples().await.value("workato_up", &[]), 1.0);
}

#[tokio::test]
async fn a_missing_privilege_downs_only_that_collector_and_names_the_privilege() {
    let server = MockServer::start().await;
    crate::helpers::forbid(&server, "/api/api_collections").await;
    mount_workspace(&server).await;
    let app = TestApp::spawn(&server).await;
    let failed = app.poll_all().await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, Collector::ApiPlatform);
    assert!(failed[0].1.contains("List API collections"), "{}", failed[0].1);
    let samples = app.samples().await;
    assert_eq!(
        samples.value("workato_collector_up", &[("collector", "api_platform")]),
        0.0
    );
    for other in ["recipes", "connections", "workspace"] {
        assert_eq!(samples.value("workato_collector_up", &[("collector", other)]), 1.0);
    }
    assert_eq!(samples.value("workato_up", &[]), 0.0);
    assert!(samples.has("workato_recipe_running", &[]));
}

#[tokio::test]
async fn the_background_loop_polls_at_its_interval_and_stops_on_shutdown() {
    let server = MockServer::start().await;
    mount_workspace(&server).await;
    let config = crate::helpers::config_with(&server.uri(), &["--poll.interval", "1s"]);
    let app = workato_exporter::App::with_client_options(config, crate::helpers::fast_options()).unwrap();
    let poller = std::sync::Arc::clone(&app.workspaces()[0].poller);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(poller.run(shutdown.clone()));
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    shutdown.cancel();
    tokio::time::timeout(std::time::Duration::from_secs(2), task)
        .await
        .expect("poller stops")
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    let recipe_polls = sweeps(&server).await;
    let workspace_polls = requests.iter().filter(|r| r.url.path() == "/api/users/me").count();
    assert!(
        (2..=4).contains(&recipe_polls),
        "recipes polled {recipe_polls} times in 2.5 s at a 1 s interval"
    );
    assert_eq!(workspace_polls, 1, "workspace details poll every 15 minutes");
    assert!(app.workspaces()[0].snapshot.load().ready());
}

#[tokio::test]
async fn timeouts_keep_the_last_good_values_with_up_zero_then_recover() {
    let (server, app) = TestApp::polled_fixture().await;
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([]))
                .set_delay(std::time::Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let failed = app.poll_once_failing(Collector::Recipes).await;
    assert!(failed.contains("timed out"), "{failed}");
    let during = app.samples().await;
    assert_eq!(during.value("workato_up", &[]), 0.0);
    assert_eq!(during.value("workato_collector_up", &[("collector", "recipes")]), 0.0);
    assert_eq!(
        during.find("workato_recipe_running", &[]).len(),
        3,
        "last good recipes kept"
    );

    server.reset().await;
    mount_workspace(&server).await;
    assert!(app.poll_all().await.is_empty());
    assert_eq!(app.samples().await.value("workato_up", &[]), 1.0);
}

#[tokio::test]
async fn a_failed_workspace_poll_is_tried_again_at_the_poll_interval_not_its_own() {
    let server = MockServer::start().await;
    // One poll's worth of 500s (three attempts), then Workato answers.
    Mock::given(method("GET"))
        .and(path("/api/users/me"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_workspace(&server).await;
    let config = crate::helpers::config_with(
        &server.uri(),
        &["--poll.interval", "1s", "--poll.workspace-interval", "1h"],
    );
    let app = TestApp::spawn_with(config, crate::helpers::fast_options()).await;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let polling = tokio::spawn(std::sync::Arc::clone(&app.poller).run(shutdown.clone()));
    let workspace_up = || async {
        app.samples()
            .await
            .value("workato_collector_up", &[("collector", "workspace")])
    };
    // A bound on the wait, not a measurement: the retry is due after 1 s;
    // the collector's own interval is an hour.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut saw_down = false;
    while workspace_up().await != 1.0 {
        saw_down = true;
        assert!(
            tokio::time::Instant::now() < deadline,
            "the workspace collector was not tried again within 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(saw_down, "the first workspace poll failed");
    shutdown.cancel();
    let _ = polling.await;
}

/// Recipes sweeps the server saw (a sweep is its first page, the one
/// without since_id).
async fn sweeps(server: &MockServer) -> usize {
    let requests = server.received_requests().await.unwrap();
    requests
        .iter()
        .filter(|r| r.url.path() == "/api/recipes" && !r.url.query().unwrap_or("").contains("since_id"))
        .count()
}

/// A poller of the fixture workspace at `interval` (resources and jobs),
/// shaped by `shape`, running in the background until `stop` is called.
struct Background {
    shutdown: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Background {
    async fn start(
        server: &MockServer,
        interval: std::time::Duration,
        shape: impl FnOnce(workato_exporter::poller::Poller) -> workato_exporter::poller::Poller,
    ) -> Background {
        use workato_exporter::poller::{Intervals, Poller};
        mount_workspace(server).await;
        let flag = format!("{}s", interval.as_secs());
        let config = crate::helpers::config_with(&server.uri(), &["--poll.interval", &flag]);
        let app = workato_exporter::App::with_client_options(config, crate::helpers::fast_options()).unwrap();
        let workspace = &app.workspaces()[0];
        let intervals = Intervals {
            resources: interval,
            workspace: std::time::Duration::from_secs(900),
            jobs: interval,
        };
        let poller = std::sync::Arc::new(shape(Poller::new(
            workspace.client.clone(),
            std::sync::Arc::clone(&workspace.snapshot),
            std::sync::Arc::clone(&workspace.self_metrics),
            intervals,
            std::sync::Arc::clone(&workspace.jobs),
        )));
        let shutdown = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(poller.run(shutdown.clone()));
        Background { shutdown, task }
    }

    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(std::time::Duration::from_secs(2), self.task)
            .await
            .expect("poller stops")
            .unwrap();
    }
}

/// An Embed admin workspace's customers are spread over the poll interval
/// (`Poller::second_poll_after`): here one whose second polls come half an
/// interval after its first, then every interval.
#[tokio::test]
async fn a_staggered_workspaces_second_poll_comes_when_it_says_then_every_interval() {
    let server = MockServer::start().await;
    let poller = Background::start(&server, std::time::Duration::from_secs(2), |p| p.second_poll_after(0.5)).await;
    // Sweeps at 0, 1, 3 and 5 s (unstaggered: 0, 2 and 4 s).
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    let early = sweeps(&server).await;
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    let later = sweeps(&server).await;
    poller.stop().await;
    assert_eq!(early, 2, "the second sweep half an interval after the first");
    assert_eq!(later, 2, "then a whole interval: none between 1.6 and 2.6 s");
}

#[test]
fn workspaces_second_polls_spread_evenly_over_an_interval() {
    let offsets: Vec<f64> = (0..200)
        .map(|i| workato_exporter::poller::second_poll(&format!("partner/{}", 4_300_000 + i * 7)))
        .collect();
    assert!(offsets.iter().all(|x| (0.5..1.5).contains(x)), "{offsets:?}");
    for tenth in 0..10 {
        let from = 0.5 + f64::from(tenth) / 10.0;
        let held = offsets.iter().filter(|x| (from..from + 0.1).contains(*x)).count();
        assert!((8..=35).contains(&held), "{held} of 200 in [{from}, {})", from + 0.1);
    }
    // xxh3 is specified: every build and platform puts a label at the same
    // place (0.5 + the top 53 bits of xxh3_64 1156063275689024323 / 2^53,
    // checked with Python's xxhash package).
    assert_eq!(
        workato_exporter::poller::second_poll("partner/4300009"),
        0.5626703157516374,
        "the same label, the same place"
    );
}

/// A quiet Embedded customer's recipes sweeps are left out; when the usage
/// statistics show it moved, it is swept at once, not at its next turn (up
/// to an interval later, which the jobs it completed would wait too).
#[tokio::test]
async fn a_quiet_customer_that_moves_is_swept_at_once() {
    let server = MockServer::start().await;
    let quiet = std::sync::Arc::new(workato_exporter::poller::Quiet::default());
    let shared = std::sync::Arc::clone(&quiet);
    let poller = Background::start(&server, std::time::Duration::from_secs(30), |p| p.quiet_when(shared)).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sweeps(&server).await, 1, "the first sweep, at once");
    quiet.set(true);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    quiet.set(true);
    assert_eq!(sweeps(&server).await, 1, "nothing moved: no sweep");
    quiet.set(false);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        sweeps(&server).await,
        2,
        "moved: swept at once, not 30 s after the first"
    );
    poller.stop().await;
}
