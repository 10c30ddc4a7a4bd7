//! No import circles among the files of a crate (STYLE.md: the module graph
//! is a DAG a newcomer can draw from `lib.rs`), and no crate of `crates/`
//! importing the exporter.
//!
//! A file depends on every module it names through `crate::`, `super::`,
//! `self::` or a child module it declares (`use` lines and paths in code
//! alike; comments and the `#[cfg(test)]` module at the end of a file do not
//! count). A path to an item of the crate root (`crate::Foo`) is a
//! dependency on `lib.rs`.
//!
//! One exception: a parent's re-export of its own child's item (`pub use
//! child::Item;` in a `mod.rs`) is not by itself a dependency of the parent.
//! Such a line is the folder's table of contents: it says where `Item`
//! lives and runs none of its code, so a child may import its siblings'
//! items through it (`use super::Item`). The re-export counts again as soon
//! as the parent's own code names `Item`: a parent that uses its child while
//! the child imports from the parent is a real circle, whichever way the
//! name travelled.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::helpers::{repo_path, rust_files};

/// The crates checked: the exporter (`.`) and every crate beside it.
const CRATES: [&str; 4] = [".", "crates/workato-api", "crates/http-server", "crates/workato-sim"];

/// `a::b` for `src/a/b.rs` and `src/a/b/mod.rs`; `` for `src/lib.rs`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts.join("::")
}

/// The code of a file without comments and without its trailing test module.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
    text.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path in `code` that starts with one of `roots`, with `use`
/// groups (`a::{b, c::d}`) spelt out.
fn paths(code: &str, roots: &[String]) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let word_at = |i: usize| {
        let end = (i..chars.len()).find(|&j| !(chars[j].is_alphanumeric() || chars[j] == '_'));
        chars[i..end.unwrap_or(chars.len())].iter().collect::<String>()
    };
    let mut i = 0;
    while i < chars.len() {
        let starts_word = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_' || chars[i - 1] == ':');
        let word = word_at(i);
        if starts_word && !word.is_empty() && roots.contains(&word) {
            let (mut expanded, end) = expand(&chars, i);
            found.append(&mut expanded);
            i = end;
        } else {
            i += word.len().max(1);
        }
    }
    found
}

/// Spells out the path starting at `start`; returns the paths and where it ends.
fn expand(chars: &[char], start: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix = Vec::new();
    let mut i = start;
    loop {
        let end = (i..chars.len())
            .find(|&j| !(chars[j].is_alphanumeric() || chars[j] == '_'))
            .unwrap_or(chars.len());
        if end > i {
            prefix.push(chars[i..end].iter().collect::<String>());
        }
        i = end;
        if chars[i..].starts_with(&[':', ':', '{']) {
            let mut all = Vec::new();
            i += 3;
            loop {
                while chars[i].is_whitespace() || chars[i] == ',' {
                    i += 1;
                }
                if chars[i] == '}' {
                    return (all, i + 1);
                }
                let (inner, end) = expand(chars, i);
                all.extend(inner.into_iter().map(|p| [prefix.clone(), p].concat()));
                i = end;
            }
        } else if chars[i..].starts_with(&[':', ':']) {
            i += 2;
        } else {
            return (vec![prefix], i);
        }
    }
}

/// `code` without its re-exports of child modules' items (`pub use child::…;`,
/// `pub(crate) use …`), and the paths those re-exports named.
fn without_reexports(code: &str, children: &[String]) -> (String, Vec<Vec<String>>) {
    let mut kept = String::with_capacity(code.len());
    let mut reexported = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("pub") {
        let (before, from) = rest.split_at(at);
        kept.push_str(before);
        let statement_end = from.find(';').map_or(from.len(), |end| end + 1);
        let statement = &from[..statement_end];
        let after_pub = statement[3..].trim_start();
        let after_visibility = match after_pub.strip_prefix('(') {
            Some(scoped) => scoped.split_once(')').map_or("", |(_, tail)| tail.trim_start()),
            None => after_pub,
        };
        let starts_word = before.chars().last().is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        let target = after_visibility.strip_prefix("use ").map(str::trim_start);
        let child = target.and_then(|t| children.iter().find(|c| t.starts_with(&format!("{c}::"))));
        match child {
            Some(child) if starts_word => {
                reexported.extend(paths(statement, std::slice::from_ref(child)));
                rest = &from[statement_end..];
            }
            _ => {
                kept.push_str("pub");
                rest = &from[3..];
            }
        }
    }
    kept.push_str(rest);
    (kept, reexported)
}

