//! The first read's decision: which completed jobs are new since a baseline.
use super::*;

const T: f64 = 1_800_000_000.25;

fn counts(succeeded: Option<u64>, failed: Option<u64>, last_run_at: Option<f64>, started: Option<f64>) -> Counts {
    Counts {
        succeeded,
        failed,
        last_run_at,
        last_job_started_at: started,
    }
}

/// A baseline of 10 completed jobs, the last completed at `T`, the newest
/// started at `T - 5`.
fn baseline() -> Counts {
    counts(Some(8), Some(2), Some(T), Some(T - 5.0))
}

fn moved(by: u64) -> Counts {
    counts(Some(8 + by), Some(2), Some(T + 100.0), Some(T + 90.0))
}

fn done(id: &str, start: f64, end: f64) -> Job {
    Job {
        id: id.into(),
        status: JobStatus::Succeeded,
        started_at: Some(start),
        completed_at: Some(end),
        error: None,
    }
}

fn running(id: &str, start: f64) -> Job {
    Job {
        id: id.into(),
        status: JobStatus::Pending,
        started_at: Some(start),
        completed_at: None,
        error: None,
    }
}

fn ids(decision: &Decision) -> Vec<&str> {
    let mut ids: Vec<&str> = decision.new.iter().map(String::as_str).collect();
    ids.sort_unstable();
    ids
}

#[test]
fn jobs_completed_after_the_baseline_are_new_and_those_before_are_not() {
    let page = [
        done("c", T + 50.0, T + 51.0),
        done("b", T + 20.0, T + 21.0),
        done("a", T - 5.0, T),
        done("z", T - 30.0, T - 29.0),
    ];
    let decision = decide(&baseline(), &moved(2), &page);
    assert_eq!(ids(&decision), ["b", "c"]);
    assert_eq!((decision.doubtful, decision.missing), (0, 0));
}

#[test]
fn a_job_running_at_the_baseline_is_new_when_it_completes_and_a_tie_is_old() {
    // "r" started before the baseline and completed after it; "a" completed
    // at the very millisecond of the baseline's last_run_at: it is that job.
    let page = [
        done("n", T + 50.0, T + 50.5),
        done("r", T - 10.0, T + 0.001),
        done("a", T - 5.0, T),
        running("p", T - 7.0),
    ];
    let decision = decide(&baseline(), &moved(2), &page);
    assert_eq!(ids(&decision), ["n", "r"], "pending jobs are tracked, not decided");
}

#[test]
fn jobs_completed_between_the_sweep_and_the_read_are_new_too() {
    // The sweep saw one completion; by the read two more had completed.
    let page = [
        done("c", T + 60.0, T + 61.0),
        done("b", T - 8.0, T + 40.0),
        done("a", T - 5.0, T + 2.0),
        done("z", T - 30.0, T - 29.0),
    ];
    let decision = decide(&baseline(), &moved(1), &page);
    assert_eq!(ids(&decision), ["a", "b", "c"]);
}

#[test]
fn within_the_second_of_a_whole_second_last_run_at_the_counters_settle_it() {
    let whole = counts(Some(10), Some(0), Some(T.floor()), None);
    let page = [
        done("x", T - 9.0, T.floor() + 0.9),
        done("y", T - 9.5, T.floor() + 0.4),
        done("w", T - 9.9, T.floor() + 0.1),
        done("old", T - 20.0, T.floor() - 0.5),
    ];
    let now = counts(Some(12), Some(0), Some(T + 1.0), None);
    let decision = decide(&whole, &now, &page);
    assert_eq!(ids(&decision), ["x", "y"], "Δ = 2: the two latest-completed in doubt");
    assert_eq!((decision.doubtful, decision.missing), (1, 0));
}

#[test]
fn a_job_started_more_than_a_second_after_the_baseline_is_new_whatever_its_completion() {
    // No last_run_at: only the start times and the counters can tell.
    let base = counts(Some(3), Some(0), None, Some(T));
    let page = [
        done("late", T + 1.5, T + 2.0),
        done("close", T + 0.5, T + 3.0),
        done("old", T - 3.0, T - 2.0),
    ];
    let decision = decide(&base, &counts(Some(4), Some(0), None, Some(T + 1.5)), &page);
    assert_eq!(
        ids(&decision),
        ["late"],
        "within a second of the newest start, and Δ = 1 already explained"
    );
    assert_eq!(decision.doubtful, 2);
}

#[test]
fn more_new_jobs_than_were_read_are_reported_missing_and_none_is_invented() {
    let page = [done("b", T + 20.0, T + 21.0), done("a", T + 10.0, T + 11.0)];
    let decision = decide(&baseline(), &moved(5), &page);
    assert_eq!(ids(&decision), ["a", "b"]);
    assert_eq!(decision.missing, 3);
}

