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
    let mut args: Vec<&str> = sub.map(|s| s.split_whitespace().collect()).unwrap_or_default();
    args.push("--help");
    let o = cargo_grade(&args);
    assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
    stdout(&o)
}

#[test]
fn every_cargo_grade_command_in_the_book_exists() {
    let top_help = help_of(None);
    // The subcommands, as `--help` lists them.
    let subcommands: Vec<&str> = top_help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| *w != "help")
        .collect();
    assert!(subcommands.contains(&"check"), "{top_help}");
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
            let (help, rest) = match (words.first(), words.get(1)) {
                // A command with subcommands of its own: `gradebook merge`.
                (Some(w), Some(inner)) if *w == "gradebook" => (help_of(Some(&format!("{w} {inner}"))), &words[2..]),
                (Some(w), _) if subcommands.contains(w) => (help_of(Some(w)), &words[1..]),
                _ => (top_help.clone(), &words[..]),
            };
            for w in rest {
                if w.starts_with("--") {
                    let flag = w.split('=').next().unwrap();
                    assert!(help.contains(flag), "{name}: `cargo grade {cmd}` uses {flag}, which does not exist");
                }
            }
            // The first plain word names an exercise (or a placeholder like NN).
            // Skip flags and the values of flags that take one (`--format json`).
            let takes_value = |flag: &str| help.lines().any(|l| l.contains(&format!("{flag} <")));
            let plain: Vec<&str> = rest
                .iter()
                .enumerate()
                .filter(|(i, w)| !w.starts_with('-') && !(*i > 0 && takes_value(rest[i - 1])))
                .map(|(_, w)| *w)
                .collect();
            let target = match words.first() {
                Some(w) if subcommands.contains(w) => plain.first().copied(),
                other => other.copied().filter(|w| !w.starts_with('-')),
            };
            if let Some(t) = target {
                let placeholder = t.chars().all(|c| c.is_ascii_uppercase() || "-_.<>[]".contains(c))
                    || t.contains('<')
                    || t.starts_with('.')
                    || t.starts_with('/');
                let is_new = ["new", "batch", "gradebook"].iter().any(|c| words.first() == Some(c));
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

/// The headings of a chapter (`# ...` lines outside code), as written.
fn headings(chapter: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(book().join(chapter)).ok()?;
    let mut out = Vec::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence && line.starts_with('#') {
            out.push(line.trim_start_matches('#').trim().to_string());
        }
    }
    Some(out)
}

fn files_under(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The section pointers on one line of an exercise's source, as
/// (chapter, heading). Two forms: a `todo!()` message ends with
/// `(docs/src/NN-name.md, "Heading")`; a comment that names
/// `docs/src/NN-name.md` quotes its headings on the same line
/// (`See "Heading" in docs/src/NN-name.md`).
fn pointers(line: &str) -> Vec<(String, String)> {
    let line = line.replace("\\\"", "\"");
    let mut out = Vec::new();
    let Some(at) = line.find("docs/src/") else { return out };
    let after = &line[at + "docs/src/".len()..];
    let Some(end) = after.find(".md") else { return out };
    let chapter = format!("{}.md", &after[..end]);
    let trimmed = line.trim_start();
    if trimmed.starts_with("//") || trimmed.starts_with('#') {
        let mut quoted = line.split('"').skip(1).step_by(2);
        for h in quoted.by_ref() {
            out.push((chapter.clone(), h.to_string()));
        }
    } else if let Some(rest) = after[end..].strip_prefix(".md, \"") {
        out.push((chapter, rest.split('"').next().unwrap_or("").to_string()));
    }
    out
}

#[test]
fn every_todo_names_a_section_of_the_book_that_exists() {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(kit_root().join("exercises")).unwrap() {
        let src = entry.unwrap().path().join("src");
        if src.is_dir() {
            files_under(&src, &mut files);
        }
    }
    files.sort();
    let (mut problems, mut todos, mut checked) = (Vec::new(), 0, 0);
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        let name = file.strip_prefix(kit_root()).unwrap().display().to_string();
        for (n, line) in text.lines().enumerate() {
            let trimmed = line.trim_start();
            let is_comment = trimmed.starts_with("//") || trimmed.starts_with('#');
            let found = pointers(line);
            if line.contains("todo!(") && !is_comment {
                todos += 1;
                if found.is_empty() {
                    problems.push(format!(
                        "{name}:{}: this todo!() names no section; end its message with (docs/src/NN-name.md, \\\"Heading\\\")",
                        n + 1
                    ));
                }
            }
            for (chapter, heading) in found {
                checked += 1;
                match headings(&chapter) {
                    None => problems.push(format!("{name}:{}: docs/src/{chapter} does not exist", n + 1)),
                    Some(hs) if !hs.contains(&heading) => problems.push(format!(
                        "{name}:{}: docs/src/{chapter} has no heading \"{heading}\" (it has: {hs:?})",
                        n + 1
                    )),
                    Some(_) => {}
                }
            }
        }
    }
    assert!(problems.is_empty(), "broken pointers from the exercises into the book:\n{}", problems.join("\n"));
    assert!(todos >= 30 && checked >= todos, "only {todos} todo!() and {checked} pointers found: is the scan broken?");
}

/// A stage's hints are a ladder (a nudge, the concept, the near-answer), so
/// every stage has at least two; a hint that names a check names one that
/// exists.
#[test]
fn every_stage_has_a_ladder_of_hints_and_hints_name_real_checks() {
    let mut problems = Vec::new();
    let suites = kit_root().join("grader/suites");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&suites).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    for dir in dirs {
        let Ok(text) = std::fs::read_to_string(dir.join("exercise.toml")) else { continue };
        let id = dir.file_name().unwrap().to_string_lossy().into_owned();
        let toml: toml::Table = toml::from_str(&text).unwrap();
        let list = |key: &str| toml.get(key).and_then(|v| v.as_array()).cloned().unwrap_or_default();
        let field = |v: &toml::Value, k: &str| v.get(k).and_then(|s| s.as_str()).unwrap_or("").to_string();
        let stages: Vec<String> = list("stage").iter().map(|s| field(s, "id")).collect();
        let checks: Vec<String> = list("check").iter().map(|c| field(c, "id")).collect();
        let hints: Vec<(String, String)> = list("hint").iter().map(|h| (field(h, "stage"), field(h, "text"))).collect();
        for stage in &stages {
            let n = hints.iter().filter(|(s, _)| s == stage).count();
            if n < 2 {
                problems
                    .push(format!("{id}: stage `{stage}` has {n} hint(s); give it a nudge and the concept at least"));
            }
        }
        for (stage, text) in &hints {
            if !stages.contains(stage) {
                problems.push(format!("{id}: a hint names stage `{stage}`, which does not exist"));
            }
            // Words shaped like a check id: `stage.word` with a known stage.
            for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')) {
                let word = word.trim_end_matches('.');
                if let Some((s, rest)) = word.split_once('.') {
                    if stages.iter().any(|st| st == s) && !rest.is_empty() && !checks.iter().any(|c| c == word) {
                        problems
                            .push(format!("{id}: a hint of `{stage}` names the check {word}, which does not exist"));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
