//! Instructor commands: `new`, `bless`, `check`, and private suites.

mod common;
use common::*;

use std::process::Command;

#[test]
fn a_new_exercise_is_sound_right_away() {
    let _g = serial();
    let tmp = tempfile::tempdir().unwrap();
    copy_kit(tmp.path());
    let o = grade_in(tmp.path(), &["new", "98-scaffolded", "--title", "Say hello"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    for f in [
        "exercises/98-scaffolded/src/main.rs",
        "solutions/98-scaffolded/src/main.rs",
        "grader/suites/98-scaffolded/exercise.toml",
        "grader/suites/98-scaffolded/variants.toml",
        "docs/src/98-scaffolded.md",
    ] {
        assert!(tmp.path().join(f).is_file(), "{f} was not created");
    }
    let toc = std::fs::read_to_string(tmp.path().join("docs/src/SUMMARY.md")).unwrap();
    assert!(toc.contains("(./98-scaffolded.md)"), "{toc}");

    let o = grade_in(tmp.path(), &["check", "98-scaffolded"]);
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(out.contains("the kit is sound") && out.contains("variant ignores-name"), "{out}");

    // The new crates are members of the workspace, so `cargo test` builds
    // them. (Building the copy here would share target/ with the kit under
    // test: same relative paths, same artifact names. The staged builds of
    // `check` above compiled the stub, the reference and the suite.)
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let o = Command::new(cargo)
        .current_dir(tmp.path())
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let meta: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> = meta["packages"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
    for pkg in ["scaffolded", "scaffolded-solution", "scaffolded-suite"] {
        assert!(names.contains(&pkg), "{pkg} is not a workspace member: {names:?}");
    }
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
