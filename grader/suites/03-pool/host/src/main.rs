//! The host of 03-pool: the student's pool, linked into this small program,
//! served to the hidden suite over a pipe (see the grade-host crate). The
//! suite starts one host per pool, confined like a server subject (it may
//! connect to the test database only), and calls it through its shim
//! (`src/subject.rs` of the suite) with the API the checks use.
//!
//! Operations, besides grade-host's own (cancel, release, turn):
//! `new` (a config; the pool handle is the request's id), `clone` and
//! `drop_pool` (of a handle, `on`), `get` (on a handle; the checkout is held
//! under the request's id), and on a checkout: `query`, `ping`, `is_broken`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use grade_host::{HeldCall, HeldOp, Host, Request};
use serde_json::{json, Value};
use subject::{ConnError, Pool, PoolConfig, PoolError, Pooled};

fn main() -> ExitCode {
    grade_host::serve(serve)
}

async fn serve(mut host: Host<Pooled>) {
    // Each handle is a clone of the student's `Pool`, as the suite's are.
    let mut pools: HashMap<u64, Arc<Pool>> = HashMap::new();
    while let Some(r) = host.next().await {
        let pool = r.on.and_then(|on| pools.get(&on).cloned());
        match (r.op.as_str(), pool) {
            ("new", _) => match config(&r) {
                Ok(config) => {
                    if let Some(pool) = host.now(r.id, || Ok((Pool::new(config), Value::Null))) {
                        pools.insert(r.id, Arc::new(pool));
                    }
                }
                Err(why) => host.refuse(r.id, why),
            },
            ("clone", Some(pool)) => {
                if let Some(copy) = host.now(r.id, || Ok((Pool::clone(&pool), Value::Null))) {
                    pools.insert(r.id, Arc::new(copy));
                }
            }
            ("drop_pool", Some(_)) => {
                if let Some(pool) = r.on.and_then(|on| pools.remove(&on)) {
                    host.drop_now(pool);
                }
            }
            ("get", Some(pool)) => host.spawn_held(r.id, checkout(pool)).await,
            ("query", _) => {
                let text = r.args["text"].as_str().unwrap_or_default().to_string();
                host.on_held(r.id, r.on, query(text)).await
            }
            ("ping", _) => host.on_held(r.id, r.on, ping()).await,
            ("is_broken", _) => host.on_held(r.id, r.on, is_broken()).await,
            (op, _) => host.refuse(r.id, format!("no operation `{op}` on {:?}", r.on)),
        }
    }
}

fn config(r: &Request) -> Result<PoolConfig, String> {
    let a = &r.args;
    let addr: SocketAddr = a["addr"].as_str().and_then(|s| s.parse().ok()).ok_or("`new` needs an address")?;
    let mut config = PoolConfig::new(addr);
    if let Some(n) = a["max_size"].as_u64() {
        config = config.max_size(n as usize);
    }
    if let Some(ms) = a["checkout_timeout_ms"].as_u64() {
        config = config.checkout_timeout(Duration::from_millis(ms));
    }
    if let (Some(user), Some(password)) = (a["user"].as_str(), a["password"].as_str()) {
        config = config.credentials(user, password);
    }
    Ok(config)
}

async fn checkout(pool: Arc<Pool>) -> Result<(Pooled, Value), Value> {
    match pool.get().await {
        Ok(conn) => {
            let shown = json!({ "backend_id": conn.backend_id() });
            Ok((conn, shown))
        }
        Err(e) => Err(pool_error(&e)),
    }
}

fn query(text: String) -> HeldOp<Pooled> {
    Box::new(move |conn: &mut Pooled| -> HeldCall<'_> {
        Box::pin(async move { conn.query(&text).await.map(|rows| json!(rows)).map_err(|e| conn_error(&e)) })
    })
}

fn ping() -> HeldOp<Pooled> {
    Box::new(|conn: &mut Pooled| -> HeldCall<'_> {
        Box::pin(async move { conn.ping().await.map(|()| Value::Null).map_err(|e| conn_error(&e)) })
    })
}

/// Asked after a turn of this process's reactor, so a goodbye the server
/// sent before the question is seen (grade_host::reactor_turn).
fn is_broken() -> HeldOp<Pooled> {
    Box::new(|conn: &mut Pooled| -> HeldCall<'_> {
        Box::pin(async move {
            grade_host::reactor_turn().await;
            Ok(json!(conn.is_broken()))
        })
    })
}

/// The error's variant and its `Display` text, as the checks show it.
fn pool_error(e: &PoolError) -> Value {
    let shown = e.to_string();
    #[allow(unreachable_patterns)] // a variant the student added
    match e {
        PoolError::Timeout(waited) => {
            json!({ "variant": "Timeout", "waited_ms": waited.as_millis() as u64, "shown": shown })
        }
        PoolError::Connect(conn) => json!({ "variant": "Connect", "conn": conn_error(conn), "shown": shown }),
        other => json!({ "variant": variant(other), "shown": shown }),
    }
}

fn conn_error(e: &ConnError) -> Value {
    json!({ "variant": variant(e), "shown": e.to_string() })
}

/// The variant's name, from `Debug` (the student's error type may have
/// variants the kit's has not).
fn variant(e: &impl std::fmt::Debug) -> String {
    let debug = format!("{e:?}");
    debug.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap_or_default().to_string()
}
