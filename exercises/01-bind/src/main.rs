//! Exercise 01: a backend is a process listening on a port.
//!
//! Your program reads where to listen from `HOST` and `PORT`, asks the
//! operating system for that address, prints `listening on http://...` once
//! it can accept connections, and then answers HTTP requests: a small JSON
//! API (`/health`, `/users`) and the frontend's static files in `public/`.
//!
//! Read `docs/src/01-bind.md` first; every `todo!()` below names the part of
//! that chapter it belongs to. Run `cargo run -p bind` to try it by hand and
//! `cargo grade 01-bind` to be graded.

// While functions are still `todo!()`, their arguments and some helpers are
// unused and the compiler would warn about each one. Delete this line when
// you are done: the warnings it then shows point at leftovers.
#![allow(dead_code, unused_variables)]

mod api;
mod app;
mod config;
mod error;
mod static_files;

use std::process::ExitCode;

use axum::Router;

use crate::config::Config;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            // Exit code 2 is the usual convention for "you started me wrong".
            return ExitCode::from(2);
        }
    };
    let app = app::router(app::AppState::new(config.public_dir.clone()));
    run(&config, app).await
}

/// Binds the listening socket, announces it, and serves `app` until the
/// process is stopped.
///
/// 1. Bind a `tokio::net::TcpListener` to `config.host` and `config.port`.
///    If that fails, print `error: ...` to stderr and return
///    `ExitCode::FAILURE`. When the address is already in use, say so and
///    suggest another port (`PORT=3002 cargo run -p bind`).
/// 2. Print exactly one line, `listening on http://ADDR`, where ADDR is the
///    listener's *actual* local address (with `PORT=0` the OS picks the
///    port), and flush stdout.
/// 3. Hand the listener and `app` to `axum::serve`.
///
/// See "The task" and "When the port is taken" in `docs/src/01-bind.md`.
async fn run(config: &Config, app: Router) -> ExitCode {
    todo!("bind HOST:PORT, print `listening on http://ADDR`, then axum::serve (docs/src/01-bind.md, \"Starting up\")")
}
