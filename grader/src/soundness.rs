//! `cargo grade check` and `cargo grade bless`: the kit proving itself.
//!
//! For every exercise: the reference passes every check, the untouched stub
//! scores 0, each known-wrong variant fails the checks it names, the
//! snapshots are what the reference produces today, and the suite declares
//! exactly the checks the metadata lists.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::catalog::{Exercise, Kit, Variant};
use crate::grade::{self, GradeOptions};
use crate::result::{CheckState, Grade, Status};
use crate::stage::{self, Source, SourceFiles};

/// One row of the soundness matrix.
#[derive(Debug, Clone)]
pub struct Row {
    pub what: String,
    pub ok: bool,
    pub detail: String,
}

pub struct Report {
    pub exercise: String,
    pub rows: Vec<Row>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.rows.iter().all(|r| r.ok)
    }
}

/// Which part of the matrix `cargo grade check` runs.
#[derive(Debug, Clone, Default)]
pub struct Matrix {
    /// Grade at most this many variants per exercise, a sample the seed
    /// picks (every variant is graded by some seed; all of them: `None`).
    pub variants: Option<usize>,
    /// Only the variants whose name contains this, and no other row.
    pub variant: Option<String>,
    /// Grade each variant under this many seeds (`seed`, `seed + 1`, …):
    /// a variant's row holds only if its checks catch it under every one.
    pub seeds: u32,
}

impl Matrix {
    fn seeds(&self) -> u32 {
        self.seeds.max(1)
    }
}

pub fn check(kit: &Kit, ex: &Exercise, seed: u64, matrix: &Matrix, progress: &mut dyn FnMut(&str)) -> Result<Report> {
    let run = |source: Source, bless: Option<PathBuf>, progress: &mut dyn FnMut(&str)| -> Result<Grade> {
        grade::grade(
            kit,
            ex,
            &source,
            GradeOptions { seed, color: false, bless, check_timeout: None, only: None, progress },
        )
    };
    if matrix.variant.is_some() {
        let mut rows = Vec::new();
        variant_rows(kit, ex, seed, matrix, &mut rows, progress)?;
        return Ok(Report { exercise: ex.id.clone(), rows });
    }
    let reference = run(Source::Reference, None, progress)?;
    let mut rows = vec![reference_row(&reference)];
    let committed = committed_stub(kit, ex);
    rows.push(given_files_row(ex, committed.clone())?);
    let stub = match committed {
        Some(files) => grade_files(kit, ex, files, seed, progress),
        None => run(Source::Worktree, None, progress),
    }?;
    rows.push(stub_row(&stub));
    variant_rows(kit, ex, seed, matrix, &mut rows, progress)?;
    let scratch = std::env::temp_dir().join(format!("cargo-grade-bless-{}-{}", std::process::id(), ex.id));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    let blessed = run(Source::Reference, Some(scratch.clone()), progress)?;
    let changes = snapshot_changes(&ex.suite_dir.join("snapshots"), &scratch)?;
    let _ = std::fs::remove_dir_all(&scratch);
    rows.push(snapshot_row(ex, &blessed, &changes));
    rows.push(reachable_row(ex, &reference)?);
    Ok(Report { exercise: ex.id.clone(), rows })
}

/// The reference passes every check that can run here; the ones that
/// cannot (a missing browser, nginx) are said, not hidden.
fn reference_row(reference: &Grade) -> Row {
    let failing: Vec<String> = reference
        .checks
        .iter()
        .filter(|c| !matches!(c.state, CheckState::Pass | CheckState::Unavailable))
        .map(|c| format!("{} ({})", c.id, c.outcome.message))
        .collect();
    let unavailable: Vec<&str> =
        reference.checks.iter().filter(|c| c.state == CheckState::Unavailable).map(|c| c.id.as_str()).collect();
    let mut detail = if failing.is_empty() {
        format!("{}/{} checks", reference.passed(), reference.checks.len())
    } else {
        failing.join("; ")
    };
    if let Some(c) = reference.checks.iter().find(|c| c.state == CheckState::Unavailable) {
        detail.push_str(&format!("; NOT RUN here: {} ({})", unavailable.join(", "), c.outcome.message));
    }
    Row { what: "reference passes".into(), ok: failing.is_empty(), detail }
}

