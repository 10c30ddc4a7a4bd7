//! `promtool check metrics` on a live scrape: the exposition follows
//! Prometheus's naming and format rules with nothing to report.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::helpers::{TestApp, repo_path, run_tool};

/// promtool, from PROMTOOL or PATH; the test fails (never skips) without it.
pub fn promtool() -> String {
    crate::helpers::require_tool(
        "promtool",
        "PROMTOOL",
        "install Debian's `prometheus` package (apt-get install prometheus)",
    )
}

#[tokio::test]
async fn promtool_check_metrics_finds_nothing_to_report_on_a_live_scrape() {
    let promtool = promtool();
    let (_server, app) = TestApp::polled_fixture().await;
    let body = app.scrape().await;

    let mut child = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool starts");
    child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool failed:\n{printed}");
    assert_eq!(printed.trim(), "", "promtool check metrics printed:\n{printed}");
}

#[test]
fn the_alerting_and_recording_rules_are_valid() {
    let rules: Vec<String> = ["workato-recording.yml", "workato-alerts.yml"]
        .iter()
        .map(|f| repo_path(&format!("prometheus/rules/{f}")))
        .collect();
    let (ok, printed) = run_tool(Command::new(promtool()).args(["check", "rules"]).args(&rules));
    assert!(
        ok,
        "promtool check rules:
{printed}"
    );
}

#[test]
fn every_alert_has_a_unit_test_that_passes() {
    let tests = repo_path("prometheus/tests/workato-alerts.test.yml");
    let (ok, printed) = run_tool(Command::new(promtool()).args(["test", "rules", &tests]));
    assert!(
        ok,
        "promtool test rules:
{printed}"
    );
    let alerts = std::fs::read_to_string(repo_path("prometheus/rules/workato-alerts.yml")).unwrap();
    let tested = std::fs::read_to_string(&tests).unwrap();
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    for name in alerts.lines().filter_map(|l| l.trim().strip_prefix("- alert: ")) {
        assert!(
            tested.contains(&format!("alertname: {name}")),
            "{name} has no promtool unit test"
        );
        assert!(
            readme.contains(&format!("### {name}")),
            "{name} has no runbook section in the README"
        );
    }
}
