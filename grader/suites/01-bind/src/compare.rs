//! Differential cases of 01-bind: one HTTP request sent byte for byte to
//! both servers, and the answer reduced to what the book specifies.
//!
//! What is compared: the status; the media type; `Allow` (as a set);
//! `Content-Length` of a successful `HEAD`; `Location` of a created user
//! (as "names the new user" or not); the body (bytes of a file, JSON
//! canonicalised). What is not, and why:
//! - the `charset` parameter and other media type parameters: browsers
//!   apply `text/css` and `text/css; charset=utf-8` alike, and the book's
//!   grader only ever asked for the media type;
//! - `application/javascript` counts as `text/javascript` (RFC 9239 made
//!   the latter the standard name; browsers run both), and
//!   `image/vnd.microsoft.icon` as `image/x-icon` (its registered name);
//! - the wording of error messages: the book leaves it to the student, so
//!   an error body is compared as `{"error": <some non-empty text>}`;
//! - the id a new user gets: ids are the same on both sides as long as
//!   both accepted the same users, and `json.users_create` checks them;
//! - `Date`, `Connection`, `Content-Length` of a `GET` (the body is
//!   compared instead; chunked bodies are decoded first).

use std::fmt::Write as _;

use harness::differential::Case;
use harness::http::{Client, Request, Response};
use harness::Failure;
use serde_json::Value;

/// One request, sent exactly as written (no path clean-up on the way).
#[derive(Debug, Clone)]
pub struct HttpCase {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// What a right answer may also be, beside the reference's: a status
    /// the book allows as well (an id too big for any integer is "not a
    /// number" or "no such user").
    pub also_ok: Option<(u16, u16)>,
}

impl HttpCase {
    pub fn new(method: &str, path: impl Into<String>) -> HttpCase {
        HttpCase { method: method.to_string(), path: path.into(), headers: Vec::new(), body: None, also_ok: None }
    }

    pub fn header(mut self, name: &str, value: &str) -> HttpCase {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> HttpCase {
        self.body = Some(body.into());
        self
    }

    /// `POST /users` with a JSON body and its content type.
    pub fn post_json(body: &str) -> HttpCase {
        HttpCase::new("POST", "/users").header("content-type", "application/json").body(body)
    }

    fn request(&self) -> Request {
        let mut r = Request::new(&self.method, self.path.clone());
        r.headers = self.headers.clone();
        r.body = self.body.clone();
        r
    }
}

impl Case for HttpCase {
    fn shrink(&self) -> Vec<HttpCase> {
        let mut out = Vec::new();
        let mut with = |f: &dyn Fn(&mut HttpCase)| {
            let mut c = self.clone();
            f(&mut c);
            if c.method != self.method || c.path != self.path || c.headers != self.headers || c.body != self.body {
                out.push(c);
            }
        };
        if self.method != "GET" && self.body.is_none() {
            with(&|c| c.method = "GET".into());
        }
        if let Some((path, _)) = self.path.split_once('?') {
            with(&|c| c.path = path.to_string());
        }
        for i in 0..self.headers.len() {
            with(&|c| {
                c.headers.remove(i);
            });
        }
        // One escape fewer: `%61` -> `a` (only for letters and digits, so
        // the shrunk path means the same to a server that decodes).
        if let Some(plain) = decode_one_alnum(&self.path) {
            with(&|c| c.path = plain.clone());
        }
        if let Some(body) = &self.body {
            if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
                for key in map.keys().filter(|k| *k != "name") {
                    let mut m = map.clone();
                    m.remove(key);
                    let smaller = Value::Object(m).to_string().into_bytes();
                    with(&|c| c.body = Some(smaller.clone()));
                }
            }
        }
        out
    }

    fn show(&self) -> String {
        curl(self)
    }
}

fn decode_one_alnum(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    for i in 0..bytes.len().saturating_sub(2) {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                if b.is_ascii_alphanumeric() {
                    return Some(format!("{}{}{}", &path[..i], b as char, &path[i + 3..]));
                }
            }
        }
    }
    None
}

/// The case as a command to paste while `cargo run -p bind` serves on 3001.
pub fn curl(case: &HttpCase) -> String {
    let mut s = String::from("curl -i --path-as-is");
    if case.method == "HEAD" {
        s.push_str(" -I");
    } else if case.method != "GET" || case.body.is_some() {
        let _ = write!(s, " -X {}", case.method);
    }
    for (k, v) in &case.headers {
        let _ = write!(s, " -H {}", harness::http::shell_quote(&format!("{k}: {v}")));
    }
    if let Some(b) = &case.body {
        let _ = write!(s, " --data-binary {}", harness::http::shell_quote(&String::from_utf8_lossy(b)));
    }
    let _ = write!(s, " {}", harness::http::shell_quote(&format!("http://localhost:3001{}", case.path)));
    s
}

