//! Stage `errors`: unknown paths and wrong methods get JSON errors.

use harness::differential::Differential;
use harness::http::Request;
use harness::{snapshot, CheckResult, Ctx};

use crate::compare::{probe, HttpCase};
use crate::expect::{error_message, expect_error_body};
use crate::fixtures::{make_site, start, Pair};

pub async fn not_found(mut cx: Ctx) -> CheckResult {
    let site = make_site(&mut cx)?;
    let (_proc, client) = start(&mut cx, &site).await?;
    let word = cx.word(10);
    let path = format!("/no-such-{word}");
    let ex = client.send(Request::get(path.clone())).await?;
    if ex.response.status != 404 {
        return Err(ex.fail(format!("GET {path} must answer 404 Not Found, got {}", ex.response.status)));
    }
    expect_error_body(&ex)?;
    let message = error_message(&ex).unwrap_or_default();
    snapshot::compare(
        &cx,
        "errors.not_found",
        &ex.transcript(&["content-type"], &[(&message, "[message]"), (&word, "[word]")]),
    )
}

/// The methods a browser, curl or a scanner sends, one not in any standard.
const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PURGE"];

/// Every method on files, folders, missing files and the API's paths,
/// against the reference.
pub async fn methods(mut cx: Ctx) -> CheckResult {
    let site = make_site(&mut cx)?;
    let pair = Pair::start(&cx, &site).await?;
    let rng = cx.rng();
    // `POST /style.css` first: the case students meet first.
    let mut cases = vec![HttpCase::new("POST", "/style.css").body(format!("x={}", rng.u16(..)))];
    let file = site.files[rng.usize(..site.files.len())].rel.clone();
    let file = format!("/{}", crate::compare::encode_segment(rng, &file, 0.0).replace("%2F", "/"));
    let word: String = (0..6).map(|_| rng.lowercase()).collect();
    let paths = [
        "/".to_string(),
        "/app.js".to_string(),
        file,
        format!("/{}", site.extra_css),
        format!("/{}", site.folders[0]),
        format!("/no-such-{word}.css"),
        "/health".to_string(),
        "/users".to_string(),
        "/users/1".to_string(),
        format!("/users/{word}"),
    ];
    for path in &paths {
        for method in METHODS {
            // POST /users creates users: its bodies are `json.bodies`' work.
            if *method == "POST" && path == "/users" {
                continue;
            }
            let mut case = HttpCase::new(method, path.clone());
            if ["POST", "PUT", "PATCH"].contains(method) && rng.bool() {
                case = case.header("content-type", "application/json").body(format!("{{\"x\":{}}}", rng.u8(..)));
            }
            cases.push(case);
        }
    }
    Differential::new(
        "Only GET and HEAD read a file: any other method on a file that exists is a 405 with the header \
         `Allow: GET,HEAD` and a JSON error (POST /style.css must not serve the file); on a path with no \
         file it is the JSON 404. On the API's paths a wrong method is a JSON 405",
    )
    .run(cases, |side, case| probe(pair.client(side), case))
    .await
    .map_err(|f| f.with_output(pair.output()))
}
