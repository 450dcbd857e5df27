//! Port 80: YOUR PART of this exercise.
//!
//! Once a site has HTTPS, plain HTTP has two jobs left: let Let's Encrypt
//! fetch the HTTP-01 challenge file that proves this machine answers for
//! the name (RFC 8555 8.3), and send every other request to https.

use std::path::{Path, PathBuf};

/// Where HTTP-01 challenge files are asked for.
pub const CHALLENGE_PREFIX: &str = "/.well-known/acme-challenge/";

/// What port 80 does with one request.
#[derive(Debug, PartialEq, Eq)]
pub enum Port80 {
    /// Answer with this file's contents (404 if there is no such file).
    Challenge(PathBuf),
    /// A challenge path whose token is not a token: 404, never a file.
    NotFound,
    /// 301 to this URL.
    Redirect(String),
}

/// Decide for a request with this target (path and query, as sent) and
/// this host (the `Host` header without port, lowercase; `None` when the
/// request had none).
pub fn route(target: &str, host: Option<&str>, default_site: &str, tls_port: u16, webroot: &Path) -> Port80 {
    // The token is in the path; a query (which the CA does not send) is not part of it.
    let path = target.split('?').next().unwrap_or(target);
    match path.strip_prefix(CHALLENGE_PREFIX) {
        Some(token) => challenge_file(webroot, token),
        None => Port80::Redirect(redirect_location(target, host.unwrap_or(default_site), tls_port)),
    }
}

/// The file for a challenge token, under `webroot/.well-known/acme-challenge/`.
/// A token is base64url (RFC 8555 8.3: letters, digits, `-` and `_`),
/// so anything else (a `/`, `..`, `%2e`, a query) names no file.
pub fn challenge_file(webroot: &Path, token: &str) -> Port80 {
    todo!("challenge_file: a base64url token only, under webroot/.well-known/acme-challenge (docs/src/06-tls.md, \"Port 80: the HTTP-01 challenge\")")
}

/// `https://HOST[:TLS_PORT]TARGET`: the same host, path and query, on the
/// https port (named only when it is not 443).
pub fn redirect_location(target: &str, host: &str, tls_port: u16) -> String {
    todo!("redirect_location: https, same host, path and query (docs/src/06-tls.md, \"Port 80: everything else goes to https\")")
}
