//! The server's settings, read from the environment. The allowed origins
//! are configuration, not code: the same build serves
//! `http://localhost:3000` in development and `https://app.example.com` in
//! production.

use std::fmt;

use axum::http::HeaderName;

/// Everything the server needs to know before it starts.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST`, default `127.0.0.1`.
    pub host: String,
    /// `PORT`, default `3001`.
    pub port: u16,
    /// `ALLOWED_ORIGINS`: the frontends that may read this API, comma
    /// separated, each exactly as a browser sends it in `Origin`
    /// (`http://localhost:3000`: scheme, host, port; no path, no slash).
    pub allowed_origins: Vec<String>,
    /// `ALLOWED_HEADERS`: request headers the frontend may send besides
    /// `Authorization` and `Content-Type`, comma separated.
    pub allowed_headers: Vec<HeaderName>,
    /// `EXPOSED_HEADERS`: response headers the frontend's JavaScript may read
    /// besides `X-Request-Id`, comma separated.
    pub exposed_headers: Vec<HeaderName>,
    /// `API_TOKEN`: the bearer token `POST /api/notes` accepts.
    pub api_token: String,
}

/// A setting the server cannot start with.
#[derive(Debug)]
pub enum ConfigError {
    BadPort(String),
    BadHeaderName { variable: &'static str, value: String },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::BadPort(v) => write!(f, "PORT must be a port number (0-65535), got {v:?}"),
            ConfigError::BadHeaderName { variable, value } => {
                write!(f, "{variable} must list header names separated by commas; {value:?} is not a header name")
            }
        }
    }
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        let var = |name: &str| std::env::var(name).ok();
        let port = match var("PORT") {
            Some(raw) => raw.trim().parse::<u16>().map_err(|_| ConfigError::BadPort(raw))?,
            None => 3001,
        };
        Ok(Config {
            host: var("HOST").unwrap_or_else(|| "127.0.0.1".to_string()),
            port,
            allowed_origins: list(&var("ALLOWED_ORIGINS").unwrap_or_else(|| "http://localhost:3000".to_string())),
            allowed_headers: header_names("ALLOWED_HEADERS", var("ALLOWED_HEADERS"))?,
            exposed_headers: header_names("EXPOSED_HEADERS", var("EXPOSED_HEADERS"))?,
            api_token: var("API_TOKEN").unwrap_or_else(|| "dev-token".to_string()),
        })
    }
}

/// `a, b,,c ` -> `["a", "b", "c"]`.
fn list(raw: &str) -> Vec<String> {
    raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

fn header_names(variable: &'static str, raw: Option<String>) -> Result<Vec<HeaderName>, ConfigError> {
    list(raw.as_deref().unwrap_or(""))
        .into_iter()
        .map(|name| {
            HeaderName::try_from(name.as_str()).map_err(|_| ConfigError::BadHeaderName { variable, value: name })
        })
        .collect()
}
