//! The layers (docs/architecture.md), read from the sources as a reviewer would: each crate
//! depends only on the crates below it (Cargo refuses a cycle among crates, not a crate
//! that reaches upwards), and inside every crate the modules import each other in no
//! circle. A module may use its ancestors (a `super::` type of the module it belongs to):
//! that is the module and its parts, not a circle between two concerns.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates, lowest first: each may depend only on crates before it.
const CRATES: &[&str] = &["model", "store", "app", "frontend", "server", "bench"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The workspace crates `manifest` depends on, by folder name (`path = "../store"`).
fn crate_dependencies(manifest: &str) -> Vec<String> {
    manifest
        .match_indices("path = \"../")
        .map(|(at, found)| {
            manifest[at + found.len()..]
                .chars()
                .take_while(|c| *c != '"')
                .collect()
        })
        .collect()
}

#[test]
fn every_crate_depends_only_on_crates_below_it() {
    let crates_dir = workspace().join("crates");
    let on_disk: BTreeSet<String> = std::fs::read_dir(&crates_dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let listed: BTreeSet<String> = CRATES.iter().map(|c| c.to_string()).collect();
    assert_eq!(on_disk, listed, "every crate has its place in CRATES");
    let mut upwards = Vec::new();
    for (rank, name) in CRATES.iter().enumerate() {
        let manifest = std::fs::read_to_string(crates_dir.join(name).join("Cargo.toml")).unwrap();
        for used in crate_dependencies(&manifest) {
            let used_rank = CRATES.iter().position(|c| *c == used).unwrap();
            if used_rank >= rank {
                upwards.push(format!("{name} depends on {used}"));
            }
        }
    }
    assert!(upwards.is_empty(), "crates depending upwards: {upwards:?}");
}

/// A crate's modules by path (`figures::parts`; the root is ""), each with its file,
/// without the test modules (`#[cfg(test)] mod …;`), which may reach anywhere.
fn modules(root_file: &Path) -> BTreeMap<String, PathBuf> {
    let mut found = BTreeMap::new();
    let mut pending = vec![(String::new(), root_file.to_path_buf())];
    while let Some((module, file)) = pending.pop() {
        let text = std::fs::read_to_string(&file).unwrap();
        for child in declared_children(&text) {
            let path = join(&module, &child);
            if let Some(child_file) = child_file(&file, &child) {
                pending.push((path, child_file));
            }
        }
        found.insert(module, file);
    }
    found
}

/// The modules a file declares in files of their own (`mod name;`), test modules left out.
fn declared_children(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut children = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let declared = line
            .strip_prefix("pub mod ")
            .or_else(|| line.strip_prefix("pub(crate) mod "))
            .or_else(|| line.strip_prefix("mod "));
        let Some(name) = declared.and_then(|rest| rest.strip_suffix(';')) else {
            continue;
        };
        let for_tests_only = n > 0 && lines[n - 1] == "#[cfg(test)]";
        if !for_tests_only {
            children.push(name.to_owned());
        }
    }
    children
}

fn child_file(parent: &Path, child: &str) -> Option<PathBuf> {
    let stem = parent.file_stem()?.to_str()?;
    let dir = match stem {
        "lib" | "main" | "mod" => parent.parent()?.to_path_buf(),
        _ => parent.parent()?.join(stem),
    };
    [
        dir.join(format!("{child}.rs")),
        dir.join(child).join("mod.rs"),
    ]
    .into_iter()
    .find(|candidate| candidate.is_file())
}

fn join(module: &str, child: &str) -> String {
    match module {
        "" => child.to_owned(),
        _ => format!("{module}::{child}"),
    }
}

fn parent_of(module: &str) -> String {
    module
        .rsplit_once("::")
        .map_or(String::new(), |(parent, _)| parent.to_owned())
}

/// The code of a file without comments and without an inline test module at its end.
fn code_of(text: &str) -> String {
    let mut code = String::new();
    let mut lines = text.lines().map(str::trim).peekable();
    while let Some(line) = lines.next() {
        let test_module_follows = lines
            .peek()
            .is_some_and(|next| next.starts_with("mod ") && next.ends_with('{'));
        if line == "#[cfg(test)]" && test_module_follows {
            break;
        }
        if !line.starts_with("//") {
            code.push_str(line);
            code.push('\n');
        }
    }
    code
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The paths a file's code names from `crate::`, `super::` or `self::`, each as its
/// segments from the crate's root; a `use` group names each of its items' first segments.
fn named_paths(module: &str, code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    for start in ["crate::", "super::", "self::"] {
        for (at, _) in code.match_indices(start) {
            if code[..at].ends_with(|c: char| is_ident(c) || c == ':') {
                continue;
            }
            let (base, rest) = resolve_start(module, &code[at..]);
            paths.extend(path_tails(&rest).into_iter().map(|tail| {
                let mut path = base.clone();
                path.extend(tail);
                path
            }));
        }
    }
    paths
}

/// Where a path that starts at `text` begins (its `crate`, `super` and `self` resolved)
/// and the text after them.
fn resolve_start(module: &str, mut text: &str) -> (Vec<String>, String) {
    let mut base = module.to_owned();
    if let Some(rest) = text.strip_prefix("crate::") {
        return (Vec::new(), rest.to_owned());
    }
    if let Some(rest) = text.strip_prefix("self::") {
        text = rest;
    }
    while let Some(rest) = text.strip_prefix("super::") {
        base = parent_of(&base);
        text = rest;
    }
    let segments = base
        .split("::")
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    (segments, text.to_owned())
}

/// The segments a path's text goes on with: `a::b::C` gives one tail, `a::{b::C, d}` two.
fn path_tails(text: &str) -> Vec<Vec<String>> {
    let mut segments = Vec::new();
    let mut rest = text;
    loop {
        let name: String = rest.chars().take_while(|c| is_ident(*c)).collect();
        if !name.is_empty() {
            rest = &rest[name.len()..];
            segments.push(name);
            match rest.strip_prefix("::") {
                Some(after) => rest = after,
                None => return vec![segments],
            }
        } else if let Some(group) = rest.strip_prefix('{') {
            let items = group.split(['}', ',']).map(str::trim);
            return items
                .filter(|item| item.starts_with(is_ident))
                .map(|item| {
                    let first: String = item.chars().take_while(|c| is_ident(*c)).collect();
                    let mut tail = segments.clone();
                    tail.push(first);
                    tail
                })
                .collect();
        } else {
            return vec![segments];
        }
    }
}

/// The module a path names: its longest prefix that is a module of the crate.
fn module_named(path: &[String], modules: &BTreeMap<String, PathBuf>) -> String {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|prefix| modules.contains_key(prefix))
        .unwrap_or_default()
}

fn is_ancestor(ancestor: &str, of: &str) -> bool {
    ancestor.is_empty() || of == ancestor || of.starts_with(&format!("{ancestor}::"))
}

/// Each module's uses of the crate's other modules, its ancestors left out.
fn imports(modules: &BTreeMap<String, PathBuf>) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges = BTreeMap::new();
    for (module, file) in modules {
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        let mut used: BTreeSet<String> = named_paths(module, &code)
            .iter()
            .map(|path| module_named(path, modules))
            .collect();
        // Its own children, named without `self::`.
        for child in declared_children(&code) {
            let named = code
                .match_indices(&format!("{child}::"))
                .any(|(at, _)| !code[..at].ends_with(|c: char| is_ident(c) || c == ':'));
            if named {
                used.insert(join(module, &child));
            }
        }
        used.retain(|other| !is_ancestor(other, module));
        edges.insert(module.clone(), used);
    }
    edges
}

