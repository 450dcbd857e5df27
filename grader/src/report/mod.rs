//! Reporters: each renders finished [`Grade`]s and runs nothing.

pub mod github;
pub mod gradescope;
pub mod human;
pub mod json;
pub mod junit;

use clap::ValueEnum;

use crate::result::CheckResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Stages, the first failure explained, the chapter to read.
    Human,
    /// The versioned JSON report (schema `grade-report/1`, docs/src/grading.md).
    Json,
    /// JUnit XML for GitLab and Jenkins.
    Junit,
    /// Gradescope's results.json.
    Gradescope,
    /// GitHub Actions: `::error` annotations, and a Markdown job summary
    /// written to $GITHUB_STEP_SUMMARY (or --output).
    Github,
}

/// Everything known about a check as plain text, for formats with one text
/// field per test.
pub fn details(c: &CheckResult) -> String {
    let mut s = c.outcome.message.clone();
    if let Some(r) = &c.outcome.request {
        s.push_str(&format!("\n\nrequest:\n{r}"));
    }
    if let Some(r) = &c.outcome.response {
        s.push_str(&format!("\n\nresponse:\n{r}"));
    }
    if let Some(d) = &c.outcome.diff {
        s.push_str(&format!("\n\nreference ({}):\n{}\n\nyours:\n{}", d.name, d.reference, d.yours));
    }
    if let Some(o) = &c.outcome.output {
        s.push_str(&format!("\n\noutput:\n{o}"));
    }
    s
}
