//! Random rule files within the kit's subset of nginx, and random requests
//! for them. The suite's differential checks give them to your proxy and to
//! the reference; the nginx agreement test gives the same kind to the
//! reference and to real nginx. So every case a student is judged on is of a
//! kind the reference was checked against nginx on.
//!
//! Names and paths come from tiny pools on purpose: overlapping prefixes,
//! competing server names and regexes that match the same path are the
//! cases where routing goes wrong.

use std::fmt::Write as _;

/// Where a `proxy_pass` points, by index into the upstream list a case is
/// rendered with.
pub mod upstream {
    /// An echo app (`app`).
    pub const APP: usize = 0;
    /// A second echo app (`api`).
    pub const API: usize = 1;
    /// Nothing listens: connection refused (502).
    pub const REFUSED: usize = 2;
    /// Accepts and never answers: proxy_read_timeout (504).
    pub const SILENT: usize = 3;
    /// Accepts and hangs up at once: no HTTP answer (502).
    pub const HANGS_UP: usize = 4;
    /// Never accepts (its queue is full): proxy_connect_timeout (504).
    pub const UNREACHABLE: usize = 5;
}

/// What kinds of rules and requests to draw, per check.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mix {
    /// Several servers with competing names; hosts in every spelling.
    pub hosts: bool,
    /// Many overlapping locations of every kind.
    pub locations: bool,
    /// proxy_pass URI parts and encoded paths.
    pub uris: bool,
    /// Forwarding headers, X-Forwarded-For lines, returns with variables.
    pub headers: bool,
    /// Upstreams that are down, silent, hang up or never accept.
    pub errors: bool,
}

impl Mix {
    /// Everything but the failing upstreams (the nginx agreement test).
    #[allow(dead_code)]
    pub fn all() -> Mix {
        Mix { hosts: true, locations: true, uris: true, headers: true, errors: false }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub servers: Vec<Server>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// `listen 443 ssl` (else `listen 80`).
    pub tls: bool,
    pub default: bool,
    /// As written after `server_name`.
    pub names: Vec<String>,
    /// A `return` directly in the server block.
    pub ret: Option<String>,
    pub locations: Vec<Location>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// "", "=", "^~", "~" or "~*".
    pub modifier: &'static str,
    pub pattern: String,
    pub action: Action,
    /// `proxy_set_header` lines besides `X-Route` (which every proxying
    /// location sets to its own label, so the decision can be read off).
    pub headers: Vec<(String, String)>,
    pub timeouts_ms: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Pass {
        upstream: usize,
        uri: Option<String>,
    },
    /// The text after `return`, e.g. `403` or `301 https://$host$request_uri`.
    Return(String),
}

/// One request; `host` and `target` go on the wire exactly as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub tls: bool,
    pub method: &'static str,
    pub host: String,
    pub target: String,
    /// One `X-Forwarded-For` line each.
    pub forwarded_for: Vec<String>,
}

impl Location {
    fn label(&self, server: usize, index: usize) -> String {
        format!("s{server}l{index}")
    }
}

// ---------------------------------------------------------------------------
// Rendering

/// How the two listeners are written: `80` and `443 ssl` for the kit's
/// proxy, `127.0.0.1:PORT` for a real nginx.
pub struct Listens {
    pub plain: String,
    pub tls: String,
    /// nginx without certificates serves the `443` stand-in as plain HTTP,
    /// where `$scheme` would say `http`: write `https` in its place there.
    pub https_literal: bool,
}

impl Listens {
    pub fn kit() -> Listens {
        Listens { plain: "80".into(), tls: "443 ssl".into(), https_literal: false }
    }
}

