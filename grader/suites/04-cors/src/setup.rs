//! One random configuration of the API per check, starting it, and the
//! normalised transcripts its snapshots compare.

use std::net::SocketAddr;

use harness::http::{Client, Exchange, Response};
use harness::process::{Proc, Spawn};
use harness::{Ctx, Failure};

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
    /// The listed origins, in ALLOWED_ORIGINS order (`null` is listed too,
    /// as a trap, but is not in here).
    pub allowed: Vec<String>,
    /// An extra request header the frontend may send (ALLOWED_HEADERS).
    pub allowed_header: String,
    /// An extra response header the frontend may read (EXPOSED_HEADERS).
    pub exposed_header: String,
    pub token: String,
    pub user: String,
    /// A random stranger's origin.
    pub stranger: String,
    /// The origins in ALLOWED_ORIGINS order, with `null` somewhere.
    listed: Vec<String>,
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
        Setup {
            allowed,
            allowed_header: format!("x-{}-{}", cx.word(5), cx.word(4)),
            exposed_header: format!("x-{}-{}", cx.word(4), cx.word(5)),
            token: cx.word(20),
            user: cx.word(9),
            stranger: format!("https://{}.example", cx.word(8)),
            listed,
        }
    }

    pub fn allowed_origins_env(&self) -> String {
        self.listed.join(",")
    }

    pub fn pick_allowed(&self, cx: &mut Ctx) -> String {
        self.allowed[cx.rng().usize(..self.allowed.len())].clone()
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

    /// Start the student's API with this configuration on a free port.
    pub async fn start(&self, cx: &Ctx) -> Result<(Proc, Client), Failure> {
        self.start_on(cx, free_port()?).await
    }

    pub async fn start_on(&self, cx: &Ctx, port: u16) -> Result<(Proc, Client), Failure> {
        let spec = Spawn::default()
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("ALLOWED_ORIGINS", self.allowed_origins_env())
            .env("ALLOWED_HEADERS", self.allowed_header.clone())
            .env("EXPOSED_HEADERS", self.exposed_header.clone())
            .env("API_TOKEN", self.token.clone());
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

pub use harness::process::free_port;
