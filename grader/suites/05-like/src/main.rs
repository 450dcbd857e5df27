//! Hidden suite of 05-like. The student's server runs as its own process on
//! a free port, on a fresh database file, with a seed file of random users,
//! tokens and posts written for the check; it is graded only through what
//! it answers over TCP. The restart check stops it and starts it again on
//! the same file.

mod world;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;

use harness::http::{Client, Exchange, Request};
use harness::process::{Proc, Spawn};
use harness::snapshot;
use harness::{ensure, fail, CheckResult, Ctx, Failure};
use serde_json::{json, Value};

use crate::world::{Person, World};

fn main() -> std::process::ExitCode {
    harness::Suite::new("05-like", env!("CARGO_MANIFEST_DIR"))
        .subject_bin("like")
        .check("read.post", read_post)
        .check("auth.missing_token", auth_missing_token)
        .check("auth.bad_token", auth_bad_token)
        .check("like.first", like_first)
        .check("like.idempotent", like_idempotent)
        .check("like.unlike", like_unlike)
        .check("notify.owner", notify_owner)
        .check("notify.once", notify_once)
        .check("notify.unlike", notify_unlike)
        .check("notify.own_post", notify_own_post)
        .check("errors.bad_id", errors_bad_id)
        .check("errors.unknown_post", errors_unknown_post)
        .check("errors.bad_body", errors_bad_body)
        .check("persist.restart", persist_restart)
        .check("concurrency.many_users", concurrency_many_users)
        .check("concurrency.same_user", concurrency_same_user)
        .check("concurrency.storm", concurrency_storm)
        .main()
}

// ---------------------------------------------------------------- server

/// Start the student's server on a free port, on the world's database file
/// and seed file.
async fn start(cx: &Ctx, world: &World) -> Result<(Proc, Client), Failure> {
    let spec = Spawn::default()
        .env("DATABASE_PATH", world.db_path.to_string_lossy())
        .env("SEED_PATH", world.seed_path.to_string_lossy());
    harness::process::start_http(cx, spec).await
}

// -------------------------------------------------------------- requests

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn like_req(post: i64, who: &Person) -> Request {
    Request::new("POST", format!("/api/posts/{post}/like")).header("authorization", bearer(&who.token))
}

fn unlike_req(post: i64, who: &Person) -> Request {
    Request::new("DELETE", format!("/api/posts/{post}/like")).header("authorization", bearer(&who.token))
}

fn post_req(post: i64, who: &Person) -> Request {
    Request::get(format!("/api/posts/{post}")).header("authorization", bearer(&who.token))
}

fn notes_req(who: &Person) -> Request {
    Request::get("/api/notifications").header("authorization", bearer(&who.token))
}

/// Send, and attach the server's output to a failure to get any answer.
async fn send(client: &Client, proc: &Proc, request: Request) -> Result<Exchange, Failure> {
    client.send(request).await.map_err(|f| f.with_output(proc.output()))
}

// ------------------------------------------------------------ expectations

fn what(ex: &Exchange) -> String {
    format!("{} {}", ex.request.method, ex.request.path)
}

fn expect_json(ex: &Exchange, status: u16) -> Result<Value, Failure> {
    if ex.response.status != status {
        return Err(ex.fail(format!("{} must answer {status}, got {}", what(ex), ex.response.status)));
    }
    if ex.response.media_type().as_deref() != Some("application/json") {
        return Err(ex.fail(format!(
            "{} must send Content-Type: application/json, got {:?}",
            what(ex),
            ex.response.header("content-type").unwrap_or("(none)")
        )));
    }
    ex.response.json().ok_or_else(|| ex.fail(format!("the body of {} is not valid JSON", what(ex))))
}

fn expect_error(ex: &Exchange, status: u16, why: &str) -> CheckResult {
    if ex.response.status != status {
        return Err(ex.fail(format!("{}: {why}, so it must answer {status}, got {}", what(ex), ex.response.status)));
    }
    let body = ex.response.json();
    let is_error = body.as_ref().and_then(|b| b.get("error")).is_some_and(Value::is_string);
    if ex.response.media_type().as_deref() != Some("application/json") || !is_error {
        return Err(ex.fail(format!(
            "{}: an error must be JSON like {{\"error\": \"what went wrong\"}} with Content-Type: application/json",
            what(ex)
        )));
    }
    Ok(())
}

