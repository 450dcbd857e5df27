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
pub const HOP_BY_HOP: &[&str] =
    &["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];

/// Remove the hop-by-hop headers: the fixed list above, and every header
/// that the `Connection` header itself names (`Connection: close, x-trace`
/// makes `x-trace` hop-by-hop too).
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<String> = headers
        .get_all("connection")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    for name in named {
        headers.remove(name.as_str());
    }
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
}

/// `$proxy_add_x_forwarded_for`: the `X-Forwarded-For` the client sent
/// (all of them, comma-joined) with the client's own address appended, or
/// just the address when there was none.
pub fn x_forwarded_for(client: &HeaderMap, remote: IpAddr) -> String {
    let earlier: Vec<&str> = client.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
    if earlier.is_empty() {
        remote.to_string()
    } else {
        format!("{}, {remote}", earlier.join(", "))
    }
}

/// The headers of the request to the upstream: the client's headers
/// without the hop-by-hop ones, then each `(name, value)` of `set` (the
/// rendered `proxy_set_header` list, nginx's defaults included) replacing
/// any header of that name. An empty value removes the header.
pub fn upstream_headers(client: &HeaderMap, set: &[(String, String)]) -> HeaderMap {
    let mut headers = client.clone();
    strip_hop_by_hop(&mut headers);
    for (name, value) in set {
        let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else { continue };
        headers.remove(&name);
        if value.is_empty() {
            continue;
        }
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    headers
}

/// The headers of the upstream's response as the client gets them.
pub fn client_headers(upstream: &HeaderMap) -> HeaderMap {
    let mut headers = upstream.clone();
    strip_hop_by_hop(&mut headers);
    headers
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
    match err {
        UpstreamError::Refused(_) | UpstreamError::Broken(_) => StatusCode::BAD_GATEWAY,
        UpstreamError::ConnectTimeout | UpstreamError::ReadTimeout => StatusCode::GATEWAY_TIMEOUT,
    }
}
