//! Criterion micro-benchmarks of the two hot paths at Workato's limits:
//! rendering the exposition of a 5,000-recipe workspace (fresh after a
//! poll, and cached between polls), and decoding a page of 100 recipes.
//!
//! Run: `cargo bench --bench hot_paths`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use workato_exporter::client::decode_recipes;
use workato_exporter::metrics::{Format, Metrics, Source};
use workato_exporter::snapshot::{ApiCollection, ApiEndpoint, ApiPlatform, Connection, Recipe, SharedSnapshot};

fn workspace() -> Arc<SharedSnapshot> {
    let recipes: Vec<Recipe> = (0..5_000u64)
        .map(|i| Recipe {
            id: 1_913_000 + i,
            name: format!("Salesforce → NetSuite: sync accounts #{i}"),
            folder_id: Some(241_550 + i % 5),
            project_id: Some((9_910 + i % 3).to_string()),
            running: Some(i % 13 != 12),
            stop_cause: (i % 13 == 12 && i % 2 == 0).then(|| "txn_quota_limit".to_string()),
            trigger_application: Some("salesforce".into()),
            version: Some((i % 20).to_string()),
            jobs_succeeded: Some(i * 31),
            jobs_failed: Some(i % 17),
            tasks: Some(i * 101),
            last_run_at: Some(1_795_300_000.25 + i as f64),
            last_job_started_at: Some(1_795_300_100.5 + i as f64),
            stopped_at: (i % 3 == 0).then_some(1_795_200_000.0),
            connection_ids: vec![770_000 + i % 1_000, 770_000 + (i + 1) % 1_000],
        })
        .collect();
    let connections = (0..1_000u64)
        .map(|i| Connection {
            id: 770_000 + i,
            name: format!("Connection {i}"),
            application: "salesforce".into(),
            folder_id: Some(241_550),
            authorization_status: Some(if i % 50 == 0 { "failed" } else { "success" }.into()),
            lost_at: (i % 50 == 0).then_some(1_795_000_000.0),
        })
        .collect();
    let collections = (0..100u64)
        .map(|i| ApiCollection {
            id: 1_360 + i,
            name: format!("Collection {i}"),
            version: Some("1.0".into()),
        })
        .collect();
    let endpoints = (0..500u64)
        .map(|i| ApiEndpoint {
            id: 9_900 + i,
            name: format!("get accounts {i}"),
            collection_id: Some(1_360 + i % 100),
            method: "GET".into(),
            path: format!("accounts/{i}"),
            recipe_id: Some(1_913_000 + i),
            active: i % 10 != 0,
        })
        .collect();
    let snapshot = Arc::new(SharedSnapshot::default());
    snapshot.update(|s| {
        s.recipes = Arc::new(recipes);
        s.connections = Arc::new(connections);
        s.api_platform = Arc::new(ApiPlatform { collections, endpoints });
    });
    snapshot
}

fn exposition(c: &mut Criterion) {
    let snapshot = workspace();
    let metrics = Metrics::new(Arc::default());
    metrics.set_sources(vec![Source {
        workspace: "bench".into(),
        snapshot: Arc::clone(&snapshot),
        self_metrics: Arc::default(),
        budget: None,
    }]);
    let bytes = metrics
        .scrape(Format::Text, false)
        .chunks
        .iter()
        .map(|chunk| chunk.len() as u64)
        .sum();
    let mut group = c.benchmark_group("exposition_5000_recipes");
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("render_after_a_poll", |b| {
        b.iter(|| {
            // An empty update stands for a poll: the next scrape re-renders.
            snapshot.update(|_| {});
            black_box(metrics.scrape(Format::Text, false).chunks)
        })
    });
    group.bench_function("render_after_a_poll_gzip", |b| {
        b.iter(|| {
            snapshot.update(|_| {});
            black_box(metrics.scrape(Format::Text, true).chunks)
        })
    });
    group.bench_function("scrape_between_polls", |b| {
        b.iter(|| black_box(metrics.scrape(Format::Text, false).chunks))
    });
    group.bench_function("scrape_between_polls_gzip", |b| {
        b.iter(|| black_box(metrics.scrape(Format::Text, true).chunks))
    });
    for (name, format) in [("openmetrics", Format::OpenMetrics), ("protobuf", Format::Protobuf)] {
        group.bench_function(format!("render_after_a_poll_{name}"), |b| {
            b.iter(|| {
                snapshot.update(|_| {});
                black_box(metrics.scrape(format, false).chunks)
            })
        });
        group.bench_function(format!("scrape_between_polls_{name}"), |b| {
            b.iter(|| black_box(metrics.scrape(format, false).chunks))
        });
    }
    group.finish();
}

fn decoding(c: &mut Criterion) {
    let fixture: Value = serde_json::from_str(include_str!("../tests/fixtures/recipes.json")).expect("fixture is JSON");
    let template = fixture["items"][0].clone();
    let items: Vec<Value> = (0..100u64)
        .map(|i| {
            let mut recipe = template.clone();
            recipe["id"] = json!(1_913_000 + i);
            recipe["name"] = json!(format!("Salesforce → NetSuite: sync accounts #{i}"));
            recipe
        })
        .collect();
    let body = serde_json::to_vec(&json!({ "items": items })).expect("serializable");
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("page_of_100_recipes", |b| {
        b.iter(|| black_box(decode_recipes(black_box(&body)).expect("decodes")))
    });
    group.finish();
}

criterion_group!(benches, exposition, decoding);
criterion_main!(benches);