/// The stub's given Rust files (those with no `todo!()`) are the
/// reference's, byte for byte: a fix made to one copy only would make the
/// reference pass with code the student never sees.
fn given_files_row(ex: &Exercise, committed: Option<SourceFiles>) -> Result<Row> {
    let stub = match committed {
        Some(files) => files,
        None => stage::read_tree(&ex.dir.join("src"))?,
    };
    let reference = stage::read_tree(&ex.solution_dir.join("src"))?;
    let given: Vec<&PathBuf> = stub
        .iter()
        .filter(|(p, bytes)| {
            p.extension().is_some_and(|e| e == "rs") && !String::from_utf8_lossy(bytes).contains("todo!(")
        })
        .map(|(p, _)| p)
        .collect();
    let differ: Vec<String> =
        given.iter().filter(|p| reference.get(**p) != stub.get(**p)).map(|p| p.display().to_string()).collect();
    Ok(Row {
        what: "given files identical".into(),
        ok: differ.is_empty(),
        detail: if differ.is_empty() {
            format!("{} given files are the reference's", given.len())
        } else {
            format!(
                "the stub and the reference differ in {} (files without todo!() must be the same)",
                differ.join(", ")
            )
        },
    })
}

fn stub_row(stub: &Grade) -> Row {
    Row {
        what: "stub scores 0".into(),
        ok: stub.score == 0 && stub.status != Status::Pass,
        detail: format!(
            "{}/{} ({}; first failing stage {})",
            stub.score,
            stub.max_score,
            stub.status.word(),
            stub.first_failing_stage().map(|s| s.id.as_str()).unwrap_or("none")
        ),
    }
}

/// The variants' rows: each chosen variant graded under each seed.
fn variant_rows(
    kit: &Kit,
    ex: &Exercise,
    seed: u64,
    matrix: &Matrix,
    rows: &mut Vec<Row>,
    progress: &mut dyn FnMut(&str),
) -> Result<()> {
    let chosen = sample(ex, seed, matrix);
    if let (Some(name), true) = (&matrix.variant, chosen.is_empty()) {
        bail!(crate::message::no_such_variant(&ex.id, name, ex.variants.iter().map(|v| v.name.as_str())));
    }
    if chosen.len() < ex.variants.len() && matrix.variant.is_none() {
        rows.push(Row {
            what: "variants sampled".into(),
            ok: true,
            detail: format!(
                "{} of {} graded, picked by the seed; all of them: cargo grade check {}",
                chosen.len(),
                ex.variants.len(),
                ex.id
            ),
        });
    }
    for v in chosen {
        let mut grades = Vec::new();
        for k in 0..u64::from(matrix.seeds()) {
            let seed = seed.wrapping_add(k);
            let source = Source::Variant(v.clone());
            // Measuring one variant: its own checks are all that matter.
            let only = matrix.variant.is_some().then_some(&v.caught_by[..]);
            let opts =
                GradeOptions { seed, color: false, bless: None, check_timeout: None, only, progress: &mut *progress };
            grades.push((seed, grade::grade(kit, ex, &source, opts)?));
        }
        rows.push(variant_rows_merged(v, &grades));
    }
    Ok(())
}

/// The variants this run grades: those the filter names, or a sample of
/// `matrix.variants` the seed picks (in the file's order).
fn sample<'a>(ex: &'a Exercise, seed: u64, matrix: &Matrix) -> Vec<&'a Variant> {
    let named: Vec<&Variant> =
        ex.variants.iter().filter(|v| matrix.variant.as_ref().is_none_or(|n| v.name.contains(n.as_str()))).collect();
    match matrix.variants {
        Some(n) if n < named.len() => {
            // Ordered by a hash of the seed and the name: another seed,
            // another sample, and every variant is in some.
            let key = |v: &Variant| grade_protocol::shared::fnv1a(format!("{seed}/{}/{}", ex.id, v.name).as_bytes());
            let mut order: Vec<usize> = (0..named.len()).collect();
            order.sort_by_key(|&i| key(named[i]));
            let mut picked = order[..n].to_vec();
            picked.sort_unstable();
            picked.into_iter().map(|i| named[i]).collect()
        }
        _ => named,
    }
}

