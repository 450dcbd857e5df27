//! The routing decisions: YOUR PART of this exercise.
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
    let raw = raw.trim();
    let without_port = if raw.starts_with('[') {
        // An IPv6 literal: `[::1]:8080`.
        match raw.find(']') {
            Some(end) => &raw[..=end],
            None => raw,
        }
    } else {
        match raw.rsplit_once(':') {
            Some((host, _port)) => host,
            None => raw,
        }
    };
    without_port.trim_end_matches('.').to_ascii_lowercase()
}

/// The server block for `host` among those that listen on `listener`, in
/// nginx's order: an exact name, then the longest wildcard starting with
/// `*`, then the longest wildcard ending with `*`, then the first regular
/// expression (in the order of the file), and finally the default server
/// of that listener: the one marked `default_server`, or else the first.
pub fn select_server<'a>(rules: &'a Rules, listener: Listener, host: &str) -> Option<&'a Server> {
    let candidates: Vec<&Server> = rules.servers.iter().filter(|s| s.listens_on(listener).is_some()).collect();

    let exact = candidates.iter().find(|s| s.names.iter().any(|n| matches!(n, ServerName::Exact(e) if e == host)));
    if let Some(s) = exact {
        return Some(s);
    }

    // Longest wildcard wins; on a tie, the first one in the file.
    let mut best: Option<(&Server, usize)> = None;
    for s in &candidates {
        for n in &s.names {
            if let ServerName::LeadingWildcard(suffix) = n {
                if host.ends_with(suffix.as_str()) && best.is_none_or(|(_, len)| suffix.len() > len) {
                    best = Some((s, suffix.len()));
                }
            }
        }
    }
    if let Some((s, _)) = best {
        return Some(s);
    }
    for s in &candidates {
        for n in &s.names {
            if let ServerName::TrailingWildcard(prefix) = n {
                if host.starts_with(prefix.as_str())
                    && host.len() > prefix.len()
                    && best.is_none_or(|(_, len)| prefix.len() > len)
                {
                    best = Some((s, prefix.len()));
                }
            }
        }
    }
    if let Some((s, _)) = best {
        return Some(s);
    }

    let regex =
        candidates.iter().find(|s| s.names.iter().any(|n| matches!(n, ServerName::Regex(p) if p.is_match(host))));
    if let Some(s) = regex {
        return Some(s);
    }

    candidates.iter().find(|s| s.listens_on(listener).is_some_and(|l| l.default_server)).or(candidates.first()).copied()
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
    if let Some(exact) = server.locations.iter().find(|l| l.modifier == Modifier::Exact && l.pattern == path) {
        return LocationMatch::Found(exact);
    }

    let mut longest: Option<&Location> = None;
    for l in &server.locations {
        let is_prefix = matches!(l.modifier, Modifier::Prefix | Modifier::PreferPrefix);
        if is_prefix
            && path.starts_with(l.pattern.as_str())
            && longest.is_none_or(|best| l.pattern.len() > best.pattern.len())
        {
            longest = Some(l);
        }
    }

    if longest.is_none_or(|l| l.pattern != path) {
        let with_slash = format!("{path}/");
        if server.locations.iter().any(|l| l.auto_redirect() && l.pattern == with_slash) {
            return LocationMatch::AddSlash;
        }
    }

    if let Some(l) = longest {
        if l.modifier == Modifier::PreferPrefix {
            return LocationMatch::Found(l);
        }
    }

    if let Some(l) = server.locations.iter().find(|l| l.regex.as_ref().is_some_and(|r| r.is_match(path))) {
        return LocationMatch::Found(l);
    }

    match longest {
        Some(l) => LocationMatch::Found(l),
        None => LocationMatch::NoMatch,
    }
}

/// The request target sent upstream.
///
/// Without a URI part (`proxy_pass http://127.0.0.1:3001;`) the target goes
/// as the client sent it. With one (`proxy_pass http://127.0.0.1:3001/v2/;`)
/// the part of the normalised path that the location matched is replaced by
/// it: `location /api/` + `/api/users` -> `/v2/users`. The query string
/// follows unchanged.
pub fn upstream_uri(location: &Location, pass: &ProxyPass, target: &Target) -> String {
    let Some(replacement) = &pass.uri else {
        return target.raw.clone();
    };
    let rest = match location.modifier {
        Modifier::Exact => "",
        _ => target.path.get(location.pattern.len()..).unwrap_or(""),
    };
    let mut out = format!("{replacement}{}", uri::escape(rest));
    if let Some(args) = &target.args {
        out.push('?');
        out.push_str(args);
    }
    out
}
