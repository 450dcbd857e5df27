//! The result channel between a hidden suite and the grader.
//!
//! The suite writes one JSON object per line to the pipe whose file
//! descriptor [`env::RESULTS_FD`] names; the grader reads the other end. The
//! suite marks that descriptor close-on-exec at once, so no program it
//! starts holds it. Nothing the suite or the student's
//! code prints on stdout or stderr is ever parsed for results, so printing
//! fake test output cannot pass a check.

use serde::{Deserialize, Serialize};

/// Bumped whenever an event changes shape; the grader refuses other versions.
pub const VERSION: u32 = 1;

/// Environment variables the grader sets for a suite process.
pub mod env {
    /// The file descriptor of the results pipe (JSON lines). Its presence
    /// means "run by the grader".
    pub const RESULTS_FD: &str = "GRADE_RESULTS_FD";
    /// The seed for every random choice of the run (decimal u64).
    pub const SEED: &str = "GRADE_SEED";
    /// Path of the subject binary, for server exercises.
    pub const SUBJECT: &str = "GRADE_SUBJECT";
    /// The graded subject's own `src/` (staged copy), for files a student
    /// writes besides code, such as a proxy's rule file.
    pub const SUBJECT_SRC: &str = "GRADE_SUBJECT_SRC";
    /// The reference solution's binary (server exercises), which
    /// differential checks run beside the subject on the same inputs.
    pub const REFERENCE: &str = "GRADE_REFERENCE";
    /// The reference solution's `src/` (for its rule files and the like).
    pub const REFERENCE_SRC: &str = "GRADE_REFERENCE_SRC";
    /// The kit's (trusted) exercise folder, for fixtures such as `public/`.
    pub const EXERCISE_DIR: &str = "GRADE_EXERCISE_DIR";
    /// Folder holding the reference snapshots.
    pub const SNAPSHOTS: &str = "GRADE_SNAPSHOTS";
    /// When set, record snapshots into this folder instead of comparing.
    pub const BLESS: &str = "GRADE_BLESS";
    /// Time limit of one check, in milliseconds.
    pub const CHECK_TIMEOUT_MS: &str = "GRADE_CHECK_TIMEOUT_MS";
    /// How graded programs are confined: `landlock` (the default where the
    /// kernel has it) or `off` (the documented fallback, for comparison and
    /// for systems without it).
    pub const SANDBOX: &str = "GRADE_SANDBOX";
    /// When set (CI sets it), a check that would be skipped for a missing
    /// tool fails instead: the environment promised to have every tool.
    pub const REQUIRE_TOOLS: &str = "KIT_REQUIRE_TOOLS";
    /// The check ids to run, in this order, as a JSON array of strings
    /// (default: all, in declaration order). See [`crate::encode_ids`].
    pub const ONLY: &str = "GRADE_ONLY";
    /// The gate stages, as a JSON array of arrays of check ids. After the
    /// last check of a group, the suite stops if a check of it failed.
    pub const GATES: &str = "GRADE_GATES";
    /// When set, only the verdicts matter (`cargo grade check --variant`
    /// measuring a variant under many seeds): a differential check reports
    /// a difference as found, without spending time shrinking it.
    pub const VERDICT_ONLY: &str = "GRADE_VERDICT_ONLY";
}

/// [`env::ONLY`]'s value: structured, so no character of an id is special.
pub fn encode_ids(ids: &[String]) -> String {
    serde_json::to_string(ids).expect("strings serialise")
}

pub fn decode_ids(text: &str) -> Result<Vec<String>, String> {
    serde_json::from_str(text).map_err(|e| format!("not a JSON array of check ids ({e})"))
}

/// [`env::GATES`]'s value.
pub fn encode_gates(gates: &[Vec<String>]) -> String {
    serde_json::to_string(gates).expect("strings serialise")
}

pub fn decode_gates(text: &str) -> Result<Vec<Vec<String>>, String> {
    serde_json::from_str(text).map_err(|e| format!("not a JSON array of arrays of check ids ({e})"))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// First line: who is speaking and what it will run.
    Hello { version: u32, suite: String, seed: u64, checks: Vec<String> },
    /// A check begins; the grader's watchdog times it from here.
    Start { check: String },
    /// The suite started a process group (a subject server); the grader
    /// kills it at the end whatever happens to the suite.
    Process { check: String, pgid: i32 },
    /// A check ended.
    End { check: String, outcome: Outcome },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    /// The check could not run here (a tool such as a browser is missing).
    /// Never a pass: the grade is incomplete and says how to complete it.
    Skip,
}

/// What a check found, as data: the grader's reporters decide how it looks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub status: Option<Status>,
    /// One sentence: what happened and what was expected.
    pub message: String,
    /// The request that showed it, as a command the student can re-run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// What came back, rendered as a transcript.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    /// A snapshot mismatch: what the reference produced and what yours did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<Diff>,
    /// The tail of what the student's program printed, if it helps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(default)]
    pub duration_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    /// Snapshot name, e.g. `json.health`.
    pub name: String,
    pub reference: String,
    pub yours: String,
}

/// Helpers the grader and the suites must agree on, stated once.
pub mod shared {
    /// The only environment variables a graded program inherits (besides
    /// the ones a check sets): nothing tells it that it is being graded.
    pub const ALLOWED_ENV: &[&str] = &["PATH", "HOME", "LANG", "TZ"];

    /// FNV-1a: fingerprints that only have to notice a change, and the
    /// derivation of each check's random stream from the run's seed.
    #[derive(Debug, Clone, Copy)]
    pub struct Fnv(pub u64);

    impl Default for Fnv {
        fn default() -> Self {
            Fnv(0xcbf2_9ce4_8422_2325)
        }
    }

    impl Fnv {
        pub fn new() -> Fnv {
            Fnv::default()
        }

        /// Hash `bytes` as they are.
        pub fn write(&mut self, bytes: &[u8]) {
            for b in bytes {
                self.0 ^= u64::from(*b);
                self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
            }
        }

        /// Hash one piece of a sequence, with a separator after it, so
        /// ("ab", "c") and ("a", "bc") differ.
        pub fn eat(&mut self, bytes: &[u8]) {
            self.write(bytes);
            self.write(&[0xff]);
        }
    }

    /// FNV-1a of `bytes`.
    pub fn fnv1a(bytes: &[u8]) -> u64 {
        let mut h = Fnv::new();
        h.write(bytes);
        h.0
    }

    /// SIGKILL a whole process group: a program and everything it started
    /// in its group.
    #[cfg(unix)]
    pub fn kill_group(pgid: i32) {
        if pgid > 1 {
            // SAFETY: killpg has no memory effects; a stale pgid only yields ESRCH.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
    }
}
