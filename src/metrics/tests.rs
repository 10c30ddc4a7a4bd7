//! The scrape's tests: the large part rendered once per workspace and
//! deflated as written, the live part in name order, and many workspaces in
//! one family; the assembly of pieces against the whole rendering
//! (`assembly`).

use std::time::Duration;

use super::*;
use crate::client::{Group, Observer, Route};
use crate::snapshot::{Collector, CollectorStatus, JobStats, RecipeJobStats, SharedSnapshot, WorkspaceInfo};

struct FullBudget;

impl BudgetView for FullBudget {
    fn remaining(&self, _: Group) -> u32 {
        50
    }
}

/// A workspace whose snapshot and self-metrics give every family a sample.
fn source(workspace: &str) -> Source {
    let snapshot = Arc::new(SharedSnapshot::default());
    snapshot.update(|s| {
        s.workspace = Some(Arc::new(WorkspaceInfo {
            id: 17,
            name: "Acme".into(),
            plan: "oem".into(),
            customer: None,
        }));
        for c in Collector::ALL {
            let status = CollectorStatus {
                up: true,
                last_success: Some(1.0),
                ..CollectorStatus::default()
            };
            s.collectors.insert(c, status);
        }
        s.jobs = Arc::new(JobStats {
            recipes: vec![Arc::new(RecipeJobStats {
                id: 1,
                name: "r".into(),
                failure_ratio: Some(0.5),
                ..RecipeJobStats::default()
            })],
            ..JobStats::default()
        });
    });
    let recorded = Arc::new(SelfMetrics::default());
    recorded.observe_admin("start_recipe", 200);
    recorded.observe_poll(Collector::Recipes, Duration::from_millis(30));
    let route = Route {
        label: "GET /api/recipes",
        ..crate::client::LIST_JOBS
    };
    recorded.request_finished(&route, "200", Duration::from_millis(80));
    Source {
        workspace: workspace.to_string(),
        snapshot,
        self_metrics: recorded,
        budget: Some(Arc::new(FullBudget)),
    }
}

/// An exposition of `workspaces`, with a configuration file and shards.
fn everything(workspaces: &[&str]) -> Metrics {
    let globals = Arc::new(ExporterMetrics::default());
    globals.set_config_reload(true, 1_700_000_000.0);
    globals.set_shard(1, 3);
    let metrics = Metrics::new(globals);
    metrics.set_sources(workspaces.iter().map(|w| source(w)).collect());
    metrics
}

/// Every format, plain and gzipped, at a size that spills the
/// deflating writer many times: the gzipped large part inflates to the
/// plain one, byte for byte.
#[test]
fn the_large_part_deflated_as_written_inflates_to_the_text() {
    use std::io::Read;
    let metrics = everything(&["a", "b"]);
    for source in &metrics.sources().list {
        source.snapshot.update(|s| {
            let recipes = (1..=2_000u64)
                .map(|id| crate::snapshot::Recipe {
                    id,
                    name: format!("recipe number {id} with a name long enough to matter"),
                    folder_id: Some(id % 7),
                    project_id: None,
                    running: Some(id % 3 != 0),
                    stop_cause: None,
                    trigger_application: Some("salesforce".into()),
                    version: Some("3".into()),
                    jobs_succeeded: Some(id * 10),
                    jobs_failed: Some(id),
                    tasks: Some(id * 100),
                    last_run_at: Some(1.7e9),
                    last_job_started_at: Some(1.7e9),
                    stopped_at: None,
                    connection_ids: vec![id % 50],
                })
                .collect();
            s.recipes = Arc::new(recipes);
        });
    }
    for format in [Format::Text, Format::OpenMetrics, Format::Protobuf] {
        let chunks = metrics.scrape(format, false).chunks;
        let sources = metrics.sources();
        let loaded: Loaded<'_> = sources.list.iter().map(|s| (s, s.snapshot.load())).collect();
        let plain = Metrics::large(format, &loaded);
        assert_eq!(&chunks.concat()[..plain.len()], &plain[..], "{format:?}");
        let largest = chunks.iter().map(Bytes::len).max().unwrap_or(0);
        assert!(largest > text::SPILL_BYTES, "{format:?}: {largest} bytes");
        let mut inflated = Vec::new();
        flate2::read::GzDecoder::new(&metrics.scrape(format, true).chunks.concat()[..])
            .read_to_end(&mut inflated)
            .expect("valid gzip");
        // The live part (process metrics) may differ from one scrape
        // to the next: compare the large part.
        assert_eq!(&inflated[..plain.len()], &plain[..], "{format:?}");
    }
}

fn families(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect()
}

fn text(chunks: &[Bytes]) -> String {
    chunks.iter().map(|c| String::from_utf8_lossy(c)).collect()
}

