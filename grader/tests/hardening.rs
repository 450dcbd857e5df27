//! Submissions written to fool or break the grader. None may pass, each is
//! explained, the run stays bounded, and nothing outlives it.

mod common;
use common::*;

fn grade(dir: &std::path::Path, extra: &[&str]) -> (std::process::Output, serde_json::Value) {
    let path = dir.to_string_lossy().into_owned();
    let mut args = vec!["01-bind", "--submission", &path, "--format", "json"];
    args.extend_from_slice(extra);
    let o = cargo_grade(&args);
    let r = json(&o);
    (o, r)
}

#[test]
fn writing_into_the_kits_suites_and_snapshots_has_no_effect_and_fails() {
    let _g = serial();
    let snap = kit_root().join("grader/suites/01-bind/snapshots/json.health.snap");
    let meta = kit_root().join("grader/suites/01-bind/exercise.toml");
    let (snap_before, meta_before) = (std::fs::read(&snap).unwrap(), std::fs::read(&meta).unwrap());
    let vandal = format!(
        r#"fn main() {{
    let _ = std::fs::write({:?}, "---\nsource: x\n---\nanything goes\n");
    let _ = std::fs::write({:?}, "title = \"pwned\"\n");
    std::process::exit(1);
}}
"#,
        snap.display().to_string(),
        meta.display().to_string()
    );
    let sub = submission("01-bind", &[("main.rs", &vandal)]);
    let (o, r) = grade(sub.path(), &[]);
    assert_eq!(code(&o), 1, "{r:#}");
    let integrity = check(&r, "integrity");
    assert_eq!(integrity["status"], "fail", "{r:#}");
    let said = integrity["message"].as_str().unwrap();
    assert!(said.contains("json.health.snap") && said.contains("exercise.toml"), "{integrity}");
    assert_eq!(std::fs::read(&snap).unwrap(), snap_before, "the kit's snapshot must be restored");
    assert_eq!(std::fs::read(&meta).unwrap(), meta_before, "the suite's metadata must be restored");
    assert_eq!(r["score"], 0);
}

#[test]
fn a_build_script_and_manifest_in_the_submission_are_ignored() {
    let _g = serial();
    let marker = std::env::temp_dir().join(format!("grade-build-rs-ran-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let sub = reference_submission("01-bind");
    let ex = sub.path().join("exercises/01-bind");
    std::fs::write(
        ex.join("build.rs"),
        format!("fn main() {{ std::fs::write({:?}, b\"ran\").unwrap(); }}\n", marker.display().to_string()),
    )
    .unwrap();
    std::fs::write(
        ex.join("Cargo.toml"),
        "[package]\nname = \"bind\"\nversion = \"0.1.0\"\nedition = \"2021\"\nbuild = \"build.rs\"\n",
    )
    .unwrap();
    // A build.rs inside src/ is not a build script either.
    std::fs::write(ex.join("src/build.rs"), "compile_error!(\"never compiled\");\n").unwrap();
    let (o, r) = grade(sub.path(), &[]);
    assert_eq!(code(&o), 0, "{r:#}");
    assert!(!marker.exists(), "the submission's build.rs ran");
}

#[test]
fn the_student_program_sees_a_minimal_environment() {
    let _g = serial();
    let dump = std::env::temp_dir().join(format!("grade-env-dump-{}", std::process::id()));
    let _ = std::fs::remove_file(&dump);
    let spy = format!(
        r#"fn main() {{
    let keys: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
    let _ = std::fs::write({:?}, keys.join("\n"));
    std::process::exit(1);
}}
"#,
        dump.display().to_string()
    );
    let sub = submission("01-bind", &[("main.rs", &spy)]);
    let (o, _) = grade(sub.path(), &[]);
    assert_eq!(code(&o), 1);
    let seen = std::fs::read_to_string(&dump).expect("the program ran and wrote its environment");
    let allowed = ["PATH", "HOME", "LANG", "TZ", "RUST_BACKTRACE", "HOST", "PORT", "PUBLIC_DIR"];
    for key in seen.lines() {
        assert!(allowed.contains(&key), "the student program saw {key}; only {allowed:?} may reach it");
    }
    let _ = std::fs::remove_file(&dump);
}

#[test]
fn endless_output_is_capped_and_the_run_is_bounded() {
    let _g = serial();
    let flood = r#"use std::io::Write;
fn main() {
    let line = "x".repeat(65536) + "\n";
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    loop {
        let _ = out.write_all(line.as_bytes());
        let _ = err.write_all(line.as_bytes());
    }
}
"#;
    let sub = submission("01-bind", &[("main.rs", flood)]);
    let started = std::time::Instant::now();
    let (o, r) = grade(sub.path(), &["--check-timeout", "2"]);
    assert_eq!(code(&o), 1, "{r:#}");
    assert!(started.elapsed().as_secs() < 60, "took {:?}", started.elapsed());
    assert!(o.stdout.len() < 1024 * 1024, "the report carried {} bytes", o.stdout.len());
    assert!(processes_matching("grade-01-bind-bind").is_empty(), "the flooding program survived");
}

/// A program that leaves its process group every way it can: `setsid -f`,
/// a double fork through a shell, and a new group of its own
/// (`Command::process_group(0)`, std only). After the grade, none of them
/// may be alive (on Linux the grader is their subreaper).
#[test]
#[cfg(target_os = "linux")]
fn processes_that_escape_their_group_do_not_outlive_the_grade() {
    let _g = serial();
    let marker = format!("{}.{}", 4000 + std::process::id() % 1000, std::process::id() % 97);
    let escape = format!(
        r#"use std::os::unix::process::CommandExt;
use std::process::Command;
fn main() {{
    let _ = Command::new("setsid").args(["-f", "sleep", "{marker}1"]).status();
    let _ = Command::new("sh").args(["-c", "(sleep {marker}2 &) &"]).status();
    let _ = Command::new("sleep").arg("{marker}3").process_group(0).spawn();
    std::process::exit(1);
}}
"#
    );
    let sub = submission("01-bind", &[("main.rs", &escape)]);
    let (o, r) = grade(sub.path(), &[]);
    assert_eq!(code(&o), 1, "{r:#}");
    for n in 1..=3 {
        let left = processes_matching(&format!("sleep {marker}{n}"));
        assert!(left.is_empty(), "escape {n} outlived the grade: {left:?}");
    }
}