/// One row for a variant graded under one or more seeds: it holds only if
/// it holds under every seed; a miss names the seed to replay.
fn variant_rows_merged(v: &Variant, grades: &[(u64, Grade)]) -> Row {
    let rows: Vec<(u64, Row)> = grades.iter().map(|(s, g)| (*s, variant_row(v, g))).collect();
    if let [(_, only)] = &rows[..] {
        return only.clone();
    }
    let held = rows.iter().filter(|(_, r)| r.ok).count();
    match rows.iter().find(|(_, r)| !r.ok) {
        None => {
            let mut row = rows[0].1.clone();
            row.detail = format!("{} (under {held} of {held} seeds)", row.detail);
            row
        }
        Some((s, miss)) => Row {
            what: miss.what.clone(),
            ok: false,
            detail: format!(
                "held under {held} of {} seeds; under seed {s}: {} (replay: cargo grade check --seed {s} --variant {})",
                rows.len(),
                miss.detail,
                v.name
            ),
        },
    }
}

/// A known-wrong variant fails every check it names (checks that could
/// not run here are said).
fn variant_row(v: &Variant, g: &Grade) -> Row {
    let ids = |state: CheckState| -> Vec<&str> {
        g.checks.iter().filter(|c| c.state == state).map(|c| c.id.as_str()).collect()
    };
    let (failed, not_run) = (ids(CheckState::Fail), ids(CheckState::Unavailable));
    let named = |pick: &dyn Fn(&str) -> bool| -> Vec<&str> {
        v.caught_by.iter().map(String::as_str).filter(|id| pick(id)).collect()
    };
    let missed = named(&|id| !failed.contains(&id) && !not_run.contains(&id));
    let skipped = named(&|id| not_run.contains(&id));
    let caught = named(&|id| failed.contains(&id));
    let ok = missed.is_empty() && !caught.is_empty() && !failed.is_empty();
    let detail = if ok {
        let mut d = format!("{}: caught by {}", v.about, caught.join(", "));
        if !skipped.is_empty() {
            d.push_str(&format!(" (not run here: {})", skipped.join(", ")));
        }
        d
    } else if g.checks.iter().any(|c| c.state == CheckState::Error) {
        format!("could not be graded: {}", g.first_failure().map(|c| c.outcome.message.as_str()).unwrap_or("?"))
    } else {
        format!(
            "NOT caught by {} (failed instead: {})",
            missed.join(", "),
            if failed.is_empty() { "nothing".into() } else { failed.join(", ") }
        )
    };
    Row { what: format!("variant {}", v.name), ok, detail }
}

fn snapshot_row(ex: &Exercise, blessed: &Grade, changes: &[Change]) -> Row {
    Row {
        what: "snapshots current".into(),
        ok: changes.is_empty()
            && !blessed.checks.iter().any(|c| matches!(c.state, CheckState::Fail | CheckState::Error)),
        detail: if changes.is_empty() {
            "the reference reproduces every snapshot".into()
        } else {
            format!("{} (run `cargo grade bless {}`)", describe(changes), ex.id)
        },
    }
}

/// The suite declares exactly the checks the metadata lists.
fn reachable_row(ex: &Exercise, reference: &Grade) -> Result<Row> {
    let listed = match &reference.suite {
        Some(suite) => list_checks(suite)?,
        None => Vec::new(),
    };
    let declared: Vec<String> = ex.meta.checks.iter().map(|c| c.id.clone()).collect();
    let undeclared: Vec<&String> = listed.iter().filter(|c| !declared.contains(c)).collect();
    let unimplemented: Vec<&String> = declared.iter().filter(|c| !listed.contains(c)).collect();
    Ok(Row {
        what: "checks reachable".into(),
        ok: undeclared.is_empty() && unimplemented.is_empty(),
        detail: if undeclared.is_empty() && unimplemented.is_empty() {
            format!("{} declared, {} in the suite", declared.len(), listed.len())
        } else {
            format!("in exercise.toml but not the suite: {unimplemented:?}; in the suite but not exercise.toml: {undeclared:?}")
        },
    })
}

