//! GitHub Classroom: the step output its autograding reporter reads.
//!
//! The reporter (github-education-resources/autograding-grading-reporter,
//! `src/main.js`) takes a `runners` list of step ids, reads each runner's
//! result from the variable `<ID>_RESULTS`, decodes it from base64 and
//! parses JSON with a top-level `status` (`pass`, `fail` or `error`: `fail`
//! or `error` fails the job) and `max_score`, and `tests`, each with
//! `name`, `status` (`pass` counts as passed) and `message` (shown when not
//! passed); the points it posts to the classroom are the sum of the tests'
//! `score` out of `max_score` (`src/notify-classroom.js`). So: one test per
//! check, its points as its score.

use std::fmt::Write as _;

use anyhow::Result;
use serde_json::{json, Value};

use super::{Reporter, Sink};
use crate::result::{CheckState, Grade, Status};

pub fn reporter() -> Box<dyn Reporter> {
    Box::new(Classroom)
}

struct Classroom;

impl Reporter for Classroom {
    fn finish(&mut self, grades: &[Grade], sink: &Sink<'_>) -> Result<()> {
        let mut log = String::new();
        for g in grades {
            let _ = writeln!(log, "{}: {}/{} points ({})", g.exercise, g.score, g.max_score, g.status.word());
        }
        deliver(&render(grades), &log, sink)
    }

    fn could_not_grade(&mut self, why: &str, sink: &Sink<'_>) -> Result<()> {
        deliver(&could_not_grade(why), "", sink)
    }
}

/// The payload: version 1 of the reporter's runner result.
pub fn render(grades: &[Grade]) -> Value {
    let status = grades.iter().map(|g| g.status).max_by_key(|s| s.exit_code()).unwrap_or(Status::Pass);
    let mut tests = Vec::new();
    for g in grades {
        for c in &g.checks {
            let (state, note) = match c.state {
                CheckState::Pass => ("pass", ""),
                CheckState::Fail => ("fail", ""),
                CheckState::Skipped => ("fail", "(not run) "),
                CheckState::Error | CheckState::Unavailable => ("error", ""),
            };
            tests.push(json!({
                "name": format!("{} {}: {}", g.exercise, c.id, c.title),
                "status": state,
                "score": c.points,
                "max_score": c.max_points,
                "message": format!("{note}{}", super::details(c)),
                "test_code": format!("cargo grade {} --seed {}", g.exercise, g.seed),
                "execution_time": format!("{:.2}s", c.outcome.duration_ms as f64 / 1000.0),
            }));
        }
    }
    json!({
        "version": 1,
        "status": status.word(),
        "max_score": grades.iter().map(|g| g.max_score).sum::<u32>(),
        "tests": tests,
    })
}

fn could_not_grade(why: &str) -> Value {
    json!({
        "version": 1,
        "status": "error",
        "max_score": 0,
        "tests": [{ "name": "cargo grade", "status": "error", "score": 0, "message": format!("could not grade: {why}") }],
    })
}

/// `result=<base64>` appended to `--output`, else to `$GITHUB_OUTPUT`, else
/// printed; a line per exercise for the log (nothing the student wrote, so
/// nothing in the log can be a workflow command).
fn deliver(payload: &Value, log: &str, sink: &Sink<'_>) -> Result<()> {
    let line = format!("result={}\n", base64(payload.to_string().as_bytes()));
    match (sink.file, std::env::var_os("GITHUB_OUTPUT")) {
        (Some(out), _) => super::append_file(out, &line)?,
        (None, Some(path)) => super::append_file(std::path::Path::new(&path), &line)?,
        (None, None) => {
            print!("{line}");
            return Ok(());
        }
    }
    print!("{log}");
    Ok(())
}

/// Standard base64 with padding (RFC 4648 §4), what `Buffer.from(s, "base64")` reads.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
    }
}
