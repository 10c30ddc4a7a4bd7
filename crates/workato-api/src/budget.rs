//! The request budget: per Workato endpoint group, at most N requests in
//! any sliding minute, plus a "hold" set when Workato answers 429 with
//! `Retry-After`. The exporter's client paces itself with it; the simulator
//! enforces Workato's limit with the same window, answering 429 when
//! [`Budget::try_acquire`] has no room.
//!
//! A request counts in the client's window from when it is sent until its
//! answer is in ([`Budget::settle`]), then from the answer: Workato counts
//! it when it arrives, somewhere in between, so the window of the server
//! never holds more than the client's, however the time on the wire varies
//! (counted from the send alone, a request slow to arrive followed by one
//! quick to arrive a minute later made two in one of Workato's minutes, and
//! a 429, at a budget spent to the last request).
//!
//! Why not a token bucket (e.g. `governor`'s GCRA)? Workato counts requests
//! per minute. A bucket that allows a burst of N and refills N a minute lets
//! almost 2N through in the first minute; one that stays under N in every
//! window must halve either its burst or its rate. A log of the last N send
//! times gives exactly "N per any minute" with the full burst, which is what
//! a 5,000-recipe sweep needs. It runs on tokio's clock, so tests can pause
//! time.
//!
//! Callers waiting for room wait in line ([`Budget::acquire_ranked`]):
//! earliest rank first, then in the order they came. Woken together when
//! a minute frees a request, they raced for it, and the same few could
//! lose again and again: an Embed admin workspace's customers share one
//! budget, and a job read that lost its race for minutes was a job
//! counted minutes late.

use std::collections::{BTreeSet, VecDeque};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::group::Group;

const WINDOW: Duration = Duration::from_secs(60);

/// The longest a 429 may hold a group, whatever its `Retry-After` says: a
/// server (or a proxy) asking for decades would otherwise silence the group
/// for good. README: "Throttling and failures".
pub const MAX_HOLD: Duration = Duration::from_secs(15 * 60);

/// Requests of a group's minute that work able to wait for a later cycle
/// leaves free ([`Budget::acquire_spare`]): a tenth, at least one, never
/// the whole minute.
pub fn spare_reserve(per_minute: u32) -> u32 {
    per_minute.div_ceil(10).min(per_minute.saturating_sub(1))
}

/// One sliding-window budget per endpoint group, shared by every caller of
/// the client (poller and admin route alike).
#[derive(Debug)]
pub struct Budget {
    /// Requests a minute, per group.
    per_minute: [u32; Group::ALL.len()],
    groups: [Mutex<GroupState>; Group::ALL.len()],
    /// Wakes a group's line when its first place is given up.
    turns: [Notify; Group::ALL.len()],
}

#[derive(Debug, Default)]
struct GroupState {
    /// When the requests still inside the window were sent, or answered
    /// once they were, oldest first.
    sent: VecDeque<Instant>,
    /// No request before this instant (Workato's `Retry-After`).
    hold_until: Option<Instant>,
    /// The callers waiting for room, by (rank, arrival): the first is served
    /// next.
    line: BTreeSet<(Instant, u64)>,
    /// Callers that joined the line so far.
    arrivals: u64,
}

