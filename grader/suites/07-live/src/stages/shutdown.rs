//! Stage shutdown: on SIGTERM every socket is closed with 1001 ("going
//! away": come back later), the process exits within a bound, and nothing
//! that was answered is lost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::{CheckResult, Ctx, Failure};
use tokio::task::JoinSet;

use crate::api;
use crate::fixture::{Fx, PUSH_LIMIT};
use crate::world::{Seed, World};
use crate::ws::{id_of, Event};

/// How long the sockets may take to get their close frame, and the
/// process to exit, after SIGTERM. The reference takes well under a second.
const CLOSE_LIMIT: Duration = Duration::from_secs(8);
const EXIT_LIMIT: Duration = Duration::from_secs(12);

pub async fn sigterm(mut cx: Ctx) -> CheckResult {
    let likers = 8;
    let seed = Seed::with_owners(&mut cx, likers + 2, vec![0, 1]);
    let world = World::from_seed(&mut cx, seed)?;
    let fx = Arc::new(Fx::start(&cx, world).await?);
    let (owner, other) = (fx.world.users[0].clone(), fx.world.users[1].clone());
    let mut sockets = vec![fx.socket(&owner).await?, fx.socket(&owner).await?, fx.socket(&other).await?];

    // A few likes, delivered.
    api::like(&fx.client, &fx.proc, fx.world.posts[0].id, &fx.world.users[2]).await?;
    let first = fx.push(&mut sockets[0], "before SIGTERM").await?;
    let mut last = id_of(&first).unwrap_or(0);

    // More likes in flight as the signal arrives: each one answered 200
    // must be stored.
    let mut set = JoinSet::new();
    for i in 3..likers + 2 {
        let fx = fx.clone();
        set.spawn(async move {
            let who = fx.world.users[i].clone();
            api::like(&fx.client, &fx.proc, fx.world.posts[0].id, &who).await.ok().map(|_| who.id)
        });
    }
    tokio::task::yield_now().await;
    let started = Instant::now();
    // SAFETY: killpg has no memory effects; the group is the subject's own.
    let sent = unsafe { libc::killpg(fx.proc.pgid(), libc::SIGTERM) };
    if sent != 0 {
        return Err(Failure::new("could not send SIGTERM to the server"));
    }
    let mut answered = Vec::new();
    while let Some(done) = set.join_next().await {
        if let Ok(Some(id)) = done {
            answered.push(id);
        }
    }
    // Every socket: what is left, then close 1001.
    for (i, ws) in sockets.iter_mut().enumerate() {
        let deadline = Instant::now() + CLOSE_LIMIT;
        let end = loop {
            match ws.next(deadline.saturating_duration_since(Instant::now())).await {
                Event::Push(v) => {
                    if i == 0 {
                        last = last.max(id_of(&v).unwrap_or(0));
                    }
                }
                other => break other,
            }
        };
        if !matches!(end, Event::Closed(Some(1001))) {
            return Err(fx.with_output(Failure::new(format!(
                "on SIGTERM every open socket must get a close frame with code 1001 (going away) within {} s, \
                 so that clients know to reconnect; socket {} of {} got {}. An upgraded socket is not an HTTP \
                 request: axum's graceful shutdown does not see it, so tell every socket task to close \
                 (a watch channel) and wait for them before exiting.",
                CLOSE_LIMIT.as_secs(),
                i + 1,
                3,
                end.describe()
            ))));
        }
    }
    let Some(fx) = Arc::into_inner(fx) else { return Err(Failure::new("the server handle is still shared")) };
    let Fx { world, mut proc, .. } = fx;
    let exited = proc.wait_exit(EXIT_LIMIT.saturating_sub(started.elapsed())).await;
    let Some(exited) = exited else {
        return Err(Failure::new(format!(
            "after SIGTERM the server closed its sockets but did not exit within {} s: stop accepting, let the requests \
             in flight finish, and return from main",
            EXIT_LIMIT.as_secs()
        ))
        .with_output(proc.output()));
    };
    drop(proc);

    // Restart on the same database: every answered like is there, and a
    // reconnect with the last id seen gets exactly the rest.
    let fx = Fx::start(&cx, world).await?;
    let table: Vec<serde_json::Value> = api::notes(&fx.client, &fx.proc, &fx.world.users[0]).await?;
    let stored: Vec<i64> =
        table.iter().filter_map(|n| n.pointer("/from/id").and_then(serde_json::Value::as_i64)).collect();
    let lost: Vec<&i64> = answered.iter().filter(|id| !stored.contains(id)).collect();
    if !lost.is_empty() {
        return Err(fx.with_output(Failure::new(format!(
            "likes answered 200 just before SIGTERM are missing after a restart (by the users with ids {lost:?}; exit \
             status {:?}): a like is answered only after its transaction committed, and shutdown waits for the \
             requests in flight",
            exited.code
        ))));
    }
    let ids: Vec<i64> = table.iter().filter_map(id_of).collect();
    let want: Vec<i64> = ids.iter().copied().filter(|id| *id > last).collect();
    let mut ws = fx.open(&fx.how(&fx.world.users[0]).after(last)).await?;
    let mut got = Vec::new();
    while got.len() < want.len() {
        match ws.next(PUSH_LIMIT).await {
            Event::Push(v) => got.push(id_of(&v).unwrap_or(-1)),
            _ => break,
        }
    }
    if got != want {
        return Err(fx.with_output(Failure::new(format!(
            "after the restart, reconnecting with ?after={last} (the last id pushed before SIGTERM) must replay {want:?}, got {got:?}"
        ))));
    }
    Ok(())
}
