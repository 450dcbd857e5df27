//! The differential cases: random requests a browser, curl or a proxy could
//! send, written to the wire byte for byte (header names in any case,
//! repeated lines, bytes outside ASCII), sent to your API and to the
//! reference's, and their answers normalised: only what the Fetch standard
//! lets differ (order and case of header names in lists, the 2xx of an
//! accepted preflight, the body of a refusal) is made equal.

use std::sync::Arc;
use std::time::Duration;

use harness::differential::{Case, Differential, Servers, Side};
use harness::http::{Client, Request, Response};
use harness::{Ctx, Failure};
use serde_json::Value;

use crate::fixtures::{any_case, shell_quote, Setup};

/// One request, exactly as it goes on the wire.
#[derive(Clone)]
pub struct Wire {
    /// How to start the API for a reproduction.
    command: Arc<String>,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl Wire {
    fn new(setup: &Setup, method: &str, path: &str) -> Wire {
        Wire {
            command: Arc::new(setup.command()),
            method: method.to_string(),
            path: path.to_string(),
            headers: Vec::new(),
            body: None,
        }
    }

    fn header(mut self, name: &str, value: impl Into<String>) -> Wire {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.headers.iter().filter(move |(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// A CORS preflight by the standard's definition: `OPTIONS` with
    /// `Origin` and `Access-Control-Request-Method`.
    pub fn is_preflight(&self) -> bool {
        self.method == "OPTIONS"
            && self.values("origin").next().is_some()
            && self.values("access-control-request-method").next().is_some()
    }

    fn origins(&self) -> Vec<String> {
        self.values("origin").map(str::to_string).collect()
    }

    /// This request with its `Origin` lines replaced by one `origin`.
    fn with_one_origin(&self, origin: &str) -> Wire {
        let mut w = self.clone();
        let at = w.headers.iter().position(|(k, _)| k.eq_ignore_ascii_case("origin")).unwrap_or(0);
        w.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("origin"));
        w.headers.insert(at.min(w.headers.len()), ("Origin".to_string(), origin.to_string()));
        w
    }

    fn request(&self) -> Request {
        let mut r = Request::new(&self.method, &self.path);
        r.headers = self.headers.clone();
        r.body = self.body.clone().map(String::into_bytes);
        r
    }
}

impl Case for Wire {
    /// Fewer header lines, fewer names in a list, no body, the plainest path.
    fn shrink(&self) -> Vec<Wire> {
        let mut out = Vec::new();
        for i in 0..self.headers.len() {
            let mut w = self.clone();
            w.headers.remove(i);
            out.push(w);
        }
        for (i, (name, value)) in self.headers.iter().enumerate() {
            if !name.eq_ignore_ascii_case("access-control-request-headers") {
                continue;
            }
            let items: Vec<&str> = value.split(',').collect();
            if items.len() > 1 {
                for j in 0..items.len() {
                    let mut rest = items.clone();
                    rest.remove(j);
                    let mut w = self.clone();
                    w.headers[i].1 = rest.join(",");
                    out.push(w);
                }
            }
        }
        if self.body.is_some() {
            let mut w = self.clone();
            w.body = None;
            out.push(w);
        }
        if self.path != "/api/public" {
            let mut w = self.clone();
            w.path = "/api/public".to_string();
            out.push(w);
        }
        out
    }

    fn show(&self) -> String {
        let mut curl = String::from("curl -i");
        match self.method.as_str() {
            "GET" if self.body.is_none() => {}
            "HEAD" => curl.push_str(" -I"),
            m => curl.push_str(&format!(" -X {}", shell_quote(m))),
        }
        for (k, v) in &self.headers {
            curl.push_str(&format!(" -H {}", shell_quote(&format!("{k}: {v}"))));
        }
        if let Some(b) = &self.body {
            curl.push_str(&format!(" --data-raw {}", shell_quote(b)));
        }
        curl.push_str(&format!(" {}", shell_quote(&format!("http://127.0.0.1:3001{}", self.path))));
        format!("{}\n{curl}", self.command)
    }
}

// ---------------------------------------------------------------------------
// Drawing cases.
// ---------------------------------------------------------------------------

const PATHS: &[&str] = &["/api/public", "/api/notes", "/api/me"];

fn path(cx: &mut Ctx) -> String {
    match cx.rng().u8(..10) {
        0 => format!("/api/{}", cx.word(5)),
        1 => "/api/public/".to_string(),
        _ => PATHS[cx.rng().usize(..PATHS.len())].to_string(),
    }
}

/// Zero to three `Origin` lines, the name in any case.
fn origin_lines(cx: &mut Ctx, setup: &Setup, none_weight: u8) -> Vec<(String, String)> {
    let roll = cx.rng().u8(..100);
    let count = if roll < none_weight {
        0
    } else if roll < 85 {
        1
    } else {
        cx.rng().usize(2..4)
    };
    (0..count).map(|_| (any_case(cx, "origin"), setup.some_origin(cx))).collect()
}

/// Credentials a browser would attach, or a stale token: a cookie and/or
/// `Authorization`.
fn credentials(cx: &mut Ctx, setup: &Setup, wire: &mut Wire) {
    if cx.rng().u8(..3) == 0 {
        wire.headers.push((any_case(cx, "cookie"), format!("session={}", setup.user)));
    }
    if cx.rng().u8(..3) == 0 {
        let token = if cx.rng().bool() { setup.token.clone() } else { cx.word(8) };
        wire.headers.push((any_case(cx, "authorization"), format!("Bearer {token}")));
    }
}

/// An actual request: any method on any route (error answers included),
/// from any origin or none, ordinary `OPTIONS` among them.
pub fn actual(cx: &mut Ctx, setup: &Setup) -> Wire {
    const METHODS: &[&str] =
        &["GET", "GET", "GET", "POST", "POST", "HEAD", "OPTIONS", "OPTIONS", "PUT", "DELETE", "PATCH"];
    let method = METHODS[cx.rng().usize(..METHODS.len())];
    let mut wire = Wire::new(setup, method, &path(cx));
    wire.headers = origin_lines(cx, setup, 15);
    credentials(cx, setup, &mut wire);
    if method == "OPTIONS" && cx.rng().bool() {
        // Looks like half a preflight: not one without both headers.
        wire.headers.push((any_case(cx, "access-control-request-headers"), "content-type".to_string()));
    }
    if method == "POST" || (method == "PUT" && cx.rng().bool()) {
        let body = match cx.rng().u8(..5) {
            0 => "{\"text\": \"\"}".to_string(),
            1 => "not json".to_string(),
            _ => format!("{{\"text\": \"{}\"}}", cx.word(6)),
        };
        let kind = if cx.rng().u8(..4) == 0 { "text/plain" } else { "application/json" };
        wire = wire.header(&any_case(cx, "content-type"), kind);
        wire.body = Some(body);
    }
    cx.rng().shuffle(&mut wire.headers);
    wire
}

/// A preflight a browser could send for an allowed request (mostly a listed
/// origin, else a near miss; GET, POST or HEAD; allowed header names in any case
/// and spacing, on one line or two), then zero to three changes that may or
/// may not make it one to refuse: another origin, several or none, another
/// method or its case, an unlisted or empty name, credentials, another route.
pub fn preflight(cx: &mut Ctx, setup: &Setup) -> Wire {
    let mut wire = Wire::new(setup, "OPTIONS", &path(cx));
    let origin = if cx.rng().u8(..5) < 3 { setup.pick_allowed(cx) } else { setup.some_origin(cx) };
    wire.headers.push((any_case(cx, "origin"), origin));
    // HEAD too: never refused for its method, though not on the list.
    let mut method = ["GET", "POST", "POST", "HEAD"][cx.rng().usize(..4)].to_string();
    let mut allowed: Vec<String> = vec!["authorization".into(), "content-type".into()];
    allowed.extend(setup.allowed_headers());
    let mut lines: Vec<Vec<String>> = vec![Vec::new()];
    if cx.rng().u8(..4) == 0 {
        lines.push(Vec::new());
    }
    let count = if cx.rng().u8(..5) == 0 { 0 } else { cx.rng().usize(1..4) };
    for _ in 0..count {
        let pick = cx.rng().usize(..allowed.len());
        let name = any_case(cx, &allowed[pick]);
        let line = cx.rng().usize(..lines.len());
        lines[line].push(name);
    }
    let mut credentialed = false;
    for _ in 0..cx.rng().usize(0..4) {
        match cx.rng().u8(..10) {
            0 => {
                let other = setup.some_origin(cx);
                if let Some(line) = wire.headers.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case("origin")) {
                    line.1 = other;
                }
            }
            1 => {
                let extra = setup.some_origin(cx);
                let at = cx.rng().usize(..=wire.headers.len());
                wire.headers.insert(at, (any_case(cx, "origin"), extra));
            }
            // Without Origin it is an ordinary OPTIONS; less often.
            2 if cx.rng().bool() => wire.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("origin")),
            3 => {
                const OTHER: &[&str] = &["PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", ""];
                method = OTHER[cx.rng().usize(..OTHER.len())].to_string();
            }
            4 => method = if cx.rng().bool() { method.to_ascii_lowercase() } else { any_case(cx, &method) },
            5 | 6 => {
                let name = match cx.rng().u8(..3) {
                    0 => format!("x-{}", cx.word(5)),
                    1 => ["accept", "accept-language", "content-language"][cx.rng().usize(..3)].to_string(),
                    _ => ["x-requested-with", "cookie", "*"][cx.rng().usize(..3)].to_string(),
                };
                let line = cx.rng().usize(..lines.len());
                let at = cx.rng().usize(..=lines[line].len());
                lines[line].insert(at, any_case(cx, &name));
            }
            7 => {
                let line = cx.rng().usize(..lines.len());
                let at = cx.rng().usize(..=lines[line].len());
                lines[line].insert(at, String::new());
            }
            8 => credentialed = true,
            _ => wire.path = path(cx),
        }
    }
    if count == 0 && lines.len() == 1 && lines[0].is_empty() && cx.rng().bool() {
        lines.clear();
    }
    wire.headers.push((any_case(cx, "access-control-request-method"), method));
    for line in lines {
        let sep = [",", ", ", " , ", ",  "][cx.rng().usize(..4)];
        wire.headers.push((any_case(cx, "access-control-request-headers"), line.join(sep)));
    }
    if credentialed {
        credentials(cx, setup, &mut wire);
    }
    cx.rng().shuffle(&mut wire.headers);
    wire
}

// ---------------------------------------------------------------------------
// Running a differential check.
// ---------------------------------------------------------------------------

/// Start your API and the reference's with one wide random configuration,
/// send both `count` cases drawn by `draw`, and fail on the first
/// difference, shrunk.
pub async fn compare(
    cx: &mut Ctx,
    rule: &str,
    count: usize,
    draw: fn(&mut Ctx, &Setup) -> Wire,
) -> harness::CheckResult {
    let setup = Setup::wide(cx);
    let servers = Servers::start(cx, setup.spawn()).await?;
    let sides = Sides {
        yours: Client::new(servers.yours.1.addr(), PATIENCE),
        reference: Client::new(servers.reference.1.addr(), PATIENCE),
        servers,
    };
    let cases: Vec<Wire> = (0..count).map(|_| draw(cx, &setup)).collect();
    let sides = &sides;
    Differential::new(rule).run(cases, |side, wire| probe(sides, side, wire)).await
}

/// How long one answer may take. On a loaded machine a local answer can
/// take seconds, and the reference's slowness must never read as a
/// difference; the check's own time limit still bounds a hung program.
const PATIENCE: Duration = Duration::from_secs(10);

/// Both servers, each with a patient client.
pub struct Sides {
    servers: Servers,
    yours: Client,
    reference: Client,
}

impl Sides {
    fn client(&self, side: Side) -> &Client {
        match side {
            Side::Yours => &self.yours,
            Side::Reference => &self.reference,
        }
    }
}

// ---------------------------------------------------------------------------
// Sending a case and normalising the answer.
// ---------------------------------------------------------------------------

/// The normalised answer of `side` to `wire`. A request with several
/// `Origin` lines (no browser sends one) may be answered as if it carried
/// any one of them, or as if it carried `Origin: null` (refused): any of
/// those is the same answer here.
pub async fn probe(sides: &Sides, side: Side, wire: Wire) -> Result<String, Failure> {
    let answer = normalised(sides, side, &wire).await?;
    let origins = wire.origins();
    if origins.len() < 2 {
        return Ok(answer);
    }
    let mut alone = Vec::new();
    for origin in origins.iter().map(String::as_str).chain(["null"]) {
        alone.push(normalised(sides, side, &wire.with_one_origin(origin)).await?);
    }
    if alone.contains(&answer) {
        Ok("the same answer as to one of its Origin headers alone, or to `Origin: null`".to_string())
    } else {
        Ok(format!(
            "{answer}\n(not the answer to any one of its Origin headers alone, nor to `Origin: null`: \
             with several Origin headers, treat the request as carrying one of them, or refuse it)"
        ))
    }
}

async fn normalised(sides: &Sides, side: Side, wire: &Wire) -> Result<String, Failure> {
    let ex = sides.client(side).send_raw(wire.request()).await.map_err(|f| {
        let output = sides.servers.proc(side).output();
        Failure::new(f.message().to_string()).with_output(output)
    })?;
    Ok(normalise(&ex.response, wire.is_preflight()))
}

/// Header lists whose items are header names: case and order do not matter.
const NAME_LISTS: &[&str] = &["access-control-allow-headers", "access-control-expose-headers", "vary"];
/// What only a preflight's answer means anything with.
const PREFLIGHT_ONLY: &[&str] =
    &["access-control-allow-methods", "access-control-allow-headers", "access-control-max-age"];
/// Lists of methods: order does not matter, case does.
const METHOD_LISTS: &[&str] = &["access-control-allow-methods", "allow"];

/// Status, every `Access-Control-*` header a browser reads there, `Vary`,
/// and for an answer that is not a preflight's, `Allow`, `Content-Type` and
/// the body.
pub fn normalise(response: &Response, preflight: bool) -> String {
    let status = response.status;
    let mut out = if preflight && (200..300).contains(&status) {
        "status: 2xx (the preflight is accepted)\n".to_string()
    } else {
        format!("status: {status}\n")
    };
    // Headers a browser ignores where they stand: Expose-Headers on an
    // accepted preflight, the preflight's headers on an allowed actual answer.
    let accepted = preflight && (200..300).contains(&status);
    let allowed = !preflight && response.header("access-control-allow-origin").is_some();
    let ignored =
        |k: &str| (accepted && k == "access-control-expose-headers") || (allowed && PREFLIGHT_ONLY.contains(&k));
    let mut names: Vec<String> = response
        .headers
        .iter()
        .map(|(k, _)| k.to_ascii_lowercase())
        .filter(|k| {
            k.starts_with("access-control-") || k == "vary" || (!preflight && (k == "allow" || k == "content-type"))
        })
        .filter(|k| !ignored(k))
        .collect();
    names.sort();
    names.dedup();
    for name in names {
        let values: Vec<&str> =
            response.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(&name)).map(|(_, v)| v.trim()).collect();
        let lowercase = NAME_LISTS.contains(&name.as_str());
        if lowercase || METHOD_LISTS.contains(&name.as_str()) {
            let mut items: Vec<String> = values
                .iter()
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| if lowercase { t.to_ascii_lowercase() } else { t.to_string() })
                .collect();
            items.sort();
            items.dedup();
            out.push_str(&format!("{name}: {}\n", items.join(", ")));
        } else {
            // A header that is not a list must come once: two lines of
            // Access-Control-Allow-Origin make a browser refuse the answer.
            for v in values {
                out.push_str(&format!("{name}: {v}\n"));
            }
        }
    }
    if !preflight {
        let body = body(response);
        if !body.is_empty() {
            out.push_str(&format!("body: {body}\n"));
        }
    }
    out
}

