//! Stage notify: one notification for the owner per real new like.

use harness::{ensure, CheckResult, Ctx};
use serde_json::{json, Value};

use crate::api;
use crate::api::{compare, expect_notes, is_like_from, like, notes, rewrite};
use crate::cases;
use crate::world::World;

pub async fn owner(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 3, 1)?;
    let (proc, client) = world.start(&cx).await?;
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

pub async fn once(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 3, 1)?;
    let (proc, client) = world.start(&cx).await?;
    let post = world.posts[0].id;
    let (owner, a, b) = (&world.users[0], &world.users[1], &world.users[2]);
    for _ in 0..3 {
        like(&client, &proc, post, a).await?;
    }
    expect_notes(&client, &proc, owner, 1, "a like sent three times is one like").await?;
    api::unlike(&client, &proc, post, a).await?;
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

pub async fn unlike(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 3, 1)?;
    let (proc, client) = world.start(&cx).await?;
    let post = world.posts[0].id;
    let (owner, a, b) = (&world.users[0], &world.users[1], &world.users[2]);
    like(&client, &proc, post, a).await?;
    api::unlike(&client, &proc, post, a).await?;
    api::unlike(&client, &proc, post, a).await?;
    api::unlike(&client, &proc, post, b).await?;
    let list =
        expect_notes(&client, &proc, owner, 1, "after one like and three unlikes (an unlike notifies nobody)").await?;
    ensure!(is_like_from(&list[0], post, a), "the one notification must be the like by {}, got {}", a.name, list[0]);
    expect_notes(&client, &proc, a, 0, "after liking and unliking someone's post").await?;
    Ok(())
}

pub async fn own_post(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 2, 1)?;
    let (proc, client) = world.start(&cx).await?;
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

const NOTIFY_RULE: &str = "Each unliked-to-liked change by someone other than the post's owner adds ONE notification \
    for the owner, {\"type\": \"like\", \"post_id\", \"from\": {\"id\", \"name\"}}, and GET /api/notifications lists \
    the caller's own, newest first. Nothing else notifies anyone: not an unlike, not a like that was already there, \
    not the owner's like of their own post.";

/// Random sequences of likes, unlikes, reads and notification lists by
/// random users (owners included), compared with the reference.
pub async fn random(mut cx: Ctx) -> CheckResult {
    let cases = cases::legit_sequences(&mut cx, 40, 25, 10);
    cases::compare(&cx, NOTIFY_RULE, cases).await
}
