//! The crate's layers (docs/architecture.md): each top-level module uses only the modules
//! of lower layers, so that there is no import cycle among them and a change to a page
//! never reaches the store. Read from the sources, as a reviewer would.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Lowest first; modules of one rank do not use each other.
const LAYERS: &[(&str, usize)] = &[
    ("model", 0),
    ("store", 1),
    ("config", 2),
    ("error", 2),
    ("state", 3),
    ("app", 4),
    ("server", 5),
];

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The top-level module a file belongs to: `src/store/figures.rs` is in `store`.
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let first = file.strip_prefix(src).ok()?.components().next()?;
    let name = first.as_os_str().to_str()?;
    Some(name.trim_end_matches(".rs").to_owned())
}

/// Every `crate::name` a source text refers to.
fn crate_references(text: &str) -> Vec<String> {
    text.match_indices("crate::")
        .filter(|(at, _)| !text[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
        .map(|(at, _)| {
            text[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn every_module_uses_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rank: BTreeMap<&str, usize> = LAYERS.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    for file in &files {
        let Some(module) = top_module(&src, file) else {
            continue;
        };
        let Some(&own) = rank.get(module.as_str()) else {
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for used in crate_references(&text) {
            match rank.get(used.as_str()) {
                Some(&other) if used != module && other >= own => {
                    wrong.push(format!("{}: {module} uses {used}", file.display()))
                }
                _ => {}
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "layers crossed upwards:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_top_level_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub mod "))
        .map(|name| name.trim_end_matches(';'))
        .collect();
    assert!(declared.len() >= LAYERS.len(), "{declared:?}");
    for name in declared {
        assert!(
            LAYERS.iter().any(|(layer, _)| *layer == name),
            "src/lib.rs declares `{name}`, which no layer holds"
        );
    }
}

#[test]
fn the_check_sees_a_reference_upwards() {
    assert_eq!(
        crate_references("use crate::server::AppState; x_crate::no; crate::model::Money"),
        ["server", "model"]
    );
}
