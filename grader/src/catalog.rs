//! The curriculum as data: exercises found in the workspace (`cargo metadata`)
//! and described by their `exercise.toml` and `variants.toml` files.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::message;

/// The kit: where it is and what it teaches.
#[derive(Debug)]
pub struct Kit {
    pub root: PathBuf,
    pub target_dir: PathBuf,
    pub exercises: Vec<Exercise>,
    /// Exercises whose metadata could not be read: named with the reason,
    /// so one half-written exercise does not stop the others being graded.
    pub broken: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct Exercise {
    /// The directory name, e.g. `01-bind`: the exercise's identity.
    pub id: String,
    /// The Cargo package of the stub, e.g. `bind`.
    pub package: String,
    pub dir: PathBuf,
    pub solution_dir: PathBuf,
    pub suite_dir: PathBuf,
    pub suite_package: String,
    /// Library exercises: the package of the host that links the student's
    /// crate and serves it to the suite (`<suite>/host/`).
    pub host_package: Option<String>,
    pub meta: Meta,
    pub variants: Vec<Variant>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub title: String,
    /// Chapter of the book, relative to `docs/src`.
    pub chapter: String,
    pub kind: Kind,
    /// For server exercises: the binary the suite starts.
    #[serde(default)]
    pub subject_bin: Option<String>,
    /// Time limit of one check, in seconds.
    #[serde(default = "default_check_timeout")]
    pub check_timeout: u64,
    /// Time limit of the whole suite run, in seconds.
    #[serde(default = "default_run_timeout")]
    pub run_timeout: u64,
    #[serde(rename = "stage")]
    pub stages: Vec<Stage>,
    #[serde(rename = "check")]
    pub checks: Vec<CheckMeta>,
    #[serde(default, rename = "hint")]
    pub hints: Vec<Hint>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A binary graded black-box over TCP.
    Server,
    /// A library linked into a host program (the suite's `host/`) that
    /// the suite drives through the library's public API.
    Library,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub id: String,
    pub title: String,
    /// When this stage fails, later stages are not run (they could only
    /// fail for the same reason).
    #[serde(default)]
    pub gate: bool,
    /// What to do when this stage fails.
    #[serde(default)]
    pub advice: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckMeta {
    pub id: String,
    pub stage: String,
    pub title: String,
    #[serde(default = "one")]
    pub points: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hint {
    pub stage: String,
    pub text: String,
}

/// A known-wrong variant: the reference with a common mistake edited in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub name: String,
    pub about: String,
    pub caught_by: Vec<String>,
    #[serde(rename = "edit")]
    pub edits: Vec<Edit>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    pub file: String,
    pub find: String,
    pub replace: String,
}

#[derive(Deserialize)]
struct VariantsFile {
    #[serde(default, rename = "variant")]
    variants: Vec<Variant>,
}

fn default_check_timeout() -> u64 {
    10
}
fn default_run_timeout() -> u64 {
    180
}
fn one() -> u32 {
    1
}

/// Where a library exercise's host crate is, in its suite's folder.
pub const HOST: &str = "host";

/// How alike (Jaro-Winkler) a typed name must be to an exercise's for
/// "did you mean" to name it.
const SUGGESTION_SIMILARITY: f64 = 0.8;

impl Kit {
    /// Find the kit from the current directory. `private_suites` is a folder
    /// of suites in the kit's format (`NN-name/`) that replace the kit's own
    /// for the exercises they cover: hidden checks kept out of the public repo.
    pub fn discover(private_suites: Option<&Path>) -> Result<Kit> {
        if let Some(dir) = private_suites {
            if !dir.is_dir() {
                anyhow::bail!(
                    "--suites {}: no such folder; it should hold one folder per exercise, like grader/suites",
                    dir.display()
                );
            }
        }
        let Workspace { root, target_dir, packages } = Workspace::load()?;

        let mut exercises = Vec::new();
        let mut broken = Vec::new();
        for (package, dir) in &packages {
            if dir.parent() != Some(&root.join("exercises")) {
                continue;
            }
            let id = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            match load_exercise(&root, &id, package, dir, private_suites) {
                Ok(ex) => exercises.push(ex),
                Err(e) => broken.push((id, format!("{e:#}"))),
            }
        }
        exercises.sort_by(|a, b| a.id.cmp(&b.id));
        broken.sort();
        Ok(Kit { root, target_dir, exercises, broken })
    }

    /// Resolve what a user typed: `01-bind`, `01`, `1`, `bind`.
    pub fn resolve(&self, name: &str) -> Result<&Exercise, String> {
        let wanted = name.trim().trim_end_matches('/');
        let wanted = wanted.rsplit('/').next().unwrap_or(wanted);
        let found = self.exercises.iter().find(|e| {
            let (num, topic) = e.id.split_once('-').unwrap_or((&e.id, ""));
            e.id == wanted
                || num == wanted
                || (wanted.parse::<u32>().ok().is_some_and(|n| num.parse::<u32>().ok() == Some(n)))
                || topic == wanted
                || e.package == wanted
        });
        if found.is_none() {
            if let Some((id, why)) = self
                .broken
                .iter()
                .find(|(id, _)| id == wanted || id.split_once('-').is_some_and(|(n, t)| n == wanted || t == wanted))
            {
                return Err(message::broken_exercise(id, why));
            }
        }
        found.ok_or_else(|| {
            let candidates: Vec<&str> = self.exercises.iter().map(|e| e.id.as_str()).collect();
            // A number names a position, not a spelling: no guess for it.
            // A name gets a suggestion only when it is close to one.
            let best = (wanted.parse::<u32>().is_err())
                .then(|| {
                    candidates
                        .iter()
                        .flat_map(|c| {
                            let topic = c.split_once('-').map(|(_, t)| t).unwrap_or(c);
                            [(strsim::jaro_winkler(wanted, c), *c), (strsim::jaro_winkler(wanted, topic), *c)]
                        })
                        .max_by(|a, b| a.0.total_cmp(&b.0))
                        .filter(|(score, _)| *score >= SUGGESTION_SIMILARITY)
                        .map(|(_, c)| c)
                })
                .flatten();
            message::unknown_exercise(name, best, &candidates)
        })
    }
}

fn load_exercise(root: &Path, id: &str, package: &str, dir: &Path, private_suites: Option<&Path>) -> Result<Exercise> {
    let id = id.to_string();
    let suite_dir = match private_suites.map(|d| d.join(&id)).filter(|d| d.is_dir()) {
        Some(private) => std::fs::canonicalize(&private).unwrap_or(private),
        None => root.join("grader/suites").join(&id),
    };
    let solution_dir = root.join("solutions").join(&id);
    let meta_path = suite_dir.join("exercise.toml");
    let text = std::fs::read_to_string(&meta_path).with_context(|| message::missing_metadata(&id, &meta_path))?;
    let meta: Meta = toml::from_str(&text).map_err(|e| anyhow::anyhow!(message::bad_toml(&meta_path, &e)))?;
    let variants_path = suite_dir.join("variants.toml");
    let variants = match std::fs::read_to_string(&variants_path) {
        Ok(text) => {
            toml::from_str::<VariantsFile>(&text)
                .map_err(|e| anyhow::anyhow!(message::bad_toml(&variants_path, &e)))?
                .variants
        }
        Err(_) => Vec::new(),
    };
    let suite_package =
        package_name(&suite_dir.join("Cargo.toml")).with_context(|| message::no_suite_crate(&id, &suite_dir))?;
    let host_package = match meta.kind {
        Kind::Server => None,
        Kind::Library => Some(
            package_name(&suite_dir.join(HOST).join("Cargo.toml"))
                .with_context(|| message::no_host_crate(&id, &suite_dir.join(HOST)))?,
        ),
    };
    let ex = Exercise {
        id,
        package: package.to_string(),
        dir: dir.to_path_buf(),
        solution_dir,
        suite_dir,
        suite_package,
        host_package,
        meta,
        variants,
    };
    ex.validate()?;
    Ok(ex)
}

/// What the catalog needs from `cargo metadata`: the workspace root, the
/// target directory and the packages with their folders.
#[derive(serde::Serialize, Deserialize)]
struct Workspace {
    root: PathBuf,
    target_dir: PathBuf,
    packages: Vec<(String, PathBuf)>,
}

impl Workspace {
    /// `cargo metadata` takes ~20 ms, a noticeable part of a re-grade; its
    /// answer only changes with the manifests, the cargo configuration or
    /// the target-dir settings, so it is kept in `.grade/workspace.json`
    /// under a key made of those.
    fn load() -> Result<Workspace> {
        let key = cache_key();
        let cache = key.as_ref().map(|(root, _)| root.join(".grade").join("workspace.json"));
        if let (Some((_, key)), Some(path)) = (&key, &cache) {
            if let Ok(bytes) = std::fs::read(path) {
                if let Ok((k, ws)) = serde_json::from_slice::<(u64, Workspace)>(&bytes) {
                    if k == *key {
                        return Ok(ws);
                    }
                }
            }
        }
        let metadata = cargo_metadata::MetadataCommand::new()
            .no_deps()
            .exec()
            .map_err(|e| anyhow::anyhow!(message::not_in_kit(&e.to_string())))?;
        let ws = Workspace {
            root: metadata.workspace_root.clone().into_std_path_buf(),
            target_dir: metadata.target_directory.clone().into_std_path_buf(),
            packages: metadata
                .workspace_packages()
                .iter()
                .map(|p| {
                    let dir = p.manifest_path.parent().map(|d| d.as_std_path().to_path_buf()).unwrap_or_default();
                    (p.name.to_string(), dir)
                })
                .collect(),
        };
        if let (Some((root, key)), Some(path)) = (&key, &cache) {
            if root == &ws.root {
                // A cache: failing to write it only costs the next run time.
                let _ = std::fs::create_dir_all(path.parent().expect("has a parent"));
                let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
                if std::fs::write(&tmp, serde_json::to_vec(&(key, &ws)).unwrap_or_default()).is_ok() {
                    let _ = std::fs::rename(&tmp, path);
                }
            }
        }
        Ok(ws)
    }
}

/// The workspace root above the current directory and a fingerprint of
/// everything `cargo metadata`'s answer depends on here.
fn cache_key() -> Option<(PathBuf, u64)> {
    let cwd = std::env::current_dir().ok()?;
    let root = cwd.ancestors().find(|d| {
        std::fs::read_to_string(d.join("Cargo.toml")).is_ok_and(|t| t.lines().any(|l| l.trim() == "[workspace]"))
    })?;
    let mut parts: Vec<String> = vec![cwd.display().to_string()];
    for var in ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR", "CARGO_HOME"] {
        parts.push(format!("{var}={:?}", std::env::var_os(var)));
    }
    let stamp = |p: &Path| -> String {
        std::fs::metadata(p)
            .map(|m| format!("{}:{}:{:?}", p.display(), m.len(), m.modified().ok()))
            .unwrap_or_else(|_| format!("{}:-", p.display()))
    };
    // Cargo configuration from the current directory up, and the manifests.
    for d in cwd.ancestors() {
        parts.push(stamp(&d.join(".cargo/config.toml")));
        parts.push(stamp(&d.join(".cargo/config")));
    }
    parts.push(stamp(&root.join("Cargo.toml")));
    for dir in ["exercises", "solutions", "grader/suites", "bench", "grader", "harness", "harness/protocol"] {
        parts.push(stamp(&root.join(dir).join("Cargo.toml")));
        if let Ok(entries) = std::fs::read_dir(root.join(dir)) {
            let mut names: Vec<PathBuf> = entries.flatten().map(|e| e.path().join("Cargo.toml")).collect();
            names.sort();
            parts.extend(names.iter().map(|p| stamp(p)));
        }
    }
    let mut h = grade_protocol::shared::Fnv::new();
    for part in &parts {
        h.eat(part.as_bytes());
    }
    Some((root.to_path_buf(), h.0))
}

fn package_name(manifest: &Path) -> Result<String> {
    let text = std::fs::read_to_string(manifest).with_context(|| message::cannot_read(manifest))?;
    let table: toml::Table = toml::from_str(&text).with_context(|| message::not_toml(manifest))?;
    table
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!(message::no_package_name(manifest)))
}

