use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use grade_protocol::{env, Event, Outcome, Status, VERSION};

use crate::channel::Channel;
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
        let args: Vec<String> = std::env::args().collect();
        if args.get(1).map(String::as_str) == Some(crate::sandbox::LAUNCH) {
            return crate::sandbox::launch(&args[2..]);
        }
        match args.get(1).map(String::as_str) {
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
        let settings = match Settings::from_env() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        if let Some(id) = settings.only.iter().flatten().find(|id| !self.checks.iter().any(|(c, _)| c == id)) {
            eprintln!("error: this suite has no check `{id}`");
            return ExitCode::from(2);
        }
        let channel = match std::env::var(env::RESULTS_FD).ok().map(|s| s.parse::<i32>()) {
            Some(Ok(fd)) => match Channel::from_fd(fd) {
                Ok(c) => Arc::new(c),
                Err(e) => {
                    eprintln!("error: cannot use the results pipe: {e}");
                    return ExitCode::from(2);
                }
            },
            Some(Err(_)) => {
                eprintln!("error: {} is not a file descriptor number", env::RESULTS_FD);
                return ExitCode::from(2);
            }
            None => Arc::new(Channel::human()),
        };
        keep_out_of_proc();
        crate::process::raise_open_files_limit();
        // The grader's order when it gives one, else the declaration order.
        let selected: Vec<&(&str, CheckFn)> = match &settings.only {
            Some(only) => only.iter().filter_map(|id| self.checks.iter().find(|(c, _)| c == id)).collect(),
            None => self.checks.iter().collect(),
        };
        channel.send(&Event::Hello {
            version: VERSION,
            suite: self.name.to_string(),
            seed: settings.seed,
            checks: selected.iter().map(|(id, _)| id.to_string()).collect(),
        });
        remember_panic_locations();
        let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("error: cannot start the async runtime: {e}");
                return ExitCode::from(2);
            }
        };
        let paths = Arc::new(self.paths());
        let mut failed_ids: Vec<&str> = Vec::new();
        let mut failed = 0;
        for (id, f) in selected {
            channel.send(&Event::Start { check: id.to_string() });
            let outcome = run_check(&runtime, id, f, &settings, &paths, &channel);
            let status = outcome.status;
            channel.send(&Event::End { check: id.to_string(), outcome });
            if status != Some(Status::Pass) {
                failed_ids.push(id);
                failed += usize::from(status != Some(Status::Skip));
            }
            if settings.closes_failed_gate(id, &failed_ids) {
                // A gate stage failed: later checks could only fail for the
                // same reason. The grader reports them as not run.
                break;
            }
        }
        runtime.shutdown_timeout(Duration::from_millis(200));
        channel.finish(settings.seed, failed);
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
            package: self.subject_bin.map(str::to_string),
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

/// What the grader asked for, from the environment.
struct Settings {
    seed: u64,
    only: Option<Vec<String>>,
    timeout: Duration,
    gates: Vec<Vec<String>>,
}

impl Settings {
    fn from_env() -> Result<Settings, String> {
        let seed = match std::env::var(env::SEED) {
            Ok(s) => s.parse::<u64>().map_err(|_| format!("{}={s:?} is not a number", env::SEED))?,
            Err(_) => fastrand::u64(..),
        };
        let only = match std::env::var(env::ONLY) {
            Ok(s) => Some(grade_protocol::decode_ids(&s).map_err(|e| format!("{}: {e}", env::ONLY))?),
            Err(_) => None,
        };
        let gates = match std::env::var(env::GATES) {
            Ok(s) => grade_protocol::decode_gates(&s).map_err(|e| format!("{}: {e}", env::GATES))?,
            Err(_) => Vec::new(),
        };
        let timeout = std::env::var(env::CHECK_TIMEOUT_MS)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .map(Duration::from_millis)
            .unwrap_or(Duration::from_secs(10));
        Ok(Settings { seed, only, timeout, gates })
    }

    /// `id` is the last check of a gate stage in which some check failed.
    fn closes_failed_gate(&self, id: &str, failed: &[&str]) -> bool {
        self.gates.iter().any(|g| g.last().is_some_and(|l| l == id) && g.iter().any(|c| failed.contains(&c.as_str())))
    }
}