/// `{"liked": bool, "likes": n}` with status 200.
fn like_state(ex: &Exchange) -> Result<(bool, i64), Failure> {
    let body = expect_json(ex, 200)?;
    match (body.get("liked").and_then(Value::as_bool), body.get("likes").and_then(Value::as_i64)) {
        (Some(liked), Some(likes)) => Ok((liked, likes)),
        _ => Err(ex.fail(format!("{} must answer {{\"liked\": true/false, \"likes\": N}}, got {body}", what(ex)))),
    }
}

async fn like(client: &Client, proc: &Proc, post: i64, who: &Person) -> Result<(Exchange, i64), Failure> {
    let ex = send(client, proc, like_req(post, who)).await?;
    let (liked, likes) = like_state(&ex)?;
    if !liked {
        return Err(ex.fail(
            "after POST (like) the answer must say \"liked\": true, got false. POST sets the like, \
             it never flips it: a client that retries must not undo its own like",
        ));
    }
    Ok((ex, likes))
}

async fn unlike(client: &Client, proc: &Proc, post: i64, who: &Person) -> Result<(Exchange, i64), Failure> {
    let ex = send(client, proc, unlike_req(post, who)).await?;
    let (liked, likes) = like_state(&ex)?;
    if liked {
        return Err(ex.fail("after DELETE (unlike) the answer must say \"liked\": false"));
    }
    Ok((ex, likes))
}

/// The post as `who` sees it: (likes, liked).
async fn view(client: &Client, proc: &Proc, post: i64, who: &Person) -> Result<(Exchange, i64, bool), Failure> {
    let ex = send(client, proc, post_req(post, who)).await?;
    let body = expect_json(&ex, 200)?;
    match (body.get("likes").and_then(Value::as_i64), body.get("liked").and_then(Value::as_bool)) {
        (Some(likes), Some(liked)) => Ok((ex, likes, liked)),
        _ => Err(ex.fail(format!(
            "GET /api/posts/{post} must answer the post with \"likes\" (a number) and \"liked\" (true/false), got {body}"
        ))),
    }
}

async fn expect_view(
    client: &Client,
    proc: &Proc,
    post: i64,
    who: &Person,
    likes: i64,
    liked: bool,
    context: &str,
) -> CheckResult {
    let (ex, got_likes, got_liked) = view(client, proc, post, who).await?;
    if got_likes != likes || got_liked != liked {
        return Err(ex.fail(format!(
            "{context}, GET /api/posts/{post} as {} must show \"likes\": {likes}, \"liked\": {liked}; got \"likes\": {got_likes}, \"liked\": {got_liked}",
            who.name
        )));
    }
    Ok(())
}

/// `who`'s notifications.
async fn notes(client: &Client, proc: &Proc, who: &Person) -> Result<(Exchange, Vec<Value>), Failure> {
    let ex = send(client, proc, notes_req(who)).await?;
    let body = expect_json(&ex, 200)?;
    match body.get("notifications").and_then(Value::as_array) {
        Some(list) => Ok((ex.clone(), list.clone())),
        None => Err(ex.fail(format!("GET /api/notifications must answer {{\"notifications\": [...]}}, got {body}"))),
    }
}

async fn expect_notes(
    client: &Client,
    proc: &Proc,
    who: &Person,
    count: usize,
    context: &str,
) -> Result<Vec<Value>, Failure> {
    let (ex, list) = notes(client, proc, who).await?;
    if list.len() != count {
        return Err(ex.fail(format!("{context}, {} must have {count} notification(s), got {}", who.name, list.len())));
    }
    Ok(list)
}

/// Whether a notification is "`from` liked `post`".
fn is_like_from(note: &Value, post: i64, from: &Person) -> bool {
    note.get("type").and_then(Value::as_str) == Some("like")
        && note.get("post_id").and_then(Value::as_i64) == Some(post)
        && note.pointer("/from/id").and_then(Value::as_i64) == Some(from.id)
        && note.pointer("/from/name").and_then(Value::as_str) == Some(from.name.as_str())
}

// -------------------------------------------------------------- snapshots

