//! The large part assembled from per-workspace pieces is the whole
//! rendering, byte for byte, in every format, plain and gzipped; a
//! workspace is rendered again only when its snapshot changes.

use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::snapshot::{Connection, DURATION_BUCKETS, Durations, Recipe};

fn recipe(id: u64, running: Option<bool>) -> Recipe {
    Recipe {
        id,
        name: format!("recipe \"{id}\"\nwith a line"),
        folder_id: Some(id % 3),
        project_id: None,
        running,
        stop_cause: running.is_some_and(|r| !r).then(|| "trigger_error".into()),
        trigger_application: Some("salesforce".into()),
        version: Some("3".into()),
        jobs_succeeded: Some(id * 10),
        jobs_failed: id.is_multiple_of(2).then_some(id),
        tasks: Some(id * 100),
        last_run_at: Some(1.7e9),
        last_job_started_at: None,
        stopped_at: None,
        connection_ids: vec![id % 4],
    }
}

/// Three workspaces with different families: `a` recipes, connections and
/// job histograms, `b` only stopped recipes, `c` nothing but its job
/// failure ratio (the fixture's), so some families have some workspaces.
fn varied() -> Metrics {
    let metrics = everything(&["c", "a", "b"]);
    let sources = metrics.sources();
    sources.list[0].snapshot.update(|s| {
        s.recipes = Arc::new((1..=40).map(|id| recipe(id, Some(id % 5 != 0))).collect());
        s.connections = Arc::new(
            (0..4)
                .map(|id| Connection {
                    id,
                    name: format!("conn {id}"),
                    application: "slack".into(),
                    folder_id: None,
                    authorization_status: Some("success".into()),
                    lost_at: (id == 2).then_some(1.6e9),
                })
                .collect(),
        );
        let mut durations = [Durations::default(), Durations::default()];
        durations[1].observe(&DURATION_BUCKETS, 2.5);
        let stats = RecipeJobStats {
            id: 1,
            name: "r1".into(),
            durations,
            pending: 2,
            errors: vec![(("http".into(), "Timeout".into()), 3)],
            ..RecipeJobStats::default()
        };
        s.jobs = Arc::new(JobStats {
            state_file_errors: Some(1),
            recipes: vec![Arc::new(stats)],
            ..JobStats::default()
        });
    });
    sources.list[1].snapshot.update(|s| {
        s.recipes = Arc::new((100..110).map(|id| recipe(id, Some(false))).collect());
        s.jobs = Arc::default();
    });
    metrics
}

/// What a scrape reads, and the render count of `cache` calls.
struct Load<'a> {
    loaded: Loaded<'a>,
    stamps: Vec<Stamp<'a>>,
}

fn load(sources: &Sources) -> Load<'_> {
    let stamps = (sources.list.iter())
        .map(|s| Stamp {
            label: &s.workspace,
            snapshot: &s.snapshot,
            version: (s.snapshot.generation(), 0),
        })
        .collect();
    let loaded = sources.list.iter().map(|s| (s, s.snapshot.load())).collect();
    Load { loaded, stamps }
}

/// The cache's text and gzip (inflated) of the large part, with the
/// workspaces each rendered (by label).
fn assembled(metrics: &Metrics, format: Format) -> (Vec<u8>, Vec<u8>, Vec<String>) {
    let sources = metrics.sources();
    let Load { loaded, stamps } = load(&sources);
    let rendered = std::sync::Mutex::new(Vec::new());
    let render = |which: &[usize], deflate| {
        let mut seen = rendered.lock().unwrap();
        seen.extend(
            which
                .iter()
                .map(|&i| format!("{}{}", loaded[i].0.workspace, if deflate { "z" } else { "" })),
        );
        Metrics::pieces(format, &loaded, which, deflate)
    };
    let cache = &metrics.caches[format as usize];
    let text = cache
        .text(&stamps, render)
        .iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .concat();
    let mut joined = deflate::Joined::default();
    for family in cache.deflated(&stamps, render).iter() {
        joined.append(family);
    }
    assert!(joined.complete);
    let mut inflated = Vec::new();
    // The single-member decoder: it would stop after a first member.
    flate2::read::GzDecoder::new(&joined.gzip(b"live\n").concat()[..])
        .read_to_end(&mut inflated)
        .expect("one gzip member");
    assert_eq!(inflated.split_off(inflated.len() - 5), b"live\n");
    (text, inflated, rendered.into_inner().unwrap())
}

