//! `cargo grade batch`: many submissions, dependencies compiled once, a JSON
//! report each, a gradebook, and broken submissions as error rows.

use std::process::Command;

mod common;
use common::*;

#[test]
fn a_batch_of_ten_compiles_the_dependencies_once() {
    let _g = serial();
    let root = tempfile::tempdir().unwrap();
    let mut subs = Vec::new();
    for i in 0..10 {
        let dir = root.path().join(format!("student-{i:02}"));
        copy_dir(&kit_root().join("solutions/01-bind/src"), &dir.join("exercises/01-bind/src"));
        // Every submission differs, so each really is built.
        let main = dir.join("exercises/01-bind/src/main.rs");
        let text = std::fs::read_to_string(&main).unwrap() + &format!("\n// submission {i}\n");
        std::fs::write(main, text).unwrap();
        subs.push(dir.to_string_lossy().into_owned());
    }
    // One broken submission: no exercises/ at all.
    let broken = root.path().join("not-a-checkout");
    std::fs::create_dir_all(&broken).unwrap();
    subs.push(broken.to_string_lossy().into_owned());
    let out = root.path().join("grades");
    let mut args = vec!["batch", "--exercise", "01-bind", "--out", out.to_str().unwrap()];
    args.extend(subs.iter().map(String::as_str));
    let o = cargo_grade(&args);
    let log = stderr(&o);
    assert_eq!(code(&o), 1, "an error row makes the batch exit 1\n{log}");

    let compiled: Vec<&str> = log.lines().filter_map(|l| l.split("(compiled: ").nth(1)).collect();
    assert_eq!(compiled.len(), 11, "{log}");
    for line in &compiled[1..10] {
        assert_eq!(*line, "bind)", "after the first submission only the submission's crate may compile:\n{log}");
    }

    let book = std::fs::read_to_string(out.join("gradebook.csv")).unwrap();
    let rows: Vec<&str> = book.lines().collect();
    assert_eq!(rows[0], "submission,exercise,score,max,status");
    assert_eq!(rows.len(), 12, "{book}");
    for i in 0..10 {
        assert!(rows.contains(&format!("student-{i:02},01-bind,19,19,pass").as_str()), "{book}");
    }
    assert!(rows.contains(&"not-a-checkout,01-bind,0,19,error"), "{book}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("student-03.json")).unwrap()).unwrap();
    assert_eq!(report["status"], "pass");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("not-a-checkout.json")).unwrap()).unwrap();
    assert_eq!(report["status"], "error");
    assert!(report["checks"][0]["message"].as_str().unwrap().contains("not a checkout"));
}

/// A small class of 01-bind: references (each different), the stub, a
/// known-wrong edit and a folder that is not a checkout.
fn small_class(root: &std::path::Path) -> Vec<String> {
    let mut subs = Vec::new();
    for (name, kind) in
        [("ann", "ref"), ("bob", "stub"), ("cy", "ref"), ("dee", "wrong"), ("eve", "ref"), ("fay", "none")]
    {
        let dir = root.join(name);
        let src = dir.join("exercises/01-bind/src");
        match kind {
            "ref" | "wrong" => copy_dir(&kit_root().join("solutions/01-bind/src"), &src),
            "stub" => copy_dir(&kit_root().join("exercises/01-bind/src"), &src),
            _ => std::fs::create_dir_all(&dir).unwrap(),
        }
        if kind == "ref" {
            let main = src.join("main.rs");
            std::fs::write(&main, std::fs::read_to_string(&main).unwrap() + &format!("\n// {name}\n")).unwrap();
        }
        if kind == "wrong" {
            // Does not compile: a failed `compile` check.
            let main = src.join("main.rs");
            std::fs::write(&main, std::fs::read_to_string(&main).unwrap() + "\nfn broken() -> u8 { \"no\" }\n")
                .unwrap();
        }
        subs.push(dir.to_string_lossy().into_owned());
    }
    subs
}

fn batch(out: &std::path::Path, subs: &[String], extra: &[&str]) -> std::process::Output {
    let mut args = vec!["batch", "--exercise", "01-bind", "--seed", "11", "--out", out.to_str().unwrap()];
    args.extend(extra);
    args.extend(subs.iter().map(String::as_str));
    cargo_grade(&args)
}

/// Each check's verdict and points, per grade: what must not depend on how
/// the class was split (messages may name a free port or a thread id).
fn verdicts(dir: &std::path::Path) -> Vec<(String, String, String, u64)> {
    let run: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(kit_root().join("docs/src/grade-report.schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema itself is valid");
    let errors: Vec<String> = validator.iter_errors(&run).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "run.json is not a valid grade-run/1: {errors:#?}");
    assert_eq!(run["schema"], "grade-run/1");
    let mut out = Vec::new();
    for g in run["grades"].as_array().unwrap() {
        for c in g["checks"].as_array().unwrap() {
            let subject = g["subject"].as_str().unwrap().to_string();
            out.push((subject, c["id"].to_string(), c["status"].to_string(), c["score"].as_u64().unwrap()));
        }
    }
    out
}

