//! Stage auth: the bearer token, and nothing else, says who is asking.

use harness::http::Request;
use harness::{CheckResult, Ctx};

use crate::api::{
    compare, expect_notes, expect_unauthorized, expect_view, like_req, like_state, notes_req, post_req, rewrite, send,
    unlike_req, without_message,
};
use crate::cases;
use crate::world::{Person, World};

pub async fn missing_token(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 2, 1)?;
    let (proc, client) = world.start(&cx).await?;
    let post = world.posts[0].id;
    let basic = Request::new("POST", format!("/api/posts/{post}/like"))
        .header("authorization", format!("Basic {}", cx.word(12)));
    let empty = Request::new("POST", format!("/api/posts/{post}/like")).header("authorization", "Bearer ");
    let cases = [
        ("no Authorization header", Request::new("POST", format!("/api/posts/{post}/like"))),
        ("no Authorization header", Request::new("DELETE", format!("/api/posts/{post}/like"))),
        ("no Authorization header", Request::get(format!("/api/posts/{post}"))),
        ("no Authorization header", Request::get("/api/notifications")),
        ("a Basic, not a Bearer, Authorization", basic),
        ("an empty bearer token", empty),
    ];
    let mut first = None;
    for (why, request) in cases {
        let ex = send(&client, &proc, request).await?;
        expect_unauthorized(&ex, why)?;
        first.get_or_insert(ex);
    }
    expect_view(&client, &proc, post, &world.users[1], 0, false, "after likes without a valid token").await?;
    let first = rewrite(&first.expect("cases ran"), without_message);
    compare(&cx, "auth.missing_token", &world, &first)
}

pub async fn bad_token(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 3, 1)?;
    let (proc, client) = world.start(&cx).await?;
    let post = world.posts[0].id;
    let owner = &world.users[0];
    let real = &world.users[1];
    // Nobody's token, and a real one with its last letter changed.
    let mut near = real.token.clone();
    let last = near.pop().unwrap_or('a');
    near.push(if last == 'z' { 'a' } else { 'z' });
    let stranger = Person { id: 0, name: "a stranger".into(), token: cx.word(24) };
    let forger = Person { id: 0, name: "a forger".into(), token: near };
    for who in [&stranger, &forger] {
        for request in [like_req(post, who), unlike_req(post, who), post_req(post, who), notes_req(who)] {
            let ex = send(&client, &proc, request).await?;
            expect_unauthorized(&ex, "a bearer token that belongs to no user")?;
        }
    }
    expect_view(&client, &proc, post, real, 0, false, "after likes with tokens that belong to nobody").await?;
    expect_notes(&client, &proc, owner, 0, "after likes with tokens that belong to nobody").await?;
    // The scheme is case-insensitive (RFC 7235): `bearer` is fine.
    let lower = Request::new("POST", format!("/api/posts/{post}/like"))
        .header("authorization", format!("bearer {}", real.token));
    let ex = send(&client, &proc, lower).await?;
    let (liked, likes) = like_state(&ex)?;
    if !liked || likes != 1 {
        return Err(ex.fail("the auth scheme is case-insensitive: `bearer TOKEN` must work like `Bearer TOKEN`"));
    }
    // The token says who likes, never the body: a claim of another user's
    // id in it is just an unknown field.
    let third = &world.users[2];
    let claim = like_req(post, third).json(&serde_json::json!({ "user_id": real.id }));
    let ex = send(&client, &proc, claim).await?;
    let (liked, likes) = like_state(&ex)?;
    if !liked || likes != 2 {
        return Err(ex.fail(format!(
            "a like whose body says {{\"user_id\": {}}} comes from the token's user ({}): it must count as theirs (liked, 2 likes), got liked {liked}, {likes} like(s)",
            real.id, third.name
        )));
    }
    expect_view(&client, &proc, post, third, 2, true, "after their like whose body named another user").await
}

const AUTH_RULE: &str =
    "Only `Authorization: Bearer <token>` with a token that is, byte for byte and in the same case, \
    a user's token says who is asking (the scheme's case does not matter, nor extra spaces before the token). \
    Anything else is a 401 with `WWW-Authenticate: Bearer` (plus `error=\"invalid_token\"` for a token nobody has), \
    answered before the id or the body is looked at, and it changes nothing. Find the user with \
    `WHERE token = ?1` and the token as a parameter: never LIKE (`%` and `_` are patterns there), never a \
    case-insensitive comparison, never SQL pasted together with format!.";

/// Random sequences of forged, malformed and valid `Authorization` headers
/// on every route, compared with the reference.
pub async fn random(mut cx: Ctx) -> CheckResult {
    let cases = cases::sequences(&mut cx, 3, |g| {
        (0..14 + g.cx.rng().usize(..8))
            .map(|_| match g.cx.rng().u32(..100) {
                0..=59 => g.forged(),
                60..=84 => g.accepted(),
                _ => g.legit_any(40, 20, 20),
            })
            .collect()
    });
    cases::compare(&cx, AUTH_RULE, cases).await
}
