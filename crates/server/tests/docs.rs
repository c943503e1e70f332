//! The docs name files and folders of the repository (`crates/store/src/totals.rs`,
//! `migrations/0013_user_totals.sql`): each must exist, so that a move or a rename that
//! forgets the docs fails here rather than misleads a reader.

use std::path::{Path, PathBuf};

/// Where a path the docs name starts: the repository's top-level folders.
const TOP_LEVEL: &[&str] = &[
    "crates/",
    "migrations/",
    "docs/",
    ".ci/",
    "end2end/",
    "style/",
    "public/",
];

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `code span` of a Markdown text that is a repository path.
fn named_paths(markdown: &str) -> Vec<String> {
    markdown
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| TOP_LEVEL.iter().any(|top| span.starts_with(top)))
        .filter(|span| !span.contains(|c: char| c.is_whitespace() || "*{}<>…".contains(c)))
        .map(|span| span.split(['#', ':']).next().unwrap_or(span).to_owned())
        .collect()
}

/// Every relative link target of a Markdown text (`[text](../crates/app/src/config.rs)`),
/// without its anchor.
fn linked_paths(markdown: &str) -> Vec<String> {
    markdown
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .filter(|target| !target.contains("://") && !target.starts_with(['#', '<']))
        .filter(|target| !target.starts_with("mailto:"))
        .map(|target| target.split('#').next().unwrap_or(target).to_owned())
        .filter(|target| !target.is_empty())
        .collect()
}

#[test]
fn every_path_the_docs_name_exists() {
    let root = repository();
    let mut documents = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        documents.push(entry.unwrap().path());
    }
    let mut missing = Vec::new();
    let mut checked = 0;
    for document in documents
        .iter()
        .filter(|d| d.extension().is_some_and(|e| e == "md"))
    {
        let text = std::fs::read_to_string(document).unwrap();
        for path in named_paths(&text) {
            checked += 1;
            if !root.join(&path).exists() {
                missing.push(format!("{}: {path}", document.display()));
            }
        }
        let folder = document.parent().unwrap();
        for link in linked_paths(&text) {
            checked += 1;
            if !folder.join(&link).exists() {
                missing.push(format!("{}: link {link}", document.display()));
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} paths found: is the reading right?"
    );
    assert!(
        missing.is_empty(),
        "the docs name what is not there:\n{}",
        missing.join("\n")
    );
}

#[test]
fn links_are_read_without_addresses_and_anchors() {
    let text = "[a](../crates/x.rs) [b](https://leptos.dev) [c](api.md#errors) [d](#top)";
    assert_eq!(linked_paths(text), ["../crates/x.rs", "api.md"]);
}

#[test]
fn paths_are_read_from_code_spans_only() {
    let text = "See `crates/store/src/db.rs` and `migrations/`, not crates/x.rs or `a b` \
                or `crates/store/src/figures/*.rs`; `docs/api.md#errors` is docs/api.md.";
    assert_eq!(
        named_paths(text),
        ["crates/store/src/db.rs", "migrations/", "docs/api.md"]
    );
}
