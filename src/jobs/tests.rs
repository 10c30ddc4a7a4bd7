//! The job state's tests: duration buckets, the error type cap, plans that read
//! only what moved, and what is published into the snapshot when.

use std::sync::Arc;

use super::*;
use crate::snapshot::{Recipe, SharedSnapshot};

fn job(id: &str, status: JobStatus, start: f64, end: Option<f64>, error: Option<(&str, &str)>) -> Job {
    Job {
        id: id.into(),
        status,
        started_at: Some(start),
        completed_at: end,
        error: error.map(|(a, t)| (a.into(), t.into())),
    }
}

#[test]
fn durations_land_in_their_buckets() {
    let mut d = Durations::default();
    for s in [0.05, 0.1, 0.7, 4000.0] {
        d.observe(&DURATION_BUCKETS, s);
    }
    assert_eq!(d.buckets[0], 2, "0.1 is in the le=0.1 bucket");
    assert_eq!(d.buckets[2], 1, "0.7 is in the le=1 bucket");
    assert_eq!(d.buckets[DURATION_BUCKETS.len()], 1, "beyond an hour is +Inf only");
    assert_eq!(d.count, 4);
}

#[test]
fn error_types_beyond_the_cap_count_as_other() {
    let config = JobsConfig {
        max_error_types: 2,
        ..JobsConfig::default()
    };
    let mut jobs = RecipeJobs::default();
    let now = unix_now();
    for (i, kind) in ["Timeout", "Bad request", "Timeout", "Server error", "Rate limit"]
        .iter()
        .enumerate()
    {
        let j = job(
            &format!("j{i}"),
            JobStatus::Failed,
            now - 2.0,
            Some(now - 1.0),
            Some(("slack", kind)),
        );
        jobs.observe(&j, &config);
    }
    let key = |t: &str| -> ErrorKey { ("slack".into(), t.into()) };
    assert_eq!(jobs.errors.get(&key("Timeout")), Some(&2));
    assert_eq!(jobs.errors.get(&key("Bad request")), Some(&1));
    assert_eq!(jobs.errors.get(&key(OTHER_ERROR_TYPE)), Some(&2));
    assert_eq!(jobs.errors.len(), 3);
}

fn recipe(id: u64, succeeded: u64, last_run_at: Option<f64>) -> Recipe {
    Recipe {
        id,
        name: format!("r{id}"),
        folder_id: None,
        project_id: None,
        running: Some(true),
        stop_cause: None,
        trigger_application: None,
        version: None,
        jobs_succeeded: Some(succeeded),
        jobs_failed: Some(0),
        tasks: None,
        last_run_at,
        last_job_started_at: None,
        stopped_at: None,
        connection_ids: vec![],
    }
}

#[test]
fn plans_read_only_what_moved() {
    let tracker = JobsTracker::new(JobsConfig::default(), Arc::default());
    let first = tracker.plan(&[recipe(1, 5, Some(10.0)), recipe(2, 0, None)]);
    assert!(first.is_empty(), "recipes seen for the first time cost no call");
    let first = tracker.plan(&[recipe(1, 5, Some(10.0)), recipe(2, 0, None)]);
    assert!(first.is_empty(), "a baselined recipe that did not move costs no call");
    let first = tracker.plan(&[recipe(1, 5, Some(10.5)), recipe(2, 0, None)]);
    assert_eq!(first.len(), 1, "a baselined recipe that moved is read");
    assert!(first[0].calibrate);
    assert_eq!(
        tracker.baseline(1).and_then(|b| b.last_run_at),
        Some(10.0),
        "the baseline stays until the read"
    );
    tracker.calibrate(1, first[0].counts, &[], &[], Default::default(), None);
    assert_eq!(tracker.baseline(1), None);
    assert!(
        tracker.plan(&[recipe(1, 5, Some(10.5)), recipe(2, 0, None)]).is_empty(),
        "nothing moved"
    );
    let moved = tracker.plan(&[recipe(1, 6, Some(11.0)), recipe(2, 0, None)]);
    assert_eq!(
        moved.iter().map(|p| (p.recipe_id, p.walk)).collect::<Vec<_>>(),
        vec![(1, true)]
    );
    tracker.plan(&[recipe(2, 0, None)]);
    assert_eq!(tracker.tracked(), 1, "a deleted recipe's state is dropped");
}

