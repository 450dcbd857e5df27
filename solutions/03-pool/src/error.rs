//! What a checkout can fail with. Given; you need not change this file.

use std::fmt;
use std::time::Duration;

use crate::conn::ConnError;

/// Why [`Pool::get`](crate::Pool::get) gave no connection.
#[derive(Debug)]
pub enum PoolError {
    /// Every connection stayed busy for the whole checkout timeout (the
    /// duration it waited). A web handler answers this with 503.
    Timeout(Duration),
    /// A new connection was needed and the database refused it or could not
    /// be reached.
    Connect(ConnError),
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::Timeout(waited) => {
                write!(f, "no database connection came free within {} ms", waited.as_millis())
            }
            PoolError::Connect(e) => write!(f, "could not open a database connection: {e}"),
        }
    }
}

impl std::error::Error for PoolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PoolError::Timeout(_) => None,
            PoolError::Connect(e) => Some(e),
        }
    }
}

impl From<ConnError> for PoolError {
    fn from(e: ConnError) -> Self {
        PoolError::Connect(e)
    }
}
