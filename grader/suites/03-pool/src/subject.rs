//! The student's pool, as the checks call it. The pool itself runs in a
//! host program of its own (`host/`, the student's crate linked in),
//! started confined for each `Pool::new` with the right to reach the test
//! database and nothing else; this shim forwards every call to it
//! (harness::host). It mirrors the API of the exercise's stub: `Pool`,
//! `PoolConfig`, `Pooled` (a checkout), `PoolError`, `ConnError`, with two
//! differences: starting a pool takes the check's context and can fail, and
//! a checkout's connection methods are the shim's own.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use harness::host::{Answer, Call, Host};
use harness::process::Spawn;
use harness::{Ctx, Failure};
use serde_json::{json, Value};

use crate::fixtures::{crashed, pool_not_started};

/// How to reach the database and how many connections to keep (the stub's).
#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub addr: SocketAddr,
    pub max_size: usize,
    pub checkout_timeout: Duration,
}

impl PoolConfig {
    pub fn new(addr: SocketAddr) -> PoolConfig {
        PoolConfig { addr, max_size: 10, checkout_timeout: Duration::from_secs(5) }
    }

    pub fn max_size(mut self, max_size: usize) -> PoolConfig {
        self.max_size = max_size;
        self
    }

    pub fn checkout_timeout(mut self, timeout: Duration) -> PoolConfig {
        self.checkout_timeout = timeout;
        self
    }
}

/// A handle on the student's pool. A clone is a clone of the student's
/// `Pool` in the host, dropped with this one.
pub struct Pool {
    host: Host,
    handle: u64,
}

impl Pool {
    /// Start a host and call the student's `Pool::new` in it. A pool that
    /// panics there, or a host that dies, fails the check.
    pub async fn new(cx: &Ctx, config: PoolConfig) -> Result<Pool, Failure> {
        let host = Host::start(cx, &Spawn::default().connect_to(config.addr.port()))?;
        let args = json!({
            "addr": config.addr.to_string(),
            "max_size": config.max_size,
            "checkout_timeout_ms": config.checkout_timeout.as_millis() as u64,
        });
        let call = host.call("new", None, args);
        let handle = call.id();
        match call.await {
            Answer::Ok(_) => Ok(Pool { host, handle }),
            answer => Err(Failure::new(pool_not_started(&answer)).with_output(host.printed())),
        }
    }

    /// Check out a connection (the student's `pool.get()`, awaited in the host).
    pub fn get(&self) -> Get {
        Get { host: self.host.clone(), call: self.host.call("get", Some(self.handle), Value::Null) }
    }

    /// Wait until the pool has handled everything the suite did so far: a
    /// dropped checkout is back (or closed) before the check goes on, as
    /// `drop` in-process would have it, and the pool's reactor has seen
    /// what the kernel delivered (a connection the database closed), as
    /// `Conn::is_broken` needs (harness::host::Host::settle).
    pub async fn settle(&self) {
        self.host.settle().await;
    }
}

impl Clone for Pool {
    fn clone(&self) -> Pool {
        let handle = self.host.tell("clone", Some(self.handle));
        Pool { host: self.host.clone(), handle }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.host.tell("drop_pool", Some(self.handle));
    }
}

/// A `pool.get()` in flight. Dropping it before it finished drops the
/// student's future in the host.
pub struct Get {
    host: Host,
    call: Call,
}

impl Get {
    /// Whether the student's `get()` finished at its first poll (`false`:
    /// it waits, for a slot or for its connection to open).
    pub async fn answered_at_once(&mut self) -> bool {
        self.call.answered_at_once().await
    }
}

impl Future for Get {
    type Output = Result<Pooled, PoolError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let answer = std::task::ready!(Pin::new(&mut self.call).poll(cx));
        let id = self.call.id();
        Poll::Ready(match answer {
            Answer::Ok(v) => {
                Ok(Pooled { host: self.host.clone(), id, backend_id: v["backend_id"].as_u64().unwrap_or(0) })
            }
            Answer::Err(e) => Err(PoolError::from_host(&e)),
            other => Err(PoolError::Crashed(crashed("pool.get()", &other))),
        })
    }
}

