//! Stage random: random sequences of likes, unlikes, connects, disconnects
//! and reconnects (with `?after=` the last id the socket saw), played
//! against your server and the reference on the same seed file; what each
//! socket received, in order, must be the same.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use harness::differential::{reference, Case, Differential, Side};
use harness::{CheckResult, Ctx, Failure};

use crate::api;
use crate::fixture::Fx;
use crate::world::{Seed, World};
use crate::ws::{id_of, Event, Live};

#[derive(Debug, Clone, Copy)]
enum Op {
    Like(usize, usize),
    Unlike(usize, usize),
    Connect(usize),
    Disconnect(usize),
    Reconnect(usize),
}

#[derive(Clone)]
pub struct Sequence {
    seed: Arc<Seed>,
    origins: Vec<String>,
    /// The last user likes every post at the end, so that every socket has
    /// one last push to read up to.
    sentinel: usize,
    ops: Vec<Op>,
}

impl Sequence {
    fn user(&self, i: usize) -> String {
        format!("user{i}")
    }

    fn describe(&self, op: &Op) -> String {
        match *op {
            Op::Like(u, p) => format!("{} likes post{p} (owned by user{})", self.user(u), self.seed.posts[p].owner),
            Op::Unlike(u, p) => format!("{} unlikes post{p}", self.user(u)),
            Op::Connect(u) => format!("{} opens a socket", self.user(u)),
            Op::Disconnect(k) => format!("socket #{k} reads what it is owed, then closes"),
            Op::Reconnect(k) => format!("socket #{k} reconnects with ?after=<the last id it saw>"),
        }
    }
}

impl Case for Sequence {
    /// Without a run of steps: halves first, then quarters, and so on
    /// down to single steps, later steps before earlier ones (so that the
    /// sockets keep their numbers as long as possible).
    fn shrink(&self) -> Vec<Self> {
        let n = self.ops.len();
        let mut smaller = Vec::new();
        let mut size = n / 2;
        while size >= 1 {
            let mut end = n;
            while end > 0 {
                let start = end.saturating_sub(size);
                let mut case = self.clone();
                case.ops.drain(start..end);
                smaller.push(case);
                end = start;
            }
            if size == 1 {
                break;
            }
            size /= 2;
        }
        smaller
    }

    fn show(&self) -> String {
        let mut out = String::from("The network (ids as in the seed file):\n");
        for (i, u) in self.seed.users.iter().enumerate() {
            let _ = writeln!(out, "  user{i}: id {}, name {:?}, token {}", u.id, u.name, u.token);
        }
        for (i, p) in self.seed.posts.iter().enumerate() {
            let _ = writeln!(out, "  post{i}: id {}, owned by user{}", p.id, p.owner);
        }
        out.push_str("The steps (sockets are numbered in the order they were opened, from #0):\n");
        for (i, op) in self.ops.iter().enumerate() {
            let _ = writeln!(out, "  {:>2}. {}", i + 1, self.describe(op));
        }
        let _ = writeln!(
            out,
            "  then user{} likes every post, and every open socket reads up to its owner's newest notification",
            self.sentinel
        );
        out
    }
}

fn sequence(cx: &mut Ctx) -> Sequence {
    let users = 3 + cx.rng().usize(..2);
    let posts = 2 + cx.rng().usize(..2);
    let owners = (0..posts).map(|_| cx.rng().usize(..users)).collect();
    let seed = Seed::with_owners(cx, users + 1, owners);
    let origins = vec![format!("http://localhost:{}", 3000 + cx.rng().u16(..5000))];
    let mut ops = Vec::new();
    let mut sockets = 0;
    for _ in 0..1 + cx.rng().usize(..2) {
        ops.push(Op::Connect(cx.rng().usize(..users)));
        sockets += 1;
    }
    for _ in 0..14 + cx.rng().usize(..10) {
        let roll = cx.rng().u8(..100);
        let op = match roll {
            0..=39 => Op::Like(cx.rng().usize(..users), cx.rng().usize(..posts)),
            40..=54 => Op::Unlike(cx.rng().usize(..users), cx.rng().usize(..posts)),
            55..=66 => {
                sockets += 1;
                Op::Connect(cx.rng().usize(..users))
            }
            67..=76 => Op::Disconnect(cx.rng().usize(..sockets)),
            _ => Op::Reconnect(cx.rng().usize(..sockets)),
        };
        ops.push(op);
    }
    Sequence { seed: Arc::new(seed), origins, sentinel: users, ops }
}

const RULE: &str = "Each socket receives, in id order and once each, every notification of its user committed after \
    it opened (after ?after=ID: every one above ID, from the table, then the live ones), and nothing else: a real \
    unliked-to-liked change by someone other than the owner notifies the owner, nothing else does.";