/// The module graph of the crate at `src`: file module → modules it uses.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeMap<String, PathBuf> = files.iter().map(|f| (module_of(src, f), f.clone())).collect();
    let split = |m: &str| -> Vec<String> { m.split("::").filter(|p| !p.is_empty()).map(String::from).collect() };
    let mut graph = BTreeMap::new();
    for (module, file) in &modules {
        let here = split(module);
        // Paths start at the crate, at the parent, or at a child module.
        let mut roots = vec!["crate".to_string(), "super".to_string(), "self".to_string()];
        roots.extend(modules.keys().map(|m| split(m)).filter_map(|m| {
            let (last, parent) = m.split_last()?;
            (parent == here.as_slice()).then(|| last.clone())
        }));
        let code = code(&std::fs::read_to_string(file).unwrap());
        let children: Vec<String> = roots[2..].to_vec();
        let (code, reexported) = without_reexports(&code, &children);
        let mut found = paths(&code, &roots);
        // A child's item re-exported here and used by this file's own code.
        found.extend(reexported.into_iter().filter(|path| {
            let name = path.last().unwrap();
            !paths(&code, std::slice::from_ref(name)).is_empty()
        }));
        let mut uses = BTreeSet::new();
        for path in found.into_iter().filter(|p| p.len() > 1) {
            let mut absolute = here.clone();
            let mut rest = path.as_slice();
            match rest[0].as_str() {
                "crate" => {
                    absolute.clear();
                    rest = &rest[1..];
                }
                "self" => rest = &rest[1..],
                _ => {
                    while rest.first().is_some_and(|p| p == "super") {
                        absolute.pop();
                        rest = &rest[1..];
                    }
                }
            }
            absolute.extend(rest.iter().cloned());
            // The longest prefix that is a module of the crate.
            let target = (0..=absolute.len())
                .rev()
                .map(|n| absolute[..n].join("::"))
                .find(|m| modules.contains_key(m))
                .unwrap_or_default();
            if &target != module {
                uses.insert(target);
            }
        }
        graph.insert(module.clone(), uses);
    }
    graph
}

/// A circle in `graph`, if there is one, as the modules along it.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            return Some([&path[at..], &[node.to_string()]].concat());
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|start| visit(start, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_crate_of_the_workspace_has_an_import_circle() {
    for krate in CRATES {
        let graph = graph(Path::new(&repo_path(&format!("{krate}/src"))));
        assert!(graph.len() > 1, "{krate}: no modules found");
        if let Some(found) = circle(&graph) {
            let names: Vec<&str> = found.iter().map(|m| if m.is_empty() { "lib.rs" } else { m }).collect();
            panic!("{krate}: import circle {}", names.join(" → "));
        }
    }
}

#[test]
fn the_circle_check_finds_a_circle() {
    let graph = BTreeMap::from([
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["c".to_string()])),
        ("c".to_string(), BTreeSet::from(["a".to_string()])),
    ]);
    assert_eq!(circle(&graph).unwrap(), ["a", "b", "c", "a"]);
    let code = "use crate::{world::{A, B}, life};\nlet x = super::json::render();";
    let roots = ["crate".to_string(), "super".to_string()];
    assert_eq!(
        paths(code, &roots),
        [
            vec!["crate", "world", "A"],
            vec!["crate", "world", "B"],
            vec!["crate", "life"],
            vec!["super", "json", "render"],
        ]
    );
    // A table of contents depends on nothing; a parent using what it
    // re-exports depends on the child.
    let children = ["a".to_string(), "b".to_string()];
    let toc = "mod a;\nmod b;\npub use a::A;\npub(crate) use b::{B, C};\n";
    let (rest, reexported) = without_reexports(toc, &children);
    assert_eq!(rest, "mod a;\nmod b;\n\n\n");
    assert_eq!(reexported, [vec!["a", "A"], vec!["b", "B"], vec!["b", "C"]]);
    let (rest, _) = without_reexports("pub use a::A;\npub fn f(a: A) {}", &children);
    assert_eq!(rest, "\npub fn f(a: A) {}");
}

#[test]
fn the_crates_beside_the_exporter_never_import_it() {
    for krate in CRATES.into_iter().filter(|krate| *krate != ".") {
        let manifest = std::fs::read_to_string(repo_path(&format!("{krate}/Cargo.toml"))).unwrap();
        // A dependency on the exporter would name it, or the root's path.
        let depends = manifest.lines().any(|line| {
            let line = line.trim_start();
            line.starts_with("workato_exporter") || line.contains(r#"path = "../..""#)
        });
        assert!(!depends, "{krate}/Cargo.toml depends on the exporter");
        let mut files = Vec::new();
        rust_files(Path::new(&repo_path(&format!("{krate}/src"))), &mut files);
        for file in files {
            let text = code(&std::fs::read_to_string(&file).unwrap());
            // A path into the exporter; a string such as a log target is not one.
            let imports = text
                .match_indices("workato_exporter::")
                .any(|(at, _)| !text[..at].ends_with('"'));
            assert!(!imports, "{} imports the exporter", file.display());
        }
    }
}