impl GroupState {
    fn forget_old(&mut self, now: Instant) {
        while self.sent.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
            self.sent.pop_front();
        }
    }

    /// When the window has room for one more request, `None` meaning now
    /// (whatever a hold says).
    fn window_free(&mut self, now: Instant, per_minute: u32) -> Option<Instant> {
        self.forget_old(now);
        if self.sent.len() < per_minute as usize {
            None
        } else {
            self.sent.front().map(|oldest| *oldest + WINDOW)
        }
    }

    /// Takes a request sent `now` if the window (and any hold) has room;
    /// otherwise the instant at which it will.
    fn take(&mut self, now: Instant, per_minute: u32) -> Result<Instant, Instant> {
        match self.next_slot(now, per_minute) {
            Some(at) => Err(at),
            None => {
                self.sent.push_back(now);
                Ok(now)
            }
        }
    }

    /// When the next request may go, `None` meaning now.
    fn next_slot(&mut self, now: Instant, per_minute: u32) -> Option<Instant> {
        let window_free = self.window_free(now, per_minute);
        let held = self.hold_until.filter(|until| *until > now);
        match (window_free, held) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

impl Budget {
    pub fn new(per_minute: NonZeroU32) -> Budget {
        Budget {
            per_minute: [per_minute.get(); Group::ALL.len()],
            groups: Default::default(),
            turns: Default::default(),
        }
    }

    /// The same budget with `group` held to at most `per_minute` (an Embed
    /// admin workspace's groups have quotas of their own: 60 a minute for
    /// listing customers, where recipes may have 2,000).
    pub fn with_limit(mut self, group: Group, per_minute: NonZeroU32) -> Budget {
        let limit = &mut self.per_minute[group as usize];
        *limit = (*limit).min(per_minute.get());
        self
    }

    /// Requests a minute the group may send.
    pub fn per_minute(&self, group: Group) -> u32 {
        self.per_minute[group as usize]
    }

    fn state(&self, group: Group) -> std::sync::MutexGuard<'_, GroupState> {
        // A poisoned lock only means another task panicked mid-update of a
        // queue of instants; the data is still usable.
        self.groups[group as usize]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes one request from the group's budget, waiting as long as
    /// needed, after the callers already waiting; returns the slot, to
    /// [`settle`](Budget::settle) when the answer is in.
    pub async fn acquire(&self, group: Group) -> Instant {
        self.acquire_ranked(group, Instant::now()).await
    }

    /// Takes one request from the group's budget, waiting as long as
    /// needed in the group's line, where a caller goes before every caller
    /// of a later `rank` (and after those of the same rank that came
    /// first): a caller's rank is when the work it serves became due, so
    /// the work waiting longest, whoever's it is, goes first.
    pub async fn acquire_ranked(&self, group: Group, rank: Instant) -> Instant {
        let all = self.per_minute(group);
        loop {
            // No deadline: only a deadline ends the wait without a slot.
            if let Some(slot) = self.wait_in_line(group, rank, all, None).await {
                return slot;
            }
        }
    }

    /// As [`acquire_ranked`](Budget::acquire_ranked), for work that can
    /// wait for a later cycle: it takes a request only while the window
    /// keeps [`spare_reserve`] requests free for the work that cannot, and
    /// gives up (`None`) if there is no such room by `until`. A read of a
    /// recipe whose job only started counts nothing: sent into a window
    /// at its limit, it would delay the reads of completions of the next
    /// minute.
    pub async fn acquire_spare(&self, group: Group, rank: Instant, until: Instant) -> Option<Instant> {
        let per_minute = self.per_minute(group);
        let limit = per_minute - spare_reserve(per_minute);
        self.wait_in_line(group, rank, limit, Some(until)).await
    }

    /// Waits in the group's line at `rank` for a place in a window holding
    /// fewer than `limit` requests, until `until` if given.
    async fn wait_in_line(&self, group: Group, rank: Instant, limit: u32, until: Option<Instant>) -> Option<Instant> {
        let place = {
            let mut state = self.state(group);
            state.arrivals += 1;
            let place = (rank, state.arrivals);
            state.line.insert(place);
            place
        };
        // Leaves the line however the wait ends (served, given up, dropped).
        let _in_line = InLine {
            budget: self,
            group,
            place,
        };
        let turns = &self.turns[group as usize];
        loop {
            let turn = turns.notified();
            tokio::pin!(turn);
            // Registered before the line is looked at: a first place given
            // up after the look still wakes it.
            turn.as_mut().enable();
            let free_at = {
                let mut state = self.state(group);
                if state.line.first() != Some(&place) {
                    None
                } else {
                    match state.take(Instant::now(), limit) {
                        Ok(slot) => return Some(slot),
                        Err(at) => Some(at),
                    }
                }
            };
            if until.is_some_and(|until| Instant::now() >= until) {
                return None;
            }
            // Woken by the window's room, the deadline or a turn in line.
            match free_at.into_iter().chain(until).min() {
                Some(at) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = &mut turn => {}
                    }
                }
                None => turn.await,
            }
        }
    }

    /// Takes one request, waiting at most `patience`; when the budget (or a
    /// hold) has no room for longer, returns how long it would take. Not in
    /// line: an impatient caller (an operator at the admin route) takes the
    /// first room there is, before those waiting.
    pub async fn acquire_within(&self, group: Group, patience: Duration) -> Result<Instant, Duration> {
        loop {
            match self.try_acquire(group) {
                Ok(slot) => return Ok(slot),
                Err(at) => {
                    let wait = at.saturating_duration_since(Instant::now());
                    if wait > patience {
                        return Err(wait);
                    }
                    tokio::time::sleep_until(at).await;
                }
            }
        }
    }

    /// Takes one request if the budget has room now (and returns its slot);
    /// otherwise returns the instant at which it will (for callers that
    /// prefer to answer 429 than to wait, such as the admin route).
    pub fn try_acquire(&self, group: Group) -> Result<Instant, Instant> {
        self.state(group).take(Instant::now(), self.per_minute(group))
    }

    /// The answer to the request of `slot` is in (or it failed): it counts
    /// from now, the latest Workato can have received it.
    pub fn settle(&self, group: Group, slot: Instant) {
        let now = Instant::now();
        let mut state = self.state(group);
        if let Some(at) = state.sent.iter().rposition(|t| *t == slot) {
            state.sent.remove(at);
        }
        // Kept in order: others may have been answered later still.
        let at = state.sent.partition_point(|t| *t <= now);
        state.sent.insert(at, now);
    }

    /// Holds every request of the group for `wait` (a 429's Retry-After),
    /// at most [`MAX_HOLD`].
    pub fn hold(&self, group: Group, wait: Duration) {
        let now = Instant::now();
        let until = now.checked_add(wait.min(MAX_HOLD)).unwrap_or(now);
        let mut state = self.state(group);
        if state.hold_until.is_none_or(|current| current < until) {
            state.hold_until = Some(until);
        }
    }

    /// Requests the group may still send without waiting.
    pub fn remaining(&self, group: Group) -> u32 {
        let now = Instant::now();
        let mut state = self.state(group);
        state.forget_old(now);
        if state.hold_until.is_some_and(|until| until > now) {
            return 0;
        }
        self.per_minute(group).saturating_sub(state.sent.len() as u32)
    }

    /// Waits until the group's window has room for a request (ignoring any
    /// `Retry-After` hold, which passes by itself), unless that is later
    /// than `deadline`: true if it has. For a batch of work that would
    /// rather go on in a few seconds than wait for its next turn.
    pub async fn room_by(&self, group: Group, deadline: Instant) -> bool {
        loop {
            let free_at = self.state(group).window_free(Instant::now(), self.per_minute(group));
            match free_at {
                None => return true,
                Some(at) if at <= deadline => tokio::time::sleep_until(at).await,
                Some(_) => return false,
            }
        }
    }
}

/// A place in a group's line, given up when dropped: the callers behind it
/// look again.
struct InLine<'a> {
    budget: &'a Budget,
    group: Group,
    place: (Instant, u64),
}

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        let first = {
            let mut state = self.budget.state(self.group);
            let first = state.line.first() == Some(&self.place);
            state.line.remove(&self.place);
            first
        };
        if first {
            self.budget.turns[self.group as usize].notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests;
