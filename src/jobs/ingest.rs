//! One jobs cycle: the calls that bring the tracker up to date.
//!
//! - **Walk**: `offset_job_id=<cursor>&prev=true`, repeated with the newest
//!   job returned until a page shorter than the largest page seen (or
//!   empty). The cursor is the watermark, or the oldest pending job when
//!   fewer than a page of jobs started after it: re-reading that little
//!   costs no extra call and shows the pending jobs that completed, so
//!   short-lived pending jobs cost nothing to resolve. Each page is applied
//!   and moves the watermark before the next is asked for, so an error
//!   mid-walk loses nothing and counts nothing twice: the next cycle
//!   resumes there.
//! - **Old pending jobs** (more than a page behind, or with no known job
//!   before them), only when the recipe's counters moved: a single one is
//!   read by id; several cost one `status=pending` read, and each tracked
//!   job no longer listed has completed (or expired) and is read once by id.
//! - **First read**: a recipe seen for the first time costs nothing (its
//!   counts are its baseline); once they move, one read of its newest page,
//!   plus, when that page is not its whole history, its counts again and
//!   the `status=pending` list (every page of it: a pending job left out
//!   would never be counted), then older pages while their jobs may be new
//!   (see [`first_read`]).
//! - **Caps**: a recipe's walk reads at most [`MAX_WALK_PAGES`] in a cycle,
//!   its pending list at most [`MAX_PENDING_PAGES`]; past them the recipe's
//!   share ends with an error (what was read is kept) and the others go on.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::baseline::{FirstRead, NothingNew};
use super::{Counts, JobsTracker, Planned, Walk};
use crate::client::{Client, Group, JobsQuery, LIST_JOBS};
use crate::error::{Error, Result};
use crate::snapshot::{Job, Recipe};

/// Brings every recipe that moved up to date. Errors that concern the whole
/// API (token, privilege, throttling) end the cycle; others end only that
/// recipe's share and are reported after the rest are done.
///
/// A cycle spends what the jobs budget has left and no more: when it runs
/// dry, the cycle waits for room as long as `patience` (the time until the
/// next cycle would start anyway), then the rest of the plan (first reads
/// of baselined recipes come last) waits for the next cycle, whose plan
/// still holds it. Recipes that never move never cost a call. A recipe's
/// calls wait in the budget's line as work due since the plan that first
/// held it (a start alone as if an interval later): the customers of an
/// Embed admin workspace share one budget, and the read waiting longest,
/// whichever customer's, goes first. A start alone counts nothing: its read
/// takes only spare room (a tenth of the minute stays free for the reads
/// of completions to come), or waits for a later cycle.
pub async fn cycle(client: &Client, tracker: &Arc<JobsTracker>, recipes: &[Recipe], patience: Duration) -> Result<()> {
    let deadline = Instant::now() + patience;
    let mut first_error = None;
    let plan = tracker.plan(recipes);
    let planned_recipes = plan.len();
    for (done, planned) in plan.into_iter().enumerate() {
        if !client.budget().room_by(Group::Jobs, deadline).await {
            tracing::debug!(
                done,
                deferred = planned_recipes - done,
                "jobs budget spent; the rest waits for the next cycle"
            );
            break;
        }
        let reader = match planned.only_started {
            true => client.spare(planned.due(patience), deadline),
            false => client.in_line(planned.due(patience)),
        };
        match recipe(&reader, tracker, &planned).await {
            Ok(()) => tracker.served(planned.recipe_id),
            Err(Error::Busy { .. }) if planned.only_started => {
                tracing::debug!(recipe_id = planned.recipe_id, "no spare room: a start waits")
            }
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
    // Writing and syncing the state file blocks: off the runtime's threads.
    let saving = Arc::clone(tracker);
    if let Err(error) = tokio::task::spawn_blocking(move || saving.save()).await {
        tracing::error!(%error, "saving the jobs state file stopped abnormally");
    }
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
            Ok(()) => {}
            // Workato no longer knows the watermark job (retention, or a
            // state file from another workspace): start again from now.
            Err(error) if is_not_found(&error) => return calibrate(client, tracker, id, planned.counts).await,
            Err(error) => return Err(error),
        }
    }
    if !planned.pending.is_empty() {
        check_pending(client, tracker, id, &planned.pending).await?;
    }
    if planned.first_read {
        first_read(client, tracker, id).await?;
    }
    if planned.settle {
        tracker.finish_walk(id, planned.counts);
    }
    Ok(())
}

