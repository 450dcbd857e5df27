//! End to end: the real grader on real submissions of 01-bind, including
//! ones written to fool it. Each test also proves no process outlives it.

mod common;
use common::*;

const SUBJECT: &str = "grade-01-bind-bind";

fn grade_submission(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let path = dir.to_string_lossy().into_owned();
    let mut args = vec!["01-bind", "--submission", &path, "--format", "json"];
    args.extend_from_slice(extra);
    cargo_grade(&args)
}

fn assert_no_leftovers(name: &str) {
    let left = survivors(&kit_binary(name), 5);
    assert!(left.is_empty(), "processes outlived the grade: {left:#?}");
}

#[test]
fn the_reference_passes_with_a_complete_json_report() {
    let _g = serial();
    let sub = reference_submission("01-bind");
    let o = grade_submission(sub.path(), &[]);
    let r = json(&o);
    assert_eq!(code(&o), 0, "{r:#}");
    assert_eq!(r["schema"], "grade-report/1");
    assert_eq!(r["exercise"], "01-bind");
    assert_eq!(r["status"], "pass");
    assert_eq!(r["score"], r["max_score"]);
    assert!(r["seed"].is_u64());
    let checks = r["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 20, "compile + 19 declared checks");
    for c in checks {
        for field in ["id", "stage", "status", "message"] {
            assert!(!c[field].is_null(), "check lacks {field}: {c}");
        }
        assert_eq!(c["status"], "pass", "{c}");
    }
    assert_no_leftovers(SUBJECT);
}

#[test]
fn the_untouched_stub_fails_at_the_first_stage_and_scores_0() {
    let _g = serial();
    let sub = stub_submission("01-bind");
    let path = sub.path().to_string_lossy().into_owned();
    let o = cargo_grade(&["01-bind", "--submission", &path]);
    let out = stdout(&o);
    assert_eq!(code(&o), 1, "{out}");
    let start = out.lines().find(|l| l.contains("<- start here")).unwrap_or_default();
    assert!(start.split_whitespace().nth(1) == Some("bind"), "the first stage, `bind`, is where to start:\n{out}");
    assert!(out.contains("score 0/"), "{out}");
    assert!(out.contains("docs/src/01-bind.md"), "{out}");
    assert_no_leftovers(SUBJECT);
}

#[test]
fn a_compile_error_is_a_failed_compile_check_with_the_compilers_words() {
    let _g = serial();
    let sub = submission("01-bind", &[("main.rs", "fn main() {\n    let port: u16 = \"3001\";\n}\n")]);
    let o = grade_submission(sub.path(), &[]);
    let r = json(&o);
    assert_eq!(code(&o), 1, "{r:#}");
    let compile = check(&r, "compile");
    assert_eq!(compile["status"], "fail");
    let output = compile["output"].as_str().unwrap_or("");
    assert!(output.contains("E0308"), "{output}");
    assert!(output.contains("exercises/01-bind/src/main.rs:2"), "paths must name the student's file: {output}");
    assert_eq!(check(&r, "bind.listens")["status"], "skipped");
    assert_eq!(r["score"], 0);
}

#[test]
fn printing_fake_results_and_exiting_0_passes_nothing() {
    let _g = serial();
    let fake = r##"fn main() {
    let ids = ["bind.listens", "bind.port_taken", "json.health", "compile"];
    for id in ids {
        println!("PASS {id}");
        println!(r#"{{"event":"end","check":"{id}","outcome":{{"status":"pass","message":""}}}}"#);
        eprintln!("test {id} ... ok");
    }
    println!("test result: ok. 13 passed; 0 failed");
    println!("listening on http://127.0.0.1:3001");
}
"##;
    let sub = submission("01-bind", &[("main.rs", fake)]);
    let o = grade_submission(sub.path(), &[]);
    let r = json(&o);
    assert_eq!(code(&o), 1, "{r:#}");
    assert_eq!(r["status"], "fail");
    assert_eq!(r["score"], 0, "{r:#}");
    assert_eq!(check(&r, "bind.listens")["status"], "fail");
    assert_no_leftovers(SUBJECT);
}

#[test]
fn exiting_early_passes_nothing() {
    let _g = serial();
    let early = r#"fn main() {
    let port = std::env::var("PORT").unwrap_or_default();
    println!("listening on http://127.0.0.1:{port}");
    std::process::exit(0);
}
"#;
    let sub = submission("01-bind", &[("main.rs", early)]);
    let o = grade_submission(sub.path(), &[]);
    let r = json(&o);
    assert_eq!(code(&o), 1, "{r:#}");
    let listens = check(&r, "bind.listens");
    assert_eq!(listens["status"], "fail");
    assert!(listens["message"].as_str().unwrap().contains("nothing accepts connections"), "{listens}");
    assert_eq!(r["score"], 0, "{r:#}");
}