#[test]
fn counters_lower_than_the_baseline_or_missing_settle_no_doubt() {
    let page = [done("a", T - 1.0, T + 0.5), done("z", T - 30.0, T - 29.0)];
    let no_stamp = counts(Some(8), Some(2), None, None);
    let lower = counts(Some(1), Some(0), None, None);
    let decision = decide(&no_stamp, &lower, &page);
    assert_eq!((decision.new.len(), decision.doubtful, decision.missing), (0, 2, 0));
    let missing = counts(None, None, None, None);
    let decision = decide(&missing, &counts(None, Some(3), None, None), &page);
    assert_eq!((decision.new.len(), decision.doubtful), (0, 2), "no counters, no Δ");
    // Timestamps still decide without counters.
    let stamped = counts(None, None, Some(T), None);
    assert_eq!(ids(&decide(&stamped, &missing, &page)), ["a"]);
}

#[test]
fn a_recipe_whose_counters_were_zero_has_only_new_jobs() {
    let base = counts(Some(0), Some(0), None, Some(T));
    let page = [done("b", T + 5.0, T + 6.0), done("a", T, T + 30.0)];
    assert_eq!(
        ids(&decide(&base, &counts(Some(2), Some(0), None, None), &page)),
        ["a", "b"]
    );
}

#[test]
fn the_read_stops_at_a_job_that_surely_existed_at_the_baseline() {
    let base = baseline();
    assert!(before_baseline(&base, &done("z", T - 30.0, T - 29.0)));
    assert!(
        before_baseline(&base, &running("p", T - 7.0)),
        "started before the newest start"
    );
    assert!(!before_baseline(&base, &running("q", T - 5.5)), "within a second of it");
    assert!(!before_baseline(&base, &done("r", T - 5.5, T + 3.0)));
}

#[test]
fn a_first_read_page_by_page_decides_as_one_read_of_every_page() {
    // A busy recipe: eight new jobs over four pages of two, one in doubt
    // (a whole-second last_run_at), then the page with the baseline's jobs.
    let base = counts(Some(10), Some(0), Some(T.floor()), Some(T - 5.0));
    let now = counts(Some(18), Some(0), Some(T + 100.0), Some(T + 95.0));
    let pages = [
        vec![done("h", T + 90.0, T + 91.0), done("g", T + 80.0, T + 81.0)],
        vec![done("f", T + 70.0, T + 71.0), done("e", T + 60.0, T + 61.0)],
        vec![done("d", T + 50.0, T + 51.0), done("c", T + 40.0, T + 41.0)],
        vec![done("b", T + 30.0, T + 31.0), done("a", T - 4.5, T.floor() + 0.5)],
        vec![done("z", T - 6.0, T.floor() - 0.5), done("y", T - 9.0, T - 8.0)],
    ];
    let every: Vec<Job> = pages.iter().flatten().cloned().collect();
    let whole = decide(&base, &now, &every);

    let mut read = FirstRead::new(base, now);
    let mut new = HashSet::new();
    for (i, page) in pages.iter().enumerate() {
        assert!(!read.is_done(), "done before page {i}");
        // Kept as a restart would keep it: through the state file's JSON.
        let json = serde_json::to_string(&read).unwrap();
        read = serde_json::from_str(&json).unwrap();
        new.extend(read.read(page, false).unwrap().into_iter().map(|j| j.id.clone()));
        assert_eq!(read.cursor.as_deref(), page.last().map(|j| j.id.as_str()));
    }
    assert!(read.is_done(), "the page with the baseline's jobs ends the read");
    let settled = read.settle();
    new.extend(settled.new.into_iter().map(|j| j.id));
    let mut got: Vec<&str> = new.iter().map(String::as_str).collect();
    got.sort_unstable();
    assert_eq!(got, ids(&whole));
    assert_eq!(got, ["a", "b", "c", "d", "e", "f", "g", "h"], "Δ = 8 settles the doubt");
    assert_eq!((settled.doubtful, settled.missing), (whole.doubtful, whole.missing));
    assert_eq!((settled.doubtful, settled.missing), (0, 0));
}

#[test]
fn a_first_read_goes_on_while_the_counters_show_a_job_not_yet_found() {
    // "r" ran across the baseline and started pages before it.
    let page_one = [done("n", T + 50.0, T + 51.0), done("z", T - 30.0, T - 29.0)];
    let mut read = FirstRead::new(baseline(), moved(2));
    read.read(&page_one, false).unwrap();
    assert!(read.reached);
    assert!(!read.is_done(), "Δ = 2, one job found");
    let older = [done("y", T - 40.0, T - 39.0), done("r", T - 50.0, T + 10.0)];
    let new: Vec<&str> = read
        .read(&older, false)
        .unwrap()
        .iter()
        .map(|j| j.id.as_str())
        .collect();
    assert_eq!(new, ["r"]);
    assert!(read.is_done());
    assert_eq!(read.settle(), Settled::default());
}

