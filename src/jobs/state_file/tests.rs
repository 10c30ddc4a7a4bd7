//! The state file and its journal: what survives which restart.
use super::*;

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("we-state-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("jobs.json")
}

#[test]
fn state_round_trips_through_the_file() {
    let path = temp("roundtrip");
    let mut state = BTreeMap::new();
    let mut jobs = RecipeJobs {
        calibrated: true,
        watermark: Some(Mark {
            id: "j-abc".into(),
            ordinal: 7,
        }),
        next_ordinal: 8,
        seen: Some(Counts {
            succeeded: Some(3),
            failed: Some(1),
            last_run_at: Some(12.5),
            last_job_started_at: Some(13.0),
        }),
        ..RecipeJobs::default()
    };
    jobs.pending.insert(
        "j-pending".into(),
        PendingJob {
            ordinal: 6,
            after: Some("j-before".into()),
        },
    );
    jobs.durations[1].observe(&crate::snapshot::DURATION_BUCKETS, 2.5);
    jobs.errors.insert(("slack".into(), "Timeout".into()), 4);
    state.insert(42, jobs);
    state.insert(43, RecipeJobs::default());
    let mut delays = Delays::default();
    delays.observe(&crate::snapshot::DELAY_BUCKETS, 3.0);
    save(&mut Store::new(&path), &state, &delays);
    let loaded = load(&path);
    assert_eq!(loaded.recipes.len(), 1, "uncalibrated recipes are not saved");
    assert_eq!(loaded.delays.count, 1);
    let back = &loaded.recipes[&42];
    assert_eq!(back.durations[1].count, 1, "counters continue across restarts");
    assert_eq!(back.durations[1].sum, 2.5);
    assert_eq!(back.errors.get(&("slack".into(), "Timeout".into())), Some(&4));
    assert_eq!(
        back.watermark.as_ref().map(|w| (w.id.as_str(), w.ordinal)),
        Some(("j-abc", 7))
    );
    assert_eq!(
        back.pending.get("j-pending").map(|p| (p.ordinal, p.after.as_deref())),
        Some((6, Some("j-before")))
    );
    assert_eq!(back.next_ordinal, 8);
    assert_eq!(back.seen.and_then(|s| s.succeeded), Some(3));
    assert!(!path.with_extension("json.tmp").exists());
}

#[test]
fn missing_or_corrupt_files_mean_a_fresh_start() {
    assert!(
        load(&temp("missing").with_file_name("nothing-here.json"))
            .recipes
            .is_empty()
    );
    let path = temp("corrupt");
    std::fs::write(&path, b"{\"version\": 1, \"recipes\": {\"1\": ").unwrap();
    assert!(load(&path).recipes.is_empty());
    std::fs::write(&path, b"{\"version\": 99, \"recipes\": {}}").unwrap();
    assert!(load(&path).recipes.is_empty());
}

#[test]
fn the_journal_replays_changes_since_the_last_save_and_skips_a_cut_line() {
    let path = temp("journal");
    let _ = std::fs::remove_file(journal_path(&path));
    let calibrated = |count: u64| {
        let mut jobs = RecipeJobs {
            calibrated: true,
            next_ordinal: count + 1,
            ..RecipeJobs::default()
        };
        jobs.durations[0].count = count;
        jobs
    };
    let mut store = Store::new(&path);
    let saved = BTreeMap::from([(1, calibrated(5))]);
    save(&mut store, &saved, &Delays::default());
    store.append(1, &calibrated(7), &Delays::default()).unwrap();
    store.append(2, &calibrated(1), &Delays::default()).unwrap();
    store.append(1, &calibrated(9), &Delays::default()).unwrap();
    // A kill in the middle of the next write.
    let mut journal = std::fs::OpenOptions::new()
        .append(true)
        .open(journal_path(&path))
        .unwrap();
    journal.write_all(b"{\"recipe_id\": 1, \"state\": {\"water").unwrap();
    drop(journal);

    let loaded = load(&path);
    assert_eq!(
        loaded.recipes[&1].durations[0].count, 9,
        "the last line of a recipe wins"
    );
    assert_eq!(loaded.recipes[&2].durations[0].count, 1);

    save(&mut store, &loaded.recipes, &loaded.delays);
    assert_eq!(
        std::fs::metadata(journal_path(&path)).unwrap().len(),
        0,
        "a save empties the journal"
    );
    assert_eq!(load(&path).recipes[&1].durations[0].count, 9);
}

#[test]
fn native_buckets_survive_a_restart_and_older_files_rebuild_them_from_the_classic_ones() {
    let path = temp("native");
    let mut jobs = RecipeJobs {
        calibrated: true,
        ..RecipeJobs::default()
    };
    for seconds in [0.7, 42.0, 42.5] {
        jobs.durations[0].observe(&crate::snapshot::DURATION_BUCKETS, seconds);
        std::sync::Arc::make_mut(&mut jobs.detail[0]).observe("j-x", seconds, Some(1.0));
    }
    let native = jobs.detail[0].native.clone();
    let mut state = BTreeMap::new();
    state.insert(1, jobs);
    // A recipe counted before native histograms existed: its counters
    // only, as an older exporter wrote them.
    let mut old = RecipeJobs {
        calibrated: true,
        ..RecipeJobs::default()
    };
    old.durations[1].observe(&crate::snapshot::DURATION_BUCKETS, 7.0);
    old.durations[1].observe(&crate::snapshot::DURATION_BUCKETS, 7000.0);
    state.insert(2, old);
    save(&mut Store::new(&path), &state, &Delays::default());
    let text = std::fs::read_to_string(&path).unwrap();
    let mut file: serde_json::Value = serde_json::from_str(&text).unwrap();
    let observed = file
        .pointer_mut("/recipes/2/observed")
        .and_then(|o| o.as_object_mut())
        .expect("recipe 2's counters in the file");
    observed.remove("native");
    std::fs::write(&path, file.to_string()).unwrap();

    let loaded = load(&path);
    assert_eq!(loaded.recipes[&1].detail[0].native, native, "kept as counted");
    let rebuilt = &loaded.recipes[&2].detail[1].native;
    assert_eq!(rebuilt.count(), 2, "as many jobs as the classic buckets hold");
    assert!(loaded.recipes[&2].detail[0].native.buckets().len() == 0);
}

/// Encodes and writes, as the tracker does.
fn save(store: &mut Store, state: &BTreeMap<u64, RecipeJobs>, delays: &Delays) {
    let encoded = store.encode(state, delays).unwrap();
    store.save(&encoded).unwrap();
}
