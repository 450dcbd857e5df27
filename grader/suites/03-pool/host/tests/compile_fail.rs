//! Type-level guarantees of the pool's API, proven by the compiler: code
//! that would misuse a checkout must not compile. The cases are compiled
//! against the exercise's public API (the stub's types are the student's).
//! Re-record the expected errors after a toolchain change with
//! `TRYBUILD=overwrite cargo test -p pool-host --test compile_fail`.

#[test]
fn misuse_does_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail_*.rs");
    t.pass("tests/ui/pass_*.rs");
}
