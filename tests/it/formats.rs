//! `/metrics` in each format it negotiates, read by parsers nobody here
//! wrote: OpenMetrics by the `prometheus_client` Python package's parser
//! (strict: it refuses what the spec refuses), text by `promtool check
//! metrics`; the protobuf format by a real Prometheus in `exemplars.rs`.

use std::io::Read;
use std::process::Command;

use workato_sim::{self as sim, SimConfig};

use crate::helpers::{TestApp, config_with, fast_options, pipe_through, repo_path};

pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
pub const PROTOBUF: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// A Python with `prometheus_client`: `WORKATO_TEST_PYTHON`, else the venv
/// `.ci/run` makes, else `python3`. The test fails, never skips, without it.
pub fn python_with_prometheus_client() -> String {
    let venv = repo_path(".ci/venv/bin/python");
    let candidates = [
        std::env::var("WORKATO_TEST_PYTHON").ok(),
        Some(venv).filter(|p| std::path::Path::new(p).exists()),
        Some("python3".to_string()),
    ];
    for python in candidates.into_iter().flatten() {
        let ok = Command::new(&python)
            .args(["-c", "import prometheus_client.openmetrics.parser"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return python;
        }
    }
    panic!(
        "no Python with the prometheus_client package: `python3 -m venv .ci/venv && .ci/venv/bin/pip install prometheus-client` \
         (`bash .ci/run` does it), or set WORKATO_TEST_PYTHON=/path/to/python"
    );
}

/// Parses `body` with prometheus_client's OpenMetrics parser; returns what
/// it printed: one line per family (`name type unit`), then one per
/// exemplar (`sample job_id recipe_id value timestamp`).
pub(crate) fn parse_openmetrics(body: &str) -> String {
    const SCRIPT: &str = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    print("family", family.name, family.type, family.unit or "-")
    for s in family.samples:
        if s.exemplar:
            e = s.exemplar
            print("exemplar", s.name, e.labels["job_id"], e.labels["recipe_id"], e.value, e.timestamp)
"#;
    let (ok, printed) = pipe_through(Command::new(python_with_prometheus_client()).args(["-c", SCRIPT]), body);
    assert!(ok, "prometheus_client refused the OpenMetrics exposition:\n{printed}");
    printed
}

/// A simulator on a hand-moved clock and an exporter polling it without a
/// budget to wait for.
pub async fn unthrottled() -> (sim::Running, TestApp) {
    let running = sim::spawn(SimConfig {
        speed: 0.0,
        incidents: false,
        jobs_per_minute: 600.0,
        rate_limit: std::num::NonZeroU32::new(60_000).expect("non-zero"),
        ..SimConfig::demo()
    })
    .await
    .expect("simulator starts");
    let config = config_with(&running.base_url(), &["--workato.requests-per-minute", "60000"]);
    let app = TestApp::spawn_with(config, fast_options()).await;
    (running, app)
}

/// An exporter that has counted some of the simulator's jobs.
async fn with_jobs() -> (sim::Running, TestApp) {
    let (running, app) = unthrottled().await;
    assert!(app.poll_all().await.is_empty());
    for _ in 0..3 {
        running.simulator.advance(120);
        assert!(app.poll_all().await.is_empty());
    }
    (running, app)
}

async fn get(app: &TestApp, accept: &str, gzip: bool) -> (String, Vec<u8>) {
    let mut request = reqwest::Client::new().get(app.url("/metrics")).header("accept", accept);
    if gzip {
        request = request.header("accept-encoding", "gzip");
    }
    let response = request.send().await.expect("exporter answers");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
    let gzipped = response.headers().get("content-encoding").is_some();
    assert_eq!(gzipped, gzip);
    let body = response.bytes().await.unwrap().to_vec();
    if !gzip {
        return (content_type, body);
    }
    let mut inflated = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_end(&mut inflated)
        .expect("valid gzip");
    (content_type, inflated)
}

#[tokio::test]
async fn openmetrics_passes_the_python_parser_with_units_counters_and_exemplars() {
    let (running, app) = with_jobs().await;
    let (content_type, body) = get(&app, "application/openmetrics-text;version=1.0.0", false).await;
    assert_eq!(content_type, OPENMETRICS);
    let body = String::from_utf8(body).unwrap();
    assert!(body.ends_with("# EOF\n"), "{}", &body[body.len().saturating_sub(200)..]);
    let parsed = parse_openmetrics(&body);
    let has = |line: &str| parsed.lines().any(|l| l == line);
    assert!(has("family workato_recipe_jobs_succeeded counter -"), "{parsed}");
    assert!(has("family workato_api_requests counter -"), "{parsed}");
    assert!(has("family workato_job_duration_seconds histogram seconds"), "{parsed}");
    assert!(has("family workato_recipe_job_failure_ratio gauge ratio"), "{parsed}");
    assert!(has("family process_cpu_seconds counter seconds"), "{parsed}");
    assert!(
        body.contains("\nworkato_api_requests_created{"),
        "_created of a self-metric"
    );

    let completed: std::collections::HashMap<String, f64> = running
        .simulator
        .ledger()
        .into_iter()
        .flat_map(|r| r.completed)
        .map(|j| (j.id, j.duration))
        .collect();
    let exemplars: Vec<&str> = parsed.lines().filter(|l| l.starts_with("exemplar ")).collect();
    assert!(exemplars.len() >= 10, "only {} exemplars:\n{parsed}", exemplars.len());
    for line in exemplars {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields[1], "workato_job_duration_seconds_bucket", "{line}");
        let duration = completed
            .get(fields[2])
            .unwrap_or_else(|| panic!("{line}: no such job completed"));
        let value: f64 = fields[4].parse().unwrap();
        assert!((value - duration).abs() < 1.0, "{line}: the job took {duration} s");
    }
}

#[tokio::test]
async fn each_format_is_chosen_by_accept_and_gzips_to_the_same_bytes() {
    let (_running, app) = with_jobs().await;
    let cases = [
        ("", "text/plain; version=0.0.4"),
        ("text/plain;version=0.0.4", "text/plain; version=0.0.4"),
        (
            "application/openmetrics-text;version=1.0.0,text/plain;q=0.5",
            OPENMETRICS,
        ),
        (
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8",
            PROTOBUF,
        ),
        ("application/json", "text/plain; version=0.0.4"),
    ];
    for (accept, expected) in cases {
        let (content_type, plain) = get(&app, accept, false).await;
        assert_eq!(content_type, expected, "Accept: {accept}");
        let (_, inflated) = get(&app, accept, true).await;
        // The live part (process figures, poll timings) may move between
        // two scrapes; the cached part leads both and is the same.
        let common = plain.iter().zip(&inflated).take_while(|(a, b)| a == b).count();
        assert!(
            common > plain.len() / 2,
            "Accept: {accept}: {common} of {} bytes alike",
            plain.len()
        );
    }
    // The text format still satisfies promtool.
    let (_, text) = get(&app, "text/plain", false).await;
    let (ok, printed) = pipe_through(
        Command::new(crate::promtool::promtool()).args(["check", "metrics"]),
        text,
    );
    assert!(ok && printed.trim().is_empty(), "promtool:\n{printed}");
}
