//! A Workato-compatible server that misbehaves on purpose: huge
//! `Retry-After`s, endless and huge replies, redirects to other hosts,
//! endless pages, counters that go back, an empty list out of nowhere,
//! duplicate ids, an unwritable state file. Nothing may panic, wedge,
//! bloat, leak a credential or count twice.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};
use workato_exporter::client::{Client, ClientOptions, MAX_HOLD, NoObserver};
use workato_exporter::error::Error;
use workato_exporter::snapshot::Collector;

use crate::helpers::{ListPages, TOKEN, TestApp, config_with, fast_options, fixture, mount_workspace};

fn client_for(base_url: &str, extra: &[&str], options: ClientOptions) -> Client {
    let config = config_with(base_url, extra);
    Client::with_options(
        &config.workspaces[0].base_url,
        &config.workspaces[0].auth,
        config.workspaces[0].requests_per_minute,
        options,
        std::sync::Arc::new(NoObserver),
    )
    .expect("client builds")
}

#[tokio::test]
async fn a_retry_after_of_u64_max_or_a_billion_seconds_holds_the_group_15_minutes_at_most() {
    for huge in ["18446744073709551615", "1000000000", "Fri, 31 Dec 9999 23:59:59 GMT"] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/connections"))
            .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", huge))
            .expect(1)
            .mount(&server)
            .await;
        let client = client_for(&server.uri(), &[], fast_options());
        let error = client.connections().await.unwrap_err();
        assert!(
            matches!(error, Error::Throttled { retry_after, .. } if retry_after == MAX_HOLD),
            "{huge}: {error:?}"
        );
        let wait = client
            .budget()
            .try_acquire(workato_exporter::client::Group::Connections)
            .unwrap_err();
        assert!(
            wait.saturating_duration_since(tokio::time::Instant::now()) <= MAX_HOLD,
            "{huge}: the group is held longer than the cap"
        );
    }
}

/// A server that answers every request with a 200 whose body never ends
/// (chunked, no length), or declares a length it would take long to send.
async fn endless_server(declare_length: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let head = if declare_length {
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1073741824\r\n\r\n"
                } else {
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
                };
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b' '; 64 * 1024];
                let framed = [
                    format!("{:x}\r\n", chunk.len()).into_bytes(),
                    chunk.clone(),
                    b"\r\n".to_vec(),
                ]
                .concat();
                loop {
                    let bytes = if declare_length { &chunk } else { &framed };
                    if socket.write_all(bytes).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn an_endless_or_gigabyte_reply_is_cut_at_the_size_cap_not_buffered() {
    for declare_length in [false, true] {
        let base = endless_server(declare_length).await;
        let options = ClientOptions {
            max_reply_bytes: 1024 * 1024,
            timeout: Duration::from_secs(10),
            ..fast_options()
        };
        let error = client_for(&base, &[], options).connections().await.unwrap_err();
        assert!(
            matches!(error, Error::TooLarge { limit: 1_048_576, .. }),
            "declared length {declare_length}: {error:?}"
        );
    }
}

#[tokio::test]
async fn a_redirect_to_another_host_sends_it_no_credential_and_no_request() {
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let workato = MockServer::start().await;
    for status in [301, 302, 307, 308] {
        workato.reset().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("Location", format!("{}/api/connections", elsewhere.uri()).as_str()),
            )
            .mount(&workato)
            .await;
        let client = client_for(&workato.uri(), &["--workato.email", "ops@example.com"], fast_options());
        let error = client.connections().await.unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("not followed") && text.contains("127.0.0.1"),
            "{status}: {text}"
        );
        assert!(!text.contains(TOKEN));
        let sent = workato.received_requests().await.unwrap().len();
        assert_eq!(sent, 1, "{status}: one request sent, not a redirect loop");
    }
    elsewhere.verify().await;
}

