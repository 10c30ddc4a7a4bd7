//! The exporter's health families — `workato_up`, each collector's outcome
//! and age, the rate budget left, workspace details — built fresh from the
//! snapshot on every collect: a few dozen series that change between polls.
//! The inventory (per recipe, connection, endpoint) is rendered apart, see
//! `inventory`.

use std::collections::HashMap;
use std::sync::Arc;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{GaugeVec, Opts};

use super::catalogue::*;
use super::text::cap_label;
use crate::client::{Budget, Group};
use crate::snapshot::{Collector as Poller, SharedSnapshot, Snapshot};

/// The `prometheus::Collector` that renders a snapshot.
pub struct WorkspaceCollector {
    workspace: String,
    snapshot: Arc<SharedSnapshot>,
    budget: Option<Arc<dyn BudgetView>>,
    descs: Vec<Desc>,
}

/// Read access to the client's budget, for `workato_api_rate_limit_remaining`.
pub trait BudgetView: Send + Sync {
    fn remaining(&self, group: Group) -> u32;
}

impl BudgetView for crate::client::Client {
    fn remaining(&self, group: Group) -> u32 {
        Budget::remaining(self.budget(), group)
    }
}

impl WorkspaceCollector {
    pub fn new(
        workspace: &str,
        snapshot: Arc<SharedSnapshot>,
        budget: Option<Arc<dyn BudgetView>>,
    ) -> WorkspaceCollector {
        let descs = HEALTH
            .iter()
            .map(|spec| {
                Desc::new(
                    spec.name.to_string(),
                    spec.help.to_string(),
                    spec.labels.iter().map(|l| l.to_string()).collect(),
                    HashMap::from([("workspace".to_string(), workspace.to_string())]),
                )
                .expect("catalogue names and labels are valid")
            })
            .collect();
        WorkspaceCollector {
            workspace: workspace.to_string(),
            snapshot,
            budget,
            descs,
        }
    }

    fn opts(&self, spec: &Spec) -> Opts {
        Opts::new(spec.name, spec.help).const_label("workspace", &self.workspace)
    }

    fn gauge(&self, spec: &Spec) -> GaugeVec {
        debug_assert!(matches!(spec.kind, Kind::Gauge));
        GaugeVec::new(self.opts(spec), spec.labels).expect("catalogue names and labels are valid")
    }

    fn health(&self, s: &Snapshot, out: &mut Vec<MetricFamily>) {
        let up = self.gauge(&UP);
        up.with_label_values::<&str>(&[]).set(bool_value(s.up()));
        let collector_up = self.gauge(&COLLECTOR_UP);
        let available = self.gauge(&COLLECTOR_AVAILABLE);
        let last_success = self.gauge(&COLLECTOR_LAST_SUCCESS);
        for collector in Poller::ALL {
            let status = s.collectors.get(&collector).cloned().unwrap_or_default();
            available
                .with_label_values(&[collector.name()])
                .set(bool_value(!status.unavailable));
            if !status.unavailable {
                collector_up
                    .with_label_values(&[collector.name()])
                    .set(bool_value(status.up));
            }
            if let Some(t) = status.last_success {
                last_success.with_label_values(&[collector.name()]).set(t);
            }
        }
        out.extend(up.collect());
        out.extend(collector_up.collect());
        out.extend(available.collect());
        out.extend(last_success.collect());
        if let Some(budget) = &self.budget {
            let remaining = self.gauge(&RATE_LIMIT_REMAINING);
            for group in Group::ALL {
                remaining
                    .with_label_values(&[group.name()])
                    .set(f64::from(budget.remaining(group)));
            }
            out.extend(remaining.collect());
        }
        if s.collectors
            .get(&Poller::Recipes)
            .is_some_and(|c| c.last_success.is_some())
        {
            let truncated = self.gauge(&RECIPES_TRUNCATED);
            truncated
                .with_label_values::<&str>(&[])
                .set(bool_value(s.recipes_truncated));
            out.extend(truncated.collect());
            let decreases = prometheus::CounterVec::new(self.opts(&COUNTER_DECREASES), COUNTER_DECREASES.labels)
                .expect("catalogue names and labels are valid");
            decreases
                .with_label_values::<&str>(&[])
                .inc_by(s.counter_decreases as f64);
            out.extend(decreases.collect());
        }
        if let Some(w) = &s.workspace {
            let info = self.gauge(&WORKSPACE_INFO);
            // Name and plan come from Workato: capped like every label
            // the text writer writes.
            info.with_label_values(&[w.id.to_string().as_str(), &cap_label(&w.name), &cap_label(&w.plan)])
                .set(1.0);
            out.extend(info.collect());
        }
    }
}

impl Collector for WorkspaceCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let snapshot = self.snapshot.load();
        let mut out = Vec::with_capacity(HEALTH.len());
        self.health(&snapshot, &mut out);
        out
    }
}

fn bool_value(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}
