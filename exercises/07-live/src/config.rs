//! Where the server listens and where its data lives, read from environment
//! variables. Given: nothing here is part of the exercise.

use std::env;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Loopback: reachable from this machine only.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// The customary port of a backend in development.
pub const DEFAULT_PORT: u16 = 3001;
/// The database file, relative to the folder the server is started in.
pub const DEFAULT_DATABASE_PATH: &str = "live.db";

/// Everything the server needs to know before it starts.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST`: the address to listen on.
    pub host: String,
    /// `PORT`: the TCP port to listen on; 0 lets the OS pick a free one.
    pub port: u16,
    /// `DATABASE_PATH`: the SQLite file. Created, with the schema and the
    /// seed data, when it does not exist yet.
    pub database_path: PathBuf,
    /// `SEED_PATH`: a JSON file of users and posts loaded into a new
    /// database (see `seed.rs`); unset means the built-in demo data.
    pub seed_path: Option<PathBuf>,
    /// `ALLOWED_ORIGINS`: the frontends whose pages may open the live
    /// socket, comma separated, exactly as 04-cors reads them (scheme, host
    /// and port, no trailing slash). Default `http://localhost:3000`.
    pub allowed_origins: Vec<String>,
    /// `LIVE_PING_MS`: how often an idle socket is pinged. A peer silent
    /// for [`SILENT_PINGS`] intervals is taken for dead and dropped.
    pub ping_interval: Duration,
    /// `LIVE_QUEUE`: how many notifications may wait for one socket before
    /// its reader is taken for too slow and closed.
    pub queue: usize,
}

/// The default of `LIVE_PING_MS`: 15 s, well under the 60 s after which
/// nginx's `proxy_read_timeout` drops a quiet connection.
pub const DEFAULT_PING_MS: u64 = 15_000;
/// The default of `LIVE_QUEUE`.
pub const DEFAULT_QUEUE: usize = 256;
/// A peer that has sent nothing (not even a pong) for this many ping
/// intervals is dead.
pub const SILENT_PINGS: u32 = 3;

/// A configuration the server cannot start with.
#[derive(Debug)]
pub enum ConfigError {
    /// `PORT` is set but is not a number from 0 to 65535.
    BadPort(String),
    /// A number setting is not a positive whole number.
    BadNumber(&'static str, String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::BadPort(value) => {
                write!(f, "PORT must be a port number (0-65535), got {value:?}")
            }
            ConfigError::BadNumber(name, value) => {
                write!(f, "{name} must be a positive whole number, got {value:?}")
            }
        }
    }
}

impl Config {
    /// Reads `HOST`, `PORT`, `DATABASE_PATH`, `SEED_PATH`, `ALLOWED_ORIGINS`,
    /// `LIVE_PING_MS` and `LIVE_QUEUE`.
    pub fn from_env() -> Result<Config, ConfigError> {
        let host = env::var("HOST").unwrap_or_else(|_| DEFAULT_HOST.to_string());
        let port = match env::var_os("PORT") {
            None => DEFAULT_PORT,
            Some(raw) => {
                let raw = raw.to_string_lossy().into_owned();
                raw.parse::<u16>().map_err(|_| ConfigError::BadPort(raw))?
            }
        };
        let database_path = env::var_os("DATABASE_PATH")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATABASE_PATH));
        let seed_path = env::var_os("SEED_PATH").filter(|p| !p.is_empty()).map(PathBuf::from);
        let allowed_origins = env::var("ALLOWED_ORIGINS")
            .unwrap_or_else(|_| "http://localhost:3000".to_string())
            .split(',')
            .map(|o| o.trim().to_string())
            .filter(|o| !o.is_empty())
            .collect();
        let ping_interval = Duration::from_millis(number("LIVE_PING_MS", DEFAULT_PING_MS)?);
        let queue = number("LIVE_QUEUE", DEFAULT_QUEUE as u64)? as usize;
        Ok(Config { host, port, database_path, seed_path, allowed_origins, ping_interval, queue })
    }
}

/// A positive whole number from the environment, or `default` when unset.
fn number(name: &'static str, default: u64) -> Result<u64, ConfigError> {
    match env::var_os(name) {
        None => Ok(default),
        Some(raw) => {
            let raw = raw.to_string_lossy().into_owned();
            match raw.trim().parse::<u64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(ConfigError::BadNumber(name, raw)),
            }
        }
    }
}
