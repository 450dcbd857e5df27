//! `cargo grade new NN-name [--kind server|library]`: a new exercise with
//! every part in place (stub, reference, suite with real checks, metadata,
//! variants, chapter), so that `cargo grade check` passes for it right away.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::catalog::{Kind, Kit};

/// A template file: where it goes and its text, both with `{{id}}`,
/// `{{topic}}`, `{{crate}}` and `{{title}}` to fill in.
type Template = (&'static str, &'static str);

/// A server exercise: a binary the suite starts and talks to over TCP.
const SERVER: &[Template] = &[
    ("exercises/{{id}}/Cargo.toml", include_str!("../templates/server/exercise.Cargo.toml.tmpl")),
    ("exercises/{{id}}/src/main.rs", include_str!("../templates/server/stub.main.rs.tmpl")),
    ("solutions/{{id}}/Cargo.toml", include_str!("../templates/server/solution.Cargo.toml.tmpl")),
    ("solutions/{{id}}/src/main.rs", include_str!("../templates/server/solution.main.rs.tmpl")),
    ("grader/suites/{{id}}/Cargo.toml", include_str!("../templates/server/suite.Cargo.toml.tmpl")),
    ("grader/suites/{{id}}/src/main.rs", include_str!("../templates/server/suite.main.rs.tmpl")),
    ("grader/suites/{{id}}/exercise.toml", include_str!("../templates/server/exercise.toml.tmpl")),
    ("grader/suites/{{id}}/variants.toml", include_str!("../templates/server/variants.toml.tmpl")),
    ("grader/suites/{{id}}/mutants.toml", include_str!("../templates/server/mutants.toml.tmpl")),
    ("docs/src/{{id}}.md", include_str!("../templates/server/chapter.md.tmpl")),
];

/// A library exercise: a crate linked into a host program (a path
/// dependency the grader points at the subject) that the suite drives
/// through the crate's public API, from a process of its own.
const LIBRARY: &[Template] = &[
    ("exercises/{{id}}/Cargo.toml", include_str!("../templates/library/exercise.Cargo.toml.tmpl")),
    ("exercises/{{id}}/src/lib.rs", include_str!("../templates/library/stub.lib.rs.tmpl")),
    ("solutions/{{id}}/Cargo.toml", include_str!("../templates/library/solution.Cargo.toml.tmpl")),
    ("solutions/{{id}}/src/lib.rs", include_str!("../templates/library/solution.lib.rs.tmpl")),
    ("grader/suites/{{id}}/Cargo.toml", include_str!("../templates/library/suite.Cargo.toml.tmpl")),
    ("grader/suites/{{id}}/src/main.rs", include_str!("../templates/library/suite.main.rs.tmpl")),
    ("grader/suites/{{id}}/src/subject.rs", include_str!("../templates/library/suite.subject.rs.tmpl")),
    ("grader/suites/{{id}}/host/Cargo.toml", include_str!("../templates/library/host.Cargo.toml.tmpl")),
    ("grader/suites/{{id}}/host/src/main.rs", include_str!("../templates/library/host.main.rs.tmpl")),
    ("grader/suites/{{id}}/exercise.toml", include_str!("../templates/library/exercise.toml.tmpl")),
    ("grader/suites/{{id}}/variants.toml", include_str!("../templates/library/variants.toml.tmpl")),
    ("docs/src/{{id}}.md", include_str!("../templates/library/chapter.md.tmpl")),
];

fn templates(kind: Kind) -> &'static [Template] {
    match kind {
        Kind::Server => SERVER,
        Kind::Library => LIBRARY,
    }
}

pub struct Created {
    pub files: Vec<PathBuf>,
}