/// One check, and the evidence a student needs when it failed: a
/// reproduction instead of a bare request, and what their program printed.
fn run_check(
    runtime: &tokio::runtime::Runtime,
    id: &str,
    f: &CheckFn,
    settings: &Settings,
    paths: &Arc<Paths>,
    channel: &Arc<Channel>,
) -> Outcome {
    let printed = crate::process::Printed::default();
    let launches = crate::repro::Launches::default();
    let cx = Ctx::new(id, settings.seed, paths.clone(), channel.clone(), printed.clone(), launches.clone());
    let mut outcome = run_one(runtime, f(cx), settings.timeout);
    if let (Some(request), Some(package)) = (&outcome.request, &paths.package) {
        let repro = crate::repro::reproduction(request, &launches, package, &paths.exercise_dir, id);
        outcome.request = repro.or(outcome.request.take());
    }
    if outcome.status == Some(Status::Fail) && !printed.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
        let said = runtime.block_on(crate::process::printed_after_settling(&printed));
        explain_with_output(&mut outcome, said);
    }
    outcome
}

/// Run one check with its time limit; a panic or a timeout is a failure.
fn run_one(runtime: &tokio::runtime::Runtime, fut: CheckFuture, timeout: Duration) -> Outcome {
    let started = Instant::now();
    let result = runtime.block_on(async move {
        let task = tokio::spawn(fut);
        let abort = task.abort_handle();
        match tokio::time::timeout(timeout, task).await {
            Ok(Ok(r)) => r,
            Ok(Err(join)) if join.is_panic() => {
                let at = LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take().unwrap_or_default();
                Err(crate::Failure::new(format!("the code panicked{at}: {}", panic_message(join.into_panic()))))
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
        Err(f) => f.into_outcome(),
    };
    outcome.duration_ms = started.elapsed().as_millis() as u64;
    outcome
}

/// Make this process non-dumpable: its `/proc` entries (environment, open
/// files, memory) become unreadable to the programs it grades, which run as
/// the same user, and they cannot attach a debugger to it. As root (CI and
/// graders run as root) a program with `CAP_SYS_PTRACE` would get past that
/// flag and open the results pipe through `/proc/<suite>/fd/3`, sandbox or
/// not: the capability leaves this process's bounding set, so nothing it
/// starts ever holds it.
fn keep_out_of_proc() {
    /// `CAP_SYS_PTRACE` (linux/capability.h).
    #[cfg(target_os = "linux")]
    const CAP_SYS_PTRACE: libc::c_ulong = 19;
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with these arguments only changes flags of this
    // process; dropping a capability fails harmlessly when not root.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        libc::prctl(libc::PR_CAPBSET_DROP, CAP_SYS_PTRACE, 0, 0, 0);
    }
}

/// Attach what the student's program printed to a failure that had none;
/// when it panicked, say so first: the panic is the real cause, whatever
/// the check saw (a closed connection, no answer).
fn explain_with_output(outcome: &mut Outcome, printed: String) {
    let shown_panic = outcome.output.as_deref().is_some_and(|o| o.contains("panicked at"));
    if printed.trim().is_empty() || shown_panic || (outcome.output.is_some() && !printed.contains("panicked at")) {
        return;
    }
    let Some(line) = printed.lines().find(|l| l.contains("panicked at")) else {
        outcome.output = Some(printed);
        return;
    };
    let what = printed.lines().skip_while(|l| !l.contains("panicked at")).nth(1).unwrap_or("").trim();
    let place = line.split("panicked at ").nth(1).unwrap_or("").trim().trim_end_matches(':');
    outcome.message = format!("your program panicked at {place}: {what}; that is why: {}", outcome.message);
    // Keep what the check attached (a rule file, say) and add the panic.
    let panic: Vec<&str> = printed.lines().skip_while(|l| !l.contains("panicked at")).collect();
    outcome.output = Some(match outcome.output.take() {
        Some(mine) => format!("{mine}\n{}", panic.join("\n")),
        None => printed,
    });
}

/// Where the last panic happened (` at FILE:LINE:COL`): a panic in a
/// library exercise's code is reported with its place, which the payload
/// alone does not carry.
static LAST_PANIC: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

fn remember_panic_locations() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Some(l) = info.location() {
            *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(format!(" at {}:{}:{}", l.file(), l.line(), l.column()));
        }
        default(info);
    }));
}
