//! The staging workspace: where a subject is built.
//!
//! Whatever is graded (the student's folder, the reference, a known-wrong
//! variant, a submitted repository) only contributes the files of its `src/`.
//! Everything else (manifests, fixtures, the suite) comes from the kit, so a
//! submission cannot bring a build script or change how it is graded. The
//! staging workspace lives in the kit's target directory and shares it, so
//! dependencies compile once for every kind of subject; files are rewritten
//! only when their contents change, so an unchanged subject is not rebuilt.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use crate::catalog::{Exercise, Kit, Variant};
use crate::message;

/// The files of a subject's `src/`, by path relative to `src/`.
pub type SourceFiles = BTreeMap<PathBuf, Vec<u8>>;

/// What is being graded.
#[derive(Debug, Clone)]
pub enum Source {
    /// The student's own `exercises/NN/src`.
    Worktree,
    /// The reference solution.
    Reference,
    /// The reference with a known mistake edited in.
    Variant(Variant),
    /// Another checkout's `exercises/NN/src` (a submission).
    Submission(PathBuf),
    /// The reference with one cargo-mutants mutation applied: its whole
    /// `src/` (`cargo grade mutants`).
    Mutant { name: String, files: SourceFiles },
}

impl Source {
    /// Where the files come from, as a user would name it.
    pub fn origin(&self, kit: &Kit, ex: &Exercise) -> PathBuf {
        match self {
            Source::Worktree => rel(kit, &ex.dir.join("src")),
            Source::Reference => rel(kit, &ex.solution_dir.join("src")),
            Source::Variant(v) => PathBuf::from(format!("variant {} of {}", v.name, ex.id)),
            Source::Submission(root) => root.join("exercises").join(&ex.id).join("src"),
            Source::Mutant { name, .. } => PathBuf::from(format!("mutant {name} of {}", ex.id)),
        }
    }

    /// A student's files (their folder or a submission), as opposed to the
    /// kit's own reference and its variants.
    pub fn is_students(&self) -> bool {
        matches!(self, Source::Worktree | Source::Submission(_))
    }

    pub fn read(&self, ex: &Exercise) -> Result<SourceFiles> {
        match self {
            Source::Worktree => read_tree(&ex.dir.join("src")),
            Source::Reference => read_tree(&ex.solution_dir.join("src")),
            Source::Mutant { files, .. } => Ok(files.clone()),
            Source::Submission(root) => {
                let dir = root.join("exercises").join(&ex.id).join("src");
                if !dir.is_dir() {
                    bail!(message::submission_lacks(&dir, &ex.id));
                }
                read_tree(&dir)
            }
            Source::Variant(v) => {
                let mut files = read_tree(&ex.solution_dir.join("src"))?;
                for edit in &v.edits {
                    let rel = edit.file.strip_prefix("src/").unwrap_or(&edit.file);
                    let text = files
                        .get_mut(Path::new(rel))
                        .ok_or_else(|| anyhow!(message::variant_edits_missing_file(&v.name, Path::new(&edit.file))))?;
                    let s = String::from_utf8_lossy(text).into_owned();
                    let spans = find_ignoring_whitespace(&s, &edit.find);
                    let [(start, end)] = spans[..] else {
                        bail!(message::variant_find_not_unique(
                            &v.name,
                            spans.len(),
                            Path::new(&edit.file),
                            &edit.find
                        ));
                    };
                    *text = format!("{}{}{}", &s[..start], edit.replace, &s[end..]).into_bytes();
                }
                Ok(files)
            }
        }
    }
}

/// Where `needle` occurs in `hay` when white space is ignored on both sides,
/// as byte spans of `hay`: a variant's edit keeps applying after the
/// reference is reformatted (rustfmt moves line breaks, not tokens).
fn find_ignoring_whitespace(hay: &str, needle: &str) -> Vec<(usize, usize)> {
    let solid: Vec<(usize, char)> = hay.char_indices().filter(|(_, c)| !c.is_whitespace()).collect();
    let want: Vec<char> = needle.chars().filter(|c| !c.is_whitespace()).collect();
    if want.is_empty() || want.len() > solid.len() {
        return Vec::new();
    }
    (0..=solid.len() - want.len())
        .filter(|&i| solid[i..i + want.len()].iter().map(|(_, c)| *c).eq(want.iter().copied()))
        .map(|i| {
            let (last, c) = solid[i + want.len() - 1];
            (solid[i].0, last + c.len_utf8())
        })
        .collect()
}

fn rel(kit: &Kit, p: &Path) -> PathBuf {
    p.strip_prefix(&kit.root).map(Path::to_path_buf).unwrap_or_else(|_| p.to_path_buf())
}

