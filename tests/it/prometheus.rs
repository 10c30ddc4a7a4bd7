//! A real Prometheus for the end-to-end tests: started on a loopback port
//! with a configuration and rule files written for the test, and asked
//! through its HTTP API on its own clock.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::process::{Child, Command};

use crate::helpers::{free_port, require_tool, wait_for};

/// Starts `command` with its output discarded (stderr kept for a failure)
/// and killed when dropped.
pub fn spawn(command: &mut Command) -> Child {
    command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("process starts")
}

/// One series of a query's answer: its labels and value.
pub type Sample = (BTreeMap<String, String>, f64);

pub struct Prometheus {
    base: String,
    http: reqwest::Client,
    dir: PathBuf,
    process: Child,
}

impl Prometheus {
    /// Starts Prometheus with `config` (its `rule_files` may name files of
    /// `rules`, written beside it) and waits until it is ready.
    pub async fn start(name: &str, config: &str, rules: &[(&str, String)]) -> Prometheus {
        Prometheus::start_with(name, config, rules, &[]).await
    }

    /// As [`Prometheus::start`], with extra flags (`--enable-feature=...`).
    pub async fn start_with(name: &str, config: &str, rules: &[(&str, String)], flags: &[&str]) -> Prometheus {
        let binary = require_tool(
            "prometheus",
            "PROMETHEUS",
            "install Debian's `prometheus` package (apt-get install prometheus)",
        );
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("we-{name}-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (file, text) in rules {
            std::fs::write(dir.join(file), text).unwrap();
        }
        std::fs::write(dir.join("prometheus.yml"), config).unwrap();
        let process = spawn(
            Command::new(binary)
                .current_dir(&dir)
                .args([
                    &format!("--config.file={}", dir.join("prometheus.yml").display()),
                    &format!("--storage.tsdb.path={}", dir.join("data").display()),
                    &format!("--web.listen-address=127.0.0.1:{port}"),
                    "--log.level=warn",
                ])
                .args(flags),
        );
        let prometheus = Prometheus {
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            dir,
            process,
        };
        wait_for(
            &format!("{}/-/ready", prometheus.base),
            "prometheus",
            Duration::from_secs(30),
        )
        .await;
        prometheus
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Value {
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
    pub async fn now(&self) -> f64 {
        let data = self.get("/api/v1/query", &[("query", "time()".to_string())]).await;
        data["result"][0].as_f64().expect("time() is a scalar")
    }

    /// Series a query returned at any moment since `start`, as Grafana's
    /// range queries see them.
    pub async fn range(&self, expr: &str, start: f64) -> usize {
        self.range_series(expr, start).await.len()
    }

    /// The series of a range query since `start` at a one-second step,
    /// each with its samples `[time, "value"]`.
    pub async fn range_series(&self, expr: &str, start: f64) -> Vec<Value> {
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
        data["result"].as_array().cloned().unwrap_or_default()
    }

    /// An instant query at `time`: each series' labels and value (a scalar
    /// answer is one series without labels).
    pub async fn instant(&self, expr: &str, time: f64) -> Vec<Sample> {
        let data = self
            .get(
                "/api/v1/query",
                &[("query", expr.to_string()), ("time", time.to_string())],
            )
            .await;
        let number = |v: &Value| v.as_str().and_then(|s| s.parse::<f64>().ok()).unwrap_or(f64::NAN);
        match data["resultType"].as_str() {
            Some("scalar") => vec![(BTreeMap::new(), number(&data["result"][1]))],
            _ => data["result"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|series| {
                    let labels = series["metric"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect();
                    (labels, number(&series["value"][1]))
                })
                .collect(),
        }
    }

    /// The alerts pending or firing now.
    pub async fn alerts(&self) -> Vec<Value> {
        let data = self.get("/api/v1/alerts", &[]).await;
        data["alerts"].as_array().cloned().unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.process.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
