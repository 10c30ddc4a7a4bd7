//! `promtool check metrics` on a live scrape: the exposition follows
//! Prometheus's naming and format rules with nothing to report.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::helpers::TestApp;

/// promtool, from PROMTOOL or PATH; the test fails (never skips) without it.
pub fn promtool() -> String {
    let candidate = std::env::var("PROMTOOL").unwrap_or_else(|_| "promtool".to_string());
    match Command::new(&candidate).arg("--version").output() {
        Ok(out) if out.status.success() => candidate,
        _ => panic!(
            "promtool not found (tried {candidate:?}): install Debian's `prometheus` package (apt-get install prometheus) \
             or set PROMTOOL=/path/to/promtool; `bash .ci/run` installs it"
        ),
    }
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
