//! What the student has achieved, remembered between runs in
//! `.grade/progress.json`, keyed by exercise id so adding or reordering
//! exercises never confuses it. Written atomically (temp file + rename).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::result::{Grade, Status};

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Progress {
    pub version: u32,
    pub exercises: BTreeMap<String, Entry>,
    /// How many hints of each stage the student has asked for, per exercise.
    #[serde(default)]
    pub hints: BTreeMap<String, BTreeMap<String, usize>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub status: Status,
    pub score: u32,
    pub max_score: u32,
    /// The first stage that did not pass, when failing.
    pub stage: Option<String>,
    /// Seconds since the Unix epoch.
    pub graded_at: u64,
    /// A fingerprint of the graded `src/`: when the files change, the
    /// recorded verdict is stale until the next grade.
    #[serde(default)]
    pub source: u64,
}

pub fn path(root: &Path) -> PathBuf {
    root.join(".grade").join("progress.json")
}

impl Progress {
    /// Load, or start afresh when missing or unreadable (it is a cache of
    /// verdicts, never the student's work).
    pub fn load(root: &Path) -> Progress {
        std::fs::read(path(root)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    }

    pub fn record(&mut self, g: &Grade, source: u64) {
        let graded_at =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        self.exercises.insert(
            g.exercise.clone(),
            Entry {
                status: g.status,
                score: g.score,
                max_score: g.max_score,
                stage: g.first_failing_stage().map(|s| s.id.clone()),
                graded_at,
                source,
            },
        );
    }

    pub fn save(&mut self, root: &Path) -> Result<()> {
        self.version = 1;
        let file = path(root);
        let dir = file.parent().expect("has a parent");
        std::fs::create_dir_all(dir).with_context(|| crate::message::cannot_create(dir))?;
        let tmp = dir.join(format!(".progress.{}.tmp", std::process::id()));
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)?;
        std::fs::rename(&tmp, &file).with_context(|| crate::message::cannot_write(&file))?;
        Ok(())
    }
}

/// A stable fingerprint of a set of source files (FNV-1a over paths and
/// contents): it only has to notice a change, not resist an adversary.
pub fn fingerprint(files: &crate::stage::SourceFiles) -> u64 {
    let mut h = grade_protocol::shared::Fnv::new();
    for (p, bytes) in files {
        h.eat(p.to_string_lossy().as_bytes());
        h.eat(bytes);
    }
    h.0
}
