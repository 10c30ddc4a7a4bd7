//! House rules checked on the tree itself: no file of the exporter's
//! `src/` or of a crate's `crates/*/src/` is above 400 lines (issue #13),
//! so that each stays a file one reads whole.

use std::path::PathBuf;

use crate::helpers::{repo_path, rust_files};

/// The most lines a source file may have.
const MAX_LINES: usize = 400;

/// The `src/` folders checked: the exporter's and every crate's beside it.
fn source_folders() -> Vec<PathBuf> {
    let mut folders = vec![PathBuf::from(repo_path("src"))];
    let mut crates: Vec<PathBuf> = std::fs::read_dir(repo_path("crates"))
        .unwrap()
        .map(|entry| entry.unwrap().path().join("src"))
        .filter(|src| src.is_dir())
        .collect();
    crates.sort();
    folders.append(&mut crates);
    folders
}

#[test]
fn no_source_file_is_above_400_lines() {
    let mut files = Vec::new();
    for folder in source_folders() {
        rust_files(&folder, &mut files);
    }
    assert!(files.len() > 50, "only {} source files found", files.len());
    files.sort();
    let root = PathBuf::from(repo_path(""));
    let offenders: Vec<String> = files
        .iter()
        .filter_map(|file| {
            let lines = std::fs::read_to_string(file).unwrap().lines().count();
            let name = file.strip_prefix(&root).unwrap_or(file).display().to_string();
            (lines > MAX_LINES).then(|| format!("{name}: {lines} lines"))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "files above {MAX_LINES} lines (split them along their seams):\n{}",
        offenders.join("\n")
    );
}

/// The dependencies a manifest declares, by the name the code uses
/// (`-` as `_`): the keys of its `[dependencies]`, `[dev-dependencies]`,
/// `[build-dependencies]` and target-specific tables, not the workspace's
/// shared declarations.
fn declared(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_table = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_table = line.ends_with("dependencies]") && !line.starts_with("[workspace");
            continue;
        }
        let key = line.split(['=', '.']).next().unwrap_or("").trim();
        if in_table && !key.is_empty() && !key.starts_with('#') {
            names.push(key.replace('-', "_"));
        }
    }
    names
}

/// What `cargo tree` shows should all be used: a dependency no source,
/// test, benchmark or example of its crate names is a build cost for
/// nothing (issue #13).
#[test]
fn every_declared_dependency_is_used() {
    let mut crates = vec![PathBuf::from(repo_path(""))];
    crates.extend(
        source_folders()
            .into_iter()
            .skip(1)
            .filter_map(|src| src.parent().map(PathBuf::from)),
    );
    let mut unused = Vec::new();
    for dir in &crates {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let mut files = Vec::new();
        for sub in ["src", "tests", "benches", "examples"] {
            if dir.join(sub).is_dir() {
                rust_files(&dir.join(sub), &mut files);
            }
        }
        let code: String = files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect();
        for name in declared(&manifest) {
            let used = code.match_indices(&name).any(|(at, _)| {
                let before = code[..at].chars().next_back();
                let after = code[at + name.len()..].chars().next();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
            });
            if !used {
                unused.push(format!("{}: {name}", dir.join("Cargo.toml").display()));
            }
        }
    }
    assert!(unused.is_empty(), "declared but never named in the code: {unused:?}");
}

#[test]
fn declared_dependencies_are_read_from_every_dependency_table() {
    let manifest = "[package]\nname = \"x\"\n[dependencies]\nserde = \"1\"\ntokio-util.workspace = true\n\
                    [dev-dependencies]\nrcgen = { version = \"0.14\" }\n[workspace.dependencies]\nbytes = \"1\"\n";
    assert_eq!(declared(manifest), ["serde", "tokio_util", "rcgen"]);
}