impl Rules {
    /// The rule file, with `upstreams[i]` (`http://127.0.0.1:PORT`) where
    /// `proxy_pass` names upstream `i`.
    pub fn render(&self, upstreams: &[String], listens: &Listens) -> String {
        let mut out = String::new();
        for (si, s) in self.servers.iter().enumerate() {
            out.push_str("server {\n");
            let listen = if s.tls { &listens.tls } else { &listens.plain };
            let _ = writeln!(out, "    listen {listen}{};", if s.default { " default_server" } else { "" });
            if !s.names.is_empty() {
                let _ = writeln!(out, "    server_name {};", s.names.join(" "));
            }
            if let Some(r) = &s.ret {
                let _ = writeln!(out, "    return {r};");
            }
            let scheme = |text: &str| {
                if s.tls && listens.https_literal {
                    text.replace("$scheme", "https")
                } else {
                    text.to_string()
                }
            };
            for (li, l) in s.locations.iter().enumerate() {
                let m = if l.modifier.is_empty() { String::new() } else { format!("{} ", l.modifier) };
                let _ = writeln!(out, "    location {m}{} {{", l.pattern);
                match &l.action {
                    Action::Pass { upstream, uri } => {
                        let base = upstreams.get(*upstream).map(String::as_str).unwrap_or("http://127.0.0.1:9");
                        let _ = writeln!(out, "        proxy_pass {base}{};", uri.as_deref().unwrap_or(""));
                        let _ = writeln!(out, "        proxy_set_header X-Route {};", l.label(si, li));
                        for (name, value) in &l.headers {
                            let _ = writeln!(out, "        proxy_set_header {name} {};", scheme(value));
                        }
                        if let Some(ms) = l.timeouts_ms {
                            let _ = writeln!(out, "        proxy_connect_timeout {ms}ms;");
                            let _ = writeln!(out, "        proxy_read_timeout {ms}ms;");
                        }
                    }
                    Action::Return(r) => {
                        let _ = writeln!(out, "        return {};", scheme(r));
                    }
                }
                out.push_str("    }\n");
            }
            out.push_str("}\n");
        }
        out
    }

    fn size(&self) -> usize {
        self.servers.iter().map(|s| 1 + s.names.len() + s.locations.len() * 2).sum()
    }
}

impl Request {
    /// The request as curl sends it to a proxy at `base` (`http://127.0.0.1:8080`).
    pub fn curl(&self, base: &str) -> String {
        let mut s = String::from("curl -i --path-as-is");
        if self.method != "GET" {
            let _ = write!(s, " -X {}", self.method);
        }
        let _ = write!(s, " -H 'Host: {}'", self.host);
        for x in &self.forwarded_for {
            let _ = write!(s, " -H 'X-Forwarded-For: {x}'");
        }
        let _ = write!(s, " '{base}{}'", self.target);
        s
    }

    /// The bytes of the request, `Connection: close`.
    pub fn wire(&self) -> Vec<u8> {
        let mut s = format!("{} {} HTTP/1.1\r\nHost: {}\r\n", self.method, self.target, self.host);
        for x in &self.forwarded_for {
            let _ = write!(s, "X-Forwarded-For: {x}\r\n");
        }
        if self.method == "POST" {
            s.push_str("Content-Length: 0\r\n");
        }
        s.push_str("Connection: close\r\n\r\n");
        s.into_bytes()
    }
}

// ---------------------------------------------------------------------------
// The normalised answer both sides are compared by

/// What a proxy answered, in the words both sides are compared by: the
/// status; for a redirect, `Location` without its port (a proxy names its
/// own port there, and the two run on different ones); for an answer that
/// came from an echo app, what the app received (request line, the route
/// label, the forwarding headers); for a `return` with a text, the text.
/// The proxy's own error pages are compared by status only.
pub fn normalise(status: u16, location: Option<&str>, body: &[u8]) -> String {
    let mut out = format!("{status}");
    if let Some(l) = location {
        let _ = write!(out, " -> {}", strip_port(l));
    }
    if let Some(seen) = crate::echo::Seen::parse(body) {
        let _ = write!(out, " from {}: {} {}", seen.upstream(), seen.method(), seen.uri());
        // Every header the app received, by name (the two proxies may send
        // them in another order), but the framing ones.
        let mut names: Vec<String> = seen.header_names().iter().map(|n| n.to_ascii_lowercase()).collect();
        names.sort();
        names.dedup();
        for name in names {
            if matches!(name.as_str(), "content-length" | "transfer-encoding") {
                continue;
            }
            let _ = write!(out, "\n    {name}: {}", seen.headers(&name).join(" | "));
        }
    } else if matches!(status, 200 | 410) && location.is_none() {
        // Only a `return 200 "..."` or `return 410 "..."` makes these.
        let _ = write!(out, " {:?}", String::from_utf8_lossy(body));
    }
    out
}

