//! End to end: the exporter on the demo's two workspaces at `--demo.speed
//! 10`, scraped by a real Prometheus with the rules loaded, for as long as
//! the demo's incidents take to fire their alerts (three to four minutes).
//!
//! - Every alert of the `workato-workspace` group reaches `firing` in
//!   `prod` with the real rules, for the incidents that drive it; outside
//!   the scripted incidents at most one recipe has WorkatoRecipeJobsFailing
//!   firing. The calm `dev` alerts for nothing but its standing trouble
//!   (and at most one recipe failing).
//! - The exporter's own alerts (`workato-exporter` group) stay silent for
//!   the demo, the real ones and a copy with every `for` cut to 20 s.
//! - A second exporter, whose Workato is a closed port from start-up, has
//!   WorkatoExporterBlind and WorkatoCollectorDown pending within one
//!   evaluation of its first scrape, and the 20-second copies firing. The
//!   copies differ from the real rules in `for` only, which is Prometheus's
//!   own timer: promtool proves the real values on synthetic series, this
//!   test proves the same expressions on what the exporter really serves.
//! - Every dashboard panel query and every recording rule returns data
//!   (with "All" workspaces and with both chosen), every rule evaluates, no
//!   panel counts twice when two jobs scrape one exporter (as two exporters
//!   polling one workspace would), and none adds two workspaces up.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::process::Command;

use crate::helpers::{TOKEN, free_port, repo_path, wait_for};
use crate::prometheus::{Prometheus, Sample, spawn};

/// Metrics about the exporter itself, which panels show per exporter.
const EXPORTER_METRICS: [&str; 4] = [
    "workato_up",
    "workato_collector_",
    "workato_api_requests_total",
    "workato_api_rate_limit_remaining",
];

/// The demo's pace: simulated seconds per real second.
const SPEED: &str = "10";
/// Prometheus seconds after which nothing of the exporter's health may
/// even be pending (the first polls take a moment).
const WARM_UP: f64 = 20.0;
/// How long the demo's alerts may take to fire, with room for a loaded
/// machine; the test ends as soon as they all have.
const LIMIT: Duration = Duration::from_secs(360);

/// The demo's workspaces.
const DEMO_WORKSPACES: [&str; 2] = ["dev", "prod"];

/// What Grafana would put in place of the template variables: `workspace`
/// as given ("All" is `.*`; several chosen are Grafana's regex of them,
/// `(dev|prod)`), "All" for the other multi-value ones, and intervals for a
/// short, finely scraped range (`rate_interval`: `1m`, or longer to smooth
/// the bursts of job ingestion out of a comparison).
fn substitute(expr: &str, workspace: &str, rate_interval: &str) -> String {
    expr.replace("$__rate_interval", rate_interval)
        .replace("$__interval", "5s")
        .replace("$__range", "5m")
        .replace("$workspace", workspace)
        .replace("$folder", ".*")
        .replace("$recipe", ".*")
}

/// Grafana's value of a multi-value variable for a Prometheus query when
/// several values are chosen: the values, regex-escaped, as alternatives
/// (the demo's names need no escaping).
fn chosen(values: &[&str]) -> String {
    format!("({})", values.join("|"))
}

