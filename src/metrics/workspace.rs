//! Metric families built fresh from the snapshot on every collect, so a
//! recipe, connection or endpoint deleted in Workato disappears at the next
//! poll. Values are whatever the last successful poll of each collector saw.

use std::collections::HashMap;
use std::sync::Arc;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{CounterVec, GaugeVec, Opts};

use super::catalogue::*;
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
        let descs = SPECS
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

    fn counter(&self, spec: &Spec) -> CounterVec {
        debug_assert!(matches!(spec.kind, Kind::Counter));
        CounterVec::new(self.opts(spec), spec.labels).expect("catalogue names and labels are valid")
    }

    fn health(&self, s: &Snapshot, out: &mut Vec<MetricFamily>) {
        let up = self.gauge(&UP);
        up.with_label_values::<&str>(&[]).set(bool_value(s.up()));
        let collector_up = self.gauge(&COLLECTOR_UP);
        let last_success = self.gauge(&COLLECTOR_LAST_SUCCESS);
        for collector in Poller::ALL {
            let status = s.collectors.get(&collector).cloned().unwrap_or_default();
            collector_up
                .with_label_values(&[collector.name()])
                .set(bool_value(status.up));
            if let Some(t) = status.last_success {
                last_success.with_label_values(&[collector.name()]).set(t);
            }
        }
        out.extend(up.collect());
        out.extend(collector_up.collect());
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
        if let Some(w) = &s.workspace {
            let info = self.gauge(&WORKSPACE_INFO);
            info.with_label_values(&[w.id.to_string().as_str(), &w.name, &w.plan])
                .set(1.0);
            out.extend(info.collect());
        }
    }

    fn recipes(&self, s: &Snapshot, out: &mut Vec<MetricFamily>) {
        let info = self.gauge(&RECIPE_INFO);
        let running = self.gauge(&RECIPE_RUNNING);
        let stop_cause = self.gauge(&RECIPE_STOP_CAUSE);
        let succeeded = self.counter(&RECIPE_SUCCEEDED);
        let failed = self.counter(&RECIPE_FAILED);
        let tasks = self.counter(&RECIPE_TASKS);
        let last_run = self.gauge(&RECIPE_LAST_RUN);
        let stopped_at = self.gauge(&RECIPE_STOPPED_AT);
        for r in s.recipes.iter() {
            let id = r.id.to_string();
            let labels = [id.as_str(), r.name.as_str()];
            let folder = opt_label(r.folder_id);
            info.with_label_values(&[
                id.as_str(),
                &r.name,
                &folder,
                r.project_id.as_deref().unwrap_or(""),
                r.trigger_application.as_deref().unwrap_or(""),
                r.version.as_deref().unwrap_or(""),
            ])
            .set(1.0);
            running.with_label_values(&labels).set(bool_value(r.running));
            if !r.running {
                let cause = r.stop_cause.as_deref().unwrap_or("manual");
                stop_cause.with_label_values(&[id.as_str(), &r.name, cause]).set(1.0);
            }
            for (vec, value) in [
                (&succeeded, r.jobs_succeeded),
                (&failed, r.jobs_failed),
                (&tasks, r.tasks),
            ] {
                if let Some(value) = value {
                    vec.with_label_values(&labels).inc_by(value as f64);
                }
            }
            if let Some(t) = r.last_run_at {
                last_run.with_label_values(&labels).set(t);
            }
            if let Some(t) = r.stopped_at {
                stopped_at.with_label_values(&labels).set(t);
            }
        }
        for families in [info.collect(), running.collect(), stop_cause.collect()] {
            out.extend(families);
        }
        for families in [succeeded.collect(), failed.collect(), tasks.collect()] {
            out.extend(families);
        }
        out.extend(last_run.collect());
        out.extend(stopped_at.collect());
    }

    fn connections(&self, s: &Snapshot, out: &mut Vec<MetricFamily>) {
        let mut running_by_connection: HashMap<u64, u32> = HashMap::new();
        for recipe in s.recipes.iter().filter(|r| r.running) {
            for id in &recipe.connection_ids {
                *running_by_connection.entry(*id).or_default() += 1;
            }
        }
        let info = self.gauge(&CONNECTION_INFO);
        let authorized = self.gauge(&CONNECTION_AUTHORIZED);
        let lost = self.gauge(&CONNECTION_LOST);
        let running = self.gauge(&CONNECTION_RUNNING_RECIPES);
        for c in s.connections.iter() {
            let id = c.id.to_string();
            let labels = [id.as_str(), c.name.as_str(), c.application.as_str()];
            let status = c.authorization_status.as_deref().unwrap_or("none");
            info.with_label_values(&[id.as_str(), &c.name, &c.application, &opt_label(c.folder_id), status])
                .set(1.0);
            authorized
                .with_label_values(&labels)
                .set(bool_value(status == "success"));
            if let Some(t) = c.lost_at {
                lost.with_label_values(&labels).set(t);
            }
            let count = running_by_connection.get(&c.id).copied().unwrap_or(0);
            running.with_label_values(&labels).set(f64::from(count));
        }
        for families in [info.collect(), authorized.collect(), lost.collect(), running.collect()] {
            out.extend(families);
        }
    }

    fn api_platform(&self, s: &Snapshot, out: &mut Vec<MetricFamily>) {
        let collections = self.gauge(&API_COLLECTION_INFO);
        for c in &s.api_platform.collections {
            collections
                .with_label_values(&[c.id.to_string().as_str(), &c.name, c.version.as_deref().unwrap_or("")])
                .set(1.0);
        }
        let active = self.gauge(&API_ENDPOINT_ACTIVE);
        for e in &s.api_platform.endpoints {
            active
                .with_label_values(&[
                    e.id.to_string().as_str(),
                    &e.name,
                    &opt_label(e.collection_id),
                    &e.method,
                    &e.path,
                    &opt_label(e.recipe_id),
                ])
                .set(bool_value(e.active));
        }
        out.extend(collections.collect());
        out.extend(active.collect());
    }
}

impl Collector for WorkspaceCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let snapshot = self.snapshot.load();
        let mut out = Vec::with_capacity(SPECS.len());
        self.health(&snapshot, &mut out);
        self.recipes(&snapshot, &mut out);
        self.connections(&snapshot, &mut out);
        self.api_platform(&snapshot, &mut out);
        out
    }
}

fn bool_value(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

fn opt_label(id: Option<u64>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}
