//! The repository stands alone: every reference to one of its documents names a file that exists
//! and an anchor that exists in it, and nothing cites a document kept outside the repository.
//!
//! Searched: `.rs`, `.md`, `.toml`, `.py`, `.sh`, `.yaml` and `.yml` files of the workspace, not
//! `target/`, `.git/`, fuzz corpora and seeds.
//!
//! * A path ending in `.md`, then `#` and an anchor, written as plain text (code comments, prose)
//!   is relative to the workspace root: the file must exist and define the anchor.
//! * In Markdown, every relative link target (`[text](target)`) is relative to the linking file:
//!   it must exist, and its `#anchor`, if any, must be defined in the Markdown file it names.
//! * A Markdown file defines an anchor with `id="anchor"` (e.g. `<a id="anchor"></a>`) or with a
//!   heading whose GitHub slug is the anchor: lower case, punctuation other than `-` and `_`
//!   dropped, spaces turned into `-`, and `-1`, `-2`, ... appended to repeated headings.
//! * No line cites a section of an outside document (the section sign after the word "spec" or
//!   "contract") or names the outside folder or its files.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

pub const TESTS: &[(&str, fn())] = &[
    ("citations::document_links_resolve_inside_the_repository", links_resolve),
    ("citations::nothing_cites_documents_outside_the_repository", no_outside_citations),
];

/// Extensions of the files searched.
const EXTENSIONS: &[&str] = &["rs", "md", "toml", "py", "sh", "yaml", "yml"];

/// Folders never entered: build output, git, fuzz corpora and seeds, installed packages.
const SKIP_DIRS: &[&str] = &["target", ".git", "corpus", "artifacts", "seeds", "node_modules", ".venv"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_path_buf()
}

/// Every searched file: its path relative to the root (with `/`) and its text. Files that are not
/// UTF-8, or vanish while the tree is walked, are skipped.
fn sources(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else { continue };
            let path = entry.path();
            if kind.is_dir() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !SKIP_DIRS.contains(&name.as_str()) {
                    stack.push(path);
                }
                continue;
            }
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !kind.is_file() || !EXTENSIONS.contains(&ext) {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let Ok(rel) = path.strip_prefix(root) else { continue };
            let parts: Vec<String> =
                rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            out.push((parts.join("/"), text));
        }
    }
    assert!(!out.is_empty(), "no files found under {}", root.display());
    out.sort();
    out
}

/// GitHub's anchor for a heading's text.
fn slug(heading: &str) -> String {
    let mut out = String::new();
    for c in heading.trim().chars() {
        if c.is_alphanumeric() || c == '-' || c == '_' {
            out.extend(c.to_lowercase());
        } else if c == ' ' {
            out.push('-');
        }
    }
    out
}

/// The anchors a Markdown file defines: explicit `id="..."` / `name="..."` attributes and the
/// slugs of its headings (fenced code blocks excluded).
fn anchors(text: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    let mut repeats: HashMap<String, usize> = HashMap::new();
    let mut fence: Option<&str> = None;
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            let marker = &t[..3];
            match fence {
                None => fence = Some(marker),
                Some(open) if open == marker => fence = None,
                Some(_) => {}
            }
            continue;
        }
        if fence.is_some() {
            continue;
        }
        for key in ["id=\"", "name=\""] {
            let mut rest = line;
            while let Some(at) = rest.find(key) {
                rest = &rest[at + key.len()..];
                if let Some(end) = rest.find('"') {
                    out.insert(rest[..end].to_string());
                }
            }
        }
        let level = t.len() - t.trim_start_matches('#').len();
        let after = &t[level..];
        if (1..=6).contains(&level) && (after.is_empty() || after.starts_with(' ')) {
            let base = slug(after.trim().trim_end_matches('#'));
            let seen = repeats.entry(base.clone()).or_insert(0);
            let anchor = if *seen == 0 { base } else { format!("{base}-{seen}") };
            *seen += 1;
            out.insert(anchor);
        }
    }
    out
}

