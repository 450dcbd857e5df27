//! Shared by the grader's integration tests: run the real `cargo-grade`
//! binary against the real kit, and build throwaway submissions.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

/// Grades in one test binary run one at a time, so a scan for leftover
/// processes after a grade cannot see another test's subject.
static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn kit_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("grader/ is inside the kit").to_path_buf()
}

pub fn cargo_grade(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-grade"))
        .current_dir(kit_root())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("cargo-grade runs")
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\nstderr:\n{}", stdout(o), stderr(o)))
}

/// A checkout-shaped folder whose `exercises/<id>/src` holds `files`.
pub fn submission(id: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("grade-submission-").tempdir().expect("tempdir");
    for (name, text) in files {
        let path = dir.path().join("exercises").join(id).join("src").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// The reference solution of `id` as a submission.
pub fn reference_submission(id: &str) -> tempfile::TempDir {
    let src = kit_root().join("solutions").join(id).join("src");
    let dir = tempfile::Builder::new().prefix("grade-submission-").tempdir().expect("tempdir");
    copy_dir(&src, &dir.path().join("exercises").join(id).join("src"));
    dir
}

/// The reference solution of `id` with the edits of its known-wrong
/// variant `name` (from grader/suites/ID/variants.toml) applied, as
/// `cargo grade check` applies them, as a submission.
pub fn variant_submission(id: &str, name: &str) -> tempfile::TempDir {
    let sub = reference_submission(id);
    let path = kit_root().join("grader/suites").join(id).join("variants.toml");
    let variants: toml::Value = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let variant = variants["variant"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("{} has no variant {name}", path.display()));
    let src = sub.path().join("exercises").join(id);
    for edit in variant["edit"].as_array().unwrap() {
        let file = src.join(edit["file"].as_str().unwrap());
        let text = std::fs::read_to_string(&file).unwrap();
        let (find, replace) = (edit["find"].as_str().unwrap(), edit["replace"].as_str().unwrap());
        assert_eq!(text.matches(find).count(), 1, "{name}: `{find}` must occur once in {}", file.display());
        std::fs::write(&file, text.replacen(find, replace, 1)).unwrap();
    }
    sub
}

/// The stub of `id` as committed (falls back to the working tree outside git).
pub fn stub_submission(id: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("grade-submission-").tempdir().expect("tempdir");
    let rel = format!("exercises/{id}/src");
    let target = dir.path().join(&rel);
    let listed =
        Command::new("git").current_dir(kit_root()).args(["ls-tree", "-r", "--name-only", "HEAD", "--", &rel]).output();
    let names = listed
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if names.trim().is_empty() {
        copy_dir(&kit_root().join(&rel), &target);
    } else {
        for name in names.lines() {
            let blob =
                Command::new("git").current_dir(kit_root()).args(["show", &format!("HEAD:{name}")]).output().unwrap();
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, blob.stdout).unwrap();
        }
    }
    dir
}

pub fn copy_dir(from: &Path, to: &Path) {
    harness::fs::copy_dir(from, to).unwrap_or_else(|e| panic!("copying {} to {}: {e}", from.display(), to.display()));
}

/// Processes still alive whose command line contains `needle`.
pub fn processes_matching(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let me = std::process::id().to_string();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.chars().all(|c| c.is_ascii_digit()) || name == me {
            continue;
        }
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&raw).replace('\0', " ");
        // A zombie has an empty command line and is not running anything.
        if cmd.contains(needle) {
            found.push(format!("{name}: {cmd}"));
        }
    }
    found
}

/// This kit's built binary of `name` (what a leftover process's command
/// line starts with; other checkouts on the machine have their own).
pub fn kit_binary(name: &str) -> String {
    kit_root().join("target/debug").join(name).display().to_string()
}

/// The processes matching `needle` that are still alive after up to `secs`
/// seconds: a killed process disappears when the kernel next schedules it,
/// which on a busy machine takes a moment.
pub fn survivors(needle: &str, secs: u64) -> Vec<String> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let left = processes_matching(needle);
        if left.is_empty() || std::time::Instant::now() >= until {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The check object with `id` in a JSON report.
pub fn check<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"))
}

/// The files directly in `dir`, by name.
pub fn read_dir_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect();
    files.sort();
    files
}

/// Copy the kit (without target/, .git, progress) so a test can change it.
pub fn copy_kit(to: &Path) {
    fn walk(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if [".git", "target", ".grade"].iter().any(|n| name == *n) {
                continue;
            }
            let kind = entry.file_type().unwrap();
            let target = to.join(&name);
            if kind.is_dir() {
                walk(&entry.path(), &target);
            } else if kind.is_symlink() {
                std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), target).unwrap();
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    walk(&kit_root(), to);
}

/// Run cargo-grade in another copy of the kit, reusing this kit's compiled
/// dependencies.
pub fn grade_in(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-grade"))
        .current_dir(dir)
        .args(args)
        // Reuse the compiled dependencies of the kit under test.
        .env("CARGO_TARGET_DIR", kit_root().join("target"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}