/// Learns the watermark from the newest page. When that page may not be the
/// recipe's whole history, one `status=pending` read also finds the
/// long-running jobs started before it, which will complete (and count in
/// Workato's counters) later. A recipe with a baseline goes on with its
/// [`first_read`].
async fn calibrate(client: &Client, tracker: &JobsTracker, id: u64, counts: Counts) -> Result<()> {
    let since = tracker.baseline(id);
    let (page, raw_len) = match client.jobs(id, JobsQuery::default()).await {
        Ok(page) => page,
        Err(error) if is_not_found(&error) => {
            tracker.forget_recipe(id);
            return Ok(());
        }
        Err(error) => return Err(error),
    };
    tracker.learn_page_size(raw_len);
    let short = tracker.is_last_page(raw_len);
    let mut counts = counts;
    let mut older_pending = Vec::new();
    if !short {
        if since.is_some() {
            counts = counts_now(client, id).await.unwrap_or(counts);
        }
        let listed: HashSet<&str> = page.iter().map(|j| j.id.as_str()).collect();
        let pending = all_pending(client, tracker, id).await?;
        older_pending.extend(pending.into_iter().filter(|j| !listed.contains(j.id.as_str())));
    }
    let Some(since) = since else {
        tracker.calibrate(id, counts, &page, &older_pending, HashSet::new(), None);
        return Ok(());
    };
    let mut read = FirstRead::new(since, counts);
    read.tracked = older_pending.iter().map(|j| j.id.clone()).collect();
    let new = ids(&read.read(&page, short).map_err(|NothingNew| stuck(1))?);
    tracker.calibrate(id, counts, &page, &older_pending, new, Some(read));
    first_read(client, tracker, id).await
}

/// A baselined recipe's counts read again just before its running jobs
/// are listed. A job that ran across the baseline and completed before the
/// list is then in the counters' rise the first read accounts for (it goes
/// back until it finds it); with the sweep's counts, one that completed
/// between the sweep (up to a jobs interval earlier) and the list was in
/// neither, and was lost. `None` (the sweep's counts serve) when the read
/// fails: the recipes group has its own budget and errors.
async fn counts_now(client: &Client, id: u64) -> Option<Counts> {
    match client.recipe(id).await {
        Ok(recipe) => Some(Counts::of(&recipe)),
        Err(error) => {
            tracing::debug!(recipe_id = id, %error, "reading the recipe's counts again failed; the sweep's serve");
            None
        }
    }
}

/// A jobs list whose page `page` does not advance.
fn stuck(page: u32) -> Error {
    Error::PaginationStuck {
        endpoint: LIST_JOBS.label,
        page,
    }
}

fn ids(jobs: &[&Job]) -> HashSet<String> {
    jobs.iter().map(|j| j.id.clone()).collect()
}

/// Goes on with a recipe's first read (see [`baseline`](super::baseline)): older pages, one
/// at a time, each applied before the next is asked for, while every job
/// on them may be new or while Workato's counters show more completions
/// since the baseline than the jobs read account for (a job that ran
/// across the baseline, started pages earlier). [`MAX_WALK_PAGES`] a
/// cycle; the next cycle, or the next life, resumes after the last page
/// applied. Then the jobs in doubt are settled. (The jobs running since
/// before the pages were listed with the newest page, in [`calibrate`]: a
/// job running across the baseline completes either before that list,
/// and is on the pages, or after it, and is tracked.)
async fn first_read(client: &Client, tracker: &JobsTracker, id: u64) -> Result<()> {
    let Some(mut read) = tracker.first_read(id) else {
        return Ok(());
    };
    for page_number in 1..=MAX_WALK_PAGES {
        if read.is_done() || read.pages >= MAX_FIRST_READ_PAGES {
            break;
        }
        let query = JobsQuery {
            offset_job_id: read.cursor.as_deref(),
            newer: false,
            status: None,
        };
        let (page, raw_len) = match client.jobs(id, query).await {
            // The job the read stopped at is gone (Workato's retention):
            // so are the older ones.
            Err(error) if is_not_found(&error) => {
                read.whole_history = true;
                break;
            }
            read => read?,
        };
        tracker.learn_page_size(raw_len);
        // Jobs the pages before listed are passed over; a page of nothing
        // else (a server ignoring the offset) is refused, as not advancing.
        let new = read
            .read(&page, tracker.is_last_page(raw_len))
            .map_err(|NothingNew| stuck(page_number))?;
        let new = ids(&new);
        tracker.first_read_page(id, &page, new, read.clone());
    }
    if !read.is_done() && read.pages < MAX_FIRST_READ_PAGES {
        // This cycle's share is read; the next goes on.
        return Ok(());
    }
    let settled = read.settle();
    if settled.missing > 0 {
        tracing::warn!(
            recipe_id = id,
            missing = settled.missing,
            pages = read.pages,
            "jobs completed since the recipe's baseline are not among those read; not counted"
        );
    }
    if settled.doubtful > 0 {
        tracing::info!(
            recipe_id = id,
            doubtful = settled.doubtful,
            "jobs completed within a second of the recipe's baseline, beyond what its counters show; not counted"
        );
    }
    tracker.finish_first_read(id, &settled.new);
    Ok(())
}

