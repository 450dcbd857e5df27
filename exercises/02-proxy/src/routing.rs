//! The routing decisions: YOUR PART of this exercise. Replace each
//! `todo!()` below; `cargo grade 02-proxy` tells you which one to do next.
//!
//! For each request the proxy asks, in order:
//! 1. which host did the client ask for? ([`normalize_host`])
//! 2. which `server { }` block answers it? ([`select_server`])
//! 3. which `location` inside it? ([`select_location`])
//! 4. what URI goes to the upstream? ([`upstream_uri`])
//!
//! The rules are nginx's, so the same file behaves the same under real
//! nginx. The chapter `docs/src/02-proxy.md` walks through each one with
//! examples.

use crate::config::{Listener, Location, Modifier, ProxyPass, Rules, Server, ServerName};
use crate::uri::{self, Target};

/// The `Host` header as nginx compares it with `server_name`: lowercase,
/// without a port (`Example.org:8080` -> `example.org`) and without a
/// trailing dot (`example.org.` -> `example.org`).
pub fn normalize_host(raw: &str) -> String {
    todo!("normalize_host: lowercase, strip the port and a trailing dot (docs/src/02-proxy.md, \"Which server block: nginx's order\")")
}

/// The server block for `host` among those that listen on `listener`, in
/// nginx's order: an exact name, then the longest wildcard starting with
/// `*`, then the longest wildcard ending with `*`, then the first regular
/// expression (in the order of the file), and finally the default server
/// of that listener: the one marked `default_server`, or else the first.
pub fn select_server<'a>(rules: &'a Rules, listener: Listener, host: &str) -> Option<&'a Server> {
    todo!("select_server: exact, *.wildcard, wildcard.*, regex, default (docs/src/02-proxy.md, \"Which server block: nginx's order\")")
}

/// What location matching found.
#[derive(Debug)]
pub enum LocationMatch<'a> {
    Found(&'a Location),
    /// No location is `/name` but `location /name/` proxies: nginx answers
    /// 301 with the slash added instead.
    AddSlash,
    /// No location matches; the proxy answers 404.
    NoMatch,
}

/// The location for a normalised `path`, in nginx's order:
/// 1. an exact `location = /path` wins at once;
/// 2. otherwise the longest matching prefix is remembered; if it is a
///    `^~` location, it wins without looking at regular expressions;
/// 3. otherwise the regular expressions are tried in the order of the
///    file, and the first that matches wins;
/// 4. otherwise the remembered longest prefix wins.
pub fn select_location<'a>(server: &'a Server, path: &str) -> LocationMatch<'a> {
    todo!("select_location: =, longest prefix, ^~, regex, prefix (docs/src/02-proxy.md, \"Which location: nginx's order\")")
}

/// The request target sent upstream.
///
/// Without a URI part (`proxy_pass http://127.0.0.1:3001;`) the target goes
/// as the client sent it. With one (`proxy_pass http://127.0.0.1:3001/v2/;`)
/// the part of the normalised path that the location matched is replaced by
/// it: `location /api/` + `/api/users` -> `/v2/users`. The query string
/// follows unchanged.
pub fn upstream_uri(location: &Location, pass: &ProxyPass, target: &Target) -> String {
    todo!("upstream_uri: as sent, or the matched prefix replaced (docs/src/02-proxy.md, \"The upstream URI\")")
}
