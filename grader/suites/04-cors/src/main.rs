//! Hidden suite of 04-cors. The student's API runs as its own process on a
//! free port. Most checks send the requests a browser would send (with
//! `Origin`, and preflights) and read the CORS headers that come back; the
//! `browser` stage has a real headless Chromium load a page from another
//! origin and report what the browser itself let the page read.
//!
//! Origins, header names, tokens and users are drawn from the seed, so a
//! layer that hard-codes them fails.

mod browser;
mod setup;

use std::process::ExitCode;

use harness::http::{Exchange, Request};
use harness::snapshot;
use harness::{CheckResult, Ctx, Failure};
use serde_json::json;

use crate::setup::{access_control, list_tokens, Setup};

fn main() -> ExitCode {
    harness::Suite::new("04-cors", env!("CARGO_MANIFEST_DIR"))
        .subject_bin("cors")
        .check("start.serves", start_serves)
        .check("actual.allowed_origin", actual_allowed_origin)
        .check("actual.credentials", actual_credentials)
        .check("actual.disallowed_origin", actual_disallowed_origin)
        .check("actual.null_origin", actual_null_origin)
        .check("actual.no_origin", actual_no_origin)
        .check("preflight.allowed", preflight_allowed)
        .check("preflight.disallowed_origin", preflight_disallowed_origin)
        .check("preflight.disallowed_method", preflight_disallowed_method)
        .check("preflight.disallowed_header", preflight_disallowed_header)
        .check("browser.allows", browser::allows)
        .check("browser.blocks", browser::blocks)
        .main()
}

/// The server starts and its routes answer a request without `Origin`.
async fn start_serves(mut cx: Ctx) -> CheckResult {
    let setup = Setup::random(&mut cx);
    let (proc, client) = setup.start(&cx).await?;
    let ex = client.send(Request::get("/api/public")).await.map_err(|f| {
        Failure::new(format!("{} Is the CORS layer still todo!()?", f.message())).with_output(proc.output())
    })?;
    if ex.response.status != 200 {
        return Err(ex.fail(format!("GET /api/public without Origin must answer 200, got {}", ex.response.status)));
    }
    Ok(())
}

/// A simple GET and an error answer from allowed origins: each gets its own
/// origin back, credentials, the exposed headers and `Vary: Origin`.
async fn actual_allowed_origin(mut cx: Ctx) -> CheckResult {
    let setup = Setup::random(&mut cx);
    let (_proc, client) = setup.start(&cx).await?;
    let mut first = None;
    for origin in &setup.allowed {
        let ex = client.send(Request::get("/api/public").header("origin", origin)).await?;
        ensure_status(&ex, 200)?;
        expect_allowed_actual(&setup, &ex, origin)?;
        first.get_or_insert(ex);
    }
    // An error answer must be readable too, or the page cannot tell the user
    // to sign in.
    let origin = setup.pick_allowed(&mut cx);
    let denied = client
        .send(Request::new("POST", "/api/notes").header("origin", &origin).json(&json!({ "text": cx.word(8) })))
        .await?;
    ensure_status(&denied, 401)?;
    expect_allowed_actual(&setup, &denied, &origin).map_err(|f| {
        Failure::new(format!("an error answer (401) to an allowed origin needs the CORS headers too: {}", f.message()))
            .with_exchange(&denied)
    })?;
    let first = first.expect("at least one allowed origin");
    snapshot::compare(&cx, "actual.allowed_origin", &setup.transcript(&first))
}

/// A credentialed request (a cookie) gets the exact origin, never `*`, and
/// `Access-Control-Allow-Credentials: true`.
async fn actual_credentials(mut cx: Ctx) -> CheckResult {
    let setup = Setup::random(&mut cx);
    let (_proc, client) = setup.start(&cx).await?;
    let origin = setup.pick_allowed(&mut cx);
    let ex = client
        .send(Request::get("/api/me").header("origin", &origin).header("cookie", format!("session={}", setup.user)))
        .await?;
    ensure_status(&ex, 200)?;
    if ex.response.json() != Some(json!({ "user": setup.user })) {
        return Err(
            ex.fail(format!("GET /api/me with the cookie session={} must answer {{\"user\": ...}}", setup.user))
        );
    }
    expect_allowed_actual(&setup, &ex, &origin)?;
    snapshot::compare(&cx, "actual.credentials", &setup.transcript(&ex))
}