/// The exchange with its JSON body rewritten by `f` (to replace values that
/// legitimately differ between correct servers, such as error wording).
fn rewrite(ex: &Exchange, f: impl FnOnce(&mut Value)) -> Exchange {
    let mut ex = ex.clone();
    if let Some(mut body) = ex.response.json() {
        f(&mut body);
        ex.response.body = body.to_string().into_bytes();
    }
    ex
}

fn without_message(body: &mut Value) {
    if let Some(m) = body.get_mut("error") {
        *m = json!("[message]");
    }
}

fn compare(cx: &Ctx, name: &str, world: &World, ex: &Exchange) -> CheckResult {
    let redactions = world.redactions();
    let pairs: Vec<(&str, &str)> = redactions.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    snapshot::compare(cx, name, &ex.transcript(&["content-type"], &pairs))
}

// ----------------------------------------------------------------- checks

async fn read_post(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 3, 2)?;
    let (proc, client) = start(&cx, &world).await?;
    let post = &world.posts[1];
    let owner = &world.users[post.owner];
    let reader = &world.users[2];
    let ex = send(&client, &proc, post_req(post.id, reader)).await?;
    let body = expect_json(&ex, 200)?;
    let expected = json!({
        "id": post.id,
        "owner": {"id": owner.id, "name": owner.name},
        "text": post.text,
        "likes": 0,
        "liked": false,
    });
    if body != expected {
        return Err(ex.fail(format!(
            "GET /api/posts/{} must answer the post from the seed file with no likes yet: {expected}",
            post.id
        )));
    }
    compare(&cx, "read.post", &world, &ex)
}

async fn auth_missing_token(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 2, 1)?;
    let (proc, client) = start(&cx, &world).await?;
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

fn expect_unauthorized(ex: &Exchange, why: &str) -> CheckResult {
    expect_error(ex, 401, &format!("the request has {why}"))?;
    let challenge = ex.response.header("www-authenticate").unwrap_or("");
    if !challenge.trim_start().to_ascii_lowercase().starts_with("bearer") {
        return Err(ex.fail(format!(
            "{}: a 401 must say which credentials to send with the header `WWW-Authenticate: Bearer`, got {:?}",
            what(ex),
            ex.response.header("www-authenticate").unwrap_or("(none)")
        )));
    }
    Ok(())
}

async fn auth_bad_token(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 3, 1)?;
    let (proc, client) = start(&cx, &world).await?;
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
    Ok(())
}

async fn like_first(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 3, 1)?;
    let (proc, client) = start(&cx, &world).await?;
    let post = world.posts[0].id;
    let (liker, other) = (&world.users[1], &world.users[2]);
    let ex = send(&client, &proc, like_req(post, liker)).await?;
    let body = expect_json(&ex, 200)?;
    if body != json!({"liked": true, "likes": 1}) {
        return Err(
            ex.fail(format!("the first like of post {post} must answer {{\"liked\": true, \"likes\": 1}}, got {body}"))
        );
    }
    expect_view(&client, &proc, post, liker, 1, true, "after one like").await?;
    expect_view(&client, &proc, post, other, 1, false, "after someone else's like").await?;
    compare(&cx, "like.first", &world, &ex)
}

async fn like_idempotent(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 3, 1)?;
    let (proc, client) = start(&cx, &world).await?;
    let post = world.posts[0].id;
    let (a, b) = (&world.users[1], &world.users[2]);
    let (_, first) = like(&client, &proc, post, a).await?;
    ensure!(first == 1, "the first like must answer \"likes\": 1, got {first}");
    let (ex, again) = like(&client, &proc, post, a).await?;
    if again != 1 {
        return Err(ex.fail(format!(
            "liking a post twice must leave ONE like (the request is a retry, not a second like): \"likes\" must stay 1, got {again}"
        )));
    }
    let (ex, second) = like(&client, &proc, post, b).await?;
    if second != 2 {
        return Err(ex.fail(format!("a like by a second user must make \"likes\": 2, got {second}")));
    }
    let (ex, third) = like(&client, &proc, post, a).await?;
    if third != 2 {
        return Err(ex.fail(format!("a third like by the first user must leave \"likes\": 2, got {third}")));
    }
    expect_view(&client, &proc, post, a, 2, true, "after two users liked (one of them three times)").await
}