/// Walks forward page by page; each page is applied (and moves the
/// watermark) before the next is asked for.
async fn walk(client: &Client, tracker: &JobsTracker, id: u64) -> Result<()> {
    let Some((mut cursor, mut walk)) = tracker.walk_start(id) else {
        return walk_everything(client, tracker, id).await;
    };
    let mut finished = false;
    for page_number in 1..=MAX_WALK_PAGES {
        let query = JobsQuery {
            offset_job_id: Some(&cursor),
            newer: true,
            status: None,
        };
        let (page, raw_len) = client.jobs(id, query).await?;
        tracker.learn_page_size(raw_len);
        if page.is_empty() {
            finished = true;
            break;
        }
        if page.iter().all(|j| walk.met.contains(&j.id)) {
            return Err(stuck(page_number));
        }
        tracker.apply_page(id, &page, &mut walk);
        cursor = page[0].id.clone();
        if tracker.is_last_page(raw_len) {
            finished = true;
            break;
        }
    }
    if !finished {
        return Err(Error::PageLimit {
            endpoint: LIST_JOBS.label,
            pages: MAX_WALK_PAGES,
        });
    }
    if !walk.past_watermark {
        tracker.watermark_not_met(id);
        return Err(Error::Decode {
            endpoint: LIST_JOBS.label,
            reason: format!("recipe {id}: the walk from a pending job never met the watermark job; retrying from it"),
        });
    }
    Ok(())
}

/// A recipe with no watermark (it had no jobs when calibrated): all its jobs
/// are new. Reads newest first back to the oldest, then applies them all at
/// once, so a failure half-way ingests nothing and the next cycle retries.
async fn walk_everything(client: &Client, tracker: &JobsTracker, id: u64) -> Result<()> {
    let all = walk_back(client, tracker, id, None, MAX_WALK_PAGES).await?;
    tracker.apply_page(id, &all, &mut Walk::everything_new());
    Ok(())
}

/// The most pages one recipe's walk reads in a cycle (5,000 jobs at
/// Workato's observed 50 a page). A walk that goes on past it (a server that
/// never ends a list) stops with an error: what it read is kept, the other
/// recipes are read, and the next cycle resumes from there.
pub const MAX_WALK_PAGES: u32 = 100;

/// The most pages a recipe's first read goes back (100,000 jobs at 100 a
/// page): past them the jobs in doubt are settled on what was read and the
/// rest is logged as missing. A bound on a server that never ends a list.
pub const MAX_FIRST_READ_PAGES: u32 = 10 * MAX_WALK_PAGES;

/// The most pages of pending jobs read for one recipe (50 a page in
/// Workato's observed page size: 1,000 jobs running at once).
pub const MAX_PENDING_PAGES: u32 = 20;

/// Every pending job of a recipe. A recipe with more than
/// [`MAX_PENDING_PAGES`] pages of running jobs is an error: tracking a part
/// of them would count the rest as lost.
async fn all_pending(client: &Client, tracker: &JobsTracker, id: u64) -> Result<Vec<Job>> {
    walk_back(client, tracker, id, Some("pending"), MAX_PENDING_PAGES).await
}

/// A recipe's jobs (in one `status`, or all), page after page, newest first,
/// each page older than the last job of the one before, until a short or
/// empty page; past `max_pages` an error.
async fn walk_back(
    client: &Client,
    tracker: &JobsTracker,
    id: u64,
    status: Option<&str>,
    max_pages: u32,
) -> Result<Vec<Job>> {
    let mut all: Vec<Job> = Vec::new();
    let mut met = HashSet::new();
    for page_number in 1..=max_pages {
        let offset = all.last().map(|j| j.id.clone());
        let query = JobsQuery {
            offset_job_id: offset.as_deref(),
            newer: false,
            status,
        };
        let (page, raw_len) = client.jobs(id, query).await?;
        tracker.learn_page_size(raw_len);
        if page.is_empty() {
            return Ok(all);
        }
        if page.iter().all(|j| met.contains(&j.id)) {
            return Err(stuck(page_number));
        }
        met.extend(page.iter().map(|j| j.id.clone()));
        all.extend(page);
        if tracker.is_last_page(raw_len) {
            return Ok(all);
        }
    }
    Err(Error::PageLimit {
        endpoint: LIST_JOBS.label,
        pages: max_pages,
    })
}

/// Re-checks old pending jobs: one read by id when there is one, else one
/// `status=pending` page and a read by id of each job not on it (a job
/// still running beyond that page is read and found pending: a call, not a
/// loss, which is why one page is enough here and not at calibration).
async fn check_pending(client: &Client, tracker: &JobsTracker, id: u64, pending: &[String]) -> Result<()> {
    let still: HashSet<String> = if pending.len() > 1 {
        let query = JobsQuery {
            status: Some("pending"),
            ..JobsQuery::default()
        };
        client.jobs(id, query).await?.0.into_iter().map(|j| j.id).collect()
    } else {
        HashSet::new()
    };
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