/// The same query on the series of one scrape job only: every selector of
/// an exporter metric gets `job="<job>"` (recording rules, already
/// aggregated across exporters, are left alone).
fn only_job(expr: &str, job: &str) -> String {
    let mut out = String::new();
    let mut rest = expr;
    while let Some(at) = rest.find("workato_") {
        let before = rest[..at].chars().last();
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let (name, after) = rest.split_at(name_len);
        out.push_str(name);
        let identifier = before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
        if !identifier && after.starts_with('{') {
            out.push_str(&format!("{{job=\"{job}\", "));
            rest = &after[1..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Every (panel title, refId, expr) of a dashboard, rows' panels included.
fn panel_queries(dashboard: &Value) -> Vec<(String, String, String)> {
    fn walk(panels: &[Value], out: &mut Vec<(String, String, String)>) {
        for panel in panels {
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    let title = panel["title"].as_str().unwrap_or("?").to_string();
                    out.push((
                        title,
                        target["refId"].as_str().unwrap_or("?").to_string(),
                        expr.to_string(),
                    ));
                }
            }
            walk(panel["panels"].as_array().map_or(&[], Vec::as_slice), out);
        }
    }
    let mut out = Vec::new();
    walk(dashboard["panels"].as_array().map_or(&[], Vec::as_slice), &mut out);
    out
}

fn dashboard_queries() -> Vec<(String, String, String)> {
    let mut all = Vec::new();
    for file in ["workato-overview.json", "workato-recipe.json"] {
        let text = std::fs::read_to_string(Path::new(&repo_path("dashboards")).join(file)).unwrap();
        let dashboard: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file} is not JSON: {e}"));
        let queries = panel_queries(&dashboard);
        assert!(queries.len() >= 8, "{file} has only {} queries", queries.len());
        all.extend(
            queries
                .into_iter()
                .map(|(title, ref_id, expr)| (format!("{file}: {title}"), ref_id, expr)),
        );
    }
    all
}

/// The alert names of each group of the alerting rules, in file order.
fn alert_groups(rules: &str) -> BTreeMap<String, Vec<String>> {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut group = String::new();
    for line in rules.lines() {
        if let Some(name) = line.strip_prefix("  - name: ") {
            group = name.trim().to_string();
        } else if let Some(alert) = line.trim().strip_prefix("- alert: ") {
            groups.entry(group.clone()).or_default().push(alert.trim().to_string());
        }
    }
    groups
}

/// The `workato-exporter` group again, each `for` cut to 20 s and each
/// alert labelled `copy="for-20s"`; expressions, names and the rest as
/// they are.
fn exporter_alerts_for_20s(rules: &str) -> String {
    let mut out = String::from("groups:\n");
    let mut in_group = false;
    for line in rules.lines() {
        if let Some(name) = line.strip_prefix("  - name: ") {
            in_group = name.trim() == "workato-exporter";
            if in_group {
                out.push_str("  - name: workato-exporter-for-20s\n");
            }
            continue;
        }
        if !in_group || line.trim_start().starts_with('#') {
            continue;
        }
        if line.trim_start().starts_with("for: ") {
            out.push_str("        for: 20s\n");
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if line.trim() == "labels:" {
            out.push_str("          copy: for-20s\n");
        }
    }
    out
}

/// One alert as Prometheus reports it.
struct Alert {
    name: String,
    state: String,
    labels: BTreeMap<String, String>,
    active_at: f64,
}

impl Alert {
    fn from_api(alert: &Value) -> Alert {
        let labels: BTreeMap<String, String> = alert["labels"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        let active_at = alert["activeAt"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map_or(f64::NAN, |t| t.timestamp_millis() as f64 / 1000.0);
        Alert {
            name: labels.get("alertname").cloned().unwrap_or_default(),
            state: alert["state"].as_str().unwrap_or_default().to_string(),
            labels,
            active_at,
        }
    }

    fn label(&self, name: &str) -> &str {
        self.labels.get(name).map_or("", String::as_str)
    }

    fn firing(&self) -> bool {
        self.state == "firing"
    }

    fn copy(&self) -> bool {
        self.labels.contains_key("copy")
    }

    /// The alert and the labels that tell its instances apart.
    fn key(&self) -> String {
        let labels: Vec<String> = self
            .labels
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "alertname" | "severity" | "workspace" | "instance"))
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect();
        format!("{}{{{}}}", self.name, labels.join(", "))
    }
}

/// When an alert instance was first seen pending and firing, in seconds
/// after the demo exporter started.
#[derive(Default)]
struct Seen {
    pending: Option<f64>,
    firing: Option<f64>,
}

/// Starts an exporter with `args`, and waits until it serves.
async fn exporter(port: u16, args: &[&str]) -> tokio::process::Child {
    let address = format!("127.0.0.1:{port}");
    let child = spawn(
        Command::new(env!("CARGO_BIN_EXE_workato_exporter"))
            .env_remove("RUST_LOG")
            .env("WORKATO_API_TOKEN", TOKEN)
            .args(args)
            .args(["--web.listen-address", &address]),
    );
    wait_for(
        &format!("http://{address}/healthz"),
        "the exporter",
        Duration::from_secs(30),
    )
    .await;
    child
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_fires_its_alerts_and_the_dashboards_and_rules_work_against_a_real_prometheus() {
    let wall_start = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let demo_started = Instant::now();
    // The demo, ten times faster than life, polling every second.
    let demo_port = free_port();
    let _demo = exporter(
        demo_port,
        &[
            "--demo",
            "--demo.speed",
            SPEED,
            "--poll.interval",
            "1s",
            "--jobs.interval",
            "1s",
        ],
    )
    .await;
    // An exporter whose Workato has never been reachable.
    let unreachable_port = free_port();
    let _unreachable = exporter(
        unreachable_port,
        &[
            "--workato.base-url",
            &format!("http://127.0.0.1:{}", free_port()),
            "--workato.workspace",
            "unreachable",
        ],
    )
    .await;

    let alerts_yml = std::fs::read_to_string(repo_path("prometheus/rules/workato-alerts.yml")).unwrap();
    let groups = alert_groups(&alerts_yml);
    let health = groups.get("workato-exporter").cloned().unwrap_or_default();
    let workspace_alerts = groups.get("workato-workspace").cloned().unwrap_or_default();
    assert!(health.len() >= 6 && workspace_alerts.len() >= 5, "{groups:?}");
    assert_eq!(
        groups.len(),
        2,
        "every alert is the exporter's or the workspace's: {groups:?}"
    );
    // The demo's exporter, scraped by two jobs: what two exporters polling
    // one workspace look like to the queries.
    let config = format!(
        "global:\n  scrape_interval: 2s\n  scrape_timeout: 2s\n  evaluation_interval: 1s\n\
         rule_files:\n  - {}\n  - {}\n  - exporter-alerts-for-20s.yml\n\
         scrape_configs:\n\
         \x20 - job_name: workato\n    static_configs:\n      - targets: ['127.0.0.1:{demo_port}']\n\
         \x20 - job_name: workato-replica\n    static_configs:\n      - targets: ['127.0.0.1:{demo_port}']\n\
         \x20 - job_name: workato-unreachable\n    static_configs:\n      - targets: ['127.0.0.1:{unreachable_port}']\n",
        repo_path("prometheus/rules/workato-recording.yml"),
        repo_path("prometheus/rules/workato-alerts.yml"),
    );
    let prometheus = Prometheus::start(
        "e2e",
        &config,
        &[("exporter-alerts-for-20s.yml", exporter_alerts_for_20s(&alerts_yml))],
    )
    .await;
    let started = prometheus.now().await;
    // Prometheus's clock minus this, the seconds since the demo started.
    let offset = started - demo_started.elapsed().as_secs_f64();

    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    let mut firing_recipes: Vec<(f64, BTreeSet<String>)> = Vec::new();
    let mut dev_firing_recipes: Vec<(f64, BTreeSet<String>)> = Vec::new();
    let mut loud: Vec<String> = Vec::new();
    let mut blind_pending_at: BTreeMap<String, f64> = BTreeMap::new();
    let deadline = Instant::now() + LIMIT;
    let done = |seen: &BTreeMap<String, Seen>| {
        let fired = |prefix: &str| {
            seen.iter()
                .filter(|(k, s)| k.starts_with(prefix) && s.firing.is_some())
                .count()
        };
        workspace_alerts.iter().all(|a| fired(&format!("{a}{{")) > 0)
            && ["action_quota_limit", "txn_quota_limit", "trigger_errors_limit"]
                .iter()
                .all(|cause| fired(&format!("WorkatoRecipeStoppedByWorkato{{cause={cause:?}")) > 0)
            && fired("WorkatoConnectionBroken{") >= 2
            && ["WorkatoExporterBlind{", "WorkatoCollectorDown{"].iter().all(|alert| {
                seen.iter().any(|(k, s)| {
                    k.starts_with(alert)
                        && k.contains("copy=\"for-20s\"")
                        && k.contains("job=\"workato-unreachable\"")
                        && s.firing.is_some()
                })
            })
    };
    while Instant::now() < deadline && !done(&seen) {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = prometheus.now().await;
        let mut recipes = BTreeSet::new();
        let mut dev_recipes = BTreeSet::new();
        for alert in prometheus.alerts().await.iter().map(Alert::from_api) {
            let at = now - offset;
            if workspace_alerts.contains(&alert.name) && alert.label("workspace") == "dev" {
                // The calm dev workspace plays no incident: only its recipe
                // stopped by the action quota days ago, and as in prod at
                // most one recipe failing at a time, may alert.
                let standing =
                    alert.name == "WorkatoRecipeStoppedByWorkato" && alert.label("cause") == "action_quota_limit";
                if alert.name == "WorkatoRecipeJobsFailing" {
                    if alert.firing() {
                        dev_recipes.insert(alert.label("recipe_id").to_string());
                    }
                } else if !standing {
                    loud.push(format!("dev: {} {} at {:.0} s", alert.key(), alert.state, at));
                }
                continue;
            }
            let entry = seen.entry(alert.key()).or_default();
            entry.pending.get_or_insert(at);
            if alert.firing() {
                entry.firing.get_or_insert(at);
            }
            let job = alert.label("job");
            let demo_health = health.contains(&alert.name) && job != "workato-unreachable";
            if demo_health && (alert.firing() || now - started > WARM_UP) {
                loud.push(format!("{} {} at {:.0} s", alert.key(), alert.state, at));
            }
            if job == "workato-unreachable" && !alert.copy() {
                blind_pending_at.entry(alert.key()).or_insert(alert.active_at);
            }
            if workspace_alerts.contains(&alert.name)
                && (alert.labels.contains_key("job") || alert.labels.contains_key("instance"))
            {
                loud.push(format!(
                    "{} carries job or instance: one alert per exporter",
                    alert.key()
                ));
            }
            if alert.name == "WorkatoRecipeJobsFailing" && alert.firing() {
                recipes.insert(alert.label("recipe_id").to_string());
            }
        }
        firing_recipes.push((now - offset, recipes));
        dev_firing_recipes.push((now - offset, dev_recipes));
    }

    let mut timeline = String::new();
    for (key, s) in &seen {
        let at = |t: Option<f64>| t.map_or("-".to_string(), |t| format!("{t:.0} s"));
        timeline.push_str(&format!(
            "  {key}: pending {}, firing {}\n",
            at(s.pending),
            at(s.firing)
        ));
    }
    eprintln!(
        "alerts, seconds after the demo started (x{SPEED} for the demo's clock), {:.0} s in all:\n{timeline}",
        demo_started.elapsed().as_secs_f64()
    );
    assert!(
        done(&seen),
        "not every alert the demo drives fired within {LIMIT:?}:\n{timeline}"
    );
    assert!(
        loud.is_empty(),
        "the exporter's own alerts spoke for the demo, a workspace alert came once per exporter, or dev was not calm:\n{}",
        loud.join("\n")
    );

    // Workato unreachable from start-up: pending from the first evaluation
    // after the first scrape.
    let first_scrape = prometheus
        .range_series("up{job=\"workato-unreachable\"}", started - 60.0)
        .await
        .first()
        .and_then(|s| s["values"][0][0].as_f64())
        .expect("the unreachable exporter was scraped");
    for alert in ["WorkatoExporterBlind", "WorkatoCollectorDown"] {
        let at = blind_pending_at
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{alert}{{")))
            .map(|(_, t)| *t)
            .fold(f64::NAN, f64::min);
        eprintln!(
            "{alert} for the unreachable exporter: pending {:.1} s after its first scrape",
            at - first_scrape
        );
        assert!(
            at - first_scrape <= 2.5,
            "{alert} went pending {:.1} s after the first scrape of an exporter that never reached Workato",
            at - first_scrape
        );
    }

    // At most one recipe outside the scripted incidents fails loudly at a
    // time. Scripted: the storm recipe, and the recipes whose connection
    // is lost (one cut by the script since the test began, one lost for
    // days).
    let now = prometheus.now().await;
    let labels_of = |samples: Vec<Sample>, label: &str| -> BTreeSet<String> {
        samples.into_iter().filter_map(|(l, _)| l.get(label).cloned()).collect()
    };
    let storm = labels_of(
        prometheus
            .instant(
                "max_over_time(workato_recipe_stop_cause{job=\"workato\", workspace=\"prod\", cause=\"trigger_errors_limit\"}[10m])",
                now,
            )
            .await,
        "recipe_id",
    );
    let cut = labels_of(
        prometheus
            .instant(
                &format!(
                    "max_over_time(workato_connection_lost_timestamp_seconds{{job=\"workato\", workspace=\"prod\"}}[10m]) > {}",
                    wall_start - 60.0
                ),
                now,
            )
            .await,
        "application",
    );
    assert_eq!(cut.len(), 1, "one connection is cut by the script: {cut:?}");
    // Every job of a recipe whose connection is lost fails with an
    // authentication error: those recipes fail by the script, whether the
    // script cut their connection or it was lost for days before (they
    // alert now that every job since start-up is counted, not only those
    // after a recipe's calibration call).
    let cut_recipes = labels_of(
        prometheus
            .instant(
                "workato_job_errors_total{job=\"workato\", workspace=\"prod\", error_type=\"Authentication error\"}",
                now,
            )
            .await,
        "recipe_id",
    );
    let scripted: BTreeSet<String> = storm.union(&cut_recipes).cloned().collect();
    for (at, recipes) in &firing_recipes {
        let background: Vec<&String> = recipes.difference(&scripted).collect();
        assert!(
            background.len() <= 1,
            "at {at:.0} s, WorkatoRecipeJobsFailing fired for {background:?} besides the scripted {scripted:?}"
        );
    }
    for (at, recipes) in &dev_firing_recipes {
        assert!(
            recipes.len() <= 1,
            "at {at:.0} s, WorkatoRecipeJobsFailing fired for {recipes:?} in the calm dev workspace"
        );
    }

    let targets = prometheus.get("/api/v1/targets", &[]).await;
    for target in targets["activeTargets"].as_array().unwrap() {
        assert_eq!(target["health"], "up", "prometheus scrapes every exporter: {target}");
    }

    let mut faults = Vec::new();
    let at = prometheus.now().await - 5.0;
    // "All" workspaces, and the demo's two chosen.
    let demo_workspaces = chosen(&DEMO_WORKSPACES);
    for (panel, ref_id, query) in dashboard_queries() {
        for workspace in [".*", demo_workspaces.as_str()] {
            let expr = substitute(&query, workspace, "1m");
            if prometheus.range(&expr, started).await == 0 {
                faults.push(format!("{panel} query {ref_id} returned nothing: {expr}"));
            }
        }
        // Two jobs scrape the demo, as two exporters would poll one
        // workspace: a panel of workspace data shows it once, without
        // `job` or `instance`, and totals what one exporter shows. (The
        // exporter's own metrics are per exporter by nature.)
        if EXPORTER_METRICS.iter().any(|m| query.contains(m)) {
            continue;
        }
        let expr = substitute(&query, &demo_workspaces, "3m");
        let mut totals = Vec::new();
        for t in [at, at - 7.0, at - 14.0] {
            let both = prometheus.instant(&expr, t).await;
            let one = prometheus.instant(&only_job(&expr, "workato"), t).await;
            if let Some((labels, _)) = both
                .iter()
                .find(|(l, _)| l.contains_key("job") || l.contains_key("instance"))
            {
                faults.push(format!(
                    "{panel} query {ref_id} shows workspace data per exporter ({labels:?}): {expr}"
                ));
            }
            // Two workspaces are never added up into one series.
            if let Some((labels, _)) = both.iter().find(|(l, _)| !l.contains_key("workspace")) {
                faults.push(format!(
                    "{panel} query {ref_id} shows a series of no workspace ({labels:?}): {expr}"
                ));
            }
            let total = |samples: &[Sample]| samples.iter().map(|(_, v)| v).sum::<f64>();
            totals.push((total(&both), total(&one), both, one));
        }
        // A state that changed between the two jobs' scrapes differs for a
        // moment; a count taken twice differs every time.
        if totals
            .iter()
            .all(|(both, one, _, _)| (both - one).abs() > 0.3 * both.abs().max(one.abs()) + 1e-9)
        {
            let (both, one, series_both, series_one) = &totals[0];
            faults.push(format!(
                "{panel} query {ref_id} totals {both} from two exporters, {one} from one ({series_both:?} against {series_one:?}): {expr}"
            ));
        }
    }

    let scrapes = prometheus
        .instant(
            "sum by (job) (sum_over_time(up[10m])) / sum by (job) (count_over_time(up[10m]))",
            at,
        )
        .await;
    assert!(
        faults.is_empty(),
        "{} faults (share of good scrapes per job: {scrapes:?}):\n{}",
        faults.len(),
        faults.join("\n")
    );
}

#[test]
fn only_job_restricts_every_exporter_selector_and_nothing_else() {
    assert_eq!(
        only_job(
            "sum(max without (instance, job) (workato_recipe_running{a=\"b\"}) and on (x) workato_recipe_info{c=\"d\"}) + workato:jobs_failed:rate5m{w=\"x\"}",
            "j"
        ),
        "sum(max without (instance, job) (workato_recipe_running{job=\"j\", a=\"b\"}) and on (x) workato_recipe_info{job=\"j\", c=\"d\"}) + workato:jobs_failed:rate5m{w=\"x\"}"
    );
}

#[test]
fn the_copy_for_20_s_holds_the_exporters_alerts_only_with_their_expressions() {
    let rules = std::fs::read_to_string(repo_path("prometheus/rules/workato-alerts.yml")).unwrap();
    let copy = exporter_alerts_for_20s(&rules);
    let groups = alert_groups(&copy);
    assert_eq!(
        groups.get("workato-exporter-for-20s"),
        alert_groups(&rules).get("workato-exporter")
    );
    assert!(copy.contains("workato_up == 0") && !copy.contains("workato_recipe_stop_cause"));
    assert!(
        copy.lines()
            .filter(|l| l.trim_start().starts_with("for:"))
            .all(|l| l.trim() == "for: 20s")
    );
}

/// What keeps workspaces apart in a panel query: every selector of a
/// series filters `workspace=~"$workspace"`, and every aggregation that
/// drops labels keeps `workspace` (`by (..., workspace, ...)`, or
/// `without (...)` not naming it); `topk`/`bottomk` keep every label unless
/// grouped, and then by `workspace` too. Empty when nothing is amiss.
///
/// A small scan, not a PromQL parser: a selector is a metric name
/// (`workato_...`, or a recording rule `workato:...`) and the braces after
/// it, so a name in a label value would be taken for one; an aggregation is
/// its operator's name as a whole word followed by `by (` or `without (`,
/// so the postfix form `sum (x) by (workspace)` is reported as an
/// aggregation of everything (write it prefix-first). `histogram_quantile`
/// keeps the labels of the aggregation inside it, which is checked itself.
fn workspace_faults(expr: &str) -> Vec<String> {
    const FILTER: &str = "workspace=~\"$workspace\"";
    const DROPPING: [&str; 9] = [
        "sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "quantile",
    ];
    let identifier = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut faults = Vec::new();
    for (at, _) in expr.match_indices(|c: char| c.is_ascii_alphabetic()) {
        if expr[..at].chars().last().is_some_and(identifier) {
            continue;
        }
        let word_len = expr[at..].find(|c: char| !identifier(c)).unwrap_or(expr.len() - at);
        let word = &expr[at..at + word_len];
        let rest = expr[at + word_len..].trim_start();
        if word.starts_with("workato_") || word.starts_with("workato:") {
            let labels = rest.strip_prefix('{').and_then(|r| r.split_once('}')).map(|(l, _)| l);
            if !labels.is_some_and(|l| l.contains(FILTER)) {
                faults.push(format!("{word} is not filtered with {FILTER}"));
            }
            continue;
        }
        let dropping = DROPPING.contains(&word);
        if !dropping && !["topk", "bottomk"].contains(&word) {
            continue;
        }
        let grouping = |clause: &str| {
            rest.strip_prefix(clause)
                .map(str::trim_start)
                .and_then(|r| r.strip_prefix('('))
                .and_then(|r| r.split_once(')'))
                .map(|(labels, _)| labels.split(',').any(|l| l.trim() == "workspace"))
        };
        let keeps = match (grouping("by"), grouping("without")) {
            (Some(has), _) => has,
            (None, Some(has)) => !has,
            (None, None) => !dropping || !rest.starts_with('('),
        };
        if !keeps {
            faults.push(format!("{word} at {at} does not keep workspace"));
        }
    }
    faults
}

#[test]
fn every_panel_filters_the_chosen_workspaces_and_never_adds_two_up() {
    // The scan catches what it is for.
    for (bad, fault) in [
        ("sum(workato_x{workspace=~\"$workspace\"})", "sum at 0"),
        ("sum by (le) (workato_x{workspace=~\"$workspace\"})", "sum at 0"),
        (
            "max without (workspace) (workato_x{workspace=~\"$workspace\"})",
            "max at 0",
        ),
        (
            "topk by (recipe) (3, workato_x{workspace=~\"$workspace\"})",
            "topk at 0",
        ),
        ("count by (workspace) (workato_x)", "workato_x is not"),
        ("rate(workato_x{workspace=\"prod\"}[5m])", "workato_x is not"),
    ] {
        let faults = workspace_faults(bad);
        assert!(faults.iter().any(|f| f.starts_with(fault)), "{bad}: {faults:?}");
    }
    assert_eq!(
        workspace_faults(
            "histogram_quantile(0.5, sum by (workspace, le) (max without (instance, job) (rate(workato_x{workspace=~\"$workspace\"}[5m])) and on (workspace) workato:y{workspace=~\"$workspace\"})) or topk(3, max_over_time(workato_z{a=\"b\", workspace=~\"$workspace\"}[1m]))"
        ),
        Vec::<String>::new()
    );

    let faults: Vec<String> = dashboard_queries()
        .into_iter()
        .flat_map(|(panel, ref_id, expr)| {
            workspace_faults(&expr)
                .into_iter()
                .map(move |fault| format!("{panel} query {ref_id}: {fault}"))
        })
        .collect();
    assert!(faults.is_empty(), "{}", faults.join("\n"));

    // Each dashboard's `workspace` variable takes several workspaces, or all.
    for file in ["workato-overview.json", "workato-recipe.json"] {
        let text = std::fs::read_to_string(Path::new(&repo_path("dashboards")).join(file)).unwrap();
        let dashboard: Value = serde_json::from_str(&text).unwrap();
        let variable = dashboard["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["name"] == "workspace")
            .unwrap_or_else(|| panic!("{file} has no workspace variable"));
        assert_eq!(
            (&variable["multi"], &variable["includeAll"], &variable["allValue"]),
            (&Value::Bool(true), &Value::Bool(true), &Value::from(".*")),
            "{file}: {variable}"
        );
    }
}
