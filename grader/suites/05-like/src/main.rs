//! Hidden suite of 05-like. The student's server runs as its own process on
//! a free port, on a fresh database file, with a seed file of random users,
//! tokens and posts written for the check; it is graded only through what
//! it answers over TCP. The `*.random` checks play random sequences against
//! the reference solution as well and compare the answers.

mod api;
mod cases;
mod sequence;
mod stages;
mod world;

use stages::{auth, concurrency, errors, like, notify, persist, read};

fn main() -> std::process::ExitCode {
    harness::Suite::new("05-like", env!("CARGO_MANIFEST_DIR"))
        .subject_bin("like")
        .check("read.post", read::post)
        .check("auth.missing_token", auth::missing_token)
        .check("auth.bad_token", auth::bad_token)
        .check("auth.random", auth::random)
        .check("like.first", like::first)
        .check("like.idempotent", like::idempotent)
        .check("like.unlike", like::unlike)
        .check("like.random", like::random)
        .check("notify.owner", notify::owner)
        .check("notify.once", notify::once)
        .check("notify.unlike", notify::unlike)
        .check("notify.own_post", notify::own_post)
        .check("notify.random", notify::random)
        .check("errors.bad_id", errors::bad_id)
        .check("errors.unknown_post", errors::unknown_post)
        .check("errors.bad_body", errors::bad_body)
        .check("errors.random", errors::random)
        .check("persist.restart", persist::restart)
        .check("persist.random", persist::random)
        .check("concurrency.many_users", concurrency::many_users)
        .check("concurrency.same_user", concurrency::same_user)
        .check("concurrency.storm", concurrency::storm)
        .main()
}
