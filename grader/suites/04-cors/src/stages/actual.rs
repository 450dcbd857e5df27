//! Stage `actual`: the answers to requests that are not preflights carry
//! CORS headers for exactly the listed origins.

use harness::http::Request;
use harness::snapshot;
use harness::{CheckResult, Ctx, Failure};
use serde_json::json;

use crate::fixtures::Setup;
use crate::{cases, expect};

/// A simple GET and an error answer from allowed origins: each gets its own
/// origin back, credentials, the exposed headers and `Vary: Origin`.
pub async fn allowed_origin(mut cx: Ctx) -> CheckResult {
    let setup = Setup::random(&mut cx);
    let (_proc, client) = setup.start(&cx).await?;
    let mut first = None;
    for origin in &setup.allowed {
        let ex = client.send(Request::get("/api/public").header("origin", origin)).await?;
        expect::status(&ex, 200)?;
        expect::allowed_actual(&setup, &ex, origin)?;
        first.get_or_insert(ex);
    }
    // An error answer must be readable too, or the page cannot tell the user
    // to sign in.
    let origin = setup.pick_allowed(&mut cx);
    let denied = client
        .send(Request::new("POST", "/api/notes").header("origin", &origin).json(&json!({ "text": cx.word(8) })))
        .await?;
    expect::status(&denied, 401)?;
    expect::allowed_actual(&setup, &denied, &origin).map_err(|f| {
        Failure::new(format!("an error answer (401) to an allowed origin needs the CORS headers too: {}", f.message()))
            .with_exchange(&denied)
    })?;
    let first = first.expect("at least one allowed origin");
    snapshot::compare(&cx, "actual.allowed_origin", &setup.transcript(&first))
}

/// A credentialed request (a cookie) gets the exact origin, never `*`, and
/// `Access-Control-Allow-Credentials: true`.
pub async fn credentials(mut cx: Ctx) -> CheckResult {
    let setup = Setup::random(&mut cx);
    let (_proc, client) = setup.start(&cx).await?;
    let origin = setup.pick_allowed(&mut cx);
    let ex = client
        .send(Request::get("/api/me").header("origin", &origin).header("cookie", format!("session={}", setup.user)))
        .await?;
    expect::status(&ex, 200)?;
    if ex.response.json() != Some(json!({ "user": setup.user })) {
        return Err(
            ex.fail(format!("GET /api/me with the cookie session={} must answer {{\"user\": ...}}", setup.user))
        );
    }
    expect::allowed_actual(&setup, &ex, &origin)?;
    snapshot::compare(&cx, "actual.credentials", &setup.transcript(&ex))
}

/// Origins not on the list, including near misses of listed ones, get the
/// answer without any CORS header: the browser then hides it from the page.
pub async fn disallowed_origin(mut cx: Ctx) -> CheckResult {
    let setup = Setup::random(&mut cx);
    let (_proc, client) = setup.start(&cx).await?;
    let mut stranger = None;
    for (what, origin) in setup.disallowed_origins(&mut cx) {
        let ex = client.send(Request::get("/api/public").header("origin", &origin)).await?;
        expect::status(&ex, 200)?;
        expect::no_cors(&ex, &format!("{what} ({origin}) is not allowed"))?;
        expect::vary(&ex, &["origin"])?;
        if origin == setup.stranger {
            stranger = Some(ex);
        }
    }
    let stranger = stranger.expect("the stranger is among the cases");
    snapshot::compare(&cx, "actual.disallowed_origin", &setup.transcript(&stranger))
}

/// `Origin: null` is never allowed by a list, even one that names it.
pub async fn null_origin(mut cx: Ctx) -> CheckResult {
    let setup = Setup::random(&mut cx);
    let (_proc, client) = setup.start(&cx).await?;
    for request in
        [Request::get("/api/public"), Request::get("/api/me").header("cookie", format!("session={}", setup.user))]
    {
        let ex = client.send(request.header("origin", "null")).await?;
        expect::no_cors(
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
pub async fn no_origin(mut cx: Ctx) -> CheckResult {
    let setup = Setup::random(&mut cx);
    let (_proc, client) = setup.start(&cx).await?;
    let public = client.send(Request::get("/api/public")).await?;
    expect::status(&public, 200)?;
    expect::no_cors(&public, "a request without Origin is not a CORS request")?;
    expect::vary(&public, &["origin"])?;
    let text = cx.word(10);
    let created = client
        .send(
            Request::new("POST", "/api/notes")
                .header("authorization", format!("Bearer {}", setup.token))
                .json(&json!({ "text": text })),
        )
        .await?;
    expect::status(&created, 201)?;
    expect::no_cors(&created, "a request without Origin is not a CORS request")?;
    snapshot::compare(&cx, "actual.no_origin", &setup.transcript(&public))
}

/// What a student's API answers to random requests that are not preflights
/// is what the reference answers.
pub async fn matches_reference(mut cx: Ctx) -> CheckResult {
    cases::compare(&mut cx, RULE, 400, cases::actual).await
}

const RULE: &str = "Requests that are not preflights (any method, any route, error answers, ordinary OPTIONS, \
from listed origins, near misses of them, `null`, several Origin headers or none) must get the route's own \
status and body, plus Access-Control-Allow-Origin (the origin itself), Access-Control-Allow-Credentials and \
Access-Control-Expose-Headers only when the Origin is on the list, compared byte for byte (never `null`), and \
Vary: Origin on every answer.";