#[test]
fn a_server_that_never_answers_is_failed_within_the_time_limits() {
    let _g = serial();
    // Accepts connections (the kernel does) but never reads or answers.
    let hang = r#"fn main() {
    let port = std::env::var("PORT").unwrap_or_default();
    let listener = match std::net::TcpListener::bind(format!("127.0.0.1:{port}")) {
        Ok(l) => l,
        Err(_) => loop { std::thread::park() },
    };
    println!("listening on http://{}", listener.local_addr().unwrap());
    let mut held = Vec::new();
    for conn in listener.incoming() {
        held.push(conn);
    }
}
"#;
    let sub = submission("01-bind", &[("main.rs", hang)]);
    let started = std::time::Instant::now();
    let o = grade_submission(sub.path(), &["--check-timeout", "2"]);
    let elapsed = started.elapsed();
    let r = json(&o);
    assert_eq!(code(&o), 1, "{r:#}");
    assert_eq!(check(&r, "bind.port_taken")["status"], "fail");
    let msg = check(&r, "bind.port_taken")["message"].as_str().unwrap().to_string();
    assert!(msg.contains("time limit") || msg.contains("still running"), "{msg}");
    assert_eq!(r["score"].as_u64(), Some(1), "only bind.listens can pass: {r:#}");
    // 5 bind checks at most 2 s each (+ grace), then the gate stops the rest.
    assert!(elapsed.as_secs() < 60, "took {elapsed:?}");
    assert_no_leftovers(SUBJECT);
}

#[test]
fn a_child_process_left_running_is_killed() {
    let _g = serial();
    let marker = format!("{}.{}", 3000 + std::process::id() % 500, std::process::id());
    let spawner = format!(
        r#"fn main() {{
    let _ = std::process::Command::new("sleep").arg("{marker}").spawn();
    let port = std::env::var("PORT").unwrap_or_default();
    let listener = std::net::TcpListener::bind(format!("127.0.0.1:{{port}}")).unwrap();
    println!("listening on http://{{}}", listener.local_addr().unwrap());
    std::process::exit(0);
}}
"#
    );
    let sub = submission("01-bind", &[("main.rs", &spawner)]);
    let o = grade_submission(sub.path(), &[]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert_no_leftovers(&format!("sleep {marker}"));
}

/// A server whose handler panics (`GET /users`): the check saw only a closed connection,
/// but the report says the program panicked, where, and what it printed.
#[test]
fn a_panicking_handler_is_named_as_the_cause_with_its_place() {
    let _g = serial();
    // The reference, with one handler that panics.
    let sub = reference_submission("01-bind");
    let api = sub.path().join("exercises/01-bind/src/api.rs");
    let text = std::fs::read_to_string(&api).unwrap();
    let broken = text.replace("Json(state.users().list())", "panic!(\"boom in the handler\")");
    assert_ne!(text, broken, "the users handler was found");
    std::fs::write(&api, broken).unwrap();
    let o = grade_submission(sub.path(), &[]);
    let r = json(&o);
    assert_eq!(code(&o), 1, "{r:#}");
    let first = check(&r, "json.users_list");
    assert_eq!(first["status"], "fail", "{first:#}");
    let message = first["message"].as_str().unwrap();
    assert!(message.contains("your program panicked"), "{first:#}");
    assert!(message.contains("exercises/01-bind/src/api.rs:"), "the place, in the student's file: {first:#}");
    assert!(first["output"].as_str().unwrap_or("").contains("boom in the handler"), "{first:#}");
}

/// Library code (run in its host) that panics is reported with the
/// place in the student's file, not just the payload.
#[test]
fn a_panic_in_library_code_names_its_place() {
    let _g = serial();
    let sub = stub_submission("03-pool");
    let path = sub.path().to_string_lossy().into_owned();
    let o = cargo_grade(&["03-pool", "--submission", &path, "--format", "json"]);
    let r = json(&o);
    let first = r["checks"].as_array().unwrap().iter().find(|c| c["status"] == "fail").expect("a failed check");
    let message = first["message"].as_str().unwrap();
    assert!(message.contains("panicked at") && message.contains("exercises/03-pool/src/"), "{first:#}");
}
