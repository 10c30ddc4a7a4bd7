//! One workspace as the exposition sees it: its label, the snapshot its
//! collectors publish into, its self-metrics and its rate budget.

use std::sync::Arc;

use super::health::BudgetView;
use super::self_metrics::SelfMetrics;
use crate::snapshot::SharedSnapshot;

/// One workspace of the exposition.
#[derive(Clone)]
pub struct Source {
    /// The `workspace` label.
    pub workspace: String,
    pub snapshot: Arc<SharedSnapshot>,
    pub self_metrics: Arc<SelfMetrics>,
    /// The client's rate budget, when there is a client.
    pub budget: Option<Arc<dyn BudgetView>>,
}

/// The sources of the exposition, sorted by workspace label, and the epoch
/// of the [`Metrics::set_sources`] call that set them (part of the render
/// cache's key: a workspace removed and added again starts its snapshot
/// generations anew).
///
/// [`Metrics::set_sources`]: super::Metrics::set_sources
#[derive(Default)]
pub struct Sources {
    pub epoch: u64,
    pub list: Vec<Source>,
}
