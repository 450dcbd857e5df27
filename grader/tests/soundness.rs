//! `cargo grade check`: the kit proves itself. Every reference passes, every
//! committed stub scores 0, every known-wrong variant is caught by the checks
//! it names, snapshots are current, every declared check exists.

mod common;
use common::*;

#[test]
fn the_kit_is_sound() {
    let o = cargo_grade(&["check"]);
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}\n{}", stderr(&o));
    assert!(out.contains("the kit is sound"), "{out}");
    assert!(!out.contains('✗'), "{out}");
    // The rows the design requires, for every exercise.
    for row in ["reference passes", "stub scores 0", "variant ", "snapshots current", "checks reachable"] {
        assert!(out.contains(row), "missing row {row}:\n{out}");
    }
}
