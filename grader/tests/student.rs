//! What a student sees between grades: the overview of the curriculum, with
//! progress remembered and re-verified when the sources change.

mod common;
use common::*;

#[test]
fn the_overview_counts_what_is_done_and_points_to_the_next_chapter() {
    let _g = serial();
    let tmp = tempfile::tempdir().unwrap();
    copy_kit(tmp.path());
    let kit = tmp.path();
    let total = std::fs::read_dir(kit_root().join("exercises")).unwrap().count();

    let o = grade_in(kit, &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains(&format!("0 of {total} exercises done")), "{out}");
    assert!(out.contains("next: read docs/src/01-bind.md"), "{out}");

    copy_dir(&kit_root().join("solutions/01-bind/src"), &kit.join("exercises/01-bind/src"));
    let o = grade_in(kit, &["01-bind"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let out = stdout(&grade_in(kit, &[]));
    assert!(out.contains(&format!("1 of {total} exercises done")), "{out}");
    assert!(out.contains("next: read docs/src/02-proxy.md"), "{out}");
    let progress = std::fs::read_to_string(kit.join(".grade/progress.json")).unwrap();
    assert!(progress.contains("\"01-bind\""), "progress is keyed by exercise name: {progress}");

    // An edit after the grade makes the verdict stale until graded again.
    let main = kit.join("exercises/01-bind/src/main.rs");
    std::fs::write(&main, std::fs::read_to_string(&main).unwrap() + "\n// edited\n").unwrap();
    let out = stdout(&grade_in(kit, &[]));
    assert!(
        out.contains(&format!("0 of {total} exercises done")) && out.contains("edited since the last grade"),
        "{out}"
    );
}

#[test]
fn hints_come_one_at_a_time_for_the_stage_to_work_on() {
    let _g = serial();
    let tmp = tempfile::tempdir().unwrap();
    copy_kit(tmp.path());
    let first = stdout(&grade_in(tmp.path(), &["hint", "1"]));
    assert!(first.contains("hint 1 of") && first.contains("> 1."), "{first}");
    assert!(!first.contains("2. "), "only one hint at first: {first}");
    let second = stdout(&grade_in(tmp.path(), &["hint", "bind"]));
    assert!(second.contains("hint 2 of") && second.contains("> 2."), "{second}");
}

#[test]
fn an_unchanged_folder_reuses_its_verdict_until_an_edit_or_fresh() {
    let _g = serial();
    let tmp = tempfile::tempdir().unwrap();
    copy_kit(tmp.path());
    let kit = tmp.path();
    let reused = |args: &[&str]| -> bool {
        let mut all = vec!["01-bind", "--format", "json"];
        all.extend_from_slice(args);
        let o = grade_in(kit, &all);
        assert_eq!(code(&o), 1, "{}", stderr(&o));
        json(&o)["reused"].as_bool().unwrap()
    };
    assert!(!reused(&[]), "the first grade runs");
    assert!(reused(&[]), "nothing changed: the verdict is reused");
    assert!(!reused(&["--fresh"]), "--fresh runs the checks");
    let main = kit.join("exercises/01-bind/src/main.rs");
    std::fs::write(&main, std::fs::read_to_string(&main).unwrap() + "\n// edited\n").unwrap();
    assert!(!reused(&[]), "an edit is graded afresh");
    assert!(!reused(&["--seed", "5"]), "a replay with a seed always runs");
    let human = stdout(&grade_in(kit, &["01-bind"]));
    assert!(human.contains("nothing changed since the last grade"), "{human}");
}

#[test]
fn an_unreadable_progress_file_is_said_and_kept_before_starting_afresh() {
    let _g = serial();
    let tmp = tempfile::tempdir().unwrap();
    copy_kit(tmp.path());
    let file = tmp.path().join(".grade/progress.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, b"{ not json").unwrap();
    let o = grade_in(tmp.path(), &[]);
    assert_eq!(code(&o), 0);
    let err = stderr(&o);
    assert!(err.contains("unreadable") && err.contains("progress.json.bad"), "{err}");
    assert_eq!(std::fs::read(tmp.path().join(".grade/progress.json.bad")).unwrap(), b"{ not json");
}

#[test]
fn a_hint_after_a_pass_does_not_start_again_at_the_first_stage() {
    let _g = serial();
    let tmp = tempfile::tempdir().unwrap();
    copy_kit(tmp.path());
    copy_dir(&kit_root().join("solutions/01-bind/src"), &tmp.path().join("exercises/01-bind/src"));
    assert_eq!(code(&grade_in(tmp.path(), &["01-bind"])), 0);
    let out = stdout(&grade_in(tmp.path(), &["hint", "01-bind"]));
    assert!(out.contains("passes every check") && !out.contains("hint 1 of"), "{out}");
}

/// The request a failed check shows works when pasted: the report's
/// commands start the student's program again as the check did (same port,
/// the check's files kept) and send the same request, which gets the same
/// wrong answer.
#[test]
fn the_reproduction_in_a_report_works_when_pasted() {
    let _g = serial();
    let tmp = tempfile::tempdir().unwrap();
    copy_kit(tmp.path());
    let kit = tmp.path();
    copy_dir(&kit_root().join("solutions/01-bind/src"), &kit.join("exercises/01-bind/src"));
    let api = kit.join("exercises/01-bind/src/api.rs");
    let text = std::fs::read_to_string(&api).unwrap();
    std::fs::write(&api, text.replace("json!({ \"status\": \"ok\" })", "json!({ \"status\": \"fine\" })")).unwrap();
    let o = grade_in(kit, &["01-bind", "--format", "json"]);
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
    let health = check(&r, "json.health");
    assert_eq!(health["status"], "fail", "{health:#}");
    let repro = health["request"].as_str().expect("a reproduction");
    let lines: Vec<&str> = repro.lines().filter(|l| !l.starts_with('#')).collect();
    let [start, curl] = lines[..] else { panic!("two commands expected:\n{repro}") };

    use std::os::unix::process::CommandExt;
    let mut server = std::process::Command::new("sh")
        .args(["-c", start])
        .current_dir(kit)
        .env("CARGO_TARGET_DIR", kit_root().join("target"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(kit.join("server.err")).unwrap())
        .process_group(0)
        .spawn()
        .unwrap();
    let pgid = server.id() as i32;
    let mut out = std::io::BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    // Blocks until the program says it listens (or closes its output).
    while std::io::BufRead::read_line(&mut out, &mut line).unwrap_or(0) > 0 && !line.contains("listening on") {
        line.clear();
    }
    let answer = std::process::Command::new("sh").args(["-c", curl]).current_dir(kit).output().unwrap();
    unsafe {
        libc::killpg(pgid, libc::SIGKILL);
    }
    let _ = server.wait();
    let answer = String::from_utf8_lossy(&answer.stdout);
    let err = std::fs::read_to_string(kit.join("server.err")).unwrap_or_default();
    assert!(line.contains("listening on"), "the start command did not start the program:\n{start}\n{err}");
    assert!(answer.contains("\"fine\""), "the pasted request got:\n{answer}\nfrom:\n{repro}");
}
