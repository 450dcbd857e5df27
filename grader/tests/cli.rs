//! The command line on bad input: clear words, exit code 2, no panic.

mod common;
use common::*;

#[test]
fn unknown_exercise_exits_2_and_lists_the_exercises_without_a_far_fetched_guess() {
    let o = cargo_grade(&["nosuch"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("there is no exercise `nosuch`"), "{err}");
    assert!(!err.contains("did you mean"), "nothing is close to `nosuch`: {err}");
    assert!(err.contains("01-bind") && err.contains("05-like"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_number_past_the_last_exercise_says_how_many_there_are() {
    let count = std::fs::read_dir(kit_root().join("exercises")).unwrap().count();
    let o = cargo_grade(&[&(count + 1).to_string()]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(!err.contains("did you mean"), "{err}");
    assert!(err.contains(&format!("there are {count} exercises")), "{err}");
}

#[test]
fn an_unknown_exercise_still_gets_a_report_in_the_asked_format() {
    let o = cargo_grade(&["nosuch", "--format", "json"]);
    assert_eq!(code(&o), 2);
    let r = json(&o);
    assert_eq!(r["status"], "error", "{r}");
    assert!(r["error"].as_str().unwrap().contains("nosuch"), "{r}");
    let o = cargo_grade(&["nosuch", "--format", "junit"]);
    let xml = stdout(&o);
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
    assert_eq!(doc.root_element().attribute("errors"), Some("1"), "{xml}");
}

#[test]
fn a_check_timeout_that_cannot_work_is_refused() {
    for bad in ["0", "100000"] {
        let o = cargo_grade(&["01-bind", "--check-timeout", bad]);
        assert_eq!(code(&o), 2, "--check-timeout {bad}");
        assert!(stderr(&o).contains("--check-timeout"), "{}", stderr(&o));
    }
}

#[test]
fn a_typo_suggests_the_closest_exercise() {
    let o = cargo_grade(&["bnid"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("did you mean `01-bind`?"), "{}", stderr(&o));
}

#[test]
fn every_short_name_resolves() {
    for name in ["01-bind", "01", "1", "bind", "exercises/01-bind/"] {
        let o = cargo_grade(&["hint", name, "--all"]);
        assert_eq!(code(&o), 0, "`{name}`: {}", stderr(&o));
        assert!(stdout(&o).contains("[bind]"), "`{name}`: {}", stdout(&o));
    }
}

#[test]
fn a_bad_format_is_a_usage_error() {
    let o = cargo_grade(&["01-bind", "--format", "xml"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("invalid value 'xml'"), "{}", stderr(&o));
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    let o = cargo_grade(&["01-bind", "--frobnicate"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--frobnicate"), "{}", stderr(&o));
}

#[test]
fn a_missing_submission_is_explained() {
    let o = cargo_grade(&["01-bind", "--submission", "/nonexistent/checkout"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("is not a checkout of the kit"), "{}", stderr(&o));
}

#[test]
fn help_lists_the_commands_and_exits_0() {
    let o = cargo_grade(&["--help"]);
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    for word in ["check", "bless", "hint", "list", "--format", "Exit codes"] {
        assert!(out.contains(word), "help lacks {word}:\n{out}");
    }
}

#[test]
fn run_as_an_installed_cargo_subcommand() {
    // cargo runs `cargo-grade grade ARGS` for `cargo grade ARGS`.
    let o = cargo_grade(&["grade", "nosuch"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("there is no exercise `nosuch`"));
}

#[test]
fn outside_the_kit_says_where_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-grade"))
        .current_dir(dir.path())
        .arg("01-bind")
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("from inside the kit"), "{}", stderr(&o));
}

#[test]
fn every_argument_of_watch_and_hint_is_described() {
    for sub in ["watch", "hint"] {
        let o = cargo_grade(&[sub, "--help"]);
        assert_eq!(code(&o), 0);
        let out = stdout(&o);
        // The Arguments section, without the placeholder itself, must say something.
        let args = out.split("Arguments:").nth(1).and_then(|a| a.split("Options:").next()).unwrap_or_default();
        let said = args.replace("<EXERCISE>", "");
        assert!(said.trim().len() > 10, "`{sub} --help` leaves <EXERCISE> undescribed:\n{out}");
    }
}