fn grade_files(
    kit: &Kit,
    ex: &Exercise,
    files: SourceFiles,
    seed: u64,
    progress: &mut dyn FnMut(&str),
) -> Result<Grade> {
    // Write the committed stub to a scratch checkout and grade it as a submission.
    let root = std::env::temp_dir().join(format!("cargo-grade-stub-{}-{}", std::process::id(), ex.id));
    let src = root.join("exercises").join(&ex.id).join("src");
    let _ = std::fs::remove_dir_all(&root);
    for (p, bytes) in &files {
        let path = src.join(p);
        std::fs::create_dir_all(path.parent().expect("parent"))?;
        std::fs::write(path, bytes)?;
    }
    let g = grade::grade(
        kit,
        ex,
        &Source::Submission(root.clone()),
        GradeOptions { seed, color: false, bless: None, check_timeout: None, only: None, progress },
    );
    let _ = std::fs::remove_dir_all(&root);
    g
}

/// The stub as committed (so a student's solved copy is not mistaken for
/// the stub); `None` outside git or for an exercise not yet committed.
pub(crate) fn committed_stub(kit: &Kit, ex: &Exercise) -> Option<SourceFiles> {
    let rel = ex.dir.join("src");
    let rel = rel.strip_prefix(&kit.root).ok()?.to_string_lossy().into_owned();
    let out = Command::new("git")
        .current_dir(&kit.root)
        .args(["ls-tree", "-r", "--name-only", "HEAD", "--", &rel])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let names = String::from_utf8_lossy(&out.stdout).into_owned();
    if names.trim().is_empty() {
        return None;
    }
    let mut files = SourceFiles::new();
    for name in names.lines() {
        let blob = Command::new("git").current_dir(&kit.root).args(["show", &format!("HEAD:{name}")]).output().ok()?;
        if !blob.status.success() {
            return None;
        }
        files.insert(PathBuf::from(name.strip_prefix(&format!("{rel}/"))?), blob.stdout);
    }
    Some(files)
}