fn whole(metrics: &Metrics, format: Format) -> Vec<u8> {
    let sources = metrics.sources();
    Metrics::large(format, &load(&sources).loaded)
}

#[test]
fn the_assembly_is_the_whole_rendering_in_every_format() {
    let metrics = varied();
    for format in Format::ALL {
        let expected = whole(&metrics, format);
        assert!(expected.len() > 10_000, "{format:?}");
        let (text, inflated, rendered) = assembled(&metrics, format);
        assert_eq!(text, expected, "{format:?} plain");
        assert_eq!(inflated, expected, "{format:?} gzip");
        assert_eq!(rendered, ["a", "b", "c", "az", "bz", "cz"], "{format:?}");
        for gzip in [false, true] {
            let mut body = metrics.scrape(format, gzip).chunks.concat();
            if gzip {
                let mut inflated = Vec::new();
                flate2::read::GzDecoder::new(&body[..])
                    .read_to_end(&mut inflated)
                    .unwrap();
                body = inflated;
            }
            assert_eq!(&body[..expected.len()], &expected[..], "{format:?} scrape, gzip {gzip}");
        }
    }
    // Families that only some workspaces have are there, and once.
    let text = String::from_utf8(whole(&metrics, Format::Text)).unwrap();
    assert_eq!(text.matches("# TYPE workato_connection_info ").count(), 1);
    assert!(text.contains("workato_job_errors_total{adapter=\"http\""));
    assert!(text.contains("workato_recipe_stop_cause{cause=\"trigger_error\""));
}

#[test]
fn a_workspace_that_changes_is_the_only_one_rendered_again() {
    let metrics = varied();
    for format in Format::ALL {
        assembled(&metrics, format);
    }
    let (_, _, rendered) = assembled(&metrics, Format::Text);
    assert!(rendered.is_empty(), "nothing changed: {rendered:?}");
    let sources = metrics.sources();
    sources.list[1].snapshot.update(|s| {
        let mut recipes = (*s.recipes).clone();
        recipes[0].jobs_succeeded = Some(12_345);
        recipes.push(recipe(999, None));
        s.recipes = Arc::new(recipes);
    });
    for format in Format::ALL {
        let expected = whole(&metrics, format);
        let (text, inflated, rendered) = assembled(&metrics, format);
        assert_eq!(rendered, ["b", "bz"], "{format:?}");
        assert_eq!((text == expected, inflated == expected), (true, true), "{format:?}");
    }
    assert!(
        String::from_utf8(whole(&metrics, Format::Text))
            .unwrap()
            .contains("} 12345\n")
    );
    // A workspace gone is dropped; one back with another snapshot rendered.
    let kept: Vec<Source> = sources.list.iter().filter(|s| s.workspace != "c").cloned().collect();
    metrics.set_sources(kept.clone());
    let (text, inflated, rendered) = assembled(&metrics, Format::Protobuf);
    assert!(rendered.is_empty(), "{rendered:?}");
    assert_eq!((text.clone(), inflated), (whole(&metrics, Format::Protobuf), text));
    metrics.set_sources([kept, vec![source("c")]].concat());
    let (text, _, rendered) = assembled(&metrics, Format::OpenMetrics);
    assert_eq!(rendered, ["c", "cz"]);
    assert_eq!(text, whole(&metrics, Format::OpenMetrics));
    assert_eq!(metrics.caches[Format::Text as usize].workspaces(), 3);
}

#[test]
fn an_assembly_is_one_buffer_a_family_that_holds_the_pieces() {
    let metrics = varied();
    for format in Format::ALL {
        assembled(&metrics, format);
        let cache = &metrics.caches[format as usize];
        let (pieces, inside) = cache.pieces_in_assembly();
        assert!(pieces > 10, "{format:?}: {pieces}");
        assert_eq!(
            inside, pieces,
            "{format:?}: every piece moved into the assembly, none held twice"
        );
        let sources = metrics.sources();
        let Load { stamps, .. } = load(&sources);
        let families = cache.text(&stamps, |_, _| unreachable!("nothing to render"));
        assert!(families.iter().all(|f| f.len() <= 1), "{format:?}: a buffer a family");
        let deflated = cache.deflated(&stamps, |_, _| unreachable!("nothing to render"));
        assert!(
            deflated.iter().all(|f| f.segments.len() <= 1),
            "{format:?}: a buffer a family, deflated"
        );
    }
}