/// Validate everything first, then write; on a failure half-way, remove what
/// was written. A bad name or an existing exercise writes nothing.
pub fn new_exercise(kit: &Kit, id: &str, title: Option<&str>, kind: Kind) -> Result<Created> {
    let (number, topic) = parse_id(id)?;
    if let Some(e) = kit.exercises.iter().find(|e| e.id.split_once('-').map(|(n, _)| n) == Some(number)) {
        bail!("exercise number {number} is taken by {}; pick the next free number", e.id);
    }
    if let Some(e) = kit.exercises.iter().find(|e| e.package == topic) {
        bail!("the name `{topic}` is taken by {}; pick another name", e.id);
    }
    let title = title.map(str::to_string).unwrap_or_else(|| default_title(topic));
    if title.contains(['"', '\\', '\n']) {
        bail!("the title may not contain quotes, backslashes or line breaks");
    }
    let files: Vec<(PathBuf, String)> = templates(kind)
        .iter()
        .map(|(path, text)| (kit.root.join(fill(path, id, topic, &title)), fill(text, id, topic, &title)))
        .collect();
    for (path, _) in &files {
        if path.exists() {
            bail!("{} already exists; nothing was written", path.display());
        }
    }
    let summary = kit.root.join("docs/src/SUMMARY.md");
    let toc = std::fs::read_to_string(&summary).with_context(|| format!("cannot read {}", summary.display()))?;

    let mut written: Vec<PathBuf> = Vec::new();
    let result = (|| -> Result<()> {
        for (path, text) in &files {
            std::fs::create_dir_all(path.parent().expect("has a parent"))?;
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
            written.push(path.clone());
        }
        std::fs::write(&summary, add_to_toc(&toc, id, &title))?;
        Ok(())
    })();
    if let Err(e) = result {
        for p in written.iter().rev() {
            let _ = std::fs::remove_file(p);
        }
        for dir in ["exercises", "solutions", "grader/suites"] {
            let _ = std::fs::remove_dir_all(kit.root.join(dir).join(id));
        }
        let _ = std::fs::write(&summary, &toc);
        return Err(e);
    }
    Ok(Created { files: written.into_iter().map(|p| rel(&kit.root, &p)).collect() })
}

fn rel(root: &Path, p: &Path) -> PathBuf {
    p.strip_prefix(root).map(Path::to_path_buf).unwrap_or_else(|_| p.to_path_buf())
}

/// `06-demo` -> ("06", "demo"): two digits, a dash, a lowercase name.
pub fn parse_id(id: &str) -> Result<(&str, &str)> {
    let usage = || {
        format!("`{id}` is not an exercise name: use two digits, a dash and a lowercase name, like `06-cache` or `07-rate-limit`")
    };
    let Some((number, topic)) = id.split_once('-') else { bail!(usage()) };
    let number_ok = number.len() == 2 && number.bytes().all(|b| b.is_ascii_digit()) && number != "00";
    let topic_ok = topic.starts_with(|c: char| c.is_ascii_lowercase())
        && topic.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !topic.ends_with('-')
        && !topic.contains("--");
    if !number_ok || !topic_ok {
        bail!(usage());
    }
    Ok((number, topic))
}

fn default_title(topic: &str) -> String {
    let words = topic.replace('-', " ");
    let mut c = words.chars();
    c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
}

fn fill(template: &str, id: &str, topic: &str, title: &str) -> String {
    // The library's name in Rust code: the package name with `_` for `-`.
    let krate = topic.replace('-', "_");
    template.replace("{{id}}", id).replace("{{topic}}", topic).replace("{{crate}}", &krate).replace("{{title}}", title)
}

/// Insert the chapter after the last exercise chapter (a link to
/// `NN-name.md`, with or without `./`), or at the end.
fn add_to_toc(toc: &str, id: &str, title: &str) -> String {
    let entry = format!("- [{id}: {title}](./{id}.md)");
    let mut lines: Vec<String> = toc.lines().map(str::to_string).collect();
    let is_exercise = |l: &String| {
        let Some((_, target)) = l.split_once("](") else { return false };
        let t = target.trim_start_matches("./").as_bytes();
        t.len() > 3 && t[..2].iter().all(u8::is_ascii_digit) && t[2] == b'-'
    };
    match lines.iter().rposition(is_exercise) {
        Some(i) => lines.insert(i + 1, entry),
        None => lines.push(entry),
    }
    lines.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        assert_eq!(parse_id("06-demo").unwrap(), ("06", "demo"));
        assert_eq!(parse_id("12-rate-limit").unwrap(), ("12", "rate-limit"));
        for bad in
            ["6-demo", "006-demo", "00-demo", "06_demo", "06-Demo", "06-", "06-9lives", "demo", "06-a--b", "06-a-"]
        {
            assert!(parse_id(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn the_chapter_goes_after_the_last_exercise() {
        let toc = "# Summary\n\n- [Intro](./intro.md)\n- [01-bind: Bind](./01-bind.md)\n- [How grading works](./grading.md)\n";
        let out = add_to_toc(toc, "02-demo", "Demo");
        assert_eq!(
            out,
            "# Summary\n\n- [Intro](./intro.md)\n- [01-bind: Bind](./01-bind.md)\n- [02-demo: Demo](./02-demo.md)\n- [How grading works](./grading.md)\n"
        );
        // The book's own style: `- [01 · Title](01-bind.md)`, then an appendix.
        let toc = "- [01 · Bind](01-bind.md)\n\n---\n\n- [Glossary](glossary.md)\n";
        let out = add_to_toc(toc, "02-demo", "Demo");
        assert_eq!(
            out,
            "- [01 · Bind](01-bind.md)\n- [02-demo: Demo](./02-demo.md)\n\n---\n\n- [Glossary](glossary.md)\n"
        );
    }
}