/// Origins not on the list, including near misses of listed ones, get the
/// answer without any CORS header: the browser then hides it from the page.
async fn actual_disallowed_origin(mut cx: Ctx) -> CheckResult {
    let setup = Setup::random(&mut cx);
    let (_proc, client) = setup.start(&cx).await?;
    let mut stranger = None;
    for (what, origin) in setup.disallowed_origins(&mut cx) {
        let ex = client.send(Request::get("/api/public").header("origin", &origin)).await?;
        ensure_status(&ex, 200)?;
        expect_no_cors(&ex, &format!("{what} ({origin}) is not allowed"))?;
        expect_vary(&ex, &["origin"])?;
        if origin == setup.stranger {
            stranger = Some(ex);
        }
    }
    let stranger = stranger.expect("the stranger is among the cases");
    snapshot::compare(&cx, "actual.disallowed_origin", &setup.transcript(&stranger))
}

/// `Origin: null` is never allowed by a list, even one that names it.
async fn actual_null_origin(mut cx: Ctx) -> CheckResult {
    let setup = Setup::random(&mut cx);
    let (_proc, client) = setup.start(&cx).await?;
    for request in
        [Request::get("/api/public"), Request::get("/api/me").header("cookie", format!("session={}", setup.user))]
    {
        let ex = client.send(request.header("origin", "null")).await?;
        expect_no_cors(
            &ex,
            &format!(
                "`Origin: null` (sandboxed iframes, file: pages) must never be allowed, even though ALLOWED_ORIGINS={} lists it",
                setup.allowed_origins_env()
            ),
        )?;
    }
    Ok(())
}

/// Without `Origin` (curl, a server, a same-origin GET) the layer adds no
/// CORS header; the answer still says it varies by `Origin`.
async fn actual_no_origin(mut cx: Ctx) -> CheckResult {
    let setup = Setup::random(&mut cx);
    let (_proc, client) = setup.start(&cx).await?;
    let public = client.send(Request::get("/api/public")).await?;
    ensure_status(&public, 200)?;
    expect_no_cors(&public, "a request without Origin is not a CORS request")?;
    expect_vary(&public, &["origin"])?;
    let text = cx.word(10);
    let created = client
        .send(
            Request::new("POST", "/api/notes")
                .header("authorization", format!("Bearer {}", setup.token))
                .json(&json!({ "text": text })),
        )
        .await?;
    ensure_status(&created, 201)?;
    expect_no_cors(&created, "a request without Origin is not a CORS request")?;
    snapshot::compare(&cx, "actual.no_origin", &setup.transcript(&public))
}

/// The preflight a browser sends before the JSON POST with Authorization.
async fn preflight_allowed(mut cx: Ctx) -> CheckResult {
    let setup = Setup::random(&mut cx);
    let (_proc, client) = setup.start(&cx).await?;
    let origin = setup.pick_allowed(&mut cx);
    // What Chromium sends: lowercase names, sorted, comma-separated.
    let mut asked = vec!["authorization".to_string(), "content-type".to_string(), setup.allowed_header.clone()];
    asked.sort();
    let ex = client.send(preflight("/api/notes", &origin, "POST", Some(&asked.join(",")))).await?;
    expect_allowed_preflight(&setup, &ex, &origin, "POST", &asked)?;

    // Another client's spelling (any case, spaces) and a GET with no
    // request headers at all.
    let spelled = format!("Authorization, {}", setup.allowed_header.to_ascii_uppercase());
    let other = client.send(preflight("/api/notes", &origin, "POST", Some(&spelled))).await?;
    expect_allowed_preflight(&setup, &other, &origin, "POST", &["authorization".into(), setup.allowed_header.clone()])?;
    let get = client.send(preflight("/api/me", &origin, "GET", None)).await?;
    expect_allowed_preflight(&setup, &get, &origin, "GET", &[])?;
    snapshot::compare(&cx, "preflight.allowed", &setup.transcript(&ex))
}

