//! End to end: the exporter on the demo workspace, scraped by a real
//! Prometheus with the rules loaded. Every query of every dashboard panel
//! returns data, every recording rule has a value, every rule evaluates
//! cleanly, and an alert the demo's incidents drive goes pending or firing.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::process::{Child, Command};

use crate::helpers::{free_port, repo_path, require_tool, wait_for};

fn spawn(command: &mut Command) -> Child {
    command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("process starts")
}

/// What Grafana would put in place of the template variables: "All" for
/// the multi-value ones, and intervals for a short, finely scraped range.
fn substitute(expr: &str) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("$__interval", "5s")
        .replace("$__range", "5m")
        .replace("$workspace", ".*")
        .replace("$folder", ".*")
        .replace("$recipe", ".*")
}

struct Prometheus {
    base: String,
    http: reqwest::Client,
}

impl Prometheus {
    async fn get(&self, path: &str, query: &[(&str, String)]) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .query(query)
            .send()
            .await
            .expect("prometheus answers");
        let body: Value = response.json().await.expect("prometheus answers JSON");
        assert_eq!(body["status"], "success", "{path} {query:?}: {body}");
        body["data"].clone()
    }

    /// Prometheus's own clock, which ranges are measured on: the test's may
    /// differ (the suite also runs with its clock moved, under faketime,
    /// which a Go binary does not see).
    async fn now(&self) -> f64 {
        let data = self.get("/api/v1/query", &[("query", "time()".to_string())]).await;
        data["result"][0].as_f64().expect("time() is a scalar")
    }

    /// Series a query returned at any moment since `start`, as Grafana's
    /// range queries see them.
    async fn range(&self, expr: &str, start: f64) -> usize {
        let end = self.now().await;
        let data = self
            .get(
                "/api/v1/query_range",
                &[
                    ("query", expr.to_string()),
                    ("start", start.to_string()),
                    ("end", end.to_string()),
                    ("step", "1".into()),
                ],
            )
            .await;
        data["result"].as_array().map_or(0, Vec::len)
    }
}

/// Every (panel title, refId, expr) of a dashboard, rows' panels included.
fn panel_queries(dashboard: &Value) -> Vec<(String, String, String)> {
    fn walk(panels: &[Value], out: &mut Vec<(String, String, String)>) {
        for panel in panels {
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    let title = panel["title"].as_str().unwrap_or("?").to_string();
                    out.push((
                        title,
                        target["refId"].as_str().unwrap_or("?").to_string(),
                        expr.to_string(),
                    ));
                }
            }
            walk(panel["panels"].as_array().map_or(&[], Vec::as_slice), out);
        }
    }
    let mut out = Vec::new();
    walk(dashboard["panels"].as_array().map_or(&[], Vec::as_slice), &mut out);
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn every_panel_rule_and_an_incident_alert_work_against_a_real_prometheus() {
    let prometheus_bin = require_tool(
        "prometheus",
        "PROMETHEUS",
        "install Debian's `prometheus` package (apt-get install prometheus)",
    );

    // The exporter on the demo, ten times faster than life, polling every second.
    let exporter_port = free_port();
    let _exporter = spawn(
        Command::new(env!("CARGO_BIN_EXE_workato_exporter"))
            .env_remove("RUST_LOG")
            .args([
                "--demo",
                "--demo.speed",
                "10",
                "--poll.interval",
                "1s",
                "--jobs.interval",
                "1s",
                "--web.listen-address",
                &format!("127.0.0.1:{exporter_port}"),
            ]),
    );
    wait_for(
        &format!("http://127.0.0.1:{exporter_port}/healthz"),
        "the exporter",
        Duration::from_secs(30),
    )
    .await;

    let dir = std::env::temp_dir().join(format!("we-e2e-{}-{exporter_port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\n  - {}\nscrape_configs:\n  - job_name: workato\n    static_configs:\n      - targets: ['127.0.0.1:{exporter_port}']\n",
        repo_path("prometheus/rules/workato-recording.yml"),
        repo_path("prometheus/rules/workato-alerts.yml"),
    );
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    let prometheus_port = free_port();
    let _prometheus = spawn(Command::new(prometheus_bin).args([
        &format!("--config.file={}", dir.join("prometheus.yml").display()),
        &format!("--storage.tsdb.path={}", dir.join("data").display()),
        &format!("--web.listen-address=127.0.0.1:{prometheus_port}"),
        "--log.level=warn",
    ]));
    let prometheus = Prometheus {
        base: format!("http://127.0.0.1:{prometheus_port}"),
        http: reqwest::Client::new(),
    };
    wait_for(
        &format!("{}/-/ready", prometheus.base),
        "prometheus",
        Duration::from_secs(30),
    )
    .await;
    let started = prometheus.now().await;

    // Twenty seconds of scrapes: two thirds of an incident cycle at this speed.
    tokio::time::sleep(Duration::from_secs(20)).await;
    let targets = prometheus.get("/api/v1/targets", &[]).await;
    assert_eq!(
        targets["activeTargets"][0]["health"], "up",
        "prometheus scrapes the exporter: {targets}"
    );

    let mut empty = Vec::new();
    for file in ["workato-overview.json", "workato-recipe.json"] {
        let text = std::fs::read_to_string(Path::new(&repo_path("dashboards")).join(file)).unwrap();
        let dashboard: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file} is not JSON: {e}"));
        let queries = panel_queries(&dashboard);
        assert!(queries.len() >= 8, "{file} has only {} queries", queries.len());
        for (title, ref_id, expr) in queries {
            if prometheus.range(&substitute(&expr), started).await == 0 {
                empty.push(format!(
                    "{file}: panel {title:?} query {ref_id} returned nothing: {expr}"
                ));
            }
        }
    }

    let rules = prometheus.get("/api/v1/rules", &[]).await;
    let mut recording = 0;
    for group in rules["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            let name = rule["name"].as_str().unwrap();
            assert_eq!(
                rule["health"], "ok",
                "rule {name} does not evaluate: {}",
                rule["lastError"]
            );
            if rule["type"] == "recording" {
                recording += 1;
                if prometheus.range(name, started).await == 0 {
                    empty.push(format!("recording rule {name} has no value"));
                }
            }
        }
    }
    assert!(recording >= 12, "only {recording} recording rules loaded");
    assert!(
        empty.is_empty(),
        "{} queries without data:\n{}",
        empty.len(),
        empty.join("\n")
    );

    let alerts = prometheus.get("/api/v1/alerts", &[]).await;
    let incident_alerts = [
        "WorkatoRecipeStoppedByWorkato",
        "WorkatoConnectionBroken",
        "WorkatoApiEndpointDisabledWhileRecipeRuns",
        "WorkatoRecipeJobsFailing",
    ];
    let active: Vec<String> = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| matches!(a["state"].as_str(), Some("pending" | "firing")))
        .map(|a| a["labels"]["alertname"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        active.iter().any(|a| incident_alerts.contains(&a.as_str())),
        "no incident alert is pending or firing; active: {active:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