/// `http://host:8080/x` -> `http://host/x`.
pub fn strip_port(location: &str) -> String {
    let Some((scheme, rest)) = location.split_once("://") else { return location.to_string() };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = match authority.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => authority,
    };
    format!("{scheme}://{host}{path}")
}

// ---------------------------------------------------------------------------
// Drawing

/// Words shared by one rule file: few and short, so they overlap.
pub struct Pools {
    segs: Vec<String>,
    domains: Vec<String>,
    labels: Vec<&'static str>,
}

fn word(rng: &mut fastrand::Rng, len: usize) -> String {
    (0..len).map(|_| rng.lowercase()).collect()
}

fn pick<'a, T>(rng: &mut fastrand::Rng, items: &'a [T]) -> &'a T {
    &items[rng.usize(..items.len())]
}

impl Pools {
    fn new(rng: &mut fastrand::Rng) -> Pools {
        let len = rng.usize(1..3);
        let a = word(rng, len);
        let b = format!("{a}{}", rng.lowercase());
        let c = word(rng, 2);
        let d = format!("{c}{}", word(rng, 2));
        let domains = vec![format!("{}.org", word(rng, 4)), format!("{}.net", word(rng, 3))];
        Pools { segs: vec![a, b, c, d], domains, labels: vec!["www", "api", "m"] }
    }

    fn seg(&self, rng: &mut fastrand::Rng) -> String {
        pick(rng, &self.segs).clone()
    }

    /// `/a`, `/ab/`, `/a/cd`, `/`.
    fn path(&self, rng: &mut fastrand::Rng, max_segs: usize) -> String {
        let n = rng.usize(0..=max_segs);
        let mut p = String::new();
        for _ in 0..n {
            p.push('/');
            p.push_str(&self.seg(rng));
        }
        if p.is_empty() || rng.bool() {
            p.push('/');
        }
        p
    }
}

/// A regex location and paths it matches, as templates over the pools.
fn regex_location(rng: &mut fastrand::Rng, pools: &Pools) -> (&'static str, String) {
    let s = pools.seg(rng);
    match rng.usize(..6) {
        0 => ("~*", r"\.(gif|jpg)$".to_string()),
        1 => ("~", format!("^/{s}/")),
        2 => ("~", format!("/{s}$")),
        3 => ("~", format!("^/{s}/[0-9]+$")),
        4 => ("~*", s.to_uppercase()),
        _ => ("~", r"\.php$".to_string()),
    }
}

fn server_name(rng: &mut fastrand::Rng, pools: &Pools) -> String {
    let d = pick(rng, &pools.domains).clone();
    let l = *pick(rng, &pools.labels);
    match rng.usize(..10) {
        0 | 1 => d,
        2 => format!("{l}.{d}"),
        3 => format!("*.{d}"),
        4 => format!("*.{l}.{d}"),
        5 => format!(".{d}"),
        6 => format!("{l}.*"),
        // A longer `wildcard.*` that competes with `{l}.*`.
        7 => format!("{l}.{}.*", d.split('.').next().unwrap_or("x")),
        8 => format!("~^({l}|{})[0-9]*\\.{}$", pick(rng, &pools.labels), d.replace('.', "\\.")),
        _ => format!("~{l}[0-9]"),
    }
}

