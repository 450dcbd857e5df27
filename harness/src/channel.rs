//! Where a suite's events go: the grader's results pipe, or a plain summary
//! when the suite runs by hand.

use std::io::Write;
use std::sync::Mutex;

use grade_protocol::{Event, Status};

/// Where events go: the grader's results pipe, or a human summary when the
/// suite runs by hand.
pub struct Channel {
    file: Option<Mutex<std::fs::File>>,
}

impl Channel {
    /// Take the results pipe the grader passed as descriptor `fd`, and
    /// keep it from every program this suite starts.
    #[cfg(unix)]
    pub(crate) fn from_fd(fd: i32) -> std::io::Result<Self> {
        use std::os::fd::FromRawFd;
        // SAFETY: fcntl on a descriptor number has no memory effects; a bad
        // number fails with EBADF, which is reported.
        if fd < 3 || unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
            return Err(std::io::Error::other(format!("descriptor {fd} is not an open results pipe")));
        }
        // SAFETY: the grader opened `fd` for this process alone, and nothing
        // else here owns it.
        let file = unsafe { std::fs::File::from_raw_fd(fd) };
        Ok(Channel { file: Some(Mutex::new(file)) })
    }

    pub(crate) fn human() -> Self {
        Channel { file: None }
    }

    pub(crate) fn process(&self, check: &str, pgid: i32) {
        self.send(&Event::Process { check: check.to_string(), pgid });
    }

    pub(crate) fn send(&self, event: &Event) {
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

    pub(crate) fn finish(&self, seed: u64, failed: usize) {
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
