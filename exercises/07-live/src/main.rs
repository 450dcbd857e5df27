//! Exercise 07: the like of exercise 05, pushed at once to the post's owner
//! over a WebSocket.
//!
//! Read `docs/src/07-live.md` first. Everything of 05-like is given,
//! solved (`api.rs`, `auth.rs`, `store.rs`, `db.rs`, ...), so that this
//! exercise does not depend on how far you got there; so is this file's
//! shutdown wiring. Your part is `live.rs`, where every `todo!()` names
//! the section of the chapter it belongs to. Run `cargo run -p live` to try
//! it by hand and `cargo grade 07-live` to be graded.

// While functions are still `todo!()`, their arguments and some helpers are
// unused and the compiler would warn about each one. Delete this line when
// you are done: the warnings it then shows point at leftovers.
#![allow(dead_code, unused_variables, unused_imports, unused_mut)]

mod api;
mod app;
mod auth;
mod config;
mod db;
mod error;
mod live;
mod seed;
mod store;

use std::io::{self, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};

use crate::config::Config;
use crate::db::Db;
use crate::live::{Hub, Settings};
use crate::seed::Seed;

/// The kernel's send buffer of each connection. Left alone, Linux grows it
/// to megabytes for a fast reader, and a reader that stalls then parks
/// megabytes in the kernel before the server's own queue notices anything:
/// memory per connection that nobody bounded. 16 KiB is plenty for small
/// JSON messages.
const SEND_BUFFER: usize = 16 * 1024;

/// After SIGTERM: how long the sockets get to close, then the HTTP
/// requests in flight to finish.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(4);

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };

    // The seed is read only when the database is new.
    let seed_path = config.seed_path.clone();
    let seed = move || match &seed_path {
        Some(path) => Seed::load(path),
        None => Ok(Seed::demo()),
    };
    let db = match Db::open(&config.database_path, seed) {
        Ok(db) => db,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };

    let hub = Arc::new(Hub::default());
    let settings = Arc::new(Settings {
        allowed_origins: config.allowed_origins.clone(),
        ping_interval: config.ping_interval,
        queue: config.queue,
    });
    let app = app::router(app::AppState { db, hub: hub.clone(), settings });

    // SIGTERM (what systemd, Docker and the grader send) and Ctrl-C.
    let mut terminate = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(err) => {
            eprintln!("error: cannot listen for SIGTERM: {err}");
            return ExitCode::FAILURE;
        }
    };

    let listener = match TcpListener::bind((config.host.as_str(), config.port)).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("error: {}", describe_bind_error(&config, &err));
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(addr) => announce(addr),
        Err(err) => {
            eprintln!("error: cannot read the listening address: {err}");
            return ExitCode::FAILURE;
        }
    }
    // A socket is not an HTTP request: once upgraded, axum's graceful
    // shutdown no longer sees it. So the hub closes every socket (1001)
    // and waits for them, then the server stops accepting and lets the
    // requests in flight finish. Every like answered was committed first,
    // so nothing answered is lost.
    let stopping = hub.clone();
    let stop = async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        stopping.shut_down();
        let left = stopping.wait_closed(SHUTDOWN_LIMIT).await;
        if left > 0 {
            eprintln!("warning: {left} socket(s) did not close in time");
        }
    };
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = socket2::SockRef::from(&*tcp).set_send_buffer_size(SEND_BUFFER) {
            eprintln!("warning: cannot set the send buffer of a connection: {err}");
        }
    });
    let server = axum::serve(listener, app).with_graceful_shutdown(stop);
    let stopped = tokio::select! {
        result = server => result,
        _ = async { hub.shutdown_requested().await; tokio::time::sleep(SHUTDOWN_LIMIT * 2).await } => {
            eprintln!("warning: requests still in flight after the shutdown limit; exiting anyway");
            Ok(())
        }
    };
    if let Err(err) = stopped {
        eprintln!("error: the server stopped: {err}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The one line that tells whoever started us that connections are accepted.
fn announce(addr: SocketAddr) {
    let mut stdout = io::stdout().lock();
    let _ = writeln!(stdout, "listening on http://{addr}");
    let _ = stdout.flush();
}

/// Turns a bind failure into a message that says what to do about it.
fn describe_bind_error(config: &Config, err: &io::Error) -> String {
    let addr = if config.host.contains(':') {
        format!("[{}]:{}", config.host, config.port)
    } else {
        format!("{}:{}", config.host, config.port)
    };
    match err.kind() {
        io::ErrorKind::AddrInUse => {
            let other = config.port.checked_add(1).unwrap_or(3002);
            format!(
                "cannot listen on {addr}: the address is already in use \
                 (is another server running?). Pick another port, e.g. \
                 PORT={other} cargo run -p live"
            )
        }
        io::ErrorKind::PermissionDenied => format!(
            "cannot listen on {addr}: permission denied (ports below 1024 \
             need administrator rights). Pick a port above 1023, e.g. PORT=3001"
        ),
        io::ErrorKind::AddrNotAvailable => format!(
            "cannot listen on {addr}: {} is not an address of this machine. \
             Try HOST=127.0.0.1",
            config.host
        ),
        _ => format!("cannot listen on {addr}: {err}"),
    }
}
