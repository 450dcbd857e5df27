use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::channel::Channel;

/// Everything one check needs: its seeded randomness, where the subject and
/// fixtures are, and the channel to report the processes it starts.
pub struct Ctx {
    pub(crate) check: String,
    pub(crate) seed: u64,
    pub(crate) rng: fastrand::Rng,
    pub(crate) paths: Arc<Paths>,
    pub(crate) channel: Arc<Channel>,
}

#[derive(Debug, Clone)]
pub(crate) struct Paths {
    pub subject: Option<PathBuf>,
    pub subject_src: Option<PathBuf>,
    pub reference: Option<PathBuf>,
    pub reference_src: Option<PathBuf>,
    pub exercise_dir: PathBuf,
    pub snapshots: PathBuf,
    pub bless: Option<PathBuf>,
}

impl Ctx {
    pub(crate) fn new(check: &str, seed: u64, paths: Arc<Paths>, channel: Arc<Channel>) -> Self {
        // Each check gets its own stream derived from the run's seed and its
        // id, so running one check alone replays exactly what it did in the
        // full run.
        let rng = fastrand::Rng::with_seed(seed ^ grade_protocol::shared::fnv1a(check.as_bytes()));
        Ctx { check: check.to_string(), seed, rng, paths, channel }
    }

    pub fn check_id(&self) -> &str {
        &self.check
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The seeded random source of this check.
    pub fn rng(&mut self) -> &mut fastrand::Rng {
        &mut self.rng
    }

    /// A random lowercase word of `len` letters: names, paths, tokens.
    pub fn word(&mut self, len: usize) -> String {
        (0..len).map(|_| self.rng.lowercase()).collect()
    }

    /// The subject binary (server exercises).
    pub fn subject(&self) -> &Path {
        self.paths.subject.as_deref().expect("this suite was started without a subject binary (GRADE_SUBJECT)")
    }

    /// The subject binary, if this run has one.
    pub(crate) fn subject_path(&self) -> Option<&Path> {
        self.paths.subject.as_deref()
    }

    /// The reference solution's binary, run beside the subject by
    /// differential checks; `None` when the suite runs without the grader
    /// (a differential check then reports itself as not run).
    pub fn reference(&self) -> Option<&Path> {
        self.paths.reference.as_deref()
    }

    /// The reference solution's `src/` (its rule files and the like).
    pub fn reference_src(&self) -> Option<&Path> {
        self.paths.reference_src.as_deref()
    }

    /// The graded subject's `src/` (when run by the grader): files a student
    /// writes besides code, such as a rule file, are read from here.
    pub fn subject_src(&self) -> Option<&Path> {
        self.paths.subject_src.as_deref()
    }

    /// The kit's own copy of the exercise folder (fixtures such as `public/`).
    pub fn exercise_dir(&self) -> &Path {
        &self.paths.exercise_dir
    }

    pub(crate) fn report_process(&self, pgid: i32) {
        self.channel.process(&self.check, pgid);
    }

    pub(crate) fn snapshots(&self) -> &Path {
        &self.paths.snapshots
    }

    pub(crate) fn bless_dir(&self) -> Option<&Path> {
        self.paths.bless.as_deref()
    }

    /// A deadline for one network step, well inside the check's own limit.
    pub fn step_timeout(&self) -> Duration {
        Duration::from_secs(3)
    }
}
