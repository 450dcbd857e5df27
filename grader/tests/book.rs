//! The book in docs/: every exercise has a chapter in SUMMARY.md, every link
//! resolves, and every `cargo grade` command it shows exists.

mod common;
use common::*;

use std::collections::BTreeSet;
use std::path::PathBuf;

fn book() -> PathBuf {
    kit_root().join("docs/src")
}

fn chapters() -> Vec<(PathBuf, String)> {
    let mut out: Vec<(PathBuf, String)> = std::fs::read_dir(book())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect();
    out.sort();
    out
}

/// Markdown link targets `](target)`, outside code.
fn links(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let end = after.find(')').unwrap_or(after.len());
            found.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    found
}

#[test]
fn every_exercise_has_a_chapter_listed_in_the_summary() {
    let summary = std::fs::read_to_string(book().join("SUMMARY.md")).unwrap();
    let listed: BTreeSet<String> =
        links(&summary).into_iter().map(|l| l.trim_start_matches("./").to_string()).collect();
    for entry in std::fs::read_dir(kit_root().join("exercises")).unwrap() {
        let id = entry.unwrap().file_name().to_string_lossy().into_owned();
        let chapter = format!("{id}.md");
        assert!(book().join(&chapter).is_file(), "exercise {id} has no chapter docs/src/{chapter}");
        assert!(listed.contains(&chapter), "docs/src/{chapter} is not listed in SUMMARY.md");
    }
    for chapter in &listed {
        assert!(book().join(chapter).is_file(), "SUMMARY.md lists {chapter}, which does not exist");
    }
}

#[test]
fn every_link_in_the_book_resolves() {
    let mut broken = Vec::new();
    for (path, text) in chapters() {
        for link in links(&text) {
            if link.starts_with("http://") || link.starts_with("https://") || link.starts_with("mailto:") {
                continue;
            }
            let target = link.split('#').next().unwrap_or("");
            if target.is_empty() {
                continue;
            }
            let resolved = path.parent().unwrap().join(target);
            if !resolved.exists() {
                broken.push(format!("{}: {link}", path.file_name().unwrap().to_string_lossy()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links: {broken:#?}");
}

/// `cargo grade ...` as the book shows it, one per occurrence.
fn commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut rest = line;
        while let Some(i) = rest.find("cargo grade") {
            let after = &rest[i + "cargo grade".len()..];
            let end = after.find(['`', '#', '|', ')', '(', '"']).unwrap_or(after.len());
            let cmd = after[..end].trim();
            let cmd = cmd.split("  ").next().unwrap_or("").trim().trim_end_matches(['.', ',', ':', ';']);
            out.push(cmd.to_string());
            rest = &after[end..];
        }
    }
    out
}

fn help_of(sub: Option<&str>) -> String {
    let mut args: Vec<&str> = sub.into_iter().collect();
    args.push("--help");
    let o = cargo_grade(&args);
    assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
    stdout(&o)
}

#[test]
fn every_cargo_grade_command_in_the_book_exists() {
    let subcommands = ["list", "check", "bless", "hint", "new", "watch", "batch"];
    let top_help = help_of(None);
    let mut checked = 0;
    let files: Vec<(PathBuf, String)> = chapters()
        .into_iter()
        .chain([(kit_root().join("README.md"), std::fs::read_to_string(kit_root().join("README.md")).unwrap())])
        .collect();
    for (path, text) in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // An exercise the text creates with `cargo grade new X` may be used after.
        let created: Vec<String> = commands(&text)
            .iter()
            .filter_map(|c| c.strip_prefix("new "))
            .filter_map(|c| c.split_whitespace().next())
            .map(str::to_string)
            .collect();
        for cmd in commands(&text) {
            let words: Vec<&str> = cmd.split_whitespace().collect();
            let (help, rest) = match words.first() {
                Some(w) if subcommands.contains(w) => (help_of(Some(w)), &words[1..]),
                _ => (top_help.clone(), &words[..]),
            };
            for w in rest {
                if w.starts_with("--") {
                    let flag = w.split('=').next().unwrap();
                    assert!(help.contains(flag), "{name}: `cargo grade {cmd}` uses {flag}, which does not exist");
                }
            }
            // The first plain word names an exercise (or a placeholder like NN).
            let target = match words.first() {
                Some(w) if subcommands.contains(w) => rest.iter().find(|w| !w.starts_with('-')).copied(),
                other => other.copied().filter(|w| !w.starts_with('-')),
            };
            if let Some(t) = target {
                let placeholder = t.chars().all(|c| c.is_ascii_uppercase() || "-_.<>[]".contains(c))
                    || t.contains('<')
                    || t.starts_with('.')
                    || t.starts_with('/');
                let is_new = words.first() == Some(&"new") || words.first() == Some(&"batch");
                if !placeholder && !is_new && !created.iter().any(|c| c == t) {
                    let o = cargo_grade(&["hint", t, "--all"]);
                    assert_eq!(
                        code(&o),
                        0,
                        "{name}: `cargo grade {cmd}` names {t}, which is no exercise: {}",
                        stderr(&o)
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} commands found: is the extraction broken?");
}

#[test]
fn the_book_is_an_mdbook() {
    // What mdBook needs: a [book] table whose `src` (default "src") holds
    // SUMMARY.md, and a title.
    let text = std::fs::read_to_string(kit_root().join("docs/book.toml")).unwrap();
    let toml: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("docs/book.toml is not TOML: {e}"));
    let book_table = toml.get("book").and_then(|b| b.as_table()).expect("docs/book.toml has a [book] table");
    assert!(book_table.get("title").and_then(|t| t.as_str()).is_some_and(|t| !t.is_empty()), "the book has a title");
    let src = book_table.get("src").and_then(|s| s.as_str()).unwrap_or("src");
    let summary = kit_root().join("docs").join(src).join("SUMMARY.md");
    let text = std::fs::read_to_string(&summary).unwrap_or_else(|e| panic!("{}: {e}", summary.display()));
    assert!(text.lines().any(|l| l.starts_with("# ")), "SUMMARY.md starts with a title line");
    assert!(text.lines().filter(|l| l.trim_start().starts_with("- [")).count() >= 5, "SUMMARY.md lists the chapters");
}
