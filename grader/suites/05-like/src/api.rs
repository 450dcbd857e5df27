//! The API as the checks speak it: requests as a user sends them, and the
//! expectations every stage shares (status, JSON, errors, the 401 challenge).

use harness::http::{Client, Exchange, Request};
use harness::process::Proc;
use harness::snapshot;
use harness::{CheckResult, Ctx, Failure};
use serde_json::{json, Value};

use crate::world::{Person, World};

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

pub fn like_req(post: i64, who: &Person) -> Request {
    Request::new("POST", format!("/api/posts/{post}/like")).header("authorization", bearer(&who.token))
}

pub fn unlike_req(post: i64, who: &Person) -> Request {
    Request::new("DELETE", format!("/api/posts/{post}/like")).header("authorization", bearer(&who.token))
}

pub fn post_req(post: i64, who: &Person) -> Request {
    Request::get(format!("/api/posts/{post}")).header("authorization", bearer(&who.token))
}

pub fn notes_req(who: &Person) -> Request {
    Request::get("/api/notifications").header("authorization", bearer(&who.token))
}

/// Send, and attach the server's output to a failure to get any answer.
pub async fn send(client: &Client, proc: &Proc, request: Request) -> Result<Exchange, Failure> {
    client.send(request).await.map_err(|f| f.with_output(proc.output()))
}

pub fn what(ex: &Exchange) -> String {
    format!("{} {}", ex.request.method, ex.request.path)
}

pub fn expect_json(ex: &Exchange, status: u16) -> Result<Value, Failure> {
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

pub fn expect_error(ex: &Exchange, status: u16, why: &str) -> CheckResult {
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
pub fn like_state(ex: &Exchange) -> Result<(bool, i64), Failure> {
    let body = expect_json(ex, 200)?;
    match (body.get("liked").and_then(Value::as_bool), body.get("likes").and_then(Value::as_i64)) {
        (Some(liked), Some(likes)) => Ok((liked, likes)),
        _ => Err(ex.fail(format!("{} must answer {{\"liked\": true/false, \"likes\": N}}, got {body}", what(ex)))),
    }
}

pub async fn like(client: &Client, proc: &Proc, post: i64, who: &Person) -> Result<(Exchange, i64), Failure> {
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

pub async fn unlike(client: &Client, proc: &Proc, post: i64, who: &Person) -> Result<(Exchange, i64), Failure> {
    let ex = send(client, proc, unlike_req(post, who)).await?;
    let (liked, likes) = like_state(&ex)?;
    if liked {
        return Err(ex.fail("after DELETE (unlike) the answer must say \"liked\": false"));
    }
    Ok((ex, likes))
}

/// The post as `who` sees it: (likes, liked).
pub async fn view(client: &Client, proc: &Proc, post: i64, who: &Person) -> Result<(Exchange, i64, bool), Failure> {
    let ex = send(client, proc, post_req(post, who)).await?;
    let body = expect_json(&ex, 200)?;
    match (body.get("likes").and_then(Value::as_i64), body.get("liked").and_then(Value::as_bool)) {
        (Some(likes), Some(liked)) => Ok((ex, likes, liked)),
        _ => Err(ex.fail(format!(
            "GET /api/posts/{post} must answer the post with \"likes\" (a number) and \"liked\" (true/false), got {body}"
        ))),
    }
}

pub async fn expect_view(
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
pub async fn notes(client: &Client, proc: &Proc, who: &Person) -> Result<(Exchange, Vec<Value>), Failure> {
    let ex = send(client, proc, notes_req(who)).await?;
    let body = expect_json(&ex, 200)?;
    match body.get("notifications").and_then(Value::as_array) {
        Some(list) => Ok((ex.clone(), list.clone())),
        None => Err(ex.fail(format!("GET /api/notifications must answer {{\"notifications\": [...]}}, got {body}"))),
    }
}

pub async fn expect_notes(
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
pub fn is_like_from(note: &Value, post: i64, from: &Person) -> bool {
    note.get("type").and_then(Value::as_str) == Some("like")
        && note.get("post_id").and_then(Value::as_i64) == Some(post)
        && note.pointer("/from/id").and_then(Value::as_i64) == Some(from.id)
        && note.pointer("/from/name").and_then(Value::as_str) == Some(from.name.as_str())
}

/// The exchange with its JSON body rewritten by `f` (to replace values that
/// legitimately differ between correct servers, such as error wording).
pub fn rewrite(ex: &Exchange, f: impl FnOnce(&mut Value)) -> Exchange {
    let mut ex = ex.clone();
    if let Some(mut body) = ex.response.json() {
        f(&mut body);
        ex.response.body = body.to_string().into_bytes();
    }
    ex
}

pub fn without_message(body: &mut Value) {
    if let Some(m) = body.get_mut("error") {
        *m = json!("[message]");
    }
}

pub fn compare(cx: &Ctx, name: &str, world: &World, ex: &Exchange) -> CheckResult {
    let redactions = world.redactions();
    let pairs: Vec<(&str, &str)> = redactions.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    snapshot::compare(cx, name, &ex.transcript(&["content-type"], &pairs))
}

pub fn expect_unauthorized(ex: &Exchange, why: &str) -> CheckResult {
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
