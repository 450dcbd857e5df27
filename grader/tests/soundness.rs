//! `cargo grade check`: the kit proves itself. Every reference passes, every
//! committed stub scores 0, every known-wrong variant is caught by the checks
//! it names, snapshots are current, every declared check exists.
//!
//! Here a sample of the variants (the seed picks which, so every CI run
//! grades others); `cargo grade check` grades them all (docs/src/instructors.md).

mod common;
use common::*;

#[test]
fn the_kit_is_sound() {
    let o = cargo_grade(&["check", "--variants", "4", "--mutants", "1"]);
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}\n{}", stderr(&o));
    assert!(out.contains("the kit is sound"), "{out}");
    assert!(!out.contains('✗'), "{out}");
    // The rows the design requires, for every exercise.
    for row in ["reference passes", "stub scores 0", "variant ", "snapshots current", "checks reachable"] {
        assert!(out.contains(row), "missing row {row}:\n{out}");
    }
    assert!(out.contains("variants sampled"), "the sample is said:\n{out}");
}

/// A variant measured under several seeds: the row says how many held, and
/// only the variant's own checks (and the gate stages) are run.
#[test]
fn a_variant_is_measured_under_several_seeds() {
    let o = cargo_grade(&["check", "01-bind", "--variant", "created-is-200", "--seeds", "3", "--seed", "11"]);
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}\n{}", stderr(&o));
    assert!(out.contains("variant created-is-200"), "{out}");
    assert!(out.contains("(under 3 of 3 seeds)"), "{out}");
    assert!(!out.contains("reference passes"), "only the variant's rows: {out}");
}
