//! Exercise 01, reference solution: a backend is a process listening on a port.
//!
//! The program reads where to listen from `HOST` and `PORT`, asks the
//! operating system for that address, says `listening on http://...` once it
//! can accept connections, and then answers HTTP requests: a small JSON API
//! (`/health`, `/users`) and the frontend's static files.
//!
//! The chapter that goes with it: `docs/src/01-bind.md`.

mod api;
mod app;
mod config;
mod error;
mod static_files;

use std::io::{self, Write};
use std::net::SocketAddr;
use std::process::ExitCode;

use axum::Router;
use tokio::net::TcpListener;

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
async fn run(config: &Config, app: Router) -> ExitCode {
    // Binding is the moment the operating system hands this process the
    // port: from now on, TCP connections to HOST:PORT are queued for us.
    // A (host, port) pair, not a formatted string, so IPv6 hosts work too.
    let listener = match TcpListener::bind((config.host.as_str(), config.port)).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("error: {}", describe_bind_error(config, &err));
            return ExitCode::FAILURE;
        }
    };

    // Announce the address the OS actually gave us: with PORT=0 it picks a
    // free port, and this line is the only way to learn which one.
    match listener.local_addr() {
        Ok(addr) => announce(addr),
        Err(err) => {
            eprintln!("error: cannot read the listening address: {err}");
            return ExitCode::FAILURE;
        }
    }

    // `axum::serve` accepts connections in a loop and handles each one in a
    // task of its own, so a slow client only ever holds up itself.
    if let Err(err) = axum::serve(listener, app).await {
        eprintln!("error: the server stopped: {err}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Prints the one line that tells whoever started us (you, a test, a
/// process manager) that connections are now accepted.
fn announce(addr: SocketAddr) {
    let mut stdout = io::stdout().lock();
    // Flush: when stdout is a pipe, an unflushed line can sit in a buffer
    // while the reader waits for it. Errors are ignored on purpose: a closed
    // stdout must not stop the server.
    let _ = writeln!(stdout, "listening on http://{addr}");
    let _ = stdout.flush();
}

/// Turns a bind failure into a message that says what to do about it.
fn describe_bind_error(config: &Config, err: &io::Error) -> String {
    let addr = if config.host.contains(':') {
        format!("[{}]:{}", config.host, config.port) // an IPv6 address
    } else {
        format!("{}:{}", config.host, config.port)
    };
    match err.kind() {
        io::ErrorKind::AddrInUse => {
            let other = config.port.checked_add(1).unwrap_or(3002);
            format!(
                "cannot listen on {addr}: the address is already in use \
                 (is another server running?). Pick another port, e.g. \
                 PORT={other} cargo run -p bind"
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
