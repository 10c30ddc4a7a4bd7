//! Measures job ingestion at Workato's limits: jobs calls per steady cycle
//! against the recipes that moved, and the heap the jobs tracker holds per
//! recipe, with the exporter and the simulated workspace in one process.
//!
//! Run: `cargo run --release --example measure_jobs [recipes]` (default 5000).

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicIsize, Ordering};

use workato_exporter::client::ClientOptions;
use workato_exporter::config::{Config, parse_cli};
use workato_exporter::jobs::Counts;
use workato_exporter::snapshot::Collector;
use workato_sim::{self as sim, SimConfig};

/// Counts the bytes currently allocated on the heap.
struct Counting;

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        ALLOCATED.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn heap() -> isize {
    ALLOCATED.load(Ordering::Relaxed)
}

const TOKEN: &str = "measure-token";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let recipes: usize = std::env::args().nth(1).map(|n| n.parse()).transpose()?.unwrap_or(5_000);
    let running = sim::spawn(SimConfig {
        recipes,
        connections: 1_000.min(recipes),
        endpoints: 500.min(recipes),
        jobs_per_minute: 600.0,
        speed: 0.0,
        token: Some(TOKEN.into()),
        rate_limit: NonZeroU32::new(1_000_000).unwrap_or(NonZeroU32::MIN),
        ..SimConfig::demo()
    })
    .await?;
    let simulator = &running.simulator;
    let cli = parse_cli(["workato_exporter", "--workato.base-url", &running.base_url()])?;
    let mut config = Config::from_args(&cli.args, Some(TOKEN.into()))?;
    // Calibrating thousands of recipes at Workato's pace takes well over an
    // hour; the budget is lifted here to measure the steady state.
    config.workspaces[0].requests_per_minute = NonZeroU32::new(1_000_000).unwrap_or(NonZeroU32::MIN);
    let app = workato_exporter::App::with_client_options(config, ClientOptions::default())?;
    let jobs_calls = || async {
        let stats: serde_json::Value = reqwest::get(format!("{}/sim/stats", running.base_url()))
            .await?
            .json()
            .await?;
        Ok::<u64, reqwest::Error>(stats["requests"]["jobs"].as_u64().unwrap_or(0))
    };

    simulator.advance(3_600);
    for collector in [
        Collector::Workspace,
        Collector::Recipes,
        Collector::Connections,
        Collector::ApiPlatform,
    ] {
        app.workspaces()[0].poller.poll_once(collector).await?;
    }
    app.workspaces()[0].poller.poll_once(Collector::Jobs).await?;
    println!("calibration: {} jobs calls for {recipes} recipes", jobs_calls().await?);

    // "New activity" as the jobs collector sees it: lifetime counters or
    // last_run_at moved since the previous sweep.
    let counts = |app: &workato_exporter::App| -> HashMap<u64, Counts> {
        app.workspaces()[0]
            .snapshot
            .load()
            .recipes
            .iter()
            .map(|r| (r.id, Counts::of(r)))
            .collect()
    };
    println!("cycle  recipes_moved  jobs_calls  ratio");
    for cycle in 1..=10 {
        simulator.advance(60);
        let before = counts(&app);
        app.workspaces()[0].poller.poll_once(Collector::Recipes).await?;
        let after = counts(&app);
        let moved = after.iter().filter(|(id, c)| before.get(id) != Some(c)).count();
        let calls_before = jobs_calls().await?;
        app.workspaces()[0].poller.poll_once(Collector::Jobs).await?;
        let calls = jobs_calls().await? - calls_before;
        println!(
            "{cycle:>5}  {moved:>13}  {calls:>10}  {:.3}",
            calls as f64 / moved.max(1) as f64
        );
    }

    let with_tracker = heap();
    let tracked = app.workspaces()[0].jobs.tracked();
    app.workspaces()[0].jobs.plan(&[]);
    let without = heap();
    let per_recipe = (with_tracker - without) as f64 / tracked.max(1) as f64;
    println!(
        "jobs tracker: {tracked} recipes, {} KiB, {per_recipe:.0} bytes per tracked recipe",
        (with_tracker - without) / 1024
    );
    Ok(())
}
