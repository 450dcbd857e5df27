//! Running a hidden suite: in its own process group, stage by stage, with a
//! watchdog per check and per run. Results come only from the structured
//! channel; a check that does not report is an error, never a pass.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use grade_protocol::{env, Event, Outcome, Status, VERSION};

use crate::catalog::Exercise;
use crate::message;
use crate::result::{CheckState, Verdict};

/// Extra time past a check's limit before the watchdog acts: the suite's own
/// timeout answers first with a better message.
const GRACE: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(5);
const SUITE_OUTPUT_CAP: usize = 64 * 1024;

pub struct RunOptions<'a> {
    pub suite: &'a Path,
    pub subject: Option<&'a Path>,
    /// The staged copy of the subject's `src/`.
    pub subject_src: Option<&'a Path>,
    /// The reference solution's binary and `src/`, run beside the subject
    /// by differential checks.
    pub reference: Option<&'a Path>,
    pub reference_src: Option<&'a Path>,
    pub seed: u64,
    /// The kit's exercise folder and snapshots (trusted copies).
    pub exercise_dir: &'a Path,
    pub snapshots: &'a Path,
    /// Record snapshots here instead of comparing.
    pub bless: Option<&'a Path>,
    /// Run only these checks (the others are skipped, said so).
    pub only: Option<&'a [String]>,
    /// Overrides the exercise's per-check limit (seconds).
    pub check_timeout: Option<u64>,
}

/// Run every declared check, honouring stage gates; one verdict per check.
pub fn run(ex: &Exercise, opts: &RunOptions<'_>) -> Result<Vec<Verdict>> {
    let started = Instant::now();
    let run_limit = Duration::from_secs(ex.meta.run_timeout);
    let check_limit = Duration::from_secs(opts.check_timeout.unwrap_or(ex.meta.check_timeout));
    let scratch = tempfile::Builder::new().prefix("cargo-grade-run-").tempdir()?;
    let scratch = scratch.path();
    // Every check, stage by stage; the checks of each gate stage tell the
    // suite where to stop when that stage failed.
    let order: Vec<String> = ex
        .meta
        .stages
        .iter()
        .flat_map(|st| ex.meta.checks.iter().filter(move |c| c.stage == st.id).map(|c| c.id.clone()))
        .collect();
    let gates: Vec<Vec<String>> = ex
        .meta
        .stages
        .iter()
        .filter(|st| st.gate)
        .map(|st| ex.meta.checks.iter().filter(|c| c.stage == st.id).map(|c| c.id.clone()).collect::<Vec<_>>())
        .filter(|g| !g.is_empty())
        .collect();
    let mut verdicts: Vec<Verdict> = Vec::new();
    // A selection keeps the gate stages' checks: what the others stand on.
    let (mut pending, unselected): (Vec<String>, Vec<String>) = order
        .iter()
        .cloned()
        .partition(|id| opts.only.is_none_or(|only| only.contains(id) || gates.iter().flatten().any(|g| g == id)));
    verdicts.extend(unselected.iter().map(|id| Verdict::new(id, CheckState::Skipped, message::not_selected())));
    let mut attempts = 0;
    while !pending.is_empty() {
        if crate::sandbox::interrupted() {
            anyhow::bail!(message::interrupted());
        }
        // A gate stage that failed stops everything after it.
        if let Some(gate) = failed_gate(ex, &verdicts) {
            verdicts.extend(pending.drain(..).map(|id| Verdict::new(&id, CheckState::Skipped, message::gated(&gate))));
            break;
        }
        attempts += 1;
        if started.elapsed() >= run_limit || attempts > order.len() + 1 {
            verdicts.extend(
                pending
                    .drain(..)
                    .map(|id| Verdict::new(&id, CheckState::Error, message::run_out_of_time(ex.meta.run_timeout))),
            );
            break;
        }
        // Usually one suite process runs everything; a new one starts only
        // after a check hung or took the process down with it.
        let round = Round::start(opts, &pending, &gates, scratch, check_limit)?;
        let remaining = run_limit.saturating_sub(started.elapsed());
        for v in round.watch(check_limit, remaining)? {
            pending.retain(|p| p != &v.id);
            verdicts.push(v);
        }
    }
    Ok(verdicts)
}

