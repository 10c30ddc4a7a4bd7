//! What this binary is, as build.rs recorded it: version, git revision,
//! build date, rustc version and target. `--version` prints it the way the
//! Prometheus ecosystem does; `workato_exporter_build_info` carries it as
//! labels.

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git revision the binary was built from, or `unknown`.
pub const REVISION: &str = env!("WORKATO_EXPORTER_REVISION");

/// YYYY-MM-DD, UTC; SOURCE_DATE_EPOCH's date in a reproducible build.
pub const BUILD_DATE: &str = env!("WORKATO_EXPORTER_BUILD_DATE");

pub const RUSTC_VERSION: &str = env!("WORKATO_EXPORTER_RUSTC_VERSION");

/// The target triple, e.g. `x86_64-unknown-linux-gnu`.
pub const TARGET: &str = env!("WORKATO_EXPORTER_TARGET");

/// The `--version` text:
///
/// ```text
/// workato_exporter, version 0.1.0 (revision: 0123456789ab)
///   build date:    2026-11-27
///   rustc version: 1.95.0
///   target:        x86_64-unknown-linux-gnu
/// ```
pub fn text() -> String {
    format!(
        "workato_exporter, version {VERSION} (revision: {REVISION})\n  \
         build date:    {BUILD_DATE}\n  \
         rustc version: {RUSTC_VERSION}\n  \
         target:        {TARGET}\n"
    )
}
