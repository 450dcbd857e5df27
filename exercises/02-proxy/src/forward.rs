//! What crosses the proxy: YOUR PART of this exercise, with `routing.rs`.
//!
//! A proxy is two HTTP connections, client <-> proxy and proxy <-> app.
//! Headers about the request itself travel on; headers about one
//! connection ("hop-by-hop") stop at the proxy, in both directions. The
//! proxy also tells the app who really asked (`X-Forwarded-For`,
//! `X-Real-IP`) and how (`X-Forwarded-Proto`), because the app itself only
//! ever sees the proxy's connection.

use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

/// Headers that describe one connection, never forwarded (RFC 9110 7.6.1).
/// Fill in the list (lowercase names); the chapter names them.
pub const HOP_BY_HOP: &[&str] = &[];

/// Remove the hop-by-hop headers: the fixed list above, and every header
/// that the `Connection` header itself names (`Connection: close, x-trace`
/// makes `x-trace` hop-by-hop too).
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    todo!("strip_hop_by_hop: the fixed list and the names in Connection (docs/src/02-proxy.md, \"Hop-by-hop headers\")")
}

/// `$proxy_add_x_forwarded_for`: the `X-Forwarded-For` the client sent
/// (all of them, comma-joined) with the client's own address appended, or
/// just the address when there was none.
pub fn x_forwarded_for(client: &HeaderMap, remote: IpAddr) -> String {
    todo!("x_forwarded_for: append the client address (docs/src/02-proxy.md, \"Who asked: forwarded headers\")")
}

/// The headers of the request to the upstream: the client's headers
/// without the hop-by-hop ones, then each `(name, value)` of `set` (the
/// rendered `proxy_set_header` list, nginx's defaults included) replacing
/// any header of that name. An empty value removes the header.
pub fn upstream_headers(client: &HeaderMap, set: &[(String, String)]) -> HeaderMap {
    todo!("upstream_headers: strip, then apply the proxy_set_header list (docs/src/02-proxy.md, \"Who asked: forwarded headers\")")
}

/// The headers of the upstream's response as the client gets them.
pub fn client_headers(upstream: &HeaderMap) -> HeaderMap {
    todo!("client_headers: strip the hop-by-hop headers of the answer (docs/src/02-proxy.md, \"Hop-by-hop headers\")")
}

/// Ways talking to the upstream can go wrong.
#[derive(Debug)]
pub enum UpstreamError {
    /// Nothing accepts connections there: the app is down.
    Refused(String),
    /// The connection was not established within `proxy_connect_timeout`.
    ConnectTimeout,
    /// No response within `proxy_read_timeout`: the app is too slow.
    ReadTimeout,
    /// The app closed the connection or answered something that is not HTTP.
    Broken(String),
}

/// The status the client gets: 502 Bad Gateway when the upstream is down
/// or broken, 504 Gateway Timeout when it did not answer in time.
pub fn error_status(err: &UpstreamError) -> StatusCode {
    todo!("error_status: 502 or 504 (docs/src/02-proxy.md, \"When the app is down or slow\")")
}
