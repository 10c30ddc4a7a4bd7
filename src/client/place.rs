//! Where a client's calls stand in the budget's line, and taking a request
//! of the budget accordingly.

use std::time::Duration;

use tokio::time::Instant;
use workato_api::Budget;

use super::group::Group;
use crate::error::{Error, Result};

/// Where a client's calls stand in the budget's line.
#[derive(Debug, Clone, Copy)]
pub(super) enum Place {
    /// In the order they come.
    Arrival,
    /// As work due since this instant ([`Budget::acquire_ranked`]).
    Due(Instant),
    /// As work due since `rank` that can wait for a later cycle: only in
    /// spare room, and not after `until` ([`Budget::acquire_spare`]).
    Spare { rank: Instant, until: Instant },
    /// Not in line: the first room within this long, or [`Error::Busy`]
    /// (an operator at the admin route; [`Budget::acquire_within`]).
    Within(Duration),
}

impl Place {
    /// Takes one request of `group` from `budget`, as this place waits.
    pub(super) async fn take(self, budget: &Budget, group: Group) -> Result<Instant> {
        match self {
            Place::Arrival => Ok(budget.acquire(group).await),
            Place::Due(rank) => Ok(budget.acquire_ranked(group, rank).await),
            Place::Spare { rank, until } => budget.acquire_spare(group, rank, until).await.ok_or(Error::Busy {
                group,
                retry_after: until.saturating_duration_since(Instant::now()),
            }),
            Place::Within(patience) => budget
                .acquire_within(group, patience)
                .await
                .map_err(|wait| Error::Busy {
                    group,
                    retry_after: wait,
                }),
        }
    }

    /// How long a call may wait for a `Retry-After`; `None`: the client's
    /// limit.
    pub(super) fn patience(self) -> Option<Duration> {
        match self {
            Place::Within(patience) => Some(patience),
            _ => None,
        }
    }
}
