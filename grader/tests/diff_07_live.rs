//! The differential check of 07-live: a server that pushes a notification
//! on a repeated like is caught by random sequences played against the
//! reference, and the report shows the smallest sequence that still
//! differs (the network, the steps) with what each program's sockets
//! received.

mod common;

use common::*;

#[test]
fn a_push_on_a_repeated_like_is_shown_as_a_shrunk_sequence() {
    let _serial = serial();
    let dir = variant_submission("07-live", "push-on-repeated-like");
    let sub = dir.path().to_str().unwrap();
    let out = cargo_grade(&["07-live", "--submission", sub, "--seed", "11", "--format", "json"]);
    assert_eq!(code(&out), 1, "a wrong submission fails\n{}\n{}", stdout(&out), stderr(&out));
    let report = json(&out);
    assert_eq!(report["first_failing_stage"], "push", "{report:#}");
    assert_eq!(check(&report, "push.real_only")["status"], "fail", "the targeted check names it first");
    assert_eq!(check(&report, "handshake.open")["status"], "pass", "the handshake is not the problem");

    let c = check(&report, "random.sequences");
    assert_eq!(c["status"], "fail", "{c:#}");
    let message = c["message"].as_str().unwrap();
    assert!(message.contains("real unliked-to-liked change"), "the rule names the bug: {message}");
    assert!(message.contains("shrunk"), "the case was shrunk: {message}");
    let request = c["request"].as_str().expect("the sequence is shown");
    assert!(request.contains("The network") && request.contains("The steps"), "{request}");
    // The smallest sequence that shows it: a like of a post the same user
    // already likes, with the owner's socket open. The first like, the
    // repeat, and the socket, at least; shrinking removed the rest.
    let steps: Vec<&str> = request
        .lines()
        .filter(|l| l.trim_start().split('.').next().is_some_and(|n| n.parse::<u32>().is_ok()))
        .collect();
    assert!(steps.iter().any(|s| s.contains("opens a socket")), "{request}");
    let likes: Vec<&&str> = steps.iter().filter(|s| s.contains(" likes post")).collect();
    assert!(likes.len() >= 2, "a like and its repeat: {request}");
    assert!(steps.len() <= 6, "shrunk to the steps that matter: {request}");

    let reference = c["diff"]["reference"].as_str().expect("the reference's sockets");
    let yours = c["diff"]["yours"].as_str().expect("your sockets");
    assert_ne!(reference, yours);
    assert!(yours.len() > reference.len(), "yours received more: {reference}\n---\n{yours}");
}
