//! The budget's sliding window, holds and waits, on paused time.
use super::*;

fn budget(n: u32) -> Budget {
    Budget::new(NonZeroU32::new(n).unwrap())
}

#[tokio::test(start_paused = true)]
async fn a_request_counts_until_a_minute_after_its_answer() {
    let budget = budget(2);
    let start = Instant::now();
    let slow = budget.acquire(Group::Jobs).await;
    let quick = budget.acquire(Group::Jobs).await;
    tokio::time::advance(Duration::from_millis(100)).await;
    budget.settle(Group::Jobs, quick);
    // The first answer takes 30 s: Workato may have counted it as late.
    tokio::time::advance(Duration::from_secs(30)).await;
    budget.settle(Group::Jobs, slow);
    budget.acquire(Group::Jobs).await;
    assert_eq!(
        Instant::now() - start,
        WINDOW + Duration::from_millis(100),
        "the quick one's answer leaves the window first"
    );
    budget.acquire(Group::Jobs).await;
    assert_eq!(
        Instant::now() - start,
        WINDOW + Duration::from_millis(30_100),
        "the slow one counts from its answer, not from its send"
    );
}

#[tokio::test(start_paused = true)]
async fn room_is_waited_for_until_a_deadline_and_no_longer() {
    let budget = budget(2);
    let start = Instant::now();
    budget.acquire(Group::Jobs).await;
    tokio::time::advance(Duration::from_secs(20)).await;
    budget.acquire(Group::Jobs).await;
    assert!(!budget.room_by(Group::Jobs, Instant::now()).await);
    assert_eq!(
        Instant::now() - start,
        Duration::from_secs(20),
        "no room by now: no wait"
    );
    assert!(
        !budget
            .room_by(Group::Jobs, start + WINDOW - Duration::from_secs(1))
            .await
    );
    assert_eq!(
        Instant::now() - start,
        Duration::from_secs(20),
        "none before the deadline: no wait"
    );
    assert!(
        budget.room_by(Group::Recipes, start).await,
        "other groups have their own minute"
    );
    assert!(budget.room_by(Group::Jobs, start + WINDOW).await);
    assert_eq!(Instant::now() - start, WINDOW, "the first request leaves the window");
    assert_eq!(budget.remaining(Group::Jobs), 1);
}

#[tokio::test(start_paused = true)]
async fn a_request_answered_after_its_minute_still_counts_from_its_answer() {
    let budget = budget(1);
    let start = Instant::now();
    let slot = budget.acquire(Group::Jobs).await;
    tokio::time::advance(Duration::from_secs(90)).await;
    budget.settle(Group::Jobs, slot);
    budget.acquire(Group::Jobs).await;
    assert_eq!(Instant::now() - start, Duration::from_secs(150));
}

#[tokio::test(start_paused = true)]
async fn full_burst_then_one_slot_per_expired_send() {
    let budget = budget(5);
    let start = Instant::now();
    for _ in 0..5 {
        budget.acquire(Group::Recipes).await;
    }
    assert_eq!(Instant::now(), start, "the first five go at once");
    assert_eq!(budget.remaining(Group::Recipes), 0);
    assert_eq!(budget.remaining(Group::Jobs), 5, "groups are independent");

    budget.acquire(Group::Recipes).await;
    assert_eq!(
        Instant::now() - start,
        WINDOW,
        "the sixth waits for the first to leave the window"
    );
}