/// A host that one of `names` (or none) may match.
fn host_for(rng: &mut fastrand::Rng, pools: &Pools, names: &[String]) -> String {
    if rng.u8(..20) == 0 {
        // An IPv6 literal, with or without a port: no name matches it.
        return ["[::1]", "[::1]:8080", "[::ffff:7f00:1]:443"][rng.usize(..3)].to_string();
    }
    let l = *pick(rng, &pools.labels);
    let base = match (names.is_empty(), rng.usize(..6)) {
        (false, 0..=3) => {
            let n = pick(rng, names).clone();
            if let Some(rest) = n.strip_prefix("*.") {
                match rng.usize(..3) {
                    0 => format!("{l}.{rest}"),
                    1 => format!("{}.{l}.{rest}", word(rng, 2)),
                    _ => rest.to_string(),
                }
            } else if let Some(rest) = n.strip_prefix('.') {
                if rng.bool() {
                    rest.to_string()
                } else {
                    format!("{l}.{rest}")
                }
            } else if let Some(first) = n.strip_suffix(".*") {
                format!("{first}.{}", pick(rng, &pools.domains))
            } else if n.starts_with('~') {
                let d = pick(rng, &pools.domains).clone();
                match rng.usize(..3) {
                    0 => format!("{l}{}.{d}", rng.u8(0..30)),
                    1 => format!("{l}.{d}"),
                    _ => format!("x{l}{}.{d}", rng.u8(0..9)),
                }
            } else {
                n
            }
        }
        (_, 4) => format!("{}.{}", word(rng, 3), pick(rng, &pools.domains)),
        _ => format!("{}.test", word(rng, 5)),
    };
    let mut host: String = if rng.u8(..4) == 0 {
        base.chars().map(|c| if rng.bool() { c.to_ascii_uppercase() } else { c }).collect()
    } else {
        base
    };
    if rng.u8(..5) == 0 {
        host.push('.');
    }
    if rng.u8(..4) == 0 {
        let _ = write!(host, ":{}", [80u16, 8080, 443, 3001][rng.usize(..4)]);
    }
    host
}

/// Percent-encode one character, double a slash, add a dot segment.
fn mangle(rng: &mut fastrand::Rng, pools: &Pools, path: &str, uris: bool) -> String {
    let mut p = path.to_string();
    if uris && rng.bool() {
        let letters: Vec<usize> = p.char_indices().filter(|(_, c)| c.is_ascii_alphanumeric()).map(|(i, _)| i).collect();
        if !letters.is_empty() {
            let i = *pick(rng, &letters);
            let c = p.as_bytes()[i];
            let hex = if rng.bool() { format!("%{c:02X}") } else { format!("%{c:02x}") };
            p.replace_range(i..=i, &hex);
        }
    }
    if uris && rng.u8(..4) == 0 {
        let extra = ["%20", "%C3%A9", "%25", "%3F", "~", "%2F", "+", "%7E", "!"][rng.usize(..9)];
        p.push_str(extra);
    }
    if rng.u8(..5) == 0 {
        if let Some(i) = p[1..].find('/') {
            let insert = ["/", "/.", &format!("/{}/..", pools.seg(rng))][rng.usize(..3)].to_string();
            p.insert_str(i + 1, &insert);
        }
    }
    p
}

fn target(rng: &mut fastrand::Rng, pools: &Pools, server: Option<&Server>, mix: &Mix) -> String {
    let locations: Vec<&Location> = server.map(|s| s.locations.iter().collect()).unwrap_or_default();
    let mut path = match (locations.is_empty(), rng.usize(..10)) {
        (false, 0..=6) => {
            let l = *pick(rng, &locations);
            if l.modifier.starts_with('~') {
                let s = pools.seg(rng);
                [
                    format!("/{s}/{}.GIF", pools.seg(rng)),
                    format!("/{s}/x.php"),
                    format!("/{s}/{}", rng.u16(..999)),
                    format!("/x/{s}"),
                    format!("/{}{s}", pools.seg(rng).to_uppercase()),
                ][rng.usize(..5)]
                .clone()
            } else {
                let mut p = l.pattern.clone();
                match rng.usize(..5) {
                    // `/name/` asked as `/name`: the add-a-slash redirect.
                    0 if p.len() > 1 && p.ends_with('/') => {
                        p.pop();
                    }
                    1 => {}
                    2 => p.push_str(&pools.seg(rng)),
                    3 => {
                        if !p.ends_with('/') {
                            p.push('/');
                        }
                        p.push_str(&pools.seg(rng));
                    }
                    // Tails that regex locations look for.
                    _ => {
                        let tail = match rng.usize(..4) {
                            0 => format!("{}/{}.jpg", pools.seg(rng), pools.seg(rng)),
                            1 => format!("{}.php", pools.seg(rng)),
                            2 => format!("{}", rng.u16(..999)),
                            _ => pools.seg(rng).to_uppercase(),
                        };
                        p.push_str(&tail)
                    }
                }
                p
            }
        }
        _ => pools.path(rng, 3),
    };
    path = mangle(rng, pools, &path, mix.uris);
    if rng.u8(..3) == 0 {
        let _ = write!(path, "?{}={}&r=%41", pools.seg(rng), rng.u8(..100));
    }
    path
}

