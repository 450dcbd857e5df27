//! Exercise 05, reference solution: the like endpoint, from the bearer token
//! to the notification, persisted in SQLite and correct under concurrency.
//!
//! The chapter that goes with it: `docs/src/05-like.md`.

mod api;
mod app;
mod auth;
mod config;
mod db;
mod error;
mod seed;
mod store;

use std::io::{self, Write};
use std::net::SocketAddr;
use std::process::ExitCode;

use tokio::net::TcpListener;

use crate::config::Config;
use crate::db::Db;
use crate::seed::Seed;

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

    let app = app::router(app::AppState { db });

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
    if let Err(err) = axum::serve(listener, app).await {
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
                 PORT={other} cargo run -p like"
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