#[test]
fn recipes_left_unread_are_read_first_the_longest_waiting_first() {
    let tracker = JobsTracker::new(JobsConfig::default(), Arc::default());
    let order = |plan: Vec<Planned>| plan.iter().map(|p| p.recipe_id).collect::<Vec<_>>();
    assert!(tracker.plan(&[recipe(1, 0, None), recipe(2, 0, None)]).is_empty());
    // Recipe 1 moves; the cycle's budget runs dry before it is read.
    assert_eq!(
        order(tracker.plan(&[recipe(1, 1, Some(10.0)), recipe(2, 0, None)])),
        [1]
    );
    // Recipe 2 ran more recently, but recipe 1 has waited longer.
    assert_eq!(
        order(tracker.plan(&[recipe(1, 1, Some(10.0)), recipe(2, 1, Some(20.0))])),
        [1, 2]
    );
    // Recipe 1 is read; moving again, it waits behind recipe 2.
    tracker.served(1);
    assert_eq!(
        order(tracker.plan(&[recipe(1, 2, Some(30.0)), recipe(2, 1, Some(20.0))])),
        [2, 1]
    );
    // Among recipes that started waiting together, the most recently run first.
    tracker.served(1);
    tracker.served(2);
    assert_eq!(
        order(tracker.plan(&[recipe(1, 3, Some(40.0)), recipe(2, 2, Some(50.0))])),
        [2, 1]
    );
}

/// The instant a read waits in the budget's line from (its rank there,
/// shared by every customer of an Embed admin workspace) is when it was
/// first planned, however many plans left it unread.
#[tokio::test(start_paused = true)]
async fn a_read_left_unread_keeps_its_place_in_the_budgets_line() {
    let tracker = JobsTracker::new(JobsConfig::default(), Arc::default());
    let due = |plan: Vec<Planned>| {
        plan.iter()
            .map(|p| (p.recipe_id, p.waiting_since.at))
            .collect::<Vec<_>>()
    };
    let start = tokio::time::Instant::now();
    assert!(tracker.plan(&[recipe(1, 0, None), recipe(2, 0, None)]).is_empty());
    assert_eq!(
        due(tracker.plan(&[recipe(1, 1, Some(10.0)), recipe(2, 0, None)])),
        [(1, start)]
    );
    tokio::time::advance(Duration::from_secs(60)).await;
    // Left unread; 2 moves: 1 keeps the instant of the plan that first held it.
    assert_eq!(
        due(tracker.plan(&[recipe(1, 1, Some(10.0)), recipe(2, 1, Some(20.0))])),
        [(1, start), (2, start + Duration::from_secs(60))]
    );
    tracker.served(1);
    tokio::time::advance(Duration::from_secs(60)).await;
    let later = start + Duration::from_secs(120);
    assert_eq!(
        due(tracker.plan(&[recipe(1, 2, Some(30.0)), recipe(2, 1, Some(20.0))])),
        [(2, start + Duration::from_secs(60)), (1, later)],
        "read, then moving again, it is due from now"
    );
}

#[test]
fn a_start_alone_is_read_after_every_completion_and_never_waits_in_line() {
    let tracker = JobsTracker::new(JobsConfig::default(), Arc::default());
    let order = |plan: &[Planned]| plan.iter().map(|p| (p.recipe_id, p.only_started)).collect::<Vec<_>>();
    let at = |id, succeeded, last_run_at, started_at| Recipe {
        last_job_started_at: Some(started_at),
        ..recipe(id, succeeded, Some(last_run_at))
    };
    // All four first seen; 1 and 2 then read up to their newest job, 3 and
    // 4 keep their baseline.
    let first: Vec<Recipe> = (1..=4).map(|id| at(id, 1, 10.0, 9.0)).collect();
    assert!(tracker.plan(&first).is_empty());
    for recipe in &first[..2] {
        let mut state = tracker.lock();
        let jobs = state.get_mut(&recipe.id).unwrap();
        (jobs.calibrated, jobs.baseline, jobs.seen) = (true, None, Some(Counts::of(recipe)));
    }
    // A job starts on 1 and on 3, more recently than 2 and 4 complete one.
    let moved = vec![
        at(1, 1, 10.0, 30.0),
        at(2, 2, 20.0, 15.0),
        at(3, 1, 10.0, 30.0),
        at(4, 2, 20.0, 15.0),
    ];
    let plan = tracker.plan(&moved);
    assert_eq!(order(&plan), [(2, false), (4, false), (1, true), (3, true)]);
    // In the budget's line (shared with other customers), a start goes
    // behind the completions due within the next interval.
    let minute = Duration::from_secs(60);
    assert_eq!(plan[0].due(minute), plan[0].waiting_since.at);
    assert_eq!(plan[2].due(minute), plan[2].waiting_since.at + minute);
    // The budget runs dry after 2: the others are left, and 1's job
    // completes meanwhile; 2 moves again. 4 waited longest; 1, now with a
    // completion, comes with this plan's behind 2 (more recent); the start
    // still running on 3 never waited in line: last.
    tracker.finish_walk(2, plan[0].counts);
    tracker.served(2);
    let later = vec![
        at(1, 2, 31.0, 30.0),
        at(2, 3, 40.0, 39.0),
        moved[2].clone(),
        moved[3].clone(),
    ];
    assert_eq!(
        order(&tracker.plan(&later)),
        [(4, false), (2, false), (1, false), (3, true)]
    );
}

