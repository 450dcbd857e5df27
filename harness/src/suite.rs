use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use grade_protocol::{env, Event, Outcome, Status, VERSION};

use crate::context::{Ctx, Paths};
use crate::CheckResult;

type CheckFuture = Pin<Box<dyn Future<Output = CheckResult> + Send>>;
type CheckFn = Box<dyn Fn(Ctx) -> CheckFuture + Send + Sync>;

/// A hidden suite: named checks, run in declaration order.
pub struct Suite {
    name: &'static str,
    manifest_dir: &'static str,
    subject_bin: Option<&'static str>,
    checks: Vec<(&'static str, CheckFn)>,
}

impl Suite {
    /// `manifest_dir` is the suite crate's `env!("CARGO_MANIFEST_DIR")`; it
    /// locates the snapshots and the exercise when the suite runs by hand.
    pub fn new(name: &'static str, manifest_dir: &'static str) -> Self {
        Suite { name, manifest_dir, subject_bin: None, checks: Vec::new() }
    }

    /// For server exercises: the binary name to look for next to the suite
    /// when it runs by hand without `GRADE_SUBJECT`.
    pub fn subject_bin(mut self, name: &'static str) -> Self {
        self.subject_bin = Some(name);
        self
    }

    pub fn check<F, Fut>(mut self, id: &'static str, f: F) -> Self
    where
        F: Fn(Ctx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = CheckResult> + Send + 'static,
    {
        assert!(!self.checks.iter().any(|(c, _)| *c == id), "check `{id}` declared twice");
        self.checks.push((id, Box::new(move |cx| Box::pin(f(cx)))));
        self
    }

    /// Parse the command line and environment, run, and exit.
    pub fn main(self) -> ExitCode {
        match std::env::args().nth(1).as_deref() {
            Some("--list") => {
                let ids: Vec<&str> = self.checks.iter().map(|(id, _)| *id).collect();
                println!("{}", serde_json_array(&ids));
                ExitCode::SUCCESS
            }
            Some(other) => {
                eprintln!("error: unknown argument `{other}`; the only flag is --list");
                ExitCode::from(2)
            }
            None => self.run(),
        }
    }

    fn run(self) -> ExitCode {
        let seed = match std::env::var(env::SEED) {
            Ok(s) => match s.parse::<u64>() {
                Ok(seed) => seed,
                Err(_) => {
                    eprintln!("error: {}={s:?} is not a number", env::SEED);
                    return ExitCode::from(2);
                }
            },
            Err(_) => fastrand::u64(..),
        };
        let only: Option<Vec<String>> =
            std::env::var(env::ONLY).ok().map(|s| s.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect());
        let timeout = std::env::var(env::CHECK_TIMEOUT_MS)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .map(Duration::from_millis)
            .unwrap_or(Duration::from_secs(10));

        let paths = Arc::new(self.paths());
        let channel = match std::env::var_os(env::RESULTS) {
            Some(path) => match Channel::open(Path::new(&path)) {
                Ok(c) => Arc::new(c),
                Err(e) => {
                    eprintln!("error: cannot open the results file {}: {e}", Path::new(&path).display());
                    return ExitCode::from(2);
                }
            },
            None => Arc::new(Channel::human()),
        };

        if let Some(only) = &only {
            for id in only {
                if !self.checks.iter().any(|(c, _)| c == id) {
                    eprintln!("error: this suite has no check `{id}`");
                    return ExitCode::from(2);
                }
            }
        }
        // The grader's order when it gives one, else the declaration order.
        let selected: Vec<&(&str, CheckFn)> = match &only {
            Some(only) => only.iter().filter_map(|id| self.checks.iter().find(|(c, _)| c == id)).collect(),
            None => self.checks.iter().collect(),
        };
        // Each gate is the checks of one gate stage, joined with `+`.
        let gates: Vec<Vec<String>> = std::env::var(env::GATES)
            .map(|s| {
                s.split(',').filter(|g| !g.is_empty()).map(|g| g.split('+').map(str::to_string).collect()).collect()
            })
            .unwrap_or_default();
        let mut failed_ids: Vec<&str> = Vec::new();
        channel.send(&Event::Hello {
            version: VERSION,
            suite: self.name.to_string(),
            seed,
            checks: selected.iter().map(|(id, _)| id.to_string()).collect(),
        });

        let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("error: cannot start the async runtime: {e}");
                return ExitCode::from(2);
            }
        };
        let mut failed = 0;
        for (id, f) in selected {
            channel.send(&Event::Start { check: id.to_string() });
            let cx = Ctx::new(id, seed, paths.clone(), channel.clone());
            let started = Instant::now();
            let fut = f(cx);
            let result = runtime.block_on(async move {
                let task = tokio::spawn(fut);
                let abort = task.abort_handle();
                match tokio::time::timeout(timeout, task).await {
                    Ok(Ok(r)) => r,
                    Ok(Err(join)) if join.is_panic() => {
                        Err(crate::Failure::new(format!("the check panicked: {}", panic_message(join.into_panic()))))
                    }
                    Ok(Err(_)) => Err(crate::Failure::new("the check was cancelled")),
                    Err(_) => {
                        // Dropping the aborted future kills the processes it started.
                        abort.abort();
                        Err(crate::Failure::new(format!(
                            "no verdict within the check's time limit of {} s: something never answered",
                            timeout.as_secs_f64()
                        )))
                    }
                }
            });
            let mut outcome = match result {
                Ok(()) => Outcome { status: Some(Status::Pass), ..Outcome::default() },
                Err(f) => {
                    let o = f.into_outcome();
                    if o.status != Some(Status::Skip) {
                        failed += 1;
                    }
                    o
                }
            };
            outcome.duration_ms = started.elapsed().as_millis() as u64;
            let outcome_failed = outcome.status != Some(Status::Pass);
            channel.send(&Event::End { check: id.to_string(), outcome });
            if outcome_failed {
                failed_ids.push(id);
            }
            let closes_failed_gate = gates
                .iter()
                .any(|g| g.last().is_some_and(|l| l == id) && g.iter().any(|c| failed_ids.contains(&c.as_str())));
            if closes_failed_gate {
                // A gate stage failed: later checks could only fail for the
                // same reason. The grader reports them as not run.
                break;
            }
        }
        runtime.shutdown_timeout(Duration::from_millis(200));
        channel.finish(seed, failed);
        if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }

