//! Records the git revision for `workato_exporter_build_info`. Builds
//! without git (a source tarball, a Docker context without .git) get
//! `unknown`, or whatever WORKATO_EXPORTER_REVISION is set to.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=WORKATO_EXPORTER_REVISION");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs");
    let revision = std::env::var("WORKATO_EXPORTER_REVISION").ok().unwrap_or_else(|| {
        Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()
            .filter(|out| out.status.success())
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "unknown".to_string())
    });
    println!("cargo:rustc-env=WORKATO_EXPORTER_REVISION={revision}");
}
