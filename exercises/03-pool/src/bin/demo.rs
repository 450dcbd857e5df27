//! A web server that uses your pool, to try it by hand. Given.
//!
//! ```sh
//! cargo run -p harness --bin kitdb -- --port 5433 --max-connections 20 --connect-cost-ms 30
//! DATABASE_ADDR=127.0.0.1:5433 POOL_SIZE=8 PORT=3001 cargo run -p pool --bin pool-demo
//! curl 'http://127.0.0.1:3001/query?q=hello'
//! ```
//!
//! Every request checks a connection out of one shared pool, runs the query
//! and gives the connection back. Fire a few hundred requests at once and
//! watch kitdb's counters: the database never sees more than POOL_SIZE.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use pool::{Pool, PoolConfig, PoolError};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Params {
    q: String,
}

/// `GET /query?q=TEXT`: `{"rows": [...], "backend": ID}`, or 503 when no
/// connection came free in time, 502 when the database refused.
async fn query(State(pool): State<Pool>, Query(params): Query<Params>) -> (StatusCode, Json<Value>) {
    let mut conn = match pool.get().await {
        Ok(conn) => conn,
        Err(e @ PoolError::Timeout(_)) => {
            return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "error": e.to_string() })))
        }
        Err(e) => return (StatusCode::BAD_GATEWAY, Json(json!({ "error": e.to_string() }))),
    };
    match conn.query(&params.q).await {
        Ok(rows) => (StatusCode::OK, Json(json!({ "rows": rows, "backend": conn.backend_id() }))),
        Err(e) => (StatusCode::BAD_GATEWAY, Json(json!({ "error": e.to_string() }))),
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match std::env::var(name) {
        Ok(raw) => raw.parse().map_err(|_| format!("{name}={raw:?} is not valid")),
        Err(_) => Ok(default),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let settings = (|| {
        let host: std::net::IpAddr = env_or("HOST", [127, 0, 0, 1].into())?;
        let port: u16 = env_or("PORT", 3001)?;
        let db: SocketAddr = env_or("DATABASE_ADDR", SocketAddr::from(([127, 0, 0, 1], 5433)))?;
        let size: usize = env_or("POOL_SIZE", 10)?;
        let timeout: u64 = env_or("CHECKOUT_TIMEOUT_MS", 2000)?;
        Ok::<_, String>((SocketAddr::new(host, port), db, size, timeout))
    })();
    let (addr, db, size, timeout) = match settings {
        Ok(s) => s,
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(2);
        }
    };
    let pool = Pool::new(PoolConfig::new(db).max_size(size).checkout_timeout(Duration::from_millis(timeout)));
    let app = Router::new()
        .route("/query", get(query))
        .route("/health", get(|| async { Json(json!({ "status": "ok" })) }))
        .with_state(pool);
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e} (set PORT to another port)");
            return ExitCode::FAILURE;
        }
    };
    let bound = listener.local_addr().unwrap_or(addr);
    println!("listening on http://{bound} (database {db}, pool of {size})");
    match axum::serve(listener, app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: the server stopped: {e}");
            ExitCode::FAILURE
        }
    }
}
