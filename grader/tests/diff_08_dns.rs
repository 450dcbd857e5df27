//! The differential checks of 08-dns catch a server that loses the
//! question's case, and show a reproduction a student can paste: the dig
//! command, how to start the server, the zone file, and both answers.

mod common;

use common::*;

#[test]
fn a_lost_case_is_caught_with_a_dig_command_and_the_zone() {
    let _serial = serial();
    let dir = variant_submission("08-dns", "case-lost");
    let sub = dir.path().to_str().unwrap();
    let out = cargo_grade(&["08-dns", "--submission", sub, "--seed", "3", "--format", "json"]);
    assert_eq!(code(&out), 1, "a wrong submission fails\n{}\n{}", stdout(&out), stderr(&out));
    let report = json(&out);
    assert_eq!(check(&report, "answers.records")["status"], "pass", "lower-case questions do not see this bug");

    let c = check(&report, "answers.case");
    assert_eq!(c["status"], "fail", "{c:#}");
    let message = c["message"].as_str().unwrap();
    assert!(message.contains("keeps the question's case"), "the rule names the bug: {message}");

    let request = c["request"].as_str().expect("the input is shown");
    let dig = request.lines().next().unwrap();
    assert!(dig.starts_with("dig @127.0.0.1 -p 8053 +norec"), "{request}");
    assert!(dig.chars().any(|ch| ch.is_ascii_uppercase()), "the question keeps its mixed case: {dig}");
    assert!(request.contains("ZONE_FILE=zone.txt PORT=8053 cargo run -p dns"), "{request}");
    assert!(request.contains("$ORIGIN ") && request.contains(" SOA "), "the zone file is shown: {request}");

    let reference = c["diff"]["reference"].as_str().expect("the reference's answer");
    let yours = c["diff"]["yours"].as_str().expect("your answer");
    assert_ne!(reference, yours);
    assert_eq!(reference.to_lowercase(), yours.to_lowercase(), "only the case differs");
}
