//! Plays a schedule against the pool and keeps an exact model of what a
//! correct pool must do: who holds which connection, who waits in which
//! order, which connections are idle and which are dead. Every event the
//! tasks report is checked against the model as it arrives.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use harness::db::{Db, DbConfig, Stats};
use harness::{Ctx, Failure};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::actor::{self, Actor, Cmd, Event};
use super::{Schedule, Step};
use crate::subject::{Pool, PoolConfig};

/// The pool's checkout timeout in a schedule: longer than any wait, so a
/// correct pool never times out and a lost slot shows as a task that waits.
const POOL_TIMEOUT: Duration = Duration::from_secs(10);

/// What a slot lost for good looks like, and where it can come from.
const LOST_SLOT: &str = "the pool lost a slot for good. Something earlier took a slot and never gave it back: a \
dropped get() (while waiting or while connecting), a holder that panicked or was aborted, or a broken connection \
that was closed without freeing its slot";

pub struct Report {
    /// What broke, or `None` when every invariant held.
    pub violation: Option<String>,
    /// The steps and what each one did, as the student reads them.
    pub transcript: Vec<String>,
}

/// Play `schedule` on a fresh database and pool. `bound` is how long an
/// expected event may take. An `Err` is a fault of the kit (the database
/// could not start) or a pool that could not even start.
pub async fn run(cx: &Ctx, schedule: &Schedule, bound: Duration) -> Result<Report, Failure> {
    let db = Db::start(DbConfig::default().connect_cost(Duration::from_millis(1)))
        .await
        .map_err(|e| Failure::new(format!("could not start the test database: {e}")))?;
    let m = schedule.max_size;
    // Counts up to max_size are fine whatever they are; one above it is
    // confirmed before it is believed (a hang-up may reach the server late).
    db.verify_live_above(m);
    let pool = Pool::new(cx, PoolConfig::new(db.addr()).max_size(m).checkout_timeout(POOL_TIMEOUT)).await?;
    let (events_tx, events) = mpsc::unbounded_channel();
    let mut r = Runner {
        db,
        pool,
        m,
        bound,
        events_tx,
        events,
        actors: vec![],
        holders: vec![],
        held: HashMap::new(),
        waiters: VecDeque::new(),
        granted: vec![],
        idle: vec![],
        dead: HashMap::new(),
        transcript: vec![format!(
            "a pool of max_size {m} (checkout_timeout {} s) on a database that accepts connections at once:",
            POOL_TIMEOUT.as_secs()
        )],
        words: fastrand::Rng::with_seed(schedule.words),
        step_no: 0,
    };
    let mut violation = None;
    for (i, step) in schedule.steps.iter().enumerate() {
        r.step_no = i + 1;
        r.transcript.push(format!("{:>3}. {}", i + 1, step.show()));
        if let Err(v) = r.step(*step).await {
            violation = Some(v.0);
            break;
        }
    }
    if violation.is_none() {
        r.step_no = schedule.steps.len() + 1;
        if let Err(v) = r.afterwards().await {
            violation = Some(v.0);
        }
    }
    if let Some(v) = &violation {
        r.transcript.push(format!("     FAILED: {v}"));
    }
    r.db.hold_handshakes(false);
    Ok(Report { violation, transcript: r.transcript })
}

/// An invariant that did not hold, said for the student.
struct Violation(String);

type Checked = Result<(), Violation>;

struct Runner {
    db: Db,
    pool: Pool,
    m: usize,
    bound: Duration,
    events_tx: actor::Events,
    events: mpsc::UnboundedReceiver<(usize, Event)>,
    /// Every task so far; task `n` is `actors[n - 1]`.
    actors: Vec<Actor>,
    /// Tasks holding a connection, in the order they got it.
    holders: Vec<usize>,
    held: HashMap<usize, u64>,
    /// Tasks waiting for a slot, first in line first.
    waiters: VecDeque<usize>,
    /// Tasks owed a connection right now (a slot is theirs).
    granted: Vec<usize>,
    /// Connections given back alive, by backend id.
    idle: Vec<u64>,
    /// Connections that must never be lent again, and why.
    dead: HashMap<u64, String>,
    transcript: Vec<String>,
    words: fastrand::Rng,
    step_no: usize,
}

