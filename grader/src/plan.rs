//! Grading a run: which exercises, which source, then each grade in turn
//! (reusing an unchanged verdict, remembering progress) and the report.
//! The command line, watch mode, the instructor commands and batches all
//! come through here; nothing here parses arguments.

use std::io::IsTerminal;

use anyhow::Result;

use crate::catalog::{Exercise, Kit};
use crate::cli::GradingArgs;
use crate::grade::{self, GradeOptions};
use crate::report::Sink;
use crate::result::Grade;
use crate::seed::random_seed;
use crate::stage::{self, Source};
use crate::terminal::{color, Status_};
use crate::{memo, progress};

pub fn resolve<'k>(kit: &'k Kit, name: &str) -> Result<&'k Exercise> {
    kit.resolve(name).map_err(anyhow::Error::msg)
}

/// The named exercises, or every exercise when none is named.
pub fn select<'k>(kit: &'k Kit, names: &[String]) -> Result<Vec<&'k Exercise>> {
    if names.is_empty() {
        return Ok(kit.exercises.iter().collect());
    }
    names.iter().map(|n| resolve(kit, n)).collect()
}

/// What the arguments ask to grade: a submission, the reference, or the
/// student's own folder.
pub fn source(a: &GradingArgs) -> Result<Source> {
    Ok(match (&a.submission, a.reference) {
        (Some(path), _) => {
            if !path.join("exercises").is_dir() {
                anyhow::bail!(crate::message::not_a_checkout(path));
            }
            Source::Submission(path.clone())
        }
        (None, true) => Source::Reference,
        (None, false) => Source::Worktree,
    })
}

/// Grade `names` as `a` says, write the report, and return the exit code.
pub fn grade_many(kit: &Kit, names: &[String], a: &GradingArgs) -> Result<u8> {
    let to_terminal = a.output.is_none() && std::io::stdout().is_terminal();
    let paint = color(a.color, to_terminal) && a.format.is_human();
    let sink = Sink { file: a.output.as_deref(), color: paint, root: &kit.root };
    let mut reporter = a.format.reporter();
    // Nothing to grade (an unknown name, not a checkout) is still reported
    // in the asked format, and said on stderr.
    let (exercises, source) = match select(kit, names).and_then(|e| Ok((e, source(a)?))) {
        Ok(found) => found,
        Err(e) => {
            reporter.could_not_grade(&format!("{e:#}"), &sink)?;
            return Err(e);
        }
    };
    let seed = a.seed.unwrap_or_else(random_seed);
    let mut grades = Vec::new();
    for ex in exercises {
        // A grade that could not be made is still reported, as an error.
        let g = match grade_one(kit, ex, &source, a, seed, paint) {
            Ok(g) => g,
            Err(e) if crate::sandbox::interrupted() => return Err(e),
            Err(e) => grade::could_not_grade(ex, &source.origin(kit, ex), seed, &format!("{e:#}")),
        };
        reporter.graded(&g);
        grades.push(g);
    }
    reporter.finish(&grades, &sink)?;
    Ok(worst(&grades))
}

/// One exercise: the last verdict when nothing changed, else a fresh grade
/// (remembered for next time, and as the student's progress).
fn grade_one(kit: &Kit, ex: &Exercise, source: &Source, a: &GradingArgs, seed: u64, paint: bool) -> Result<Grade> {
    let memo_key = match (source, a.seed, a.fresh) {
        (Source::Worktree, None, false) => memo::key(kit, ex, a.check_timeout),
        _ => None,
    };
    if let Some(g) = memo_key.and_then(|k| memo::load(kit, ex, k)) {
        return Ok(g);
    }
    let mut status = Status_::new(&format!("grading {}:", ex.id));
    let opts = GradeOptions {
        seed,
        color: paint,
        bless: None,
        check_timeout: a.check_timeout,
        only: None,
        progress: &mut |k| status.compiling(k),
    };
    let g = grade::grade(kit, ex, source, opts)?;
    status.clear();
    if let Some(k) = memo_key {
        memo::save(kit, ex, k, &g);
    }
    if matches!(source, Source::Worktree) {
        record_progress(kit, ex, &g);
    }
    Ok(g)
}

fn record_progress(kit: &Kit, ex: &Exercise, g: &Grade) {
    let mut p = progress::Progress::load(&kit.root);
    let fp = stage::read_tree(&ex.dir.join("src")).map(|f| progress::fingerprint(&f)).unwrap_or(0);
    p.record(g, fp);
    if let Err(e) = p.save(&kit.root) {
        eprintln!("{}", crate::message::progress_not_saved(&e));
    }
}

/// The run's exit code: the worst grade's.
pub fn worst(grades: &[Grade]) -> u8 {
    grades.iter().map(|g| g.status.exit_code()).max().unwrap_or(0)
}
