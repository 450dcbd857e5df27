//! GitHub Actions: a Markdown job summary and `::error` annotations.
//!
//! Student output never reaches the runner's command parser: annotation
//! messages are escaped so they stay on one line, and anything quoted from
//! the student goes in the summary file (which GitHub does not parse for
//! commands) inside a fence longer than any backtick run it contains.

use std::fmt::Write;

use anyhow::Result;

use super::{Reporter, Sink};
use crate::result::{CheckState, Grade};

pub fn reporter() -> Box<dyn Reporter> {
    Box::new(Github)
}

struct Github;

impl Reporter for Github {
    /// The summary goes to `$GITHUB_STEP_SUMMARY` (unless `--output` names a
    /// file for it); the log gets the human report and the annotations.
    fn finish(&mut self, grades: &[Grade], sink: &Sink<'_>) -> Result<()> {
        let summary = summary(grades);
        match (std::env::var_os("GITHUB_STEP_SUMMARY"), sink.file) {
            (Some(path), None) => super::append_file(std::path::Path::new(&path), &summary)?,
            (_, Some(out)) => super::write_file(out, &summary)?,
            (None, None) => {}
        }
        // Nothing the student wrote is printed while the runner listens
        // for workflow commands: annotations are escaped, the human report
        // goes inside a stop-commands block.
        let token = format!("cargo-grade-{}", crate::seed::random_seed());
        let human: String =
            grades.iter().map(|g| super::human::render(g, super::human::Paint(false), sink.root)).collect();
        print!("::stop-commands::{token}\n{human}::{token}::\n{}", annotations(grades));
        Ok(())
    }
}

/// Lines for the workflow log: one `::error` per failing check.
pub fn annotations(grades: &[Grade]) -> String {
    let mut s = String::new();
    for g in grades {
        for c in g
            .checks
            .iter()
            .filter(|c| matches!(c.state, CheckState::Fail | CheckState::Error | CheckState::Unavailable))
        {
            let _ = writeln!(
                s,
                "::error title={}::{}",
                property(&format!("{} {}", g.exercise, c.id)),
                data(&format!(
                    "{} (see the job summary; replay with cargo grade {} --seed {})",
                    c.outcome.message, g.exercise, g.seed
                ))
            );
        }
        let _ = writeln!(
            s,
            "::notice title={}::{}",
            property(&format!("{} score", g.exercise)),
            data(&format!("{}/{} ({})", g.score, g.max_score, g.status.word()))
        );
    }
    s
}

/// The Markdown for `$GITHUB_STEP_SUMMARY`.
pub fn summary(grades: &[Grade]) -> String {
    let mut s = String::from("## cargo grade\n\n| exercise | status | score |\n|---|---|---|\n");
    for g in grades {
        let _ = writeln!(s, "| {} | {} | {}/{} |", cell(&g.exercise), g.status.word(), g.score, g.max_score);
    }
    for g in grades {
        let _ = writeln!(s, "\n### {} ({}/{}, seed {})\n", cell(&g.exercise), g.score, g.max_score, g.seed);
        let _ = writeln!(s, "| check | status | points |\n|---|---|---|");
        for c in &g.checks {
            let _ = writeln!(s, "| `{}` | {} | {}/{} |", c.id, state(c.state), c.points, c.max_points);
        }
        if let Some(c) = g.first_failure() {
            let _ = writeln!(s, "\n**First failure: `{}`**\n", c.id);
            s.push_str(&fenced(&super::details(c)));
        }
    }
    s
}

fn state(s: CheckState) -> &'static str {
    match s {
        CheckState::Pass => "✅ pass",
        CheckState::Fail => "❌ fail",
        CheckState::Error => "⚠️ error",
        CheckState::Skipped => "⏭ skipped",
        CheckState::Unavailable => "⚠️ not run here",
    }
}

/// A fenced block that no content can close early.
pub fn fenced(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}text\n{}\n{fence}\n", text.trim_end())
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// Escaping for a workflow command's message (GitHub's toolkit rules).
fn data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escaping for a workflow command's property value.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}
