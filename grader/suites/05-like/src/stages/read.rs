//! Stage read: GET a seeded post as a user (the gate).

use harness::{CheckResult, Ctx};
use serde_json::json;

use crate::api::{compare, expect_json, post_req, send};
use crate::world::World;

pub async fn post(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 3, 2)?;
    let (proc, client) = world.start(&cx).await?;
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
