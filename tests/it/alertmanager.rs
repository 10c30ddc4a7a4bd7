//! The README's Alertmanager inhibit rules, loaded into a real Alertmanager
//! and fed the alerts our rules produce (with the labels their expressions
//! keep): one notification per cause, and nothing muted across workspaces
//! or exporters.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::process::Command;

use crate::helpers::{free_port, repo_path, require_tool, run_tool, wait_for};
use crate::prometheus::spawn;

/// The `inhibit_rules` block of the README's "Alerts and runbooks".
fn readme_inhibit_rules() -> String {
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    let start = readme
        .find("```yaml\ninhibit_rules:")
        .expect("README.md shows the inhibit rules in a ```yaml block");
    let block = &readme[start + "```yaml\n".len()..];
    block[..block.find("```").unwrap()].to_string()
}

fn alert(name: &str, labels: &[(&str, &str)]) -> Value {
    let mut all = serde_json::Map::new();
    all.insert("alertname".into(), name.into());
    for (k, v) in labels {
        all.insert((*k).into(), (*v).into());
    }
    json!({ "labels": all })
}

#[tokio::test]
async fn the_readme_inhibit_rules_keep_one_notification_per_cause() {
    let binary = require_tool(
        "prometheus-alertmanager",
        "ALERTMANAGER",
        "install Debian's `prometheus-alertmanager` package",
    );
    let amtool = require_tool("amtool", "AMTOOL", "install Debian's `prometheus-alertmanager` package");
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("we-alertmanager-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("alertmanager.yml");
    std::fs::write(
        &config,
        format!(
            "route:\n  receiver: nobody\n  group_wait: 1h\nreceivers:\n  - name: nobody\n{}",
            readme_inhibit_rules()
        ),
    )
    .unwrap();
    let (ok, printed) = run_tool(std::process::Command::new(&amtool).arg("check-config").arg(&config));
    assert!(ok, "amtool check-config on the README's inhibit rules:\n{printed}");

    let base = format!("http://127.0.0.1:{port}");
    let _alertmanager = spawn(
        Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address="),
    );
    wait_for(&format!("{base}/-/ready"), "alertmanager", Duration::from_secs(30)).await;

    // Labels as the rules leave them: the exporter's alerts keep
    // workspace, job and instance; the workspace alerts keep workspace and
    // what they are about.
    let exporter = |name: &str, instance: &str, extra: &[(&str, &str)]| {
        let mut labels = vec![("workspace", "acme"), ("job", "workato"), ("instance", instance)];
        labels.extend_from_slice(extra);
        alert(name, &labels)
    };
    let muted = [
        (
            "blind mutes collector",
            exporter("WorkatoCollectorDown", "a:9", &[("collector", "jobs")]),
        ),
        (
            "blind mutes stale",
            exporter("WorkatoDataStale", "a:9", &[("collector", "recipes")]),
        ),
        ("token mutes blind", exporter("WorkatoExporterBlind", "a:9", &[])),
        (
            "many mutes one recipe",
            alert(
                "WorkatoRecipeJobsFailing",
                &[("workspace", "acme"), ("recipe_id", "7"), ("recipe", "Sync")],
            ),
        ),
    ];
    let loud = [
        ("token rejected itself", exporter("WorkatoTokenRejected", "a:9", &[])),
        (
            "another exporter's collector",
            exporter("WorkatoCollectorDown", "b:9", &[("collector", "jobs")]),
        ),
        (
            "the many-recipes page itself",
            alert("WorkatoManyRecipesFailing", &[("workspace", "acme")]),
        ),
        (
            "another workspace's recipe",
            alert(
                "WorkatoRecipeJobsFailing",
                &[("workspace", "other"), ("recipe_id", "7"), ("recipe", "Sync")],
            ),
        ),
        (
            "a broken connection",
            alert(
                "WorkatoConnectionBroken",
                &[("workspace", "acme"), ("connection_id", "3")],
            ),
        ),
    ];
    let sent: Vec<Value> = muted.iter().chain(loud.iter()).map(|(_, a)| a.clone()).collect();
    let http = reqwest::Client::new();
    let posted = http
        .post(format!("{base}/api/v2/alerts"))
        .json(&sent)
        .send()
        .await
        .unwrap();
    assert!(
        posted.status().is_success(),
        "alertmanager took the alerts: {}",
        posted.status()
    );

    // Inhibition is worked out as alerts are read; give the store a moment.
    let mut states = Vec::new();
    for _ in 0..100 {
        let alerts: Vec<Value> = http
            .get(format!("{base}/api/v2/alerts"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        states = muted
            .iter()
            .map(|c| (c, true))
            .chain(loud.iter().map(|c| (c, false)))
            .map(|((case, sent), should_mute)| {
                let got = alerts.iter().find(|a| a["labels"] == sent["labels"]).cloned();
                let state = got.as_ref().map_or("missing".to_string(), |a| {
                    a["status"]["state"].as_str().unwrap_or("").to_string()
                });
                let muted_now = got
                    .as_ref()
                    .is_some_and(|a| a["status"]["inhibitedBy"].as_array().is_some_and(|by| !by.is_empty()));
                (*case, should_mute, state, muted_now)
            })
            .collect();
        if states
            .iter()
            .all(|(_, should, state, muted)| state != "missing" && should == muted)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let wrong: Vec<_> = states.iter().filter(|(_, should, _, muted)| should != muted).collect();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(wrong.is_empty(), "(case, should be muted, state, muted): {wrong:?}");
}
