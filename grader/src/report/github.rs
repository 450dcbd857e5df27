//! GitHub Actions: a Markdown job summary and `::error` annotations.
//!
//! Student output never reaches the runner's command parser: annotation
//! messages are escaped so they stay on one line, and anything quoted from
//! the student goes in the summary file (which GitHub does not parse for
//! commands) inside a fence longer than any backtick run it contains.

use std::fmt::Write;

use crate::result::{CheckState, Grade, Status};

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
            data(&format!("{}/{} ({})", g.score, g.max_score, word(g.status)))
        );
    }
    s
}

/// The Markdown for `$GITHUB_STEP_SUMMARY`.
pub fn summary(grades: &[Grade]) -> String {
    let mut s = String::from("## cargo grade\n\n| exercise | status | score |\n|---|---|---|\n");
    for g in grades {
        let _ = writeln!(s, "| {} | {} | {}/{} |", cell(&g.exercise), word(g.status), g.score, g.max_score);
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

fn word(s: Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::Fail => "fail",
        Status::Error => "error",
    }
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