pub async fn sequences(mut cx: Ctx) -> CheckResult {
    let cases: Vec<Sequence> = (0..6).map(|_| sequence(&mut cx)).collect();
    let cx = &cx;
    Differential::new(RULE).shrink_budget(20).run(cases, |side, case| play(cx, side, case)).await
}

struct Socket {
    user: usize,
    live: Option<Live>,
    last: i64,
    log: Vec<String>,
}

/// How long a socket may take to receive what it is owed; after the first
/// time it runs out, much less (the difference is already there).
const OWED_LIMIT: Duration = Duration::from_secs(3);

async fn play(cx: &Ctx, side: Side, case: Sequence) -> Result<String, Failure> {
    let bin: PathBuf = match side {
        Side::Yours => cx.subject().to_path_buf(),
        Side::Reference => reference(cx)?.to_path_buf(),
    };
    let world = World::with_origins(case.seed.as_ref().clone(), case.origins.clone())?;
    let fx = Fx::start_bin(cx, world, &bin).await?;
    let users = &fx.world.users;
    let mut sockets: Vec<Socket> = Vec::new();
    let mut limit = OWED_LIMIT;
    let mut steps = String::new();
    for (i, op) in case.ops.iter().enumerate() {
        match *op {
            Op::Like(u, p) => {
                let r = api::like(&fx.client, &fx.proc, fx.world.posts[p].id, &users[u]).await;
                let _ = writeln!(steps, "{:>2}. like -> {}", i + 1, if r.is_ok() { "200" } else { "failed" });
            }
            Op::Unlike(u, p) => {
                let r = api::unlike(&fx.client, &fx.proc, fx.world.posts[p].id, &users[u]).await;
                let _ = writeln!(steps, "{:>2}. unlike -> {}", i + 1, if r.is_ok() { "200" } else { "failed" });
            }
            Op::Connect(u) => {
                let live = fx.socket(&users[u]).await?;
                sockets.push(Socket { user: u, live: Some(live), last: 0, log: vec![format!("step {}: open", i + 1)] });
            }
            Op::Disconnect(k) | Op::Reconnect(k) => {
                let Some(s) = sockets.get_mut(k) else { continue };
                if s.live.is_some() {
                    read_owed(&fx, s, &mut limit).await?;
                    if let Some(live) = s.live.take() {
                        live.close().await;
                    }
                    s.log.push(format!("step {}: close", i + 1));
                }
                if matches!(op, Op::Reconnect(_)) {
                    let how = fx.how(&users[s.user]).after(s.last);
                    s.live = Some(fx.open(&how).await?);
                    s.log.push(format!("step {}: open ?after={}", i + 1, s.last));
                }
            }
        }
    }
    for post in &fx.world.posts {
        api::like(&fx.client, &fx.proc, post.id, &users[case.sentinel]).await?;
    }
    let mut out = steps;
    for (k, s) in sockets.iter_mut().enumerate() {
        if s.live.is_some() {
            read_owed(&fx, s, &mut limit).await?;
        }
        let _ = writeln!(out, "socket #{k} of user{}:", s.user);
        for line in &s.log {
            let _ = writeln!(out, "  {line}");
        }
    }
    // Ids and names as placeholders: the two servers share the seed file.
    for (i, u) in fx.world.users.iter().enumerate() {
        out = out
            .replace(&u.name, &format!("[user{i}.name]"))
            .replace(&format!("\"id\":{}", u.id), &format!("\"id\":[user{i}.id]"));
    }
    for (i, p) in fx.world.posts.iter().enumerate() {
        out = out.replace(&format!("\"post_id\":{}", p.id), &format!("\"post_id\":[post{i}.id]"));
    }
    Ok(out)
}

/// Read socket `s` up to its user's newest notification (GET
/// /api/notifications), logging every message; note the end if it comes.
async fn read_owed(fx: &Fx, s: &mut Socket, limit: &mut Duration) -> Result<(), Failure> {
    let table = api::notes(&fx.client, &fx.proc, &fx.world.users[s.user]).await?;
    let newest = table.last().and_then(id_of).unwrap_or(0);
    let Some(live) = s.live.as_mut() else { return Ok(()) };
    while s.last < newest {
        match live.next(*limit).await {
            Event::Push(v) => {
                s.last = s.last.max(id_of(&v).unwrap_or(0));
                s.log.push(format!("got {v}"));
            }
            Event::Silent => {
                s.log.push(format!("nothing more (waiting for notification {newest})"));
                *limit = Duration::from_millis(300);
                return Ok(());
            }
            other => {
                s.log.push(other.describe());
                s.live = None;
                return Ok(());
            }
        }
    }
    Ok(())
}
