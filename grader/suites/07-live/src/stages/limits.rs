//! Stage limits: what a server holding connections must bound. A reader
//! that stalls is closed instead of queued for without end, and does not
//! slow anyone else; a dead peer is found by pings and dropped; bad input
//! closes that one socket with the right code, and nobody else notices.

use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::{CheckResult, Ctx, Failure};

use crate::api;
use crate::fixture::{is_like, show, Fx};
use crate::storm::{self, Request};
use crate::world::{Seed, World};
use crate::ws::{id_of, Event, Mute, Open};

/// `LIVE_QUEUE` for the slow-reader check.
const QUEUE: usize = 16;
/// Likes during the stall: far more than the queue plus what the socket
/// buffers of a stalled connection hold (measured: the stalled client of
/// the reference, with its 16 KiB send buffer, reads 327 to 351 of them
/// before the close; the storm takes about half a second).
const SLOW_LIKES: usize = 1500;
const SLOW_IN_FLIGHT: usize = 8;
/// The stalled client's receive buffer: small, so that its connection
/// backs up after a few notifications rather than a few thousand.
const STALLED_BUFFER: u32 = 4096;

/// A stalled reader is closed (1008 or simply dropped), the server does not
/// keep queueing for it, and the owner's other socket gets every
/// notification meanwhile.
pub async fn slow_reader(mut cx: Ctx) -> CheckResult {
    let likers = SLOW_LIKES / 3;
    let seed = Seed::with_owners(&mut cx, likers + 1, vec![0, 0, 0]);
    let world = World::from_seed(&mut cx, seed)?.with_env("LIVE_QUEUE", QUEUE.to_string());
    let fx = Arc::new(Fx::start(&cx, world).await?);
    let owner = fx.world.users[0].clone();
    let mut healthy = fx.socket(&owner).await?;
    let stalled_how = Open { recv_buffer: Some(STALLED_BUFFER), ..fx.how(&owner) };
    let mut stalled = fx.open(&stalled_how).await?;

    // The healthy socket reads as it goes (and, should the machine be so
    // busy that even it falls behind and is closed, comes back with
    // ?after=LAST as any client does); the stalled one is not read at all.
    let reader_fx = fx.clone();
    let reader_owner = owner.clone();
    let reader = tokio::spawn(async move {
        let mut got: Vec<i64> = Vec::new();
        let mut reconnects = 0;
        loop {
            match healthy.next(Duration::from_secs(30)).await {
                Event::Push(v) => {
                    got.push(id_of(&v).unwrap_or(-1));
                    if got.len() == SLOW_LIKES {
                        return (got, None);
                    }
                }
                Event::Closed(Some(1008)) | Event::Ended(_) if reconnects < 3 => {
                    reconnects += 1;
                    let last = got.last().copied().unwrap_or(0);
                    match reader_fx.open(&reader_fx.how(&reader_owner).after(last)).await {
                        Ok(ws) => healthy = ws,
                        Err(f) => return (got, Some(f.message().to_string())),
                    }
                }
                other => return (got, Some(other.describe())),
            }
        }
    });
    let started = Instant::now();
    let plan = (0..SLOW_LIKES).map(|n| Request::like(1 + n / 3, n % 3));
    if let Err(f) = storm::send(&fx, plan, SLOW_IN_FLIGHT, None).await {
        return Err(fx.with_output(Failure::new(format!(
            "while one socket of the owner was not reading, a like failed: {} \
             A full queue must never make a like wait: drop the slow socket instead.",
            f.message()
        ))));
    }
    let storm_took = started.elapsed();
    let (got, end) = match tokio::time::timeout(Duration::from_secs(40), reader).await {
        Ok(Ok(x)) => x,
        _ => return Err(Failure::new("the healthy socket's reader did not finish")),
    };
    let table: Vec<i64> = api::notes(&fx.client, &fx.proc, &owner).await?.iter().filter_map(id_of).collect();
    if got != table {
        return Err(fx.with_output(Failure::new(format!(
            "{SLOW_LIKES} likes (took {:.1} s) while another socket of the owner stopped reading: the socket that reads \
             must still get all {} notifications in order, at once; it got {} of them{}. One stalled reader \
             must not hold up anyone: push with try_send into a bounded per-socket queue, never wait for a slow socket.",
            storm_took.as_secs_f64(),
            table.len(),
            got.len(),
            end.map(|e| format!(", then {e}")).unwrap_or_default()
        ))));
    }
    // Now the stalled client reads: what the buffers held, then the end.
    let mut resumed = 0;
    let end = loop {
        match stalled.next(Duration::from_secs(10)).await {
            Event::Push(_) => resumed += 1,
            other => break other,
        }
    };
    match end {
        Event::Closed(Some(1008)) | Event::Ended(_) if resumed < SLOW_LIKES => Ok(()),
        other => Err(fx.with_output(Failure::new(format!(
            "a socket that stopped reading while {SLOW_LIKES} notifications were pushed (LIVE_QUEUE={QUEUE}) must be \
             closed by the server once its queue is full, with close code 1008, instead of queueing without end. \
             When it read again it received {resumed} notifications and then {}. Bound the per-socket queue \
             (tokio::sync::mpsc::channel(LIVE_QUEUE)) and close the socket when try_send finds it full.",
            other.describe()
        )))),
    }
}

