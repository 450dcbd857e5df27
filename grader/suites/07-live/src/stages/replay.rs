//! Stage replay: a client that reconnects with `?after=LAST_ID` gets every
//! notification it missed, from the table, in order, then the live ones,
//! with no duplicate and no gap, even while likes keep coming.

use std::sync::Arc;
use std::time::Duration;

use harness::{CheckResult, Ctx, Failure};

use crate::api;
use crate::fixture::{is_like, show, Fx, PUSH_LIMIT};
use crate::storm::{self, Request};
use crate::world::{Seed, World};
use crate::ws::{id_of, Event};

/// Disconnect, miss some likes, reconnect with the last id seen: the
/// missed ones come first, in order, then a live one.
pub async fn after(mut cx: Ctx) -> CheckResult {
    let likers = 6;
    let seed = Seed::with_owners(&mut cx, likers + 1, vec![0, 0]);
    let world = World::from_seed(&mut cx, seed)?;
    let fx = Fx::start(&cx, world).await?;
    let owner = &fx.world.users[0];
    let post = fx.world.posts[0].id;
    let mut ws = fx.socket(owner).await?;
    let before = 1 + cx.rng().usize(..2);
    for i in 0..before {
        api::like(&fx.client, &fx.proc, post, &fx.world.users[1 + i]).await?;
    }
    let mut last = 0;
    for i in 0..before {
        let got = fx.push(&mut ws, "while connected").await?;
        if !is_like(&got, None, post, &fx.world.users[1 + i]) {
            return Err(fx.with_output(Failure::new(format!(
                "while connected, push {} should be the like by {}, got {}",
                i + 1,
                fx.world.users[1 + i].name,
                show(&got)
            ))));
        }
        last = id_of(&got).unwrap_or(0);
    }
    ws.close().await;
    // Missed while away.
    let missed = 2 + cx.rng().usize(..2);
    for i in before..before + missed {
        api::like(&fx.client, &fx.proc, post, &fx.world.users[1 + i]).await?;
    }
    let table: Vec<i64> = api::notes(&fx.client, &fx.proc, owner).await?.iter().filter_map(id_of).collect();
    let want: Vec<i64> = table.iter().copied().filter(|id| *id > last).collect();
    let how = fx.how(owner).after(last);
    let mut ws = fx.open(&how).await?;
    let mut got = Vec::new();
    while got.len() < want.len() {
        match ws.next(PUSH_LIMIT).await {
            Event::Push(v) => got.push(id_of(&v).unwrap_or(-1)),
            other => {
                return Err(fx.with_output(
                    Failure::new(format!(
                        "reconnected with ?after={last} after missing {missed} likes: the socket must first send the \
                         missed notifications {want:?} (from the table, oldest first); got {got:?} and then {}",
                        other.describe()
                    ))
                    .with_request(how.curl(fx.addr())),
                ))
            }
        }
    }
    if got != want {
        return Err(fx.with_output(
            Failure::new(format!(
                "reconnected with ?after={last}: the socket must send exactly the notifications with an id above \
                 {last}, oldest first: {want:?}; got {got:?}"
            ))
            .with_request(how.curl(fx.addr())),
        ));
    }
    // Then the live ones.
    let liker = &fx.world.users[likers];
    api::like(&fx.client, &fx.proc, post, liker).await?;
    let live = fx.push(&mut ws, "after the replay, a new like").await?;
    if !is_like(&live, None, post, liker) {
        return Err(fx.with_output(Failure::new(format!(
            "after the replay, the next push must be the new like by {}, got {} (nothing is sent twice)",
            liker.name,
            show(&live)
        ))));
    }
    Ok(())
}

const STORM_LIKERS: usize = 30;
const STORM_POSTS: usize = 3;
/// The most requests the storm sends; it stops earlier, once the client
/// has reconnected `STORM_ROUNDS` times.
const STORM_REQUESTS: usize = 3000;
const STORM_IN_FLIGHT: usize = 4;
/// Each storm worker waits up to this long between two requests, so that
/// the storm lasts through all the client's rounds instead of being over
/// before its second reconnect.
const STORM_PACE_MS: u64 = 12;
const STORM_ROUNDS: usize = 30;
/// What a long round reads at most (the storm is never quiet for long),
/// and how many pushes past the replay.
const STORM_LONG_READ: usize = 1000;
const STORM_LIVE_READ: usize = 20;
/// How long the client waits for the next push before it reconnects.
const ROUND_QUIET: Duration = Duration::from_millis(150);