impl Runner {
    fn note(&mut self, line: String) {
        self.transcript.push(format!("       {line}"));
    }

    fn actor(&mut self, task: usize) -> &mut Actor {
        &mut self.actors[task - 1]
    }

    fn spawn(&mut self) -> usize {
        let task = self.actors.len() + 1;
        let actor = actor::spawn(task, self.pool.clone(), self.events_tx.clone());
        self.actors.push(actor);
        task
    }

    fn word(&mut self) -> String {
        (0..8).map(|_| self.words.lowercase()).collect()
    }

    fn out_line(&self) -> String {
        let holders: Vec<String> = self.holders.iter().map(|t| format!("task {t}")).collect();
        if holders.is_empty() {
            "none checked out".into()
        } else {
            format!("{} of {} checked out, by {}", holders.len(), self.m, holders.join(", "))
        }
    }

    /// Check one event against the model and apply it.
    fn apply(&mut self, task: usize, event: Event) -> Checked {
        match event {
            Event::Pending => self.actor(task).pending = true,
            Event::Got(backend) => {
                if !self.granted.contains(&task) {
                    let message = match (self.waiters.iter().position(|t| *t == task), self.granted.first()) {
                        (Some(_), Some(first)) => format!(
                            "task {task} got a connection, but task {first} had been waiting longer: waiters must be \
                             served first come, first served"
                        ),
                        (Some(_), None) => format!(
                            "task {task} got a connection (backend {backend}) while all {} were checked out and none \
                             had come back ({}): never lend more than max_size at once; make the others wait",
                            self.m,
                            self.out_line()
                        ),
                        (None, _) => format!(
                            "task {task} got a connection (backend {backend}) after its get() had been dropped or \
                             while it was not asking"
                        ),
                    };
                    return Err(Violation(message));
                }
                if let Some(why) = self.dead.get(&backend) {
                    return Err(Violation(format!(
                        "task {task} was lent backend {backend}, {why}: never lend a connection Conn::is_broken() \
                         reports broken; close it, and let its slot open a fresh one"
                    )));
                }
                if let Some((other, _)) = self.held.iter().find(|(_, b)| **b == backend) {
                    return Err(Violation(format!(
                        "task {task} was lent backend {backend} while task {other} still held it: one connection, one holder"
                    )));
                }
                self.granted.retain(|t| *t != task);
                self.waiters.retain(|t| *t != task);
                self.idle.retain(|b| *b != backend);
                self.holders.push(task);
                self.held.insert(task, backend);
                self.note(format!("task {task} got backend {backend}"));
            }
            Event::GetFailed(e) => {
                return Err(Violation(format!(
                    "task {task}'s get() failed with {e} ({}; the database accepts every connection)",
                    self.out_line()
                )))
            }
            Event::Rows(rows) => self.actor(task).rows = Some(rows),
            Event::Released => self.actor(task).released = true,
        }
        Ok(())
    }

    /// Apply events until `done` holds; a violation if it does not within
    /// the bound (`what` says what was expected and what it means).
    /// `task`'s get() found no slot: it joins the line, and must be seen
    /// waiting (pending), not returned.
    async fn join_line(&mut self, task: usize) -> Checked {
        self.waiters.push_back(task);
        self.wait(
            move |_| format!("task {task}'s get() neither waited nor returned"),
            move |r, _| r.actors[task - 1].pending,
        )
        .await
    }

