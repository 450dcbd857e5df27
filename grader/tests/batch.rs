//! `cargo grade batch`: many submissions, dependencies compiled once, a JSON
//! report each, a gradebook, and broken submissions as error rows.

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