/// Read every regular file below `dir` (symlinks are not followed).
pub fn read_tree(dir: &Path) -> Result<SourceFiles> {
    let mut files = SourceFiles::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| message::cannot_read(&d))? {
            let entry = entry?;
            let kind = entry.file_type()?;
            let path = entry.path();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let bytes = std::fs::read(&path).with_context(|| message::cannot_read(&path))?;
                let rel = path.strip_prefix(dir).expect("below dir").to_path_buf();
                files.insert(rel, bytes);
            }
        }
    }
    Ok(files)
}

/// A prepared staging workspace for one exercise.
pub struct Staged {
    pub ws: PathBuf,
    /// The staging slot (see [`SLOTS`]); 0 for the reference.
    pub slot: u32,
}

pub const SUBJECT: &str = "subject";
pub const SUITE: &str = "suite";
/// A library exercise's host: the subject linked into the program the
/// suite drives (its binary is the subject binary the suite starts).
pub const HOST: &str = "host";
pub const REFERENCE: &str = "reference";

/// Prepare `<target>/grade/ws/<id>` with the kit's files and `files` as the
/// subject's `src/`.
pub fn prepare(kit: &Kit, ex: &Exercise, files: &SourceFiles, slot: u32) -> Result<Staged> {
    let root = kit.target_dir.join("grade").join("ws").join(format!("{}{}", ex.id, slot_suffix(slot)));
    let ws = root.join(member_prefix(slot));
    std::fs::create_dir_all(&ws).with_context(|| message::cannot_create(&ws))?;

    let names: &[&str] = if ex.host_package.is_some() { &[SUBJECT, SUITE, HOST] } else { &[SUBJECT, SUITE] };
    let members: Vec<String> = names.iter().map(|m| format!("{}{m}", member_prefix(slot))).collect();
    let members: Vec<&str> = members.iter().map(String::as_str).collect();
    write_if_changed(&root.join("Cargo.toml"), root_manifest_for(kit, &members)?.as_bytes())?;
    let lock = std::fs::read(kit.root.join("Cargo.lock")).unwrap_or_default();
    let copied = root.join(".kit-lock");
    if std::fs::read(&copied).ok().as_deref() != Some(&lock[..]) {
        std::fs::write(root.join("Cargo.lock"), &lock)?;
        std::fs::write(&copied, &lock)?;
    }

    // The subject: the kit's package around the subject's src/.
    stage_package(ex, &ws.join(SUBJECT), files, &subject_bin_name(ex, slot))?;

    // The suite (a server exercise's may still link the exercise's crate,
    // pointed at the staged subject).
    stage_program(&ex.suite_dir, &ex.suite_package, &suite_bin_name(ex, slot), Some(&ex.dir), &ws.join(SUITE))?;
    // A library's host, linking the staged subject; its binary is the
    // subject binary the suite starts.
    if let (Some(dir), Some(package)) = (ex.host_dir(), &ex.host_package) {
        stage_program(&dir, package, &subject_bin_name(ex, slot), Some(&ex.dir), &ws.join(HOST))?;
    }
    Ok(Staged { ws, slot })
}

/// A kit program (a suite, a host) staged in `to`: its `src/` and
/// manifest, path dependencies made absolute except one on `exercise`,
/// which becomes the staged subject, and its binary (named like its
/// package) renamed to `bin_name`.
fn stage_program(dir: &Path, package: &str, bin_name: &str, exercise: Option<&Path>, to: &Path) -> Result<()> {
    let mut files = read_tree(dir)?;
    files.retain(|p, _| p.starts_with("src") || p == Path::new("Cargo.toml"));
    let mut manifest = rewrite_manifest(dir, &files[Path::new("Cargo.toml")], exercise)?;
    rename_bin(&mut manifest, package, bin_name, "src/main.rs");
    files.insert(PathBuf::from("Cargo.toml"), toml::to_string(&manifest)?.into_bytes());
    mirror(to, &files)
}

/// The kit's package of `ex` around `files` as its `src/`, written to `dir`,
/// its binary renamed to `bin_name`.
fn stage_package(ex: &Exercise, dir: &Path, files: &SourceFiles, bin_name: &str) -> Result<()> {
    let mut kit_files = read_tree(&ex.dir)?;
    kit_files.retain(|p, _| !p.starts_with("src") && !p.starts_with("target"));
    let mut manifest = rewrite_manifest(&ex.dir, &kit_files[Path::new("Cargo.toml")], None)?;
    if let Some(bin) = &ex.meta.subject_bin {
        rename_bin(&mut manifest, bin, bin_name, "src/main.rs");
    }
    kit_files.insert(PathBuf::from("Cargo.toml"), toml::to_string(&manifest)?.into_bytes());
    for (p, bytes) in files {
        kit_files.insert(Path::new("src").join(p), bytes.clone());
    }
    mirror(dir, &kit_files)
}

