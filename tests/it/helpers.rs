//! The test harness: a wiremock `MockServer` standing in for Workato, the
//! exporter wired against it and serving HTTP on a loopback port, and a
//! small parser for the text exposition.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};
use workato_exporter::client::ClientOptions;
use workato_exporter::config::{Config, parse_cli};
use workato_exporter::snapshot::Collector;
use workato_exporter::{App, http};

pub const TOKEN: &str = "wrk-test-token-7c1f9e";

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A path inside the repository.
pub fn repo_path(relative: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(relative)
        .to_string_lossy()
        .into_owned()
}

/// An external tool from `env_var` or PATH; the test fails, never skips,
/// when it is missing, saying how to install it.
pub fn require_tool(name: &str, env_var: &str, install: &str) -> String {
    let candidate = std::env::var(env_var).unwrap_or_else(|_| name.to_string());
    match std::process::Command::new(&candidate).arg("--version").output() {
        Ok(out) if out.status.success() => candidate,
        _ => panic!(
            "{name} not found (tried {candidate:?}): {install}, or set {env_var}=/path/to/{name}; `bash .ci/run` installs it"
        ),
    }
}

pub fn fixture(name: &str) -> Value {
    let path = fixtures_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

pub const ADMIN_TOKEN: &str = "adm-9d2c41f7e0b84c55a1";

/// A configuration pointing at `base_url`, with extra flags and, when
/// given, an admin token.
fn config(base_url: &str, extra: &[&str], admin_token: Option<&str>) -> Config {
    let mut argv = vec![
        "workato_exporter",
        "--workato.base-url",
        base_url,
        "--workato.workspace",
        "acme",
    ];
    // Tests serve on loopback, where the admin route may speak clear text.
    if !extra.contains(&"--web.listen-address") {
        argv.extend(["--web.listen-address", "127.0.0.1:9862"]);
    }
    argv.extend_from_slice(extra);
    let cli = parse_cli(argv).expect("test flags parse");
    Config::from_args_and_admin(&cli.args, Some(TOKEN.to_string()), admin_token.map(str::to_string))
        .expect("test config is valid")
}

/// A configuration pointing at `base_url`, with extra flags.
pub fn config_with(base_url: &str, extra: &[&str]) -> Config {
    config(base_url, extra, None)
}

/// A configuration with the admin route enabled.
pub fn admin_config(base_url: &str, extra: &[&str]) -> Config {
    config(base_url, extra, Some(ADMIN_TOKEN))
}

/// A loopback port nothing listens on right now.
/// A free loopback port below the kernel's ephemeral range: one the kernel
/// chose (bind to port 0) may be taken by an outgoing connection before the
/// child process meant to listen on it binds it.
pub fn free_port() -> u16 {
    let ephemeral = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let high = ephemeral.saturating_sub(1).max(10_001);
    (0..1000)
        .map(|_| fastrand::u16(10_000..=high))
        .find(|port| std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .expect("a free loopback port below the ephemeral range")
}

/// Waits until `url` answers 2xx; panics naming `what` after `limit`.
pub async fn wait_for(url: &str, what: &str, limit: std::time::Duration) {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Ok(response) = reqwest::get(url).await
            && response.status().is_success()
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not answer at {url} within {limit:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Makes the mock Workato answer 403 on `route`, as for an API client whose
/// role lacks the privilege (mount it before the workspace).
pub async fn forbid(server: &MockServer, route: &str) {
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(403).set_body_json(serde_json::json!({"message": "Forbidden"})))
        .mount(server)
        .await;
}

/// Runs a tool; returns whether it succeeded and everything it printed.
pub fn run_tool(command: &mut std::process::Command) -> (bool, String) {
    let out = command.output().expect("the tool runs");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), printed)
}

/// Pipes `body` through a tool on its stdin; returns whether it succeeded
/// and everything it printed (stdout, then stderr), as [`run_tool`] does.
pub fn pipe_through(command: &mut std::process::Command, body: impl AsRef<[u8]>) -> (bool, String) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{:?} starts: {e}", command.get_program()));
    let mut stdin = child.stdin.take().expect("a piped stdin");
    let body = body.as_ref();
    // Written beside the reading, so that a tool answering before it has
    // read everything cannot fill its pipes and stall both sides; a tool
    // that stops reading early says why in its status and output.
    let written = std::thread::scope(|scope| {
        let writer = scope.spawn(move || stdin.write_all(body));
        let out = child.wait_with_output().expect("the tool runs");
        (writer.join().expect("the writer"), out)
    });
    let (write, out) = written;
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ok = out.status.success();
    if ok {
        write.expect("the tool read its stdin");
    }
    (ok, printed)
}

