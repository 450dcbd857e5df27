//! Exercise 03: a connection pool.
//!
//! Opening a database connection costs a handshake and authentication, and a
//! database takes only so many at once. A backend therefore opens a few,
//! keeps them, and lends them to requests one at a time. You write the
//! lending: [`Pool`] in `src/pool.rs`. The client for one connection
//! ([`Conn`], `src/conn.rs`) and the error type (`src/error.rs`) are given.
//!
//! ```no_run
//! # async fn demo() -> Result<(), pool::PoolError> {
//! use std::time::Duration;
//! use pool::{Pool, PoolConfig};
//!
//! let pool = Pool::new(
//!     PoolConfig::new("127.0.0.1:5433".parse().unwrap())
//!         .max_size(8)
//!         .checkout_timeout(Duration::from_secs(2)),
//! );
//! let mut conn = pool.get().await?; // waits for a free connection
//! let rows = conn.query("hello").await?;
//! drop(conn); // back to the pool, for the next request
//! # let _ = rows; Ok(()) }
//! ```

mod conn;
mod error;
mod pool;

pub use conn::{Conn, ConnError};
pub use error::PoolError;
pub use pool::{Pool, PoolConfig, Pooled};