/// The reference solution of a server exercise, staged in a workspace of its
/// own (`<target>/grade/ws/<id>.reference`) so differential checks can run it
/// beside the subject. Returns the workspace and a fingerprint of everything
/// its binary depends on, so an unchanged reference is never rebuilt.
pub fn prepare_reference(kit: &Kit, ex: &Exercise) -> Result<(Staged, u64)> {
    let ws = kit.target_dir.join("grade").join("ws").join(format!("{}.reference", ex.id));
    std::fs::create_dir_all(&ws).with_context(|| message::cannot_create(&ws))?;
    // A member folder named apart from the subject's: cargo derives a
    // library's file names from its path relative to the workspace, and the
    // two workspaces share one target directory.
    let root = root_manifest_for(kit, &[REFERENCE])?;
    write_if_changed(&ws.join("Cargo.toml"), root.as_bytes())?;
    let lock = std::fs::read(kit.root.join("Cargo.lock")).unwrap_or_default();
    write_if_changed(&ws.join("Cargo.lock"), &lock)?;
    let files = read_tree(&ex.solution_dir.join("src"))?;
    stage_package(ex, &ws.join(REFERENCE), &files, &reference_bin_name(ex))?;
    let mut h = grade_protocol::shared::Fnv::new();
    h.eat(root.as_bytes());
    h.eat(&lock);
    for (p, bytes) in read_tree(&ws.join(REFERENCE))? {
        h.eat(p.to_string_lossy().as_bytes());
        h.eat(&bytes);
    }
    Ok((Staged { ws, slot: 0 }, h.0))
}

/// The staging workspace's manifest for `members`: the kit's shared
/// dependency table and profiles, with path dependencies made absolute.
fn root_manifest_for(kit: &Kit, members: &[&str]) -> Result<String> {
    let path = kit.root.join("Cargo.toml");
    let text = std::fs::read_to_string(&path)?;
    let root: toml::Table = toml::from_str(&text).with_context(|| message::not_toml(&path))?;
    let mut workspace = toml::Table::new();
    workspace.insert("resolver".into(), "2".into());
    workspace.insert("members".into(), toml::Value::Array(members.iter().map(|m| (*m).into()).collect()));
    if let Some(toml::Value::Table(ws)) = root.get("workspace") {
        if let Some(p) = ws.get("package") {
            workspace.insert("package".into(), p.clone());
        }
        if let Some(toml::Value::Table(deps)) = ws.get("dependencies") {
            let mut deps = deps.clone();
            absolutise(&mut deps, &kit.root, None);
            workspace.insert("dependencies".into(), toml::Value::Table(deps));
        }
    }
    let mut out = toml::Table::new();
    out.insert("workspace".into(), toml::Value::Table(workspace));
    if let Some(profile) = root.get("profile") {
        out.insert("profile".into(), profile.clone());
    }
    Ok(format!("# Generated by cargo-grade from the kit's Cargo.toml; do not edit.\n{}", toml::to_string(&out)?))
}

/// Make a package manifest valid at its staged location: path dependencies
/// become absolute, except one on the exercise, which becomes the subject.
fn rewrite_manifest(dir: &Path, bytes: &[u8], exercise: Option<&Path>) -> Result<toml::Table> {
    let text = String::from_utf8_lossy(bytes);
    let mut manifest: toml::Table =
        toml::from_str(&text).with_context(|| message::not_toml(&dir.join("Cargo.toml")))?;
    if let Some(toml::Value::Table(pkg)) = manifest.get_mut("package") {
        pkg.remove("workspace");
        // Build scripts are never part of a grade.
        pkg.insert("build".into(), false.into());
    }
    for key in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(toml::Value::Table(deps)) = manifest.get_mut(key) {
            absolutise(deps, dir, exercise);
        }
    }
    Ok(manifest)
}

/// Staged binaries get names of their own: cargo copies every binary to
/// `target/debug/<name>`, and the kit's workspace builds binaries with the
/// original names into the same folder.
pub fn subject_bin_name(ex: &Exercise, slot: u32) -> String {
    format!("grade-{}-{}{}", ex.id, ex.meta.subject_bin.as_deref().unwrap_or("subject"), slot_suffix(slot))
}

pub fn reference_bin_name(ex: &Exercise) -> String {
    format!("grade-{}-reference", ex.id)
}

