//! Many workspaces in one process: each a unit of its own, started,
//! stopped and re-applied on reload without touching the others (#15).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};
use workato_exporter::config::WorkspaceConfig;
use workato_exporter::fleet::{Changes, Fleet};
use workato_exporter::metrics::SelfMetrics;

use crate::helpers::{config_with, fast_options, mount_workspace};

/// The settings of a workspace named `name` polling `server`.
fn workspace(name: &str, server: &MockServer) -> WorkspaceConfig {
    let mut config = config_with(&server.uri(), &["--poll.interval", "1h", "--jobs.interval", "1h"])
        .workspaces
        .remove(0);
    config.name = name.to_string();
    config
}

fn fleet(configs: &[WorkspaceConfig]) -> Arc<Fleet> {
    Arc::new(Fleet::new(configs, fast_options(), || Arc::new(SelfMetrics::default()), |_| {}).expect("fleet builds"))
}

/// Requests `server` has received for the recipes list.
async fn recipe_calls(server: &MockServer) -> usize {
    let requests = server.received_requests().await.unwrap_or_default();
    requests.iter().filter(|r| r.url.path() == "/api/recipes").count()
}

/// Waits until `server` has been asked for recipes.
async fn polled(server: &MockServer, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while recipe_calls(server).await == 0 {
        assert!(Instant::now() < deadline, "{what} was never polled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn names(fleet: &Fleet) -> Vec<String> {
    fleet.workspaces().iter().map(|w| w.name.clone()).collect()
}

#[tokio::test]
async fn a_reload_starts_the_new_stops_the_removed_and_leaves_the_rest_running() {
    let (a, b, c) = (
        MockServer::start().await,
        MockServer::start().await,
        MockServer::start().await,
    );
    for server in [&a, &b, &c] {
        mount_workspace(server).await;
    }
    let fleet = fleet(&[workspace("b", &b), workspace("a", &a)]);
    assert_eq!(names(&fleet), ["a", "b"], "sorted by name");
    let shutdown = CancellationToken::new();
    fleet.start(shutdown.clone()).await;
    polled(&a, "a").await;
    polled(&b, "b").await;
    let b_before = fleet.get("b").expect("b watched");

    let changes = fleet.apply(vec![workspace("b", &b), workspace("c", &c)]).await.unwrap();
    assert_eq!(
        changes,
        Changes {
            added: vec!["c".into()],
            removed: vec!["a".into()],
            restarted: vec![],
            unchanged: 1,
        }
    );
    assert_eq!(names(&fleet), ["b", "c"]);
    assert!(Arc::ptr_eq(&b_before, &fleet.get("b").unwrap()), "b untouched");
    // apply returns once a's pollers have ended: it is asked nothing more.
    let a_calls = recipe_calls(&a).await;
    polled(&c, "c, added while running").await;
    assert_eq!(recipe_calls(&a).await, a_calls, "a removed, yet polled");

    // New settings for b: it starts afresh.
    let mut faster = workspace("b", &b);
    faster.poll_interval = Duration::from_secs(1800);
    let changes = fleet.apply(vec![faster, workspace("c", &c)]).await.unwrap();
    assert_eq!(changes.restarted, ["b"]);
    assert!(!Arc::ptr_eq(&b_before, &fleet.get("b").unwrap()));

    // A broken list changes nothing.
    let c_before = fleet.get("c").unwrap();
    let error = fleet
        .apply(vec![workspace("c", &c), workspace("c", &a)])
        .await
        .unwrap_err();
    assert!(error.to_string().contains("\"c\" is configured twice"), "{error}");
    assert_eq!(names(&fleet), ["b", "c"]);
    assert!(Arc::ptr_eq(&c_before, &fleet.get("c").unwrap()));

    shutdown.cancel();
    fleet.stopped().await;
}

#[tokio::test]
async fn a_workspace_that_fails_never_holds_back_the_others() {
    let healthy = MockServer::start().await;
    mount_workspace(&healthy).await;
    let failing = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500).set_body_json(serde_json::json!({"message": "boom"})))
        .mount(&failing)
        .await;
    let refused = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({"message": "Unauthorized"})))
        .mount(&refused)
        .await;
    let fleet = fleet(&[
        workspace("healthy", &healthy),
        workspace("failing", &failing),
        workspace("refused", &refused),
    ]);
    let shutdown = CancellationToken::new();
    fleet.start(shutdown.clone()).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while fleet.workspaces().iter().any(|w| !w.snapshot.load().ready()) {
        assert!(Instant::now() < deadline, "a first poll of every workspace did not end");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ok = fleet.get("healthy").unwrap().snapshot.load();
    assert!(ok.up(), "{:?}", ok.collectors);
    assert!(!ok.recipes.is_empty());
    for name in ["failing", "refused"] {
        let broken = fleet.get(name).unwrap().snapshot.load();
        assert!(!broken.up() && broken.recipes.is_empty(), "{name}");
    }
    let refused = fleet.get("refused").unwrap().snapshot.load();
    let error = refused.collectors.values().find_map(|s| s.last_error.clone()).unwrap();
    assert!(error.contains("401"), "{error}");
    shutdown.cancel();
    fleet.stopped().await;
}
