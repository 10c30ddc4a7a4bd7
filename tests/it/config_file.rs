//! `--config.file`, `--jobs.state-dir`, `--web.enable-lifecycle` and
//! `--shard.*`: what a file becomes, and every way a file or the flags
//! beside it can be wrong, each said in one line with its position.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use secrecy::ExposeSecret;
use workato_exporter::config::{
    ADMIN_TOKEN_ENV, Auth, Config, CustomerRef, Customers, Shard, TOKEN_ENV, parse_cli, state_file,
};

/// A directory of its own for each test.
fn dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("we-config-file-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `yaml` as `config.yml` in `dir`, with token files `prod.token`
/// and `embed.token` beside it.
fn write(dir: &Path, yaml: &str) -> PathBuf {
    std::fs::write(dir.join("prod.token"), "prod-secret-token\n").unwrap();
    std::fs::write(dir.join("embed.token"), "  embed-secret-token  ").unwrap();
    let file = dir.join("config.yml");
    std::fs::write(&file, yaml).unwrap();
    file
}

fn load(argv: &[&str], env: &[(&str, &str)]) -> Result<Config, String> {
    let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let mut full = vec!["workato_exporter"];
    full.extend_from_slice(argv);
    let cli = parse_cli(full).map_err(|e| workato_exporter::config::one_line(&e))?;
    Config::load_with_hostname(&cli.args, &|name| env.get(name).cloned(), &|| None).map_err(|e| e.to_string())
}

/// Loads `yaml` as a file and returns the error, checked to be one line
/// that names the file and holds no token.
fn error_of(test: &str, yaml: &str) -> String {
    let dir = dir(test);
    let file = write(&dir, yaml);
    let error = load(
        &["--config.file", file.to_str().unwrap()],
        &[("PROD_TOKEN", "env-secret-token")],
    )
    .expect_err("the file is refused");
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(
        error.starts_with(&format!("--config.file {}", file.display())),
        "{error}"
    );
    assert!(!error.contains("secret-token"), "{error}");
    error
}

fn token(auth: &Auth) -> &str {
    auth.token().expose_secret()
}

const EXAMPLE: &str = "\
defaults:
  region: us
  requests_per_minute: 50
  poll_interval: 60s
  jobs_interval: 2m
workspaces:
  - name: prod
    region: eu
    token_file: prod.token
  - name: dev
    base_url: http://127.0.0.1:9863
    token_env: PROD_TOKEN
    email: ops@example.com
    requests_per_minute: 120
    poll_interval: 30s
    workspace_interval: 1h
    jobs_window: 15m
    jobs_max_error_types: 3
embedded:
  - name: partner
    token_file: embed.token
    customers: all
    requests_per_minute: 1000
  - name: other.partner
    region: jp
    token_env: PROD_TOKEN
    customers: [17, \"A-2300\", \"42\"]
";

#[test]
fn a_file_becomes_workspaces_and_embedded_entries_over_the_defaults() {
    let dir = dir("example");
    let file = write(&dir, EXAMPLE);
    let state = dir.join("state");
    let config = load(
        &[
            "--config.file",
            file.to_str().unwrap(),
            "--jobs.state-dir",
            state.to_str().unwrap(),
        ],
        &[
            ("PROD_TOKEN", " env-secret-token\n"),
            (TOKEN_ENV, "ignored-with-a-file"),
        ],
    )
    .unwrap();
    assert_eq!(config.config_file.as_deref(), Some(file.as_path()));
    let [prod, dev] = &config.workspaces[..] else {
        panic!("two workspaces: {config:?}")
    };
    assert_eq!(prod.name, "prod");
    assert_eq!(prod.base_url.as_str(), "https://app.eu.workato.com/");
    assert!(matches!(prod.auth, Auth::Bearer(_)));
    assert_eq!(token(&prod.auth), "prod-secret-token", "relative to the file, trimmed");
    assert_eq!(prod.requests_per_minute.get(), 50);
    assert_eq!(prod.poll_interval, Duration::from_secs(60));
    assert_eq!(prod.workspace_interval, Duration::from_secs(15 * 60));
    assert_eq!(prod.jobs_interval, Duration::from_secs(120));
    assert_eq!(prod.jobs.window, Duration::from_secs(3600));
    assert_eq!(prod.jobs.max_error_types, 10);
    assert_eq!(prod.jobs.state_file, Some(state.join("prod.json")));

    assert_eq!(dev.base_url.as_str(), "http://127.0.0.1:9863/");
    assert!(matches!(&dev.auth, Auth::Legacy { email, .. } if email == "ops@example.com"));
    assert_eq!(token(&dev.auth), "env-secret-token");
    assert_eq!(dev.requests_per_minute.get(), 120);
    assert_eq!(dev.poll_interval, Duration::from_secs(30));
    assert_eq!(dev.workspace_interval, Duration::from_secs(3600));
    assert_eq!(dev.jobs_interval, Duration::from_secs(120));
    assert_eq!(dev.jobs.window, Duration::from_secs(900));
    assert_eq!(dev.jobs.max_error_types, 3);

    let [partner, other] = &config.embedded[..] else {
        panic!("two embedded entries: {config:?}")
    };
    assert_eq!(partner.name, "partner");
    assert_eq!(partner.base_url.as_str(), "https://www.workato.com/");
    assert_eq!(token(&partner.auth), "embed-secret-token");
    assert_eq!(partner.requests_per_minute.get(), 1000);
    assert_eq!(partner.customers, Customers::All);
    assert_eq!(partner.state_dir.as_deref(), Some(state.as_path()));
    assert_eq!(
        state_file(&state, "partner/123"),
        state.join("partner%2F123.json"),
        "a customer's file stays in the directory"
    );
    assert_eq!(other.base_url.as_str(), "https://app.jp.workato.com/");
    assert_eq!(
        other.customers,
        Customers::Only(vec![
            CustomerRef::Id(17),
            CustomerRef::External("A-2300".into()),
            CustomerRef::External("42".into()),
        ])
    );

    let debug = format!("{config:?}");
    assert!(!debug.contains("secret-token"), "a token in Debug: {debug}");
}

#[test]
fn the_workato_api_token_variable_is_ignored_with_a_file() {
    let dir = dir("ignored-env");
    let file = write(&dir, "workspaces:\n  - name: prod\n    token_file: prod.token\n");
    let config = load(&["--config.file", file.to_str().unwrap()], &[(TOKEN_ENV, "flag-token")]).unwrap();
    assert_eq!(token(&config.workspaces[0].auth), "prod-secret-token");
    assert!(config.embedded.is_empty());
}

#[test]
fn an_entrys_token_source_replaces_the_defaults() {
    let dir = dir("token-source");
    let yaml = "defaults:\n  token_file: prod.token\nworkspaces:\n  - name: a\n  - name: b\n    token_env: B_TOKEN\n";
    let file = write(&dir, yaml);
    let config = load(&["--config.file", file.to_str().unwrap()], &[("B_TOKEN", "b-token")]).unwrap();
    assert_eq!(token(&config.workspaces[0].auth), "prod-secret-token");
    assert_eq!(token(&config.workspaces[1].auth), "b-token");
}

#[test]
fn unknown_keys_are_refused_where_they_stand() {
    let e = error_of(
        "unknown-entry",
        "workspaces:\n  - name: prod\n    token_file: prod.token\n    tokn: x\n",
    );
    assert!(e.contains(":4:5:") && e.contains("unknown field `tokn`"), "{e}");
    let e = error_of("unknown-defaults", "defaults:\n  pol_interval: 1m\nworkspaces: []\n");
    assert!(e.contains(":2:3:") && e.contains("pol_interval"), "{e}");
    let e = error_of("unknown-top", "workspace:\n  - name: prod\n");
    assert!(e.contains("unknown field `workspace`") && e.contains("embedded"), "{e}");
    let e = error_of(
        "repeated-key",
        "workspaces:\n  - name: prod\n    token_file: prod.token\n    name: dev\n",
    );
    assert!(e.contains(":4:5:") && e.contains("duplicate mapping key: name"), "{e}");
    let e = error_of("not-yaml", "workspaces: [\n");
    assert!(e.contains(":1:"), "{e}");
}

#[test]
fn duplicate_names_give_both_positions_across_workspaces_and_embedded() {
    let yaml = "\
defaults:
  token_file: prod.token
workspaces:
  - name: prod
  - name: dev
embedded:
  - name: prod
";
    let e = error_of("duplicate", yaml);
    assert!(
        e.contains(":7:11: embedded[0].name: \"prod\" is already the name of workspaces[0] at line 4, column 11"),
        "{e}"
    );
    let e = error_of(
        "duplicate-ws",
        "defaults:\n  token_file: prod.token\nworkspaces:\n  - name: a\n  - name: a\n",
    );
    assert!(
        e.contains(":5:11: workspaces[1].name") && e.contains("line 4, column 11"),
        "{e}"
    );
}

#[test]
fn names_are_label_values_of_a_safe_alphabet() {
    for (name, needle) in [
        ("\"prod/eu\"", "'/'"),
        ("\"has space\"", "' '"),
        ("\"\"", "1 to 128"),
        ("\"é\"", "'é'"),
    ] {
        let e = error_of(
            "names",
            &format!("workspaces:\n  - name: {name}\n    token_file: prod.token\n"),
        );
        assert!(
            e.contains(":2:11: workspaces[0].name:") && e.contains(needle),
            "{name}: {e}"
        );
    }
    let long = "x".repeat(129);
    let e = error_of(
        "long-name",
        &format!("workspaces:\n  - name: {long}\n    token_file: prod.token\n"),
    );
    assert!(e.contains("1 to 128"), "{e}");
    let e = error_of("no-name", "workspaces:\n  - token_file: prod.token\n");
    assert!(e.contains(":2:5: workspaces[0]: missing key name"), "{e}");
    let e = error_of("defaults-name", "defaults:\n  name: x\nworkspaces: []\n");
    assert!(e.contains(":2:9: defaults.name"), "{e}");
}

#[test]
fn a_missing_token_names_the_entry_and_what_to_set() {
    let e = error_of(
        "no-token",
        "workspaces:\n  - name: ok\n    token_file: prod.token\n  - name: dev\n",
    );
    assert!(
        e.contains(":4:5: workspaces[1] (dev): no token") && e.contains("token_file") && e.contains("token_env"),
        "{e}"
    );
    let e = error_of("unset-env", "embedded:\n  - name: partner\n    token_env: NOT_SET\n");
    assert!(
        e.contains(":2:5: embedded[0] (partner)") && e.contains("NOT_SET"),
        "{e}"
    );
    let e = error_of(
        "missing-file",
        "workspaces:\n  - name: dev\n    token_file: nowhere.token\n",
    );
    assert!(
        e.contains("workspaces[0] (dev).token_file") && e.contains("nowhere.token"),
        "{e}"
    );
    let dir = dir("bad-token");
    std::fs::write(dir.join("spaced.token"), "two secret-token").unwrap();
    std::fs::write(dir.join("empty.token"), " \n").unwrap();
    for (file, needle) in [("spaced.token", "whitespace"), ("empty.token", "empty")] {
        let config = write(&dir, &format!("workspaces:\n  - name: dev\n    token_file: {file}\n"));
        let e = load(&["--config.file", config.to_str().unwrap()], &[]).unwrap_err();
        assert!(e.contains(needle) && !e.contains("secret-token"), "{e}");
    }
}

#[test]
fn region_and_base_url_together_are_ambiguous() {
    let e = error_of(
        "both",
        "workspaces:\n  - name: dev\n    token_file: prod.token\n    region: eu\n    base_url: https://x.example\n",
    );
    assert!(
        e.contains(":5:15: workspaces[0] (dev).base_url: give region or base_url, not both"),
        "{e}"
    );
    let e = error_of(
        "both-defaults",
        "defaults:\n  region: eu\n  base_url: https://x.example\nworkspaces:\n  - name: dev\n    token_file: prod.token\n",
    );
    assert!(e.contains(":3:13: defaults.base_url"), "{e}");
    // An entry's own choice replaces the defaults' either way.
    let dir = dir("override");
    let file = write(
        &dir,
        "defaults:\n  base_url: https://x.example\nworkspaces:\n  - name: dev\n    token_file: prod.token\n    region: kr\n",
    );
    let config = load(&["--config.file", file.to_str().unwrap()], &[]).unwrap();
    assert_eq!(config.workspaces[0].base_url.as_str(), "https://app.kr.workato.com/");
    let e = error_of(
        "bad-region",
        "workspaces:\n  - name: dev\n    token_file: prod.token\n    region: mars\n",
    );
    assert!(e.contains(":4:13: region: expected one of us, eu"), "{e}");
    let e = error_of(
        "api-url",
        "workspaces:\n  - name: dev\n    token_file: prod.token\n    base_url: https://x.example/api\n",
    );
    assert!(e.contains("base_url: give the host root"), "{e}");
}

#[test]
fn bad_numbers_and_durations_name_the_key_and_its_place() {
    let cases = [
        ("poll_interval: soon", "poll_interval:", "2m"),
        ("poll_interval: 500ms", "poll_interval:", "at least 1s"),
        ("poll_interval: 60", "poll_interval:", "such as"),
        ("jobs_interval: 1 fortnight", "jobs_interval:", "such as"),
        ("workspace_interval: []", "workspace_interval:", "invalid type"),
        ("jobs_window: 10s", "jobs_window:", "1m to 7d"),
        ("requests_per_minute: 0", "requests_per_minute:", "from 1 to 60000"),
        ("requests_per_minute: -5", "requests_per_minute:", "from 1 to 60000"),
        ("requests_per_minute: lots", "requests_per_minute:", "from 1 to 60000"),
        ("jobs_max_error_types: 0", "jobs_max_error_types:", "1 to 1000"),
    ];
    for (line, key, needle) in cases {
        let yaml = format!("workspaces:\n  - name: dev\n    token_file: prod.token\n    {line}\n");
        let e = error_of("numbers", &yaml);
        assert!(
            e.contains(":4:") && e.contains(key) && e.contains(needle),
            "{line}: {e}"
        );
        let yaml = format!("defaults:\n  {line}\nworkspaces:\n  - name: dev\n    token_file: prod.token\n");
        let e = error_of("numbers-defaults", &yaml);
        assert!(e.contains(":2:") && e.contains(key), "defaults {line}: {e}");
    }
}

#[test]
fn customers_are_all_or_a_list_of_ids_in_embedded_entries_only() {
    let entry = |customers: &str| {
        format!("embedded:\n  - name: partner\n    token_file: embed.token\n    customers: {customers}\n")
    };
    for (customers, needle) in [
        ("some", "expected all"),
        ("[]", "empty list"),
        ("[1, 2, 1]", "managed user id 1 is listed twice"),
        ("[\"a\", \"a\"]", "external id \"a\" is listed twice"),
        ("[-3]", "positive integer"),
        ("[1.5]", "expected all"),
        ("{a: 1}", "expected all"),
    ] {
        let e = error_of("customers", &entry(customers));
        assert!(
            e.contains(":4:") && e.contains("customers") && e.contains(needle),
            "{customers}: {e}"
        );
    }
    let e = error_of(
        "customers-in-ws",
        "workspaces:\n  - name: dev\n    token_file: prod.token\n    customers: all\n",
    );
    assert!(
        e.contains(":4:16: workspaces[0].customers: only an embedded entry"),
        "{e}"
    );
    let e = error_of("customers-defaults", "defaults:\n  customers: all\nembedded: []\n");
    assert!(e.contains(":2:14: defaults.customers"), "{e}");
    let dir = dir("customers-default");
    let file = write(&dir, "embedded:\n  - name: partner\n    token_file: embed.token\n");
    let config = load(&["--config.file", file.to_str().unwrap()], &[]).unwrap();
    assert_eq!(config.embedded[0].customers, Customers::All, "all when not said");
}

#[test]
fn a_file_naming_no_workspace_or_not_readable_is_refused() {
    let e = error_of("empty", "");
    assert!(e.contains("names no workspace"), "{e}");
    let e = error_of("empty-lists", "workspaces: []\nembedded: []\n");
    assert!(e.contains("names no workspace"), "{e}");
    let e = load(&["--config.file", "/nonexistent/we.yml"], &[]).unwrap_err();
    assert!(e.contains("--config.file /nonexistent/we.yml: cannot read"), "{e}");
}

#[test]
fn the_demo_watches_prod_and_dev_each_with_its_own_token_and_the_flag_renames_prod() {
    let names = |config: &Config| -> Vec<String> { config.workspaces.iter().map(|w| w.name.clone()).collect() };
    let config = load(&["--demo"], &[]).unwrap();
    assert_eq!(names(&config), ["prod", "dev"]);
    assert!(config.workspaces[0].auth != config.workspaces[1].auth);
    let config = load(&["--demo", "--workato.workspace", "live"], &[]).unwrap();
    assert_eq!(names(&config), ["live", "dev"]);
    let e = load(&["--demo", "--workato.workspace", "dev"], &[]).unwrap_err();
    assert!(e.starts_with("--workato.workspace"), "{e}");
}

#[test]
fn per_workspace_flags_and_the_demo_are_refused_beside_a_file() {
    let dir = dir("flags");
    let file = write(&dir, "workspaces:\n  - name: prod\n    token_file: prod.token\n");
    let file = file.to_str().unwrap();
    for flags in [
        &["--workato.region", "eu"][..],
        &["--workato.base-url", "https://x.example"],
        &["--workato.token-file", "x"],
        &["--workato.email", "a@b.c"],
        &["--workato.workspace", "x"],
        &["--workato.requests-per-minute", "5"],
        &["--poll.interval", "5s"],
        &["--poll.workspace-interval", "5m"],
        &["--jobs.interval", "5s"],
        &["--jobs.window", "5m"],
        &["--jobs.max-error-types", "5"],
        &["--jobs.state-file", "x"],
    ] {
        let mut argv = vec!["--config.file", file];
        argv.extend_from_slice(flags);
        let e = load(&argv, &[]).unwrap_err();
        assert!(
            e.starts_with(flags[0]) && e.contains("cannot be used with --config.file"),
            "{flags:?}: {e}"
        );
        let mut argv = vec!["check", "--config.file", file];
        argv.extend_from_slice(flags);
        assert!(load(&argv, &[]).is_err(), "check {flags:?}");
    }
    let e = load(&["--config.file", file, "--demo"], &[]).unwrap_err();
    assert!(e.contains("--demo") && e.contains("--config.file"), "{e}");
    // What is not per workspace stays.
    let config = load(
        &[
            "--config.file",
            file,
            "--workato.timeout",
            "5s",
            "--web.enable-lifecycle",
            "--shard.count",
            "3",
            "--shard.index",
            "2",
        ],
        &[],
    )
    .unwrap();
    assert_eq!(config.timeout, Duration::from_secs(5));
    assert!(config.enable_lifecycle);
    assert_eq!(config.shard, Some(Shard { index: 2, count: 3 }));
}

#[test]
fn the_state_dir_gives_the_flag_workspace_its_file_and_excludes_the_state_file() {
    let config = load(
        &["--workato.workspace", "eu:prod", "--jobs.state-dir", "/var/lib/we"],
        &[(TOKEN_ENV, "t")],
    )
    .unwrap();
    assert_eq!(
        config.workspaces[0].jobs.state_file,
        Some(PathBuf::from("/var/lib/we/eu%3Aprod.json"))
    );
    assert_eq!(config.jobs_state_dir, Some(PathBuf::from("/var/lib/we")));
    let config = load(&["--jobs.state-file", "/var/lib/we.json"], &[(TOKEN_ENV, "t")]).unwrap();
    assert_eq!(
        config.workspaces[0].jobs.state_file,
        Some(PathBuf::from("/var/lib/we.json"))
    );
    let e = load(
        &["--jobs.state-file", "a", "--jobs.state-dir", "b"],
        &[(TOKEN_ENV, "t")],
    )
    .unwrap_err();
    assert!(e.contains("--jobs.state-file") && e.contains("--jobs.state-dir"), "{e}");
    let config = load(&[], &[(TOKEN_ENV, "t")]).unwrap();
    assert!(config.config_file.is_none() && config.embedded.is_empty() && config.shard.is_none());
    assert!(!config.enable_lifecycle);
}

#[test]
fn shard_flags_are_checked_and_the_index_read_from_hostname() {
    let e = load(&["--shard.count", "0"], &[(TOKEN_ENV, "t")]).unwrap_err();
    assert!(e.contains("--shard.count"), "{e}");
    let e = load(&["--shard.count", "2", "--shard.index", "2"], &[(TOKEN_ENV, "t")]).unwrap_err();
    assert!(e.contains("out of range"), "{e}");
    let config = load(
        &["--shard.count", "4", "--shard.index-from-hostname"],
        &[(TOKEN_ENV, "t"), ("HOSTNAME", "workato-exporter-3")],
    )
    .unwrap();
    assert_eq!(config.shard, Some(Shard { index: 3, count: 4 }));
    let e = load(
        &["--shard.count", "4", "--shard.index-from-hostname"],
        &[(TOKEN_ENV, "t"), ("HOSTNAME", "laptop")],
    )
    .unwrap_err();
    assert!(e.contains("\"laptop\""), "{e}");
}

#[test]
fn the_admin_token_must_differ_from_every_workspace_token() {
    let dir = dir("admin");
    let file = write(&dir, EXAMPLE);
    let e = load(
        &["--config.file", file.to_str().unwrap()],
        &[
            ("PROD_TOKEN", "env-secret-token-long"),
            (ADMIN_TOKEN_ENV, "env-secret-token-long"),
        ],
    )
    .unwrap_err();
    assert!(e.contains("must differ") && !e.contains("secret-token"), "{e}");
}

#[test]
fn reload_reads_the_file_again_and_says_why_a_broken_one_is_refused() {
    let dir = dir("reload");
    let file = write(&dir, "workspaces:\n  - name: prod\n    token_file: prod.token\n");
    let config = load(
        &["--config.file", file.to_str().unwrap(), "--jobs.state-dir", "/s"],
        &[],
    )
    .unwrap();
    std::fs::write(
        &file,
        "workspaces:\n  - name: prod\n    token_file: prod.token\n  - name: new\n    token_env: NEW_TOKEN\n",
    )
    .unwrap();
    let env = |name: &str| (name == "NEW_TOKEN").then(|| "new-token".to_string());
    let reloaded = config.reload(&env).expect("a file to reload").unwrap();
    let names: Vec<&str> = reloaded.workspaces.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["prod", "new"]);
    assert_eq!(
        reloaded.workspaces[1].jobs.state_file,
        Some(PathBuf::from("/s/new.json"))
    );
    std::fs::write(
        &file,
        "workspaces:\n  - name: prod\n    token_file: prod.token\n  - name: prod\n",
    )
    .unwrap();
    let e = config.reload(&env).unwrap().unwrap_err().to_string();
    assert!(e.contains(":4:11:") && e.contains("already the name"), "{e}");
    let flags = load(&[], &[(TOKEN_ENV, "t")]).unwrap();
    assert!(flags.reload(&env).is_none());
}

fn exporter(args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_workato_exporter"));
    command
        .args(args)
        .env_remove("WORKATO_API_TOKEN")
        .env_remove("RUST_LOG")
        .env_remove("WORKATO_BASE_URL")
        .env_remove("WORKATO_REGION")
        .env_remove("WORKATO_POLL_INTERVAL")
        .env_remove("WORKATO_EXPORTER_CONFIG_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

#[test]
fn the_binary_exits_2_with_one_line_for_a_bad_file_or_an_env_twin_beside_it() {
    let dir = dir("binary");
    let file = write(
        &dir,
        "workspaces:\n  - name: prod\n    token_file: prod.token\n    poll_interval: soon\n",
    );
    let file = file.to_str().unwrap();
    let out = exporter(&["--config.file", file]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(&format!("{file}:4:20: poll_interval:")), "{err}");

    std::fs::write(file, "workspaces:\n  - name: prod\n    token_file: prod.token\n").unwrap();
    let out = exporter(&[])
        .env("WORKATO_EXPORTER_CONFIG_FILE", file)
        .env("WORKATO_POLL_INTERVAL", "5s")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("WORKATO_POLL_INTERVAL (--poll.interval) cannot be used with --config.file"),
        "{err}"
    );
}
