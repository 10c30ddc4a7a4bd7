//! Restarts at any moment: the binary, stopped 20 times with SIGTERM and 20
//! times with kill -9 while jobs complete without pause, counts every
//! completed job exactly once with `--jobs.state-file`, and no counter a
//! scrape has seen ever goes back (which Prometheus would read as a reset,
//! and count again).

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::process::{Child, Command};
use workato_sim::{self as sim, SimConfig};

use crate::helpers::{Samples, TOKEN, free_port, wait_for};

/// One life of the exporter against the simulated workspace.
async fn start(base_url: &str, state: &std::path::Path) -> (Child, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_workato_exporter"))
        .env_remove("RUST_LOG")
        .env("WORKATO_API_TOKEN", TOKEN)
        .args([
            "--workato.base-url",
            base_url,
            "--web.listen-address",
            &format!("127.0.0.1:{port}"),
            "--workato.requests-per-minute",
            "6000",
            "--poll.interval",
            "1s",
            "--jobs.interval",
            "1s",
            "--jobs.state-file",
            state.to_str().expect("a UTF-8 temp path"),
            "--log.level",
            "warn",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the exporter starts");
    let base = format!("http://127.0.0.1:{port}");
    wait_for(&format!("{base}/healthz"), "the exporter", Duration::from_secs(10)).await;
    (child, base)
}

async fn samples(base: &str) -> Option<Samples> {
    let text = reqwest::get(format!("{base}/metrics")).await.ok()?.text().await.ok()?;
    Some(Samples::parse(&text))
}

/// Completed jobs counted per recipe.
fn counted(s: &Samples) -> HashMap<String, f64> {
    s.find("workato_job_duration_seconds_count", &[])
        .iter()
        .fold(HashMap::new(), |mut by_recipe, sample| {
            *by_recipe.entry(sample.labels["recipe_id"].clone()).or_default() += sample.value;
            by_recipe
        })
}

async fn stop(mut child: Child, signal: &str) {
    let pid = child.id().expect("running").to_string();
    let sent = std::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the exporter exits")
        .expect("its status");
}

#[tokio::test(flavor = "multi_thread")]
async fn forty_restarts_by_sigterm_and_kill_9_count_every_completed_job_exactly_once() {
    let running = sim::spawn(SimConfig {
        recipes: 6,
        connections: 3,
        endpoints: 1,
        jobs_per_minute: 600.0,
        speed: 0.0,
        token: Some(TOKEN.to_string()),
        rate_limit: std::num::NonZeroU32::new(6_000).unwrap(),
        incidents: false,
        // Slow walks of small pages: most kills land in the middle of one.
        jobs_page_size: 5,
        jobs_latency: Duration::from_millis(40),
        ..SimConfig::demo()
    })
    .await
    .unwrap();
    let simulator = Arc::clone(&running.simulator);
    simulator.advance(300);
    let dir = std::env::temp_dir().join(format!("we-restarts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("jobs.json");
    for file in ["jobs.json", "jobs.json.journal"] {
        let _ = std::fs::remove_file(dir.join(file));
    }

    // The first life calibrates while the simulated clock stands still:
    // what completes from here on must be counted.
    let (mut child, mut base) = start(&running.base_url(), &state).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !samples(&base).await.is_some_and(|s| {
        s.has(
            "workato_collector_last_success_timestamp_seconds",
            &[("collector", "jobs")],
        )
    }) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the first jobs cycle never finished"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let baseline: HashMap<String, u64> = simulator
        .ledger()
        .iter()
        .map(|l| (l.recipe_id.to_string(), l.succeeded + l.failed))
        .collect();

    // Jobs complete without pause: ten simulated seconds a real second.
    let completing = Arc::new(AtomicBool::new(true));
    let clock = {
        let (simulator, completing) = (Arc::clone(&simulator), Arc::clone(&completing));
        tokio::spawn(async move {
            while completing.load(Ordering::Relaxed) {
                simulator.advance(1);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    // The highest value each counter was scraped at, over every life.
    let mut seen: HashMap<String, f64> = HashMap::new();
    let mut went_back = Vec::new();
    for life in 0..40 {
        // Anywhere in a cycle: at start-up, mid-walk, between pages, idle;
        // scraped meanwhile, as Prometheus would.
        let until = tokio::time::Instant::now() + Duration::from_millis(fastrand::u64(50..1_500));
        while tokio::time::Instant::now() < until {
            if let Some(s) = samples(&base).await {
                for (recipe, value) in counted(&s) {
                    let highest = seen.entry(recipe.clone()).or_default();
                    if value < *highest {
                        went_back.push(format!("life {life}, recipe {recipe}: {highest} then {value}"));
                    }
                    *highest = highest.max(value);
                }
            }
            tokio::time::sleep(Duration::from_millis(fastrand::u64(10..60))).await;
        }
        stop(child, if life % 2 == 0 { "-TERM" } else { "-KILL" }).await;
        (child, base) = start(&running.base_url(), &state).await;
    }
    assert!(went_back.is_empty(), "counters went back after restarts: {went_back:?}");
    completing.store(false, Ordering::Relaxed);
    clock.await.unwrap();

    // The last life catches up with what completed; then ours equals Workato's.
    let expected: HashMap<String, f64> = simulator
        .ledger()
        .iter()
        .map(|l| {
            let id = l.recipe_id.to_string();
            let completed = l.succeeded + l.failed - baseline[&id];
            (id, completed as f64)
        })
        .collect();
    let total: f64 = expected.values().sum();
    assert!(total > 1_000.0, "only {total} jobs completed during the restarts");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut ours = HashMap::new();
    while tokio::time::Instant::now() < deadline {
        if let Some(s) = samples(&base).await {
            ours = counted(&s);
            let pending: f64 = s.find("workato_recipe_jobs_pending", &[]).iter().map(|p| p.value).sum();
            if pending == 0.0
                && expected
                    .iter()
                    .all(|(id, n)| ours.get(id).copied().unwrap_or(0.0) >= *n)
            {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (id, n) in &expected {
        assert_eq!(
            ours.get(id).copied().unwrap_or(0.0),
            *n,
            "recipe {id}: counted across 40 restarts vs completed in Workato (all: ours {ours:?}, Workato {expected:?})"
        );
    }
    stop(child, "-TERM").await;
    let _ = std::fs::remove_dir_all(&dir);
}
