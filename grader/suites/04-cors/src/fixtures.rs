//! The fixtures: one random configuration of the API per check, starting it
//! (alone, or beside the reference), the origins that must not pass, and the
//! normalised transcripts its snapshots compare.

use std::net::SocketAddr;

use harness::http::{Client, Exchange, Request, Response};
use harness::process::{Proc, Spawn};
use harness::{Ctx, Failure};

pub use harness::process::free_port;

/// The response headers a snapshot shows, in this order.
const SHOWN: &[&str] = &[
    "content-type",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
    "access-control-expose-headers",
    "vary",
];

/// Headers whose value is a comma-separated list: normalised (trimmed,
/// one line) so that `a,b` and `a, b` snapshot alike.
const LISTS: &[&str] =
    &["access-control-allow-methods", "access-control-allow-headers", "access-control-expose-headers", "vary"];

pub struct Setup {
    /// The listed origins a browser could send, in ALLOWED_ORIGINS order
    /// (`null` is listed too, as a trap, but is not in here).
    pub allowed: Vec<String>,
    /// An extra request header the frontend may send (ALLOWED_HEADERS).
    pub allowed_header: String,
    /// An extra response header the frontend may read (EXPOSED_HEADERS).
    pub exposed_header: String,
    pub token: String,
    pub user: String,
    /// A random stranger's origin.
    pub stranger: String,
    /// ALLOWED_ORIGINS entries in order, with `null` somewhere.
    listed: Vec<String>,
    /// ALLOWED_HEADERS and EXPOSED_HEADERS entries, as written.
    allowed_headers: Vec<String>,
    exposed_headers: Vec<String>,
}

impl Setup {
    pub fn random(cx: &mut Ctx) -> Setup {
        let frontend = format!("http://localhost:{}", cx.rng().u16(3000..9000));
        let deployed = format!("https://{}.{}.example", cx.word(6), cx.word(4));
        Setup::with_frontend(cx, vec![frontend, deployed])
    }

    /// A setup whose first allowed origin is `frontend` (the browser stage's page).
    pub fn with_frontend(cx: &mut Ctx, allowed: Vec<String>) -> Setup {
        let mut listed = allowed.clone();
        let at = cx.rng().usize(..=listed.len());
        listed.insert(at, "null".to_string());
        let allowed_header = format!("x-{}-{}", cx.word(5), cx.word(4));
        let exposed_header = format!("x-{}-{}", cx.word(4), cx.word(5));
        Setup {
            allowed,
            allowed_headers: vec![allowed_header.clone()],
            exposed_headers: vec![exposed_header.clone()],
            allowed_header,
            exposed_header,
            token: cx.word(20),
            user: cx.word(9),
            stranger: format!("https://{}.example", cx.word(8)),
            listed,
        }
    }

    /// A wider configuration for the differential checks: two to five
    /// origins of several shapes, entries no browser ever sends (a trailing
    /// slash, capitals) that still match byte for byte, `null`, and one to
    /// three extra header names written in any case.
    pub fn wide(cx: &mut Ctx) -> Setup {
        let len = cx.rng().usize(3..8);
        let mut allowed = vec![
            format!("http://localhost:{}", cx.rng().u16(3000..9000)),
            format!("https://{}.{}.example", cx.word(len), cx.word(4)),
        ];
        if cx.rng().bool() {
            allowed.push(format!("http://127.0.0.1:{}", cx.rng().u16(1024..60000)));
        }
        if cx.rng().bool() {
            allowed.push(format!("https://{}.example:{}", cx.word(5), cx.rng().u16(1024..60000)));
        }
        if cx.rng().u8(..4) == 0 {
            allowed.push(format!("https://{}.example/", cx.word(6)));
        }
        if cx.rng().u8(..4) == 0 {
            let w = cx.word(6);
            allowed.push(format!("https://{}{}.example", w[..1].to_ascii_uppercase(), &w[1..]));
        }
        cx.rng().shuffle(&mut allowed);
        let mut setup = Setup::with_frontend(cx, allowed);
        let extra = cx.rng().usize(0..3);
        for _ in 0..extra {
            let len = cx.rng().usize(3..9);
            let name = format!("x-{}", cx.word(len));
            setup.allowed_headers.push(name);
        }
        for _ in 0..cx.rng().usize(0..2) {
            let name = format!("x-{}", cx.word(6));
            setup.exposed_headers.push(name);
        }
        // Header names are case-insensitive: the configuration may use any case.
        for name in setup.allowed_headers.iter_mut().chain(setup.exposed_headers.iter_mut()) {
            *name = any_case(cx, name);
        }
        setup
    }