#[test]
fn a_recipe_that_did_not_change_is_published_again_as_it_was() {
    let snapshot: Arc<SharedSnapshot> = Arc::default();
    let tracker = JobsTracker::new(JobsConfig::default(), Arc::clone(&snapshot));
    let quiet = |id| {
        let mut r = recipe(id, 0, None);
        r.jobs_succeeded = Some(0);
        r
    };
    tracker.plan(&[quiet(1), quiet(2)]);
    let now = unix_now();
    let done = |id: &str| job(id, JobStatus::Succeeded, now - 5.0, Some(now - 1.0), None);
    tracker.apply_page(1, &[done("a1")], &mut Walk::everything_new());
    tracker.apply_page(2, &[done("b1")], &mut Walk::everything_new());
    let before = snapshot.load().jobs.clone();
    tracker.apply_page(2, &[done("b2")], &mut Walk::everything_new());
    let after = snapshot.load().jobs.clone();
    assert!(Arc::ptr_eq(&before.recipes[0], &after.recipes[0]), "recipe 1 shared");
    assert!(!Arc::ptr_eq(&before.recipes[1], &after.recipes[1]), "recipe 2 new");
    assert_eq!((after.recipes[1].id, after.recipes[1].durations[0].count), (2, 2));
    assert_eq!(
        before.recipes[1].durations[0].count, 1,
        "what was published stays as it was"
    );
}

#[test]
fn every_change_is_published_into_the_snapshot_and_only_then() {
    let snapshot: Arc<SharedSnapshot> = Arc::default();
    let tracker = JobsTracker::new(JobsConfig::default(), Arc::clone(&snapshot));
    let mut never_ran = recipe(1, 0, None);
    never_ran.jobs_succeeded = Some(0);
    tracker.plan(&[never_ran]);
    assert!(snapshot.load().jobs.recipes.is_empty(), "no job seen, no job series");
    let now = unix_now();
    let failed = job(
        "j1",
        JobStatus::Failed,
        now - 5.0,
        Some(now - 1.0),
        Some(("slack", "Timeout")),
    );
    tracker.apply_page(1, &[failed], &mut Walk::everything_new());
    let published = snapshot.load().jobs.clone();
    assert_eq!(published.recipes.len(), 1);
    let stats = &published.recipes[0];
    assert_eq!((stats.id, stats.name.as_str()), (1, "r1"));
    assert_eq!((stats.durations[0].count, stats.durations[1].count), (0, 1));
    assert_eq!(stats.failure_ratio, Some(1.0));
    assert_eq!(stats.errors, vec![(("slack".into(), "Timeout".into()), 1)]);
    let held = tracker.lock()[&1].errors.keys().next().cloned().expect("one error key");
    assert!(
        Arc::ptr_eq(&held.0, &stats.errors[0].0.0) && Arc::ptr_eq(&held.1, &stats.errors[0].0.1),
        "publishing shares the error key, it does not copy it"
    );
    assert_eq!(published.delays.count, 1);
    assert!(published.ratios_expire_at.is_some_and(|t| t > now));

    let generation = snapshot.generation();
    tracker.forget_pending(1, "not tracked");
    assert!(!tracker.slide(now), "no minute left the window yet");
    assert_eq!(snapshot.generation(), generation, "nothing changed, nothing published");
    let later = tracker.stats(now + 7200.0);
    assert_eq!(later.recipes[0].failure_ratio, None, "the window slid past the job");
    assert_eq!(tracker.stats(now), *published, "computing stats changes nothing");

    let expired = published.ratios_expire_at.unwrap();
    assert!(tracker.slide(expired), "the job's minute left the window");
    let slid = snapshot.load().jobs.clone();
    assert_eq!(slid.recipes[0].failure_ratio, None);
    assert_eq!(
        slid.recipes[0].durations, published.recipes[0].durations,
        "only the ratio moved"
    );
    assert_eq!(slid.ratios_expire_at, None, "nothing left to slide");
}

/// The customers of an Embed admin workspace share what they learn of the
/// length of jobs pages: a customer whose newest page holds two jobs, when
/// another has seen three on a page, knows it holds the whole history (and
/// lists no running jobs, reads no older page), where alone it could not.
#[test]
fn customers_learn_the_length_of_jobs_pages_together() {
    let shared = Arc::new(PageSize::default());
    let tracker = || JobsTracker::sharing(JobsConfig::default(), Arc::default(), Arc::clone(&shared));
    let (first, second) = (tracker(), tracker());
    let alone = JobsTracker::new(JobsConfig::default(), Arc::default());
    for t in [&first, &alone] {
        t.learn_page_size(3);
    }
    second.learn_page_size(2);
    assert!(second.is_last_page(2), "shorter than the longest page any customer saw");
    assert!(!second.is_last_page(3) && !first.is_last_page(3));
    assert_eq!(shared.get(), 3);
    let other = JobsTracker::new(JobsConfig::default(), Arc::default());
    other.learn_page_size(2);
    assert!(
        !other.is_last_page(2),
        "alone, the longest page it saw may be a full one"
    );
    assert!(alone.is_last_page(2));
}
