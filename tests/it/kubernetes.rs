//! deploy/kubernetes (#16): every kustomization renders with `kubectl
//! kustomize` and every object it renders passes the offline schemas
//! (deploy/kubernetes/validate.py); the generated PrometheusRule and
//! dashboard ConfigMaps match their sources; the pods run as the issue asks
//! with flags the binary knows; and the sharded overlay's pods, started as
//! processes under the host names its StatefulSet gives them, split the
//! workspaces.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::helpers::{Samples, SimSize, TOKEN, free_port, repo_path, simulated, wait_for};

const KUSTOMIZATIONS: [&str; 4] = ["base", "overlays/many-workspaces", "overlays/sharded", "overlays/tls"];

/// The Python of `.ci/venv` (or `PYTHON`), checked to have what the scripts
/// import; the test fails, never skips, without it.
fn python() -> String {
    let venv = repo_path(".ci/venv/bin/python");
    let python = std::env::var("PYTHON")
        .ok()
        .or_else(|| Path::new(&venv).exists().then_some(venv))
        .unwrap_or_else(|| "python3".to_string());
    let ok = Command::new(&python)
        .args(["-c", "import kubernetes_validate, jsonschema, yaml"])
        .output()
        .is_ok_and(|out| out.status.success());
    assert!(
        ok,
        "{python} cannot import kubernetes_validate: `python3 -m venv .ci/venv && .ci/venv/bin/pip install kubernetes-validate` \
         (or set PYTHON to a Python that has it); `bash .ci/run` installs it"
    );
    python
}

/// kubectl with its built-in kustomize; the test fails when it is missing.
fn kubectl() -> String {
    let kubectl = std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".to_string());
    let ok = Command::new(&kubectl)
        .args(["kustomize", "--help"])
        .output()
        .is_ok_and(|out| out.status.success());
    assert!(
        ok,
        "{kubectl} kustomize is not available: install kubectl (v1.27 or later, kustomize v5) or set KUBECTL=/path/to/kubectl"
    );
    kubectl
}

