//! The pipeline for one exercise: stage the subject, build it, run the
//! suite, and assemble a [`Grade`]. Data flows one way; nothing here prints.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;

use crate::catalog::{Exercise, Kit};
use crate::compile::{self, Options};
use crate::result::{CheckKind, CheckResult, CheckState, Grade, StageResult, Status, Verdict};
use crate::run::{self, RunOptions};
use crate::stage::{self, Source};

// The synthetic first check (the subject compiles) is worth no points, so
// an untouched stub that compiles still scores 0; a synthetic failed check
// is added when the subject modified the kit.
pub use crate::result::{BUILD_STAGE, COMPILE, TAMPER};

pub struct GradeOptions<'a> {
    pub seed: u64,
    pub color: bool,
    pub bless: Option<PathBuf>,
    pub check_timeout: Option<u64>,
    /// Run only these checks (`cargo grade check --variant`).
    pub only: Option<&'a [String]>,
    pub progress: &'a mut dyn FnMut(&str),
}

pub fn grade(kit: &Kit, ex: &Exercise, source: &Source, opts: GradeOptions<'_>) -> Result<Grade> {
    let started = Instant::now();
    let shown_as = source.origin(kit, ex);
    let files = match source.read(ex) {
        Ok(f) => f,
        Err(e) => return Ok(could_not_grade(ex, &shown_as, opts.seed, &format!("{e:#}"))),
    };
    if source.is_students() {
        let reads = crate::scan::compile_time_reads(&files);
        if !reads.is_empty() {
            let lines: Vec<String> = reads.iter().map(|r| r.describe(&shown_as)).collect();
            let why = crate::message::compile_time_reads(&lines);
            let verdicts = not_compiled(ex, Verdict::new(COMPILE, CheckState::Fail, why));
            return Ok(assemble(ex, &shown_as, opts.seed, verdicts, started, None));
        }
    }
    let (_lock, slot) = lock_staging(kit, ex)?;
    trace("read sources", started);
    let staged = stage::prepare(kit, ex, &files, slot)?;
    trace("staged", started);
    let built =
        compile::build(kit, ex, &staged, Options { color: opts.color, shown_as: &shown_as, progress: opts.progress })?;
    trace("built", started);
    if crate::sandbox::interrupted() {
        anyhow::bail!(crate::message::interrupted());
    }
    let (mut verdicts, suite) = match built {
        compile::Outcome::StudentError { summary, diagnostics } => {
            let mut v = Verdict::new(COMPILE, CheckState::Fail, summary);
            v.outcome.output = Some(diagnostics).filter(|d| !d.is_empty());
            (not_compiled(ex, v), None)
        }
        compile::Outcome::KitError { summary, diagnostics } => {
            let mut v = Verdict::new(COMPILE, CheckState::Error, summary);
            v.outcome.output = Some(diagnostics);
            (vec![v], None)
        }
        compile::Outcome::Built(b) => (run_built(kit, ex, &staged, &b, &opts, started)?, Some(b.suite.clone())),
    };
    trace("suite ran", started);
    // Panic messages and compiler notes name staged files; show the student's.
    let staged_src = format!("{}{}/src/", stage::member_prefix(staged.slot), stage::SUBJECT);
    let shown_src = format!("{}/", shown_as.to_string_lossy().trim_end_matches('/'));
    for v in &mut verdicts {
        v.outcome.message = v.outcome.message.replace(&staged_src, &shown_src);
        for text in [&mut v.outcome.output, &mut v.outcome.response].into_iter().flatten() {
            *text = text.replace(&staged_src, &shown_src);
        }
    }
    Ok(assemble(ex, &shown_as, opts.seed, verdicts, started, suite))
}

/// The `compile` verdict, and every check not run for want of a build.
fn not_compiled(ex: &Exercise, compile: Verdict) -> Vec<Verdict> {
    let why = "not run: the code must compile first".to_string();
    let mut verdicts = vec![compile];
    verdicts.extend(ex.meta.checks.iter().map(|c| Verdict::new(&c.id, CheckState::Skipped, why.clone())));
    verdicts
}

/// The subject built: run its suite (beside the reference, for server
/// exercises) with the kit guarded.
fn run_built(
    kit: &Kit,
    ex: &Exercise,
    staged: &stage::Staged,
    b: &compile::Built,
    opts: &GradeOptions<'_>,
    started: Instant,
) -> Result<Vec<Verdict>> {
    let mut verdicts = vec![Verdict::new(COMPILE, CheckState::Pass, String::new())];
    let reference = compile::build_reference(kit, ex, &mut |_| {})?;
    trace("reference built", started);
    // The suite reads a private copy of the snapshots, so a subject that
    // writes into the kit cannot change its own grade; the kit's files are
    // compared afterwards and restored if touched.
    let binaries: Vec<&std::path::Path> =
        [Some(b.suite.as_path()), reference.as_deref()].into_iter().flatten().collect();
    let guard = crate::integrity::Guard::take(kit, ex, &binaries)?;
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
        only: opts.only,
    };
    verdicts.extend(run::run(ex, &run_opts)?);
    if let Some(touched) = guard.restore_if_changed()? {
        verdicts.push(Verdict::new(TAMPER, CheckState::Fail, crate::message::tampered(&touched)));
    }
    Ok(verdicts)
}

