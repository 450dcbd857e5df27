//! Hidden suite of 04-cors. The student's API runs as its own process on a
//! free port. Most checks send the requests a browser would send (with
//! `Origin`, and preflights) and read the CORS headers that come back; the
//! `matches_reference` checks send random requests to the student's API and
//! to the reference's and compare the answers; the `browser` stage has a
//! real headless Chromium load a page from another origin and report what
//! the browser itself let the page read.
//!
//! Origins, header names, tokens and users are drawn from the seed, so a
//! layer that hard-codes them fails.

mod cases;
mod expect;
mod fixtures;
mod stages;

use std::process::ExitCode;

use stages::{actual, browser, preflight, start};

fn main() -> ExitCode {
    harness::Suite::new("04-cors", env!("CARGO_MANIFEST_DIR"))
        .subject_bin("cors")
        .check("start.serves", start::serves)
        .check("actual.allowed_origin", actual::allowed_origin)
        .check("actual.credentials", actual::credentials)
        .check("actual.disallowed_origin", actual::disallowed_origin)
        .check("actual.null_origin", actual::null_origin)
        .check("actual.no_origin", actual::no_origin)
        .check("actual.matches_reference", actual::matches_reference)
        .check("preflight.allowed", preflight::allowed)
        .check("preflight.disallowed_origin", preflight::disallowed_origin)
        .check("preflight.disallowed_method", preflight::disallowed_method)
        .check("preflight.disallowed_header", preflight::disallowed_header)
        .check("preflight.matches_reference", preflight::matches_reference)
        .check("browser.allows", browser::allows)
        .check("browser.blocks", browser::blocks)
        .main()
}