/// `LIVE_PING_MS` for the heartbeat check: a peer silent for three
/// intervals is dead.
const PING_MS: u64 = 1000;
/// How long a dead peer may stay connected. The reference drops it after
/// 3 to 4 intervals; the margin is for a loaded machine.
const DEAD_LIMIT: Duration = Duration::from_secs(15);

/// Idle sockets are pinged; a peer that never answers is dropped within a
/// bound, one that answers stays open.
pub async fn heartbeat(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 2, 1)?.with_env("LIVE_PING_MS", PING_MS.to_string());
    let fx = Fx::start(&cx, world).await?;
    let (owner, liker) = (&fx.world.users[0], &fx.world.users[1]);
    let mut alive = fx.socket(owner).await?;
    let mute = Mute::open(fx.addr(), &fx.how(owner), Duration::from_secs(5)).await.map_err(|f| fx.with_output(f))?;
    let started = Instant::now();
    let watching = tokio::spawn(mute.watch(DEAD_LIMIT));
    // Meanwhile the live client reads (and so answers pings) for longer
    // than a dead peer may last.
    let quiet = Duration::from_millis(PING_MS * 5);
    match alive.next(quiet).await {
        Event::Silent => {}
        other => {
            return Err(fx.with_output(Failure::new(format!(
                "a socket that answers every ping (LIVE_PING_MS={PING_MS}) must stay open while idle; after {:.1} s it got {}",
                started.elapsed().as_secs_f64(),
                other.describe()
            ))))
        }
    }
    let saw = watching.await.map_err(|e| Failure::new(format!("the watcher failed: {e}")))?;
    let took = started.elapsed();
    if saw.pings == 0 {
        return Err(fx.with_output(Failure::new(format!(
            "LIVE_PING_MS={PING_MS}: an idle socket must be sent a ping every {PING_MS} ms; a peer that answered none \
             saw no ping in {:.1} s{}",
            took.as_secs_f64(),
            saw.end.as_ref().map(|e| format!(" before {e}")).unwrap_or_default()
        ))));
    }
    if saw.end.is_none() {
        return Err(fx.with_output(Failure::new(format!(
            "LIVE_PING_MS={PING_MS}: a peer that answers no ping (a phone that lost its network, a laptop closed) \
             must be dropped after a few silent intervals; it was still connected after {} s and {} pings. Remember \
             when the peer last sent anything (a pong counts) and close when that is too long ago.",
            DEAD_LIMIT.as_secs(),
            saw.pings
        ))));
    }
    api::like(&fx.client, &fx.proc, fx.world.posts[0].id, liker).await?;
    let got = fx.push(&mut alive, "after the idle time, a like").await?;
    if !is_like(&got, None, fx.world.posts[0].id, liker) {
        return Err(fx.with_output(Failure::new(format!("after the idle time, expected the like, got {}", show(&got)))));
    }
    Ok(())
}

