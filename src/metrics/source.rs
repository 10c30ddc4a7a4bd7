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

/// The sources of the exposition, sorted by workspace label.
#[derive(Default)]
pub struct Sources {
    pub list: Vec<Source>,
}
