//! Stage errors: 400 for malformed ids and bodies, 404 for unknown posts, in that order.

use harness::http::Request;
use harness::snapshot;
use harness::{CheckResult, Ctx};
use serde_json::json;

use crate::api::{
    bearer, expect_error, expect_notes, expect_view, like_req, like_state, post_req, rewrite, send, unlike_req,
    without_message,
};
use crate::cases;
use crate::world::World;

pub async fn bad_id(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 2, 1)?;
    let (proc, client) = world.start(&cx).await?;
    let who = &world.users[1];
    let real = world.posts[0].id;
    let ids = [
        cx.word(5),
        "-1".to_string(),
        format!("{real}.5"),
        format!("+{real}"),
        format!("{real}{}", cx.word(2)),
        "0x1f".to_string(),
        "99999999999999999999999".to_string(),
        "9223372036854775808".to_string(),
        "%20".to_string(),
        "0".to_string(),
        "00".to_string(),
    ];
    let mut first = None;
    for id in &ids {
        for request in [
            Request::new("POST", format!("/api/posts/{id}/like")),
            Request::new("DELETE", format!("/api/posts/{id}/like")),
            Request::get(format!("/api/posts/{id}")),
        ] {
            let request = request.header("authorization", bearer(&who.token));
            let ex = send(&client, &proc, request).await?;
            expect_error(&ex, 400, &format!("{id:?} is not a post id (a positive whole number)"))?;
            first.get_or_insert(ex);
        }
    }
    expect_view(&client, &proc, real, who, 0, false, "after the requests with malformed ids").await?;
    let first = rewrite(&first.expect("cases ran"), without_message);
    let word = &ids[0];
    let redactions = world.redactions();
    let mut pairs: Vec<(&str, &str)> = redactions.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    pairs.push((word, "[word]"));
    snapshot::compare(&cx, "errors.bad_id", &first.transcript(&["content-type"], &pairs))
}

pub async fn unknown_post(mut cx: Ctx) -> CheckResult {
    let mut world = World::new(&mut cx, 2, 2)?;
    let missing = world.unused_id(&mut cx);
    let (proc, client) = world.start(&cx).await?;
    let (owner, who) = (&world.users[0], &world.users[1]);
    let mut first = None;
    for request in [like_req(missing, who), unlike_req(missing, who), post_req(missing, who)] {
        let ex = send(&client, &proc, request).await?;
        expect_error(&ex, 404, &format!("there is no post {missing}"))?;
        first.get_or_insert(ex);
    }
    let ex = send(&client, &proc, post_req(i64::MAX, who)).await?;
    expect_error(&ex, 404, "there is no post with that (large but valid) id")?;
    expect_notes(&client, &proc, owner, 0, "after likes of posts that do not exist").await?;
    expect_notes(&client, &proc, who, 0, "after likes of posts that do not exist").await?;
    let first = rewrite(&first.expect("cases ran"), without_message);
    let redactions = world.redactions();
    let missing_text = missing.to_string();
    let mut pairs: Vec<(&str, &str)> = redactions.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    pairs.push((&missing_text, "[missing-id]"));
    snapshot::compare(&cx, "errors.unknown_post", &first.transcript(&["content-type"], &pairs))
}

pub async fn bad_body(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 3, 1)?;
    let (proc, client) = world.start(&cx).await?;
    let post = world.posts[0].id;
    let (owner, who) = (&world.users[0], &world.users[1]);
    let bodies = [
        ("invalid JSON", format!("{{\"{}\": ", cx.word(5))),
        ("a JSON array", "[1, 2]".to_string()),
        ("a JSON string", format!("\"{}\"", cx.word(4))),
    ];
    // Whatever the label says: a body that is there is a JSON object.
    for (method, label) in [("POST", "application/json"), ("DELETE", "application/json"), ("POST", "text/plain")] {
        for (what, body) in &bodies {
            let request = Request::new(method, format!("/api/posts/{post}/like"))
                .header("authorization", bearer(&who.token))
                .header("content-type", label)
                .body(body.clone());
            let ex = send(&client, &proc, request).await?;
            expect_error(&ex, 400, &format!("the body is {what}, not a JSON object (sent as {label})"))?;
        }
    }
    expect_view(&client, &proc, post, who, 0, false, "after likes with malformed bodies").await?;
    expect_notes(&client, &proc, owner, 0, "after likes with malformed bodies").await?;
    // An empty JSON object is a fine body: some clients always send one.
    let request = like_req(post, who).json(&json!({}));
    let ex = send(&client, &proc, request).await?;
    let (liked, likes) = like_state(&ex)?;
    if !liked || likes != 1 {
        return Err(ex.fail("a like with the body {} (a JSON object) must work like one without a body"));
    }
    Ok(())
}

const ERRORS_RULE: &str = "Errors are checked in this order: no valid token is a 401; then an id that is not a \
    positive whole number, or a body that is not empty and not a JSON object (whatever its Content-Type says), \
    is a 400; then an id no post has is a 404. Each is JSON like {\"error\": \"...\"}, never a 500, and a refused \
    request changes nothing.";

/// Random sequences of malformed ids, unknown posts and bad bodies (with
/// and without a JSON content type) among ordinary calls, compared with the
/// reference.
pub async fn random(mut cx: Ctx) -> CheckResult {
    let cases = cases::sequences(&mut cx, 3, |g| {
        (0..14 + g.cx.rng().usize(..8))
            .map(|_| match g.cx.rng().u32(..100) {
                0..=69 => g.odd(),
                _ => g.legit_any(45, 20, 20),
            })
            .collect()
    });
    cases::compare(&cx, ERRORS_RULE, cases).await
}