/// Bad input closes that socket with the right code; another socket of the
/// same user still gets its push.
pub async fn bad_input(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 2, 1)?;
    let fx = Fx::start(&cx, world).await?;
    let (owner, liker) = (&fx.world.users[0], &fx.world.users[1]);
    let mut watcher = fx.socket(owner).await?;
    // A well-formed message is fine (and ignored).
    watcher
        .send_text(format!("{{\"type\": \"hello\", \"n\": {}}}", cx.rng().u32(..)))
        .await
        .map_err(|e| Failure::new(format!("could not send on the socket: {e}")))?;

    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(8 * 1024));
    let word = cx.word(10);
    let cases: Vec<(&str, Vec<u16>, &str)> = vec![
        ("text", vec![1007], "a text message that is not JSON"),
        ("array", vec![1007], "a JSON text message that is not an object"),
        ("binary", vec![1003], "a binary message (this socket speaks JSON text)"),
        ("big", vec![1009], "a text message of 8 KiB (the limit is 4096 bytes)"),
        ("unmasked", vec![1002], "a frame the client did not mask (RFC 6455 requires it)"),
        ("not-utf8", vec![1007], "a text frame whose bytes are not UTF-8 (RFC 6455 section 8.1)"),
        ("huge-frame", vec![1009], "a frame header announcing 100 KiB, far past any limit, with no payload after it"),
    ];
    for (kind, codes, what) in cases {
        let mut bad = fx.socket(owner).await?;
        let sent = match kind {
            "text" => bad.send_text(format!("hello {word}")).await,
            "array" => bad.send_text(format!("[\"{word}\"]")).await,
            "binary" => bad.send_binary(word.as_bytes().to_vec()).await,
            "big" => bad.send_text(big.clone()).await,
            // Masked with the key 0 0 0 0, so the payload goes as it is:
            // 0xC3 opens a two-byte sequence that 0x28 does not continue.
            "not-utf8" => bad.send_raw(&[0x81, 0x82, 0, 0, 0, 0, 0xC3, 0x28]).await,
            // Only the header: nothing unread is left behind when the
            // server answers it, so its close frame reaches the client.
            "huge-frame" => {
                let mut header = vec![0x81, 0x80 | 127];
                header.extend_from_slice(&(100u64 * 1024).to_be_bytes());
                header.extend_from_slice(&[0, 0, 0, 0]);
                bad.send_raw(&header).await
            }
            _ => bad.send_raw(&[0x81, 0x02, b'{', b'}']).await,
        };
        sent.map_err(|e| Failure::new(format!("could not send {what}: {e}")))?;
        let end = bad.next(Duration::from_secs(5)).await;
        let ok = match &end {
            Event::Closed(Some(c)) => codes.contains(c),
            // A frame that breaks the protocol may also just end the connection.
            Event::Ended(_) => kind == "unmasked",
            _ => false,
        };
        if !ok {
            return Err(fx.with_output(Failure::new(format!(
                "{what}: the server must close that socket with close code {} (RFC 6455 section 7.4.1: 1002 protocol \
                 error, 1003 unsupported data, 1007 invalid payload, 1009 too big), got {}",
                codes.iter().map(u16::to_string).collect::<Vec<_>>().join(" or "),
                end.describe()
            ))));
        }
    }
    api::like(&fx.client, &fx.proc, fx.world.posts[0].id, liker).await?;
    let got = fx.push(&mut watcher, "after other sockets sent bad input and were closed").await?;
    if !is_like(&got, None, fx.world.posts[0].id, liker) {
        return Err(fx.with_output(Failure::new(format!(
            "after other sockets of the owner sent bad input, this one must still get the like; got {}",
            show(&got)
        ))));
    }
    Ok(())
}
