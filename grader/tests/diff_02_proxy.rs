//! The differential checks of 02-proxy, end to end: a known-wrong variant of
//! the reference (the last matching regex location wins instead of the
//! first) is graded as a submission, and the report must show the check
//! failed with the case shrunk to a small rule file and one request, and
//! both answers.

mod common;
use common::*;

#[test]
fn a_routing_mistake_is_shown_as_a_shrunk_case_with_both_answers() {
    let _g = serial();
    let sub = variant_submission("02-proxy", "last-regex-wins");
    let path = sub.path().to_string_lossy().into_owned();
    // The cases are drawn from the seed; the first seed is one where the
    // variant is caught, the others are there in case the generator changes.
    let mut seen = Vec::new();
    for seed in ["5", "1", "2"] {
        let o = cargo_grade(&["02-proxy", "--submission", &path, "--format", "json", "--seed", seed, "--fresh"]);
        let r = json(&o);
        assert_eq!(code(&o), 1, "a wrong routing must fail the grade: {r:#}");
        let c = check(&r, "locations.random");
        if c["status"] != "fail" {
            seen.push(format!("seed {seed}: {}", c["status"]));
            continue;
        }
        let message = c["message"].as_str().unwrap();
        assert!(message.contains("first matching regex in file order"), "the rule leads the message: {message}");
        assert!(message.contains("shrunk"), "the case is shrunk: {message}");
        let request = c["request"].as_str().expect("the case is shown");
        assert_eq!(request.matches("server {").count(), 1, "shrunk to one server block:\n{request}");
        let locations = request.matches("location ").count();
        assert!((2..=3).contains(&locations), "shrunk to the competing regexes:\n{request}");
        assert!(request.contains("cargo run -p proxy -- case.conf"), "a reproduction to paste:\n{request}");
        assert_eq!(request.matches("curl ").count(), 1, "shrunk to one request:\n{request}");
        let (yours, reference) = (c["diff"]["yours"].as_str().unwrap(), c["diff"]["reference"].as_str().unwrap());
        assert!(
            yours.starts_with("#1 GET ") && reference.starts_with("#1 GET "),
            "both answers:\n{yours}\n{reference}"
        );
        assert_ne!(yours, reference);
        assert!(
            yours.contains("x-route:") && reference.contains("x-route:"),
            "each answer names the location that answered:\n{yours}\n{reference}"
        );
        return;
    }
    panic!("the variant was not caught by locations.random with any seed tried: {seen:?}");
}