/// The size and pace of a [`simulated`] workspace.
pub struct SimSize {
    pub recipes: usize,
    pub connections: usize,
    pub endpoints: usize,
    /// Jobs a minute across the workspace, on average.
    pub jobs_per_minute: f64,
}

/// A small simulated workspace whose clock moves only when told: no
/// incidents, and a rate limit no test waits for.
pub async fn simulated(seed: u64, size: SimSize) -> workato_sim::Running {
    workato_sim::spawn(workato_sim::SimConfig {
        seed,
        recipes: size.recipes,
        connections: size.connections,
        endpoints: size.endpoints,
        jobs_per_minute: size.jobs_per_minute,
        speed: 0.0,
        token: Some(TOKEN.to_string()),
        rate_limit: std::num::NonZeroU32::new(6_000).unwrap(),
        incidents: false,
        ..workato_sim::SimConfig::demo()
    })
    .await
    .expect("the simulator starts")
}

/// Retries and timeouts shrunk so failure paths take milliseconds.
pub fn fast_options() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_millis(500),
        max_attempts: 3,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
        max_reply_bytes: workato_exporter::client::MAX_REPLY_BYTES,
    }
}

/// Answers a paged list as Workato does: `per_page` honoured up to the
/// server's own page cap (Workato's is 100; a project-scoped client or a
/// proxy may see fewer), `since_id` keeping ids below it (recipes, listed
/// newest first), `page` counting from 1, and an empty page past the end.
/// Replies in the shape it was given: `{"items": [...]}` or a bare array.
pub struct ListPages {
    items: Vec<Value>,
    wrapped: bool,
    page_cap: usize,
}

impl ListPages {
    pub fn new(list: Value, page_cap: usize) -> ListPages {
        let (mut items, wrapped) = match list {
            Value::Array(items) => (items, false),
            Value::Object(mut map) => match map.remove("items") {
                Some(Value::Array(items)) => (items, true),
                _ => panic!("a list reply holds an items array"),
            },
            _ => panic!("a list reply is an array or an object"),
        };
        if wrapped {
            items.sort_by_key(|r| std::cmp::Reverse(r["id"].as_u64().expect("numeric recipe ids")));
        }
        ListPages {
            items,
            wrapped,
            page_cap,
        }
    }
}

impl Respond for ListPages {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let query = |key: &str| {
            request
                .url
                .query_pairs()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| v.parse::<u64>().ok())
        };
        let since_id = query("since_id").unwrap_or(u64::MAX);
        let per_page = (query("per_page").unwrap_or(100) as usize).min(self.page_cap);
        let skip = query("page").unwrap_or(1).saturating_sub(1) as usize * per_page;
        let page: Vec<&Value> = self
            .items
            .iter()
            .filter(|r| r["id"].as_u64().is_none_or(|id| id < since_id))
            .skip(skip)
            .take(per_page)
            .collect();
        let body = if self.wrapped {
            serde_json::json!({ "items": page })
        } else {
            serde_json::json!(page)
        };
        ResponseTemplate::new(200).set_body_json(body)
    }
}

