//! The kit's own sensitivity measure: cargo-mutants' mutants of each
//! reference, graded like any subject.
//!
//! `cargo mutants --list --json` lists the mutants of the staged reference
//! (each a file, a span and a replacement). Only mutants inside code the
//! student writes are kept ([`scope`]); each is applied to the reference's
//! `src/` and graded through the usual pipeline ([`Source::Mutant`]):
//! killed (a check failed), timeout (only hangs caught it), survived (the
//! grade passed), unviable (it does not compile), error (could not grade).
//! A survivor must be listed in the suite's `mutants.toml` with the reason
//! it is equivalent ([`equivalents`]); an unlisted one fails.
//!
//! Verdicts are cached in `<target>/grade/mutants/` under a fingerprint of
//! everything a grade depends on (the mutated files, the suite, the harness,
//! the kit's manifests, the seed), so a repeated run only grades what
//! changed.

pub mod equivalents;
pub mod scope;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::catalog::{Exercise, Kit};
use crate::grade::{self, GradeOptions};
use crate::result::{CheckState, Grade};
use crate::stage::{self, Source, SourceFiles};
use grade_protocol::shared::Fnv;

/// How many mutants per exercise `cargo grade check` grades by default.
pub const CHECK_SLICE: usize = 3;

/// Bumped when the meaning of a cached verdict changes.
const CACHE_VERSION: &str = "mutants-cache/2";

/// One mutant of a reference, inside code the student writes.
#[derive(Debug, Clone)]
pub struct Mutant {
    /// `src/api.rs: replace == with != in Store::get`: cargo-mutants'
    /// description without the line and column, so it survives line shifts.
    pub key: String,
    /// 1 for the first mutant with this key (in file order), 2 for the next...
    pub occurrence: u32,
    /// Relative to the crate: `src/api.rs`.
    pub file: String,
    /// The function in the kit's terms (`impl X :: f`).
    pub function: String,
    pub line: usize,
    span: Span,
    replacement: String,
}

impl Mutant {
    /// The mutant's identity: its key, and `#N` when N > 1.
    pub fn id(&self) -> String {
        if self.occurrence > 1 {
            format!("{} #{}", self.key, self.occurrence)
        } else {
            self.key.clone()
        }
    }

