//! Building a staged subject and its suite with cargo, and turning compiler
//! errors into something a student can act on.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{anyhow, Result};
use cargo_metadata::{Message, TargetKind};

use crate::catalog::{Exercise, Kind, Kit};
use crate::message;
use crate::stage::{Staged, HOST, SUBJECT};

/// Show at most this many compiler errors: the first ones are the real ones.
const SHOWN_ERRORS: usize = 3;

pub struct Built {
    /// The suite binary to run.
    pub suite: PathBuf,
    /// The program the suite starts: a server exercise's binary, or a
    /// library exercise's host (the student's crate linked in).
    pub subject: Option<PathBuf>,
}

pub enum Outcome {
    Built(Built),
    /// The student's code does not compile: a failed `compile` check.
    StudentError {
        summary: String,
        diagnostics: String,
    },
    /// The kit itself does not build: the grade is an error.
    KitError {
        summary: String,
        diagnostics: String,
    },
}

pub struct Options<'a> {
    pub color: bool,
    /// How to show the subject's `src/` in compiler messages.
    pub shown_as: &'a Path,
    /// Called with each crate cargo starts compiling, for a progress line.
    pub progress: &'a mut dyn FnMut(&str),
}

pub fn build(kit: &Kit, ex: &Exercise, staged: &Staged, opts: Options<'_>) -> Result<Outcome> {
    let format = if opts.color { "json-diagnostic-rendered-ansi" } else { "json" };
    // A library exercise is graded through its host, which links it, and
    // the suite, which does not: build just those two (the subject's own
    // demo binaries are not graded). After an edit, only the host relinks.
    let targets: Vec<&str> = match (&ex.meta.kind, &ex.host_package) {
        (Kind::Library, Some(host)) => vec!["--package", &ex.suite_package, "--package", host],
        _ => vec!["--workspace"],
    };
    let mut cargo = Cargo::spawn(kit, &staged.ws, &targets, format)?;
    let mut found = Found::default();
    for message in Message::parse_stream(BufReader::new(cargo.child.stdout.take().expect("piped"))) {
        while let Ok(krate) = cargo.compiling.try_recv() {
            (opts.progress)(&krate);
        }
        found.take(ex, staged, message?);
    }
    let (status, cargo_stderr) = cargo.finish()?;
    if found.success && status.success() {
        return built(ex, found);
    }
    Ok(failed(ex, found, &cargo_stderr, opts.shown_as, staged.slot))
}

/// A running `cargo build --message-format json` in a staging workspace.
struct Cargo {
    child: std::process::Child,
    /// The crates cargo starts compiling, from its status lines.
    compiling: std::sync::mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl Cargo {
    fn spawn(kit: &Kit, ws: &Path, targets: &[&str], format: &str) -> Result<Cargo> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut child = Command::new(cargo)
            .current_dir(ws)
            .arg("build")
            .args(targets)
            .args(["--bins", "--message-format"])
            .arg(format)
            .arg("--target-dir")
            .arg(&kit.target_dir)
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| anyhow!(message::cargo_failed_to_start(&e)))?;
        // Cargo's own status lines ("Compiling tokio v1...") feed the progress line.
        let stderr = child.stderr.take().expect("piped");
        let (tx, compiling) = std::sync::mpsc::channel::<String>();
        let stderr = std::thread::spawn(move || {
            let mut all = String::new();
            let mut reader = BufReader::new(stderr);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                if let Some(rest) = line.trim_start().strip_prefix("Compiling ") {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
                }
                all.push_str(&line);
                line.clear();
            }
            all
        });
        Ok(Cargo { child, compiling, stderr })
    }

    /// Wait for cargo; its exit status and everything it wrote on stderr.
    fn finish(mut self) -> Result<(std::process::ExitStatus, String)> {
        let status = self.child.wait()?;
        Ok((status, self.stderr.join().unwrap_or_default()))
    }
}

/// What cargo's messages said: the binaries built and the errors, by whose
/// fault they are.
#[derive(Default)]
struct Found {
    suite: Option<PathBuf>,
    subject: Option<PathBuf>,
    /// Errors blamed on the student: (in the subject's own files, rendered).
    student_errors: Vec<(bool, String)>,
    kit_errors: Vec<String>,
    success: bool,
}

impl Found {
    fn take(&mut self, ex: &Exercise, staged: &Staged, message: Message) {
        match message {
            Message::CompilerArtifact(a) if a.target.kind.contains(&TargetKind::Bin) => {
                let exe = a.executable.map(|p| p.into_std_path_buf());
                if a.target.name == crate::stage::suite_bin_name(ex, staged.slot) {
                    self.suite = exe;
                } else if a.target.name == crate::stage::subject_bin_name(ex, staged.slot) {
                    self.subject = exe;
                }
            }
            Message::CompilerMessage(m) => {
                let is_error = matches!(
                    m.message.level,
                    cargo_metadata::diagnostic::DiagnosticLevel::Error
                        | cargo_metadata::diagnostic::DiagnosticLevel::Ice
                );
                if !is_error {
                    return;
                }
                let rendered = m.message.rendered.clone().unwrap_or_else(|| m.message.message.clone());
                let src = m.target.src_path.as_std_path();
                let from_subject = src.starts_with(staged.ws.join(SUBJECT));
                // The host calls the stub's API: when that does not compile,
                // the student changed the API (the suite never links it).
                let in_host = src.starts_with(staged.ws.join(HOST));
                if from_subject || (in_host && is_api_mismatch(&m.message.message)) {
                    self.student_errors.push((from_subject, rendered));
                } else {
                    self.kit_errors.push(rendered);
                }
            }
            Message::BuildFinished(f) => self.success = f.success,
            _ => {}
        }
    }
}