/// Mounts the fixture workspace: users/me, one page of recipes, connections,
/// API collections and endpoints, and the same page of jobs for any recipe.
pub async fn mount_workspace(server: &MockServer) {
    mount_jobs(server).await;
    Mock::given(method("GET"))
        .and(path("/api/recipes"))
        .respond_with(ListPages::new(fixture("recipes.json"), 100))
        .mount(server)
        .await;
    for (route, file) in [
        ("/api/api_collections", "api_collections.json"),
        ("/api/api_endpoints", "api_endpoints.json"),
    ] {
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(ListPages::new(fixture(file), 100))
            .mount(server)
            .await;
    }
    for (route, file) in [
        ("/api/users/me", "users_me.json"),
        ("/api/connections", "connections.json"),
    ] {
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(ResponseTemplate::new(200).set_body_json(fixture(file)))
            .mount(server)
            .await;
    }
}

/// Mounts the fixture page of jobs for every recipe (and every status), as
/// each recipe's whole history: nothing older than it.
pub async fn mount_jobs(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path_regex(r"^/api/recipes/\d+/jobs$"))
        .and(wiremock::matchers::query_param("prev", "false"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"items": []})))
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/api/recipes/\d+/jobs$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("jobs.json")))
        .mount(server)
        .await;
}

/// The exporter wired against a mock Workato, serving HTTP on a loopback
/// port. The background poller is not started: tests poll explicitly.
pub struct TestApp {
    pub address: SocketAddr,
    pub poller: Arc<workato_exporter::poller::Poller>,
    shutdown: CancellationToken,
    http: reqwest::Client,
}

impl TestApp {
    pub async fn spawn(server: &MockServer) -> TestApp {
        TestApp::spawn_with(config_with(&server.uri(), &[]), fast_options()).await
    }

    /// A mock Workato holding the fixture workspace, and an exporter that
    /// has polled it once, successfully.
    pub async fn polled_fixture() -> (MockServer, TestApp) {
        let server = MockServer::start().await;
        mount_workspace(&server).await;
        // The recipes list an hour before, when the busiest recipe's newest
        // job had not started: the exporter's baseline, at no jobs call.
        // The poll that follows sees it moved and reads its jobs.
        let mut earlier = fixture("recipes.json");
        for recipe in earlier["items"].as_array_mut().expect("a recipes page") {
            if recipe["id"] == 1913515 {
                recipe["last_job_started_at"] = "2026-11-22T22:40:12.500Z".into();
            }
        }
        Mock::given(method("GET"))
            .and(path("/api/recipes"))
            .respond_with(ListPages::new(earlier, 100))
            .with_priority(1)
            .up_to_n_times(2)
            .mount(&server)
            .await;
        // Its first read reads its counters again before listing its running jobs.
        let recipe = fixture("recipes.json")["items"]
            .as_array()
            .and_then(|items| items.iter().find(|r| r["id"] == 1913515).cloned())
            .expect("the fixture's busiest recipe");
        Mock::given(method("GET"))
            .and(path("/api/recipes/1913515"))
            .respond_with(ResponseTemplate::new(200).set_body_json(recipe))
            .mount(&server)
            .await;
        let app = TestApp::spawn(&server).await;
        for collector in [Collector::Recipes, Collector::Jobs] {
            app.poller.poll_once(collector).await.expect("the earlier poll");
        }
        let failed = app.poll_all().await;
        assert!(failed.is_empty(), "polling the fixture workspace failed: {failed:?}");
        (server, app)
    }

    pub async fn spawn_with(config: Config, options: ClientOptions) -> TestApp {
        let app = App::with_client_options(config, options).expect("app builds");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let address = listener.local_addr().expect("local address");
        let shutdown = CancellationToken::new();
        let state = app.http_state();
        tokio::spawn(http::serve(
            listener,
            state,
            shutdown.clone(),
            app.config.max_connections,
        ));
        TestApp {
            address,
            poller: Arc::clone(&app.workspaces()[0].poller),
            shutdown,
            http: reqwest::Client::new(),
        }
    }

