//! The differential check of 06-tls's forwarding headers: a proxy that
//! passes the client's hop-by-hop headers on to the app is caught, and the
//! report shows the smallest request that still differs, as a curl command
//! over TLS, with the request each program's app received.

mod common;

use common::*;

#[test]
fn hop_by_hop_headers_sent_to_the_app_are_shown_as_a_shrunk_tls_request() {
    let _serial = serial();
    let dir = variant_submission("06-tls", "hop-by-hop-forwarded");
    let sub = dir.path().to_str().unwrap();
    let out = cargo_grade(&["06-tls", "--submission", sub, "--seed", "7", "--format", "json"]);
    assert_eq!(code(&out), 1, "a wrong submission fails\n{}\n{}", stdout(&out), stderr(&out));
    let report = json(&out);
    assert_eq!(report["first_failing_stage"], "proxy", "{report:#}");

    let c = check(&report, "proxy.headers");
    assert_eq!(c["status"], "fail", "{c:#}");
    let message = c["message"].as_str().unwrap();
    assert!(message.contains("hop-by-hop"), "the rule names the bug: {message}");
    assert!(message.contains("shrunk"), "the case was shrunk: {message}");
    let request = c["request"].as_str().expect("the input is shown");
    assert!(request.contains("curl -sk -i --resolve"), "a TLS request to paste: {request}");
    // Keep-Alive alone, or a header and the Connection header that names it.
    let headers = request.matches(" -H '").count();
    assert!((1..=2).contains(&headers), "shrunk to the headers that matter: {request}");

    let reference = c["diff"]["reference"].as_str().expect("the reference's answer");
    let yours = c["diff"]["yours"].as_str().expect("your answer");
    let extra: Vec<&str> = yours.lines().filter(|l| !reference.lines().any(|r| r == *l)).collect();
    assert_eq!(extra.len(), 1, "one header more at your app: {extra:?}\n{reference}\n---\n{yours}");
    assert!(reference.lines().all(|l| yours.lines().any(|y| y == l)), "nothing missing at your app");
    assert!(reference.contains("x-forwarded-proto: https") && yours.contains("x-forwarded-proto: https"));
}