fn built(ex: &Exercise, found: Found) -> Result<Outcome> {
    let suite = found.suite.ok_or_else(|| anyhow!(message::suite_built_without_binary(&ex.id)))?;
    if found.subject.is_none() {
        if ex.host_package.is_some() {
            anyhow::bail!(message::host_built_without_binary(&ex.id));
        }
        if ex.meta.kind == Kind::Server {
            return Ok(Outcome::StudentError {
                summary: message::no_subject_binary(ex.meta.subject_bin.as_deref().unwrap_or("?")),
                diagnostics: String::new(),
            });
        }
    }
    Ok(Outcome::Built(Built { suite, subject: found.subject }))
}

/// Whose fault a failed build is, and the first errors to show.
fn failed(ex: &Exercise, found: Found, cargo_stderr: &str, shown_as: &Path, slot: u32) -> Outcome {
    let shown = |errors: &[String]| -> String {
        errors
            .iter()
            .filter(|e| !e.starts_with("aborting due to"))
            .take(SHOWN_ERRORS)
            .map(|e| rewrite_paths(e, shown_as, slot))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let real: Vec<&(bool, String)> = found.student_errors.iter().filter(|(s, _)| *s).collect();
    if !real.is_empty() {
        let errors: Vec<String> = real.iter().map(|(_, e)| e.clone()).filter(|e| !e.starts_with("aborting")).collect();
        let count = errors.iter().filter(|e| !e.contains("could not compile")).count();
        return Outcome::StudentError { summary: message::compile_failed(count), diagnostics: shown(&errors) };
    }
    if !found.student_errors.is_empty() {
        let errors: Vec<String> = found.student_errors.into_iter().map(|(_, e)| e).collect();
        return Outcome::StudentError { summary: message::suite_broken_against(&ex.id), diagnostics: shown(&errors) };
    }
    let diagnostics = if found.kit_errors.is_empty() { tail(cargo_stderr, 40) } else { shown(&found.kit_errors) };
    Outcome::KitError { summary: message::kit_failed_to_build(&format!("suite for {}", ex.id)), diagnostics }
}

/// Errors in the host that mean the subject's public API is not the stub's.
fn is_api_mismatch(msg: &str) -> bool {
    [
        "cannot find",
        "unresolved import",
        "no method named",
        "no function or associated item",
        "mismatched types",
        "arguments to this",
        "expected",
        // The host holds checkouts in tasks and clones the pool: a future
        // or a type that lost `Send` or `Clone` is the API changing too.
        "cannot be sent between threads safely",
        "cannot be shared between threads safely",
        "the trait bound",
    ]
    .iter()
    .any(|p| msg.contains(p))
}

/// Compiler messages name staged paths (`subject/src/main.rs`); show the
/// student's own (`exercises/01-bind/src/main.rs`) so they can click them.
fn rewrite_paths(rendered: &str, shown_as: &Path, slot: u32) -> String {
    let shown = shown_as.to_string_lossy();
    rendered.replace(
        &format!("{}{SUBJECT}/src/", crate::stage::member_prefix(slot)),
        &format!("{}/", shown.trim_end_matches('/')),
    )
}

fn tail(s: &str, lines: usize) -> String {
    let all: Vec<&str> = s.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Build the reference solution of a server exercise beside the subject, for
/// differential checks; reused as long as nothing it depends on changed.
/// Library exercises have none (their checks test invariants).
pub fn build_reference(kit: &Kit, ex: &Exercise, progress: &mut dyn FnMut(&str)) -> Result<Option<PathBuf>> {
    if ex.meta.kind != Kind::Server {
        return Ok(None);
    }
    // `batch --jobs` workers share the reference: one stages and builds it
    // at a time, and the others then find it built.
    let lock_path = kit.target_dir.join("grade").join("ws").join(format!("{}.reference.lock", ex.id));
    std::fs::create_dir_all(lock_path.parent().expect("has a parent"))?;
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path)?;
    lock.lock()?;
    let (staged, fingerprint) = crate::stage::prepare_reference(kit, ex)?;
    let stamp = staged.ws.join(".built");
    let want = crate::stage::reference_bin_name(ex);
    if let Ok(text) = std::fs::read_to_string(&stamp) {
        if let Some((fp, path)) = text.split_once('\n') {
            let path = PathBuf::from(path);
            if fp == fingerprint.to_string() && path.is_file() {
                return Ok(Some(path));
            }
        }
    }
    let mut cargo = Cargo::spawn(kit, &staged.ws, &[], "json")?;
    let mut binary = None;
    for message in Message::parse_stream(BufReader::new(cargo.child.stdout.take().expect("piped"))) {
        if let Message::CompilerArtifact(a) = message? {
            if a.target.name == want {
                binary = a.executable.map(|p| p.into_std_path_buf());
            }
        }
        while let Ok(krate) = cargo.compiling.try_recv() {
            progress(&krate);
        }
    }
    let (status, stderr) = cargo.finish()?;
    match binary {
        Some(path) if status.success() => {
            std::fs::write(&stamp, format!("{fingerprint}\n{}", path.display()))?;
            Ok(Some(path))
        }
        _ => {
            Err(anyhow!("{}\n{}", message::kit_failed_to_build(&format!("reference of {}", ex.id)), tail(&stderr, 40)))
        }
    }
}
