//! Where the server listens and where its data lives, read from environment
//! variables. Given: nothing here is part of the exercise.

use std::env;
use std::fmt;
use std::path::PathBuf;

/// Loopback: reachable from this machine only.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// The customary port of a backend in development.
pub const DEFAULT_PORT: u16 = 3001;
/// The database file, relative to the folder the server is started in.
pub const DEFAULT_DATABASE_PATH: &str = "like.db";

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
    /// Reads `HOST`, `PORT`, `DATABASE_PATH` and `SEED_PATH`.
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
        Ok(Config { host, port, database_path, seed_path })
    }
}