    /// Polls every collector once; returns the collectors that failed.
    pub async fn poll_all(&self) -> Vec<(Collector, String)> {
        let mut failed = Vec::new();
        for collector in Collector::ALL {
            if let Err(error) = self.poller.poll_once(collector).await {
                failed.push((collector, error.to_string()));
            }
        }
        failed
    }

    /// Polls one collector that is expected to fail; returns the error text.
    pub async fn poll_once_failing(&self, collector: Collector) -> String {
        match self.poller.poll_once(collector).await {
            Ok(()) => panic!("polling {} was expected to fail", collector.name()),
            Err(error) => error.to_string(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.expect("exporter answers")
    }

    /// The body of `/metrics`.
    pub async fn scrape(&self) -> String {
        let response = self.get("/metrics").await;
        assert_eq!(response.status(), 200);
        response.text().await.expect("metrics body")
    }

    pub async fn samples(&self) -> Samples {
        Samples::parse(&self.scrape().await)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// One sample of the text exposition.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed exposition, for looking values up by name and labels.
#[derive(Debug)]
pub struct Samples(pub Vec<Sample>);

impl Samples {
    /// Parses the text format 0.0.4 (enough of it for our own output:
    /// quoted label values with `\\`, `\"` and `\n` escapes).
    pub fn parse(text: &str) -> Samples {
        let mut samples = Vec::new();
        for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let (name, rest) = match line.find(['{', ' ']) {
                Some(i) => line.split_at(i),
                None => panic!("bad exposition line: {line}"),
            };
            let mut labels = BTreeMap::new();
            let mut rest = rest;
            if let Some(body) = rest.strip_prefix('{') {
                let mut chars = body.char_indices().peekable();
                let end = loop {
                    let Some((start, c)) = chars.next() else {
                        panic!("unterminated labels: {line}")
                    };
                    if c == '}' {
                        break start + 1;
                    }
                    if c == ',' {
                        continue;
                    }
                    let mut key = String::from(c);
                    for (_, c) in chars.by_ref() {
                        if c == '=' {
                            break;
                        }
                        key.push(c);
                    }
                    assert_eq!(
                        chars.next().map(|(_, c)| c),
                        Some('"'),
                        "label value must be quoted: {line}"
                    );
                    let mut value = String::new();
                    while let Some((_, c)) = chars.next() {
                        match c {
                            '\\' => match chars.next().map(|(_, c)| c) {
                                Some('n') => value.push('\n'),
                                Some('\\') => value.push('\\'),
                                Some('"') => value.push('"'),
                                other => panic!("bad escape {other:?} in {line}"),
                            },
                            '"' => break,
                            c => value.push(c),
                        }
                    }
                    labels.insert(key, value);
                };
                rest = &body[end..];
            }
            let value = rest.trim().split(' ').next().unwrap_or("");
            let value = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
            };
            samples.push(Sample {
                name: name.to_string(),
                labels,
                value,
            });
        }
        Samples(samples)
    }

    /// Samples of `name` whose labels include every pair given.
    /// Every sample.
    pub fn all(&self) -> &[Sample] {
        &self.0
    }

    pub fn find(&self, name: &str, labels: &[(&str, &str)]) -> Vec<&Sample> {
        self.0
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect()
    }

    /// The one value of `name` with these labels; panics if none or several.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        match self.find(name, labels).as_slice() {
            [one] => one.value,
            [] => panic!("no sample {name} {labels:?}"),
            many => panic!("{} samples {name} {labels:?}", many.len()),
        }
    }

    pub fn has(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        !self.find(name, labels).is_empty()
    }
}

/// Every `.rs` file under `dir`, at any depth.
pub fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `GET path` from a simulator, with the test token.
pub async fn sim_get(running: &workato_sim::Running, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}{path}", running.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("simulator answers")
}
