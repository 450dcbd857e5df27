//! Instructor commands' output: the soundness matrix and blessing.

use crate::catalog::{self, Kit};
use crate::plan::resolve;
use crate::terminal::Status_;
use crate::{message, report, result, scaffold, soundness};

pub(crate) fn check(
    kit: &Kit,
    only: Option<&str>,
    seed: u64,
    mutants: usize,
    matrix: &soundness::Matrix,
) -> anyhow::Result<u8> {
    let exercises: Vec<&catalog::Exercise> = match only {
        Some(name) => vec![resolve(kit, name)?],
        None => kit.exercises.iter().collect(),
    };
    let mut sound = true;
    println!("checking the kit (seed {seed})");
    if only.is_none() {
        for (id, why) in &kit.broken {
            println!("\n{id}\n  ✗ {:<28} {why}", "metadata readable");
            sound = false;
        }
    }
    for ex in exercises {
        let mut status = Status_::new(&format!("checking {}:", ex.id));
        let mut r = soundness::check(kit, ex, seed, matrix, &mut |k| status.compiling(k))?;
        status.clear();
        if matrix.variant.is_none() {
            r.rows.push(crate::mutants::soundness_row(kit, ex, mutants)?);
        }
        println!("\n{}", r.exercise);
        for row in &r.rows {
            println!("  {} {:<28} {}", if row.ok { "✓" } else { "✗" }, row.what, row.detail);
        }
        sound &= r.ok();
    }
    println!("\n{}", if sound { "the kit is sound" } else { "the kit has holes (✗ above)" });
    Ok(if sound { 0 } else { 1 })
}

pub(crate) fn bless(kit: &Kit, name: &str, seed: u64) -> anyhow::Result<u8> {
    let ex = resolve(kit, name)?;
    let mut status = Status_::new(&format!("blessing {}:", ex.id));
    let (g, changes) = soundness::bless(kit, ex, seed, &mut |k| status.compiling(k))?;
    status.clear();
    if g.checks
        .iter()
        .any(|c| matches!(c.state, result::CheckState::Fail | result::CheckState::Error | result::CheckState::Skipped))
    {
        print!("{}", report::human::render(&g, report::human::Paint(false), &kit.root));
        eprintln!("error: the reference solution of {} does not pass, so nothing was recorded", ex.id);
        return Ok(2);
    }
    if changes.is_empty() {
        println!("{}: every snapshot is current; nothing changed", ex.id);
    }
    for c in &changes {
        match c {
            soundness::Change::Added(n) => println!("  added    {n}"),
            soundness::Change::Changed(n) => println!("  changed  {n}"),
            soundness::Change::Removed(n) => println!("  removed  {n}"),
        }
    }
    Ok(0)
}

pub(crate) fn new(kit: &Kit, name: &str, title: Option<&str>, kind: catalog::Kind) -> anyhow::Result<u8> {
    let created = scaffold::new_exercise(kit, name, title, kind)?;
    let word = match kind {
        catalog::Kind::Server => "server",
        catalog::Kind::Library => "library",
    };
    println!("{}", message::created_exercise(name, word));
    for f in &created.files {
        println!("  {}", f.display());
    }
    println!("  docs/src/SUMMARY.md (chapter listed)");
    println!("\nnext: cargo grade check {name}   (its reference passes, its stub scores 0)");
    Ok(0)
}

/// `cargo grade mutants --list`: the mutants in the student's code, by function.
pub(crate) fn list_mutants(kit: &Kit, names: &[String]) -> anyhow::Result<u8> {
    if let Some(why) = crate::mutants::tool_missing() {
        anyhow::bail!("{why}");
    }
    let exercises = crate::plan::select(kit, names)?;
    for ex in exercises {
        let l = crate::mutants::list(kit, ex)?;
        println!(
            "{}: {} listed, {} in the student's code (* = in the slice `cargo grade check` grades)",
            ex.id,
            l.all,
            l.mutants.len()
        );
        let slice = crate::mutants::slice(&l.mutants, crate::mutants::CHECK_SLICE);
        for (i, m) in l.mutants.iter().enumerate() {
            let mark = if slice.contains(&i) { "*" } else { " " };
            println!("{mark} {:<40} {}", format!("{}:{} {}", m.file, m.line, m.function), m.id());
        }
    }
    Ok(0)
}

/// `cargo grade mutants`: progress on stderr, the report on stdout.
pub(crate) fn mutants(
    kit: &Kit,
    names: &[String],
    opts: &crate::mutants::RunOptions,
    json: bool,
    verbose: bool,
) -> anyhow::Result<u8> {
    if let Some(why) = crate::mutants::tool_missing() {
        anyhow::bail!("{why}");
    }
    let exercises = crate::plan::select(kit, names)?;
    let reports = crate::mutants::run(kit, &exercises, opts, &|line| eprintln!("{line}"))?;
    let ok = reports.iter().all(|r| r.ok());
    let errors = reports.iter().any(|r| r.errors() > 0);
    if json {
        let v = serde_json::json!({ "schema": "grade-mutants/1", "ok": ok, "exercises": reports });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", crate::mutants::render(&reports, verbose));
        println!(
            "\n{}",
            if ok {
                "every mutant is caught or listed as equivalent"
            } else {
                "some mutants survive that mutants.toml does not list (SURVIVED / STALE above)"
            }
        );
    }
    Ok(if !ok {
        1
    } else if errors {
        2
    } else {
        0
    })
}