/// The grade of a subject that could not be graded at all (unreadable, not
/// a checkout): an error on the `compile` check, every other check not run.
pub fn could_not_grade(ex: &Exercise, shown_as: &std::path::Path, seed: u64, why: &str) -> Grade {
    let verdicts = vec![Verdict::new(COMPILE, CheckState::Error, why.to_string())];
    assemble(ex, shown_as, seed, verdicts, Instant::now(), None)
}

/// One grade at a time per staging slot of an exercise: in a batch the
/// first free slot, the process's preferred one first; when every slot is
/// busy (or outside a batch), wait for the preferred one.
fn lock_staging(kit: &Kit, ex: &Exercise) -> Result<(std::fs::File, u32)> {
    let dir = kit.target_dir.join("grade").join("ws");
    std::fs::create_dir_all(&dir)?;
    let open = |slot: u32| {
        std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(dir.join(format!(
            "{}{}.lock",
            ex.id,
            stage::slot_suffix(slot)
        )))
    };
    let preferred = stage::preferred_slot();
    let others = if stage::roaming() { 0..stage::SLOTS } else { 0..0 };
    let order = std::iter::once(preferred).chain(others.filter(|s| *s != preferred));
    for slot in order {
        let file = open(slot)?;
        match file.try_lock() {
            Ok(()) => return Ok((file, slot)),
            Err(std::fs::TryLockError::WouldBlock) => continue,
            Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
        }
    }
    let file = open(preferred)?;
    file.lock()?;
    Ok((file, preferred))
}

fn assemble(
    ex: &Exercise,
    shown_as: &std::path::Path,
    seed: u64,
    verdicts: Vec<Verdict>,
    started: Instant,
    suite: Option<PathBuf>,
) -> Grade {
    let mut verdicts = Verdicts(verdicts);
    let compile = verdicts.take(COMPILE);
    let compile_state = compile.state;
    let mut checks = vec![own_check(COMPILE, CheckKind::Compile, "the code compiles", compile)];
    let tampered = verdicts.take_if(TAMPER);
    if let Some(t) = tampered.clone() {
        checks.push(own_check(TAMPER, CheckKind::Integrity, "the kit's files are left alone", t));
    }
    for c in &ex.meta.checks {
        let v = if compile_state == CheckState::Error {
            Verdict::new(&c.id, CheckState::Skipped, "not run: the build could not be graded".into())
        } else {
            verdicts.take(&c.id)
        };
        let points = if v.state == CheckState::Pass && tampered.is_none() { c.points } else { 0 };
        checks.push(CheckResult {
            id: c.id.clone(),
            kind: CheckKind::Suite,
            stage: c.stage.clone(),
            title: c.title.clone(),
            state: v.state,
            points,
            max_points: c.points,
            outcome: v.outcome,
        });
    }
    let build_state = if tampered.is_some() { CheckState::Fail } else { compile_state };
    let stages = stage_results(ex, &checks, build_state);
    Grade {
        exercise: ex.id.clone(),
        title: ex.meta.title.clone(),
        chapter: ex.chapter_path(),
        subject: shown_as.to_string_lossy().into_owned(),
        seed,
        status: overall(&checks),
        score: checks.iter().map(|c| c.points).sum(),
        max_score: ex.max_score(),
        duration_ms: started.elapsed().as_millis() as u64,
        stages,
        checks,
        suite,
        reused_from: None,
    }
}

/// The verdicts not yet placed in the grade.
struct Verdicts(Vec<Verdict>);

impl Verdicts {
    fn take_if(&mut self, id: &str) -> Option<Verdict> {
        self.0.iter().position(|x| x.id == id).map(|i| self.0.remove(i))
    }
    /// A check with no verdict never passes: it is an error.
    fn take(&mut self, id: &str) -> Verdict {
        self.take_if(id).unwrap_or_else(|| Verdict::new(id, CheckState::Error, crate::message::missing_report(id)))
    }
}

/// One of the grader's own checks: worth no points, in the build stage.
fn own_check(id: &str, kind: CheckKind, title: &str, v: Verdict) -> CheckResult {
    CheckResult {
        id: id.into(),
        kind,
        stage: BUILD_STAGE.into(),
        title: title.into(),
        state: v.state,
        points: 0,
        max_points: 0,
        outcome: v.outcome,
    }
}

/// Each stage's state from its checks, the build stage first.
fn stage_results(ex: &Exercise, checks: &[CheckResult], build_state: CheckState) -> Vec<StageResult> {
    let mut stages = vec![StageResult {
        id: BUILD_STAGE.into(),
        title: "Build".into(),
        advice: "Fix the first compiler error shown; later errors often follow from it.".into(),
        state: build_state,
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
    stages
}

/// A check that could not run makes the grade an error; else pass or fail.
fn overall(checks: &[CheckResult]) -> Status {
    if checks.iter().any(|c| matches!(c.state, CheckState::Error | CheckState::Unavailable)) {
        Status::Error
    } else if checks.iter().all(|c| c.state == CheckState::Pass) {
        Status::Pass
    } else {
        Status::Fail
    }
}

/// `CARGO_GRADE_TRACE=1` prints how long each phase took (for benchmarks).
pub fn trace(what: &str, since: Instant) {
    if std::env::var_os("CARGO_GRADE_TRACE").is_some() {
        eprintln!("[trace] {what}: {} ms", since.elapsed().as_millis());
    }
}