/// The first gate stage with a check that did not pass, if every check of
/// it has a verdict.
fn failed_gate(ex: &Exercise, verdicts: &[Verdict]) -> Option<String> {
    ex.meta.stages.iter().filter(|st| st.gate).find_map(|st| {
        let ids: Vec<&str> = ex.meta.checks.iter().filter(|c| c.stage == st.id).map(|c| c.id.as_str()).collect();
        let done: Vec<&Verdict> = verdicts.iter().filter(|v| ids.contains(&v.id.as_str())).collect();
        (done.len() == ids.len() && done.iter().any(|v| v.state != CheckState::Pass)).then(|| st.id.clone())
    })
}

/// One suite process running some checks.
struct Round {
    child: Child,
    pgid: i32,
    /// Lines from the results pipe, as the reader thread gets them.
    events: mpsc::Receiver<String>,
    output: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    pending: Vec<String>,
}

/// The descriptor number the suite finds the results pipe at.
const RESULTS_FD: i32 = 3;

impl Round {
    fn start(
        opts: &RunOptions<'_>,
        pending: &[String],
        gates: &[Vec<String>],
        scratch: &Path,
        check_limit: Duration,
    ) -> Result<Round> {
        let mut cmd = suite_command(opts, pending, gates, check_limit);
        let (reader, writer) = crate::sandbox::results_pipe()?;
        crate::sandbox::round_started();
        crate::sandbox::pass_fd(&mut cmd, writer.as_raw_fd(), RESULTS_FD);
        crate::sandbox::isolate_network(&mut cmd);
        use std::os::unix::process::CommandExt;
        // Relative paths written by the suite or the subject land in the
        // run's empty scratch folder, never in the student's or the kit's.
        let spawned = cmd
            .current_dir(scratch)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn();
        // Only the suite holds the writing end from here on: the pipe ends
        // when the suite (and whatever it let inherit it) is gone.
        drop(writer);
        if spawned.is_err() {
            crate::sandbox::round_ended();
        }
        let mut child = spawned.with_context(|| message::cannot_start_suite(opts.suite))?;
        let pgid = child.id() as i32;
        let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        for stream in [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as _),
        ]
        .into_iter()
        .flatten()
        {
            let out = output.clone();
            std::thread::spawn(move || capped_copy(stream, &out));
        }
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(reader).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Ok(Round { child, pgid, events, output, pending: pending.to_vec() })
    }

    /// Follow the events until the suite exits or the watchdog fires.
    fn watch(mut self, check_limit: Duration, run_left: Duration) -> Result<Vec<Verdict>> {
        let began = Instant::now();
        let mut follow = Follow::new(&self.pending);
        let mut exit = None;
        loop {
            let status = self.child.try_wait()?;
            match self.events.recv_timeout(POLL) {
                Ok(line) => follow.line(&line),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                // The pipe is closed: nothing more will be said.
                Err(mpsc::RecvTimeoutError::Disconnected) if status.is_none() => std::thread::sleep(POLL),
                Err(mpsc::RecvTimeoutError::Disconnected) => {}
            }
            while let Ok(line) = self.events.try_recv() {
                follow.line(&line);
            }
            if let Some(s) = status {
                // Whatever was still in the pipe belongs to this round: read
                // it to the end (the reader hangs up at end of file), not
                // just until the reader is slow once, which on a busy
                // machine lost the last check's verdict. Bounded, in case
                // something the suite started still holds the pipe.
                let drained_by = Instant::now() + GRACE;
                loop {
                    match self.events.recv_timeout(POLL) {
                        Ok(line) => follow.line(&line),
                        Err(mpsc::RecvTimeoutError::Disconnected) => break,
                        Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() >= drained_by => break,
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                    }
                }
                exit = Some(s);
                break;
            }
            let timed_out = follow.current.as_ref().is_some_and(|(_, t)| t.elapsed() > check_limit + GRACE);
            if timed_out || began.elapsed() > run_left || crate::sandbox::interrupted() {
                break;
            }
        }
        // Whatever happened, nothing this round started survives it.
        crate::sandbox::kill_group(self.pgid);
        for g in &follow.groups {
            crate::sandbox::kill_group(*g);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // And whatever left its group (setsid, a double fork).
        crate::sandbox::round_ended();
        Ok(self.verdicts(follow, exit, check_limit))
    }

    fn verdicts(&self, follow: Follow, exit: Option<std::process::ExitStatus>, check_limit: Duration) -> Vec<Verdict> {
        let Follow { current, mut verdicts, version, .. } = follow;
        if let Some(found) = version.filter(|v| *v != VERSION) {
            // A suite of another protocol version: the kit is inconsistent.
            let why = message::protocol_version(found, VERSION);
            return self.pending.iter().map(|id| Verdict::new(id, CheckState::Error, why.clone())).collect();
        }
        if let Some((check, _)) = current {
            let msg = match exit {
                None => message::check_timed_out(check_limit.as_secs()),
                Some(s) => message::suite_died_during(s.code()),
            };
            let mut v = Verdict::new(&check, CheckState::Fail, msg);
            v.outcome.output = Some(self.output_text()).filter(|s| !s.trim().is_empty());
            verdicts.push(v);
        } else if exit.is_some() && verdicts.is_empty() {
            // The suite ended without running anything: it could not grade.
            let out = self.output_text();
            return self
                .pending
                .iter()
                .map(|id| {
                    let mut v = Verdict::new(id, CheckState::Error, message::missing_report(id));
                    v.outcome.output = Some(out.clone()).filter(|s| !s.trim().is_empty());
                    v
                })
                .collect();
        }
        verdicts
    }

    fn output_text(&self) -> String {
        let out = self.output.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// The suite's command: a cleared environment with only what it needs
/// (nothing else reveals the grader to it or to the student's code).
fn suite_command(opts: &RunOptions<'_>, pending: &[String], gates: &[Vec<String>], check_limit: Duration) -> Command {
    let mut cmd = Command::new(opts.suite);
    cmd.env_clear();
    for key in grade_protocol::shared::ALLOWED_ENV.iter().chain(&[env::REQUIRE_TOOLS, env::SANDBOX]) {
        if let Some(v) = std::env::var_os(key) {
            cmd.env(key, v);
        }
    }
    cmd.env(env::RESULTS_FD, RESULTS_FD.to_string())
        .env(env::SEED, opts.seed.to_string())
        .env(env::ONLY, grade_protocol::encode_ids(pending))
        .env(env::GATES, grade_protocol::encode_gates(gates))
        .env(env::CHECK_TIMEOUT_MS, check_limit.as_millis().to_string())
        .env(env::EXERCISE_DIR, opts.exercise_dir)
        .env(env::SNAPSHOTS, opts.snapshots)
        .env("RUST_BACKTRACE", "0");
    // A selection of checks is a measurement of a variant: no one reads the
    // shrunk case, and shrinking is most of the time a caught variant takes.
    if opts.only.is_some() {
        cmd.env(env::VERDICT_ONLY, "1");
    }
    let optional = [
        (env::SUBJECT, opts.subject),
        (env::SUBJECT_SRC, opts.subject_src),
        (env::REFERENCE, opts.reference),
        (env::REFERENCE_SRC, opts.reference_src),
    ];
    for (key, value) in optional {
        if let Some(v) = value {
            cmd.env(key, v);
        }
    }
    if let Some(b) = opts.bless {
        cmd.env(env::BLESS, b)
            .env("INSTA_UPDATE", "always")
            .env("INSTA_WORKSPACE_ROOT", b)
            .env("INSTA_FORCE_PASS", "0");
    }
    cmd
}

/// The events of one round, read strictly: the first line is `hello` and
/// decides the version; after it, a line that is not an event of the check
/// that is running (a second hello, a malformed line, a verdict for another
/// check) was not written by the suite, and fails the check it came during.
struct Follow {
    pending: Vec<String>,
    version: Option<u32>,
    current: Option<(String, Instant)>,
    /// The check that ended last, for a foreign line between checks.
    last: Option<String>,
    groups: BTreeSet<i32>,
    verdicts: Vec<Verdict>,
}

impl Follow {
    fn new(pending: &[String]) -> Follow {
        Follow {
            pending: pending.to_vec(),
            version: None,
            current: None,
            last: None,
            groups: BTreeSet::new(),
            verdicts: Vec::new(),
        }
    }

    fn line(&mut self, line: &str) {
        let event = serde_json::from_str::<Event>(line.trim());
        match (self.version, event) {
            (None, Ok(Event::Hello { version, .. })) => self.version = Some(version),
            (Some(VERSION), Ok(Event::Start { check })) if self.current.is_none() && self.is_open(&check) => {
                self.current = Some((check, Instant::now()))
            }
            (Some(VERSION), Ok(Event::Process { pgid, .. })) => {
                self.groups.insert(pgid);
            }
            (Some(VERSION), Ok(Event::End { check, outcome }))
                if self.current.as_ref().is_some_and(|(c, _)| *c == check) =>
            {
                self.verdicts.push(Verdict::from_outcome(&check, outcome));
                self.current = None;
                self.last = Some(check);
            }
            (Some(v), _) if v != VERSION => {} // the whole round is refused
            (_, _) => self.foreign(line),
        }
    }

    fn is_open(&self, check: &str) -> bool {
        self.pending.iter().any(|p| p == check) && !self.verdicts.iter().any(|v| v.id == check)
    }

    /// A line the suite did not write: the check it came during fails.
    fn foreign(&mut self, line: &str) {
        let why = message::foreign_result_line(line);
        if let Some((check, _)) = self.current.take() {
            self.verdicts.push(Verdict::new(&check, CheckState::Fail, why));
            self.last = Some(check);
        } else if let Some(v) = self.last.as_ref().and_then(|l| self.verdicts.iter_mut().find(|v| &v.id == l)) {
            *v = Verdict::new(&v.id.clone(), CheckState::Fail, why);
        } else if self.version.is_none() {
            self.version = Some(0);
        }
    }
}

fn capped_copy(mut from: Box<dyn Read + Send>, into: &std::sync::Mutex<Vec<u8>>) {
    let mut buf = [0u8; 8192];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let mut out = into.lock().unwrap_or_else(|e| e.into_inner());
                let room = SUITE_OUTPUT_CAP.saturating_sub(out.len());
                out.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}

impl Verdict {
    fn from_outcome(id: &str, outcome: Outcome) -> Verdict {
        let state = match outcome.status {
            Some(Status::Pass) => CheckState::Pass,
            Some(Status::Skip) => CheckState::Unavailable,
            _ => CheckState::Fail,
        };
        Verdict { id: id.to_string(), state, outcome }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Exercise, Meta};
    use std::path::PathBuf;

    fn exercise(checks: &[&str]) -> Exercise {
        let mut toml = String::from(
            "title = \"t\"\nchapter = \"c.md\"\nkind = \"library\"\ncheck_timeout = 1\nrun_timeout = 30\n[[stage]]\nid = \"s\"\ntitle = \"S\"\n",
        );
        for c in checks {
            toml.push_str(&format!("[[check]]\nid = \"{c}\"\nstage = \"s\"\ntitle = \"{c}\"\n"));
        }
        let meta: Meta = toml::from_str(&toml).expect("valid meta");
        Exercise {
            id: "99-fake".into(),
            package: "fake".into(),
            dir: "/nonexistent".into(),
            solution_dir: "/nonexistent".into(),
            suite_dir: "/nonexistent".into(),
            suite_package: "fake-suite".into(),
            host_package: None,
            meta,
            variants: Vec::new(),
        }
    }

    /// A stand-in suite: a shell script speaking the protocol (or not).
    fn fake_suite(dir: &Path, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("suite.sh");
        let script = format!(
            "#!/bin/sh\nfirst=$(printf %s \"$GRADE_ONLY\" | sed 's/^\\[\"\\([^\"]*\\)\".*/\\1/')\nsay() {{ echo \"$1\" >&3; }}\nsay '{{\"event\":\"hello\",\"version\":1,\"suite\":\"fake\",\"seed\":1,\"checks\":[]}}'\n{body}\n"
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// Run options for a fake suite with no subject, in `dir`.
    fn options<'a>(suite: &'a Path, dir: &'a Path) -> RunOptions<'a> {
        RunOptions {
            suite,
            subject: None,
            subject_src: None,
            reference: None,
            reference_src: None,
            seed: 1,
            exercise_dir: dir,
            snapshots: dir,
            bless: None,
            check_timeout: None,
            only: None,
        }
    }

    fn run_fake(checks: &[&str], body: &str) -> (Vec<Verdict>, Duration) {
        let dir = tempfile::tempdir().unwrap();
        let suite = fake_suite(dir.path(), body);
        let ex = exercise(checks);
        let opts = options(&suite, dir.path());
        let started = Instant::now();
        let v = run(&ex, &opts).expect("runs");
        (v, started.elapsed())
    }

    fn alive(needle: &str) -> bool {
        std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
            std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).replace('\0', " ").contains(needle))
        })
    }

    #[test]
    fn a_hanging_check_is_failed_by_the_watchdog_and_its_processes_killed() {
        let marker = format!("{}.5", 7000 + std::process::id() % 1000);
        let body = format!(
            "say \"{{\\\"event\\\":\\\"start\\\",\\\"check\\\":\\\"$first\\\"}}\"\nsleep {marker} &\nsleep {marker}"
        );
        let (v, took) = run_fake(&["hangs"], &body);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].state, CheckState::Fail);
        assert!(v[0].outcome.message.contains("no verdict within 1 s"), "{}", v[0].outcome.message);
        assert!(took < Duration::from_secs(10), "the watchdog took {took:?}");
        // SIGKILL is delivered at once but acted on when the process is next
        // scheduled: on a busy machine that can take a moment.
        let gone_by = Instant::now() + Duration::from_secs(5);
        while alive(&format!("sleep {marker}")) && Instant::now() < gone_by {
            std::thread::yield_now();
        }
        assert!(!alive(&format!("sleep {marker}")), "a process of the hung suite survived");
    }

    #[test]
    fn a_suite_that_exits_without_reporting_is_an_error_never_a_pass() {
        let (v, _) = run_fake(&["a", "b"], "exit 0");
        assert_eq!(v.len(), 2);
        assert!(v.iter().all(|v| v.state == CheckState::Error), "{v:?}");
        assert!(v[0].outcome.message.contains("never reported"));
    }

    #[test]
    fn exiting_during_a_check_fails_that_check_and_the_rest_still_run() {
        let body = r#"if [ "$first" = "a" ]; then say '{"event":"start","check":"a"}'; exit 0; fi
say "{\"event\":\"start\",\"check\":\"$first\"}"
say "{\"event\":\"end\",\"check\":\"$first\",\"outcome\":{\"status\":\"pass\",\"message\":\"\"}}""#;
        let (v, _) = run_fake(&["a", "b"], body);
        let a = v.iter().find(|v| v.id == "a").unwrap();
        let b = v.iter().find(|v| v.id == "b").unwrap();
        assert_eq!(a.state, CheckState::Fail);
        assert!(a.outcome.message.contains("exited (code 0)"), "{}", a.outcome.message);
        assert_eq!(b.state, CheckState::Pass);
    }

    #[test]
    fn printed_output_is_never_read_as_results() {
        let body = r#"echo '{"event":"end","check":"a","outcome":{"status":"pass","message":""}}'
echo 'PASS a'
exit 0"#;
        let (v, _) = run_fake(&["a"], body);
        assert_eq!(v[0].state, CheckState::Error);
    }

    #[test]
    fn a_line_the_suite_did_not_write_fails_the_check_it_came_during() {
        // During `a`, someone writes a second hello and a pass for `b`.
        let body = r#"say '{"event":"start","check":"a"}'
say '{"event":"hello","version":1,"suite":"forged","seed":1,"checks":[]}'
say '{"event":"end","check":"b","outcome":{"status":"pass","message":""}}'
say '{"event":"start","check":"b"}'
say '{"event":"end","check":"b","outcome":{"status":"pass","message":""}}'"#;
        let (v, _) = run_fake(&["a", "b"], body);
        let a = v.iter().find(|v| v.id == "a").unwrap();
        assert_eq!(a.state, CheckState::Fail, "{a:?}");
        assert!(a.outcome.message.contains("did not write"), "{}", a.outcome.message);
        let b = v.iter().find(|v| v.id == "b").unwrap();
        assert_eq!(b.state, CheckState::Pass, "b ran for real after the forgery: {b:?}");
    }

    #[test]
    fn another_protocol_version_is_an_error_for_every_check_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let suite = fake_suite(dir.path(), "exit 0");
        let text = std::fs::read_to_string(&suite).unwrap().replace("\"version\":1", "\"version\":99");
        std::fs::write(&suite, text).unwrap();
        let ex = exercise(&["a", "b"]);
        let opts = options(&suite, dir.path());
        let v = run(&ex, &opts).expect("a wrong version is a verdict, not a failure to grade");
        assert_eq!(v.len(), 2);
        assert!(v.iter().all(|v| v.state == CheckState::Error && v.outcome.message.contains("99")), "{v:?}");
    }
}