/// The body, JSON canonicalised (a note's `id` counts requests, not
/// behaviour, so it is masked), chunked framing removed.
fn body(response: &Response) -> String {
    let chunked = response.header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let raw = if chunked { dechunk(&response.body) } else { response.body.clone() };
    match serde_json::from_slice::<Value>(&raw) {
        Ok(mut v) => {
            if let Some(id) = v.get_mut("id").filter(|id| id.is_number()) {
                *id = Value::String("[id]".into());
            }
            v.to_string()
        }
        Err(_) => {
            let text = String::from_utf8_lossy(&raw[..raw.len().min(512)]).into_owned();
            text.trim().to_string()
        }
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&data[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok());
        let Some(size) = size.filter(|s| *s > 0) else { break };
        let start = eol + 2;
        let end = (start + size).min(data.len());
        out.extend_from_slice(&data[start..end]);
        data = &data[(end + 2).min(data.len())..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status,
            reason: String::new(),
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn lists_of_names_ignore_order_case_and_spacing_but_methods_keep_case() {
        let a = response(
            204,
            &[
                ("Access-Control-Allow-Headers", "Authorization,content-type"),
                ("access-control-allow-methods", "GET, POST"),
                ("vary", "Origin"),
                ("vary", "Access-Control-Request-Method"),
            ],
            "",
        );
        let b = response(
            200,
            &[
                ("access-control-allow-headers", "content-type, authorization"),
                ("access-control-allow-methods", "POST,GET"),
                ("Vary", "access-control-request-method, origin"),
            ],
            "",
        );
        assert_eq!(normalise(&a, true), normalise(&b, true));
        let c = response(204, &[("access-control-allow-methods", "get, post")], "");
        let d = response(204, &[("access-control-allow-methods", "GET, POST")], "");
        assert_ne!(normalise(&c, true), normalise(&d, true), "methods are case-sensitive");
    }

    #[test]
    fn status_and_body_count_except_where_a_browser_ignores_them() {
        let ok = response(204, &[], "");
        let ok200 = response(200, &[], "");
        assert_eq!(normalise(&ok, true), normalise(&ok200, true), "any 2xx accepts a preflight");
        assert_ne!(normalise(&ok, false), normalise(&ok200, false), "an actual answer keeps the route's status");
        let refused = response(403, &[], "");
        let refused_text = response(403, &[("content-type", "text/plain")], "origin not allowed");
        assert_eq!(normalise(&refused, true), normalise(&refused_text, true), "a refusal's body is free");
        let two = response(200, &[("access-control-allow-origin", "a"), ("access-control-allow-origin", "a")], "");
        let one = response(200, &[("access-control-allow-origin", "a")], "");
        assert_ne!(normalise(&two, false), normalise(&one, false), "two Allow-Origin lines are not one");
    }

    #[test]
    fn headers_a_browser_ignores_where_they_stand_are_ignored_only_there() {
        let plain = response(204, &[("access-control-allow-origin", "a")], "");
        let extra = response(204, &[("access-control-allow-origin", "a"), ("access-control-expose-headers", "x")], "");
        assert_eq!(normalise(&plain, true), normalise(&extra, true));
        let actual = response(200, &[("access-control-allow-origin", "a")], "");
        let actual_extra = response(200, &[("access-control-allow-origin", "a"), ("access-control-max-age", "5")], "");
        assert_eq!(normalise(&actual, false), normalise(&actual_extra, false));
        let refused = response(403, &[], "");
        let refused_extra = response(403, &[("access-control-max-age", "5")], "");
        assert_ne!(normalise(&refused, true), normalise(&refused_extra, true), "a refusal has no CORS header");
        let stranger = response(200, &[], "");
        let stranger_extra = response(200, &[("access-control-allow-methods", "GET")], "");
        assert_ne!(normalise(&stranger, false), normalise(&stranger_extra, false));
    }

    #[test]
    fn note_ids_are_masked_and_chunks_joined() {
        let a = response(201, &[], r#"{"id": 3, "text": "x"}"#);
        let b = response(
            201,
            &[("transfer-encoding", "chunked")],
            "6\r\n{\"id\":\r\n10\r\n 7, \"text\": \"x\"}\r\n0\r\n\r\n",
        );
        assert_eq!(normalise(&a, false), normalise(&b, false));
    }
}