    /// The reference's `src/` with this mutation applied.
    pub fn apply(&self, reference: &SourceFiles) -> Result<SourceFiles> {
        let mut files = reference.clone();
        let rel = self.file.strip_prefix("src/").unwrap_or(&self.file);
        let text = files.get_mut(Path::new(rel)).ok_or_else(|| anyhow!("the reference has no {}", self.file))?;
        let s = String::from_utf8_lossy(text).into_owned();
        *text = self.span.replace(&s, &self.replacement).into_bytes();
        Ok(files)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
struct LineColumn {
    line: usize,
    column: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
struct Span {
    start: LineColumn,
    end: LineColumn,
}

impl Span {
    /// As cargo-mutants applies it: lines and columns count characters from 1.
    fn replace(&self, s: &str, replacement: &str) -> String {
        let (start, end) = (self.start, self.end);
        let mut r = String::with_capacity(s.len() + replacement.len());
        let (mut line, mut col) = (1, 1);
        for c in s.chars() {
            if line == start.line && col == start.column {
                r.push_str(replacement);
            }
            let before = line < start.line || (line == start.line && col < start.column);
            let after = line > end.line || (line == end.line && col >= end.column);
            if before || after {
                r.push(c);
            }
            if c == '\n' {
                line += 1;
                col = 1;
            } else if c != '\r' {
                col += 1;
            }
        }
        if line == start.line && col == start.column {
            r.push_str(replacement);
        }
        r
    }
}

/// The JSON cargo-mutants prints for one mutant (`--list --json`).
#[derive(Deserialize)]
struct Listed {
    name: String,
    file: String,
    span: Span,
    replacement: String,
}

/// The mutants of one reference.
pub struct Listing {
    /// Every mutant cargo-mutants lists for the reference's crate.
    pub all: usize,
    /// Those inside code the student writes, in file order.
    pub mutants: Vec<Mutant>,
    /// How many functions the stub leaves `todo!()`.
    pub todo_functions: usize,
}

/// Is cargo-mutants there? `None` when not, with what to do.
pub fn tool_missing() -> Option<String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let ok = Command::new(cargo)
        .args(["mutants", "--version"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    (!ok).then(|| "cargo-mutants is not installed (cargo install cargo-mutants --locked)".to_string())
}

/// List the mutants of `ex`'s reference and keep those in the student's code.
pub fn list(kit: &Kit, ex: &Exercise) -> Result<Listing> {
    let (staged, _) = stage::prepare_reference(kit, ex)?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(&staged.ws)
        .args(["mutants", "--list", "--json", "--no-config", "--dir", "."])
        .env_remove("CARGO_TARGET_DIR")
        .stdin(Stdio::null())
        .output()
        .context("cannot run cargo mutants")?;
    if !out.status.success() {
        bail!(
            "cargo mutants --list failed for {}:\n{}",
            ex.id,
            String::from_utf8_lossy(&out.stderr).lines().take(20).collect::<Vec<_>>().join("\n")
        );
    }
    let listed: Vec<Listed> = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("cargo mutants --list --json printed something unexpected for {}", ex.id))?;
    let prefix = format!("{}/", stage::REFERENCE);
    let reference = stage::read_tree(&ex.solution_dir.join("src"))?;
    let stub_files = stub(kit, ex);
    let stub = scope::Stub::new(stub_files.iter().map(|(p, t)| (format!("src/{}", p.display()), t.as_str())));
    let mut functions: BTreeMap<String, Vec<scope::Function>> = BTreeMap::new();
    let mut mutants = Vec::new();
    for l in &listed {
        let file = l.file.strip_prefix(&prefix).unwrap_or(&l.file).to_string();
        let rel = file.strip_prefix("src/").unwrap_or(&file);
        let Some(text) = reference.get(Path::new(rel)) else {
            continue;
        };
        if !functions.contains_key(&file) {
            let fns = scope::functions(&String::from_utf8_lossy(text))
                .with_context(|| format!("{}/{file}", ex.solution_dir.display()))?;
            functions.insert(file.clone(), fns);
        }
        let at = (l.span.start.line, l.span.start.column);
        let function = scope::enclosing(&functions[&file], at).map(|f| f.key.clone());
        let student = match &function {
            Some(f) => stub.owner(&file, f) == scope::Owner::Student,
            None => !stub_files.contains_key(Path::new(rel)),
        };
        if !student {
            continue;
        }
        let key = describe(&l.name, &l.file).replacen(&l.file, &file, 1);
        mutants.push(Mutant {
            key,
            occurrence: 0,
            file,
            function: function.unwrap_or_default(),
            line: l.span.start.line,
            span: l.span,
            replacement: l.replacement.clone(),
        });
    }
    mutants.sort_by(|a, b| {
        (&a.file, a.span.start.line, a.span.start.column).cmp(&(&b.file, b.span.start.line, b.span.start.column))
    });
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    for m in &mut mutants {
        let n = seen.entry(m.key.clone()).or_insert(0);
        *n += 1;
        m.occurrence = *n;
    }
    Ok(Listing { all: listed.len(), mutants, todo_functions: stub.todo_count() })
}

/// `subject/src/a.rs:12:5: replace x with y` -> `subject/src/a.rs: replace x with y`.
fn describe(name: &str, file: &str) -> String {
    let Some(rest) = name.strip_prefix(file) else {
        return name.to_string();
    };
    let mut parts = rest.splitn(4, ':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(""), Some(l), Some(c), Some(desc))
            if l.chars().all(|ch| ch.is_ascii_digit()) && c.chars().all(|ch| ch.is_ascii_digit()) =>
        {
            format!("{file}:{desc}")
        }
        _ => name.to_string(),
    }
}

/// The stub's files as committed (the working tree outside git).
fn stub(kit: &Kit, ex: &Exercise) -> BTreeMap<PathBuf, String> {
    let files = crate::soundness::committed_stub(kit, ex)
        .or_else(|| stage::read_tree(&ex.dir.join("src")).ok())
        .unwrap_or_default();
    files.into_iter().map(|(p, b)| (p, String::from_utf8_lossy(&b).into_owned())).collect()
}

/// What grading a mutant showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Killed,
    /// Only a check's time limit caught it (it hangs).
    Timeout,
    /// Every check passed, and `mutants.toml` lists it with a reason.
    Equivalent,
    /// Every check passed.
    Survived,
    /// It does not compile.
    Unviable,
    /// It could not be graded.
    Error,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Killed => "killed",
            Outcome::Timeout => "timeout",
            Outcome::Equivalent => "equivalent",
            Outcome::Survived => "SURVIVED",
            Outcome::Unviable => "unviable",
            Outcome::Error => "error",
        }
    }
}

/// A graded mutant, as cached.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verdict {
    pub outcome: Outcome,
    /// The checks that failed.
    pub caught_by: Vec<String>,
    /// Why it could not be graded, or the first failure that caught it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    pub seed: u64,
    pub ms: u64,
}

