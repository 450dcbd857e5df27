//! Instructor commands: `new`, `bless`, `check`, and private suites.

mod common;
use common::*;

use std::path::Path;
use std::process::Command;

/// `cargo grade new` with `args` in a scratch copy of the kit; the files
/// named must exist and the chapter must be listed with the exercises,
/// before the appendix (`---`).
fn scaffold(args: &[&str], id: &str, files: &[&str]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_kit(tmp.path());
    let o = grade_in(tmp.path(), args);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    for f in files {
        assert!(tmp.path().join(f).is_file(), "{f} was not created");
    }
    let toc = std::fs::read_to_string(tmp.path().join("docs/src/SUMMARY.md")).unwrap();
    let appendix = toc.find("\n---").unwrap_or(toc.len());
    let entry = toc.find(&format!("(./{id}.md)"));
    assert!(entry.is_some_and(|at| at < appendix), "the chapter is not listed among the exercises: {toc}");
    tmp
}

/// `cargo grade check` of the new exercise: sound, every variant caught.
fn assert_sound(kit: &Path, id: &str, variants: &[&str]) {
    let o = grade_in(kit, &["check", id]);
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(out.contains("the kit is sound"), "{out}");
    for v in variants {
        assert!(out.contains(&format!("✓ variant {v} ")), "variant {v} not caught: {out}");
    }
}

/// The kit's packages (`cargo metadata`) in a copy. The new crates are
/// members of the workspace, so `cargo test` builds them. (Building the copy
/// here would share target/ with the kit under test: same relative paths,
/// same artifact names. The staged builds of `check` compiled the stub, the
/// reference and the suite.)
fn packages(kit: &Path) -> Vec<serde_json::Value> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let o =
        Command::new(cargo).current_dir(kit).args(["metadata", "--no-deps", "--format-version", "1"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let meta: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    meta["packages"].as_array().unwrap().clone()
}

fn package<'a>(packages: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    let names: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    packages.iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("{name} is not a workspace member: {names:?}"))
}

#[test]
fn a_new_exercise_is_sound_right_away() {
    let _g = serial();
    let files = [
        "exercises/98-scaffolded/src/main.rs",
        "solutions/98-scaffolded/src/main.rs",
        "grader/suites/98-scaffolded/exercise.toml",
        "grader/suites/98-scaffolded/variants.toml",
        "docs/src/98-scaffolded.md",
    ];
    let tmp = scaffold(&["new", "98-scaffolded", "--title", "Say hello"], "98-scaffolded", &files);
    assert_sound(tmp.path(), "98-scaffolded", &["ignores-name"]);
    let packages = packages(tmp.path());
    for pkg in ["scaffolded", "scaffolded-solution", "scaffolded-suite"] {
        package(&packages, pkg);
    }
}

