//! The command line's tests: per-workspace flags, listen addresses, base URLs,
//! durations, one-line usage errors and the telemetry path.

use super::*;

#[test]
fn every_per_workspace_flag_exists_and_is_told_apart_from_its_default() {
    let command = Cli::command();
    for id in PER_WORKSPACE {
        assert!(command.get_arguments().any(|a| a.get_id() == id), "no flag {id}");
    }
    let cli = parse_cli([
        "workato_exporter",
        "--workato.region",
        "us",
        "check",
        "--jobs.window",
        "2h",
    ])
    .unwrap();
    assert_eq!(cli.args.per_workspace_flags, ["--workato.region", "--jobs.window"]);
    assert!(
        parse_cli(["workato_exporter"])
            .unwrap()
            .args
            .per_workspace_flags
            .is_empty()
    );
    let cli = parse_cli(["workato_exporter", "simulate"]).unwrap();
    assert!(cli.args.per_workspace_flags.is_empty());
}

#[test]
fn go_style_listen_address_means_every_interface() {
    assert_eq!(parse_listen_address(":9862"), Ok("0.0.0.0:9862".parse().unwrap()));
    assert_eq!(parse_listen_address("127.0.0.1:1"), Ok("127.0.0.1:1".parse().unwrap()));
    assert_eq!(
        parse_listen_address("localhost:80"),
        Ok("127.0.0.1:80".parse().unwrap())
    );
    assert!(parse_listen_address("nowhere").is_err());
}

#[test]
fn base_url_must_be_the_host_root() {
    assert!(parse_base_url("https://www.workato.com").is_ok());
    assert!(
        parse_base_url("https://www.workato.com/api")
            .unwrap_err()
            .contains("without /api")
    );
    assert!(parse_base_url("ftp://x").is_err());
    assert!(parse_base_url("not a url").is_err());
}

#[test]
fn durations_accept_the_documented_forms() {
    for (text, secs) in [("500ms", 0.5), ("5s", 5.0), ("2m", 120.0), ("1h", 3600.0)] {
        assert_eq!(parse_duration(text).map(|d| d.as_secs_f64()), Ok(secs));
    }
    assert!(parse_interval("500ms").is_err());
    assert_eq!(parse_timeout("10s"), Ok(Duration::from_secs(10)));
    assert!(parse_timeout("500ms").is_err() && parse_timeout("1h").is_err());
    assert!(parse_duration("5 parsecs").is_err());
}

#[test]
fn usage_errors_fit_on_one_line_naming_the_flag() {
    let error = parse_cli(["workato_exporter", "--workato.region", "mars"]).unwrap_err();
    let line = one_line(&error);
    assert!(line.contains("--workato.region") && line.contains("trial"), "{line}");
    let error = parse_cli(["workato_exporter", "--poll.interval", "soon"]).unwrap_err();
    let line = one_line(&error);
    assert!(line.contains("--poll.interval") && line.contains("2m"), "{line}");
    assert_eq!(error.exit_code(), 2);
}

#[test]
fn the_telemetry_path_may_not_hide_behind_the_exporters_own_paths() {
    for taken in ["/admin", "/admin/x", "/admin/metrics/", "/healthz", "/readyz", "/"] {
        let error = parse_cli(["workato_exporter", "--web.telemetry-path", taken]).unwrap_err();
        let line = one_line(&error);
        assert!(line.contains("--web.telemetry-path"), "{taken}: {line}");
        assert_eq!(error.exit_code(), 2, "{taken}");
    }
    for fine in ["/metrics", "/administrator", "/workato/metrics", "/healthz/metrics"] {
        assert_eq!(args(&["--web.telemetry-path", fine]).telemetry_path, fine);
    }
}