fn classify(g: &Grade, seed: u64, ms: u64) -> Verdict {
    let timed_out = crate::message::check_timed_out(0);
    let timed_out = timed_out.split(" 0 s").nth(1).unwrap_or("something hangs");
    let compile = g.checks.iter().find(|c| c.id == grade::COMPILE);
    let failed: Vec<&crate::result::CheckResult> = g.checks.iter().filter(|c| c.state == CheckState::Fail).collect();
    let mut v = Verdict { outcome: Outcome::Survived, caught_by: Vec::new(), detail: String::new(), seed, ms };
    match compile.map(|c| c.state) {
        Some(CheckState::Fail) => {
            v.outcome = Outcome::Unviable;
            return v;
        }
        Some(CheckState::Error) | None => {
            v.outcome = Outcome::Error;
            v.detail = compile.map(|c| c.outcome.message.clone()).unwrap_or_default();
            return v;
        }
        _ => {}
    }
    v.caught_by = failed.iter().map(|c| c.id.clone()).collect();
    if let Some(first) = failed.first() {
        // How it was caught, to tell a real catch from a flaky one.
        let line = first.outcome.message.lines().next().unwrap_or("");
        v.detail = format!("{}: {}", first.id, line.chars().take(200).collect::<String>());
    }
    if !failed.is_empty() {
        let hangs = failed.iter().all(|c| c.outcome.message.contains(timed_out));
        v.outcome = if hangs { Outcome::Timeout } else { Outcome::Killed };
    } else if let Some(c) = g.checks.iter().find(|c| c.state == CheckState::Error) {
        v.outcome = Outcome::Error;
        v.detail = format!("{}: {}", c.id, c.outcome.message);
    } else if let Some(c) = g.checks.iter().find(|c| c.state == CheckState::Unavailable) {
        // Survived the checks that ran; the others might have caught it.
        let ids: Vec<&str> =
            g.checks.iter().filter(|c| c.state == CheckState::Unavailable).map(|c| c.id.as_str()).collect();
        v.outcome = Outcome::Error;
        v.detail = format!("{NOT_RUN} {} ({})", ids.join(", "), c.outcome.message);
    }
    v
}

/// How a verdict says that some checks could not run on this machine.
const NOT_RUN: &str = "survived the checks that ran; not run here:";

/// What a run of mutants is asked to do.
pub struct RunOptions {
    /// Fixed seed; by default each mutant's own (derived from its id), so
    /// a verdict is reproducible and cacheable.
    pub seed: Option<u64>,
    /// Grades at a time.
    pub jobs: usize,
    /// Only mutants whose id contains this.
    pub only: Option<String>,
    /// Grade again even when a cached verdict exists.
    pub fresh: bool,
    /// Only a representative slice: at most this many per exercise.
    pub slice: Option<usize>,
    pub check_timeout: Option<u64>,
}

/// One mutant's row in a report.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub id: String,
    pub file: String,
    pub line: usize,
    pub function: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub caught_by: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// Why `mutants.toml` says it is equivalent.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    pub seed: u64,
    pub ms: u64,
    /// The verdict came from the cache.
    pub cached: bool,
}

/// One exercise's result.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub exercise: String,
    /// Mutants cargo-mutants lists for the reference's crate.
    pub listed: usize,
    /// Of those, in code the student writes.
    pub in_scope: usize,
    pub todo_functions: usize,
    /// Mutants graded (or read from the cache) in this run.
    pub graded: usize,
    pub counts: BTreeMap<Outcome, usize>,
    /// Detected / (all graded - equivalent - unviable - error), in percent.
    pub score: Option<f64>,
    /// Entries of `mutants.toml` that are wrong (match no mutant, or the
    /// mutant is killed).
    pub stale: Vec<String>,
    pub rows: Vec<Row>,
    /// Wall time of this exercise's grades in this run (ms): from the first
    /// starting to the last ending (grades of the next exercise may overlap).
    pub ms: u64,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.stale.is_empty() && !self.rows.iter().any(|r| r.outcome == Outcome::Survived)
    }
    pub fn errors(&self) -> usize {
        self.counts.get(&Outcome::Error).copied().unwrap_or(0)
    }
    fn count(&self, o: Outcome) -> usize {
        self.counts.get(&o).copied().unwrap_or(0)
    }
}

