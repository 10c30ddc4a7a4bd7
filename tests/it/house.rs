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
