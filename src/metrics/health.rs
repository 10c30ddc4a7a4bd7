//! The exporter's health families — `workato_up`, each collector's outcome
//! and age, the rate budget left, workspace details — written from the
//! snapshot on every scrape: a few dozen series that change between polls.
//! One function per family, so the live part can write them in name order
//! among the self-metrics (see `Metrics::live`).

use super::catalogue::*;
use super::family::Spec;
use super::text::Writer;
use crate::client::{Budget, Group};
use crate::snapshot::{Collector, CollectorStatus, CustomerInfo, Snapshot};

/// Read access to the client's budget, for `workato_api_rate_limit_remaining`.
pub trait BudgetView: Send + Sync {
    fn remaining(&self, group: Group) -> u32;
}

impl BudgetView for crate::client::Client {
    fn remaining(&self, group: Group) -> u32 {
        Budget::remaining(self.budget(), group)
    }
}

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// Every collector and its status (default before its first poll), in
/// the order of their names, as series of one family sort.
fn collectors(s: &Snapshot) -> impl Iterator<Item = (&'static str, CollectorStatus)> + '_ {
    let mut all = Collector::ALL;
    all.sort_by_key(|c| c.name());
    all.into_iter()
        .map(|c| (c.name(), s.collectors.get(&c).cloned().unwrap_or_default()))
}

pub fn rate_limit_remaining(budget: Option<&dyn BudgetView>, w: &mut Writer) {
    let Some(budget) = budget else { return };
    let mut groups = Group::ALL;
    groups.sort_by_key(|g| g.name());
    for group in groups {
        w.sample(
            &RATE_LIMIT_REMAINING,
            &[group.name()],
            f64::from(budget.remaining(group)),
        );
    }
}

pub fn collector_available(s: &Snapshot, w: &mut Writer) {
    for (name, status) in collectors(s) {
        w.sample(&COLLECTOR_AVAILABLE, &[name], flag(!status.unavailable));
    }
}

pub fn collector_last_success(s: &Snapshot, w: &mut Writer) {
    for (name, status) in collectors(s) {
        if let Some(at) = status.last_success {
            w.sample(&COLLECTOR_LAST_SUCCESS, &[name], at);
        }
    }
}

/// Absent while a collector is not available to this API client.
pub fn collector_up(s: &Snapshot, w: &mut Writer) {
    for (name, status) in collectors(s).filter(|(_, status)| !status.unavailable) {
        w.sample(&COLLECTOR_UP, &[name], flag(status.up));
    }
}

/// Once the recipes list has been read.
fn recipes_read(s: &Snapshot) -> bool {
    s.collectors
        .get(&Collector::Recipes)
        .is_some_and(|c| c.last_success.is_some())
}

/// Once the recipes list has been read.
pub fn lifetime_decreases(s: &Snapshot, w: &mut Writer) {
    if recipes_read(s) {
        w.sample(&COUNTER_DECREASES, &[], s.counter_decreases as f64);
    }
}

/// Once the recipes list has been read.
pub fn recipes_truncated(s: &Snapshot, w: &mut Writer) {
    if recipes_read(s) {
        w.sample(&RECIPES_TRUNCATED, &[], flag(s.recipes_truncated));
    }
}

pub fn up(s: &Snapshot, w: &mut Writer) {
    w.sample(&UP, &[], flag(s.up()));
}

pub fn workspace_info(s: &Snapshot, w: &mut Writer) {
    let Some(info) = &s.workspace else { return };
    let id = info.id.to_string();
    match &info.customer {
        None => w.sample(&WORKSPACE_INFO, &[&info.name, &info.plan, &id], 1.0),
        Some(customer) => {
            let external_id = customer.external_id.as_deref().unwrap_or_default();
            // The customer's name is its workspace's name too.
            let values = [info.name.as_str(), external_id, &info.name, &info.plan, &id];
            w.sample(&CUSTOMER_WORKSPACE_INFO, &values, 1.0);
        }
    }
}

/// One gauge of an Embedded customer's record, when Workato sent it.
pub fn customer(s: &Snapshot, spec: &'static Spec, field: fn(&CustomerInfo) -> Option<f64>, w: &mut Writer) {
    let customer = s.workspace.as_ref().and_then(|info| info.customer.as_ref());
    if let Some(value) = customer.and_then(field) {
        w.sample(spec, &[], value);
    }
}