/// A checkout: the student's `Pooled`, held in the host. Dropping it drops
/// theirs (while panicking, if this one's holder panics).
pub struct Pooled {
    host: Host,
    id: u64,
    backend_id: u64,
}

impl Pooled {
    /// The server's session number (read when it was checked out).
    pub fn backend_id(&self) -> u64 {
        self.backend_id
    }

    pub async fn query(&mut self, text: &str) -> Result<Vec<String>, ConnError> {
        match self.host.call("query", Some(self.id), json!({ "text": text })).await {
            Answer::Ok(rows) => Ok(rows
                .as_array()
                .map(|rows| rows.iter().map(|r| r.as_str().unwrap_or_default().to_string()).collect())
                .unwrap_or_default()),
            Answer::Err(e) => Err(ConnError::from_host(&e)),
            other => Err(ConnError::crashed(crashed("a query", &other))),
        }
    }

    // The rest of the connection's API, for checks to come.
    #[allow(dead_code)]
    pub async fn ping(&mut self) -> Result<(), ConnError> {
        match self.host.call("ping", Some(self.id), Value::Null).await {
            Answer::Ok(_) => Ok(()),
            Answer::Err(e) => Err(ConnError::from_host(&e)),
            other => Err(ConnError::crashed(crashed("a ping", &other))),
        }
    }

    /// `Conn::is_broken()`, after the host's reactor caught up.
    #[allow(dead_code)]
    pub async fn is_broken(&mut self) -> Result<bool, ConnError> {
        match self.host.call("is_broken", Some(self.id), Value::Null).await {
            Answer::Ok(v) => Ok(v.as_bool().unwrap_or(true)),
            other => Err(ConnError::crashed(crashed("is_broken()", &other))),
        }
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let op = if std::thread::panicking() { grade_host::wire::RELEASE_PANICKING } else { grade_host::wire::RELEASE };
        self.host.tell(op, Some(self.id));
    }
}

impl std::fmt::Debug for Pooled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pooled(backend {})", self.backend_id)
    }
}

/// Why a checkout failed: the student's `PoolError` (its variant and its
/// own text), or a crash of their code.
#[derive(Debug, Clone)]
pub enum PoolError {
    Timeout {
        waited: Duration,
        shown: String,
    },
    Connect {
        shown: String,
    },
    /// A variant the kit's `PoolError` does not have.
    Other {
        shown: String,
    },
    /// Not an answer of the pool: it panicked, or its program ended.
    Crashed(String),
}

impl PoolError {
    fn from_host(e: &Value) -> PoolError {
        let shown = e["shown"].as_str().unwrap_or_default().to_string();
        match e["variant"].as_str().unwrap_or_default() {
            "Timeout" => {
                PoolError::Timeout { waited: Duration::from_millis(e["waited_ms"].as_u64().unwrap_or(0)), shown }
            }
            "Connect" => PoolError::Connect { shown },
            _ => PoolError::Other { shown },
        }
    }
}

impl std::fmt::Display for PoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PoolError::Timeout { shown, .. } | PoolError::Connect { shown } | PoolError::Other { shown } => {
                f.write_str(shown)
            }
            PoolError::Crashed(why) => f.write_str(why),
        }
    }
}

/// Why a query or a ping failed, in the student's `ConnError`'s own words.
#[derive(Debug, Clone)]
pub struct ConnError {
    shown: String,
}

impl ConnError {
    fn from_host(e: &Value) -> ConnError {
        ConnError { shown: e["shown"].as_str().unwrap_or_default().to_string() }
    }

    fn crashed(why: String) -> ConnError {
        ConnError { shown: why }
    }
}

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}