fn location(rng: &mut fastrand::Rng, pools: &Pools, mix: &Mix) -> Location {
    // The locations mix has more regexes, so they compete with each other
    // and with `=` and `^~`.
    let regexes = if mix.locations { 4 } else { 2 };
    let (modifier, pattern) = match rng.usize(..8 + regexes) {
        0 | 1 => ("=", pools.path(rng, 2)),
        2 | 3 => ("^~", pools.path(rng, 3)),
        4..=7 => ("", pools.path(rng, 3)),
        _ => regex_location(rng, pools),
    };
    let regex = modifier.starts_with('~');
    let action = if rng.u8(..8) == 0 {
        Action::Return(
            [
                "403".to_string(),
                "200 \"$uri for $host\"".to_string(),
                "301 https://$host$request_uri".to_string(),
                format!("302 http://{}$uri?from=$scheme", pick(rng, &pools.domains)),
                "410 \"gone: $request_uri ($args)\"".to_string(),
            ][rng.usize(..5)]
            .clone(),
        )
    } else {
        let upstream = if mix.errors {
            [upstream::APP, upstream::REFUSED, upstream::SILENT, upstream::HANGS_UP, upstream::UNREACHABLE]
                [rng.usize(..5)]
        } else if rng.bool() {
            upstream::APP
        } else {
            upstream::API
        };
        let uri = (!regex && (mix.uris || mix.locations) && rng.u8(..3) == 0)
            .then(|| ["/", "/r/", "/r", "/v2/x/", &format!("/{}", pools.seg(rng))][rng.usize(..5)].to_string());
        Action::Pass { upstream, uri }
    };
    let mut headers = Vec::new();
    if mix.headers || mix.hosts {
        let all = [
            ("Host", "$host"),
            ("Host", "$http_host"),
            ("X-Real-IP", "$remote_addr"),
            ("X-Forwarded-For", "$proxy_add_x_forwarded_for"),
            ("X-Forwarded-Proto", "$scheme"),
            ("X-Host", "$host"),
            ("X-Args", "\"[$args]\""),
            // Empty without a query: an empty value removes the header.
            ("X-Query", "$args"),
        ];
        for (n, v) in all {
            if rng.u8(..3) == 0 && !headers.iter().any(|(h, _): &(String, String)| h == n) {
                headers.push((n.to_string(), v.to_string()));
            }
        }
    }
    // Short timeouts only where no answer is due: an echo app on a busy
    // machine may take longer than 150 ms, and that must not decide a case.
    let timeouts_ms = match &action {
        Action::Pass { upstream, .. } if *upstream == upstream::SILENT || *upstream == upstream::UNREACHABLE => {
            Some(rng.u32(150..400))
        }
        _ => None,
    };
    Location { modifier, pattern, action, headers, timeouts_ms }
}

/// nginx refuses a second location with the same pattern (`^~ /x` and `/x`
/// count as the same); `= /x` and `/x` may both exist.
fn duplicate(locations: &[Location], l: &Location) -> bool {
    let class = |m: &str| match m {
        "=" => "=",
        "" | "^~" => "p",
        _ => "~",
    };
    locations.iter().any(|o| class(o.modifier) == class(l.modifier) && o.pattern == l.pattern)
}

/// The keys nginx files a server name under: a second server with the same
/// key is a "conflicting server name" that nginx ignores with a warning, so
/// the generator never writes one (`.d` counts as both `d` and `*.d`).
fn name_keys(name: &str) -> Vec<String> {
    match name.strip_prefix('.') {
        Some(rest) => vec![rest.to_string(), format!("*.{rest}")],
        None => vec![name.to_string()],
    }
}