    fn paths(&self) -> Paths {
        let manifest = PathBuf::from(self.manifest_dir);
        let var = |name: &str| std::env::var_os(name).map(PathBuf::from);
        let subject = var(env::SUBJECT).or_else(|| {
            let bin = self.subject_bin?;
            Some(std::env::current_exe().ok()?.parent()?.join(bin))
        });
        let exercise_dir = var(env::EXERCISE_DIR).unwrap_or_else(|| {
            // By hand: the kit's layout, grader/suites/NN-name -> exercises/NN-name.
            let dir = manifest.file_name().map(PathBuf::from).unwrap_or_default();
            manifest.join("../../../exercises").join(dir)
        });
        Paths {
            subject,
            subject_src: var(env::SUBJECT_SRC),
            reference: var(env::REFERENCE),
            reference_src: var(env::REFERENCE_SRC),
            exercise_dir,
            snapshots: var(env::SNAPSHOTS).unwrap_or_else(|| manifest.join("snapshots")),
            bless: var(env::BLESS),
        }
    }
}

fn serde_json_array(ids: &[&str]) -> String {
    serde_json::to_string(ids).unwrap_or_default()
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

/// Where events go: the grader's results file, or a human summary when the
/// suite runs by hand.
pub(crate) struct Channel {
    file: Option<Mutex<std::fs::File>>,
}

impl Channel {
    fn open(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new().append(true).create(true).open(path)?;
        Ok(Channel { file: Some(Mutex::new(file)) })
    }

    fn human() -> Self {
        Channel { file: None }
    }

    pub(crate) fn process(&self, check: &str, pgid: i32) {
        self.send(&Event::Process { check: check.to_string(), pgid });
    }

    fn send(&self, event: &Event) {
        match &self.file {
            Some(file) => {
                let mut line = serde_json::to_string(event).expect("events serialise");
                line.push('\n');
                // One write per line, so a line is never interleaved.
                let mut f = file.lock().unwrap_or_else(|e| e.into_inner());
                let _ = f.write_all(line.as_bytes());
                let _ = f.flush();
            }
            None => print_human(event),
        }
    }

    fn finish(&self, seed: u64, failed: usize) {
        if self.file.is_none() {
            println!("\n{} failed; replay with GRADE_SEED={seed}", failed);
        }
    }
}

fn print_human(event: &Event) {
    match event {
        Event::Hello { suite, seed, checks, .. } => {
            println!("running {} checks of {suite} (seed {seed})", checks.len())
        }
        Event::Start { .. } | Event::Process { .. } => {}
        Event::End { check, outcome } => match outcome.status {
            Some(Status::Pass) => println!("PASS {check}"),
            Some(Status::Skip) => println!("SKIP {check}: {}", outcome.message),
            _ => {
                println!("FAIL {check}: {}", outcome.message);
                for (label, text) in [("request", &outcome.request), ("response", &outcome.response)] {
                    if let Some(t) = text {
                        println!("  {label}:\n{}", indent(t));
                    }
                }
                if let Some(d) = &outcome.diff {
                    println!("  reference:\n{}\n  yours:\n{}", indent(&d.reference), indent(&d.yours));
                }
            }
        },
    }
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}