pub fn suite_bin_name(ex: &Exercise, slot: u32) -> String {
    format!("grade-{}-suite{}", ex.id, slot_suffix(slot))
}

/// Grades of one exercise at the same time (`batch --jobs`, shards run
/// side by side on one machine, two terminals) each take a staging slot:
/// a workspace of its own (`ws/<id>-slot2/slot2/subject`) and binary names
/// of its own (`...-suite-slot2`), so none rebuilds, rewrites or runs
/// another's subject. Slot 0 has no suffix. A batch's grade takes the
/// first free slot, trying its process's preferred one first (a `--jobs`
/// worker's own, so each worker keeps one slot warm); if all are busy it
/// waits for it. Other grades (a student's, `check`, `mutants`) wait for
/// slot 0, as they always did: a slot's first grade compiles the suite.
pub const SLOTS: u32 = 8;

static PREFERRED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
static ROAMING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// This process grades a class: its grades may take any free slot, `slot`
/// first.
pub fn prefer_slot(slot: u32) {
    PREFERRED.store(slot % SLOTS, std::sync::atomic::Ordering::Relaxed);
    ROAMING.store(true, std::sync::atomic::Ordering::Relaxed);
}

pub fn roaming() -> bool {
    ROAMING.load(std::sync::atomic::Ordering::Relaxed)
}

pub fn preferred_slot() -> u32 {
    PREFERRED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Where the staged members sit below the staging workspace's root: one
/// folder down in slots other than 0, since cargo names a member's
/// artifacts after its path relative to the workspace and every slot
/// shares the target directory.
pub fn member_prefix(slot: u32) -> String {
    if slot > 0 {
        format!("slot{slot}/")
    } else {
        String::new()
    }
}

pub fn slot_suffix(slot: u32) -> String {
    if slot > 0 {
        format!("-slot{slot}")
    } else {
        String::new()
    }
}

fn rename_bin(manifest: &mut toml::Table, old: &str, new: &str, default_path: &str) {
    let bins = manifest.entry("bin").or_insert_with(|| toml::Value::Array(Vec::new()));
    let toml::Value::Array(bins) = bins else {
        return;
    };
    for b in bins.iter_mut() {
        if let toml::Value::Table(t) = b {
            if t.get("name").and_then(|n| n.as_str()) == Some(old) {
                t.insert("name".into(), new.into());
                return;
            }
        }
    }
    let mut t = toml::Table::new();
    t.insert("name".into(), new.into());
    t.insert("path".into(), default_path.into());
    bins.push(toml::Value::Table(t));
}

fn absolutise(deps: &mut toml::Table, base: &Path, exercise: Option<&Path>) {
    for (_, dep) in deps.iter_mut() {
        let toml::Value::Table(spec) = dep else {
            continue;
        };
        let Some(toml::Value::String(p)) = spec.get("path") else {
            continue;
        };
        let abs = normalise(&base.join(p));
        let new = match exercise {
            Some(ex) if normalise(ex) == abs => format!("../{SUBJECT}"),
            _ => abs.to_string_lossy().into_owned(),
        };
        spec.insert("path".into(), new.into());
    }
}

fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Make `dir` hold exactly `files`, touching only what differs.
fn mirror(dir: &Path, files: &SourceFiles) -> Result<()> {
    let existing = if dir.exists() { read_tree(dir)? } else { SourceFiles::new() };
    for (p, old) in &existing {
        if files.get(p) != Some(old) && !files.contains_key(p) {
            std::fs::remove_file(dir.join(p))?;
        }
    }
    for (p, bytes) in files {
        if existing.get(p) != Some(bytes) {
            let path = dir.join(p);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, bytes).with_context(|| message::cannot_write(&path))?;
        }
    }
    Ok(())
}

fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<()> {
    if std::fs::read(path).ok().as_deref() != Some(bytes) {
        std::fs::write(path, bytes).with_context(|| message::cannot_write(path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::find_ignoring_whitespace;

    #[test]
    fn edits_survive_reformatting() {
        let code = "let x = f(\n    a,\n    b\n);\nlet y = f(a, b);\n";
        let spans = find_ignoring_whitespace(code, "let x = f(a, b);");
        assert_eq!(spans.len(), 1);
        let (s, e) = spans[0];
        assert_eq!(&code[s..e], "let x = f(\n    a,\n    b\n);");
        assert_eq!(find_ignoring_whitespace(code, "f(a,b)").len(), 2, "ambiguous finds are counted");
        assert!(find_ignoring_whitespace(code, "g(a)").is_empty());
    }
}
