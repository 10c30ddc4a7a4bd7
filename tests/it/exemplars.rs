//! End to end with a real Prometheus 2.42 scraping the exporter while it
//! counts the simulator's jobs: with `native-histograms` it asks for
//! protobuf and stores `workato_job_duration_seconds` as a native histogram
//! whose quantile matches the simulator's own durations, and its exemplars
//! name jobs the simulator completed; without the flag it asks for
//! OpenMetrics and stores the classic buckets, with their exemplars.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use crate::formats::unthrottled;
use crate::prometheus::Prometheus;

fn scrape_config(target: &str) -> String {
    format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: workato\n    static_configs:\n      - targets: ['{target}']\n"
    )
}

/// Waits until `prometheus` has scraped the exporter again.
async fn next_scrape(prometheus: &Prometheus) {
    let last = || async {
        let data = prometheus
            .get(
                "/api/v1/query",
                &[("query", "timestamp(up{job=\"workato\"})".to_string())],
            )
            .await;
        data["result"][0]["value"][1]
            .as_str()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let before = last().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while last().await <= before {
        assert!(
            std::time::Instant::now() < deadline,
            "Prometheus did not scrape within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `q` quantile of `values` by rank, as the simulator's own figure.
fn quantile(mut values: Vec<f64>, q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

/// Every exemplar of `query` known to `prometheus`, as (series, exemplar).
async fn exemplars(prometheus: &Prometheus, query: &str) -> Vec<(Value, Value)> {
    // Job completion times are on the simulator's clock, ahead of ours; in
    // the suite's run with the clock moved (faketime) ours is also weeks
    // ahead of Prometheus's, which faketime does not move (Go reads the
    // clock without libc): the window spans both clocks.
    let theirs = prometheus.now().await;
    let ours = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(theirs, |d| d.as_secs_f64());
    let data = prometheus
        .get(
            "/api/v1/query_exemplars",
            &[
                ("query", query.to_string()),
                ("start", (theirs.min(ours) - 86_400.0).to_string()),
                ("end", (theirs.max(ours) + 86_400.0).to_string()),
            ],
        )
        .await;
    data.as_array()
        .into_iter()
        .flatten()
        .flat_map(|series| {
            series["exemplars"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| (series["seriesLabels"].clone(), e.clone()))
        })
        .collect()
}

#[tokio::test]
async fn prometheus_stores_native_histograms_and_exemplars_that_lead_to_the_simulators_jobs() {
    let (running, app) = unthrottled().await;
    assert!(app.poll_all().await.is_empty(), "calibration");
    let before: std::collections::HashSet<String> = running
        .simulator
        .ledger()
        .into_iter()
        .flat_map(|r| r.completed)
        .map(|j| j.id)
        .collect();
    let target = app.address.to_string();
    let native = Prometheus::start_with(
        "native",
        &scrape_config(&target),
        &[],
        &["--enable-feature=exemplar-storage,native-histograms"],
    )
    .await;
    let classic = Prometheus::start_with(
        "classic",
        &scrape_config(&target),
        &[],
        &["--enable-feature=exemplar-storage"],
    )
    .await;
    next_scrape(&native).await;
    next_scrape(&classic).await;
    // 20 polls, two simulated minutes apart, each scraped by both.
    for _ in 0..20 {
        running.simulator.advance(120);
        assert!(app.poll_all().await.is_empty());
        next_scrape(&native).await;
        next_scrape(&classic).await;
    }

    let completed: HashMap<String, f64> = running
        .simulator
        .ledger()
        .into_iter()
        .flat_map(|r| r.completed)
        .filter(|j| !before.contains(&j.id))
        .map(|j| (j.id, j.duration))
        .collect();
    assert!(completed.len() > 2_000, "only {} jobs completed", completed.len());
    let expected = quantile(completed.values().copied().collect(), 0.95);
    let now = native.now().await;
    let answer = native
        .instant(
            "histogram_quantile(0.95, sum(rate(workato_job_duration_seconds[5m])))",
            now,
        )
        .await;
    let [(_, p95)] = answer.as_slice() else {
        panic!("one value expected: {answer:?}")
    };
    let error = (p95 - expected).abs() / expected;
    assert!(
        error < 0.10,
        "native p95 {p95:.2} s vs the simulator's {expected:.2} s over {} jobs: {:.1}% off",
        completed.len(),
        error * 100.0
    );
    assert!(
        native
            .instant("count(workato_job_duration_seconds_bucket)", now)
            .await
            .is_empty(),
        "with native histograms on, job durations are stored natively only"
    );

    let all_jobs: HashMap<String, f64> = running
        .simulator
        .ledger()
        .into_iter()
        .flat_map(|r| r.completed)
        .map(|j| (j.id, j.duration))
        .collect();
    for (prometheus, query, kind) in [
        (&native, "workato_job_duration_seconds", "native"),
        (&classic, "workato_job_duration_seconds_bucket", "classic"),
    ] {
        let found = exemplars(prometheus, query).await;
        assert!(!found.is_empty(), "no exemplars for {query} ({kind})");
        for (series, exemplar) in &found {
            let job_id = exemplar["labels"]["job_id"].as_str().unwrap_or_default();
            let duration = all_jobs
                .get(job_id)
                .unwrap_or_else(|| panic!("{kind}: exemplar {exemplar} names no job the simulator completed"));
            let value: f64 = exemplar["value"]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN);
            assert!((value - duration).abs() < 1.0, "{kind}: {exemplar} vs {duration}");
            assert_eq!(
                exemplar["labels"]["recipe_id"], series["recipe_id"],
                "{kind}: the exemplar's recipe is its series'"
            );
            if kind == "classic" {
                let le = series["le"]
                    .as_str()
                    .and_then(|le| le.parse::<f64>().ok())
                    .unwrap_or(f64::NAN);
                assert!(value <= le, "{kind}: {exemplar} above its bucket's le {le}");
            }
        }
    }
    let buckets = classic
        .instant("count(workato_job_duration_seconds_bucket)", classic.now().await)
        .await;
    assert!(
        buckets.first().is_some_and(|(_, n)| *n > 0.0),
        "classic buckets over OpenMetrics: {buckets:?}"
    );
}
