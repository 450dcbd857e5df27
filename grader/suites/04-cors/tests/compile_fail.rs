//! The exercise's CORS builder makes `*` together with credentials a compile
//! error, in either order. Each case in tests/ui/*.rs must fail to compile with
//! exactly the compiler output recorded next to it (`.stderr`); the `pass`
//! cases must compile and run.
//!
//! The cases build against the kit's stub (`exercises/04-cors`), whose
//! builder is the same as the reference's. Re-record the expected output
//! after a compiler upgrade with `TRYBUILD=overwrite cargo test -p cors-suite --test compile_fail`.

#[test]
fn wildcard_with_credentials_does_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