/// Everything a grade of a mutant of `ex` depends on besides the mutated
/// files: the suite (without `mutants.toml`), the harness, the kit's
/// manifests and lock, the exercise's kit files, the reference.
fn base_fingerprint(kit: &Kit, ex: &Exercise, check_timeout: Option<u64>) -> Result<u64> {
    let mut h = Fnv::new();
    h.eat(CACHE_VERSION.as_bytes());
    h.eat(env!("CARGO_PKG_VERSION").as_bytes());
    h.eat(format!("{check_timeout:?}").as_bytes());
    let mut eat_tree = |dir: &Path, skip: &dyn Fn(&Path) -> bool| -> Result<()> {
        if dir.is_dir() {
            for (p, bytes) in stage::read_tree(dir)? {
                if !skip(&p) {
                    h.eat(p.to_string_lossy().as_bytes());
                    h.eat(&bytes);
                }
            }
        }
        Ok(())
    };
    let no_target = |p: &Path| p.starts_with("target");
    eat_tree(&ex.suite_dir, &|p| p == Path::new("mutants.toml") || p.starts_with("target"))?;
    eat_tree(&kit.root.join("harness"), &no_target)?;
    eat_tree(&ex.dir, &|p| p.starts_with("src") || p.starts_with("target"))?;
    eat_tree(&ex.solution_dir.join("src"), &no_target)?;
    for f in ["Cargo.toml", "Cargo.lock"] {
        h.eat(&std::fs::read(kit.root.join(f)).unwrap_or_default());
    }
    Ok(h.0)
}

fn fingerprint(base: u64, files: &SourceFiles, seed: u64) -> u64 {
    let mut h = Fnv(base);
    h.eat(&seed.to_le_bytes());
    for (p, bytes) in files {
        h.eat(p.to_string_lossy().as_bytes());
        h.eat(bytes);
    }
    h.0
}

fn cache_path(kit: &Kit, ex: &Exercise, fp: u64) -> PathBuf {
    kit.target_dir.join("grade").join("mutants").join(&ex.id).join(format!("{fp:016x}.json"))
}

fn cached(kit: &Kit, ex: &Exercise, fp: u64) -> Option<Verdict> {
    serde_json::from_slice(&std::fs::read(cache_path(kit, ex, fp)).ok()?).ok()
}

fn save(kit: &Kit, ex: &Exercise, fp: u64, v: &Verdict) {
    // A cache: failing to write it only costs time later.
    let path = cache_path(kit, ex, fp);
    let _ = std::fs::create_dir_all(path.parent().expect("has a parent"));
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    if std::fs::write(&tmp, serde_json::to_vec(v).unwrap_or_default()).is_ok() {
        let _ = std::fs::rename(&tmp, &path);
    }
}

/// Each mutant's own seed: stable, so its verdict is reproducible.
pub fn seed_of(id: &str) -> u64 {
    let mut h = Fnv::new();
    h.eat(id.as_bytes());
    h.0 % 1_000_000_000
}

/// A deterministic representative slice: mutants taken round-robin over the
/// functions (each function's mutants in a fixed pseudo-random order), so a
/// small slice still touches every function the student writes.
pub fn slice(mutants: &[Mutant], n: usize) -> Vec<usize> {
    let mut by_fn: BTreeMap<(u64, &str), Vec<(u64, usize)>> = BTreeMap::new();
    for (i, m) in mutants.iter().enumerate() {
        let f = format!("{}::{}", m.file, m.function);
        by_fn.entry((seed_of(&f), &m.function)).or_default().push((seed_of(&m.id()), i));
    }
    for v in by_fn.values_mut() {
        v.sort();
    }
    let mut picked = Vec::new();
    let mut round = 0;
    while picked.len() < n && by_fn.values().any(|v| v.len() > round) {
        for v in by_fn.values() {
            if picked.len() < n {
                if let Some((_, i)) = v.get(round) {
                    picked.push(*i);
                }
            }
        }
        round += 1;
    }
    picked.sort();
    picked
}

/// A job: one mutant of one exercise.
struct Job<'a> {
    ex: &'a Exercise,
    index: usize,
    files: SourceFiles,
    seed: u64,
    fp: u64,
}

