//! Where the server listens and what it serves, read from environment
//! variables: the same program runs on a laptop and on a server, only the
//! environment differs.

use std::fmt;
use std::path::PathBuf;

/// Loopback: reachable from this machine only.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// The customary port of a backend in development.
pub const DEFAULT_PORT: u16 = 3001;
/// The frontend files that ship with the exercise.
pub const DEFAULT_PUBLIC_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/public");

/// Everything the server needs to know before it starts.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST`: the address to listen on.
    pub host: String,
    /// `PORT`: the TCP port to listen on; 0 lets the OS pick a free one.
    pub port: u16,
    /// `PUBLIC_DIR`: the folder whose files are served as the frontend.
    pub public_dir: PathBuf,
}

/// A configuration the server cannot start with.
#[derive(Debug)]
pub enum ConfigError {
    /// `PORT` is set but is not a number from 0 to 65535. Holds what it was.
    BadPort(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::BadPort(value) => {
                write!(f, "PORT must be a port number (0-65535), got {value:?}")
            }
        }
    }
}

impl Config {
    /// Reads the configuration from the environment:
    ///
    /// - `HOST`, default [`DEFAULT_HOST`];
    /// - `PORT`, default [`DEFAULT_PORT`]; a value that is not a number from
    ///   0 to 65535 is `Err(ConfigError::BadPort(value))` (`main` turns it
    ///   into the message and exit code 2);
    /// - `PUBLIC_DIR`, default [`DEFAULT_PUBLIC_DIR`].
    ///
    /// Hint: `std::env::var`, and `str::parse::<u16>()` checks the range for
    /// you. See "The task" in `docs/src/01-bind.md`.
    pub fn from_env() -> Result<Config, ConfigError> {
        todo!("read HOST, PORT and PUBLIC_DIR from the environment (docs/src/01-bind.md, \"Starting up\")")
    }
}
