//! `cargo grade batch`: many submissions, one after another, in the same
//! staging workspace and target directory, so the dependencies compile once
//! for the whole class. A submission that cannot be graded is an `error`
//! row in the gradebook, never the end of the batch.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::catalog::{Exercise, Kit};
use crate::grade::{self, GradeOptions};
use crate::result::Grade;
use crate::stage::Source;
use crate::{message, report};

pub fn run(
    kit: &Kit,
    submissions: &[PathBuf],
    names: &[String],
    out: &Path,
    seed: u64,
    check_timeout: Option<u64>,
) -> Result<u8> {
    let exercises: Vec<&Exercise> = if names.is_empty() {
        kit.exercises.iter().collect()
    } else {
        names.iter().map(|n| crate::plan::resolve(kit, n)).collect::<Result<_>>()?
    };
    std::fs::create_dir_all(out).with_context(|| message::cannot_create(out))?;
    let mut csv = String::from("submission,exercise,score,max,status\n");
    let mut used = BTreeSet::new();
    let mut worst = 0;
    for (i, sub) in submissions.iter().enumerate() {
        let name = unique_name(sub, &mut used);
        eprintln!("[{}/{}] {name}", i + 1, submissions.len());
        let mut grades = Vec::new();
        for ex in &exercises {
            let mut compiled: Vec<String> = Vec::new();
            let g = if sub.join("exercises").is_dir() {
                let opts = GradeOptions {
                    seed,
                    color: false,
                    bless: None,
                    check_timeout,
                    only: None,
                    progress: &mut |k| compiled.push(k.to_string()),
                };
                grade::grade(kit, ex, &Source::Submission(sub.clone()), opts)
                    .unwrap_or_else(|e| error_grade(ex, sub, seed, &format!("{e:#}")))
            } else {
                let why = format!("{} is not a checkout of the kit (it has no exercises/ folder)", sub.display());
                error_grade(ex, sub, seed, &why)
            };
            let _ = writeln!(
                csv,
                "{},{},{},{},{}",
                field(&name),
                field(&g.exercise),
                g.score,
                g.max_score,
                g.status.word()
            );
            // What cargo compiled for this submission: after the first one,
            // only the submission's own crate (the dependencies are shared).
            let compiled = if compiled.is_empty() { "nothing".to_string() } else { compiled.join(" ") };
            eprintln!("    {:<10} {}/{} {} (compiled: {compiled})", g.exercise, g.score, g.max_score, g.status.word());
            worst = worst.max(g.status.exit_code());
            grades.push(g);
        }
        std::fs::write(out.join(format!("{name}.json")), report::json::pretty(&report::json::render_many(&grades)))?;
    }
    let book = out.join("gradebook.csv");
    std::fs::write(&book, csv).with_context(|| message::cannot_write(&book))?;
    eprintln!("{}", message::batch_wrote(&book, out));
    Ok(worst.min(1))
}

/// The report of a submission that could not be graded at all.
fn error_grade(ex: &Exercise, sub: &Path, seed: u64, why: &str) -> Grade {
    grade::could_not_grade(ex, sub, seed, why)
}

fn unique_name(sub: &Path, used: &mut BTreeSet<String>) -> String {
    let base: String = sub
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "submission".into())
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' })
        .collect();
    let mut name = base.clone();
    let mut n = 2;
    while !used.insert(name.clone()) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}

/// RFC 4180 quoting.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