/// Grade the mutants of `exercises`; `progress` gets one line per mutant.
pub fn run(
    kit: &Kit,
    exercises: &[&Exercise],
    opts: &RunOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Vec<Report>> {
    let (jobs, listings, equivalents) = plan_jobs(kit, exercises, opts)?;
    let (results, per_exercise_ms) = grade_jobs(kit, exercises, opts, progress, jobs, &listings)?;
    let mut reports = Vec::new();
    for ((ex, listing), eq) in exercises.iter().zip(&listings).zip(&equivalents) {
        let ms = per_exercise_ms.get(&ex.id).map(|(from, to)| to.saturating_sub(*from).as_millis() as u64).unwrap_or(0);
        reports.push(report_for(ex, listing, eq, &results, ms));
    }
    Ok(reports)
}

/// Verdicts by (exercise, mutant index), and whether each came from the cache.
type Results = BTreeMap<(String, usize), (Verdict, bool)>;
/// Per exercise: when its first grade started and its last ended.
type Spans = BTreeMap<String, (std::time::Duration, std::time::Duration)>;

/// The mutants to grade: the slice (or all), plus every verdict already
/// cached; with each exercise's listing and equivalents file.
#[allow(clippy::type_complexity)]
fn plan_jobs<'a>(
    kit: &Kit,
    exercises: &[&'a Exercise],
    opts: &RunOptions,
) -> Result<(Vec<Job<'a>>, Vec<Listing>, Vec<equivalents::Equivalents>)> {
    let mut jobs: Vec<Job> = Vec::new();
    let mut listings = Vec::new();
    let mut equivalents = Vec::new();
    for ex in exercises {
        let listing = list(kit, ex)?;
        let eq = equivalents::load(&ex.suite_dir.join("mutants.toml"))?;
        let reference = stage::read_tree(&ex.solution_dir.join("src"))?;
        let base = base_fingerprint(kit, ex, opts.check_timeout)?;
        let chosen: Vec<usize> = match opts.slice {
            Some(n) => slice(&listing.mutants, n),
            None => (0..listing.mutants.len()).collect(),
        };
        let chosen: BTreeSet<usize> = chosen.into_iter().collect();
        for (i, m) in listing.mutants.iter().enumerate() {
            if opts.only.as_ref().is_some_and(|o| !m.id().contains(o.as_str())) {
                continue;
            }
            let files = m.apply(&reference)?;
            let seed = opts.seed.unwrap_or_else(|| seed_of(&m.id()));
            let fp = fingerprint(base, &files, seed);
            // Outside the slice, a verdict already known costs nothing:
            // report it too.
            let known = !opts.fresh && cached(kit, ex, fp).is_some();
            if chosen.contains(&i) || known || opts.only.is_some() {
                jobs.push(Job { ex, index: i, files, seed, fp });
            }
        }
        listings.push(listing);
        equivalents.push(eq);
    }

    Ok((jobs, listings, equivalents))
}

/// Grade `jobs` on `opts.jobs` workers, one grade per exercise at a time.
fn grade_jobs(
    kit: &Kit,
    exercises: &[&Exercise],
    opts: &RunOptions,
    progress: &(dyn Fn(&str) + Sync),
    jobs: Vec<Job<'_>>,
    listings: &[Listing],
) -> Result<(Results, Spans)> {
    let total = jobs.len();
    let done = Mutex::new(0usize);
    let results: Mutex<BTreeMap<(String, usize), (Verdict, bool)>> = Mutex::new(BTreeMap::new());
    // The queue, and the exercises being graded: one grade per exercise at
    // a time (see `grade_one`).
    let state = Mutex::new((jobs.into_iter().collect::<std::collections::VecDeque<_>>(), BTreeSet::<String>::new()));
    let freed = std::sync::Condvar::new();
    let started = Instant::now();
    let per_exercise_ms: Mutex<BTreeMap<String, (std::time::Duration, std::time::Duration)>> =
        Mutex::new(BTreeMap::new());
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.max(1) {
            let (state, freed, results, done, failure, per_exercise_ms, listings) =
                (&state, &freed, &results, &done, &failure, &per_exercise_ms, listings);
            let release = move |id: &str| {
                state.lock().unwrap().1.remove(id);
                freed.notify_all();
            };
            s.spawn(move || loop {
                let Some(job) = next_job(state, freed, failure) else {
                    freed.notify_all();
                    return;
                };
                let ex_pos = exercises.iter().position(|e| e.id == job.ex.id).expect("listed");
                let m = &listings[ex_pos].mutants[job.index];
                let t = Instant::now();
                let (ex, fp) = (job.ex, job.fp);
                let graded = verdict_of(kit, ex, m, job.files, job.seed, fp, opts);
                release(&ex.id);
                let (verdict, was_cached) = match graded {
                    Ok(v) => v,
                    Err(e) => {
                        *failure.lock().unwrap() = Some(e);
                        return;
                    }
                };
                {
                    // Wall time: from the first of its grades starting to the last ending.
                    let (from, to) = (t.duration_since(started), started.elapsed());
                    let mut spans = per_exercise_ms.lock().unwrap();
                    let e = spans.entry(ex.id.clone()).or_insert((from, to));
                    *e = (e.0.min(from), e.1.max(to));
                }
                let n = {
                    let mut d = done.lock().unwrap();
                    *d += 1;
                    *d
                };
                let took = if was_cached {
                    " (cached)".to_string()
                } else {
                    format!(" ({:.1} s)", verdict.ms as f64 / 1000.0)
                };
                let at = started.elapsed().as_secs();
                progress(&format!("[{n}/{total} {at:>4}s] {} {:<10} {}{took}", ex.id, verdict.outcome.word(), m.id()));
                results.lock().unwrap().insert((ex.id.clone(), job.index), (verdict, was_cached));
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap() {
        return Err(e);
    }
    if crate::sandbox::interrupted() {
        bail!(crate::message::interrupted());
    }
    Ok((results.into_inner().unwrap(), per_exercise_ms.into_inner().unwrap()))
}

/// The queue of jobs, and the exercises being graded now.
type Queue<'a> = (std::collections::VecDeque<Job<'a>>, BTreeSet<String>);

/// The next job whose exercise is not being graded (one grade per exercise
/// at a time, see `grade_one`); `None` when there is none left or the run
/// stops.
fn next_job<'a>(
    state: &Mutex<Queue<'a>>,
    freed: &std::sync::Condvar,
    failure: &Mutex<Option<anyhow::Error>>,
) -> Option<Job<'a>> {
    let mut st = state.lock().unwrap();
    loop {
        if st.0.is_empty() || failure.lock().unwrap().is_some() || crate::sandbox::interrupted() {
            return None;
        }
        let (queue, busy) = &mut *st;
        if let Some(pos) = queue.iter().position(|j| !busy.contains(&j.ex.id)) {
            let job = queue.remove(pos).expect("found");
            busy.insert(job.ex.id.clone());
            return Some(job);
        }
        st = freed.wait(st).unwrap();
    }
}

/// A mutant's verdict: from the cache, or graded now (and cached, unless
/// it could not be graded).
fn verdict_of(
    kit: &Kit,
    ex: &Exercise,
    m: &Mutant,
    files: SourceFiles,
    seed: u64,
    fp: u64,
    opts: &RunOptions,
) -> Result<(Verdict, bool)> {
    if let Some(v) = (!opts.fresh).then(|| cached(kit, ex, fp)).flatten() {
        return Ok((v, true));
    }
    let v = grade_isolated(kit, ex, m, files, seed, opts)?;
    if v.outcome != Outcome::Error {
        save(kit, ex, fp, &v);
    }
    Ok((v, false))
}

/// One exercise's report: each graded mutant's row, equivalents applied,
/// stale entries named, the share caught.
fn report_for(ex: &Exercise, listing: &Listing, eq: &equivalents::Equivalents, results: &Results, ms: u64) -> Report {
    let mut rows = Vec::new();
    let mut matched = BTreeSet::new();
    for (i, m) in listing.mutants.iter().enumerate() {
        let Some((v, was_cached)) = results.get(&(ex.id.clone(), i)) else {
            continue;
        };
        let mut row = Row {
            id: m.id(),
            file: m.file.clone(),
            line: m.line,
            function: m.function.clone(),
            outcome: v.outcome,
            caught_by: v.caught_by.clone(),
            detail: v.detail.clone(),
            reason: String::new(),
            seed: v.seed,
            ms: v.ms,
            cached: *was_cached,
        };
        if let Some((j, e)) = eq.find(m) {
            matched.insert(j);
            if v.outcome == Outcome::Survived {
                row.outcome = Outcome::Equivalent;
                row.reason = e.reason.clone();
            }
        }
        rows.push(row);
    }
    let mut stale = eq.stale(&listing.mutants);
    for r in &rows {
        if matches!(r.outcome, Outcome::Killed | Outcome::Timeout) && eq.find_id(&r.id).is_some() {
            stale.push(format!("{} is listed as equivalent but is {} now: remove its entry", r.id, r.outcome.word()));
        }
    }
    let mut counts = BTreeMap::new();
    for r in &rows {
        *counts.entry(r.outcome).or_insert(0) += 1;
    }
    let mut report = Report {
        exercise: ex.id.clone(),
        listed: listing.all,
        in_scope: listing.mutants.len(),
        todo_functions: listing.todo_functions,
        graded: rows.len(),
        counts,
        score: None,
        stale,
        rows,
        ms,
    };
    let detected = report.count(Outcome::Killed) + report.count(Outcome::Timeout);
    let relevant = detected + report.count(Outcome::Survived);
    report.score = (relevant > 0).then(|| 100.0 * detected as f64 / relevant as f64);
    report
}

/// Grade a mutant in this process when grades run one at a time, or else in
/// a process of its own: at its end a grade kills every process below its
/// grader (what a hostile subject may have left behind), which would take
/// the other grades' builds and suites with it.
fn grade_isolated(
    kit: &Kit,
    ex: &Exercise,
    m: &Mutant,
    files: SourceFiles,
    seed: u64,
    opts: &RunOptions,
) -> Result<Verdict> {
    if opts.jobs <= 1 {
        return grade_one(kit, ex, m, files, seed, opts.check_timeout);
    }
    let mut cmd = Command::new(std::env::current_exe().context("cannot find the grader's own binary")?);
    cmd.current_dir(&kit.root).args(["mutants", &ex.id, "--worker", "--only", &m.id(), "--seed", &seed.to_string()]);
    if let Some(t) = opts.check_timeout {
        cmd.args(["--check-timeout", &t.to_string()]);
    }
    // A private suite (`--suites DIR`) is the child's too.
    if ex.suite_dir != kit.root.join("grader/suites").join(&ex.id) {
        if let Some(dir) = ex.suite_dir.parent() {
            cmd.arg("--suites").arg(dir);
        }
    }
    let out = cmd.stdin(Stdio::null()).stderr(Stdio::inherit()).output().context("cannot start a grader")?;
    if crate::sandbox::interrupted() {
        bail!(crate::message::interrupted());
    }
    if !out.status.success() {
        bail!("grading mutant `{}` of {} failed ({})", m.id(), ex.id, out.status);
    }
    serde_json::from_slice(&out.stdout).with_context(|| format!("the grade of mutant `{}` printed no verdict", m.id()))
}

/// `cargo grade mutants NN --worker --only ID`: grade the mutant whose id is
/// exactly `id`.
pub fn work(kit: &Kit, ex: &Exercise, id: &str, seed: u64, check_timeout: Option<u64>) -> Result<Verdict> {
    let listing = list(kit, ex)?;
    let m = listing.mutants.iter().find(|m| m.id() == id).ok_or_else(|| anyhow!("{} has no mutant `{id}`", ex.id))?;
    let files = m.apply(&stage::read_tree(&ex.solution_dir.join("src"))?)?;
    grade_one(kit, ex, m, files, seed, check_timeout)
}

/// Grade one mutant in the exercise's staging folder. Never two of one
/// exercise at once, even in folders of their own: cargo names a path
/// package's build by its path relative to its workspace, so two staged
/// copies of one crate in one target directory share (and overwrite) one
/// another's compiled library, and a grade could link the other mutant.
fn grade_one(
    kit: &Kit,
    ex: &Exercise,
    m: &Mutant,
    files: SourceFiles,
    seed: u64,
    check_timeout: Option<u64>,
) -> Result<Verdict> {
    let t = Instant::now();
    let g = grade::grade(
        kit,
        ex,
        &Source::Mutant { name: m.id(), files },
        GradeOptions { seed, color: false, bless: None, check_timeout, only: None, progress: &mut |_| {} },
    )?;
    Ok(classify(&g, seed, t.elapsed().as_millis() as u64))
}

/// The `mutants` row of `cargo grade check`: the equivalents file is valid
/// and matches mutants that exist; a deterministic slice of `n` mutants
/// (plus every mutant whose verdict is cached) is graded; a survivor the
/// file does not list fails the row.
pub fn soundness_row(kit: &Kit, ex: &Exercise, n: usize) -> Result<crate::soundness::Row> {
    let what = "mutants caught".to_string();
    let required = std::env::var_os(grade_protocol::env::REQUIRE_TOOLS).is_some();
    if let Some(why) = tool_missing() {
        return Ok(crate::soundness::Row { what, ok: !required, detail: format!("NOT RUN here: {why}") });
    }
    let opts = RunOptions { seed: None, jobs: 1, only: None, fresh: false, slice: Some(n), check_timeout: None };
    let on_tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let progress = |line: &str| {
        if on_tty {
            eprint!("\r\x1b[2K{}", line.chars().take(100).collect::<String>());
        }
    };
    let r = run(kit, &[ex], &opts, &progress)?.pop().expect("one exercise");
    if on_tty {
        eprint!("\r\x1b[2K");
    }
    let cached = r.rows.iter().filter(|row| row.cached).count();
    let mut problems: Vec<String> = r
        .rows
        .iter()
        .filter(|row| match row.outcome {
            Outcome::Survived => true,
            // A missing tool (a browser) is said, not failed, outside CI.
            Outcome::Error => required || !row.detail.starts_with(NOT_RUN),
            _ => false,
        })
        .map(|row| match row.outcome {
            Outcome::Survived => format!("SURVIVED `{}` (seed {})", row.id, row.seed),
            _ => format!("could not grade `{}`: {}", row.id, row.detail),
        })
        .collect();
    problems.extend(r.stale.iter().map(|s| format!("mutants.toml: {s}")));
    let ok = problems.is_empty();
    let not_run: Vec<&str> = r
        .rows
        .iter()
        .filter(|row| row.outcome == Outcome::Error && row.detail.starts_with(NOT_RUN))
        .map(|row| row.id.as_str())
        .collect();
    let detail = if ok && !not_run.is_empty() {
        format!("{} of {} graded; NOT decided here (checks not run here): {}", r.graded, r.in_scope, not_run.join("; "))
    } else if ok {
        format!(
            "{} of {} graded ({} cached): killed {}, timeout {}, equivalent {}, unviable {}; all of them: cargo grade mutants {}",
            r.graded,
            r.in_scope,
            cached,
            r.count(Outcome::Killed),
            r.count(Outcome::Timeout),
            r.count(Outcome::Equivalent),
            r.count(Outcome::Unviable),
            ex.id
        )
    } else {
        format!(
            "{}; catch it with a check or list it in {}/mutants.toml with the reason it is equivalent",
            problems.join("; "),
            ex.suite_dir.display()
        )
    };
    Ok(crate::soundness::Row { what, ok, detail })
}

/// The human report.
pub fn render(reports: &[Report], verbose: bool) -> String {
    let mut out = String::new();
    for r in reports {
        out.push_str(&format!(
            "\n{}: {} mutants listed, {} in the code the student writes ({} todo!() functions); {} graded in {:.0} s\n",
            r.exercise,
            r.listed,
            r.in_scope,
            r.todo_functions,
            r.graded,
            r.ms as f64 / 1000.0
        ));
        out.push_str(&format!(
            "  killed {}  timeout {}  equivalent {}  survived {}  unviable {}  error {}",
            r.count(Outcome::Killed),
            r.count(Outcome::Timeout),
            r.count(Outcome::Equivalent),
            r.count(Outcome::Survived),
            r.count(Outcome::Unviable),
            r.count(Outcome::Error)
        ));
        match r.score {
            Some(s) => out.push_str(&format!("  ({s:.0} % of the non-equivalent viable mutants caught)\n")),
            None => out.push('\n'),
        }
        for row in &r.rows {
            let show = verbose || matches!(row.outcome, Outcome::Survived | Outcome::Error | Outcome::Equivalent);
            if !show {
                continue;
            }
            let extra = match row.outcome {
                Outcome::Survived => format!(
                    "\n      line {}, seed {}: add a check that catches it, or list it in mutants.toml with the reason it is equivalent",
                    row.line, row.seed
                ),
                Outcome::Equivalent => format!("\n      {}", row.reason),
                Outcome::Error => format!("\n      {}", row.detail),
                Outcome::Killed | Outcome::Timeout => format!(" by {}", row.caught_by.join(", ")),
                Outcome::Unviable => String::new(),
            };
            out.push_str(&format!("  {:<10} {}{extra}\n", row.outcome.word(), row.id));
        }
        for s in &r.stale {
            out.push_str(&format!("  STALE      mutants.toml: {s}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_replaced_as_cargo_mutants_does() {
        let text = "fn f() -> bool {\n    a == b\n}\n";
        let span = Span { start: LineColumn { line: 2, column: 7 }, end: LineColumn { line: 2, column: 9 } };
        assert_eq!(span.replace(text, "!="), "fn f() -> bool {\n    a != b\n}\n");
        let body = Span { start: LineColumn { line: 1, column: 16 }, end: LineColumn { line: 3, column: 2 } };
        assert_eq!(body.replace(text, "{ true }"), "fn f() -> bool { true }\n");
    }

    #[test]
    fn the_position_is_not_part_of_the_key() {
        assert_eq!(
            describe("subject/src/a.rs:12:5: replace == with != in f", "subject/src/a.rs"),
            "subject/src/a.rs: replace == with != in f"
        );
    }

    fn m(function: &str, n: usize) -> Mutant {
        Mutant {
            key: format!("src/a.rs: mutant {n} in {function}"),
            occurrence: 1,
            file: "src/a.rs".into(),
            function: function.into(),
            line: n,
            span: Span { start: LineColumn { line: n, column: 1 }, end: LineColumn { line: n, column: 2 } },
            replacement: String::new(),
        }
    }

    #[test]
    fn a_slice_visits_every_function_first_and_is_stable() {
        let all: Vec<Mutant> = (0..9).map(|i| m(["a", "b", "c"][i % 3], i)).chain((9..20).map(|i| m("d", i))).collect();
        let s = slice(&all, 4);
        assert_eq!(s.len(), 4);
        let fns: BTreeSet<&str> = s.iter().map(|i| all[*i].function.as_str()).collect();
        assert_eq!(fns.len(), 4, "one per function first: {s:?}");
        assert_eq!(slice(&all, 4), s, "deterministic");
        assert_eq!(slice(&all, 100).len(), all.len());
    }
}