#[tokio::test]
async fn endless_api_endpoint_pages_stop_at_the_cap_and_mark_the_collector_down() {
    let server = MockServer::start().await;
    mount_workspace(&server).await;
    // Every page full of new ids, for ever.
    for page in 1..=101u64 {
        let items: Vec<Value> = (0..100)
            .map(|i| json!({"id": page * 1000 + i, "name": "e", "active": true}))
            .collect();
        Mock::given(method("GET"))
            .and(path("/api/api_endpoints"))
            .and(query_param("page", page.to_string().as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(items))
            .with_priority(1)
            .mount(&server)
            .await;
    }
    let config = config_with(&server.uri(), &["--workato.requests-per-minute", "1000"]);
    let app = TestApp::spawn_with(config, fast_options()).await;
    let error = app.poll_once_failing(Collector::ApiPlatform).await;
    assert!(error.contains("more than 100 pages"), "{error}");
    let s = app.samples().await;
    assert_eq!(s.value("workato_collector_up", &[("collector", "api_platform")]), 0.0);
}

/// Serves `first` to the first recipes call (the sweep that baselines the
/// recipes), then `then` (the sweeps that see them moved).
async fn recipes_then(server: &MockServer, first: Value, then: Value) {
    Mock::given(method("GET"))
        .and(path("/api/recipes"))
        .respond_with(ListPages::new(first, 100))
        .up_to_n_times(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/recipes"))
        .respond_with(ListPages::new(then, 100))
        .mount(server)
        .await;
}

#[tokio::test]
async fn an_endless_jobs_walk_stops_at_the_cap_and_the_other_recipes_are_still_read() {
    let server = MockServer::start().await;
    let recipes = json!({"items": [
        {"id": 2, "name": "endless", "running": true, "job_succeeded_count": 1, "job_failed_count": 0},
        {"id": 1, "name": "calm", "running": true, "job_succeeded_count": 1, "job_failed_count": 0},
    ]});
    // First sight baselines both recipes; then both move.
    let moved = json!({"items": [
        {"id": 2, "name": "endless", "running": true, "job_succeeded_count": 2, "job_failed_count": 0},
        {"id": 1, "name": "calm", "running": true, "job_succeeded_count": 2, "job_failed_count": 0},
    ]});
    recipes_then(&server, recipes, moved).await;
    // Recipe 2 has no job at calibration, then an endless history: every
    // page, whatever its offset, holds 50 jobs never seen before.
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let endless = {
        let counter = std::sync::Arc::clone(&counter);
        move |_: &wiremock::Request| {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let jobs: Vec<Value> = (0..50)
                .map(|i| json!({"id": format!("j-{n}-{i}"), "started_at": null, "completed_at": "2026-01-01T00:00:00Z", "status": "succeeded"}))
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({"items": jobs}))
        }
    };
    Mock::given(method("GET"))
        .and(path("/api/recipes/2/jobs"))
        .respond_with(endless)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/api/recipes/1/jobs$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": []})))
        .mount(&server)
        .await;
    let config = config_with(&server.uri(), &["--workato.requests-per-minute", "10000"]);
    let app = TestApp::spawn_with(config, fast_options()).await;
    app.poller.poll_once(Collector::Recipes).await.unwrap();
    app.poller.poll_once(Collector::Jobs).await.unwrap();
    app.poller.poll_once(Collector::Recipes).await.unwrap();
    // The moved endless recipe's first read lists its running jobs: at
    // most 20 pages (older pages would stop at 100 a cycle, a forward walk
    // at 100). Either way the read ends, with an error.
    let error = app.poll_once_failing(Collector::Jobs).await;
    assert!(error.contains("went on for more than"), "{error}");
    let calls = counter.load(std::sync::atomic::Ordering::Relaxed);
    assert!(calls <= 102, "{calls} pages read for one recipe in one cycle");
    let to_calm = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/api/recipes/1/jobs")
        .count();
    assert!(to_calm >= 1, "the other recipe was starved");
}

/// A server whose recipe 5 is first seen with 10 completed jobs, the last
/// at 00:00:00.250, then `by` more, the last at 00:10:00.250, and no job
/// running: its first read is what the test mounts.
async fn recipe_5_moving_by(by: u64) -> MockServer {
    let server = MockServer::start().await;
    let recipe = |succeeded: u64, last: &str| {
        json!({"items": [{"id": 5, "name": "r", "running": true, "job_succeeded_count": succeeded,
                          "job_failed_count": 0, "last_run_at": last, "last_job_started_at": last}]})
    };
    recipes_then(
        &server,
        recipe(10, "2026-01-01T00:00:00.250Z"),
        recipe(10 + by, "2026-01-01T00:10:00.250Z"),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/api/recipes/5/jobs"))
        .and(query_param("status", "pending"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": []})))
        .with_priority(1)
        .mount(&server)
        .await;
    server
}

/// Baselines recipe 5, sees it move, then runs jobs cycles until the first
/// read stops advancing, `stuck` more times: the jobs counted.
async fn first_read_until_stuck(server: &MockServer, stuck: usize) -> f64 {
    let config = config_with(&server.uri(), &["--workato.requests-per-minute", "10000"]);
    let app = TestApp::spawn_with(config, fast_options()).await;
    app.poller.poll_once(Collector::Recipes).await.unwrap();
    app.poller.poll_once(Collector::Jobs).await.unwrap();
    app.poller.poll_once(Collector::Recipes).await.unwrap();
    for _ in 0..stuck {
        let error = app.poll_once_failing(Collector::Jobs).await;
        assert!(error.contains("does not advance"), "{error}");
    }
    app.samples().await.value(
        "workato_job_duration_seconds_count",
        &[("recipe_id", "5"), ("status", "succeeded")],
    )
}

#[tokio::test]
async fn a_first_read_from_a_server_that_ignores_the_offset_counts_its_page_once() {
    let server = recipe_5_moving_by(3).await;
    // Three jobs started after the baseline, whatever the offset asked.
    let jobs: Vec<Value> = (0..3)
        .map(|i| {
            json!({"id": format!("j-{i}"), "status": "succeeded",
                   "started_at": format!("2026-01-01T00:0{}:00Z", 7 + i),
                   "completed_at": format!("2026-01-01T00:0{}:01Z", 7 + i)})
        })
        .collect();
    Mock::given(method("GET"))
        .and(path("/api/recipes/5/jobs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": jobs})))
        .mount(&server)
        .await;
    let counted = first_read_until_stuck(&server, 3).await;
    assert_eq!(counted, 3.0, "the page's three jobs, once, however often it comes back");
}

#[tokio::test]
async fn a_first_read_counts_once_the_jobs_its_pages_list_again() {
    let server = recipe_5_moving_by(5).await;
    let job = |id: &str, started: &str| json!({"id": id, "status": "succeeded", "started_at": started, "completed_at": "2026-01-01T00:09:30Z"});
    // Every job started after the baseline: each is new, once.
    let pages = [
        (
            None,
            vec![
                job("j-5", "2026-01-01T00:09:00Z"),
                job("j-4", "2026-01-01T00:08:00.500Z"),
            ],
        ),
        // Started in the same second as the cursor, "j-3" may list it again.
        (
            Some("j-4"),
            vec![
                job("j-4", "2026-01-01T00:08:00.500Z"),
                job("j-3", "2026-01-01T00:08:00.200Z"),
            ],
        ),
        // "j-5" again, a minute after the cursor: counting "j-2" would
        // mean taking the page, and "j-5" with it.
        (
            Some("j-3"),
            vec![job("j-5", "2026-01-01T00:09:00Z"), job("j-2", "2026-01-01T00:07:00Z")],
        ),
    ];
    for (offset, items) in pages {
        let mock = Mock::given(method("GET")).and(path("/api/recipes/5/jobs"));
        let reply = ResponseTemplate::new(200).set_body_json(json!({"items": items}));
        match offset {
            Some(offset) => mock
                .and(query_param("offset_job_id", offset))
                .respond_with(reply)
                .with_priority(2),
            None => mock.respond_with(reply).with_priority(3),
        }
        .mount(&server)
        .await;
    }
    let counted = first_read_until_stuck(&server, 2).await;
    assert_eq!(counted, 4.0, "j-5, j-4, j-3 and j-2, each once");
}

fn recipe_with_counts(succeeded: u64, failed: u64) -> Value {
    json!({"items": [{"id": 7, "name": "r", "running": true, "job_succeeded_count": succeeded,
                      "job_failed_count": failed, "lifetime_task_count": 100}]})
}

#[tokio::test]
async fn counters_never_go_back_when_workatos_do() {
    let server = MockServer::start().await;
    let app = TestApp::spawn(&server).await;
    for (succeeded, failed) in [(50, 10), (48, 5), (51, 10)] {
        server.reset().await;
        Mock::given(method("GET"))
            .and(path("/api/recipes"))
            .respond_with(ListPages::new(recipe_with_counts(succeeded, failed), 100))
            .mount(&server)
            .await;
        app.poller.poll_once(Collector::Recipes).await.unwrap();
        let s = app.samples().await;
        let labels = [("recipe_id", "7")];
        assert!(s.value("workato_recipe_jobs_succeeded_total", &labels) >= 50.0);
        assert_eq!(s.value("workato_recipe_jobs_failed_total", &labels), 10.0);
    }
    let s = app.samples().await;
    assert_eq!(
        s.value("workato_recipe_jobs_succeeded_total", &[("recipe_id", "7")]),
        51.0
    );
    assert_eq!(s.value("workato_recipe_lifetime_decreases_total", &[]), 2.0);
}

#[tokio::test]
async fn one_empty_recipes_list_is_read_again_before_it_wipes_anything() {
    let server = MockServer::start().await;
    mount_workspace(&server).await;
    let app = TestApp::spawn(&server).await;
    app.poller.poll_once(Collector::Recipes).await.unwrap();
    // One glitch: the next list is empty once, then right again.
    Mock::given(method("GET"))
        .and(path("/api/recipes"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": []})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    app.poller.poll_once(Collector::Recipes).await.unwrap();
    let s = app.samples().await;
    assert_eq!(
        s.find("workato_recipe_running", &[]).len(),
        3,
        "the glitch was read again"
    );
}

#[tokio::test]
async fn duplicate_ids_become_one_series() {
    let server = MockServer::start().await;
    mount_workspace(&server).await;
    let mut connections = fixture("connections.json");
    let first = connections[0].clone();
    connections.as_array_mut().unwrap().push(first);
    Mock::given(method("GET"))
        .and(path("/api/connections"))
        .respond_with(ResponseTemplate::new(200).set_body_json(connections))
        .with_priority(1)
        .mount(&server)
        .await;
    let mut endpoints = fixture("api_endpoints.json");
    let first = endpoints[0].clone();
    endpoints.as_array_mut().unwrap().push(first);
    Mock::given(method("GET"))
        .and(path("/api/api_endpoints"))
        .respond_with(ListPages::new(endpoints, 100))
        .with_priority(1)
        .mount(&server)
        .await;
    let app = TestApp::spawn(&server).await;
    assert!(app.poll_all().await.is_empty());
    let text = app.scrape().await;
    let mut lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    let all = lines.len();
    lines.sort_unstable();
    lines.dedup();
    assert_eq!(lines.len(), all, "a series appears twice");
    let s = app.samples().await;
    let id = fixture("connections.json")[0]["id"].to_string();
    assert_eq!(
        s.find("workato_connection_info", &[("connection_id", id.as_str())])
            .len(),
        1
    );
}

#[tokio::test]
async fn an_unwritable_state_file_is_counted_not_only_logged() {
    let server = MockServer::start().await;
    mount_workspace(&server).await;
    let config = config_with(
        &server.uri(),
        &[
            "--jobs.state-file",
            "/proc/workato-exporter-cannot-write-here/jobs.json",
        ],
    );
    let app = TestApp::spawn_with(config, fast_options()).await;
    app.poller.poll_once(Collector::Recipes).await.unwrap();
    app.poller.poll_once(Collector::Jobs).await.unwrap();
    let s = app.samples().await;
    assert!(s.value("workato_jobs_state_file_errors_total", &[]) >= 1.0);
}
