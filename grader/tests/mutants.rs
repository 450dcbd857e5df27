//! `cargo grade mutants` and the mutants row of `cargo grade check`: a
//! mutant of the reference that survives every check fails the kit unless
//! `mutants.toml` lists it, with a reason; a stale entry fails too.

mod common;
use common::*;

/// cargo-mutants is a tool CI installs (.ci/run); locally the test says how.
fn have_cargo_mutants() -> bool {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let ok =
        std::process::Command::new(cargo).args(["mutants", "--version"]).output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("KIT_REQUIRE_TOOLS").is_none(),
            "KIT_REQUIRE_TOOLS is set but cargo-mutants is missing: cargo install cargo-mutants --locked"
        );
        eprintln!("SKIPPED: cargo-mutants is not installed (cargo install cargo-mutants --locked)");
    }
    ok
}

/// A toy exercise whose reference has a helper no check can see: its
/// mutants survive.
fn toy_kit() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_kit(tmp.path());
    let o = grade_in(tmp.path(), &["new", "97-toymut"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let main = tmp.path().join("solutions/97-toymut/src/main.rs");
    let text = std::fs::read_to_string(&main).unwrap();
    let text = text.replace(
        "    Json(json!({ \"hello\": name }))\n",
        "    let _ = is_long(&name);\n    Json(json!({ \"hello\": name }))\n",
    ) + "\nfn is_long(name: &str) -> bool {\n    name.len() > 1000\n}\n";
    assert!(text.contains("let _ = is_long"), "the template changed:\n{text}");
    std::fs::write(&main, text).unwrap();
    tmp
}

#[test]
fn check_fails_on_a_survivor_mutants_toml_does_not_list() {
    if !have_cargo_mutants() {
        return;
    }
    let _g = serial();
    let kit = toy_kit();
    let k = kit.path();

    // Every mutant of the toy (a handful) is graded: the helper's survive.
    let o = grade_in(k, &["check", "97-toymut", "--mutants", "50"]);
    let out = stdout(&o);
    assert_eq!(code(&o), 1, "{out}{}", stderr(&o));
    assert!(out.contains("✗ mutants caught"), "{out}");
    assert!(out.contains("SURVIVED `src/main.rs: replace is_long -> bool with false`"), "{out}");
    assert!(out.contains("mutants.toml with the reason"), "{out}");

    // The instructor's command shows the same survivors, keyed for the file.
    let o = grade_in(k, &["mutants", "97-toymut", "--format", "json"]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    let r = json(&o);
    let ex = &r["exercises"][0];
    assert_eq!(r["ok"], false);
    let survivors: Vec<String> = ex["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["outcome"] == "survived")
        .map(|row| row["id"].as_str().unwrap().to_string())
        .collect();
    assert!(survivors.iter().any(|s| s.contains("is_long")), "{r:#}");
    assert!(survivors.iter().all(|s| s.contains("is_long")), "only the helper survives: {survivors:?}");
    assert!(ex["rows"].as_array().unwrap().iter().all(|row| row["cached"] == true), "check's verdicts are reused");

    // Listed with a reason, they count as equivalent and the kit is sound.
    let mut toml = String::new();
    for s in &survivors {
        toml.push_str(&format!("[[equivalent]]\nmutant = {s:?}\nreason = \"is_long's answer is never used\"\n\n"));
    }
    let file = k.join("grader/suites/97-toymut/mutants.toml");
    std::fs::write(&file, &toml).unwrap();
    let o = grade_in(k, &["check", "97-toymut", "--mutants", "50"]);
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(out.contains("✓ mutants caught") && out.contains("equivalent"), "{out}");

    // An entry that matches no mutant is stale: check fails and says so.
    toml.push_str("[[equivalent]]\nmutant = \"src/main.rs: replace gone -> bool with true\"\nreason = \"r\"\n");
    std::fs::write(&file, &toml).unwrap();
    let o = grade_in(k, &["check", "97-toymut", "--mutants", "0"]);
    let out = stdout(&o);
    assert_eq!(code(&o), 1, "{out}{}", stderr(&o));
    assert!(out.contains("matches no mutant of the reference any more"), "{out}");
}

#[test]
fn mutants_of_given_code_are_left_out() {
    if !have_cargo_mutants() {
        return;
    }
    // Listing grades nothing: cheap. 02-proxy's config parser is given
    // code (no todo!() in the stub), so none of its mutants are kept.
    let o = cargo_grade(&["mutants", "02-proxy", "--list"]);
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(out.contains("02-proxy:"), "{out}");
    assert!(!out.contains("src/config.rs"), "given code was mutated:\n{out}");
    assert!(out.contains("src/routing.rs"), "{out}");
}