fn server(rng: &mut fastrand::Rng, pools: &Pools, mix: &Mix, many_locations: bool, taken: &mut Vec<String>) -> Server {
    let n_names = if mix.hosts { rng.usize(0..=3) } else { rng.usize(0..=1) };
    let mut names: Vec<String> = Vec::new();
    for _ in 0..n_names {
        let n = server_name(rng, pools);
        let keys = name_keys(&n);
        if !keys.iter().any(|k| taken.contains(k)) {
            taken.extend(keys);
            names.push(n);
        }
    }
    let max = if many_locations { 7 } else { 3 };
    let mut locations = Vec::new();
    if rng.u8(..4) != 0 {
        let mut root = location(rng, pools, mix);
        root.modifier = "";
        root.pattern = "/".into();
        if let Action::Pass { uri, .. } = &mut root.action {
            if uri.is_none() && mix.uris && rng.bool() {
                *uri = Some("/root/".into());
            }
        }
        locations.push(root);
    }
    for _ in 0..rng.usize(1..=max) {
        let l = location(rng, pools, mix);
        if !duplicate(&locations, &l) {
            locations.push(l);
        }
    }
    // The order in the file matters for regexes only; shuffle anyway.
    rng.shuffle(&mut locations);
    let ret = (rng.u8(..10) == 0).then(|| "301 https://$host$request_uri".to_string());
    Server { tls: mix.hosts && rng.u8(..4) == 0, default: false, names, ret, locations }
}

/// A random rule file for `mix`.
pub fn rules(rng: &mut fastrand::Rng, mix: &Mix) -> (Rules, Pools) {
    let pools = Pools::new(rng);
    let n = if mix.hosts { rng.usize(2..=5) } else { 1 };
    let mut taken = Vec::new();
    let mut servers: Vec<Server> =
        (0..n).map(|_| server(rng, &pools, mix, mix.locations || !mix.hosts, &mut taken)).collect();
    // At most one default_server per listener.
    for tls in [false, true] {
        let on: Vec<usize> = (0..servers.len()).filter(|i| servers[*i].tls == tls).collect();
        if !on.is_empty() && rng.bool() {
            let i = *pick(rng, &on);
            servers[i].default = true;
        }
    }
    (Rules { servers }, pools)
}