/// The circles among `edges`: each strongly connected set of more than one module.
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    let reaches = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut pending = vec![from.clone()];
        while let Some(module) = pending.pop() {
            for next in edges.get(&module).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    pending.push(next.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> = edges
        .keys()
        .map(|module| (module, reaches(module)))
        .collect();
    let mut found: Vec<BTreeSet<String>> = Vec::new();
    for (module, reached) in &reach {
        let circle: BTreeSet<String> = reached
            .iter()
            .filter(|other| reach.get(other).is_some_and(|back| back.contains(*module)))
            .cloned()
            .collect();
        if circle.len() > 1 && !found.contains(&circle) {
            found.push(circle);
        }
    }
    found
}

#[test]
fn no_crate_has_modules_in_a_circle() {
    let mut all = Vec::new();
    for name in CRATES {
        let src = workspace().join("crates").join(name).join("src");
        let root = ["lib.rs", "main.rs"]
            .map(|file| src.join(file))
            .into_iter()
            .find(|file| file.is_file())
            .unwrap();
        let edges = imports(&modules(&root));
        for circle in circles(&edges) {
            let ties: Vec<String> = circle
                .iter()
                .flat_map(|from| {
                    let to = edges[from].iter().filter(|to| circle.contains(*to));
                    to.map(move |to| format!("{from} -> {to}"))
                })
                .collect();
            all.push(format!("{name}: {}", ties.join(", ")));
        }
    }
    assert!(all.is_empty(), "modules in a circle:\n{}", all.join("\n"));
}

#[test]
fn the_check_sees_a_circle_and_reads_paths_as_the_compiler_does() {
    let code = "use crate::a::{b::C, d};\nuse super::super::e::F;\nself::g::h();\n";
    let mut paths = named_paths("x::y::z", code);
    paths.sort();
    let expected: Vec<Vec<&str>> = vec![
        vec!["a", "b"],
        vec!["a", "d"],
        vec!["x", "e", "F"],
        vec!["x", "y", "z", "g", "h"],
    ];
    assert_eq!(paths, expected);
    let edges: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(from, to)| (from.to_owned(), to.into_iter().map(str::to_owned).collect()))
    .collect();
    let expected: BTreeSet<String> = ["a", "b", "c"].map(str::to_owned).into();
    assert_eq!(circles(&edges), vec![expected]);
    assert_eq!(
        code_of("use a;\n// crate::x\n#[cfg(test)]\nmod tests {\nuse crate::y;\n}"),
        "use a;\n"
    );
}