/// The suite's own list of checks (`--list`).
fn list_checks(suite: &Path) -> Result<Vec<String>> {
    let out = Command::new(suite).arg("--list").output().with_context(|| crate::message::cannot_list_checks(suite))?;
    if !out.status.success() {
        bail!(crate::message::list_failed(suite, &String::from_utf8_lossy(&out.stderr)));
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

#[derive(Debug)]
pub enum Change {
    Added(String),
    Changed(String),
    Removed(String),
}

fn describe(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| match c {
            Change::Added(n) => format!("{n} is new"),
            Change::Changed(n) => format!("{n} changed"),
            Change::Removed(n) => format!("{n} is no longer produced"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Compare the kit's snapshots with freshly recorded ones, by content (the
/// part after insta's metadata header).
pub fn snapshot_changes(kit_dir: &Path, fresh_dir: &Path) -> Result<Vec<Change>> {
    let read = |d: &Path| -> Result<BTreeMap<String, String>> {
        let mut m = BTreeMap::new();
        if d.is_dir() {
            for (p, bytes) in stage::read_tree(d)? {
                let name = p.to_string_lossy().into_owned();
                if name.ends_with(".snap") {
                    m.insert(name, body(&String::from_utf8_lossy(&bytes)));
                }
            }
        }
        Ok(m)
    };
    let old = read(kit_dir)?;
    let new = read(fresh_dir)?;
    let mut changes = Vec::new();
    for (name, body) in &new {
        match old.get(name) {
            None => changes.push(Change::Added(name.clone())),
            Some(b) if b != body => changes.push(Change::Changed(name.clone())),
            _ => {}
        }
    }
    for name in old.keys() {
        if !new.contains_key(name) {
            changes.push(Change::Removed(name.clone()));
        }
    }
    Ok(changes)
}

/// insta records the path of the code that wrote a snapshot, which for a
/// staged build is machine-specific; name the suite instead.
fn stable_header(snap: &str, ex: &Exercise) -> String {
    snap.lines()
        .map(|l| {
            if l.starts_with("source:") {
                format!("source: grader/suites/{}/src/main.rs", ex.id)
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn body(snap: &str) -> String {
    // insta: "---\n<yaml>\n---\n<contents>"
    let mut parts = snap.splitn(3, "---\n");
    let (_, _, rest) = (parts.next(), parts.next(), parts.next());
    rest.unwrap_or(snap).trim_end().to_string()
}

/// Re-record the snapshots of `ex` from the reference; returns what changed.
pub fn bless(kit: &Kit, ex: &Exercise, seed: u64, progress: &mut dyn FnMut(&str)) -> Result<(Grade, Vec<Change>)> {
    let scratch = std::env::temp_dir().join(format!("cargo-grade-bless-{}-{}", std::process::id(), ex.id));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    let g = grade::grade(
        kit,
        ex,
        &Source::Reference,
        GradeOptions { seed, color: false, bless: Some(scratch.clone()), check_timeout: None, only: None, progress },
    )?;
    if g.checks.iter().any(|c| matches!(c.state, CheckState::Fail | CheckState::Error | CheckState::Skipped)) {
        let _ = std::fs::remove_dir_all(&scratch);
        return Ok((g, Vec::new()));
    }
    let dir = ex.suite_dir.join("snapshots");
    let changes = snapshot_changes(&dir, &scratch)?;
    std::fs::create_dir_all(&dir)?;
    for c in &changes {
        match c {
            Change::Added(n) | Change::Changed(n) => {
                let text = std::fs::read_to_string(scratch.join(n))?;
                std::fs::write(dir.join(n), stable_header(&text, ex))?;
            }
            Change::Removed(n) => std::fs::remove_file(dir.join(n))?,
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok((g, changes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_file_edited_in_one_copy_only_is_a_hole() {
        let dir = tempfile::tempdir().unwrap();
        let (stub, solution) = (dir.path().join("ex"), dir.path().join("sol"));
        for (root, lib) in [(&stub, "pub fn f() -> u8 { todo!() }"), (&solution, "pub fn f() -> u8 { 1 }")] {
            std::fs::create_dir_all(root.join("src")).unwrap();
            std::fs::write(root.join("src/lib.rs"), lib).unwrap();
            std::fs::write(root.join("src/given.rs"), "pub const A: u8 = 1;\n").unwrap();
            std::fs::write(root.join("src/rules.conf"), "the student's own config").unwrap();
        }
        std::fs::write(solution.join("src/rules.conf"), "the reference's config").unwrap();
        let meta: crate::catalog::Meta =
            toml::from_str("title = \"t\"\nchapter = \"c.md\"\nkind = \"library\"\ncheck_timeout = 1\nrun_timeout = 1\n[[stage]]\nid = \"s\"\ntitle = \"S\"\n[[check]]\nid = \"c\"\nstage = \"s\"\ntitle = \"C\"\n")
                .unwrap();
        let ex = Exercise {
            id: "99-x".into(),
            package: "x".into(),
            dir: stub.clone(),
            solution_dir: solution.clone(),
            suite_dir: dir.path().join("suite"),
            suite_package: "x-suite".into(),
            host_package: None,
            meta,
            variants: Vec::new(),
        };
        let row = given_files_row(&ex, None).unwrap();
        assert!(row.ok, "{}", row.detail);
        std::fs::write(solution.join("src/given.rs"), "pub const A: u8 = 2;\n").unwrap();
        let row = given_files_row(&ex, None).unwrap();
        assert!(!row.ok && row.detail.contains("given.rs"), "{}", row.detail);
    }
}