async fn like_unlike(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 4, 2)?;
    let (proc, client) = start(&cx, &world).await?;
    let (post, untouched) = (world.posts[0].id, world.posts[1].id);
    let (a, b, c) = (&world.users[1], &world.users[2], &world.users[3]);
    like(&client, &proc, post, a).await?;
    like(&client, &proc, post, b).await?;
    let (ex, n) = unlike(&client, &proc, post, a).await?;
    if n != 1 {
        return Err(ex.fail(format!("after two likes and one unlike, \"likes\" must be 1, got {n}")));
    }
    let (ex, n) = unlike(&client, &proc, post, a).await?;
    if n != 1 {
        return Err(
            ex.fail(format!("unliking twice must be the same as unliking once: \"likes\" must stay 1, got {n}"))
        );
    }
    let (ex, n) = unlike(&client, &proc, post, c).await?;
    if n != 1 {
        return Err(
            ex.fail(format!("unliking a post you never liked must change nothing: \"likes\" must stay 1, got {n}"))
        );
    }
    expect_view(&client, &proc, post, a, 1, false, "after a like and an unlike").await?;
    expect_view(&client, &proc, post, b, 1, true, "after someone else's unlike").await?;
    let (ex, n) = unlike(&client, &proc, untouched, c).await?;
    if n != 0 {
        return Err(ex.fail(format!("unliking a post nobody likes must leave \"likes\": 0 (never below), got {n}")));
    }
    let (_, n) = like(&client, &proc, post, a).await?;
    ensure!(n == 2, "liking again after an unlike must count again: \"likes\" must be 2, got {n}");
    Ok(())
}

async fn notify_owner(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 3, 1)?;
    let (proc, client) = start(&cx, &world).await?;
    let post = world.posts[0].id;
    let (owner, liker, other) = (&world.users[0], &world.users[1], &world.users[2]);
    like(&client, &proc, post, liker).await?;
    let (ex, list) = notes(&client, &proc, owner).await?;
    if list.len() != 1 || !is_like_from(&list[0], post, liker) {
        return Err(ex.fail(format!(
            "after {} liked post {post}, its owner {} must have one notification like \
             {{\"type\": \"like\", \"post_id\": {post}, \"from\": {{\"id\": {}, \"name\": \"{}\"}}}}",
            liker.name, owner.name, liker.id, liker.name
        )));
    }
    expect_notes(&client, &proc, liker, 0, "the one who liked is not notified: after the like").await?;
    expect_notes(&client, &proc, other, 0, "someone not involved is not notified: after the like").await?;
    // Notification ids are the server's own business.
    let ex = rewrite(&ex, |body| {
        if let Some(list) = body.get_mut("notifications").and_then(Value::as_array_mut) {
            for note in list {
                if let Some(id) = note.get_mut("id") {
                    *id = json!("[notification-id]");
                }
            }
        }
    });
    compare(&cx, "notify.owner", &world, &ex)
}

async fn notify_once(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 3, 1)?;
    let (proc, client) = start(&cx, &world).await?;
    let post = world.posts[0].id;
    let (owner, a, b) = (&world.users[0], &world.users[1], &world.users[2]);
    for _ in 0..3 {
        like(&client, &proc, post, a).await?;
    }
    expect_notes(&client, &proc, owner, 1, "a like sent three times is one like").await?;
    unlike(&client, &proc, post, a).await?;
    like(&client, &proc, post, a).await?;
    expect_notes(&client, &proc, owner, 2, "like, unlike, like again: two real likes").await?;
    like(&client, &proc, post, b).await?;
    let list = expect_notes(&client, &proc, owner, 3, "after a like by a second user").await?;
    let order_ok =
        is_like_from(&list[0], post, b) && is_like_from(&list[1], post, a) && is_like_from(&list[2], post, a);
    ensure!(
        order_ok,
        "notifications come newest first, each {{\"type\": \"like\", \"post_id\": ..., \"from\": {{\"id\": ..., \"name\": ...}}}}: \
         expected the like by {} first, then two by {}; got {}",
        b.name,
        a.name,
        Value::Array(list.clone())
    );
    Ok(())
}

