//! Many workspaces from one `--config.file`, in one process: a healthy one
//! beside one that answers 500 and one that answers 401, and a reload that
//! adds and removes workspaces while the others keep counting (#15).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};
use workato_exporter::App;
use workato_exporter::config::{ADMIN_TOKEN_ENV, Config, parse_cli};
use workato_sim as sim;

use crate::helpers::{ADMIN_TOKEN, Samples, SimSize, TOKEN, fast_options, sim_get, simulated};

/// The size of each workspace's simulator.
const SIZE: SimSize = SimSize {
    recipes: 8,
    connections: 3,
    endpoints: 2,
    jobs_per_minute: 300.0,
};

/// A server that answers every request with `status`.
async fn answering(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(status).set_body_json(serde_json::json!({"message": "no"})))
        .mount(&server)
        .await;
    server
}

/// A directory holding the token file and the configuration file.
pub(crate) struct Files {
    dir: PathBuf,
}

impl Files {
    pub(crate) fn new(name: &str) -> Files {
        let dir = std::env::temp_dir().join(format!("we-many-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("token"), TOKEN).unwrap();
        Files { dir }
    }

    pub(crate) fn config_file(&self) -> PathBuf {
        self.dir.join("exporter.yml")
    }

    /// Writes the file listing `workspaces` (name, base URL).
    fn write(&self, workspaces: &[(&str, String)]) {
        let mut yaml = String::from(
            "defaults:\n  token_file: token\n  poll_interval: 1s\n  jobs_interval: 1s\n  requests_per_minute: 6000\nworkspaces:\n",
        );
        for (name, url) in workspaces {
            yaml.push_str(&format!("  - name: {name}\n    base_url: {url}\n"));
        }
        std::fs::write(self.config_file(), yaml).unwrap();
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The exporter of a configuration file, running (pollers and HTTP).
pub(crate) struct Exporter {
    pub(crate) base: String,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Exporter {
    /// Stops it and waits until its pollers have stopped.
    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.expect("the exporter stops cleanly");
    }
}

/// Runs the exporter of `file` with `extra` flags.
pub(crate) async fn run(file: &Path, extra: &[&str]) -> Exporter {
    let mut argv = vec![
        "workato_exporter",
        "--config.file",
        file.to_str().unwrap(),
        "--web.listen-address",
        "127.0.0.1:0",
    ];
    argv.extend_from_slice(extra);
    let args = parse_cli(argv).expect("flags parse").args;
    let env = |name: &str| (name == ADMIN_TOKEN_ENV).then(|| ADMIN_TOKEN.to_string());
    let config = Config::load(&args, &env).expect("the file loads");
    let app = App::with_client_options(config, fast_options()).expect("app builds");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(app.run(listener, None, shutdown.clone()));
    Exporter { base, shutdown, task }
}

pub(crate) async fn samples(base: &str) -> Samples {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    Samples::parse(&text)
}

/// Waits until `done` holds of the exposition; panics saying `what`.
pub(crate) async fn until(base: &str, what: &str, done: impl Fn(&Samples) -> bool) -> Samples {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = samples(base).await;
        if done(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "{what}: not within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Completed jobs counted per recipe id in `workspace`.
pub(crate) fn counted(s: &Samples, workspace: &str) -> HashMap<u64, f64> {
    let mut by_recipe = HashMap::new();
    for sample in s.find("workato_job_duration_seconds_count", &[("workspace", workspace)]) {
        *by_recipe
            .entry(sample.labels["recipe_id"].parse().unwrap())
            .or_default() += sample.value;
    }
    by_recipe.retain(|_, n| *n > 0.0);
    by_recipe
}

/// Jobs completed per recipe id in the simulator since `baseline`.
fn completed(running: &sim::Running, baseline: &HashMap<u64, u64>) -> HashMap<u64, f64> {
    since(&running.simulator.ledger(), baseline)
}

/// Jobs completed per recipe id of `ledger` since `baseline` (recipes that
/// completed none left out).
pub(crate) fn since(ledger: &[sim::Ledger], baseline: &HashMap<u64, u64>) -> HashMap<u64, f64> {
    ledger
        .iter()
        .map(|l| (l.recipe_id, (l.succeeded + l.failed - baseline[&l.recipe_id]) as f64))
        .filter(|(_, n)| *n > 0.0)
        .collect()
}

fn ledger(running: &sim::Running) -> HashMap<u64, u64> {
    totals(&running.simulator.ledger())
}

/// Jobs completed per recipe id of `ledger`.
pub(crate) fn totals(ledger: &[sim::Ledger]) -> HashMap<u64, u64> {
    ledger.iter().map(|l| (l.recipe_id, l.succeeded + l.failed)).collect()
}

/// Whether the exporter's first jobs cycle of `workspace` is over.
fn calibrated(s: &Samples, workspace: &str) -> bool {
    s.has(
        "workato_collector_last_success_timestamp_seconds",
        &[("collector", "jobs"), ("workspace", workspace)],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_workspace_beside_one_failing_and_one_refused() {
    let healthy = simulated(1, SIZE).await;
    let failing = answering(500).await;
    let refused = answering(401).await;
    let files = Files::new("three");
    files.write(&[
        ("healthy", healthy.base_url()),
        ("failing", failing.uri()),
        ("refused", refused.uri()),
    ]);
    let exporter = run(&files.config_file(), &[]).await;
    let base = exporter.base.clone();
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{base}/readyz")).await.unwrap().status() != 200 {
        assert!(
            Instant::now() < deadline,
            "not ready: a broken workspace holds back readiness"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let s = samples(&base).await;
    assert_eq!(s.value("workato_up", &[("workspace", "healthy")]), 1.0);
    for broken in ["failing", "refused"] {
        assert_eq!(s.value("workato_up", &[("workspace", broken)]), 0.0, "{broken}");
        assert_eq!(
            s.value(
                "workato_collector_up",
                &[("workspace", broken), ("collector", "recipes")]
            ),
            0.0,
            "{broken}"
        );
    }
    // The healthy workspace's series are its source's values.
    let recipes = healthy.simulator.ledger();
    let running: Vec<_> = s.find("workato_recipe_running", &[("workspace", "healthy")]);
    assert_eq!(running.len(), recipes.len(), "one series a recipe");
    for l in &recipes {
        let id = l.recipe_id.to_string();
        let succeeded = s.value(
            "workato_recipe_jobs_succeeded_total",
            &[("workspace", "healthy"), ("recipe_id", &id)],
        );
        assert_eq!(succeeded, l.succeeded as f64, "recipe {id}");
    }
    assert!(s.find("workato_recipe_running", &[("workspace", "failing")]).is_empty());
    assert_eq!(s.value("workato_exporter_workspaces", &[]), 3.0);
    assert_eq!(s.value("workato_exporter_config_last_reload_successful", &[]), 1.0);
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_adds_and_removes_workspaces_while_the_others_keep_counting() {
    let (a, b, c, d) = (
        simulated(1, SIZE).await,
        simulated(2, SIZE).await,
        simulated(3, SIZE).await,
        simulated(4, SIZE).await,
    );
    let files = Files::new("reload");
    files.write(&[("a", a.base_url()), ("b", b.base_url()), ("c", c.base_url())]);
    let exporter = run(&files.config_file(), &["--web.enable-lifecycle"]).await;
    let base = exporter.base.clone();
    until(&base, "a, b and c calibrated", |s| {
        ["a", "b", "c"].iter().all(|w| calibrated(s, w))
    })
    .await;
    let baselines = [ledger(&a), ledger(&b)];
    for running in [&a, &b] {
        running.simulator.advance(120);
    }
    let counts_match = |s: &Samples| {
        [("a", &a), ("b", &b)]
            .iter()
            .zip(&baselines)
            .all(|((name, running), baseline)| counted(s, name) == completed(running, baseline))
    };
    let before = until(&base, "a and b count what completed", counts_match).await;
    assert!(!counted(&before, "a").is_empty(), "jobs completed in a");

    // c goes, d comes; a and b stay as they were.
    files.write(&[("a", a.base_url()), ("b", b.base_url()), ("d", d.base_url())]);
    let reply: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/-/reload"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply["added"], serde_json::json!(["d"]), "{reply}");
    assert_eq!(reply["removed"], serde_json::json!(["c"]), "{reply}");
    assert_eq!(reply["unchanged"], 2, "{reply}");
    let s = samples(&base).await;
    assert!(
        s.find("workato_up", &[("workspace", "c")]).is_empty(),
        "c's series gone at once"
    );
    until(&base, "d polled", |s| {
        s.has("workato_recipe_running", &[("workspace", "d")])
    })
    .await;

    // a and b go on counting from where they were: no reset, nothing twice.
    for running in [&a, &b] {
        running.simulator.advance(120);
    }
    let after = until(&base, "a and b count what completed since the start", counts_match).await;
    for name in ["a", "b"] {
        let (old, new) = (counted(&before, name), counted(&after, name));
        for (recipe, n) in &old {
            assert!(new[recipe] >= *n, "{name} recipe {recipe}: {n} then {}", new[recipe]);
        }
    }
    assert!(counted(&after, "a").values().sum::<f64>() > counted(&before, "a").values().sum::<f64>());

    // A broken file keeps the running set and says so.
    std::fs::write(files.config_file(), "workspaces:\n  - name: a\n    tokn: x\n").unwrap();
    let response = reqwest::Client::new()
        .post(format!("{base}/-/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let message = response.text().await.unwrap();
    assert!(message.contains("tokn"), "{message}");
    let s = samples(&base).await;
    assert_eq!(s.value("workato_exporter_config_last_reload_successful", &[]), 0.0);
    for name in ["a", "b", "d"] {
        assert!(s.has("workato_up", &[("workspace", name)]), "{name} still watched");
    }
    exporter.stop().await;
}

/// Requests each simulated workspace has answered so far.
fn requests(workspaces: &[sim::Running]) -> Vec<u64> {
    workspaces
        .iter()
        .map(|w| {
            let stats = w.simulator.stats();
            stats["requests"]
                .as_object()
                .map_or(0, |groups| groups.values().filter_map(serde_json::Value::as_u64).sum())
        })
        .collect()
}

/// The series of the workspaces' own families (not the exporter's
/// self-metrics, which differ between processes), with their values.
fn workspace_series(s: &Samples) -> Vec<String> {
    let own = |name: &str| {
        name.starts_with("workato_")
            && !name.starts_with("workato_exporter_")
            && !name.starts_with("workato_api_request")
            && !name.starts_with("workato_api_rate_limit")
            && !name.starts_with("workato_poll_")
            && !name.starts_with("workato_collector_last_success")
            && !name.starts_with("workato_collector_duration")
    };
    let mut series: Vec<String> = s
        .all()
        .iter()
        .filter(|sample| own(&sample.name))
        .map(|sample| format!("{}{:?} {}", sample.name, sample.labels, sample.value))
        .collect();
    series.sort();
    series
}

#[tokio::test(flavor = "multi_thread")]
async fn three_shards_split_twelve_workspaces_and_together_say_what_one_exporter_says() {
    let mut workspaces = Vec::new();
    for seed in 0..12 {
        workspaces.push(simulated(seed, SIZE).await);
    }
    let names: Vec<String> = (0..12).map(|i| format!("ws-{i:02}")).collect();
    let files = Files::new("shards");
    files.write(
        &names
            .iter()
            .zip(&workspaces)
            .map(|(name, w)| (name.as_str(), w.base_url()))
            .collect::<Vec<_>>(),
    );
    let ready = |base: String| async move {
        let deadline = Instant::now() + Duration::from_secs(30);
        while reqwest::get(format!("{base}/readyz")).await.unwrap().status() != 200 {
            assert!(Instant::now() < deadline, "{base} not ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };

    // One replica at a time, so each server's count says who polled it.
    let mut owner: Vec<Option<u32>> = vec![None; 12];
    let mut union = Vec::new();
    for index in 0..3u32 {
        let before = requests(&workspaces);
        let exporter = run(
            &files.config_file(),
            &["--shard.count", "3", "--shard.index", &index.to_string()],
        )
        .await;
        ready(exporter.base.clone()).await;
        let s = samples(&exporter.base).await;
        exporter.stop().await;
        assert_eq!(
            s.value(
                "workato_exporter_shard_info",
                &[("index", &index.to_string()), ("count", "3")]
            ),
            1.0
        );
        let after = requests(&workspaces);
        for (i, (b, a)) in before.iter().zip(&after).enumerate() {
            if a > b {
                assert_eq!(
                    owner[i], None,
                    "{} polled by shards {:?} and {index}",
                    names[i], owner[i]
                );
                owner[i] = Some(index);
            }
        }
        let watched = s.find("workato_up", &[]).len();
        assert_eq!(s.value("workato_exporter_workspaces", &[]), watched as f64);
        union.extend(workspace_series(&s));
    }
    assert!(owner.iter().all(Option::is_some), "every workspace polled: {owner:?}");
    for index in 0..3 {
        let owned = owner.iter().filter(|o| **o == Some(index)).count();
        assert!((1..=8).contains(&owned), "shard {index} owns {owned} of 12: {owner:?}");
    }

    let exporter = run(&files.config_file(), &[]).await;
    ready(exporter.base.clone()).await;
    let whole = workspace_series(&samples(&exporter.base).await);
    exporter.stop().await;
    union.sort();
    let only =
        |a: &[String], b: &[String]| -> Vec<String> { a.iter().filter(|x| !b.contains(x)).take(5).cloned().collect() };
    assert!(
        union == whole,
        "the shards' series together are one exporter's: only in the shards {:?}, only in the one {:?}",
        only(&union, &whole),
        only(&whole, &union)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_acts_on_the_workspace_named_and_asks_which_when_there_are_several() {
    let (dev, prod) = (simulated(1, SIZE).await, simulated(2, SIZE).await);
    let files = Files::new("admin");
    files.write(&[("dev", dev.base_url()), ("prod", prod.base_url())]);
    let exporter = run(&files.config_file(), &[]).await;
    let recipe = prod.simulator.ledger()[0].recipe_id;
    let http = reqwest::Client::new();
    let post = |query: &str| {
        http.post(format!("{}/admin/recipes/{recipe}/stop{query}", exporter.base))
            .bearer_auth(ADMIN_TOKEN)
            .send()
    };

    let missing = post("").await.unwrap();
    assert_eq!(missing.status(), 400);
    let message = |reply: serde_json::Value| reply["message"].as_str().unwrap_or_default().to_string();
    let said = message(missing.json().await.unwrap());
    assert!(said.contains("?workspace=") && said.contains("dev, prod"), "{said}");
    let unknown = post("?workspace=staging").await.unwrap();
    assert_eq!(unknown.status(), 400);
    let said = message(unknown.json().await.unwrap());
    assert!(said.contains("unknown workspace \"staging\""), "{said}");
    let unauthorized = http
        .post(format!("{}/admin/recipes/{recipe}/stop", exporter.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401, "authentication first, names after");

    let running = async |w: &sim::Running| {
        let recipe: serde_json::Value = sim_get(w, &format!("/api/recipes/{recipe}"))
            .await
            .json()
            .await
            .unwrap();
        recipe["running"].as_bool()
    };
    let dev_before = running(&dev).await;
    let stopped = post("?workspace=prod").await.unwrap();
    assert_eq!(stopped.status(), 200, "{:?}", stopped.text().await);
    assert_eq!(running(&prod).await, Some(false), "prod's recipe stopped");
    assert_eq!(running(&dev).await, dev_before, "dev's untouched");
    let s = samples(&exporter.base).await;
    assert_eq!(
        s.value(
            "workato_admin_requests_total",
            &[("workspace", "prod"), ("action", "recipe_stop"), ("code", "200")]
        ),
        1.0
    );
    exporter.stop().await;
}