    pub fn allowed_origins_env(&self) -> String {
        self.listed.join(",")
    }

    /// Every extra request header name the frontend may send, lowercase.
    pub fn allowed_headers(&self) -> Vec<String> {
        self.allowed_headers.iter().map(|h| h.to_ascii_lowercase()).collect()
    }

    pub fn pick_allowed(&self, cx: &mut Ctx) -> String {
        self.allowed[cx.rng().usize(..self.allowed.len())].clone()
    }

    /// The environment the API starts with (HOST and PORT are added by
    /// whoever starts it).
    pub fn spawn(&self) -> Spawn {
        Spawn::default()
            .env("ALLOWED_ORIGINS", self.allowed_origins_env())
            .env("ALLOWED_HEADERS", self.allowed_headers.join(","))
            .env("EXPOSED_HEADERS", self.exposed_headers.join(","))
            .env("API_TOKEN", self.token.clone())
    }

    /// The command that starts the API as the checks did, for a
    /// reproduction the student pastes.
    pub fn command(&self) -> String {
        let mut s = String::new();
        for (k, v) in self.spawn().env {
            s.push_str(&format!("{k}={} ", shell_quote(&v)));
        }
        s.push_str("PORT=3001 cargo run -p cors");
        s
    }

    /// Origins that must not be allowed, with what makes each one wrong.
    /// Near misses of a listed origin catch prefix, suffix and substring
    /// matching.
    pub fn disallowed_origins(&self, cx: &mut Ctx) -> Vec<(&'static str, String)> {
        let frontend = &self.allowed[0];
        let port: u16 = frontend.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or(3000);
        let deployed = &self.allowed[1];
        let mut cases = vec![
            ("a stranger's origin", self.stranger.clone()),
            ("the frontend's host on another port", format!("http://localhost:{}", port.wrapping_add(1).max(1))),
            ("the frontend's host and port over https", frontend.replacen("http://", "https://", 1)),
            ("a listed origin followed by more host name", format!("{frontend}.{}.example", cx.word(5))),
            ("a listed origin's host under another domain", format!("{deployed}.{}.example", cx.word(4))),
            (
                "a listed origin's host with something in front",
                deployed.replacen("https://", &format!("https://{}", cx.word(3)), 1),
            ),
        ];
        cx.rng().shuffle(&mut cases);
        cases
    }

