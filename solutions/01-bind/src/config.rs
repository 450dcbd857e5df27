//! Where the server listens and what it serves, read from environment
//! variables: the same program runs on a laptop and on a server, only the
//! environment differs.

use std::env;
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
    /// `PORT` is set but is not a number from 0 to 65535.
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
    /// Reads `HOST`, `PORT` and `PUBLIC_DIR`, with defaults for unset ones.
    pub fn from_env() -> Result<Config, ConfigError> {
        let host = env::var("HOST").unwrap_or_else(|_| DEFAULT_HOST.to_string());

        // A port is a 16-bit number, so parsing into u16 does the range
        // check for us: "70000", "-1" and "abc" are all rejected.
        let port = match env::var_os("PORT") {
            None => DEFAULT_PORT,
            Some(raw) => {
                let raw = raw.to_string_lossy().into_owned();
                raw.parse::<u16>().map_err(|_| ConfigError::BadPort(raw))?
            }
        };

        let public_dir =
            env::var_os("PUBLIC_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(DEFAULT_PUBLIC_DIR));

        Ok(Config { host, port, public_dir })
    }
}
