//! What a browser checks, as assertions with explanations: shared by the
//! `actual` and `preflight` stages.

use harness::http::Exchange;
use harness::CheckResult;

use crate::fixtures::{access_control, list_tokens, Setup};

pub fn status(ex: &Exchange, status: u16) -> CheckResult {
    if ex.response.status != status {
        return Err(ex.fail(format!(
            "{} {} must answer {status} (the route's own answer; CORS only adds headers), got {}",
            ex.request.method, ex.request.path, ex.response.status
        )));
    }
    Ok(())
}

pub fn allowed_actual(setup: &Setup, ex: &Exchange, origin: &str) -> CheckResult {
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
    vary(ex, &["origin"])
}

pub fn vary(ex: &Exchange, needed: &[&str]) -> CheckResult {
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

pub fn no_cors(ex: &Exchange, why: &str) -> CheckResult {
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

pub fn allowed_preflight(setup: &Setup, ex: &Exchange, origin: &str, method: &str, asked: &[String]) -> CheckResult {
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
    vary(ex, &["origin", "access-control-request-method", "access-control-request-headers"])
}

pub fn refused_preflight(ex: &Exchange, why: &str) -> CheckResult {
    if ex.response.status != 403 {
        return Err(ex.fail(format!(
            "{why}: a refused preflight gets 403 Forbidden (the kit's choice), got {}",
            ex.response.status
        )));
    }
    no_cors(ex, why)
}
