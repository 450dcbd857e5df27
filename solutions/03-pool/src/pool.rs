//! The pool: a fixed number of slots, each either an open connection or
//! room to open one; checkouts wait their turn in a queue.

use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::conn::Conn;
use crate::error::PoolError;

/// How to reach the database and how many connections to keep.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub addr: SocketAddr,
    pub user: String,
    pub password: String,
    /// Connections open at most, checked out or idle.
    pub max_size: usize,
    /// How long `get` waits for a connection before giving up.
    pub checkout_timeout: Duration,
}

impl PoolConfig {
    /// Defaults: user `app`, password `secret`, 10 connections, 5 s timeout.
    pub fn new(addr: SocketAddr) -> PoolConfig {
        PoolConfig {
            addr,
            user: "app".into(),
            password: "secret".into(),
            max_size: 10,
            checkout_timeout: Duration::from_secs(5),
        }
    }

    pub fn max_size(mut self, max_size: usize) -> PoolConfig {
        self.max_size = max_size;
        self
    }

    pub fn checkout_timeout(mut self, timeout: Duration) -> PoolConfig {
        self.checkout_timeout = timeout;
        self
    }

    pub fn credentials(mut self, user: &str, password: &str) -> PoolConfig {
        self.user = user.into();
        self.password = password.into();
        self
    }
}

/// A handle on the pool. Cloning it is cheap (one `Arc`) and every clone
/// lends from the same connections, so one pool serves every task.
#[derive(Clone)]
pub struct Pool {
    shared: Arc<Shared>,
}

struct Shared {
    config: PoolConfig,
    /// One permit per slot that is free. Tokio's semaphore queues waiters
    /// first come, first served.
    slots: Semaphore,
    /// Open connections nobody has checked out. Never locked across an await.
    idle: Mutex<Vec<Conn>>,
}

impl Pool {
    /// A pool that opens nothing yet: connections are opened on demand.
    pub fn new(config: PoolConfig) -> Pool {
        assert!(config.max_size > 0, "a pool needs room for at least one connection");
        let slots = Semaphore::new(config.max_size);
        Pool { shared: Arc::new(Shared { config, slots, idle: Mutex::new(Vec::new()) }) }
    }

    /// Check out a connection: an idle one if there is one, a new one if a
    /// slot is free, otherwise wait in line. Gives up with
    /// [`PoolError::Timeout`] after the configured checkout timeout.
    pub async fn get(&self) -> Result<Pooled, PoolError> {
        let shared = &self.shared;
        let timeout = shared.config.checkout_timeout;
        let deadline = Instant::now() + timeout;
        let permit = match tokio::time::timeout_at(deadline, shared.slots.acquire()).await {
            Ok(Ok(permit)) => permit,
            // The semaphore is never closed.
            Ok(Err(_)) | Err(_) => return Err(PoolError::Timeout(timeout)),
        };
        // This task now owns one slot. Until `forget` below, dropping the
        // permit (an error, a cancelled task) gives the slot back.
        let conn = match self.take_idle() {
            Some(conn) => conn,
            None => {
                let config = &shared.config;
                let connect = Conn::connect(config.addr, &config.user, &config.password);
                match tokio::time::timeout_at(deadline, connect).await {
                    Ok(Ok(conn)) => conn,
                    Ok(Err(e)) => return Err(PoolError::Connect(e)),
                    Err(_) => return Err(PoolError::Timeout(timeout)),
                }
            }
        };
        // From here the guard owns the slot; its Drop gives it back.
        permit.forget();
        Ok(Pooled { conn: Some(conn), pool: shared.clone() })
    }

    /// An idle connection that is still good; broken ones are dropped
    /// (closing them), which leaves their slot free for a new connection.
    fn take_idle(&self) -> Option<Conn> {
        let mut idle = self.shared.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(mut conn) = idle.pop() {
            if healthy(&mut conn) {
                return Some(conn);
            }
        }
        None
    }
}

fn healthy(conn: &mut Conn) -> bool {
    !conn.is_broken()
}

/// A checked-out connection. Use it as a [`Conn`]; drop it to give it back.
///
/// Not `Clone`: one checkout, one owner, one return.
pub struct Pooled {
    conn: Option<Conn>,
    pool: Arc<Shared>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("config", &self.shared.config).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Pooled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pooled").field("conn", &self.conn).finish_non_exhaustive()
    }
}

impl Deref for Pooled {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        self.conn.as_ref().expect("a Pooled holds its connection until dropped")
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("a Pooled holds its connection until dropped")
    }
}

impl Drop for Pooled {
    // Runs however the holder ends: normally, by a panic unwinding, or by its
    // task being cancelled. A connection left mid-request reports itself
    // broken and is closed instead of being lent again.
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            if healthy(&mut conn) {
                self.pool.idle.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
            }
        }
        // Only now wake the next waiter: the connection is already there.
        self.pool.slots.add_permits(1);
    }
}
