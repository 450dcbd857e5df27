//! 04-cors's differential checks, end to end: a known-wrong variant of the
//! reference, graded as a submission, fails `preflight.matches_reference`
//! with the smallest case that still differs (a command that starts the API
//! and a curl command), and both answers.

mod common;
use common::*;

#[test]
fn a_wrong_preflight_is_shown_shrunk_with_both_answers() {
    let _g = serial();
    let sub = reference_submission("04-cors");
    let file = sub.path().join("exercises/04-cors/src/cors.rs");
    let right = std::fs::read_to_string(&file).unwrap();
    // Methods compared ignoring case: `Access-Control-Request-Method: post`
    // is accepted, though methods are case-sensitive.
    let find = "!self.methods.contains(&method)";
    assert_eq!(right.matches(find).count(), 1, "the reference changed; update this test's edit");
    let wrong = right.replace(find, "!self.methods.iter().any(|m| m.as_str().eq_ignore_ascii_case(method.as_str()))");
    std::fs::write(&file, wrong).unwrap();

    let path = sub.path().to_string_lossy().into_owned();
    let o = cargo_grade(&["04-cors", "--submission", &path, "--seed", "7", "--format", "json"]);
    let r = json(&o);
    assert_eq!(code(&o), 1, "a wrong submission fails: {r:#}");

    let c = check(&r, "preflight.matches_reference");
    assert_eq!(c["status"], "fail", "{c:#}");
    let message = c["message"].as_str().unwrap();
    assert!(
        message.starts_with("An OPTIONS with Origin and Access-Control-Request-Method"),
        "the rule leads: {message}"
    );

    // The reproduction: how to start the API, and one curl command with
    // nothing but what makes the difference (Origin and the method).
    let request = c["request"].as_str().expect("the case is shown");
    assert!(request.contains("cargo run -p cors") && request.contains("ALLOWED_ORIGINS="), "{request}");
    let curl = request.lines().find(|l| l.starts_with("curl ")).expect("a curl command");
    assert!(curl.contains("-X OPTIONS"), "{curl}");
    assert_eq!(curl.matches(" -H ").count(), 2, "only Origin and Access-Control-Request-Method are left: {curl}");
    let at = curl.to_ascii_lowercase().find("access-control-request-method: ").expect("the method asked for")
        + "access-control-request-method: ".len();
    let method = curl[at..].split('\'').next().unwrap();
    assert!(["GET", "POST"].contains(&method.to_ascii_uppercase().as_str()), "{curl}");
    assert!(method != "GET" && method != "POST", "the method asked for is not in capitals: {curl}");

    // Both answers: the reference refuses, the variant accepts.
    let diff = &c["diff"];
    let (reference, yours) = (diff["reference"].as_str().unwrap(), diff["yours"].as_str().unwrap());
    assert!(reference.contains("status: 403"), "{reference}");
    assert!(yours.contains("status: 2xx") && yours.contains("access-control-allow-origin: "), "{yours}");

    // The variant is right about everything else.
    assert_eq!(check(&r, "actual.matches_reference")["status"], "pass", "{r:#}");
    assert_eq!(check(&r, "preflight.allowed")["status"], "pass", "{r:#}");
}
