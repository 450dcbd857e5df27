//! Hidden suite of 01-bind. The student's server runs as its own process on a
//! free port and is graded only through what it prints and what it answers
//! over TCP. Names, paths and file contents are drawn from the seed, so a
//! server that hard-codes answers fails; differential checks run the
//! reference beside it on the same random requests.

mod compare;
mod expect;
mod fixtures;
mod stages;

use std::process::ExitCode;

use stages::{bind, concurrency, errors, json, static_files};

fn main() -> ExitCode {
    harness::Suite::new("01-bind", env!("CARGO_MANIFEST_DIR"))
        .subject_bin("bind")
        .check("bind.listens", bind::listens)
        .check("bind.port_zero", bind::port_zero)
        .check("bind.host", bind::host)
        .check("bind.port_taken", bind::port_taken)
        .check("bind.bad_port", bind::bad_port)
        .check("json.health", json::health)
        .check("json.users_list", json::users_list)
        .check("json.user_by_id", json::user_by_id)
        .check("json.users_create", json::users_create)
        .check("json.bad_body", json::bad_body)
        .check("json.bodies", json::bodies)
        .check("static.index", static_files::index)
        .check("static.content_types", static_files::content_types)
        .check("static.head", static_files::head)
        .check("static.traversal", static_files::traversal)
        .check("static.paths", static_files::paths)
        .check("errors.not_found", errors::not_found)
        .check("errors.methods", errors::methods)
        .check("concurrency.slow_client", concurrency::slow_client)
        .main()
}