#[test]
fn the_live_part_writes_its_families_in_name_order() {
    let metrics = everything(&["w"]);
    let sources = metrics.sources();
    let loaded: Loaded<'_> = sources.list.iter().map(|s| (s, s.snapshot.load())).collect();
    let live = String::from_utf8(metrics.live(Format::Text, &loaded)).unwrap();
    let written = families(&live);
    let mut sorted = written.clone();
    sorted.sort_unstable();
    assert_eq!(written, sorted);
    let workato: Vec<&str> = written.into_iter().filter(|f| f.starts_with("workato_")).collect();
    assert_eq!(workato.len(), 17, "every live family has a sample here: {workato:?}");
    assert!(live.contains("process_resident_memory_bytes "), "{live}");
    assert!(
        live.contains("workato_exporter_shard_info{count=\"3\",index=\"1\"} 1\n"),
        "{live}"
    );
    assert!(live.contains("workato_exporter_workspaces 1\n"), "{live}");
}

#[test]
fn scraping_changes_nothing_and_renders_the_large_part_once() {
    let metrics = everything(&["w"]);
    let snapshot = Arc::clone(&metrics.sources().list[0].snapshot);
    let generation = snapshot.generation();
    let jobs = Arc::clone(&snapshot.load().jobs);
    let first = metrics.scrape(Format::Text, false).chunks;
    assert_eq!(metrics.take_rendered(), ["w"], "rendered for the first scrape");
    for gzip in [false, true, false] {
        metrics.scrape(Format::Text, gzip);
    }
    assert_eq!(metrics.take_rendered(), ["w"], "rendered once more, deflated");
    let again = metrics.scrape(Format::Text, false).chunks;
    assert!(metrics.take_rendered().is_empty());
    assert_eq!(snapshot.generation(), generation, "no update");
    assert!(
        Arc::ptr_eq(&jobs, &snapshot.load().jobs),
        "the job stats are as published"
    );
    let large = |chunks: &[Bytes]| {
        (chunks.iter())
            .filter(|c| c.starts_with(b"# HELP workato_recipe"))
            .map(|c| c.as_ptr())
            .collect::<Vec<_>>()
    };
    assert!(!large(&first).is_empty());
    assert_eq!(large(&first), large(&again), "the cached text, not a new rendering");
    let text = text(&again);
    assert!(
        text.contains("workato_recipe_job_failure_ratio{recipe=\"r\",recipe_id=\"1\",workspace=\"w\"} 0.5"),
        "{text}"
    );
}

#[test]
fn a_change_in_a_source_renders_its_pieces_again_and_no_other() {
    let metrics = everything(&["a", "b"]);
    // The large part: up to the live families.
    let scrape = |metrics: &Metrics| {
        let text = text(&metrics.scrape(Format::Text, false).chunks);
        text[..text.find("# HELP process_").unwrap()].to_string()
    };
    let first = scrape(&metrics);
    assert_eq!(metrics.take_rendered(), ["a", "b"]);
    assert!(scrape(&metrics) == first);
    assert!(metrics.take_rendered().is_empty(), "nothing changed, nothing rendered");
    metrics.sources().list[1].snapshot.update(|_| {});
    assert!(scrape(&metrics) == first, "the same samples");
    assert_eq!(
        metrics.take_rendered(),
        ["b"],
        "b's new snapshot is rendered, a's pieces kept"
    );
    // The same snapshots under a new set of sources: kept.
    let same = metrics.sources().list.clone();
    metrics.set_sources(same);
    scrape(&metrics);
    assert!(metrics.take_rendered().is_empty());
    metrics.set_sources(Vec::new());
    let empty = text(&metrics.scrape(Format::Text, false).chunks);
    assert!(!empty.contains("workspace="), "{empty}");
    assert!(empty.contains("workato_exporter_workspaces 0\n"), "{empty}");
}

#[test]
fn many_workspaces_write_each_family_once_with_every_workspace_in_label_order() {
    let metrics = everything(&["prod", "dev"]);
    let body = text(&metrics.scrape(Format::Text, false).chunks);
    let written = families(&body);
    let mut unique = written.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), written.len(), "a family announced twice: {written:?}");
    for family in written.iter().filter(|f| f.starts_with("workato_")) {
        let samples: Vec<&str> = body
            .lines()
            .filter(|l| !l.starts_with('#') && l.starts_with(family))
            .collect();
        let workspace_of = |l: &&str| {
            ["dev", "prod"]
                .into_iter()
                .find(|w| l.contains(&format!("workspace=\"{w}\"")))
        };
        let per_exporter = family.starts_with("workato_exporter_");
        let seen: Vec<_> = samples.iter().map(workspace_of).collect();
        if per_exporter {
            assert!(seen.iter().all(Option::is_none), "{family}: {samples:?}");
            continue;
        }
        assert!(
            seen.contains(&Some("dev")) && seen.contains(&Some("prod")),
            "{family}: {samples:?}"
        );
        // Family-major: every dev sample before the first prod one.
        let first_prod = seen.iter().position(|w| *w == Some("prod")).unwrap_or(0);
        assert!(
            seen[first_prod..].iter().all(|w| *w == Some("prod")),
            "{family}: {samples:?}"
        );
    }
    assert!(body.contains("workato_exporter_workspaces 2\n"), "{body}");
}

mod assembly;