#[tokio::test(start_paused = true)]
async fn never_more_than_the_budget_in_any_minute() {
    let budget = budget(7);
    let mut sends = Vec::new();
    let start = Instant::now();
    for _ in 0..40 {
        budget.acquire(Group::Jobs).await;
        sends.push(Instant::now() - start);
    }
    for (i, t) in sends.iter().enumerate() {
        let in_window = sends[i..].iter().filter(|s| **s < *t + WINDOW).count();
        assert!(in_window <= 7, "{in_window} sends in the minute from {t:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn an_impatient_caller_learns_how_long_the_wait_would_be() {
    let budget = budget(2);
    let start = Instant::now();
    budget.acquire(Group::Properties).await;
    budget.acquire(Group::Properties).await;
    assert_eq!(
        budget.acquire_within(Group::Properties, Duration::from_secs(3)).await,
        Err(WINDOW)
    );
    budget.hold(Group::Recipes, Duration::from_secs(2));
    assert_eq!(
        budget.acquire_within(Group::Recipes, Duration::from_secs(3)).await,
        Ok(start + Duration::from_secs(2))
    );
    assert_eq!(
        Instant::now() - start,
        Duration::from_secs(2),
        "a short hold is waited out"
    );
}

#[tokio::test(start_paused = true)]
async fn hold_delays_the_group_until_the_retry_after() {
    let budget = budget(50);
    let start = Instant::now();
    budget.hold(Group::Connections, Duration::from_secs(7));
    assert_eq!(budget.remaining(Group::Connections), 0);
    assert_eq!(
        budget.try_acquire(Group::Connections),
        Err(start + Duration::from_secs(7))
    );
    budget.acquire(Group::Connections).await;
    assert_eq!(Instant::now() - start, Duration::from_secs(7));
    // A shorter hold never shortens a longer one.
    budget.hold(Group::Connections, Duration::from_secs(20));
    budget.hold(Group::Connections, Duration::from_secs(10));
    assert_eq!(
        budget.try_acquire(Group::Connections),
        Err(start + Duration::from_secs(7 + 20))
    );
}

#[tokio::test(start_paused = true)]
async fn no_retry_after_holds_a_group_longer_than_the_cap() {
    let budget = budget(50);
    let start = Instant::now();
    for wait in [Duration::from_secs(1_000_000_000), Duration::MAX] {
        budget.hold(Group::Recipes, wait);
        assert_eq!(budget.try_acquire(Group::Recipes), Err(start + MAX_HOLD));
    }
    budget.acquire(Group::Recipes).await;
    assert_eq!(Instant::now() - start, MAX_HOLD, "polling again within the cap");
}

#[tokio::test(start_paused = true)]
async fn a_group_held_to_a_lower_limit_waits_alone() {
    let held = budget(5).with_limit(Group::Workspace, NonZeroU32::new(2).unwrap());
    assert_eq!(held.per_minute(Group::Workspace), 2);
    assert_eq!(held.per_minute(Group::Recipes), 5);
    let start = Instant::now();
    held.acquire(Group::Workspace).await;
    held.acquire(Group::Workspace).await;
    assert_eq!(held.remaining(Group::Workspace), 0);
    assert_eq!(held.remaining(Group::Recipes), 5, "other groups keep their own");
    held.acquire(Group::Workspace).await;
    assert_eq!(
        Instant::now() - start,
        WINDOW,
        "the third waits for the first to leave the window"
    );
    let raised = budget(5).with_limit(Group::Jobs, NonZeroU32::new(9).unwrap());
    assert_eq!(raised.per_minute(Group::Jobs), 5, "a limit only ever lowers");
}

/// Joins the line of `group` at `rank` and records the order it is served in.
fn waiter(
    budget: &std::sync::Arc<Budget>,
    served: &std::sync::Arc<Mutex<Vec<&'static str>>>,
    name: &'static str,
    rank: Instant,
) -> tokio::task::JoinHandle<()> {
    let (budget, served) = (std::sync::Arc::clone(budget), std::sync::Arc::clone(served));
    tokio::spawn(async move {
        budget.acquire_ranked(Group::Jobs, rank).await;
        served.lock().unwrap().push(name);
    })
}

#[tokio::test(start_paused = true)]
async fn room_goes_to_the_earliest_rank_then_to_the_first_come() {
    let budget = std::sync::Arc::new(budget(1));
    let served = std::sync::Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    budget.acquire(Group::Jobs).await;
    let mut waiters = Vec::new();
    // Come in this order, ranked 10, 30, 30 and 20 s before the start.
    for (name, ago) in [("late", 10), ("oldest", 30), ("oldest too", 30), ("middle", 20)] {
        waiters.push(waiter(&budget, &served, name, start - Duration::from_secs(ago)));
        tokio::task::yield_now().await;
    }
    for waiter in waiters {
        waiter.await.unwrap();
    }
    assert_eq!(
        *served.lock().unwrap(),
        ["oldest", "oldest too", "middle", "late"],
        "one a minute, oldest rank first, arrival breaking ties"
    );
    assert_eq!(Instant::now() - start, 4 * WINDOW);
}

#[tokio::test(start_paused = true)]
async fn a_caller_that_stops_waiting_lets_the_next_one_go_first() {
    let budget = std::sync::Arc::new(budget(1));
    let served = std::sync::Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    budget.acquire(Group::Jobs).await;
    let first = waiter(&budget, &served, "gave up", start - Duration::from_secs(20));
    tokio::task::yield_now().await;
    let second = waiter(&budget, &served, "next", start - Duration::from_secs(10));
    tokio::task::yield_now().await;
    tokio::time::advance(Duration::from_secs(5)).await;
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    second.await.unwrap();
    assert_eq!(*served.lock().unwrap(), ["next"]);
    assert_eq!(
        Instant::now() - start,
        WINDOW,
        "served when the minute freed room, not later"
    );
    assert!(budget.state(Group::Jobs).line.is_empty(), "nobody is left in line");
}

#[tokio::test(start_paused = true)]
async fn an_impatient_caller_does_not_wait_in_line() {
    let budget = std::sync::Arc::new(budget(1));
    let served = std::sync::Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    budget.acquire(Group::Jobs).await;
    let patient = waiter(&budget, &served, "patient", start);
    tokio::task::yield_now().await;
    tokio::time::advance(WINDOW - Duration::from_secs(1)).await;
    assert_eq!(
        budget.acquire_within(Group::Jobs, Duration::from_secs(2)).await,
        Ok(start + WINDOW)
    );
    patient.await.unwrap();
    assert_eq!(
        Instant::now() - start,
        2 * WINDOW,
        "the patient one waits for the next room"
    );
}

#[test]
fn the_spare_reserve_is_a_tenth_and_never_the_whole_minute() {
    assert_eq!([1, 2, 10, 11, 60, 1_000].map(spare_reserve), [0, 1, 1, 2, 6, 100]);
}

#[tokio::test(start_paused = true)]
async fn spare_work_leaves_the_reserve_to_the_rest_and_gives_up_at_its_deadline() {
    let budget = std::sync::Arc::new(budget(10));
    let start = Instant::now();
    let until = start + Duration::from_secs(30);
    for _ in 0..9 {
        assert!(budget.acquire_spare(Group::Jobs, start, until).await.is_some());
    }
    assert_eq!(Instant::now(), start, "nine of ten at once");
    assert_eq!(
        budget.acquire_spare(Group::Jobs, start, until).await,
        None,
        "the tenth is kept for work that cannot wait"
    );
    assert_eq!(Instant::now(), until, "waited for room until its deadline");
    assert!(budget.state(Group::Jobs).line.is_empty(), "and left the line");
    budget.acquire_ranked(Group::Jobs, start).await;
    assert_eq!(Instant::now(), until, "the reserve was there for the rest");
    assert_eq!(
        budget.acquire_spare(Group::Jobs, start, start + 2 * WINDOW).await,
        Some(start + WINDOW),
        "spare room comes back with the minute"
    );
}

#[tokio::test(start_paused = true)]
async fn work_that_cannot_wait_goes_before_spare_work_waiting_for_room() {
    let budget = std::sync::Arc::new(budget(2));
    let served = std::sync::Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    budget.acquire(Group::Jobs).await;
    // A start alone ranks an interval later; it waits for the minute, since
    // the one request left is the reserve.
    let spare = {
        let (budget, served) = (std::sync::Arc::clone(&budget), std::sync::Arc::clone(&served));
        tokio::spawn(async move {
            let slot = budget
                .acquire_spare(Group::Jobs, start + Duration::from_secs(60), start + 3 * WINDOW)
                .await;
            served.lock().unwrap().push("start alone");
            slot
        })
    };
    tokio::task::yield_now().await;
    tokio::time::advance(Duration::from_secs(10)).await;
    let completion = waiter(&budget, &served, "completion", start + Duration::from_secs(10));
    completion.await.unwrap();
    assert_eq!(
        Instant::now() - start,
        Duration::from_secs(10),
        "at once, from the reserve"
    );
    assert_eq!(
        spare.await.unwrap(),
        Some(start + WINDOW + Duration::from_secs(10)),
        "once the completion's request has left the window too: of two, one is the reserve"
    );
    assert_eq!(*served.lock().unwrap(), ["completion", "start alone"]);
}