#[test]
fn a_new_library_exercise_is_sound_right_away() {
    let _g = serial();
    let id = "97-scaffolded-lib";
    let files = [
        "exercises/97-scaffolded-lib/src/lib.rs",
        "solutions/97-scaffolded-lib/src/lib.rs",
        "grader/suites/97-scaffolded-lib/src/main.rs",
        "grader/suites/97-scaffolded-lib/src/subject.rs",
        "grader/suites/97-scaffolded-lib/host/src/main.rs",
        "grader/suites/97-scaffolded-lib/exercise.toml",
        "grader/suites/97-scaffolded-lib/variants.toml",
        "docs/src/97-scaffolded-lib.md",
    ];
    let tmp = scaffold(&["new", id, "--kind", "library"], id, &files);
    let meta = std::fs::read_to_string(tmp.path().join("grader/suites").join(id).join("exercise.toml")).unwrap();
    assert!(meta.contains("kind = \"library\"") && !meta.contains("subject_bin"), "{meta}");
    assert!(!tmp.path().join("exercises").join(id).join("src/main.rs").exists(), "a library has no main.rs");
    assert_sound(tmp.path(), id, &["ignores-name", "blank-not-trimmed"]);

    // The stub and the reference are one library crate (the reference's src/
    // over the stub's is a submission); the host links the stub, the suite
    // does not (it drives the host from a process of its own).
    let packages = packages(tmp.path());
    let lib_name = |pkg: &str| -> String {
        let targets = package(&packages, pkg)["targets"].as_array().unwrap().clone();
        let lib = targets.iter().find(|t| t["kind"][0] == "lib").unwrap_or_else(|| panic!("{pkg} has no library"));
        lib["name"].as_str().unwrap().to_string()
    };
    assert_eq!(lib_name("scaffolded-lib"), "scaffolded_lib");
    assert_eq!(lib_name("scaffolded-lib-solution"), "scaffolded_lib");
    let links = |pkg: &str| {
        package(&packages, pkg)["dependencies"].as_array().unwrap().iter().any(|d| {
            d["name"] == "scaffolded-lib"
                && d["rename"] == "subject"
                && d["path"].as_str().is_some_and(|p| p.ends_with(id))
        })
    };
    assert!(links("scaffolded-lib-host"), "the host does not link the exercise as `subject`");
    let suite = package(&packages, "scaffolded-lib-suite");
    assert!(
        !suite["dependencies"].as_array().unwrap().iter().any(|d| d["name"] == "scaffolded-lib"),
        "the suite links the student's crate: {:#}",
        suite["dependencies"]
    );
}

#[test]
fn new_refuses_bad_or_taken_names_and_writes_nothing() {
    for (name, says) in [
        ("01-bind", "taken"),
        ("01-other", "number 01 is taken"),
        ("7-x", "two digits"),
        ("08-Bad", "two digits"),
        ("08_demo", "two digits"),
    ] {
        let o = cargo_grade(&["new", name]);
        assert_eq!(code(&o), 2, "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{name}: {}", stderr(&o));
        if name != "01-bind" {
            assert!(!kit_root().join("exercises").join(name).exists(), "{name} was written");
            assert!(!kit_root().join("grader/suites").join(name).exists(), "{name} was written");
        }
    }
}

#[test]
fn bless_on_an_unchanged_reference_changes_no_file() {
    let _g = serial();
    let dir = kit_root().join("grader/suites/01-bind/snapshots");
    let before: Vec<(String, Vec<u8>, std::time::SystemTime)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap(), m.modified().unwrap())
        })
        .collect();
    let o = cargo_grade(&["bless", "01-bind"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("nothing changed"), "{}", stdout(&o));
    for (name, bytes, mtime) in before {
        let path = dir.join(&name);
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name} changed");
        assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), mtime, "{name} was rewritten");
    }
}

#[test]
fn a_private_suites_folder_replaces_the_kits_suite() {
    let _g = serial();
    let private = tempfile::tempdir().unwrap();
    let suite = private.path().join("01-bind");
    copy_dir(&kit_root().join("grader/suites/01-bind"), &suite);
    let edit = |file: &str, from: &str, to: &str| {
        let p = suite.join(file);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{file} lacks {from}");
        std::fs::write(&p, text.replace(from, to)).unwrap();
    };
    edit("Cargo.toml", "bind-suite", "bind-private-suite");
    edit("src/main.rs", r#".check("bind.listens","#, r#".check("private.listens","#);
    edit("exercise.toml", r#"id = "bind.listens""#, r#"id = "private.listens""#);
    edit("variants.toml", r#"caught_by = ["bind.listens"]"#, r#"caught_by = ["private.listens"]"#);
    let dir = private.path().to_string_lossy().into_owned();
    let o = cargo_grade(&["01-bind", "--reference", "--suites", &dir, "--format", "json"]);
    let r = json(&o);
    assert_eq!(code(&o), 0, "{r:#}");
    assert_eq!(check(&r, "private.listens")["status"], "pass");
    assert!(r["checks"].as_array().unwrap().iter().all(|c| c["id"] != "bind.listens"));

    let o = cargo_grade(&["01-bind", "--suites", "/nonexistent/suites"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no such folder"), "{}", stderr(&o));
}
