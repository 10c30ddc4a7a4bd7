//! The exposition of several workspaces in one process: every family once,
//! under one `# HELP`/`# TYPE`, with each workspace's series, as parsers
//! nobody here wrote read it.

use std::process::Command;
use std::sync::Arc;

use wiremock::MockServer;
use workato_exporter::Workspace;
use workato_exporter::metrics::{ExporterMetrics, Format, Metrics};
use workato_exporter::snapshot::Collector;

use crate::helpers::{Samples, config_with, fast_options, mount_workspace, pipe_through};
use crate::promtool::promtool;

/// A workspace labelled `name` polled once from its own mock Workato.
async fn polled(name: &str) -> (MockServer, Workspace) {
    let server = MockServer::start().await;
    mount_workspace(&server).await;
    let mut config = config_with(&server.uri(), &[]).workspaces.remove(0);
    config.name = name.to_string();
    let workspace = Workspace::new(&config, fast_options(), Arc::default()).expect("workspace builds");
    for collector in Collector::ALL {
        workspace.poller.poll_once(collector).await.expect("the fixture polls");
    }
    (server, workspace)
}

pub(crate) fn promtool_check(body: &str) -> String {
    let (ok, printed) = pipe_through(Command::new(promtool()).args(["check", "metrics"]), body);
    assert!(ok, "promtool failed:\n{printed}");
    printed
}

#[tokio::test]
async fn two_workspaces_make_one_exposition_with_each_family_once() {
    let (_a, prod) = polled("prod").await;
    let (_b, dev) = polled("dev").await;
    prod.self_metrics.observe_admin("recipe_start", 200);
    dev.self_metrics.observe_admin("recipe_stop", 200);
    let metrics = Metrics::new(Arc::new(ExporterMetrics::new(None)));
    metrics.set_sources(vec![prod.source(), dev.source()]);
    let body: String = metrics
        .scrape(Format::Text, false)
        .chunks
        .iter()
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect();

    let printed = promtool_check(&body);
    assert_eq!(printed.trim(), "", "promtool check metrics printed:\n{printed}");

    let types: Vec<&str> = body.lines().filter(|l| l.starts_with("# TYPE ")).collect();
    let mut unique = types.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), types.len(), "a family is announced twice");
    let samples = Samples::parse(&body);
    let mut checked = 0;
    for line in &types {
        let family = line.split(' ').nth(2).unwrap_or_default();
        if !family.starts_with("workato_") || family.starts_with("workato_exporter_") {
            continue;
        }
        let of = |workspace: &str| {
            samples
                .0
                .iter()
                .any(|s| s.name.starts_with(family) && s.labels.get("workspace").map(String::as_str) == Some(workspace))
        };
        assert!(of("dev") && of("prod"), "{family} lacks a workspace's series");
        checked += 1;
    }
    assert!(checked >= 25, "only {checked} workspace families");
    for (workspace, action) in [("dev", "recipe_stop"), ("prod", "recipe_start")] {
        assert_eq!(
            samples.value(
                "workato_admin_requests_total",
                &[("workspace", workspace), ("action", action)]
            ),
            1.0
        );
    }
    assert_eq!(samples.find("workato_exporter_build_info", &[]).len(), 1);
}
