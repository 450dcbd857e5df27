//! The API server: reads its configuration, binds HOST:PORT, prints
//! `listening on http://ADDR` and serves the routes behind the CORS layer.

use std::io::{self, Write};
use std::process::ExitCode;

use cors::app;
use cors::config::Config;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind((config.host.as_str(), config.port)).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!(
                "error: cannot listen on {}:{}: {err} (pick another port: PORT=3002 cargo run -p cors)",
                config.host, config.port
            );
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(err) => {
            eprintln!("error: the listening socket has no address: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on http://{addr}");
    let _ = io::stdout().flush();
    match axum::serve(listener, app::router(&config)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: the server stopped: {err}");
            ExitCode::FAILURE
        }
    }
}