async fn notify_unlike(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 3, 1)?;
    let (proc, client) = start(&cx, &world).await?;
    let post = world.posts[0].id;
    let (owner, a, b) = (&world.users[0], &world.users[1], &world.users[2]);
    like(&client, &proc, post, a).await?;
    unlike(&client, &proc, post, a).await?;
    unlike(&client, &proc, post, a).await?;
    unlike(&client, &proc, post, b).await?;
    let list =
        expect_notes(&client, &proc, owner, 1, "after one like and three unlikes (an unlike notifies nobody)").await?;
    ensure!(is_like_from(&list[0], post, a), "the one notification must be the like by {}, got {}", a.name, list[0]);
    expect_notes(&client, &proc, a, 0, "after liking and unliking someone's post").await?;
    Ok(())
}

async fn notify_own_post(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 2, 1)?;
    let (proc, client) = start(&cx, &world).await?;
    let post = world.posts[0].id;
    let (owner, other) = (&world.users[0], &world.users[1]);
    let (ex, n) = like(&client, &proc, post, owner).await?;
    if n != 1 {
        return Err(ex.fail(format!("liking your own post is a like like any other: \"likes\" must be 1, got {n}")));
    }
    expect_notes(
        &client,
        &proc,
        owner,
        0,
        "nobody needs to hear that they liked their own post: after the owner's like",
    )
    .await?;
    like(&client, &proc, post, other).await?;
    expect_notes(&client, &proc, owner, 1, "after the owner's own like and one by someone else").await?;
    Ok(())
}

async fn errors_bad_id(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 2, 1)?;
    let (proc, client) = start(&cx, &world).await?;
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