async fn preflight_disallowed_origin(mut cx: Ctx) -> CheckResult {
    let setup = Setup::random(&mut cx);
    let (_proc, client) = setup.start(&cx).await?;
    let mut cases = setup.disallowed_origins(&mut cx);
    cases.push(("the opaque origin `null`", "null".to_string()));
    let mut stranger = None;
    for (what, origin) in cases {
        let ex = client.send(preflight("/api/notes", &origin, "POST", Some("authorization,content-type"))).await?;
        expect_refused_preflight(&ex, &format!("{what} ({origin}) is not allowed"))?;
        if origin == setup.stranger {
            stranger = Some(ex);
        }
    }
    let stranger = stranger.expect("the stranger is among the cases");
    snapshot::compare(&cx, "preflight.disallowed_origin", &setup.transcript(&stranger))
}

async fn preflight_disallowed_method(mut cx: Ctx) -> CheckResult {
    let setup = Setup::random(&mut cx);
    let (_proc, client) = setup.start(&cx).await?;
    let origin = setup.pick_allowed(&mut cx);
    let mut methods = vec!["DELETE", "PUT", "PATCH"];
    cx.rng().shuffle(&mut methods);
    for method in methods {
        let ex = client.send(preflight("/api/notes", &origin, method, None)).await?;
        expect_refused_preflight(&ex, &format!("the API allows GET and POST, not {method}"))?;
    }
    Ok(())
}

