//! The pipeline for one exercise: stage the subject, build it, run the
//! suite, and assemble a [`Grade`]. Data flows one way; nothing here prints.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use grade_protocol::Outcome;

use crate::catalog::{Exercise, Kit};
use crate::compile::{self, Options};
use crate::result::{CheckResult, CheckState, Grade, StageResult, Status, Verdict};
use crate::run::{self, RunOptions};
use crate::stage::{self, Source};

/// The synthetic first check: the subject compiles. Worth no points, so an
/// untouched stub that compiles still scores 0.
pub const COMPILE: &str = "compile";
pub const BUILD_STAGE: &str = "build";
/// A synthetic failed check added when the subject modified the kit.
pub const TAMPER: &str = "integrity";

pub struct GradeOptions<'a> {
    pub seed: u64,
    pub color: bool,
    pub bless: Option<PathBuf>,
    pub check_timeout: Option<u64>,
    pub progress: &'a mut dyn FnMut(&str),
}

pub fn grade(kit: &Kit, ex: &Exercise, source: &Source, opts: GradeOptions<'_>) -> Result<Grade> {
    let started = Instant::now();
    let shown_as = source.origin(kit, ex);
    let mut verdicts = Vec::new();

    let files = match source.read(ex) {
        Ok(f) => f,
        Err(e) => {
            verdicts.push(Verdict::new(COMPILE, CheckState::Error, format!("{e:#}")));
            return Ok(assemble(ex, &shown_as, opts.seed, verdicts, started, None));
        }
    };
    let _lock = lock_staging(kit, ex)?;
    trace("read sources", started);
    let staged = stage::prepare(kit, ex, &files)?;
    trace("staged", started);
    let mut suite = None;
    let built =
        compile::build(kit, ex, &staged, Options { color: opts.color, shown_as: &shown_as, progress: opts.progress })?;
    trace("built", started);
    if crate::sandbox::interrupted() {
        anyhow::bail!(crate::message::interrupted());
    }
    match built {
        compile::Outcome::StudentError { summary, diagnostics } => {
            let mut v = Verdict::new(COMPILE, CheckState::Fail, summary);
            v.outcome.output = Some(diagnostics).filter(|d| !d.is_empty());
            verdicts.push(v);
            let why = "not run: the code must compile first".to_string();
            verdicts.extend(ex.meta.checks.iter().map(|c| Verdict::new(&c.id, CheckState::Skipped, why.clone())));
        }
        compile::Outcome::KitError { summary, diagnostics } => {
            let mut v = Verdict::new(COMPILE, CheckState::Error, summary);
            v.outcome.output = Some(diagnostics);
            verdicts.push(v);
        }
        compile::Outcome::Built(b) => {
            verdicts.push(Verdict::new(COMPILE, CheckState::Pass, String::new()));
            let reference = compile::build_reference(kit, ex, opts.progress)?;
            trace("reference built", started);
            // The suite reads a private copy of the snapshots, so a subject
            // that writes into the kit cannot change its own grade; the kit's
            // files are compared afterwards and restored if touched.
            let guard = crate::integrity::Guard::take(ex)?;
            let snapshots = guard.snapshots().to_path_buf();
            let subject_src = staged.ws.join(stage::SUBJECT).join("src");
            let run_opts = RunOptions {
                suite: &b.suite,
                subject: b.subject.as_deref(),
                subject_src: Some(&subject_src),
                reference: reference.as_deref(),
                reference_src: Some(&ex.solution_dir.join("src")),
                seed: opts.seed,
                exercise_dir: &ex.dir,
                snapshots: &snapshots,
                bless: opts.bless.as_deref(),
                check_timeout: opts.check_timeout,
            };
            verdicts.extend(run::run(ex, &run_opts)?);
            suite = Some(b.suite.clone());
            if let Some(touched) = guard.restore_if_changed()? {
                verdicts.push(Verdict::new(TAMPER, CheckState::Fail, crate::message::tampered(&touched)));
            }
        }
    }
    trace("suite ran", started);
    // Panic messages and compiler notes name staged files; show the student's.
    let staged_src = format!("{}/src/", stage::SUBJECT);
    let shown_src = format!("{}/", shown_as.to_string_lossy().trim_end_matches('/'));
    for v in &mut verdicts {
        for text in [&mut v.outcome.output, &mut v.outcome.response].into_iter().flatten() {
            *text = text.replace(&staged_src, &shown_src);
        }
    }
    Ok(assemble(ex, &shown_as, opts.seed, verdicts, started, suite))
}