#[test]
fn a_form_not_assembled_again_lets_the_old_assembly_go() {
    let metrics = varied();
    let cache = &metrics.caches[Format::Text as usize];
    let sources = metrics.sources();
    let Load { loaded, stamps } = load(&sources);
    let render = |which: &[usize], deflate| Metrics::pieces(Format::Text, &loaded, which, deflate);
    // A plain scrape, then only gzip ones after a change.
    let old = cache.text(&stamps, render);
    let within_old = |piece: &Bytes| {
        let at = piece.as_ptr() as usize;
        (old.iter().flatten()).any(|b| at >= b.as_ptr() as usize && at < b.as_ptr() as usize + b.len())
    };
    assert!(cache.text_pieces().iter().all(within_old), "laid out in the assembly");
    drop((loaded, stamps));
    sources.list[1].snapshot.update(|_| {});
    let Load { loaded, stamps } = load(&sources);
    cache.deflated(&stamps, |which, deflate| {
        Metrics::pieces(Format::Text, &loaded, which, deflate)
    });
    let kept = cache.text_pieces();
    assert!(!kept.is_empty());
    assert!(
        !kept.iter().any(within_old),
        "the unchanged workspaces' plain pieces no longer hold the old assembly"
    );
    let text = cache.text(&stamps, |which, deflate| {
        Metrics::pieces(Format::Text, &loaded, which, deflate)
    });
    assert_eq!(
        text.iter().flatten().cloned().collect::<Vec<_>>().concat(),
        whole(&metrics, Format::Text)
    );
}

#[test]
fn concurrent_scrapes_of_a_new_generation_wait_for_one_rendering() {
    let metrics = varied();
    let sources = metrics.sources();
    let Load { loaded, stamps } = load(&sources);
    let renders = AtomicUsize::new(0);
    let render = |which: &[usize], deflate| {
        renders.fetch_add(which.len(), Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(50));
        Metrics::pieces(Format::Text, &loaded, which, deflate)
    };
    let cache = &metrics.caches[Format::Text as usize];
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| cache.deflated(&stamps, render));
        }
    });
    assert_eq!(renders.load(Ordering::SeqCst), 3);
}

/// `body` without the process's families, whose values move by themselves.
fn without_process(format: Format, body: &[u8]) -> Vec<u8> {
    use prost::Message;
    if format != Format::Protobuf {
        let text = String::from_utf8_lossy(body);
        let kept = text.split_inclusive('\n').filter(|l| {
            !["process_", "# HELP process_", "# TYPE process_", "# UNIT process_"]
                .iter()
                .any(|p| l.starts_with(p))
        });
        return kept.collect::<String>().into_bytes();
    }
    let mut rest = body;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let family = proto::MetricFamily::decode_length_delimited(&mut rest).expect("a delimited family");
        if !family.name.starts_with("process_") {
            family.encode_length_delimited(&mut out).unwrap();
        }
    }
    out
}

#[test]
fn the_live_part_assembled_is_the_live_part_rendered_whole() {
    let metrics = varied();
    let sources = metrics.sources();
    for format in Format::ALL {
        for round in 0..3 {
            if round == 2 {
                sources.list[2].self_metrics.observe_admin("stop_recipe", 403);
            }
            let large = whole(&metrics, format).len();
            let mut body = metrics.scrape(format, round == 1).chunks.concat();
            if round == 1 {
                let mut inflated = Vec::new();
                flate2::read::GzDecoder::new(&body[..])
                    .read_to_end(&mut inflated)
                    .unwrap();
                body = inflated;
            }
            let live = metrics.live(format, &load(&sources).loaded);
            assert_eq!(
                without_process(format, &body[large..]),
                without_process(format, &live),
                "{format:?}, round {round}"
            );
        }
    }
    let text = String::from_utf8(metrics.scrape(Format::Text, false).chunks.concat()).unwrap();
    assert!(
        text.contains("workato_admin_requests_total{action=\"stop_recipe\",code=\"403\",workspace=\"c\"} 3"),
        "{text}"
    );
}
