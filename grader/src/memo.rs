//! Reusing a verdict when nothing it depends on has changed.
//!
//! A re-grade of the student's own folder with no edit since the last grade
//! would run the same code against the same suite: the grader shows the
//! last verdict instead, says so, and `--fresh` runs the checks anyway.
//! Only complete verdicts of the student's folder are kept (never a grade
//! with a check that could not run, never one with a `--seed` or of a
//! submission), in `.grade/last/<exercise>.json`.

use std::path::{Path, PathBuf};

use crate::catalog::{Exercise, Kit};
use crate::result::{CheckState, Grade};
use crate::stage;
use grade_protocol::shared::Fnv;

/// Everything a verdict depends on: the subject's sources, the suite, the
/// kit's files of the exercise, the harness, the lock file and the grader.
pub fn key(kit: &Kit, ex: &Exercise, check_timeout: Option<u64>) -> Option<u64> {
    let mut h = Fnv::new();
    let trees: [(PathBuf, bool); 5] = [
        (ex.dir.join("src"), false),
        (ex.solution_dir.join("src"), false),
        (ex.dir.clone(), true),
        (ex.suite_dir.clone(), false),
        (kit.root.join("harness"), false),
    ];
    for (dir, skip_src) in trees {
        let mut files = stage::read_tree(&dir).ok()?;
        if skip_src {
            files.retain(|p, _| !p.starts_with("src") && !p.starts_with("target"));
        }
        h.eat(dir.to_string_lossy().as_bytes());
        for (p, bytes) in &files {
            h.eat(p.to_string_lossy().as_bytes());
            h.eat(bytes);
        }
    }
    for file in ["Cargo.lock", "Cargo.toml"] {
        h.eat(&std::fs::read(kit.root.join(file)).unwrap_or_default());
    }
    let exe = std::env::current_exe().ok()?;
    let built = std::fs::metadata(&exe).ok()?.modified().ok()?;
    h.eat(format!("{exe:?} {built:?} {check_timeout:?}").as_bytes());
    Some(h.0)
}

fn path(kit: &Kit, ex: &Exercise) -> PathBuf {
    kit.root.join(".grade").join("last").join(format!("{}.json", ex.id))
}

pub fn load(kit: &Kit, ex: &Exercise, key: u64) -> Option<Grade> {
    let bytes = std::fs::read(path(kit, ex)).ok()?;
    let (k, at, mut grade): (u64, u64, Grade) = serde_json::from_slice(&bytes).ok()?;
    if k != key {
        return None;
    }
    grade.reused_from = Some(at);
    Some(grade)
}

pub fn save(kit: &Kit, ex: &Exercise, key: u64, grade: &Grade) {
    let complete = grade.checks.iter().all(|c| !matches!(c.state, CheckState::Error | CheckState::Unavailable));
    if !complete {
        let _ = std::fs::remove_file(path(kit, ex));
        return;
    }
    let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let file = path(kit, ex);
    let Some(dir) = file.parent() else { return };
    // A cache: failing to write it only costs the next grade its time.
    if std::fs::create_dir_all(dir).is_ok() {
        let tmp: &Path = &dir.join(format!(".{}.{}.tmp", ex.id, std::process::id()));
        if std::fs::write(tmp, serde_json::to_vec(&(key, at, grade)).unwrap_or_default()).is_ok() {
            let _ = std::fs::rename(tmp, &file);
        }
    }
}
