//! One jobs cycle: the calls that bring the tracker up to date.
//!
//! - **Walk**: from the watermark, `offset_job_id=<watermark>&prev=true`,
//!   repeated with the newest job returned until a page shorter than the
//!   largest page seen (or empty). Each page is ingested and moves the
//!   watermark before the next is asked for, so an error mid-walk loses
//!   nothing and counts nothing twice: the next cycle resumes there.
//! - **Pending**: a recipe holding jobs seen pending gets one
//!   `status=pending` read; each tracked job no longer listed has completed
//!   (or expired) and is read once by id. This costs one call per recipe
//!   plus one per completion, however long jobs stay pending, where
//!   re-reading every pending job would cost one call per job per cycle.
//! - **Calibrate**: a recipe seen for the first time costs one read of its
//!   newest page.

use std::collections::HashSet;

use super::{Counts, JobsTracker, Planned};
use crate::client::{Client, Group, JobsQuery, LIST_JOBS};
use crate::error::{Error, Result};
use crate::snapshot::{Job, Recipe};

/// Brings every recipe that moved up to date. Errors that concern the whole
/// API (token, privilege, throttling) end the cycle; others end only that
/// recipe's share and are reported after the rest are done.
///
/// A cycle spends what the jobs budget has left and no more: when it runs
/// dry, the rest of the plan (calibrations of recipes seen for the first
/// time come last) waits for the next cycle, whose plan still holds it.
/// So 5,000 new recipes calibrate at the budget's pace without one cycle
/// blocking for an hour and a half.
pub async fn cycle(client: &Client, tracker: &JobsTracker, recipes: &[Recipe]) -> Result<()> {
    let mut first_error = None;
    let plan = tracker.plan(recipes);
    let planned_recipes = plan.len();
    for (done, planned) in plan.into_iter().enumerate() {
        if client.budget().remaining(Group::Jobs) == 0 {
            tracing::debug!(
                done,
                deferred = planned_recipes - done,
                "jobs budget spent; the rest waits for the next cycle"
            );
            break;
        }
        match recipe(client, tracker, &planned).await {
            Ok(()) => {}
            Err(error @ (Error::Unauthorized { .. } | Error::Forbidden { .. } | Error::Throttled { .. })) => {
                first_error = Some(error);
                break;
            }
            Err(error) => {
                tracing::warn!(recipe_id = planned.recipe_id, %error, "reading jobs failed; resuming next cycle");
                first_error.get_or_insert(error);
            }
        }
    }
    tracker.save();
    first_error.map_or(Ok(()), Err)
}

fn is_not_found(error: &Error) -> bool {
    matches!(error, Error::Status { status: 404, .. })
}

async fn recipe(client: &Client, tracker: &JobsTracker, planned: &Planned) -> Result<()> {
    let id = planned.recipe_id;
    if planned.calibrate {
        return calibrate(client, tracker, id, planned.counts).await;
    }
    if planned.walk {
        match walk(client, tracker, id).await {
            Ok(()) => tracker.finish_walk(id, planned.counts),
            // Workato no longer knows the watermark job (retention, or a
            // state file from another workspace): start again from now.
            Err(error) if is_not_found(&error) => return calibrate(client, tracker, id, planned.counts).await,
            Err(error) => return Err(error),
        }
    }
    if !planned.pending.is_empty() {
        check_pending(client, tracker, id, &planned.pending).await?;
    }
    Ok(())
}

async fn calibrate(client: &Client, tracker: &JobsTracker, id: u64, counts: Counts) -> Result<()> {
    match client.jobs(id, JobsQuery::default()).await {
        Ok((page, raw_len)) => {
            tracker.learn_page_size(raw_len);
            tracker.calibrate(id, counts, &page);
            Ok(())
        }
        Err(error) if is_not_found(&error) => {
            tracker.forget_recipe(id);
            Ok(())
        }
        Err(error) => Err(error),
    }
}

async fn walk(client: &Client, tracker: &JobsTracker, id: u64) -> Result<()> {
    let watermark = tracker.with(id, |jobs, _| jobs.watermark.clone()).flatten();
    let mut met = HashSet::new();
    let Some(mut cursor) = watermark else {
        return walk_everything(client, tracker, id).await;
    };
    for page_number in 1u32.. {
        let query = JobsQuery {
            offset_job_id: Some(&cursor),
            newer: true,
            status: None,
        };
        let (page, raw_len) = client.jobs(id, query).await?;
        tracker.learn_page_size(raw_len);
        if page.is_empty() {
            break;
        }
        if page.iter().all(|j| met.contains(&j.id)) {
            return Err(Error::PaginationStuck {
                endpoint: LIST_JOBS.label,
                page: page_number,
            });
        }
        tracker.ingest_page(id, &page, &mut met);
        cursor = page[0].id.clone();
        if tracker.is_last_page(raw_len) {
            break;
        }
    }
    Ok(())
}

/// A recipe with no watermark (it had no jobs when calibrated): all its jobs
/// are new. Reads newest first back to the oldest, then ingests them all at
/// once, so a failure half-way ingests nothing and the next cycle retries.
async fn walk_everything(client: &Client, tracker: &JobsTracker, id: u64) -> Result<()> {
    let mut all: Vec<Job> = Vec::new();
    let mut met = HashSet::new();
    for page_number in 1u32.. {
        let offset = all.last().map(|j| j.id.clone());
        let query = JobsQuery {
            offset_job_id: offset.as_deref(),
            newer: false,
            status: None,
        };
        let (page, raw_len) = client.jobs(id, query).await?;
        tracker.learn_page_size(raw_len);
        if page.is_empty() {
            break;
        }
        if page.iter().all(|j| met.contains(&j.id)) {
            return Err(Error::PaginationStuck {
                endpoint: LIST_JOBS.label,
                page: page_number,
            });
        }
        met.extend(page.iter().map(|j| j.id.clone()));
        all.extend(page);
        if tracker.is_last_page(raw_len) {
            break;
        }
    }
    tracker.ingest_page(id, &all, &mut HashSet::new());
    Ok(())
}

async fn check_pending(client: &Client, tracker: &JobsTracker, id: u64, pending: &[String]) -> Result<()> {
    let query = JobsQuery {
        status: Some("pending"),
        ..JobsQuery::default()
    };
    let (still, _) = client.jobs(id, query).await?;
    let still: HashSet<&str> = still.iter().map(|j| j.id.as_str()).collect();
    for job_id in pending.iter().filter(|j| !still.contains(j.as_str())) {
        match client.job(id, job_id).await {
            Ok(job) => tracker.resolve_pending(id, &job),
            Err(error) if is_not_found(&error) => {
                tracing::debug!(
                    recipe_id = id,
                    job_id,
                    "a pending job is gone from Workato; not counted"
                );
                tracker.forget_pending(id, job_id);
            }
            Err(error) => return Err(error),
        }
    }
    Ok(())
}