async fn preflight_disallowed_header(mut cx: Ctx) -> CheckResult {
    let setup = Setup::random(&mut cx);
    let (_proc, client) = setup.start(&cx).await?;
    let origin = setup.pick_allowed(&mut cx);
    let unlisted = format!("x-{}", cx.word(7));
    for asked in [
        format!("authorization,{unlisted}"),
        format!("{unlisted}"),
        format!("content-type, {unlisted}, {}", setup.allowed_header),
    ] {
        let ex = client.send(preflight("/api/notes", &origin, "POST", Some(&asked))).await?;
        expect_refused_preflight(
            &ex,
            &format!("`{unlisted}` is not an allowed request header (ALLOWED_HEADERS={})", setup.allowed_header),
        )?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// What a browser checks, as assertions with explanations.
// ---------------------------------------------------------------------------

fn preflight(path: &str, origin: &str, method: &str, headers: Option<&str>) -> Request {
    let mut r = Request::new("OPTIONS", path).header("origin", origin).header("access-control-request-method", method);
    if let Some(h) = headers {
        r = r.header("access-control-request-headers", h);
    }
    r
}

fn ensure_status(ex: &Exchange, status: u16) -> CheckResult {
    if ex.response.status != status {
        return Err(ex.fail(format!(
            "{} {} must answer {status} (the route's own answer; CORS only adds headers), got {}",
            ex.request.method, ex.request.path, ex.response.status
        )));
    }
    Ok(())
}

fn expect_allowed_actual(setup: &Setup, ex: &Exchange, origin: &str) -> CheckResult {
    let r = &ex.response;
    match r.header("access-control-allow-origin") {
        Some(v) if v == origin => {}
        Some("*") => {
            return Err(ex.fail(
                "Access-Control-Allow-Origin is `*`: a browser refuses `*` on a credentialed request, and `*` lets every site read the API; send the request's own origin",
            ))
        }
        Some(v) => return Err(ex.fail(format!("Access-Control-Allow-Origin must be the request's origin `{origin}`, got `{v}`"))),
        None => return Err(ex.fail(format!("`{origin}` is in ALLOWED_ORIGINS, so the answer needs Access-Control-Allow-Origin: {origin}"))),
    }
    if r.header("access-control-allow-credentials") != Some("true") {
        return Err(
            ex.fail("the API allows credentials (the session cookie): send Access-Control-Allow-Credentials: true")
        );
    }
    let exposed = list_tokens(r, "access-control-expose-headers", true);
    for name in ["x-request-id", setup.exposed_header.as_str()] {
        if !exposed.iter().any(|e| e == name) {
            return Err(ex.fail(format!(
                "Access-Control-Expose-Headers must name `{name}` (configured: x-request-id and EXPOSED_HEADERS={}), got {exposed:?}",
                setup.exposed_header
            )));
        }
    }
    expect_vary(ex, &["origin"])
}

fn expect_vary(ex: &Exchange, needed: &[&str]) -> CheckResult {
    let vary = list_tokens(&ex.response, "vary", true);
    for name in needed {
        if !vary.iter().any(|v| v == name) {
            return Err(ex.fail(format!(
                "the answer depends on the request's `{name}` header, so `Vary` must name it (got {vary:?}): otherwise a cache can hand one origin's answer to another"
            )));
        }
    }
    Ok(())
}

fn expect_no_cors(ex: &Exchange, why: &str) -> CheckResult {
    let found = access_control(&ex.response);
    if !found.is_empty() {
        let names: Vec<&str> = found.iter().map(|(k, _)| k.as_str()).collect();
        return Err(ex.fail(format!(
            "{why}: the answer must carry no Access-Control-* header, but it has {}",
            names.join(", ")
        )));
    }
    Ok(())
}

fn expect_allowed_preflight(setup: &Setup, ex: &Exchange, origin: &str, method: &str, asked: &[String]) -> CheckResult {
    let r = &ex.response;
    if !(200..300).contains(&r.status) {
        return Err(ex.fail(format!(
            "a preflight from an allowed origin for an allowed method and headers must get 204 (any 2xx), got {}",
            r.status
        )));
    }
    match r.header("access-control-allow-origin") {
        Some(v) if v == origin => {}
        other => {
            return Err(ex.fail(format!("the preflight needs Access-Control-Allow-Origin: {origin}, got {other:?}")))
        }
    }
    if r.header("access-control-allow-credentials") != Some("true") {
        return Err(ex.fail("the preflight needs Access-Control-Allow-Credentials: true, or the browser will not send the credentialed request"));
    }
    let methods = list_tokens(r, "access-control-allow-methods", false);
    if !methods.iter().any(|m| m == method) {
        return Err(ex.fail(format!(
            "Access-Control-Allow-Methods must name {method} (methods are case-sensitive), got {methods:?}"
        )));
    }
    let allowed = list_tokens(r, "access-control-allow-headers", true);
    for name in asked {
        if !allowed.iter().any(|a| a == name) {
            let star = if allowed.iter().any(|a| a == "*") && name == "authorization" {
                " (`*` never covers Authorization: name it)"
            } else {
                ""
            };
            return Err(ex.fail(format!(
                "Access-Control-Allow-Headers must name every header the preflight asked for; `{name}` is missing{star} (got {allowed:?}; ALLOWED_HEADERS={})",
                setup.allowed_header
            )));
        }
    }
    match r.header("access-control-max-age").map(|v| v.trim().parse::<u64>()) {
        Some(Ok(secs)) if secs > 0 => {}
        _ => return Err(ex.fail("the preflight needs Access-Control-Max-Age (seconds), so the browser need not ask again before every request")),
    }
    expect_vary(ex, &["origin", "access-control-request-method", "access-control-request-headers"])
}

fn expect_refused_preflight(ex: &Exchange, why: &str) -> CheckResult {
    if ex.response.status != 403 {
        return Err(ex.fail(format!(
            "{why}: a refused preflight gets 403 Forbidden (the kit's choice), got {}",
            ex.response.status
        )));
    }
    expect_no_cors(ex, why)
}