#[test]
fn shards_merged_and_parallel_workers_equal_the_serial_batch() {
    let _g = serial();
    let root = tempfile::tempdir().unwrap();
    let subs = small_class(&root.path().join("class"));
    let serial_out = root.path().join("serial");
    let o = batch(&serial_out, &subs, &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let book = std::fs::read_to_string(serial_out.join("gradebook.csv")).unwrap();
    for row in ["ann,01-bind,19,19,pass", "bob,01-bind,0,19,fail", "dee,01-bind,0,19,fail", "fay,01-bind,0,19,error"] {
        assert!(book.lines().any(|l| l == row), "{row} missing:\n{book}");
    }

    // Two shards as separate processes at the same time (one through
    // GitLab's variables; they take different staging slots), then merged.
    let mut shard_dirs = Vec::new();
    let mut running = Vec::new();
    for k in 1..=2 {
        let dir = root.path().join(format!("shard-{k}"));
        let mut args = vec!["batch", "--exercise", "01-bind", "--seed", "11", "--out", dir.to_str().unwrap()];
        args.extend(subs.iter().map(String::as_str));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-grade"));
        cmd.current_dir(kit_root()).args(&args).env("NO_COLOR", "1");
        cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        if k == 1 {
            cmd.args(["--shard", "1/2"]);
        } else {
            cmd.env("CI_NODE_INDEX", "2").env("CI_NODE_TOTAL", "2");
        }
        running.push((k, cmd.spawn().unwrap()));
        shard_dirs.push(dir);
    }
    for (k, child) in running {
        let o = child.wait_with_output().unwrap();
        assert!(code(&o) <= 1, "{}", stderr(&o));
        assert!(stderr(&o).contains(&format!("{k}/2")), "{}", stderr(&o));
    }
    let graded: Vec<usize> = shard_dirs
        .iter()
        .map(|d| std::fs::read_to_string(d.join("gradebook.csv")).unwrap().lines().count() - 1)
        .collect();
    assert_eq!(graded.iter().sum::<usize>(), subs.len(), "each submission in exactly one shard: {graded:?}");

    let merged = root.path().join("merged");
    let d: Vec<&str> = shard_dirs.iter().map(|d| d.to_str().unwrap()).collect();
    // One shard alone: refused, naming the one missing.
    let o = cargo_grade(&["gradebook", "merge", d[0], "--out", merged.to_str().unwrap()]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("missing shard 2/2"), "{}", stderr(&o));
    // The same shard twice: an overlap, refused.
    let o = cargo_grade(&["gradebook", "merge", d[0], d[0], d[1], "--out", merged.to_str().unwrap()]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("appears twice"), "{}", stderr(&o));
    let o = cargo_grade(&["gradebook", "merge", d[1], d[0], "--out", merged.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "a class with failures merges with exit 1: {}", stderr(&o));
    for file in ["gradebook.csv", "shard.json"] {
        assert_eq!(
            std::fs::read_to_string(serial_out.join(file)).unwrap(),
            std::fs::read_to_string(merged.join(file)).unwrap(),
            "{file}: the merged shards differ from the serial batch"
        );
    }
    assert_eq!(verdicts(&serial_out), verdicts(&merged));

    // Two workers on this machine: the same verdicts.
    let jobs = root.path().join("jobs");
    let o = batch(&jobs, &subs, &["--jobs", "2"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("2 workers"), "{}", stderr(&o));
    assert_eq!(book, std::fs::read_to_string(jobs.join("gradebook.csv")).unwrap());
    assert_eq!(verdicts(&serial_out), verdicts(&jobs));
    assert!(!jobs.join(".jobs").exists(), "the workers' scratch folders are removed");
}

#[test]
fn bad_shards_and_merges_are_clear_errors() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("o");
    for bad in ["3/2", "0/2", "2", "a/b"] {
        let o = cargo_grade(&["batch", "--shard", bad, "--out", out.to_str().unwrap(), "x"]);
        assert_eq!(code(&o), 2, "--shard {bad}: {}", stderr(&o));
        assert!(stderr(&o).contains("K/N"), "{}", stderr(&o));
    }
    let o = Command::new(env!("CARGO_BIN_EXE_cargo-grade"))
        .current_dir(kit_root())
        .args(["batch", "--out", out.to_str().unwrap(), "x"])
        .env("JOB_COMPLETION_INDEX", "1")
        .output()
        .unwrap();
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("--shard-total"), "{}", stderr(&o));
    let missing = root.path().join("nowhere");
    let o = cargo_grade(&["gradebook", "merge", missing.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("not the output of `cargo grade batch`"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
}
