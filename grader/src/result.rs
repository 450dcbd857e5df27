//! What a grade found, as data. Reporters render it; nothing here prints.

use grade_protocol::Outcome;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    Pass,
    Fail,
    /// Could not be graded (the kit or the machine, not the student).
    Error,
    /// Not run because an earlier stage failed. Never counts as a pass.
    Skipped,
    /// Could not run on this machine (a missing tool such as a browser).
    /// Never counts as a pass: the grade is an error until the tool is there.
    Unavailable,
}

/// The grader's own checks and stage, beside the suite's.
pub const COMPILE: &str = "compile";
pub const TAMPER: &str = "integrity";
pub const BUILD_STAGE: &str = "build";

/// Who made a check: the grader itself (the build, the kit's integrity) or
/// the exercise's suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// The subject compiles ([`COMPILE`]).
    Compile,
    /// The subject left the kit's files alone ([`TAMPER`]).
    Integrity,
    /// A check of the exercise's hidden suite.
    #[default]
    Suite,
}

/// One check's result as the runner saw it.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub id: String,
    pub state: CheckState,
    pub outcome: Outcome,
}

impl Verdict {
    pub fn new(id: &str, state: CheckState, message: String) -> Verdict {
        Verdict { id: id.to_string(), state, outcome: Outcome { message, ..Outcome::default() } }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    Error,
}

impl Status {
    /// The word reports and gradebooks use.
    pub fn word(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
        }
    }

    pub fn exit_code(self) -> u8 {
        match self {
            Status::Pass => 0,
            Status::Fail => 1,
            Status::Error => 2,
        }
    }
}

/// The whole grade of one exercise.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grade {
    pub exercise: String,
    pub title: String,
    pub chapter: String,
    pub subject: String,
    pub seed: u64,
    pub status: Status,
    pub score: u32,
    pub max_score: u32,
    pub duration_ms: u64,
    pub stages: Vec<StageResult>,
    pub checks: Vec<CheckResult>,
    /// The suite binary that ran, when it was built (for `--list`).
    pub suite: Option<std::path::PathBuf>,
    /// When set, nothing had changed since this grade was made (seconds
    /// since the Unix epoch): the verdict was reused, not re-run.
    #[serde(default)]
    pub reused_from: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageResult {
    pub id: String,
    pub title: String,
    pub advice: String,
    pub state: CheckState,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckResult {
    pub id: String,
    #[serde(default)]
    pub kind: CheckKind,
    pub stage: String,
    pub title: String,
    pub state: CheckState,
    pub points: u32,
    pub max_points: u32,
    pub outcome: Outcome,
}

impl Grade {
    /// The first stage that did not pass, if any.
    pub fn first_failing_stage(&self) -> Option<&StageResult> {
        self.stages.iter().find(|s| s.state != CheckState::Pass)
    }

    /// The first check that did not pass and was run.
    pub fn first_failure(&self) -> Option<&CheckResult> {
        self.checks.iter().find(|c| matches!(c.state, CheckState::Fail | CheckState::Error | CheckState::Unavailable))
    }

    pub fn passed(&self) -> usize {
        self.checks.iter().filter(|c| c.state == CheckState::Pass).count()
    }
}

/// A small passing grade, for reporters' tests.
#[cfg(test)]
pub fn sample(exercise: &str) -> Grade {
    Grade {
        exercise: exercise.into(),
        title: "t".into(),
        chapter: "docs/src/c.md".into(),
        subject: "exercises/x/src".into(),
        seed: 1,
        status: Status::Pass,
        score: 1,
        max_score: 1,
        duration_ms: 0,
        stages: Vec::new(),
        checks: Vec::new(),
        suite: None,
        reused_from: None,
    }
}