/// Send `case` and reduce the answer to what the book specifies. A created
/// user is also fetched back from its `Location`.
pub async fn probe(client: Client, case: HttpCase) -> Result<String, Failure> {
    let ex = client.send_raw(case.request()).await?;
    let response = dechunk(ex.response);
    let mut answer = normalise(&case, &response);
    if response.status == 201 {
        let id = response.json().and_then(|v| v.get("id").cloned());
        let location = response.header("location").unwrap_or("").to_string();
        let names_it = id.as_ref().is_some_and(|id| location == format!("/users/{id}"));
        let _ = writeln!(answer, "location names the new user: {}", if names_it { "yes" } else { "no" });
        if names_it {
            let back = client.send_raw(Request::get(location.clone())).await?;
            let back = dechunk(back.response);
            let same = back.status == 200 && back.json() == response.json();
            let _ = writeln!(
                answer,
                "then GET {location}: {}",
                if same { "200 with the same user".to_string() } else { format!("{} {}", back.status, back.text()) }
            );
        }
    }
    Ok(answer)
}

/// Status, the headers that matter, and the body, one per line.
pub fn normalise(case: &HttpCase, r: &Response) -> String {
    let mut s = String::new();
    let status = match case.also_ok {
        Some((a, b)) if r.status == a || r.status == b => format!("{a} or {b}"),
        _ => r.status.to_string(),
    };
    let _ = writeln!(s, "status: {status}");
    let _ = writeln!(s, "content-type: {}", media_type(r).unwrap_or_else(|| "(none)".into()));
    if let Some(allow) = r.header("allow") {
        let mut methods: Vec<String> =
            allow.split(',').map(|m| m.trim().to_ascii_uppercase()).filter(|m| !m.is_empty()).collect();
        methods.sort();
        methods.dedup();
        let _ = writeln!(s, "allow: {}", methods.join(", "));
    }
    if case.method == "HEAD" && r.status == 200 {
        let _ = writeln!(s, "content-length: {}", r.header("content-length").unwrap_or("(none)"));
    }
    let _ = writeln!(s, "body: {}", body(r));
    s
}

pub fn media_type(r: &Response) -> Option<String> {
    let media = r.media_type()?;
    Some(
        match media.as_str() {
            "application/javascript" => "text/javascript",
            "image/vnd.microsoft.icon" => "image/x-icon",
            other => other,
        }
        .to_string(),
    )
}

fn body(r: &Response) -> String {
    if r.body.is_empty() {
        return "(empty)".into();
    }
    if let Ok(mut v) = serde_json::from_slice::<Value>(&r.body) {
        if let Some(Value::String(message)) = v.get_mut("error") {
            if !message.trim().is_empty() {
                *message = "<a message>".into();
            }
        }
        if let Some(id) = v.get_mut("id").filter(|_| r.status == 201) {
            if id.is_u64() {
                *id = Value::String("<new id>".into());
            }
        }
        return v.to_string();
    }
    match std::str::from_utf8(&r.body) {
        Ok(text) if text.len() <= 160 && !text.contains('\0') => format!("{text:?}"),
        _ => format!(
            "{} bytes, starting {:02x?} (fnv1a {:016x})",
            r.body.len(),
            &r.body[..r.body.len().min(8)],
            fnv1a(&r.body)
        ),
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The raw client reads the body as it came on the wire; a server may send
/// it chunked (a streamed file), which is as right as a fixed length.
pub fn dechunk(mut r: Response) -> Response {
    let chunked = r.header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if !chunked {
        return r;
    }
    let mut out = Vec::new();
    let mut rest: &[u8] = &r.body;
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else { break };
        let size_text = String::from_utf8_lossy(&rest[..eol]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else { break };
        rest = &rest[eol + 2..];
        if size == 0 || rest.len() < size {
            break;
        }
        out.extend_from_slice(&rest[..size]);
        rest = rest.get(size + 2..).unwrap_or(&[]);
    }
    r.body = out;
    r
}

/// Percent-encoding for paths. Every byte that cannot stand in a path as it
/// is gets encoded; others are encoded at random (with random hex case), so
/// a server that does not decode is seen.
pub fn encode_segment(rng: &mut fastrand::Rng, segment: &str, rate: f64) -> String {
    let mut s = String::new();
    for b in segment.bytes() {
        let plain = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b);
        if plain && rng.f64() >= rate {
            s.push(b as char);
        } else {
            s.push_str(&hex(rng, b));
        }
    }
    s
}

/// `%2e`, `%2E`: one byte, percent-encoded, with random hex case.
pub fn hex(rng: &mut fastrand::Rng, b: u8) -> String {
    if rng.bool() {
        format!("%{b:02X}")
    } else {
        format!("%{b:02x}")
    }
}
