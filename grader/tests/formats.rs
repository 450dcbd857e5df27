//! Every report format, produced by the real grader and checked against what
//! its consumer reads: the documented JSON schema, JUnit as GitLab and
//! Jenkins parse it, Gradescope's results.json, GitHub's workflow commands.

mod common;
use common::*;

use std::sync::OnceLock;

/// One failing submission, graded once in each format. Its output is
/// hostile: markup, fences and workflow commands, to prove escaping.
fn graded(format: &str) -> String {
    static SUB: OnceLock<tempfile::TempDir> = OnceLock::new();
    let sub = SUB.get_or_init(|| {
        let nasty = r#"fn main() {
    println!("::error::pwned <b>&amp;</b> \"quoted\" ```\n::set-output name=x::y");
    eprintln!("```` fence \u{7} bell ]]> cdata");
    std::process::exit(3);
}
"#;
        submission("01-bind", &[("main.rs", nasty)])
    });
    let path = sub.path().to_string_lossy().into_owned();
    let _g = serial();
    let o = cargo_grade(&["01-bind", "--submission", &path, "--format", format, "--seed", "7"]);
    assert_eq!(code(&o), 1, "{format}: {}", stderr(&o));
    stdout(&o)
}

#[test]
fn json_matches_the_documented_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(kit_root().join("docs/src/grade-report.schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema itself is valid");
    let report: serde_json::Value = serde_json::from_str(&graded("json")).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(&report).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(report["seed"], 7);
    assert_eq!(report["status"], "fail");
}

