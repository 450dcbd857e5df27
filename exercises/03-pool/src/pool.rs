//! The pool: your part. Keep the public items (their names and signatures);
//! everything private is yours to change.
//!
//! What it must do (each is a check of `cargo grade 03-pool`):
//! - open connections lazily, and never more than `max_size` at once;
//! - give a dropped `Pooled` back to the pool, whichever way its holder
//!   ended (normally, by panicking, or by its task being cancelled);
//! - make callers wait when every connection is busy, in the order they
//!   came, and give up after `checkout_timeout` with `PoolError::Timeout`;
//! - never lend a connection that `Conn::is_broken` says is broken: close
//!   it, and let its slot open a fresh one.

// The stub declares the shape of the pool before any code uses it.
#![allow(dead_code, unused_variables)]

use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use crate::conn::Conn;
use crate::error::PoolError;

/// How to reach the database and how many connections to keep. Given.
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

/// A handle on the pool. Cloning it must be cheap and every clone must lend
/// from the same connections: keep what they share behind the `Arc`.
#[derive(Clone)]
pub struct Pool {
    shared: Arc<Shared>,
}

/// What every clone of a `Pool` shares. Add what you need: the idle
/// connections, a way to count slots, a queue for waiters (tokio::sync has
/// tools for this), all safe to use from many tasks at once.
struct Shared {
    config: PoolConfig,
}

impl Pool {
    /// A pool that opens nothing yet: connections are opened on demand.
    pub fn new(config: PoolConfig) -> Pool {
        todo!("create the shared state; open no connection yet (docs/src/03-pool.md, \"The task\")")
    }

    /// Check out a connection: an idle one if there is one, a new one if
    /// fewer than `max_size` are open, otherwise wait in line. Gives up with
    /// `PoolError::Timeout` after the configured checkout timeout.
    pub async fn get(&self) -> Result<Pooled, PoolError> {
        todo!("lend an idle connection, open one, or wait for one (docs/src/03-pool.md, \"The task\")")
    }
}

/// A checked-out connection. Use it as a [`Conn`]; drop it to give it back.
///
/// Not `Clone`: one checkout, one owner, one return.
pub struct Pooled {
    conn: Option<Conn>,
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
    // Runs however the holder ends: normally, by a panic unwinding, or by
    // its task being cancelled.
    fn drop(&mut self) {
        // todo: give the connection back (unless it is broken) and free
        // its slot for the next waiter.
    }
}
