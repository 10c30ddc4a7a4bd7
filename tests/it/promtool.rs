//! `promtool check metrics` on a live scrape: the exposition follows
//! Prometheus's naming and format rules with nothing to report.

use std::process::Command;

use crate::helpers::{TestApp, pipe_through, repo_path, run_tool};

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

    let (ok, printed) = pipe_through(Command::new(&promtool).args(["check", "metrics"]), body);
    assert!(ok, "promtool failed:\n{printed}");
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

/// Where every `runbook_url` points: the README's section of the alert.
/// README.md ("Alerts and runbooks") says how to point them elsewhere.
const RUNBOOK_BASE: &str = "https://github.com/workato-exporter/workato_exporter/blob/main/README.md";

/// One alerting rule, read from the YAML's lines: its name, its `for` in
/// seconds (0 without), and its block of text.
struct AlertRule {
    name: String,
    for_seconds: u64,
    text: String,
}

fn alert_rules() -> Vec<AlertRule> {
    let yaml = std::fs::read_to_string(repo_path("prometheus/rules/workato-alerts.yml")).unwrap();
    let mut rules: Vec<AlertRule> = Vec::new();
    for line in yaml.lines() {
        if let Some(name) = line.trim().strip_prefix("- alert: ") {
            rules.push(AlertRule {
                name: name.trim().to_string(),
                for_seconds: 0,
                text: String::new(),
            });
        } else if line.starts_with("  - name: ") {
            continue;
        } else if let Some(rule) = rules.last_mut() {
            if let Some(duration) = line.trim().strip_prefix("for: ") {
                rule.for_seconds = workato_exporter::config::parse_duration(duration)
                    .unwrap_or_else(|e| panic!("{}: for: {duration}: {e}", rule.name))
                    .as_secs();
            }
            rule.text.push_str(line);
            rule.text.push('\n');
        }
    }
    assert!(rules.len() >= 12, "only {} alerts read", rules.len());
    rules
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
    let tested = std::fs::read_to_string(&tests).unwrap();
    for rule in alert_rules() {
        assert!(
            tested.contains(&format!("alertname: {}", rule.name)),
            "{} has no promtool unit test",
            rule.name
        );
    }
}

#[test]
fn every_alert_says_how_bad_what_where_and_links_its_runbook() {
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    let mut names = std::collections::BTreeSet::new();
    for rule in alert_rules() {
        let name = &rule.name;
        assert!(names.insert(name.clone()), "{name} is defined twice");
        let severity = rule
            .text
            .lines()
            .find_map(|l| l.trim().strip_prefix("severity: "))
            .unwrap_or_else(|| panic!("{name} has no severity"));
        assert!(
            ["critical", "warning", "info"].contains(&severity),
            "{name}: severity {severity}"
        );
        for annotation in ["summary: ", "description: "] {
            assert!(rule.text.contains(annotation), "{name} has no {annotation}");
        }
        let description = rule
            .text
            .lines()
            .find_map(|l| l.trim().strip_prefix("description: "))
            .unwrap_or_default();
        assert!(
            description.contains("$labels.workspace")
                || description.contains("$labels.instance")
                || name == "WorkatoExporterAbsent",
            "{name}: the description names neither the workspace nor the exporter"
        );
        let runbook = format!("runbook_url: \"{RUNBOOK_BASE}#{}\"", name.to_lowercase());
        assert!(rule.text.contains(&runbook), "{name}: expected {runbook}");
        assert!(
            readme.contains(&format!("\n### {name}\n")),
            "{name} has no runbook section in the README"
        );
        assert!(
            readme.contains(&format!("| `{name}` |")),
            "{name} is missing from the README's table of alerts in the demo"
        );
    }
}

/// Each scripted incident of the demo outlasts, at `--demo.speed 10`, the
/// `for` of the alerts it drives, plus a minute for the demo's 10-second
/// polls and a scrape and an evaluation of up to 30 s each (and, for the
/// failure alerts, the 2.5 minutes a 5-minute ratio takes to pass a half).
/// The end-to-end test watches the first cycle; this keeps every cycle so.
#[test]
fn every_incident_of_the_demo_outlasts_its_alerts_at_speed_10() {
    use workato_sim::script;
    let rules = alert_rules();
    let for_of = |name: &str| {
        rules
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no alert {name}"))
            .for_seconds
    };
    let incidents = [
        (
            "storm recipe stopped",
            // Workato stops it within a minute of the ramp's end at the latest.
            script::STORM_RESTART - script::STORM_RAMP - 60,
            "WorkatoRecipeStoppedByWorkato",
            0,
        ),
        (
            "transaction quota",
            script::QUOTA_STOPPED.1 - script::QUOTA_STOPPED.0,
            "WorkatoRecipeStoppedByWorkato",
            0,
        ),
        (
            "endpoint disabled",
            script::ENDPOINT_DISABLED.1 - script::ENDPOINT_DISABLED.0,
            "WorkatoApiEndpointDisabledWhileRecipeRuns",
            0,
        ),
        (
            "connection lost",
            script::CONNECTION_LOST.1 - script::CONNECTION_LOST.0,
            "WorkatoConnectionBroken",
            0,
        ),
        (
            "connection lost",
            script::CONNECTION_LOST.1 - script::CONNECTION_LOST.0,
            "WorkatoRecipeJobsFailing",
            150,
        ),
        (
            "connection lost",
            script::CONNECTION_LOST.1 - script::CONNECTION_LOST.0,
            "WorkatoManyRecipesFailing",
            150,
        ),
    ];
    for (incident, simulated, alert, rise) in incidents {
        let real = simulated / 10;
        let needed = for_of(alert) + 60 + rise;
        assert!(
            real >= needed,
            "{incident} lasts {real} s at speed 10; {alert} needs {needed} s"
        );
    }
    let last_end = [
        script::STORM_RESTART,
        script::QUOTA_STOPPED.1,
        script::ENDPOINT_DISABLED.1,
        script::CONNECTION_LOST.1,
    ]
    .into_iter()
    .max()
    .unwrap_or_default();
    // The failure alerts' 5-minute ratios fade within 5 real minutes.
    assert!(
        workato_sim::INCIDENT_CYCLE >= last_end + 5 * 60 * 10,
        "the cycle leaves no calm for the alerts to resolve"
    );
}
