//! The program's settings, from the environment. Given.

use std::path::PathBuf;

/// Everything the program is told, from the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    pub tls_port: u16,
    /// Certbot's configuration folder (`/etc/letsencrypt`): sites are its
    /// `live/<name>/` folders.
    pub cert_dir: PathBuf,
    /// The site whose certificate a client gets when its SNI names no site
    /// (or it sends none); by default the first name in sorted order.
    pub default_site: Option<String>,
    /// Where Certbot's webroot plugin writes challenge files
    /// (`.well-known/acme-challenge/<token>` below it).
    pub webroot: PathBuf,
    /// The app behind the proxy, `http://HOST:PORT`.
    pub upstream: (String, u16),
    /// `Strict-Transport-Security: max-age=...`, in seconds.
    pub hsts_max_age: u64,
}

/// Read the settings; `Err` says which variable is wrong and how.
pub fn from_env() -> Result<Settings, String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let number = |name: &str, default: u64, max: u64| -> Result<u64, String> {
        match var(name) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| format!("{name}={raw:?} is not a number from 0 to {max}")),
        }
    };
    let port = |name: &str, default: u16| number(name, default.into(), 65535).map(|p| p as u16);
    let upstream = var("UPSTREAM").unwrap_or_else(|| "http://127.0.0.1:3001".into());
    let upstream = parse_upstream(&upstream).ok_or_else(|| {
        format!("UPSTREAM={upstream:?} is not of the form http://HOST:PORT (the app behind the proxy)")
    })?;
    Ok(Settings {
        host: var("HOST").unwrap_or_else(|| "127.0.0.1".into()),
        port: port("PORT", 8080)?,
        tls_port: port("TLS_PORT", 8443)?,
        cert_dir: var("CERT_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/etc/letsencrypt")),
        default_site: var("DEFAULT_SITE").map(|s| s.trim().to_ascii_lowercase()),
        webroot: var("WEBROOT").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/var/www/html")),
        upstream,
        hsts_max_age: number("HSTS_MAX_AGE", 31_536_000, u64::from(u32::MAX))?,
    })
}

fn parse_upstream(raw: &str) -> Option<(String, u16)> {
    let rest = raw.trim().strip_prefix("http://")?.trim_end_matches('/');
    let (host, port) = rest.rsplit_once(':')?;
    Some((host.to_string(), port.parse().ok()?)).filter(|(h, _)| !h.is_empty() && !h.contains('/'))
}
