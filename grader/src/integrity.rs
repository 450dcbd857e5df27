//! The kit's own files stay the kit's. Before a suite runs, everything a
//! grade depends on is read: the suite's folder and snapshots, the
//! exercise's files outside `src/`, the reference solution, the harness,
//! the grader's sources and templates, and the workspace's manifests; the
//! built suite and reference binaries are noted (size and change time).
//! Afterwards the files are compared and, if the subject wrote into them,
//! restored, and the grade fails; a binary that changed is deleted, so the
//! next grade (in a batch: the next student's) builds it afresh. The suite
//! itself reads a private copy of the snapshots, so tampering cannot change
//! this grade either.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::catalog::{Exercise, Kit};
use crate::stage::{self, SourceFiles};

pub struct Guard {
    trees: Vec<Tree>,
    binaries: Vec<(PathBuf, Option<Stamp>)>,
    snapshots: tempfile::TempDir,
}

/// A folder (or one file) of the kit, and what it held.
struct Tree {
    path: PathBuf,
    /// For the exercise folder: the student's `src/` is theirs to change.
    skip_src: bool,
    files: SourceFiles,
}

type Stamp = (u64, i64, i64);

fn read(path: &Path, skip_src: bool) -> Result<SourceFiles> {
    let mut files = if path.is_dir() {
        stage::read_tree(path)?
    } else if path.is_file() {
        SourceFiles::from([(PathBuf::new(), std::fs::read(path)?)])
    } else {
        SourceFiles::new()
    };
    files.retain(|p, _| !p.starts_with("target") && !(skip_src && p.starts_with("src")));
    Ok(files)
}

fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.size(), m.ctime(), m.ctime_nsec()))
}

impl Guard {
    /// `binaries`: built programs the grade runs (the suite, the reference).
    pub fn take(kit: &Kit, ex: &Exercise, binaries: &[&Path]) -> Result<Guard> {
        let kit_paths: Vec<(PathBuf, bool)> = vec![
            (ex.suite_dir.clone(), false),
            (ex.dir.clone(), true),
            (ex.solution_dir.clone(), false),
            (kit.root.join("harness"), false),
            (kit.root.join("grader/src"), false),
            (kit.root.join("grader/templates"), false),
            (kit.root.join("grader/Cargo.toml"), false),
            (kit.root.join("Cargo.toml"), false),
            (kit.root.join("Cargo.lock"), false),
            (kit.root.join(".cargo/config.toml"), false),
        ];
        let mut trees = Vec::new();
        for (path, skip_src) in kit_paths {
            let files = read(&path, skip_src)?;
            trees.push(Tree { path, skip_src, files });
        }
        let snapshots = tempfile::Builder::new().prefix("cargo-grade-snapshots-").tempdir()?;
        for (p, bytes) in &trees[0].files {
            if let Ok(rel) = p.strip_prefix("snapshots") {
                let path = snapshots.path().join(rel);
                std::fs::create_dir_all(path.parent().expect("has a parent"))?;
                std::fs::write(path, bytes)?;
            }
        }
        let binaries = binaries.iter().map(|b| (b.to_path_buf(), stamp(b))).collect();
        Ok(Guard { trees, binaries, snapshots })
    }

    /// The private copy of the snapshots the suite compares with.
    pub fn snapshots(&self) -> &Path {
        self.snapshots.path()
    }

    /// Restore whatever the run changed; name the files, if any.
    pub fn restore_if_changed(&self) -> Result<Option<String>> {
        let mut changed = Vec::new();
        for tree in &self.trees {
            let after = read(&tree.path, tree.skip_src)?;
            if after == tree.files {
                continue;
            }
            let paths: BTreeSet<&PathBuf> =
                after.keys().chain(tree.files.keys()).filter(|p| after.get(*p) != tree.files.get(*p)).collect();
            for p in paths {
                let file = if p.as_os_str().is_empty() { tree.path.clone() } else { tree.path.join(p) };
                changed.push(file.display().to_string());
                match tree.files.get(p) {
                    Some(bytes) => {
                        std::fs::create_dir_all(file.parent().expect("has a parent"))?;
                        std::fs::write(&file, bytes)?;
                    }
                    None => {
                        let _ = std::fs::remove_file(&file);
                    }
                }
            }
        }
        for (binary, before) in &self.binaries {
            if stamp(binary) != *before {
                // Cargo would take a tampered binary that is newer than its
                // sources as up to date: remove it, so it is built again.
                forget_binary(binary);
                changed.push(binary.display().to_string());
            }
        }
        Ok(if changed.is_empty() { None } else { Some(changed.join(", ")) })
    }
}

/// Remove a built binary and cargo's copy of it in `deps/` (often the same
/// file, hard-linked): cargo then links it again instead of trusting it.
fn forget_binary(binary: &Path) {
    let _ = std::fs::remove_file(binary);
    let (Some(dir), Some(name)) = (binary.parent(), binary.file_name()) else { return };
    let prefix = format!("{}-", name.to_string_lossy().replace('-', "_"));
    for entry in std::fs::read_dir(dir.join("deps")).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
