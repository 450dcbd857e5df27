//! Where a suite's events go: the grader's results file, or a plain summary
//! when the suite runs by hand.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use grade_protocol::{Event, Status};

/// Where events go: the grader's results file, or a human summary when the
/// suite runs by hand.
pub struct Channel {
    file: Option<Mutex<std::fs::File>>,
}

impl Channel {
    pub(crate) fn open(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new().append(true).create(true).open(path)?;
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