    /// One origin to send: a listed one, a near miss of one, or something
    /// odder, drawn from the seed.
    pub fn some_origin(&self, cx: &mut Ctx) -> String {
        let base = self.pick_allowed(cx);
        let (scheme, rest) = base.split_once("://").unwrap_or(("http", base.as_str()));
        let (host, port) = match rest.trim_end_matches('/').rsplit_once(':') {
            Some((h, p)) if p.parse::<u16>().is_ok() => (h.to_string(), Some(p.parse::<u16>().unwrap_or(0))),
            _ => (rest.trim_end_matches('/').to_string(), None),
        };
        let with_port = |host: &str, port: Option<u16>| match port {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        match cx.rng().u8(..24) {
            0..=7 => base,
            8 => format!("{}://{rest}", if scheme == "http" { "https" } else { "http" }),
            9 => format!("{scheme}://{}", with_port(&host, Some(port.map_or(8443, |p| p.wrapping_add(1).max(1))))),
            10 => format!("{scheme}://{}", with_port(&host, None)),
            11 => format!("{scheme}://{}.{}", cx.word(3), with_port(&host, port)),
            12 => format!("{base}.{}.example", cx.word(4)),
            13 => format!("{scheme}://{}{}", cx.word(2), rest),
            14 => format!("{}/", base.trim_end_matches('/')),
            15 => base.trim_end_matches('/').to_string(),
            16 => base.to_ascii_uppercase(),
            17 => format!("{scheme}://{}", with_port(&host.to_ascii_uppercase(), port)),
            18 => "null".to_string(),
            19 => self.stranger.clone(),
            20 => format!("{base}/{}", cx.word(3)),
            21 => String::new(),
            22 => format!("{scheme}://{}é.example", cx.word(3)),
            _ => format!("{scheme}://{}", with_port(&host.replacen('.', "", 1), port)),
        }
    }

    /// Start the student's API with this configuration on a free port.
    pub async fn start(&self, cx: &Ctx) -> Result<(Proc, Client), Failure> {
        self.start_on(cx, free_port()?).await
    }

    pub async fn start_on(&self, cx: &Ctx, port: u16) -> Result<(Proc, Client), Failure> {
        let spec = self.spawn().env("HOST", "127.0.0.1").env("PORT", port.to_string());
        let (proc, addr) = Proc::start_server(cx, cx.subject(), &spec).await?;
        if addr.port() != port {
            return Err(Failure::new(format!("PORT was {port} but the server printed `listening on http://{addr}`"))
                .with_output(proc.output()));
        }
        Ok((proc, Client::new(SocketAddr::from(([127, 0, 0, 1], port)), cx.step_timeout())))
    }

    /// The exchange as a snapshot: random values replaced by placeholders,
    /// list headers on one normalised line.
    pub fn transcript(&self, ex: &Exchange) -> String {
        let mut ex = ex.clone();
        let mut merged: Vec<(String, String)> = Vec::new();
        for (k, v) in &ex.response.headers {
            let k = k.to_ascii_lowercase();
            if LISTS.contains(&k.as_str()) {
                if let Some((_, existing)) = merged.iter_mut().find(|(mk, _)| *mk == k) {
                    existing.push_str(", ");
                    existing.push_str(v);
                    continue;
                }
            }
            merged.push((k, v.clone()));
        }
        for (k, v) in merged.iter_mut() {
            if LISTS.contains(&k.as_str()) {
                *v = v.split(',').map(str::trim).filter(|t| !t.is_empty()).collect::<Vec<_>>().join(", ");
            }
        }
        ex.response.headers = merged;
        let mut redact: Vec<(String, String)> = Vec::new();
        // One placeholder for every listed origin: checks pick one at random.
        for o in &self.allowed {
            redact.push((o.clone(), "[allowed-origin]".to_string()));
        }
        redact.push((self.stranger.clone(), "[stranger-origin]".into()));
        redact.push((self.allowed_header.clone(), "[allowed-header]".into()));
        redact.push((self.exposed_header.clone(), "[exposed-header]".into()));
        redact.push((self.token.clone(), "[token]".into()));
        redact.push((self.user.clone(), "[user]".into()));
        // Longest first, so an origin is replaced whole before a shorter
        // value inside it.
        redact.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
        let pairs: Vec<(&str, &str)> = redact.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        ex.transcript(SHOWN, &pairs)
    }
}

/// `name` with each letter's case drawn at random, or all lower / upper.
pub fn any_case(cx: &mut Ctx, name: &str) -> String {
    match cx.rng().u8(..4) {
        0 => name.to_ascii_lowercase(),
        1 => name.to_ascii_uppercase(),
        2 => name
            .split('-')
            .map(|part| {
                let mut c = part.chars();
                c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("-"),
        _ => name.chars().map(|c| if cx.rng().bool() { c.to_ascii_uppercase() } else { c }).collect(),
    }
}

/// A preflight as a browser sends it.
pub fn preflight(path: &str, origin: &str, method: &str, headers: Option<&str>) -> Request {
    let mut r = Request::new("OPTIONS", path).header("origin", origin).header("access-control-request-method", method);
    if let Some(h) = headers {
        r = r.header("access-control-request-headers", h);
    }
    r
}

/// Every `Access-Control-*` header of a response.
pub fn access_control(r: &Response) -> Vec<(String, String)> {
    r.headers
        .iter()
        .filter(|(k, _)| k.to_ascii_lowercase().starts_with("access-control-"))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect()
}

/// The comma-separated tokens of every value of `name`, trimmed (and
/// lowercased when the tokens are header names, which ignore case).
pub fn list_tokens(r: &Response, name: &str, lowercase: bool) -> Vec<String> {
    r.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| if lowercase { t.to_ascii_lowercase() } else { t.to_string() })
        .collect()
}

pub use harness::http::shell_quote;
