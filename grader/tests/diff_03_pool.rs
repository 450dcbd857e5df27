//! 03-pool's random schedules: a known-wrong pool (it keeps its slot when a
//! `get()` is dropped while its connection opens, so only a schedule finds
//! it) fails `schedules.invariants`, and the report shows the schedule
//! shrunk to the steps that matter, each with what the pool did, and the
//! command that replays it.

mod common;
use common::*;

const EXERCISE: &str = "03-pool";
const VARIANT: &str = "leaks-on-cancelled-connect";

#[test]
fn a_slot_lost_on_a_dropped_connect_is_shown_as_a_shrunk_schedule() {
    let _serial = serial();
    let sub = variant_submission(EXERCISE, VARIANT);
    let path = sub.path().to_string_lossy().into_owned();
    let o = cargo_grade(&[EXERCISE, "--submission", &path, "--format", "json", "--seed", "20261130", "--fresh"]);
    assert_eq!(code(&o), 1, "a wrong pool fails:\n{}\n{}", stdout(&o), stderr(&o));
    let report = json(&o);
    let c = check(&report, "schedules.invariants");
    assert_eq!(c["status"], "fail", "{c:#}");
    let message = c["message"].as_str().unwrap();
    assert!(message.contains("lost a slot for good"), "the invariant is named: {message}");
    assert!(message.contains("shrunk from"), "the schedule was shrunk: {message}");
    assert_eq!(c["request"], "cargo grade 03-pool --seed 20261130", "the replay command: {c:#}");
    let steps = c["response"].as_str().unwrap();
    assert!(steps.contains("a get() is dropped while its connection opens"), "the step that leaks: {steps}");
    assert!(steps.contains("FAILED:"), "where it failed: {steps}");
    // Shrunk to the few steps that matter (a random schedule has 15 or more).
    let numbered =
        steps.lines().filter(|l| l.trim_start().split('.').next().is_some_and(|n| n.parse::<u32>().is_ok())).count();
    assert!((1..=4).contains(&numbered), "{numbered} steps left after shrinking:\n{steps}");
    // The stages before it are unaffected: this pool is right everywhere else.
    for id in ["basics.reuse", "limits.cap", "failures.connect_error", "fairness.fifo", "performance.speedup"] {
        assert_eq!(check(&report, id)["status"], "pass", "{id}: {:#}", check(&report, id));
    }
}