impl Exercise {
    fn validate(&self) -> Result<()> {
        let m = &self.meta;
        let problem = |what: String| anyhow::anyhow!("{}: {what}", self.suite_dir.join("exercise.toml").display());
        if m.kind == Kind::Server && m.subject_bin.is_none() {
            return Err(problem("a server exercise needs `subject_bin`".into()));
        }
        for c in &m.checks {
            if c.id.is_empty() || !c.id.chars().all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch)) {
                return Err(problem(format!(
                    "check id `{}` may hold only letters, digits, `.`, `_` and `-` (reports and CI systems name checks by it)",
                    c.id
                )));
            }
            if [crate::result::COMPILE, crate::result::TAMPER].contains(&c.id.as_str()) {
                return Err(problem(format!("check id `{}` is the grader's own; pick another", c.id)));
            }
            if !m.stages.iter().any(|s| s.id == c.stage) {
                return Err(problem(format!("check `{}` names stage `{}`, which is not declared", c.id, c.stage)));
            }
            if m.checks.iter().filter(|o| o.id == c.id).count() > 1 {
                return Err(problem(format!("check `{}` is declared twice", c.id)));
            }
        }
        for v in &self.variants {
            for id in &v.caught_by {
                if !m.checks.iter().any(|c| &c.id == id) {
                    return Err(problem(format!("variant `{}` names check `{id}`, which is not declared", v.name)));
                }
            }
        }
        Ok(())
    }

    pub fn max_score(&self) -> u32 {
        self.meta.checks.iter().map(|c| c.points).sum()
    }

    /// A library exercise's host crate (`None` for a server exercise).
    pub fn host_dir(&self) -> Option<PathBuf> {
        self.host_package.as_ref().map(|_| self.suite_dir.join(HOST))
    }

    /// The chapter as a path from the kit root.
    pub fn chapter_path(&self) -> String {
        format!("docs/src/{}", self.meta.chapter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kit(ids: &[&str]) -> Kit {
        let meta: Meta =
            toml::from_str("title = \"t\"\nchapter = \"c.md\"\nkind = \"library\"\nstage = []\ncheck = []\n").unwrap();
        Kit {
            root: "/kit".into(),
            target_dir: "/kit/target".into(),
            exercises: ids
                .iter()
                .map(|id| Exercise {
                    id: id.to_string(),
                    package: id.split_once('-').unwrap().1.to_string(),
                    dir: format!("/kit/exercises/{id}").into(),
                    solution_dir: format!("/kit/solutions/{id}").into(),
                    suite_dir: format!("/kit/grader/suites/{id}").into(),
                    suite_package: "s".into(),
                    host_package: None,
                    meta: meta.clone(),
                    variants: Vec::new(),
                })
                .collect(),
            broken: Vec::new(),
        }
    }

    #[test]
    fn resolves_every_short_form() {
        let k = kit(&["01-bind", "02-proxy", "03-pool", "10-cache"]);
        for (typed, id) in [
            ("03-pool", "03-pool"),
            ("03", "03-pool"),
            ("3", "03-pool"),
            ("pool", "03-pool"),
            ("10", "10-cache"),
            ("exercises/02-proxy/", "02-proxy"),
        ] {
            assert_eq!(k.resolve(typed).map(|e| e.id.as_str()), Ok(id), "{typed}");
        }
    }

    #[test]
    fn a_typo_gets_the_nearest_name() {
        let k = kit(&["01-bind", "02-proxy", "03-pool"]);
        let err = k.resolve("prxy").unwrap_err();
        assert!(err.contains("did you mean `02-proxy`?"), "{err}");
        assert!(err.contains("exercises: 01-bind, 02-proxy, 03-pool"), "{err}");
    }

    #[test]
    fn numbers_that_match_nothing_are_not_guessed() {
        let k = kit(&["01-bind", "02-proxy", "03-pool", "04-cors", "05-like"]);
        let err = k.resolve("6").unwrap_err();
        assert!(!err.contains("did you mean"), "{err}");
        assert!(err.contains("there are 5 exercises"), "{err}");
    }

    #[test]
    fn a_name_far_from_every_exercise_gets_no_suggestion() {
        let k = kit(&["01-bind", "02-proxy", "03-pool", "04-cors", "05-like"]);
        let err = k.resolve("nosuch").unwrap_err();
        assert!(!err.contains("did you mean"), "{err}");
    }
}