/// `count` random requests for `rules`.
pub fn requests(rng: &mut fastrand::Rng, rules: &Rules, pools: &Pools, mix: &Mix, count: usize) -> Vec<Request> {
    let names: Vec<String> = rules.servers.iter().flat_map(|s| s.names.clone()).collect();
    (0..count)
        .map(|_| {
            let host = host_for(rng, pools, &names);
            // Aim the path at the server this host probably reaches.
            let server = rules.servers.iter().find(|s| s.names.iter().any(|n| host.contains(n.trim_matches('*'))));
            let server = server.or_else(|| (!rules.servers.is_empty()).then(|| pick(rng, &rules.servers)));
            let (plain, tls) = (rules.servers.iter().any(|s| !s.tls), rules.servers.iter().any(|s| s.tls));
            let tls = match (plain, tls) {
                (true, true) => server.is_some_and(|s| s.tls) != (rng.u8(..5) == 0),
                (false, _) => true,
                (true, false) => false,
            };
            let forwarded_for = if mix.headers && rng.bool() {
                (0..rng.usize(1..=2))
                    .map(|_| {
                        let n = rng.u8(1..250);
                        if rng.bool() {
                            format!("203.0.113.{n}")
                        } else {
                            format!("198.51.100.{n}, 10.0.0.{}", rng.u8(1..9))
                        }
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let method = if mix.headers { ["GET", "GET", "POST", "DELETE"][rng.usize(..4)] } else { "GET" };
            Request { tls, method, host, target: target(rng, pools, server, mix), forwarded_for }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Shrinking

/// Whether `rules` has a server on the listener `request` goes to (nginx
/// only listens where a server block says so).
pub fn fits(rules: &Rules, request: &Request) -> bool {
    rules.servers.iter().any(|s| s.tls == request.tls)
}

/// Smaller rule files: a server less, a location less, a name less, a
/// location without its extra headers.
pub fn smaller_rules(rules: &Rules) -> Vec<Rules> {
    let mut out = Vec::new();
    let servers = &rules.servers;
    if servers.len() > 1 {
        for i in 0..servers.len() {
            let mut r = rules.clone();
            r.servers.remove(i);
            out.push(r);
        }
    }
    for (si, s) in servers.iter().enumerate() {
        for li in 0..s.locations.len() {
            let mut r = rules.clone();
            r.servers[si].locations.remove(li);
            out.push(r);
        }
        for ni in 0..s.names.len() {
            let mut r = rules.clone();
            r.servers[si].names.remove(ni);
            out.push(r);
        }
        if s.ret.is_some() {
            let mut r = rules.clone();
            r.servers[si].ret = None;
            out.push(r);
        }
        for (li, l) in s.locations.iter().enumerate() {
            if !l.headers.is_empty() {
                let mut r = rules.clone();
                r.servers[si].locations[li].headers.clear();
                out.push(r);
            }
        }
    }
    out.retain(|r| r.size() < rules.size() || r != rules);
    out
}

/// Simpler requests: no X-Forwarded-For, no port, no trailing dot, a
/// lowercase host, no query string, GET.
pub fn simpler_request(r: &Request) -> Vec<Request> {
    let mut out = Vec::new();
    let mut push = |f: &dyn Fn(&mut Request)| {
        let mut c = r.clone();
        f(&mut c);
        if c != *r {
            out.push(c);
        }
    };
    push(&|c| c.forwarded_for.clear());
    push(&|c| c.forwarded_for.truncate(1));
    push(&|c| {
        if let Some((h, p)) = c.host.rsplit_once(':') {
            if p.chars().all(|d| d.is_ascii_digit()) {
                c.host = h.to_string();
            }
        }
    });
    push(&|c| {
        if let Some(stripped) = c.host.strip_suffix('.') {
            c.host = stripped.to_string();
        }
    });
    push(&|c| c.host = c.host.to_ascii_lowercase());
    push(&|c| {
        if let Some((p, _)) = c.target.split_once('?') {
            c.target = p.to_string();
        }
    });
    push(&|c| c.method = "GET");
    out
}

// ---------------------------------------------------------------------------
// Sending

/// What came back for one request: status, `Location`, body.
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn normalised(&self) -> String {
        normalise(self.status, self.location.as_deref(), &self.body)
    }
}

/// Send `request` as written (no client-side clean-up of the path) and read
/// the answer until the server closes the connection.
pub async fn send(addr: std::net::SocketAddr, request: &Request, limit: std::time::Duration) -> Result<Answer, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let io = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream.write_all(&request.wire()).await?;
        let mut buf = Vec::new();
        stream.take(4 << 20).read_to_end(&mut buf).await?;
        Ok::<_, std::io::Error>(buf)
    };
    let bytes = match tokio::time::timeout(limit, io).await {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => return Err(format!("no answer ({e})")),
        Err(_) => return Err(format!("no complete answer within {} s", limit.as_secs())),
    };
    parse_answer(&bytes).ok_or_else(|| {
        if bytes.is_empty() {
            "the connection closed without an answer".to_string()
        } else {
            "the answer is not an HTTP response".to_string()
        }
    })
}

fn parse_answer(bytes: &[u8]) -> Option<Answer> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut headers);
    let head = match parsed.parse(bytes).ok()? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return None,
    };
    let header = |name: &str| {
        parsed
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).into_owned())
    };
    let location = header("location");
    let chunked = header("transfer-encoding").is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
    let rest = &bytes[head..];
    let body = if chunked { dechunk(rest) } else { rest.to_vec() };
    Some(Answer { status: parsed.code?, location, body })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else { break };
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let Ok(size) = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16) else { break };
        data = &data[eol + 2..];
        if size == 0 || data.len() < size {
            break;
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or(&[]);
    }
    out
}