/// `base` (a folder relative to the root, `""` for the root) joined with `rel`, `.` and `..`
/// resolved; `None` when the result would leave the repository.
fn normalise(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for p in rel.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

struct Checker {
    root: PathBuf,
    /// Anchors of the Markdown files read so far, by path relative to the root.
    anchors: HashMap<String, HashSet<String>>,
    problems: Vec<String>,
    links: usize,
}

impl Checker {
    /// `target` (relative to the root) must exist; `anchor`, when given for a Markdown file, must
    /// be defined in it.
    fn check(&mut self, at: &str, target: &str, anchor: Option<&str>) {
        self.links += 1;
        let full = self.root.join(target);
        if !full.exists() {
            self.problems.push(format!("{at}: {target}: no such file or folder in the repository"));
            return;
        }
        let Some(anchor) = anchor else { return };
        if !target.ends_with(".md") {
            return;
        }
        if !self.anchors.contains_key(target) {
            let text = std::fs::read_to_string(&full).unwrap_or_default();
            self.anchors.insert(target.to_string(), anchors(&text));
        }
        let defined = self.anchors.get(target).is_some_and(|set| set.contains(anchor));
        if anchor.is_empty() || !defined {
            self.problems.push(format!("{at}: {target}#{anchor}: {target} has no such anchor"));
        }
    }
}

fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-')
}

fn is_anchor_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')
}

/// Markdown links `[text](target)` whose target is not a URL: relative to the linking file
/// (`rel`, in `folder`); a bare `#anchor` names the linking file itself.
fn markdown_links(c: &mut Checker, at: &str, rel: &str, folder: &str, line: &str) {
    let mut from = 0;
    while let Some(found) = line[from..].find("](") {
        let start = from + found + 2;
        from = start;
        let rest = &line[start..];
        let end = rest.find(|ch: char| ch == ')' || ch.is_whitespace()).unwrap_or(rest.len());
        let target = &rest[..end];
        if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (file, anchor) = match target.split_once('#') {
            Some((f, a)) => (f, Some(a)),
            None => (target, None),
        };
        if file.is_empty() {
            c.check(at, rel, anchor);
            continue;
        }
        match normalise(folder, file) {
            Some(path) => c.check(at, &path, anchor),
            None => c.problems.push(format!("{at}: {target}: leaves the repository")),
        }
    }
}

/// A path ending in `.md`, then `#` and an anchor, written as plain text: relative to the root.
/// URLs are skipped, and so are Markdown link targets (checked by [`markdown_links`]).
fn root_relative_links(c: &mut Checker, at: &str, markdown: bool, line: &str) {
    let bytes = line.as_bytes();
    let mut from = 0;
    while let Some(found) = line[from..].find(".md#") {
        let dot = from + found;
        from = dot + 1;
        let mut start = dot;
        while start > 0 && is_path_byte(bytes[start - 1]) {
            start -= 1;
        }
        // No file name, or a protocol-relative URL.
        if start == dot || line[start..dot].starts_with("//") {
            continue;
        }
        // A URL (`https://host/...`).
        if start > 0 && bytes[start - 1] == b':' {
            continue;
        }
        if markdown && bytes[..start].ends_with(b"](") {
            continue;
        }
        let mut end = dot + 4;
        while end < bytes.len() && is_anchor_byte(bytes[end]) {
            end += 1;
        }
        let stem = &line[start..dot];
        let file = format!("{stem}.md");
        let anchor = &line[dot + 4..end];
        match normalise("", &file) {
            Some(path) => c.check(at, &path, Some(anchor)),
            None => c.problems.push(format!("{at}: {file}: leaves the repository")),
        }
    }
}

fn links_resolve() {
    let root = workspace_root();
    let mut c = Checker { root: root.clone(), anchors: HashMap::new(), problems: Vec::new(), links: 0 };
    for (rel, text) in sources(&root) {
        let markdown = rel.ends_with(".md");
        let folder = rel.rsplit_once('/').map(|(f, _)| f).unwrap_or("");
        for (i, line) in text.lines().enumerate() {
            let at = format!("{rel}:{}", i + 1);
            if markdown {
                markdown_links(&mut c, &at, &rel, folder, line);
            }
            root_relative_links(&mut c, &at, markdown, line);
        }
    }
    assert!(c.links > 0, "no document links found: the search itself is broken");
    assert!(
        c.problems.is_empty(),
        "{} reference(s) to a missing file or anchor:\n{}",
        c.problems.len(),
        c.problems.join("\n")
    );
}

fn no_outside_citations() {
    let section = '\u{a7}';
    let needles = [
        format!("spec {section}"),
        format!("contract {section}"),
        ["..", "shared"].join("/"),
        ["oss-img", "md"].join("."),
        ["contract", "md"].join("."),
    ];
    let mut problems = Vec::new();
    for (rel, text) in sources(&workspace_root()) {
        for (i, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            for needle in &needles {
                if lower.contains(needle.as_str()) {
                    problems.push(format!(
                        "{rel}:{}: cites a document outside the repository ({needle:?}): {}",
                        i + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} citation(s) of documents outside the repository; point them at docs/ instead:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
