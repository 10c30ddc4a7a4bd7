//! The snapshot's tests: readers keeping what they loaded, and readiness
//! and `up` after the first polls.

use super::*;

#[test]
fn readers_keep_the_snapshot_they_loaded() {
    let shared = SharedSnapshot::default();
    let before = shared.load();
    shared.update(|s| {
        s.workspace = Some(Arc::new(WorkspaceInfo {
            id: 1,
            name: "w".into(),
            plan: "p".into(),
            customer: None,
        }))
    });
    assert!(before.workspace.is_none());
    assert_eq!(shared.load().workspace.as_ref().map(|w| w.id), Some(1));
}

#[test]
fn ready_after_a_first_poll_of_every_collector_and_up_the_last_poll() {
    let mut snapshot = Snapshot::default();
    for c in Collector::ALL {
        assert!(!snapshot.ready());
        snapshot.collectors.insert(
            c,
            CollectorStatus {
                up: true,
                last_success: Some(1.0),
                ..Default::default()
            },
        );
    }
    assert!(snapshot.ready() && snapshot.up());
    snapshot.collectors.insert(
        Collector::Recipes,
        CollectorStatus {
            up: false,
            last_success: Some(1.0),
            ..Default::default()
        },
    );
    assert!(snapshot.ready() && !snapshot.up());
}

#[test]
fn a_failed_first_poll_is_a_first_poll_and_jobs_wait_for_a_sweep() {
    let failed = CollectorStatus {
        last_attempt: Some(1.0),
        last_error: Some("HTTP 500".into()),
        ..Default::default()
    };
    let mut snapshot = Snapshot::default();
    for c in Collector::ALL.into_iter().filter(|c| *c != Collector::Jobs) {
        snapshot.collectors.insert(c, failed.clone());
    }
    assert!(snapshot.ready() && !snapshot.up(), "no sweep: nothing for jobs to poll");
    snapshot.collectors.get_mut(&Collector::Recipes).unwrap().last_success = Some(2.0);
    assert_eq!(snapshot.waiting(), vec![Collector::Jobs]);
    snapshot.collectors.insert(Collector::Jobs, failed);
    assert!(snapshot.ready());
}

#[test]
fn an_unavailable_optional_collector_holds_back_neither_readiness_nor_up() {
    let mut snapshot = Snapshot::default();
    for c in Collector::ALL {
        let status = if c.optional() {
            CollectorStatus {
                unavailable: true,
                last_error: Some("403".into()),
                ..Default::default()
            }
        } else {
            CollectorStatus {
                up: true,
                last_success: Some(1.0),
                ..Default::default()
            }
        };
        snapshot.collectors.insert(c, status);
    }
    assert!(snapshot.ready() && snapshot.up());
    snapshot.collectors.get_mut(&Collector::Workspace).unwrap().unavailable = false;
    assert!(!snapshot.ready() && !snapshot.up());
    assert_eq!(snapshot.waiting(), vec![Collector::Workspace]);
}
