//! Hidden suite of 08-dns. The student's server runs as its own process on a
//! free port, serving a zone drawn from the seed, and is asked questions
//! over real UDP and TCP; differential checks ask the reference the same
//! questions on the same zone and compare the answers.

mod cases;
mod servers;
mod stages;
mod wire;
mod zonegen;

use std::process::ExitCode;

use stages::{answers, dig, robust, start, transport};

fn main() -> ExitCode {
    harness::Suite::new("08-dns", env!("CARGO_MANIFEST_DIR"))
        .subject_bin("dns")
        .check("start.listens", start::listens)
        .check("start.port_taken", start::port_taken)
        .check("answers.records", answers::records)
        .check("answers.case", answers::case)
        .check("answers.cname", answers::cname)
        .check("answers.kit_zone", answers::kit_zone)
        .check("negative.nxdomain", answers::nxdomain)
        .check("negative.nodata", answers::nodata)
        .check("negative.refused", answers::refused)
        .check("transport.tcp", transport::tcp)
        .check("transport.truncation", transport::truncation)
        .check("robust.malformed", robust::malformed)
        .check("robust.fuzz", robust::fuzz)
        .check("dig.blackbox", dig::blackbox)
        .main()
}
