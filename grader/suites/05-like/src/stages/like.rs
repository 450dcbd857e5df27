//! Stage like: POST sets, DELETE removes, both idempotent, counted.

use harness::{ensure, CheckResult, Ctx};
use serde_json::json;

use crate::api;
use crate::api::{compare, expect_json, expect_view, like, like_req, send};
use crate::cases;
use crate::world::World;

pub async fn first(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 3, 1)?;
    let (proc, client) = world.start(&cx).await?;
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

pub async fn idempotent(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 3, 1)?;
    let (proc, client) = world.start(&cx).await?;
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

pub async fn unlike(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 4, 2)?;
    let (proc, client) = world.start(&cx).await?;
    let (post, untouched) = (world.posts[0].id, world.posts[1].id);
    let (a, b, c) = (&world.users[1], &world.users[2], &world.users[3]);
    like(&client, &proc, post, a).await?;
    like(&client, &proc, post, b).await?;
    let (ex, n) = api::unlike(&client, &proc, post, a).await?;
    if n != 1 {
        return Err(ex.fail(format!("after two likes and one unlike, \"likes\" must be 1, got {n}")));
    }
    let (ex, n) = api::unlike(&client, &proc, post, a).await?;
    if n != 1 {
        return Err(
            ex.fail(format!("unliking twice must be the same as unliking once: \"likes\" must stay 1, got {n}"))
        );
    }
    let (ex, n) = api::unlike(&client, &proc, post, c).await?;
    if n != 1 {
        return Err(
            ex.fail(format!("unliking a post you never liked must change nothing: \"likes\" must stay 1, got {n}"))
        );
    }
    expect_view(&client, &proc, post, a, 1, false, "after a like and an unlike").await?;
    expect_view(&client, &proc, post, b, 1, true, "after someone else's unlike").await?;
    let (ex, n) = api::unlike(&client, &proc, untouched, c).await?;
    if n != 0 {
        return Err(ex.fail(format!("unliking a post nobody likes must leave \"likes\": 0 (never below), got {n}")));
    }
    let (_, n) = like(&client, &proc, post, a).await?;
    ensure!(n == 2, "liking again after an unlike must count again: \"likes\" must be 2, got {n}");
    Ok(())
}

const LIKE_RULE: &str = "POST sets the caller's like and DELETE removes it, whoever the caller is (the post's owner \
    too); sending either again changes nothing. Every answer carries the post's count right after the change, and \
    GET shows the count with `liked` saying whether the CALLER likes it. Insert if absent (the primary key decides) \
    and change like_count in the same transaction, only when a row was really added or removed.";

/// Random sequences of likes, unlikes and reads by random users (owners
/// included), compared with the reference.
pub async fn random(mut cx: Ctx) -> CheckResult {
    let cases = cases::legit_sequences(&mut cx, 45, 30, 25);
    cases::compare(&cx, LIKE_RULE, cases).await
}
