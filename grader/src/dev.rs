//! Instructor commands' output: the soundness matrix and blessing.

use crate::catalog::{self, Kit};
use crate::plan::resolve;
use crate::terminal::Status_;
use crate::{message, report, result, scaffold, soundness};

pub(crate) fn check(kit: &Kit, only: Option<&str>, seed: u64) -> anyhow::Result<u8> {
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
        let r = soundness::check(kit, ex, seed, &mut |k| status.compiling(k))?;
        status.clear();
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
