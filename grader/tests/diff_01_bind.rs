//! 01-bind's differential checks, end to end: a submission that differs from
//! the reference in one realistic way is graded by the real grader, and the
//! JSON report names the differing case, shrunk, with both answers.

mod common;
use common::*;

#[test]
fn a_wrong_status_for_a_non_numeric_id_is_shown_as_the_smallest_case_with_both_answers() {
    let _g = serial();
    let sub = variant_submission("01-bind", "user-abc-is-404");
    let path = sub.path().to_string_lossy().into_owned();
    let o = cargo_grade(&["01-bind", "--submission", &path, "--format", "json", "--seed", "12"]);
    let r = json(&o);
    assert_eq!(code(&o), 1, "{r:#}");

    let c = check(&r, "json.user_by_id");
    assert_eq!(c["status"], "fail", "{c:#}");
    let message = c["message"].as_str().unwrap();
    assert!(message.contains("400") && message.contains("not a number"), "the rule leads: {message}");
    assert!(message.contains("differently"), "{message}");

    // The input: a request to paste, for one id that is not a number.
    let request = c["request"].as_str().expect("the failing case is shown");
    assert!(request.starts_with("curl -i"), "{request}");
    let id = request.rsplit("/users/").next().unwrap().trim_end_matches('\'');
    assert!(!id.is_empty() && !id.bytes().all(|b| b.is_ascii_digit()), "a non-numeric id: {request}");
    // Shrunk: the first differing case is a plain word, nothing to remove.
    assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{request}");

    // Both answers, as a diff: the reference's 400 against this 404.
    let diff = &c["diff"];
    let reference = diff["reference"].as_str().expect("the reference's answer");
    let yours = diff["yours"].as_str().expect("the submission's answer");
    assert!(reference.contains("status: 400"), "{reference}");
    assert!(yours.contains("status: 404"), "{yours}");
    assert!(reference.contains("content-type: application/json") && yours.contains("content-type: application/json"));

    // Everything else of the reference still passes: one edit, one check.
    let failed: Vec<&str> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] != "pass")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(failed.iter().all(|id| *id == "json.user_by_id" || *id == "errors.methods"), "{failed:?}");
}