#[test]
fn jobs_tracked_pending_when_the_read_began_are_left_to_their_own_reads() {
    let mut read = FirstRead::new(baseline(), moved(2));
    read.tracked.insert("r".into());
    let page = [done("n", T + 50.0, T + 51.0), done("r", T - 50.0, T + 60.0)];
    let new: Vec<&str> = read.read(&page, true).unwrap().iter().map(|j| j.id.as_str()).collect();
    assert_eq!(new, ["n"], "r completed after the read began: its own read counts it");
    assert!(read.is_done(), "a short page is the whole history");
}

#[test]
fn jobs_in_doubt_past_the_bound_are_left_uncounted() {
    // No last_run_at: every job not started after the newest start is in doubt.
    let base = counts(Some(5), Some(0), None, Some(T));
    let page: Vec<Job> = (0..MAX_DOUBTS + 3)
        .map(|i| done(&format!("j{i}"), T - 1.0 - i as f64, T + 1.0))
        .collect();
    let mut read = FirstRead::new(base, counts(Some(7), Some(0), None, Some(T)));
    assert!(read.read(&page, true).unwrap().is_empty());
    assert_eq!((read.doubts.len(), read.doubts_over), (MAX_DOUBTS, 3));
    let settled = read.settle();
    assert_eq!(settled.new.len(), 2, "Δ = 2");
    assert_eq!(settled.doubtful, (MAX_DOUBTS - 2 + 3) as u64);
}

fn read_ids<'a>(read: &mut FirstRead, page: &'a [Job]) -> Result<Vec<&'a str>, NothingNew> {
    let json = serde_json::to_string(&*read).unwrap();
    *read = serde_json::from_str(&json).unwrap();
    Ok(read.read(page, false)?.iter().map(|j| j.id.as_str()).collect())
}

#[test]
fn a_job_listed_again_by_a_later_page_or_twice_on_one_counts_once() {
    // Ties in start order may make two pages overlap: "c" and "b" started
    // in the same second, and the second page repeats "c" (also to the
    // next life: the read goes through the state file between pages).
    let mut read = FirstRead::new(baseline(), moved(5));
    let first = [done("d", T + 50.0, T + 51.0), done("c", T + 40.2, T + 41.0)];
    assert_eq!(read_ids(&mut read, &first), Ok(vec!["d", "c"]));
    let overlapping = [
        done("c", T + 40.2, T + 41.0),
        done("b", T + 40.0, T + 42.0),
        done("b", T + 40.0, T + 42.0),
    ];
    assert_eq!(read_ids(&mut read, &overlapping), Ok(vec!["b"]));
    assert_eq!(read.new_by_sweep, 3, "each job once against Δ");
    assert_eq!(read.cursor.as_deref(), Some("b"));
}

#[test]
fn a_job_read_before_is_passed_over_wherever_it_comes_back() {
    let mut read = FirstRead::new(baseline(), moved(5));
    let first = [done("d", T + 50.0, T + 51.0), done("c", T + 40.0, T + 41.0)];
    read_ids(&mut read, &first).unwrap();
    // The same page again (a server ignoring the offset): refused as it is.
    let before = read.clone();
    assert_eq!(read.read(&first, false), Err(NothingNew));
    assert_eq!(read, before);
    // A page bringing back a job of a page before beside an older one.
    let back = [done("d", T + 50.0, T + 51.0), done("a", T + 10.0, T + 11.0)];
    assert_eq!(read_ids(&mut read, &back), Ok(vec!["a"]));
    // Workato orders by something other than the start, or a worker
    // started a job late: a job started after the cursor is still new.
    let late = [done("q", T + 45.0, T + 46.0), done("z", T - 30.0, T - 29.0)];
    assert_eq!(read_ids(&mut read, &late), Ok(vec!["q"]));
}

#[test]
fn past_the_bound_the_latest_started_jobs_are_forgotten_and_passed_over_if_they_come_back() {
    let mut read = FirstRead::new(baseline(), moved(5000));
    let page = |from: usize| -> Vec<Job> {
        (from..from + 100)
            .map(|i| done(&format!("j{i}"), T + 5000.0 - i as f64, T + 5001.0 - i as f64))
            .collect()
    };
    for p in 0..12 {
        assert_eq!(read.read(&page(p * 100), false).unwrap().len(), 100);
    }
    assert_eq!(read.remembered.len(), MAX_REMEMBERED);
    assert_eq!(
        read.forgotten_from,
        Some(T + 5000.0 - 199.0),
        "j0..j199 forgotten, newest first"
    );
    // j150 again: perhaps read (it was), passed over; a job never read
    // that started before every forgotten one is new.
    let again = [done("j150", T + 4850.0, T + 4851.0), done("k", T + 4700.0, T + 4701.0)];
    let new: Vec<&str> = read
        .read(&again, false)
        .unwrap()
        .iter()
        .map(|j| j.id.as_str())
        .collect();
    assert_eq!(new, ["k"]);
}