/// Likes and unlikes keep coming while the owner's client disconnects and
/// reconnects with the last id it saw, over and over: what it receives,
/// end to end, is the table, in order, each once.
///
/// Each round the client reads a few pushes (some rounds none, some until
/// it is past the replay and into the live ones), then closes or just
/// vanishes, and reconnects with `?after=` the last id it saw. A
/// notification committed while a socket is being set up must be in the
/// replay or in the live pushes: in neither is a gap, in both a duplicate.
pub async fn storm(mut cx: Ctx) -> CheckResult {
    let seed = Seed::with_owners(&mut cx, STORM_LIKERS + 1, vec![0; STORM_POSTS]);
    let world = World::from_seed(&mut cx, seed)?;
    let fx = Arc::new(Fx::start(&cx, world).await?);
    let owner = fx.world.users[0].clone();

    let mut plan = Vec::new();
    for _ in 0..STORM_REQUESTS {
        let who = 1 + cx.rng().usize(..STORM_LIKERS);
        let post = cx.rng().usize(..STORM_POSTS);
        let pause = Duration::from_millis(cx.rng().u64(..=STORM_PACE_MS));
        plan.push(Request { like: cx.rng().u8(..3) != 0, pause, ..Request::like(who, post) });
    }
    // The client says when it is done.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let storm_fx = fx.clone();
    let storm = tokio::spawn(async move { storm::send(&storm_fx, plan, STORM_IN_FLIGHT, Some(stop_rx)).await });

    // The client: read a few pushes (or none, or up to the live ones), go
    // away, come back with ?after=LAST.
    let mut received: Vec<i64> = Vec::new();
    let mut log: Vec<String> = Vec::new();
    let mut last = 0i64;
    for _ in 0..STORM_ROUNDS {
        // A long round reads past what the table held before it connected
        // (the replay), and then some live pushes.
        let long = cx.rng().usize(..4) == 0;
        let (reads, past) = if long {
            let table = api::notes(&fx.client, &fx.proc, &owner).await?;
            (STORM_LONG_READ, table.iter().filter_map(id_of).max().unwrap_or(0))
        } else {
            (cx.rng().usize(..4), i64::MAX)
        };
        let how = fx.how(&owner).after(last);
        let mut ws = fx.open(&how).await?;
        log.push(format!("connect ?after={last}"));
        let mut read = 0;
        let mut live = 0;
        while read < reads && live < STORM_LIVE_READ {
            match ws.next(ROUND_QUIET).await {
                Event::Push(v) => {
                    let id = id_of(&v).unwrap_or(-1);
                    received.push(id);
                    last = last.max(id);
                    read += 1;
                    if last >= past {
                        live += 1;
                    }
                }
                Event::Silent => break,
                // A slow client may be closed (1008); it comes back with ?after.
                Event::Closed(_) | Event::Ended(_) => break,
                other => {
                    return Err(fx.with_output(Failure::new(format!(
                        "the owner's socket sent {} during the like storm: only notifications are pushed",
                        other.describe()
                    ))))
                }
            }
        }
        log.push(format!("read {read}, last id {last}"));
        if cx.rng().bool() {
            ws.close().await;
        } else {
            drop(ws); // gone without a close frame, as a phone losing its network
        }
    }
    let _ = stop_tx.send(true);
    let rounds = STORM_ROUNDS;
    let sent = storm.await.map_err(|e| Failure::new(format!("the storm task failed: {e}")))??;

    // Once more, after the storm: everything left.
    let table: Vec<i64> = api::notes(&fx.client, &fx.proc, &owner).await?.iter().filter_map(id_of).collect();
    let final_id = *table.last().unwrap_or(&0);
    if last < final_id {
        let how = fx.how(&owner).after(last);
        let mut ws = fx.open(&how).await?;
        log.push(format!("connect ?after={last} after the storm"));
        while last < final_id {
            match ws.next(PUSH_LIMIT).await {
                Event::Push(v) => {
                    let id = id_of(&v).unwrap_or(-1);
                    received.push(id);
                    last = last.max(id);
                }
                other => {
                    log.push(format!("then {}", other.describe()));
                    break;
                }
            }
        }
    }
    if received != table {
        let mut seen = std::collections::BTreeSet::new();
        let dups: Vec<i64> = received.iter().copied().filter(|id| !seen.insert(*id)).collect();
        let missing: Vec<i64> = table.iter().copied().filter(|id| !received.contains(id)).collect();
        let unordered = received.windows(2).any(|w| w[0] >= w[1]);
        return Err(fx.with_output(Failure::new(format!(
            "{sent} likes and unlikes ({STORM_IN_FLIGHT} at a time) on the owner's posts while the owner's \
             client reconnected {rounds} times with ?after=LAST_ID: end to end it must receive the owner's \
             notifications exactly as the table holds them, {} ids, each once, oldest first. It received {} ids: \
             missing (a gap) {missing:?}; duplicated {dups:?}; {}. Subscribe to live pushes BEFORE reading the \
             missed ones from the table, and skip any live push whose id is not above the last id sent.\n\
             The client's session: {}",
            table.len(),
            received.len(),
            if unordered { "and not in increasing id order" } else { "in increasing order" },
            log.join("; ")
        ))));
    }
    Ok(())
}