/// `kubectl kustomize deploy/kubernetes/<dir>`, validated by validate.py,
/// as the list of rendered objects.
fn render(dir: &str) -> Vec<Value> {
    let out = Command::new(kubectl())
        .arg("kustomize")
        .arg(repo_path(&format!("deploy/kubernetes/{dir}")))
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl kustomize {dir} fails: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut validate = Command::new(python())
        .arg(repo_path("deploy/kubernetes/validate.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("validate.py runs");
    validate.stdin.take().unwrap().write_all(&out.stdout).unwrap();
    let checked = validate.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "the objects of {dir} fail validation:\n{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    serde_json::from_slice(&checked.stdout).expect("validate.py prints the objects as JSON")
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

/// The pod templates of the Deployments and StatefulSets.
fn pod_specs(objects: &[Value]) -> Vec<&Value> {
    objects
        .iter()
        .filter(|o| o["kind"] == "Deployment" || o["kind"] == "StatefulSet")
        .map(|o| &o["spec"]["template"]["spec"])
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn args_of(objects: &[Value]) -> Vec<String> {
    let pods = pod_specs(objects);
    assert_eq!(pods.len(), 1, "one workload");
    strings(&pods[0]["containers"][0]["args"])
}

/// The value of `--name=value` among `args`.
fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().find_map(|a| a.strip_prefix(name)?.strip_prefix('='))
}

#[test]
fn every_kustomization_renders_and_every_object_passes_the_schemas() {
    for dir in KUSTOMIZATIONS {
        let objects = render(dir);
        let kinds: BTreeSet<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
        for kind in [
            "Service",
            "ServiceMonitor",
            "PrometheusRule",
            "NetworkPolicy",
            "ConfigMap",
        ] {
            assert!(kinds.contains(kind), "{dir} renders no {kind}: {kinds:?}");
        }
        assert_eq!(pod_specs(&objects).len(), 1, "{dir}: one workload");
    }
}

/// validate.py on `objects`: whether it accepted them, and what it said.
fn validate(objects: &[Value]) -> (bool, String) {
    let mut validate = Command::new(python())
        .arg(repo_path("deploy/kubernetes/validate.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // JSON is YAML: each object as a document of its own.
    let stream: String = objects.iter().map(|d| format!("---\n{d}\n")).collect();
    validate.stdin.take().unwrap().write_all(stream.as_bytes()).unwrap();
    let out = validate.wait_with_output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn the_validator_refuses_a_misspelt_field_in_either_kind_of_schema() {
    let objects = render("overlays/tls");
    for (from, to) in [("runAsNonRoot", "runAsNonroot"), ("serverName", "servername")] {
        let text = serde_json::to_string(&objects).unwrap().replace(from, to);
        let (ok, said) = validate(&serde_json::from_str::<Vec<Value>>(&text).unwrap());
        assert!(!ok && said.contains(to), "{to} accepted: {said}");
    }
}

/// What the Operator's published CRDs (0.93.0) refuse beyond unknown fields,
/// which the subset was found to accept before it was compared with them.
#[test]
fn the_validator_refuses_what_the_operator_crds_refuse() {
    let objects = render("base");
    type Case = (&'static str, fn(&mut Value));
    let cases: [Case; 4] = [
        ("'endpoints' is a required property", |o| {
            if o["kind"] == "ServiceMonitor" {
                o["spec"].as_object_mut().unwrap().remove("endpoints");
            }
        }),
        ("have the same name", |o| {
            if o["kind"] == "PrometheusRule" {
                let groups = o["spec"]["groups"].as_array_mut().unwrap();
                let first = groups[0].clone();
                groups.push(first);
            }
        }),
        ("rules.0.keep_firing_for: ", |o| {
            if o["kind"] == "PrometheusRule" {
                o["spec"]["groups"][0]["rules"][0]["keep_firing_for"] = "".into();
            }
        }),
        ("spec.sampleLimit: ", |o| {
            if o["kind"] == "ServiceMonitor" {
                o["spec"]["sampleLimit"] = (-1).into();
            }
        }),
    ];
    for (refusal, change) in cases {
        let mut changed = objects.clone();
        changed.iter_mut().for_each(change);
        let (ok, said) = validate(&changed);
        assert!(!ok && said.contains(refusal), "not refused with {refusal:?}: {said}");
    }
}

#[test]
fn pods_run_unprivileged_with_probes_resources_and_only_the_metrics_port_open() {
    let dockerfile = std::fs::read_to_string(repo_path("Dockerfile")).unwrap();
    let image_user: u64 = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .and_then(|u| u.split(':').next()?.trim().parse().ok())
        .expect("the Dockerfile names a numeric USER");
    for dir in KUSTOMIZATIONS {
        let objects = render(dir);
        let tls = dir.ends_with("tls");
        for pod in pod_specs(&objects) {
            let security = &pod["securityContext"];
            assert_eq!(security["runAsNonRoot"], true, "{dir}");
            assert_eq!(security["runAsUser"], image_user, "{dir}: the image's user");
            assert_eq!(security["seccompProfile"]["type"], "RuntimeDefault", "{dir}");
            assert_eq!(pod["automountServiceAccountToken"], false, "{dir}");
            for container in pod["containers"].as_array().unwrap() {
                let c = &container["securityContext"];
                assert_eq!(c["readOnlyRootFilesystem"], true, "{dir}");
                assert_eq!(c["allowPrivilegeEscalation"], false, "{dir}");
                assert_eq!(strings(&c["capabilities"]["drop"]), ["ALL"], "{dir}");
                assert!(c["capabilities"]["add"].is_null(), "{dir}");
                assert_ne!(c["privileged"], true, "{dir}");
                for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
                    let get = &container[probe]["httpGet"];
                    assert_eq!(get["path"], path, "{dir} {probe}");
                    assert_eq!(get["port"], "metrics", "{dir} {probe}");
                    let scheme = if tls { "HTTPS" } else { "HTTP" };
                    assert_eq!(get["scheme"].as_str().unwrap_or("HTTP"), scheme, "{dir} {probe}");
                }
                let ports = container["ports"].as_array().unwrap();
                assert_eq!(ports.len(), 1, "{dir}: only the metrics port");
                assert_eq!(ports[0]["name"], "metrics");
                let args = strings(&container["args"]);
                let port = ports[0]["containerPort"].as_u64().unwrap();
                assert_eq!(
                    flag(&args, "--web.listen-address"),
                    Some(format!(":{port}").as_str()),
                    "{dir}: the exporter listens on the port the probes ask"
                );
                assert!(!args.iter().any(|a| a.starts_with("--admin.")), "{dir}: no admin route");
                assert_eq!(flag(&args, "--web.config.file").is_some(), tls, "{dir}");
                let resources = &container["resources"];
                for key in ["requests", "limits"] {
                    assert!(resources[key]["memory"].is_string(), "{dir}: memory {key}");
                }
            }
        }
        for policy in of_kind(&objects, "NetworkPolicy") {
            let rules = policy["spec"]["ingress"].as_array().unwrap();
            assert_eq!(rules.len(), 1, "{dir}: one ingress rule");
            assert_eq!(rules[0]["ports"].as_array().unwrap().len(), 1, "{dir}");
            assert_eq!(rules[0]["ports"][0]["port"], "metrics", "{dir}");
            assert_eq!(
                rules[0]["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"], "prometheus",
                "{dir}: only Prometheus"
            );
        }
        for monitor in of_kind(&objects, "ServiceMonitor") {
            let endpoint = &monitor["spec"]["endpoints"][0];
            assert_eq!(endpoint["port"], "metrics");
            assert_eq!(
                endpoint["scheme"].as_str().unwrap_or("http"),
                if tls { "https" } else { "http" }
            );
            if tls {
                assert_eq!(endpoint["tlsConfig"]["ca"]["secret"]["key"], "ca.crt");
            }
            let service = &of_kind(&objects, "Service")[0];
            for (key, value) in monitor["spec"]["selector"]["matchLabels"].as_object().unwrap() {
                assert_eq!(
                    &service["metadata"]["labels"][key], value,
                    "{dir}: the monitor finds the Service"
                );
            }
        }
    }
}

#[test]
fn every_flag_in_the_manifests_is_one_the_binary_knows() {
    let out = Command::new(env!("CARGO_BIN_EXE_workato_exporter"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    let known: BTreeSet<&str> = help
        .split_whitespace()
        .filter(|w| w.starts_with("--"))
        .map(|w| w.trim_end_matches(','))
        .collect();
    let mut seen = 0;
    for dir in KUSTOMIZATIONS {
        for pod in pod_specs(&render(dir)) {
            for container in pod["containers"].as_array().unwrap() {
                for arg in strings(&container["args"])
                    .iter()
                    .chain(&strings(&container["command"]))
                {
                    let Some(name) = arg.starts_with("--").then(|| arg.split('=').next().unwrap()) else {
                        continue;
                    };
                    assert!(known.contains(name), "{dir}: {name} is not in workato_exporter --help");
                    seen += 1;
                }
            }
        }
    }
    assert!(seen > 10, "flags found: {seen}");
}

#[test]
fn the_sharded_statefulset_counts_its_replicas_and_is_scraped_through_a_headless_service() {
    let objects = render("overlays/sharded");
    let set = of_kind(&objects, "StatefulSet")[0];
    let args = args_of(&objects);
    let count: u64 = flag(&args, "--shard.count").unwrap().parse().unwrap();
    assert_eq!(set["spec"]["replicas"], count, "replicas and --shard.count agree");
    assert!(args.contains(&"--shard.index-from-hostname".to_string()));
    assert_eq!(
        set["metadata"]["name"], "workato-exporter",
        "pods named workato-exporter-N"
    );
    let service = of_kind(&objects, "Service")[0];
    assert_eq!(service["spec"]["clusterIP"], "None", "headless: one endpoint per shard");
    assert_eq!(set["spec"]["serviceName"], service["metadata"]["name"]);
    let pod_labels = &set["spec"]["template"]["metadata"]["labels"];
    for (key, value) in service["spec"]["selector"].as_object().unwrap() {
        assert_eq!(&pod_labels[key], value, "the Service selects every shard");
    }
    assert!(of_kind(&objects, "Deployment").is_empty());
    assert!(of_kind(&objects, "PersistentVolumeClaim").is_empty());
    let state = flag(&args, "--jobs.state-dir").unwrap();
    let mounts = &set["spec"]["template"]["spec"]["containers"][0]["volumeMounts"];
    let claim = mounts
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mountPath"] == state)
        .unwrap();
    assert_eq!(
        set["spec"]["volumeClaimTemplates"][0]["metadata"]["name"],
        claim["name"]
    );
}

#[test]
fn generated_rules_and_dashboards_match_their_sources() {
    let out = Command::new(python())
        .arg(repo_path("deploy/kubernetes/generate.py"))
        .arg("--check")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // And the PrometheusRule holds exactly the rules files' groups.
    let objects = render("base");
    let rule = of_kind(&objects, "PrometheusRule")[0];
    let names: Vec<&str> = rule["spec"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    for file in ["workato-alerts.yml", "workato-recording.yml"] {
        let text = std::fs::read_to_string(repo_path(&format!("prometheus/rules/{file}"))).unwrap();
        for line in text.lines().filter_map(|l| l.trim().strip_prefix("- name: ")) {
            assert!(
                names.contains(&line.trim()),
                "group {line} of {file} missing: {names:?}"
            );
        }
    }
    for dashboard in of_kind(&objects, "ConfigMap")
        .into_iter()
        .filter(|c| c["metadata"]["labels"]["grafana_dashboard"] == "1")
    {
        let (file, text) = dashboard["data"].as_object().unwrap().iter().next().unwrap();
        let source = std::fs::read_to_string(repo_path(&format!("dashboards/{file}"))).unwrap();
        assert_eq!(text.as_str().unwrap(), source, "{file}");
    }
}

#[test]
fn changing_an_alert_without_regenerating_fails_the_check() {
    let root = std::env::temp_dir().join(format!("we-k8s-generate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for dir in ["prometheus/rules", "dashboards", "deploy/kubernetes/base"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
        for entry in std::fs::read_dir(repo_path(dir)).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, root.join(dir).join(path.file_name().unwrap())).unwrap();
        }
    }
    let check = |extra: &[&str]| {
        let out = Command::new(python())
            .arg(repo_path("deploy/kubernetes/generate.py"))
            .arg("--root")
            .arg(&root)
            .args(extra)
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    assert!(check(&["--check"]).0, "a fresh copy is up to date");
    let alerts: PathBuf = root.join("prometheus/rules/workato-alerts.yml");
    let text = std::fs::read_to_string(&alerts).unwrap();
    assert!(text.contains("for: 5m"));
    std::fs::write(&alerts, text.replacen("for: 5m", "for: 7m", 1)).unwrap();
    let (ok, said) = check(&["--check"]);
    assert!(!ok && said.contains("prometheusrule.yaml"), "{said}");
    assert!(check(&[]).0, "regenerating");
    assert!(check(&["--check"]).0, "up to date again");
    let generated = std::fs::read_to_string(root.join("deploy/kubernetes/base/prometheusrule.yaml")).unwrap();
    assert!(generated.contains("for: 7m"));
    let _ = std::fs::remove_dir_all(&root);
}

/// The size of each workspace's simulator.
const SIZE: SimSize = SimSize {
    recipes: 4,
    connections: 2,
    endpoints: 1,
    jobs_per_minute: 60.0,
};

#[tokio::test(flavor = "multi_thread")]
async fn the_sharded_pods_started_as_processes_export_each_workspace_exactly_once() {
    let objects = render("overlays/sharded");
    let args = args_of(&objects);
    let replicas = of_kind(&objects, "StatefulSet")[0]["spec"]["replicas"]
        .as_u64()
        .unwrap();
    let name = of_kind(&objects, "StatefulSet")[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();

    let dir = std::env::temp_dir().join(format!("we-k8s-shards-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("token"), TOKEN).unwrap();
    let mut servers = Vec::new();
    let mut yaml = String::from(
        "defaults:\n  token_file: token\n  poll_interval: 1s\n  jobs_interval: 1s\n  requests_per_minute: 6000\nworkspaces:\n",
    );
    let names: Vec<String> = (0..12).map(|i| format!("ws-{i:02}")).collect();
    for (seed, workspace) in names.iter().enumerate() {
        let server = simulated(seed as u64, SIZE).await;
        yaml.push_str(&format!("  - name: {workspace}\n    base_url: {}\n", server.base_url()));
        servers.push(server);
    }
    let config = dir.join("workato_exporter.yml");
    std::fs::write(&config, yaml).unwrap();

    // The StatefulSet's arguments, with the pod's paths and port made local.
    let mut pods = Vec::new();
    for index in 0..replicas {
        let state = dir.join(format!("state-{index}"));
        std::fs::create_dir_all(&state).unwrap();
        let port = free_port();
        let local: Vec<String> = args
            .iter()
            .map(|a| match a.split_once('=') {
                Some(("--config.file", _)) => format!("--config.file={}", config.display()),
                Some(("--jobs.state-dir", _)) => format!("--jobs.state-dir={}", state.display()),
                Some(("--web.listen-address", _)) => format!("--web.listen-address=127.0.0.1:{port}"),
                _ => a.clone(),
            })
            .collect();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_workato_exporter"))
            .args(&local)
            .env_clear()
            .env("HOSTNAME", format!("{name}-{index}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the exporter starts");
        pods.push((index, format!("http://127.0.0.1:{port}"), child));
    }

    let mut owner: BTreeMap<String, u64> = BTreeMap::new();
    for (index, base, _) in &pods {
        wait_for(
            &format!("{base}/readyz"),
            &format!("{name}-{index}"),
            Duration::from_secs(30),
        )
        .await;
        let text = reqwest::get(format!("{base}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let s = Samples::parse(&text);
        assert_eq!(
            s.value(
                "workato_exporter_shard_info",
                &[("index", &index.to_string()), ("count", &replicas.to_string())]
            ),
            1.0,
            "{name}-{index} took its index from HOSTNAME"
        );
        for sample in s.find("workato_up", &[]) {
            let workspace = sample.labels["workspace"].clone();
            assert_eq!(sample.value, 1.0, "{workspace} polled by {name}-{index}");
            if let Some(other) = owner.insert(workspace.clone(), *index) {
                panic!("{workspace} exported by {name}-{other} and {name}-{index}");
            }
        }
        assert_eq!(
            s.value("workato_exporter_workspaces", &[]),
            s.find("workato_up", &[]).len() as f64
        );
    }
    let exported: Vec<&String> = owner.keys().collect();
    assert_eq!(
        exported,
        names.iter().collect::<Vec<_>>(),
        "every workspace exported once"
    );
    for index in 0..replicas {
        assert!(
            owner.values().any(|o| *o == index),
            "{name}-{index} owns none: {owner:?}"
        );
    }
    drop(pods);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tls_pod_started_as_a_process_serves_https_from_the_cert_manager_key_names() {
    let objects = render("overlays/tls");
    let args = args_of(&objects);
    let web_config = of_kind(&objects, "ConfigMap")
        .into_iter()
        .find_map(|c| c["data"]["web-config.yml"].as_str())
        .expect("the web-config ConfigMap")
        .to_string();
    let pod = pod_specs(&objects)[0];
    let mount = |volume: &str| -> String {
        let mounts = pod["containers"][0]["volumeMounts"].as_array().unwrap();
        let m = mounts.iter().find(|m| m["name"] == volume).unwrap();
        m["mountPath"].as_str().unwrap().to_string()
    };
    let secret = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "tls")
        .unwrap();
    assert_eq!(secret["secret"]["secretName"], "workato-exporter-tls");

    // The Secret cert-manager would write, at a local stand-in for its mount.
    let pki = crate::pki::Pki::new("k8s");
    let tls = pki.dir.join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    std::fs::copy(pki.dir.join("server.pem"), tls.join("tls.crt")).unwrap();
    std::fs::copy(pki.dir.join("server.key"), tls.join("tls.key")).unwrap();
    std::fs::write(tls.join("ca.crt"), &pki.ca).unwrap();
    let config = pki.write(
        "web-config.yml",
        &web_config.replace(&mount("tls"), tls.to_str().unwrap()),
    );
    let token = pki.write("token", TOKEN);
    let server = simulated(7, SIZE).await;
    let port = free_port();
    let mut local: Vec<String> = args
        .iter()
        .map(|a| match a.split_once('=') {
            Some(("--workato.token-file", _)) => format!("--workato.token-file={}", token.display()),
            Some(("--web.config.file", _)) => format!("--web.config.file={}", config.display()),
            Some(("--web.listen-address", _)) => format!("--web.listen-address=127.0.0.1:{port}"),
            _ => a.clone(),
        })
        .collect();
    // The simulator instead of the region's host.
    local.push(format!("--workato.base-url={}", server.base_url()));
    let _child = tokio::process::Command::new(env!("CARGO_BIN_EXE_workato_exporter"))
        .args(&local)
        .env_clear()
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the exporter starts");

    let client = pki.client(None);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match client.get(format!("https://127.0.0.1:{port}/readyz")).send().await {
            Ok(r) if r.status() == 200 => break,
            other => assert!(
                std::time::Instant::now() < deadline,
                "not ready over HTTPS within 30 s: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let metrics = client
        .get(format!("https://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(Samples::parse(&metrics).value("workato_up", &[]), 1.0);
    let plain = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await;
    assert!(
        !matches!(&plain, Ok(r) if r.status().is_success()),
        "plain HTTP is not served: {plain:?}"
    );
}

#[test]
fn the_shipped_configuration_file_loads_with_the_flags_of_its_overlays() {
    let dir = std::env::temp_dir().join(format!("we-k8s-config-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (overlay, hostname) in [
        ("overlays/many-workspaces", None),
        ("overlays/sharded", Some("workato-exporter-1")),
    ] {
        let objects = render(overlay);
        let pod = pod_specs(&objects)[0];
        let args = args_of(&objects);
        let yaml = of_kind(&objects, "ConfigMap")
            .into_iter()
            .find_map(|c| c["data"]["workato_exporter.yml"].as_str())
            .expect("the configuration ConfigMap");
        // The tokens' Secret mount, made local: a file per token_file.
        let mounts = pod["containers"][0]["volumeMounts"].as_array().unwrap();
        let secrets = mounts.iter().find(|m| m["name"] == "token").unwrap()["mountPath"]
            .as_str()
            .unwrap();
        let yaml = yaml.replace(secrets, dir.to_str().unwrap());
        for line in yaml.lines().filter_map(|l| l.trim().strip_prefix("token_file: ")) {
            std::fs::write(line, TOKEN).unwrap();
        }
        let file = dir.join("workato_exporter.yml");
        std::fs::write(&file, yaml).unwrap();
        let mut argv = vec!["workato_exporter".to_string()];
        argv.extend(args.iter().map(|a| match a.split_once('=') {
            Some(("--config.file", _)) => format!("--config.file={}", file.display()),
            _ => a.clone(),
        }));
        let cli = workato_exporter::config::parse_cli(argv).expect("the flags parse");
        let env = |name: &str| (name == "HOSTNAME").then(|| hostname.map(str::to_string)).flatten();
        let config = workato_exporter::config::Config::load_with_hostname(&cli.args, &env, &|| None)
            .unwrap_or_else(|e| panic!("{overlay}: {e}"));
        let names: Vec<&str> = config.workspaces.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["prod", "dev"], "{overlay}");
        assert!(config.enable_lifecycle, "{overlay}");
        if hostname.is_some() {
            let shard = config.shard.expect("sharded");
            assert_eq!((shard.index, shard.count), (1, 3));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