#[test]
fn junit_is_well_formed_and_shaped_as_gitlab_reads_it() {
    let xml = graded("junit");
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("not XML: {e}\n{xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root.children().filter(|n| n.has_tag_name("testsuite")).collect();
    assert_eq!(suites.len(), 1);
    let suite = suites[0];
    assert_eq!(suite.attribute("name"), Some("01-bind"));
    let cases: Vec<_> = suite.children().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(cases.len().to_string(), suite.attribute("tests").unwrap());
    let mut failures = 0;
    let mut skipped = 0;
    let mut errors = 0;
    for case in &cases {
        assert!(case.attribute("name").is_some() && case.attribute("classname").is_some());
        assert!(case.attribute("time").unwrap().parse::<f64>().is_ok());
        let kids: Vec<_> = case.children().filter(|n| n.is_element()).collect();
        assert!(kids.len() <= 1, "a testcase has at most one result element");
        match kids.first().map(|k| k.tag_name().name()) {
            Some("failure") => failures += 1,
            Some("skipped") => skipped += 1,
            Some("error") => errors += 1,
            None => {}
            Some(other) => panic!("unexpected <{other}>"),
        }
    }
    assert_eq!(failures.to_string(), suite.attribute("failures").unwrap());
    assert_eq!(skipped.to_string(), suite.attribute("skipped").unwrap());
    assert_eq!(errors.to_string(), suite.attribute("errors").unwrap());
    for attr in ["tests", "failures", "errors", "skipped"] {
        assert_eq!(root.attribute(attr), suite.attribute(attr), "one suite: the totals are its counts ({attr})");
    }
    // The student's output survived, escaped.
    assert!(xml.contains("&lt;b&gt;&amp;amp;&lt;/b&gt;"), "{xml}");
    assert!(!xml.contains('\u{7}'), "a control character reached the XML");
}

#[test]
fn gradescope_results_have_the_fields_gradescope_reads() {
    let r: serde_json::Value = serde_json::from_str(&graded("gradescope")).unwrap();
    assert!(r["score"].is_number());
    let tests = r["tests"].as_array().expect("tests array");
    assert_eq!(tests.len(), 20);
    let mut total = 0.0;
    for t in tests {
        let score = t["score"].as_f64().expect("score");
        let max = t["max_score"].as_f64().expect("max_score");
        assert!(score <= max);
        total += score;
        assert!(t["name"].is_string() && t["output"].is_string());
        assert!(["passed", "failed"].contains(&t["status"].as_str().unwrap()));
        assert!(["hidden", "after_due_date", "after_published", "visible"].contains(&t["visibility"].as_str().unwrap()));
    }
    assert_eq!(r["score"].as_f64(), Some(total));
}

#[test]
fn github_output_cannot_inject_workflow_commands() {
    let out = graded("github");
    // While commands are enabled, the only `::` lines are ours.
    let mut enabled = true;
    let mut token = String::new();
    let mut errors = 0;
    for line in out.lines() {
        if let Some(t) = line.strip_prefix("::stop-commands::") {
            token = format!("::{t}::");
            enabled = false;
            continue;
        }
        if !enabled {
            if line == token {
                enabled = true;
            }
            continue;
        }
        if line.starts_with("::") {
            assert!(line.starts_with("::error title=") || line.starts_with("::notice title="), "injected: {line}");
            let (_, message) = line.split_once("::").unwrap().1.split_once("::").unwrap();
            assert!(!message.contains('\n'));
            errors += line.starts_with("::error") as usize;
        }
    }
    assert!(enabled, "stop-commands was never closed");
    assert!(errors >= 1, "{out}");
}

#[test]
fn the_github_summary_fences_student_output() {
    let sub = tempfile::tempdir().unwrap();
    let summary = sub.path().join("summary.md");
    let src = submission(
        "01-bind",
        &[("main.rs", "fn main() { eprintln!(\"```\\n# not a heading\"); std::process::exit(1); }\n")],
    );
    let path = src.path().to_string_lossy().into_owned();
    let _g = serial();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-grade"))
        .current_dir(kit_root())
        .args(["01-bind", "--submission", &path, "--format", "github"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(code(&o), 1);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("| 01-bind | fail |"), "{md}");
    // The student's ``` sits inside a longer fence, so it cannot end it.
    let fence_line = md.lines().find(|l| l.starts_with("````")).unwrap_or_else(|| panic!("no long fence:\n{md}"));
    assert!(fence_line.starts_with("````text"), "{fence_line}");
}

#[test]
fn output_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nested/report.xml");
    let sub = reference_submission("01-bind");
    let (sub_path, file_path) = (sub.path().to_string_lossy().into_owned(), file.to_string_lossy().into_owned());
    let _g = serial();
    let o = cargo_grade(&["01-bind", "--submission", &sub_path, "--format", "junit", "--output", &file_path]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    assert!(std::fs::read_to_string(&file).unwrap().starts_with("<?xml"));
}

/// What GitHub Classroom's reporter (autograding-grading-reporter) does with
/// a runner's `result` output: decode base64, parse JSON, sum the tests'
/// `score` out of `max_score`, fail the job on a `fail` or `error` status.
fn as_the_classroom_reporter_reads(github_output: &std::path::Path) -> (serde_json::Value, u64) {
    let text = std::fs::read_to_string(github_output).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one `result=` line: {text}");
    let encoded = lines[0].strip_prefix("result=").expect("a step output named result");
    let mut child = std::process::Command::new("base64")
        .arg("-d")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("coreutils base64");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(encoded.as_bytes()).unwrap();
    let decoded = child.wait_with_output().unwrap();
    assert!(decoded.status.success(), "not base64: {encoded}");
    let r: serde_json::Value = serde_json::from_slice(&decoded.stdout).expect("JSON");
    assert_eq!(r["version"], 1);
    assert!(["pass", "fail", "error"].contains(&r["status"].as_str().unwrap()), "{r}");
    let tests = r["tests"].as_array().expect("tests");
    let mut points = 0;
    for t in tests {
        assert!(t["name"].is_string() && t["message"].is_string(), "{t}");
        assert!(["pass", "fail", "error"].contains(&t["status"].as_str().unwrap()), "{t}");
        points += t["score"].as_u64().expect("score");
    }
    (r, points)
}

#[test]
fn classroom_result_decodes_to_what_the_reporter_reads() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let grade = |sub: &std::path::Path, name: &str| {
        let out = dir.path().join(name);
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-grade"))
            .current_dir(kit_root())
            .args(["01-bind", "--submission", sub.to_str().unwrap(), "--format", "classroom", "--seed", "7"])
            .env("GITHUB_OUTPUT", &out)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        (o, out)
    };
    let good = reference_submission("01-bind");
    let (o, out) = grade(good.path(), "good");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("01-bind: 19/19 points"), "{}", stdout(&o));
    let (r, points) = as_the_classroom_reporter_reads(&out);
    assert_eq!((r["status"].as_str(), r["max_score"].as_u64(), points), (Some("pass"), Some(19), 19));

    let nasty =
        submission("01-bind", &[("main.rs", "fn main() { println!(\"::error::pwned\"); std::process::exit(3); }")]);
    let (o, out) = grade(nasty.path(), "bad");
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(!stdout(&o).contains("pwned"), "student output reached the log: {}", stdout(&o));
    let (r, points) = as_the_classroom_reporter_reads(&out);
    assert_eq!((r["status"].as_str(), points), (Some("fail"), 0));
    let failing: Vec<&serde_json::Value> =
        r["tests"].as_array().unwrap().iter().filter(|t| t["status"] != "pass").collect();
    assert!(failing.iter().any(|t| t["name"].as_str().unwrap().starts_with("01-bind bind.")), "{r}");

    let (o, out) = grade(&dir.path().join("no-such-checkout"), "none");
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let (r, _) = as_the_classroom_reporter_reads(&out);
    assert_eq!(r["status"], "error");
}
