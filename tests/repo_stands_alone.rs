//! The repository stands alone: nothing in it points at design notes that live outside it, and
//! every citation of a section of a doc under `docs/` (`§N` after the doc's path) names a
//! section that exists.
//!
//! The threat model and the standards facts are `docs/threats.md` and `docs/standards.md`;
//! their headings are `## §N Title` and `### §N.M Title`, and code cites them by that number.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// What is scanned, relative to the crate root: directories are walked, files read.
const SCANNED: &[&str] = &[
    "src",
    "tests",
    "tools",
    "docs",
    "schemas",
    "benches",
    "examples",
    "fuzz",
    "migrations",
    ".ci",
    "README.md",
    "ARCHITECTURE.md",
    "Cargo.toml",
];

/// Directories never scanned: build output and cargo-fuzz's generated data.
const SKIPPED_DIRS: &[&str] = &["target", "corpus", "artifacts", "coverage"];

/// Test fixtures that are documents or key material, not text anybody reads.
const BINARY_EXTENSIONS: &[&str] = &[
    "pdf", "ofd", "esl", "dat", "der", "png", "jpg", "ttf", "otf",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn walk(path: &Path, out: &mut Vec<PathBuf>) {
    let Ok(meta) = fs::metadata(path) else {
        return;
    };
    if meta.is_file() {
        out.push(path.to_owned());
        return;
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if SKIPPED_DIRS.contains(&name) {
        return;
    }
    let mut entries: Vec<PathBuf> = fs::read_dir(path)
        .expect("read_dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for e in entries {
        walk(&e, out);
    }
}

/// Every scanned text file, with its path relative to the crate root.
fn text_files() -> Vec<(String, String)> {
    let root = root();
    let mut paths = Vec::new();
    for p in SCANNED {
        walk(&root.join(p), &mut paths);
    }
    paths
        .into_iter()
        .filter(|p| {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            !BINARY_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
        })
        .filter_map(|p| {
            let text = String::from_utf8(fs::read(&p).ok()?).ok()?;
            let rel = p.strip_prefix(&root).expect("under root");
            Some((rel.to_string_lossy().replace('\\', "/"), text))
        })
        .collect()
}

/// The names of the design notes kept outside the repository, and the paths to them. Built from
/// pieces so that this file does not match itself.
fn outside_references() -> Vec<String> {
    let mut needles = Vec::new();
    for name in ["THREATS", "STANDARDS", "DEPENDENCIES"] {
        needles.push(format!("{name}.md"));
        needles.push(format!("{name} \u{a7}"));
    }
    needles.push(format!("../{}", "shared"));
    needles.push(format!("/work/{}", "shared"));
    needles
}

#[test]
fn nothing_points_outside_the_repository() {
    let files = text_files();
    assert!(
        files.iter().any(|(p, _)| p == "src/lib.rs") && files.iter().any(|(p, _)| p == "README.md"),
        "the walk found the sources"
    );
    let needles = outside_references();
    let mut found = Vec::new();
    for (path, text) in &files {
        for (n, line) in text.lines().enumerate() {
            for needle in &needles {
                if line.contains(needle.as_str()) {
                    found.push(format!("{path}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "cite docs/threats.md or docs/standards.md instead:\n{}",
        found.join("\n")
    );
}

/// The section numbers of a numbered doc (`## §1 …` → "1", `### §1.2 …` → "1.2"), after
/// checking that its headings follow the one format: every `##` heading is `§N`, every `###`
/// heading under it `§N.M` with the same N, numbers ascending and unique. `None` for a doc whose
/// headings carry no numbers (such a doc can be linked, not cited by section).
fn sections(doc: &str, text: &str) -> Option<BTreeSet<String>> {
    let mut ids = BTreeSet::new();
    let mut current: Option<u32> = None;
    let mut last_sub = 0u32;
    let mut in_code = false;
    for line in text.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        }
        if in_code {
            continue;
        }
        let (level, rest) = if let Some(r) = line.strip_prefix("### ") {
            (3, r)
        } else if let Some(r) = line.strip_prefix("## ") {
            (2, r)
        } else {
            continue;
        };
        let Some(id) = rest
            .strip_prefix('\u{a7}')
            .and_then(|r| r.split_whitespace().next())
        else {
            assert!(
                ids.is_empty(),
                "{doc}: heading {line:?} has no section number"
            );
            return None;
        };
        let parts: Vec<u32> = id
            .split('.')
            .map(|p| {
                p.parse()
                    .unwrap_or_else(|_| panic!("{doc}: bad section number in {line:?}"))
            })
            .collect();
        match (level, parts.as_slice()) {
            (2, [n]) => {
                assert_eq!(
                    *n,
                    current.map_or(1, |c| c + 1),
                    "{doc}: {line:?} out of order"
                );
                current = Some(*n);
                last_sub = 0;
            }
            (3, [n, m]) => {
                assert_eq!(Some(*n), current, "{doc}: {line:?} is not under § {n}");
                assert_eq!(*m, last_sub + 1, "{doc}: {line:?} out of order");
                last_sub = *m;
            }
            _ => panic!("{doc}: {line:?}: `## §N` or `### §N.M` expected"),
        }
        assert!(ids.insert(id.to_owned()), "{doc}: {id} twice");
    }
    Some(ids)
}

/// Every mention of a doc under `docs/`, with the section it cites if one follows (whitespace and
/// comment markers between the two are allowed, as a citation may wrap onto the next line).
fn citations(text: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("docs/") {
        rest = &rest[at + "docs/".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        let Some(after) = rest[name.len()..].strip_prefix(".md") else {
            continue;
        };
        let after = after.trim_start_matches(|c: char| c.is_whitespace() || "/!#*".contains(c));
        // `§` followed by a number; a bare `§N` placeholder in prose cites nothing.
        let section = after
            .strip_prefix('\u{a7}')
            .map(|s| {
                s.chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.')
                    .collect::<String>()
                    .trim_end_matches('.')
                    .to_owned()
            })
            .filter(|s| !s.is_empty());
        out.push((format!("{name}.md"), section));
    }
    out
}

#[test]
fn every_cited_section_exists() {
    let files = text_files();
    let docs: BTreeMap<String, Option<BTreeSet<String>>> = files
        .iter()
        .filter_map(|(p, text)| {
            let name = p.strip_prefix("docs/")?;
            (name.ends_with(".md") && !name.contains('/'))
                .then(|| (name.to_owned(), sections(p, text)))
        })
        .collect();
    for doc in ["threats.md", "standards.md"] {
        assert!(
            docs.get(doc)
                .and_then(Option::as_ref)
                .is_some_and(|s| s.len() >= 6),
            "docs/{doc} exists with numbered sections"
        );
    }
    let mut bad = Vec::new();
    let mut cited = 0;
    for (path, text) in &files {
        for (doc, section) in citations(text) {
            cited += 1;
            match (docs.get(&doc), section) {
                (None, _) => bad.push(format!("{path}: docs/{doc} does not exist")),
                (Some(None), Some(s)) => bad.push(format!(
                    "{path}: docs/{doc} \u{a7}{s}, but its headings carry no section numbers"
                )),
                (Some(Some(ids)), Some(s)) if !ids.contains(&s) => {
                    bad.push(format!("{path}: docs/{doc} has no \u{a7}{s}"))
                }
                _ => {}
            }
        }
    }
    assert!(
        cited > 10,
        "the code cites the docs ({cited} citations found)"
    );
    assert!(bad.is_empty(), "broken citations:\n{}", bad.join("\n"));
}

#[test]
fn citations_are_read_across_line_breaks_and_comment_markers() {
    let text = concat!(
        "see docs/threats.md\n//! \u{a7}1.2, docs/standards.md \u{a7}7. and docs/",
        "x.md \u{a7}N"
    );
    let found = citations(text);
    assert_eq!(
        found,
        [
            ("threats.md".to_owned(), Some("1.2".to_owned())),
            ("standards.md".to_owned(), Some("7".to_owned())),
            ("x.md".to_owned(), None),
        ]
    );
}
