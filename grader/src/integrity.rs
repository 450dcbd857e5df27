//! The kit's own files stay the kit's. Before a suite runs, the files the
//! subject must not change (the suite's folder, the exercise's files outside
//! `src/`) are read; afterwards they are compared and, if the subject wrote
//! into them, restored, and the grade fails. The suite itself reads a
//! private copy of the snapshots, so tampering cannot change this grade
//! either.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::catalog::Exercise;
use crate::stage::{self, SourceFiles};

pub struct Guard {
    trees: Vec<(PathBuf, SourceFiles)>,
    snapshots: tempfile::TempDir,
}

fn read(dir: &Path, skip_src: bool) -> Result<SourceFiles> {
    let mut files = if dir.is_dir() { stage::read_tree(dir)? } else { SourceFiles::new() };
    if skip_src {
        files.retain(|p, _| !p.starts_with("src") && !p.starts_with("target"));
    }
    Ok(files)
}

impl Guard {
    pub fn take(ex: &Exercise) -> Result<Guard> {
        let suite = read(&ex.suite_dir, false)?;
        let snapshots = tempfile::Builder::new().prefix("cargo-grade-snapshots-").tempdir()?;
        for (p, bytes) in &suite {
            if let Ok(rel) = p.strip_prefix("snapshots") {
                let path = snapshots.path().join(rel);
                std::fs::create_dir_all(path.parent().expect("has a parent"))?;
                std::fs::write(path, bytes)?;
            }
        }
        let exercise = read(&ex.dir, true)?;
        Ok(Guard { trees: vec![(ex.suite_dir.clone(), suite), (ex.dir.clone(), exercise)], snapshots })
    }

    /// The private copy of the snapshots the suite compares with.
    pub fn snapshots(&self) -> &Path {
        self.snapshots.path()
    }

    /// Restore whatever the run changed; name the files, if any.
    pub fn restore_if_changed(&self) -> Result<Option<String>> {
        let mut changed = Vec::new();
        for (i, (dir, before)) in self.trees.iter().enumerate() {
            let after = read(dir, i == 1)?;
            if &after == before {
                continue;
            }
            let paths: BTreeSet<&PathBuf> =
                after.keys().chain(before.keys()).filter(|p| after.get(*p) != before.get(*p)).collect();
            for p in paths {
                changed.push(dir.join(p).display().to_string());
                match before.get(p) {
                    Some(bytes) => {
                        std::fs::create_dir_all(dir.join(p).parent().expect("has a parent"))?;
                        std::fs::write(dir.join(p), bytes)?;
                    }
                    None => {
                        let _ = std::fs::remove_file(dir.join(p));
                    }
                }
            }
        }
        Ok(if changed.is_empty() { None } else { Some(changed.join(", ")) })
    }
}
