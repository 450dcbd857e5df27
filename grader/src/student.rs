//! What a student sees besides a grade: the curriculum at a glance and
//! hints, one at a time.

use crate::catalog::{self, Kit};
use crate::plan::resolve;
use crate::result::Status;
use crate::{progress, stage};

pub(crate) fn overview(kit: &Kit) -> u8 {
    let p = progress::Progress::load(&kit.root);
    // A recorded verdict counts only while the sources are the ones graded.
    let states: Vec<(&catalog::Exercise, Option<&progress::Entry>, bool)> = kit
        .exercises
        .iter()
        .map(|e| {
            let entry = p.exercises.get(&e.id);
            let fresh = entry.is_some_and(|x| {
                stage::read_tree(&e.dir.join("src")).map(|f| progress::fingerprint(&f)).unwrap_or(0) == x.source
            });
            (e, entry, fresh)
        })
        .collect();
    let passed =
        |entry: Option<&progress::Entry>, fresh: bool| fresh && entry.is_some_and(|x| x.status == Status::Pass);
    let done = states.iter().filter(|(_, entry, fresh)| passed(*entry, *fresh)).count();
    let total = kit.exercises.len();
    let width = 20;
    let filled = (done * width).checked_div(total).unwrap_or(0);
    println!("Backend from first principles: {done} of {total} exercises done");
    println!("[{}{}]\n", "#".repeat(filled), "-".repeat(width - filled));
    let mut next = None;
    for (e, entry, fresh) in &states {
        let state = match entry {
            Some(_) if !fresh => "edited since the last grade: run cargo grade again".to_string(),
            Some(x) if x.status == Status::Pass => "passed".to_string(),
            Some(x) => format!("failing at stage {} ({}/{})", x.stage.as_deref().unwrap_or("?"), x.score, x.max_score),
            None => "not started".to_string(),
        };
        if next.is_none() && !passed(*entry, *fresh) {
            next = Some(*e);
        }
        println!("  {:<10} {:<48} {state}", e.id, fit(&e.meta.title, 48));
    }
    for (id, why) in &kit.broken {
        println!("  {id:<10} (cannot be graded: {})", why.lines().next().unwrap_or(""));
    }
    match next {
        Some(e) => println!("\nnext: read {} and run `cargo grade {}`", e.chapter_path(), e.id),
        None if total > 0 => println!("\nevery exercise passes. well done."),
        None => {}
    }
    0
}

pub(crate) fn hint(kit: &Kit, name: &str, all: bool) -> anyhow::Result<u8> {
    let ex = resolve(kit, name)?;
    let mut p = progress::Progress::load(&kit.root);
    let passed = p.exercises.get(&ex.id).is_some_and(|e| e.status == Status::Pass);
    if passed && !all {
        println!("{}", crate::message::hint_after_pass(&ex.id));
        return Ok(0);
    }
    // The stage the student is stuck on: the first failing one of the last
    // grade, or the first stage before any grade.
    let stuck = p
        .exercises
        .get(&ex.id)
        .and_then(|e| e.stage.clone())
        .filter(|s| s != crate::result::BUILD_STAGE)
        .or_else(|| ex.meta.stages.first().map(|s| s.id.clone()))
        .unwrap_or_default();
    if all {
        for h in &ex.meta.hints {
            println!("[{}] {}\n", h.stage, h.text);
        }
        return Ok(0);
    }
    let hints: Vec<&catalog::Hint> = ex.meta.hints.iter().filter(|h| h.stage == stuck).collect();
    if hints.is_empty() {
        println!(
            "no hints for stage `{stuck}` of {}; read {} or see every hint with `cargo grade hint {} --all`",
            ex.id,
            ex.chapter_path(),
            ex.id
        );
        return Ok(0);
    }
    let seen = p.hints.entry(ex.id.clone()).or_default().entry(stuck.clone()).or_insert(0);
    let shown = (*seen + 1).min(hints.len());
    *seen = shown;
    println!("{} · stage `{stuck}` · hint {shown} of {}\n", ex.id, hints.len());
    for (i, h) in hints.iter().take(shown).enumerate() {
        let marker = if i + 1 == shown { ">" } else { " " };
        println!("{marker} {}. {}\n", i + 1, h.text);
    }
    if shown < hints.len() {
        println!("run `cargo grade hint {}` again for the next one", ex.id);
    } else {
        println!("that was the last hint for this stage; the chapter {} explains the rest", ex.chapter_path());
    }
    if let Err(e) = p.save(&kit.root) {
        eprintln!("warning: could not remember which hints you saw: {e:#}");
    }
    Ok(0)
}

/// `text` in at most `width` characters (an ellipsis marks a cut), so long
/// titles keep the overview's columns.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    format!("{}…", text.chars().take(width - 1).collect::<String>())
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_titles_keep_the_overview_columns() {
        assert_eq!(super::fit("short", 10), "short");
        let cut = super::fit("a title far longer than the column it has to fit in", 20);
        assert_eq!(cut.chars().count(), 20);
        assert!(cut.ends_with('…'), "{cut}");
    }
}