    async fn wait(&mut self, what: impl FnOnce(&Runner) -> String, done: impl Fn(&Runner, &Stats) -> bool) -> Checked {
        let deadline = Instant::now() + self.bound;
        loop {
            while let Ok((task, event)) = self.events.try_recv() {
                self.apply(task, event)?;
            }
            if done(self, &self.db.stats()) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let message = what(self);
                return Err(Violation(format!("{message} (waited {} ms)", self.bound.as_millis())));
            }
            if let Ok(Some((task, event))) = tokio::time::timeout(Duration::from_millis(2), self.events.recv()).await {
                self.apply(task, event)?;
            }
        }
    }

    async fn join(&mut self, task: usize) -> Checked {
        let bound = self.bound;
        let handle = &mut self.actors[task - 1].task;
        match tokio::time::timeout(bound, handle).await {
            Ok(_) => Ok(()),
            Err(_) => Err(Violation(format!("task {task} did not end within {} ms", bound.as_millis()))),
        }
    }

    async fn step(&mut self, step: Step) -> Checked {
        // What the last step dropped or cancelled has reached the pool
        // before this one acts (on the database, say), as in-process.
        self.pool.settle().await;
        self.wait(|_| String::new(), |_, _| true).await?;
        match step {
            Step::Get => self.get(None).await.map(drop)?,
            Step::Query(k) => self.query(k).await?,
            Step::Release(k) => self.end_holder(k, Cmd::Release).await?,
            Step::Panic(k) => self.end_holder(k, Cmd::Panic).await?,
            Step::Abort(k) => self.abort_holder(k).await?,
            Step::CancelQuery(k) => self.cancel_query(k).await?,
            Step::CancelWaiter(k) => self.cancel_waiter(k).await?,
            Step::CancelOpening => self.cancel_opening().await?,
            Step::Burst(n) => self.burst(n).await?,
            Step::Kill(k) => self.kill(k).await?,
            Step::KillAll => self.kill_all().await?,
        }
        self.check_cap().await
    }

    async fn check_cap(&self) -> Checked {
        let peak = self.db.live_peak().await;
        if peak > self.m {
            return Err(Violation(format!(
                "the database saw {peak} connections open at once (by step {}), with max_size {}: count a slot from the \
                 moment a connection starts opening until it is closed, and open only when a slot is free",
                self.step_no, self.m
            )));
        }
        Ok(())
    }

    /// A new task calls `get()`; `lost` words the failure when a slot
    /// should be free and the task gets nothing.
    async fn get(&mut self, lost: Option<String>) -> Result<usize, Violation> {
        let task = self.spawn();
        if self.waiters.is_empty() && self.holders.len() + self.granted.len() < self.m {
            self.granted.push(task);
            let out = self.out_line();
            let m = self.m;
            self.wait(
                move |_| match lost {
                    Some(lost) => lost,
                    None => format!(
                        "task {task} called get() with a slot free ({out}; max_size {m}; nobody waiting) and got \
                         nothing: {LOST_SLOT}"
                    ),
                },
                move |r, _| r.held.contains_key(&task),
            )
            .await?;
        } else {
            self.join_line(task).await?;
            let line = format!("task {task} waits ({}; {} in line)", self.out_line(), self.waiters.len());
            self.note(line);
        }
        Ok(task)
    }

    fn holder(&mut self, k: usize) -> Option<usize> {
        if self.holders.is_empty() {
            self.note("skipped: nobody holds a connection".into());
            return None;
        }
        Some(self.holders[k % self.holders.len()])
    }

    /// A holder is gone (its connection `backend` with it): the model frees
    /// its slot, which goes to the first waiter.
    fn forget_holder(&mut self, task: usize) {
        self.holders.retain(|t| *t != task);
        if let Some(backend) = self.held.remove(&task) {
            if !self.dead.contains_key(&backend) {
                self.idle.push(backend);
            }
        }
    }

    /// The first waiter, now owed the slot that is about to come back.
    fn grant_next(&mut self) -> Option<usize> {
        let next = *self.waiters.front()?;
        self.granted.push(next);
        Some(next)
    }

    async fn serve(&mut self, next: Option<usize>, how: &str) -> Checked {
        let Some(next) = next else { return Ok(()) };
        let how = how.to_string();
        self.wait(
            move |r| {
                format!(
                    "{how}, and task {next} was first in line, but it got nothing ({}): a slot that comes back must go \
                     to the next waiter; {LOST_SLOT}",
                    r.out_line()
                )
            },
            move |r, _| r.held.contains_key(&next),
        )
        .await
    }

    async fn end_holder(&mut self, k: usize, cmd: Cmd) -> Checked {
        let Some(task) = self.holder(k) else { return Ok(()) };
        let backend = self.held[&task];
        let next = self.grant_next();
        // From here the connection is on its way back: a waiter may get it
        // before this task's report arrives.
        self.forget_holder(task);
        let how = match cmd {
            Cmd::Panic => {
                self.note(format!("task {task} panics while holding backend {backend}"));
                let _ = self.actor(task).cmds.send(Cmd::Panic);
                self.join(task).await?;
                format!("task {task} panicked while holding backend {backend}")
            }
            _ => {
                self.note(format!("task {task} drops backend {backend}"));
                let _ = self.actor(task).cmds.send(Cmd::Release);
                self.wait(
                    move |_| format!("task {task} could not drop its connection"),
                    move |r, _| r.actors[task - 1].released,
                )
                .await?;
                format!("task {task} dropped backend {backend}")
            }
        };
        self.serve(next, &how).await
    }

    async fn abort_holder(&mut self, k: usize) -> Checked {
        let Some(task) = self.holder(k) else { return Ok(()) };
        let backend = self.held[&task];
        let next = self.grant_next();
        self.note(format!("task {task} is aborted while holding backend {backend} (JoinHandle::abort)"));
        self.forget_holder(task);
        self.actor(task).task.abort();
        self.join(task).await?;
        self.serve(next, &format!("task {task} was aborted while holding backend {backend}")).await
    }

    async fn query(&mut self, k: usize) -> Checked {
        let Some(task) = self.holder(k) else { return Ok(()) };
        let backend = self.held[&task];
        let word = self.word();
        self.actor(task).rows = None;
        let _ = self.actor(task).cmds.send(Cmd::Query(word.clone()));
        self.wait(
            move |_| format!("task {task}'s query on backend {backend} did not finish"),
            move |r, _| r.actors[task - 1].rows.is_some(),
        )
        .await?;
        let rows = self.actor(task).rows.take().unwrap_or(Ok(vec![]));
        match (rows, self.dead.contains_key(&backend)) {
            (Ok(rows), _) if rows == [word.as_str()] => self.note(format!("task {task} queried {word:?} on backend {backend}: ok")),
            (Err(e), true) => self.note(format!("task {task}'s query on the closed backend {backend} failed, as it must: {e}")),
            (Ok(rows), _) => {
                return Err(Violation(format!(
                    "task {task} queried {word:?} on backend {backend} and got the rows {rows:?}: the answer to an \
                     earlier, abandoned query, read by the next user. A connection Conn::is_broken() reports broken must \
                     be closed, not lent"
                )))
            }
            (Err(e), false) => {
                return Err(Violation(format!(
                    "task {task}'s query {word:?} on backend {backend} failed: {e}. The pool lent a connection that \
                     was not fit for use; check Conn::is_broken() when a connection comes back and before lending it"
                )))
            }
        }
        Ok(())
    }

    async fn cancel_query(&mut self, k: usize) -> Checked {
        let Some(task) = self.holder(k) else { return Ok(()) };
        let backend = self.held[&task];
        if self.dead.contains_key(&backend) {
            self.note(format!("skipped: task {task}'s backend {backend} is already closed"));
            return Ok(());
        }
        let before = self.db.stats().queries;
        self.db.slow_queries(Duration::from_secs(60));
        let word = self.word();
        let _ = self.actor(task).cmds.send(Cmd::Query(word));
        let reached = self
            .wait(move |_| format!("task {task}'s query never reached the database"), move |_, s| s.queries > before)
            .await;
        let next = self.grant_next();
        self.note(format!("task {task} is aborted while its query is on the server (backend {backend})"));
        self.dead.insert(
            backend,
            format!(
                "whose query was abandoned half-way at step {} (its answer was still on the way, for the next user to read)",
                self.step_no
            ),
        );
        self.forget_holder(task);
        self.actor(task).task.abort();
        let joined = self.join(task).await;
        self.db.slow_queries(Duration::ZERO);
        reached?;
        joined?;
        self.serve(next, &format!("task {task} was aborted mid-query on backend {backend}")).await
    }

    async fn cancel_waiter(&mut self, k: usize) -> Checked {
        if self.waiters.is_empty() {
            self.note("skipped: nobody is waiting".into());
            return Ok(());
        }
        let task = self.waiters[k % self.waiters.len()];
        self.note(format!("task {task}'s waiting get() is dropped (JoinHandle::abort)"));
        self.actor(task).task.abort();
        self.join(task).await?;
        self.waiters.retain(|t| *t != task);
        Ok(())
    }

    async fn cancel_opening(&mut self) -> Checked {
        if !self.waiters.is_empty() || self.holders.len() >= self.m {
            self.note("skipped: no slot is free".into());
            return Ok(());
        }
        self.db.hold_handshakes(true);
        let before = self.db.stats().handshaking;
        let task = self.spawn();
        self.granted.push(task);
        let opening = self
            .wait(
                move |_| format!("task {task} called get() with a slot free, but it neither got a connection nor began opening one"),
                move |r, s| s.handshaking > before || r.held.contains_key(&task),
            )
            .await;
        if opening.is_ok() && self.held.contains_key(&task) {
            self.db.hold_handshakes(false);
            self.note(format!("task {task} reused an idle connection, so none was being opened"));
            return Ok(());
        }
        self.note(format!("task {task}'s get() is dropped while its connection is being opened"));
        self.actor(task).task.abort();
        let joined = self.join(task).await;
        self.granted.retain(|t| *t != task);
        // The pool dropped that get() before the handshake can finish.
        self.pool.settle().await;
        self.db.hold_handshakes(false);
        opening?;
        joined
    }

    async fn burst(&mut self, n: usize) -> Checked {
        self.db.hold_handshakes(true);
        let result = self.burst_held(n).await;
        self.db.hold_handshakes(false);
        result?;
        self.wait(
            |r| format!("the database finished its handshakes, yet {} still have no connection", tasks(&r.granted)),
            |r, _| r.granted.is_empty(),
        )
        .await
    }

    async fn burst_held(&mut self, n: usize) -> Checked {
        let mut owed = Vec::new();
        for _ in 0..n {
            let task = self.spawn();
            if self.waiters.is_empty() && self.holders.len() + self.granted.len() < self.m {
                self.granted.push(task);
                owed.push(task);
                self.wait(
                    move |_| format!("task {task}'s get() neither began nor returned"),
                    move |r, _| r.actors[task - 1].pending || r.held.contains_key(&task),
                )
                .await?;
            } else {
                self.join_line(task).await?;
                self.note(format!("task {task} waits ({} in line)", self.waiters.len()));
            }
        }
        let count = owed.len();
        let owed_too = owed.clone();
        self.wait(
            move |r| {
                format!(
                    "{count} tasks ({}) asked at once with {count} slot(s) free, but the database saw only {} connection(s) \
                     being opened at the same time: open connections concurrently (a slot each), never one at a time \
                     behind a lock",
                    tasks(&owed_too),
                    r.db.stats().handshaking
                )
            },
            move |r, s| owed.iter().filter(|t| r.held.contains_key(t)).count() + s.handshaking >= count,
        )
        .await?;
        // Give a pool that opens too many the moment it needs to show it.
        tokio::time::sleep(Duration::from_millis(10)).await;
        self.wait(|_| String::new(), |_, _| true).await?;
        let opening = self.db.stats().handshaking;
        if opening > 0 {
            self.note(format!("{opening} connection(s) being opened, the database holds them; then lets them through"));
        }
        self.check_cap().await
    }

    /// Backends the model believes open: holders' first, then idle ones.
    fn alive(&self) -> Vec<u64> {
        let mut alive: Vec<u64> =
            self.holders.iter().map(|t| self.held[t]).filter(|b| !self.dead.contains_key(b)).collect();
        let mut idle: Vec<u64> = self.idle.iter().copied().filter(|b| !self.dead.contains_key(b)).collect();
        idle.sort_unstable();
        alive.extend(idle);
        alive
    }

    async fn kill(&mut self, k: usize) -> Checked {
        let alive = self.alive();
        if alive.is_empty() {
            self.note("skipped: no connection is open".into());
            return Ok(());
        }
        let backend = alive[k % alive.len()];
        let whose = match self.held.iter().find(|(_, b)| **b == backend) {
            Some((task, _)) => format!("held by task {task}"),
            None => "idle".into(),
        };
        self.note(format!("the database closes backend {backend} ({whose})"));
        self.db.drop_session(backend);
        self.wait(
            move |_| format!("the test database could not close backend {backend}"),
            move |r, _| !r.db.sessions().contains(&backend),
        )
        .await?;
        self.pool.settle().await;
        self.dead.insert(backend, format!("which the database had closed at step {}", self.step_no));
        Ok(())
    }

    async fn kill_all(&mut self) -> Checked {
        let alive = self.alive();
        self.note(format!("the database closes every connection ({})", backends(&alive)));
        self.db.drop_all();
        self.wait(|_| "the test database could not close its connections".into(), |r, _| r.db.sessions().is_empty())
            .await?;
        self.pool.settle().await;
        for backend in alive {
            self.dead.insert(backend, format!("which the database had closed at step {}", self.step_no));
        }
        Ok(())
    }

    /// After the schedule: everything is given back, then every slot must
    /// be usable, and a warm pool must not open any more connections.
    async fn afterwards(&mut self) -> Checked {
        self.transcript.push("  afterwards: every connection is given back".into());
        while !self.holders.is_empty() {
            self.end_holder(0, Cmd::Release).await?;
        }
        let m = self.m;
        self.transcript.push(format!("  then {m} tasks call get() and hold on, so every slot must be usable:"));
        for i in 0..m {
            let lost = format!(
                "after the schedule every connection had been given back, yet only {i} of the pool's {m} slots could \
                 be checked out at once: {LOST_SLOT}"
            );
            self.get(Some(lost)).await?;
        }
        for k in 0..m {
            self.query(k).await?;
        }
        let first: Vec<u64> = self.holders.iter().map(|t| self.held[t]).collect();
        while !self.holders.is_empty() {
            self.end_holder(0, Cmd::Release).await?;
        }
        let opened = self.db.stats().opened;
        self.transcript
            .push(format!("  then {m} tasks check out again: the {m} idle connections must be reused, none opened"));
        for _ in 0..m {
            self.get(None).await?;
        }
        let now = self.db.stats().opened;
        if now != opened {
            return Err(Violation(format!(
                "with {m} healthy idle connections ({}), {m} checkouts made the database open {} new one(s): a warm \
                 pool lends its idle connections and opens a new one only when none is idle",
                backends(&first),
                now - opened
            )));
        }
        while !self.holders.is_empty() {
            self.end_holder(0, Cmd::Release).await?;
        }
        self.check_cap().await
    }
}

fn tasks(ids: &[usize]) -> String {
    ids.iter().map(|t| format!("task {t}")).collect::<Vec<_>>().join(", ")
}

fn backends(ids: &[u64]) -> String {
    let list: Vec<String> = ids.iter().map(|b| format!("backend {b}")).collect();
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}