async fn errors_unknown_post(mut cx: Ctx) -> CheckResult {
    let mut world = World::new(&mut cx, 2, 2)?;
    let missing = world.unused_id(&mut cx);
    let (proc, client) = start(&cx, &world).await?;
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

async fn errors_bad_body(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 3, 1)?;
    let (proc, client) = start(&cx, &world).await?;
    let post = world.posts[0].id;
    let (owner, who) = (&world.users[0], &world.users[1]);
    let bodies = [
        ("invalid JSON", format!("{{\"{}\": ", cx.word(5))),
        ("a JSON array", "[1, 2]".to_string()),
        ("a JSON string", format!("\"{}\"", cx.word(4))),
    ];
    for method in ["POST", "DELETE"] {
        for (what, body) in &bodies {
            let request = Request::new(method, format!("/api/posts/{post}/like"))
                .header("authorization", bearer(&who.token))
                .header("content-type", "application/json")
                .body(body.clone());
            let ex = send(&client, &proc, request).await?;
            expect_error(&ex, 400, &format!("the body is {what}, not a JSON object"))?;
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

async fn persist_restart(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 4, 2)?;
    let (p1, p2) = (world.posts[0].id, world.posts[1].id);
    let (owner, a, b, c) = (&world.users[0], &world.users[1], &world.users[2], &world.users[3]);
    // Posts 0 and 1 are owned by users 0 and 1.
    {
        let (proc, client) = start(&cx, &world).await?;
        like(&client, &proc, p1, a).await?;
        like(&client, &proc, p1, b).await?;
        like(&client, &proc, p2, b).await?;
        like(&client, &proc, p2, c).await?;
        unlike(&client, &proc, p2, c).await?;
        // Dropping the process kills it (SIGKILL): only what was committed survives.
    }
    let (proc, client) = match start(&cx, &world).await {
        Ok(started) => started,
        Err(f) => {
            return Err(Failure::new(format!(
                "started again on the same DATABASE_PATH (and SEED_PATH), the server failed: {}. \
                 The schema and the seed data are created only when the database is new",
                f.message()
            )))
        }
    };
    let context = "after a restart on the same database file (likes are stored in the database, not in memory)";
    expect_view(&client, &proc, p1, a, 2, true, context).await?;
    expect_view(&client, &proc, p2, c, 1, false, context).await?;
    expect_view(&client, &proc, p2, b, 1, true, context).await?;
    expect_notes(&client, &proc, owner, 2, context).await?;
    expect_notes(&client, &proc, a, 2, context).await?;
    let (ex, n) = like(&client, &proc, p1, a).await?;
    if n != 2 {
        return Err(
            ex.fail(format!("a like repeated after the restart must still count once: \"likes\" must stay 2, got {n}"))
        );
    }
    expect_notes(&client, &proc, owner, 2, "after a repeated like, after the restart").await?;
    Ok(())
}

// ------------------------------------------------------------ concurrency

/// Run every job, at most `limit` at a time, and return their results in
/// order.
async fn bounded<T, F>(limit: usize, jobs: Vec<F>) -> Vec<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let gate = Arc::new(tokio::sync::Semaphore::new(limit));
    let handles: Vec<_> = jobs
        .into_iter()
        .map(|job| {
            let gate = gate.clone();
            tokio::spawn(async move {
                let _permit = gate.acquire_owned().await.expect("the semaphore is never closed");
                job.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.expect("a request task panicked"));
    }
    out
}

/// A like or unlike sent by a task: the answer's (liked, likes), or why not.
async fn set_like(client: Client, post: i64, who: Person, on: bool) -> Result<(bool, i64), Failure> {
    let request = if on { like_req(post, &who) } else { unlike_req(post, &who) };
    let ex = client.send(request).await?;
    like_state(&ex)
}

const MANY_USERS: usize = 200;
const IN_FLIGHT: usize = 32;

async fn concurrency_many_users(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, MANY_USERS + 1, 1)?;
    let (proc, client) = start(&cx, &world).await?;
    let post = world.posts[0].id;
    let owner = &world.users[0];
    let likers = &world.users[1..];
    let jobs: Vec<_> = likers.iter().map(|who| set_like(client.clone(), post, who.clone(), true)).collect();
    let answers = bounded(IN_FLIGHT, jobs).await;
    let mut counts = Vec::new();
    for answer in answers {
        let (liked, likes) = answer.map_err(|f| f.with_output(proc.output()))?;
        ensure!(liked, "every like must answer \"liked\": true");
        counts.push(likes);
    }
    let (ex, likes, _) = view(&client, &proc, post, owner).await?;
    if likes != MANY_USERS as i64 {
        return Err(ex.fail(format!(
            "{MANY_USERS} different users liked post {post}, {IN_FLIGHT} at a time, and every like was answered 200, \
             but the post shows \"likes\": {likes}. Likes were lost: two requests read the same count and both wrote \
             it plus one. Change the count relative to the row (like_count = like_count + 1) in the same transaction as the insert"
        )));
    }
    let list = expect_notes(
        &client,
        &proc,
        owner,
        MANY_USERS,
        &format!("after {MANY_USERS} different users liked the post at once"),
    )
    .await?;
    let from: BTreeSet<i64> = list.iter().filter_map(|n| n.pointer("/from/id").and_then(Value::as_i64)).collect();
    ensure!(
        from.len() == MANY_USERS,
        "the {MANY_USERS} notifications must come from the {MANY_USERS} different users who liked; they name {} different users",
        from.len()
    );
    counts.sort_unstable();
    let expected: Vec<i64> = (1..=MANY_USERS as i64).collect();
    if counts != expected {
        let mut seen = BTreeMap::new();
        for c in &counts {
            *seen.entry(*c).or_insert(0) += 1;
        }
        let repeated: Vec<String> =
            seen.iter().filter(|(_, n)| **n > 1).take(5).map(|(c, n)| format!("{c} ({n} times)")).collect();
        fail!(
            "each new like's answer must carry the count right after THAT like, so the {MANY_USERS} answers hold every \
             count from 1 to {MANY_USERS} once; repeated: {}. Read the count inside the transaction that inserted the like",
            if repeated.is_empty() { "none, but some are missing".to_string() } else { repeated.join(", ") }
        );
    }
    Ok(())
}

const SAME_USER: usize = 20;

async fn concurrency_same_user(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 2, 1)?;
    let (proc, client) = start(&cx, &world).await?;
    let post = world.posts[0].id;
    let (owner, who) = (&world.users[0], &world.users[1]);
    let jobs: Vec<_> = (0..SAME_USER).map(|_| set_like(client.clone(), post, who.clone(), true)).collect();
    for answer in bounded(SAME_USER, jobs).await {
        let (liked, likes) = answer.map_err(|f| f.with_output(proc.output()))?;
        ensure!(
            liked && likes == 1,
            "{SAME_USER} likes of one post by one user at once are one like: every answer must be \
             {{\"liked\": true, \"likes\": 1}}, one was {{\"liked\": {liked}, \"likes\": {likes}}}"
        );
    }
    let (ex, likes, liked) = view(&client, &proc, post, who).await?;
    if likes != 1 || !liked {
        return Err(ex.fail(format!(
            "one user sent {SAME_USER} likes of post {post} at once; that is one like, but the post shows \"likes\": {likes}. \
             Checking \"do I like it already?\" and then inserting lets two requests both see \"no\": let a unique key \
             on (post, user) decide, with INSERT ... ON CONFLICT DO NOTHING"
        )));
    }
    expect_notes(&client, &proc, owner, 1, &format!("after one user sent {SAME_USER} likes at once")).await?;
    let jobs: Vec<_> = (0..SAME_USER).map(|_| set_like(client.clone(), post, who.clone(), false)).collect();
    for answer in bounded(SAME_USER, jobs).await {
        let (liked, likes) = answer.map_err(|f| f.with_output(proc.output()))?;
        ensure!(
            !liked && likes == 0,
            "{SAME_USER} unlikes at once by the only liker must each answer {{\"liked\": false, \"likes\": 0}}, \
             one was {{\"liked\": {liked}, \"likes\": {likes}}}"
        );
    }
    expect_view(&client, &proc, post, who, 0, false, &format!("after {SAME_USER} unlikes at once")).await?;
    expect_notes(&client, &proc, owner, 1, "after the unlikes").await?;
    Ok(())
}

const STORM_USERS: usize = 40;
const STORM_STEPS: usize = 8;

async fn concurrency_storm(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, STORM_USERS + 1, 1)?;
    let (proc, client) = start(&cx, &world).await?;
    let post = world.posts[0].id;
    let owner = &world.users[0];
    // Each user sends a random sequence of likes and unlikes, one after the
    // other; all users at once. The end state is known exactly: who likes
    // it (the last step of each), and how many real unliked-to-liked
    // transitions there were (one notification each).
    let mut plans = Vec::new();
    let mut final_likes = 0;
    let mut transitions = 0;
    for who in &world.users[1..] {
        let steps: Vec<bool> = (0..STORM_STEPS).map(|_| cx.rng().bool()).collect();
        let mut liked = false;
        for &on in &steps {
            if on && !liked {
                transitions += 1;
            }
            liked = on;
        }
        final_likes += usize::from(liked);
        plans.push((who.clone(), steps));
    }
    let jobs: Vec<_> = plans
        .iter()
        .cloned()
        .map(|(who, steps)| {
            let client = client.clone();
            async move {
                for on in steps {
                    let (liked, likes) = set_like(client.clone(), post, who.clone(), on).await?;
                    if liked != on || !(0..=STORM_USERS as i64).contains(&likes) {
                        return Err(Failure::new(format!(
                            "during the storm, a {} by {} was answered {{\"liked\": {liked}, \"likes\": {likes}}}",
                            if on { "like" } else { "unlike" },
                            who.name
                        )));
                    }
                }
                Ok(())
            }
        })
        .collect();
    for done in bounded(STORM_USERS, jobs).await {
        done.map_err(|f| f.with_output(proc.output()))?;
    }
    let (ex, likes, _) = view(&client, &proc, post, owner).await?;
    let mut rows = 0;
    for (who, _) in &plans {
        let (_, _, liked) = view(&client, &proc, post, who).await?;
        rows += usize::from(liked);
    }
    if likes != final_likes as i64 || rows != final_likes {
        return Err(ex.fail(format!(
            "after a storm of {} likes and unlikes by {STORM_USERS} users, {final_likes} of them like the post. \
             The post shows \"likes\": {likes} and {rows} users see \"liked\": true. The count must always equal \
             the likes stored: change both in one transaction, relative to what the row holds",
            STORM_USERS * STORM_STEPS
        )));
    }
    expect_notes(
        &client,
        &proc,
        owner,
        transitions,
        &format!("after the storm, with {transitions} real unliked-to-liked changes (one notification each)"),
    )
    .await?;
    Ok(())
}
