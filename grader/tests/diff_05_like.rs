//! The differential checks of 05-like catch a wrong server that the
//! hand-written checks let through, and show the smallest sequence that
//! still differs, with both answers.

mod common;

use common::*;

#[test]
fn a_like_comparison_of_tokens_is_caught_and_the_sequence_shrunk() {
    let _serial = serial();
    let dir = variant_submission("05-like", "token-like");
    let sub = dir.path().to_str().unwrap();
    let out = cargo_grade(&["05-like", "--submission", sub, "--seed", "5", "--format", "json"]);
    assert_eq!(code(&out), 1, "a wrong submission fails\n{}\n{}", stdout(&out), stderr(&out));
    let report = json(&out);
    assert_eq!(report["first_failing_stage"], "auth", "{report:#}");
    for id in ["auth.missing_token", "auth.bad_token"] {
        assert_eq!(check(&report, id)["status"], "pass", "the hand-written check {id} does not see this bug");
    }

    let c = check(&report, "auth.random");
    assert_eq!(c["status"], "fail", "{c:#}");
    let message = c["message"].as_str().unwrap();
    assert!(message.contains("never LIKE"), "the rule names the bug: {message}");
    assert!(message.contains("shrunk"), "the case was shrunk: {message}");

    // The reproduction: the seed file, how to start the server, the steps
    // as curl commands, and the state read back.
    let request = c["request"].as_str().expect("the input is shown");
    assert!(request.contains("cat > /tmp/like-seed.json"), "{request}");
    assert!(request.contains("cargo run -p like"), "{request}");
    let steps: Vec<&str> = request.lines().filter(|l| l.starts_with("curl ")).collect();
    assert!(!steps.is_empty() && steps.len() <= 3, "shrunk to a few steps, got {}:\n{request}", steps.len());
    assert!(steps.iter().all(|s| s.contains("Authorization")), "{request}");

    // Both answers, differing on the forged request: 401 from the reference.
    let reference = c["diff"]["reference"].as_str().expect("the reference's answer");
    let yours = c["diff"]["yours"].as_str().expect("your answer");
    assert_ne!(reference, yours);
    let (r, y) = reference.lines().zip(yours.lines()).find(|(r, y)| r != y).expect("the answers differ in a line");
    assert!(r.contains("-> 401 [WWW-Authenticate: Bearer"), "the reference refuses the forged token: {r}");
    assert!(!y.contains("-> 401"), "the LIKE server lets it in: {y}");
    assert!(reference.contains("then the state:") && yours.contains("then the state:"));
}
