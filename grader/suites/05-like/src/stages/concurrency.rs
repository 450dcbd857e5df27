//! Stage concurrency: invariants that hold whatever order overlapping requests run in.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;

use harness::http::Client;
use harness::{ensure, fail, CheckResult, Ctx, Failure};
use serde_json::Value;

use crate::api::{expect_notes, expect_view, like_req, like_state, notes, unlike_req, view};
use crate::world::{Person, World};

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

pub async fn many_users(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, MANY_USERS + 1, 1)?;
    let (proc, client) = world.start(&cx).await?;
    let post = world.posts[0].id;
    let owner = &world.users[0];
    // In a random order: which likes overlap changes from run to run.
    let mut likers = world.users[1..].to_vec();
    cx.rng().shuffle(&mut likers);
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

pub async fn same_user(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 2, 1)?;
    let (proc, client) = world.start(&cx).await?;
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

/// Users in a storm: owners of the two posts included.
const STORM_USERS: std::ops::Range<usize> = 30..50;
/// Steps per user.
const STORM_STEPS: std::ops::Range<usize> = 4..11;

/// What one user of a storm does, one request after the other: (post
/// index, like?) per step.
type Plan = Vec<(usize, bool)>;

pub async fn storm(mut cx: Ctx) -> CheckResult {
    // A random schedule: how many users, how many steps each, which post
    // each step touches, how many requests are in flight at once, and the
    // order the users start in. Each user's own requests go one after the
    // other, so the end state is known exactly whatever the interleaving:
    // who likes each post (the last step of each user on it), and how many
    // real unliked-to-liked changes each user made on it (one notification
    // each, unless the user owns the post).
    let users = cx.rng().usize(STORM_USERS);
    let world = World::new(&mut cx, users, 2)?;
    let (proc, client) = world.start(&cx).await?;
    let mut plans: Vec<(usize, Plan)> = (0..users)
        .map(|u| {
            let n = cx.rng().usize(STORM_STEPS);
            (u, (0..n).map(|_| (cx.rng().usize(..2), cx.rng().bool())).collect())
        })
        .collect();
    cx.rng().shuffle(&mut plans);
    let in_flight = cx.rng().usize(8..=users);
    let mut likes_now = [BTreeSet::new(), BTreeSet::new()];
    let mut changes: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for (u, plan) in &plans {
        for &(p, on) in plan {
            if on && likes_now[p].insert(*u) {
                *changes.entry((p, *u)).or_default() += 1;
            } else if !on {
                likes_now[p].remove(u);
            }
        }
    }
    let total: usize = plans.iter().map(|(_, plan)| plan.len()).sum();
    let jobs: Vec<_> = plans
        .iter()
        .cloned()
        .map(|(u, plan)| {
            let client = client.clone();
            let who = world.users[u].clone();
            let posts: Vec<i64> = world.posts.iter().map(|p| p.id).collect();
            async move {
                for (p, on) in plan {
                    let (liked, likes) = set_like(client.clone(), posts[p], who.clone(), on).await?;
                    if liked != on || !(0..=users as i64).contains(&likes) {
                        return Err(Failure::new(format!(
                            "during the storm, a {} of post {} by {} was answered {{\"liked\": {liked}, \"likes\": {likes}}}: \
                             a like answers \"liked\": true, an unlike false, and the count is between 0 and the number of users",
                            if on { "like" } else { "unlike" },
                            posts[p],
                            who.name
                        )));
                    }
                }
                Ok(())
            }
        })
        .collect();
    for done in bounded(in_flight, jobs).await {
        done.map_err(|f| f.with_output(proc.output()))?;
    }
    let storm = format!("after a storm of {total} likes and unlikes of two posts by {users} users (their owners too), {in_flight} requests at a time");
    for (p, post) in world.posts.iter().enumerate() {
        let owner = &world.users[post.owner];
        let (ex, likes, _) = view(&client, &proc, post.id, owner).await?;
        let mut rows = 0;
        for who in world.users.iter() {
            let (_, _, liked) = view(&client, &proc, post.id, who).await?;
            rows += usize::from(liked);
        }
        let expected = likes_now[p].len();
        if likes != expected as i64 || rows != expected {
            return Err(ex.fail(format!(
                "{storm}, {expected} users like post {}. It shows \"likes\": {likes} and {rows} users see \"liked\": true. \
                 The count must always equal the likes stored: change both in one transaction, relative to what the row \
                 holds (like_count = like_count + 1), and only when a row was really added or removed",
                post.id
            )));
        }
    }
    // Every user's notifications: one per real change by someone else on a
    // post the user owns, naming who and which post.
    for (u, who) in world.users.iter().enumerate() {
        let mut expected: BTreeMap<(i64, i64), usize> = BTreeMap::new();
        for (p, post) in world.posts.iter().enumerate() {
            if post.owner != u {
                continue;
            }
            for (&(cp, liker), &n) in &changes {
                if cp == p && liker != u {
                    expected.insert((post.id, world.users[liker].id), n);
                }
            }
        }
        let (ex, list) = notes(&client, &proc, who).await?;
        let mut got: BTreeMap<(i64, i64), usize> = BTreeMap::new();
        for n in &list {
            let key = (
                n.get("post_id").and_then(Value::as_i64).unwrap_or(0),
                n.pointer("/from/id").and_then(Value::as_i64).unwrap_or(0),
            );
            *got.entry(key).or_default() += 1;
        }
        if got != expected {
            let want: usize = expected.values().sum();
            return Err(ex.fail(format!(
                "{storm}, {} must have {want} notification(s): one per real unliked-to-liked change by someone else \
                 on a post they own; got {}. Notify inside the transaction of the like, only when the insert added a \
                 row (never for a like that was already there) and the liker is not the owner",
                who.name,
                list.len()
            )));
        }
    }
    Ok(())
}