/// One grade at a time per exercise: the staging folder is shared.
fn lock_staging(kit: &Kit, ex: &Exercise) -> Result<std::fs::File> {
    let dir = kit.target_dir.join("grade").join("ws");
    std::fs::create_dir_all(&dir)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(format!("{}.lock", ex.id)))?;
    file.lock()?;
    Ok(file)
}

fn assemble(
    ex: &Exercise,
    shown_as: &std::path::Path,
    seed: u64,
    mut verdicts: Vec<Verdict>,
    started: Instant,
    suite: Option<PathBuf>,
) -> Grade {
    let mut checks = Vec::new();
    let verdicts = std::cell::RefCell::new(std::mem::take(&mut verdicts));
    let take_if = |id: &str| -> Option<Verdict> {
        let mut v = verdicts.borrow_mut();
        v.iter().position(|x| x.id == id).map(|i| v.remove(i))
    };
    let take = |id: &str| -> Verdict {
        take_if(id).unwrap_or_else(|| Verdict::new(id, CheckState::Error, crate::message::missing_report(id)))
    };
    let compile = take(COMPILE);
    let compile_state = compile.state;
    checks.push(CheckResult {
        id: COMPILE.into(),
        stage: BUILD_STAGE.into(),
        title: "the code compiles".into(),
        state: compile.state,
        points: 0,
        max_points: 0,
        outcome: compile.outcome,
    });
    let tampered = take_if(TAMPER);
    if let Some(t) = &tampered {
        checks.push(CheckResult {
            id: TAMPER.into(),
            stage: BUILD_STAGE.into(),
            title: "the kit's files are left alone".into(),
            state: t.state,
            points: 0,
            max_points: 0,
            outcome: t.outcome.clone(),
        });
    }
    for c in &ex.meta.checks {
        let v = if compile_state == CheckState::Error {
            Verdict {
                id: c.id.clone(),
                state: CheckState::Skipped,
                outcome: Outcome { message: "not run: the build could not be graded".into(), ..Outcome::default() },
            }
        } else {
            take(&c.id)
        };
        let points = if v.state == CheckState::Pass && tampered.is_none() { c.points } else { 0 };
        checks.push(CheckResult {
            id: c.id.clone(),
            stage: c.stage.clone(),
            title: c.title.clone(),
            state: v.state,
            points,
            max_points: c.points,
            outcome: v.outcome,
        });
    }
    let mut stages = vec![StageResult {
        id: BUILD_STAGE.into(),
        title: "Build".into(),
        advice: "Fix the first compiler error shown; later errors often follow from it.".into(),
        state: if tampered.is_some() { CheckState::Fail } else { compile_state },
    }];
    for s in &ex.meta.stages {
        let states: Vec<CheckState> = checks.iter().filter(|c| c.stage == s.id).map(|c| c.state).collect();
        let state = if states.contains(&CheckState::Error) {
            CheckState::Error
        } else if states.contains(&CheckState::Unavailable) {
            CheckState::Unavailable
        } else if states.iter().all(|s| *s == CheckState::Pass) {
            CheckState::Pass
        } else if states.iter().all(|s| *s == CheckState::Skipped) {
            CheckState::Skipped
        } else {
            CheckState::Fail
        };
        stages.push(StageResult { id: s.id.clone(), title: s.title.clone(), advice: s.advice.clone(), state });
    }
    let status = if checks.iter().any(|c| matches!(c.state, CheckState::Error | CheckState::Unavailable)) {
        Status::Error
    } else if checks.iter().all(|c| c.state == CheckState::Pass) {
        Status::Pass
    } else {
        Status::Fail
    };
    Grade {
        exercise: ex.id.clone(),
        title: ex.meta.title.clone(),
        chapter: ex.chapter_path(),
        subject: shown_as.to_string_lossy().into_owned(),
        seed,
        status,
        score: checks.iter().map(|c| c.points).sum(),
        max_score: ex.max_score(),
        duration_ms: started.elapsed().as_millis() as u64,
        stages,
        checks,
        suite,
        reused_from: None,
    }
}

/// `CARGO_GRADE_TRACE=1` prints how long each phase took (for benchmarks).
pub fn trace(what: &str, since: Instant) {
    if std::env::var_os("CARGO_GRADE_TRACE").is_some() {
        eprintln!("[trace] {what}: {} ms", since.elapsed().as_millis());
    }
}
