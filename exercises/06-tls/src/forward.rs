//! What crosses the proxy on the HTTPS side: YOUR PART of this exercise.
//!
//! TLS ends here. The app behind the proxy gets plain HTTP on localhost, so
//! it must be told what it can no longer see: that the client used https,
//! and who the client was. The browser is told to use https from now on.

use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderValue};

/// Headers that describe one connection, never forwarded (RFC 9110 7.6.1).
/// Given, as in 02-proxy.
pub const HOP_BY_HOP: &[&str] =
    &["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];

/// Remove the hop-by-hop headers and the ones `Connection` names. Given.
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

/// `$proxy_add_x_forwarded_for`: the client's `X-Forwarded-For` values and
/// then its address. Given, as in 02-proxy.
pub fn x_forwarded_for(client: &HeaderMap, remote: IpAddr) -> String {
    let earlier: Vec<&str> = client.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
    if earlier.is_empty() {
        remote.to_string()
    } else {
        format!("{}, {remote}", earlier.join(", "))
    }
}

/// The headers the app gets, as nginx sends them with Certbot's usual
/// site: the client's headers without the hop-by-hop ones, then
/// `Host: $host`, `X-Real-IP: $remote_addr`,
/// `X-Forwarded-For: $proxy_add_x_forwarded_for`,
/// `X-Forwarded-Proto: https` and `Connection: close`, each replacing any
/// the client sent.
pub fn upstream_headers(client: &HeaderMap, remote: IpAddr, host: &str) -> HeaderMap {
    todo!("upstream_headers: forwarding headers and X-Forwarded-Proto: https (docs/src/06-tls.md, \"Why TLS ends at the proxy\")")
}

/// The headers of the app's answer as the client gets them: without the
/// hop-by-hop ones, and with HSTS.
pub fn client_headers(upstream: &HeaderMap, hsts_max_age: u64) -> HeaderMap {
    let mut headers = upstream.clone();
    strip_hop_by_hop(&mut headers);
    add_hsts(&mut headers, hsts_max_age);
    headers
}

/// `Strict-Transport-Security: max-age=N` on an HTTPS answer (RFC 6797):
/// for N seconds the browser uses https for this host, whatever link or
/// typed address says http. Replaces one the app may have set, so the
/// proxy's setting is the one in force.
pub fn add_hsts(headers: &mut HeaderMap, max_age: u64) {
    todo!("add_hsts: Strict-Transport-Security with max-age (docs/src/06-tls.md, \"HSTS\")")
}
