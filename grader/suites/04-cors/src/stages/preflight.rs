//! Stage `preflight`: `OPTIONS` with `Origin` and
//! `Access-Control-Request-Method` is answered by the layer, 204 or 403.

use harness::snapshot;
use harness::{CheckResult, Ctx};

use crate::fixtures::{preflight, Setup};
use crate::{cases, expect};

/// The preflight a browser sends before the JSON POST with Authorization.
pub async fn allowed(mut cx: Ctx) -> CheckResult {
    let setup = Setup::random(&mut cx);
    let (_proc, client) = setup.start(&cx).await?;
    let origin = setup.pick_allowed(&mut cx);
    // What Chromium sends: lowercase names, sorted, comma-separated.
    let mut asked = vec!["authorization".to_string(), "content-type".to_string(), setup.allowed_header.clone()];
    asked.sort();
    let ex = client.send(preflight("/api/notes", &origin, "POST", Some(&asked.join(",")))).await?;
    expect::allowed_preflight(&setup, &ex, &origin, "POST", &asked)?;

    // Another client's spelling (any case, spaces) and a GET with no
    // request headers at all.
    let spelled = format!("Authorization, {}", setup.allowed_header.to_ascii_uppercase());
    let other = client.send(preflight("/api/notes", &origin, "POST", Some(&spelled))).await?;
    expect::allowed_preflight(
        &setup,
        &other,
        &origin,
        "POST",
        &["authorization".into(), setup.allowed_header.clone()],
    )?;
    let get = client.send(preflight("/api/me", &origin, "GET", None)).await?;
    expect::allowed_preflight(&setup, &get, &origin, "GET", &[])?;
    snapshot::compare(&cx, "preflight.allowed", &setup.transcript(&ex))
}

pub async fn disallowed_origin(mut cx: Ctx) -> CheckResult {
    let setup = Setup::random(&mut cx);
    let (_proc, client) = setup.start(&cx).await?;
    let mut cases = setup.disallowed_origins(&mut cx);
    cases.push(("the opaque origin `null`", "null".to_string()));
    let mut stranger = None;
    for (what, origin) in cases {
        let ex = client.send(preflight("/api/notes", &origin, "POST", Some("authorization,content-type"))).await?;
        expect::refused_preflight(&ex, &format!("{what} ({origin}) is not allowed"))?;
        if origin == setup.stranger {
            stranger = Some(ex);
        }
    }
    let stranger = stranger.expect("the stranger is among the cases");
    snapshot::compare(&cx, "preflight.disallowed_origin", &setup.transcript(&stranger))
}

pub async fn disallowed_method(mut cx: Ctx) -> CheckResult {
    let setup = Setup::random(&mut cx);
    let (_proc, client) = setup.start(&cx).await?;
    let origin = setup.pick_allowed(&mut cx);
    let mut methods = vec!["DELETE", "PUT", "PATCH"];
    cx.rng().shuffle(&mut methods);
    for method in methods {
        let ex = client.send(preflight("/api/notes", &origin, method, None)).await?;
        expect::refused_preflight(&ex, &format!("the API allows GET and POST, not {method}"))?;
    }
    Ok(())
}

pub async fn disallowed_header(mut cx: Ctx) -> CheckResult {
    let setup = Setup::random(&mut cx);
    let (_proc, client) = setup.start(&cx).await?;
    let origin = setup.pick_allowed(&mut cx);
    let unlisted = format!("x-{}", cx.word(7));
    for asked in [
        format!("authorization,{unlisted}"),
        unlisted.to_string(),
        format!("content-type, {unlisted}, {}", setup.allowed_header),
    ] {
        let ex = client.send(preflight("/api/notes", &origin, "POST", Some(&asked))).await?;
        expect::refused_preflight(
            &ex,
            &format!("`{unlisted}` is not an allowed request header (ALLOWED_HEADERS={})", setup.allowed_header),
        )?;
    }
    Ok(())
}

/// What a student's API answers to random preflights is what the reference
/// answers.
pub async fn matches_reference(mut cx: Ctx) -> CheckResult {
    cases::compare(&mut cx, RULE, 400, cases::preflight).await
}

const RULE: &str = "An OPTIONS with Origin and Access-Control-Request-Method is a preflight, answered by the layer \
before any routing: 204 with Access-Control-Allow-Origin (the origin itself), -Allow-Credentials, -Allow-Methods \
and -Allow-Headers (every configured name), -Max-Age in seconds and Vary: Origin, Access-Control-Request-Method, \
Access-Control-Request-Headers when the origin is listed (byte for byte, never `null`), the method is allowed \
(methods are case-sensitive) and every name in Access-Control-Request-Headers (comma-separated, on one line or \
several, names in any case, empty items ignored) is allowed; otherwise 403 with no Access-Control-* header, \
Vary still. Credentials on a preflight change nothing.";
