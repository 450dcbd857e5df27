//! Random schedules: seeded sequences of what the tasks of a web server do
//! to a pool (ask, query, give back, crash, get cancelled while waiting,
//! while connecting or mid-query) and what the database does to them
//! (closing connections, slow handshakes). `run` plays one against the
//! pool and checks the invariants after every step; `shrink` proposes
//! shorter schedules, so a failure is shown as the fewest steps that still
//! break the pool.

mod actor;
mod run;

pub use run::{run, Report};

/// One step. A number picks among the tasks in that role at the time the
/// step runs (oldest first, wrapping around), so a step stays meaningful
/// when a shrink removes the steps before it; a step with nobody in its
/// role is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A new task calls `get()`.
    Get,
    /// A holder runs a query.
    Query(usize),
    /// A holder drops its connection.
    Release(usize),
    /// A holder's task panics.
    Panic(usize),
    /// A holder's task is aborted while it holds the connection.
    Abort(usize),
    /// A holder's task is aborted while its query is on the server.
    CancelQuery(usize),
    /// A waiting `get()` is dropped.
    CancelWaiter(usize),
    /// A `get()` is dropped while its connection is being opened.
    CancelOpening,
    /// This many tasks call `get()` while the database holds handshakes.
    Burst(usize),
    /// The database closes one connection (holders' first, then idle ones).
    Kill(usize),
    /// The database closes every connection.
    KillAll,
}

impl Step {
    pub fn show(&self) -> String {
        match self {
            Step::Get => "get()".into(),
            Step::Query(_) => "a holder runs a query".into(),
            Step::Release(_) => "a holder drops its connection".into(),
            Step::Panic(_) => "a holder's task panics".into(),
            Step::Abort(_) => "a holder's task is aborted".into(),
            Step::CancelQuery(_) => "a holder's task is aborted mid-query".into(),
            Step::CancelWaiter(_) => "a waiting get() is dropped".into(),
            Step::CancelOpening => "a get() is dropped while its connection opens".into(),
            Step::Burst(n) => format!("{n} tasks call get() at once, connects held"),
            Step::Kill(_) => "the database closes one connection".into(),
            Step::KillAll => "the database closes every connection".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub max_size: usize,
    pub steps: Vec<Step>,
    /// Seeds the query texts, so every replay sends the same ones.
    pub words: u64,
}

/// The kinds of step a schedule sets out to exercise, each at least once.
#[derive(Clone, Copy)]
enum Goal {
    Query,
    Release,
    Panic,
    Abort,
    CancelQuery,
    CancelWaiter,
    CancelOpening,
    Burst,
    Kill,
    KillAll,
}

const GOALS: [Goal; 10] = [
    Goal::Query,
    Goal::Release,
    Goal::Panic,
    Goal::Abort,
    Goal::CancelQuery,
    Goal::CancelWaiter,
    Goal::CancelOpening,
    Goal::Burst,
    Goal::Kill,
    Goal::KillAll,
];

impl Schedule {
    /// A schedule that exercises every kind of step at least once (in a
    /// random order, with random steps between), on a pool of 1 to 3.
    pub fn random(rng: &mut fastrand::Rng) -> Schedule {
        let max_size = rng.usize(1..=3);
        let mut sim = Sim { m: max_size, holders: Vec::new(), waiters: 0, idle: 0, steps: Vec::new() };
        let mut goals = GOALS.to_vec();
        rng.shuffle(&mut goals);
        for goal in goals {
            sim.reach(goal, rng);
            if rng.bool() {
                let filler = match rng.usize(0..3) {
                    0 if sim.waiters < 2 => Step::Get,
                    1 if !sim.holders.is_empty() => Step::Query(rng.usize(0..sim.holders.len())),
                    _ if !sim.holders.is_empty() => Step::Release(rng.usize(0..sim.holders.len())),
                    _ => Step::Get,
                };
                sim.push(filler);
            }
        }
        Schedule { max_size, steps: sim.steps, words: rng.u64(..) }
    }

    /// Simpler schedules, most promising first: whole runs of steps left
    /// out (halves first), then a smaller pool, then simpler steps.
    pub fn shrink(&self) -> Vec<Schedule> {
        let mut out = Vec::new();
        let n = self.steps.len();
        let mut size = n / 2;
        while size >= 1 {
            let mut start = 0;
            while start < n {
                let mut steps = self.steps.clone();
                steps.drain(start..(start + size).min(n));
                out.push(Schedule { steps, ..self.clone() });
                start += size;
            }
            size /= 2;
        }
        if self.max_size > 1 {
            out.push(Schedule { max_size: self.max_size - 1, ..self.clone() });
        }
        for (i, step) in self.steps.iter().enumerate() {
            let simpler = match *step {
                Step::Burst(n) if n > 1 => Step::Burst(n - 1),
                Step::Burst(_) => Step::Get,
                Step::Panic(k) | Step::Abort(k) => Step::Release(k),
                Step::KillAll => Step::Kill(0),
                Step::Query(k) | Step::Release(k) | Step::CancelQuery(k) | Step::CancelWaiter(k) | Step::Kill(k)
                    if k > 0 =>
                {
                    match *step {
                        Step::Query(_) => Step::Query(0),
                        Step::Release(_) => Step::Release(0),
                        Step::CancelQuery(_) => Step::CancelQuery(0),
                        Step::CancelWaiter(_) => Step::CancelWaiter(0),
                        _ => Step::Kill(0),
                    }
                }
                _ => continue,
            };
            let mut steps = self.steps.clone();
            steps[i] = simpler;
            out.push(Schedule { steps, ..self.clone() });
        }
        out
    }
}

/// A rough model of a correct pool, used only to write schedules whose
/// steps find someone in their role (the run itself keeps the exact model).
struct Sim {
    m: usize,
    /// Holders in the order they got a connection: is the connection alive?
    holders: Vec<bool>,
    waiters: usize,
    /// Idle connections that are alive.
    idle: usize,
    steps: Vec<Step>,
}

impl Sim {
    fn push(&mut self, step: Step) {
        self.apply(step);
        self.steps.push(step);
    }

    fn get(&mut self) {
        if self.waiters == 0 && self.holders.len() < self.m {
            self.idle = self.idle.saturating_sub(1);
            self.holders.push(true);
        } else {
            self.waiters += 1;
        }
    }

    /// A holder is gone; its slot goes to the first waiter.
    fn free(&mut self, alive: bool) {
        if alive {
            self.idle += 1;
        }
        if self.waiters > 0 {
            self.waiters -= 1;
            self.idle = self.idle.saturating_sub(1);
            self.holders.push(true);
        }
    }

    fn apply(&mut self, step: Step) {
        let len = self.holders.len().max(1);
        match step {
            Step::Get => self.get(),
            Step::Burst(n) => (0..n).for_each(|_| self.get()),
            Step::Release(k) | Step::Panic(k) | Step::Abort(k) if !self.holders.is_empty() => {
                let alive = self.holders.remove(k % len);
                self.free(alive);
            }
            Step::CancelQuery(k) if self.holders.get(k % len) == Some(&true) => {
                self.holders.remove(k % len);
                self.free(false);
            }
            Step::CancelWaiter(_) => self.waiters = self.waiters.saturating_sub(1),
            Step::Kill(k) => {
                let alive: Vec<usize> = (0..self.holders.len()).filter(|i| self.holders[*i]).collect();
                let total = alive.len() + self.idle;
                if total > 0 {
                    match alive.get(k % total) {
                        Some(i) => self.holders[*i] = false,
                        None => self.idle -= 1,
                    }
                }
            }
            Step::KillAll => {
                self.holders.iter_mut().for_each(|h| *h = false);
                self.idle = 0;
            }
            _ => {}
        }
    }

    /// Add the steps that make `goal` possible, then `goal` itself.
    fn reach(&mut self, goal: Goal, rng: &mut fastrand::Rng) {
        let any_holder = |s: &mut Sim, rng: &mut fastrand::Rng| {
            if s.holders.is_empty() {
                s.push(Step::Get);
            }
            rng.usize(0..s.holders.len())
        };
        match goal {
            Goal::Query => {
                let k = any_holder(self, rng);
                self.push(Step::Query(k));
            }
            Goal::Release => {
                let k = any_holder(self, rng);
                self.push(Step::Release(k));
            }
            Goal::Panic => {
                let k = any_holder(self, rng);
                self.push(Step::Panic(k));
            }
            Goal::Abort => {
                let k = any_holder(self, rng);
                self.push(Step::Abort(k));
            }
            Goal::CancelQuery => {
                for _ in 0..8 {
                    if self.holders.contains(&true) {
                        break;
                    }
                    if self.holders.len() < self.m && self.waiters == 0 {
                        self.push(Step::Get);
                    } else {
                        self.push(Step::Release(0));
                    }
                }
                let alive: Vec<usize> = (0..self.holders.len()).filter(|i| self.holders[*i]).collect();
                if let Some(&k) = alive.get(rng.usize(0..alive.len().max(1))) {
                    self.push(Step::CancelQuery(k));
                }
            }
            Goal::CancelWaiter => {
                while self.waiters == 0 {
                    self.push(Step::Get);
                }
                self.push(Step::CancelWaiter(rng.usize(0..self.waiters)));
                // Give back a connection: a slot handed to the dropped waiter would be lost.
                let k = rng.usize(0..self.holders.len());
                self.push(Step::Release(k));
            }
            Goal::CancelOpening => {
                while self.waiters > 0 || self.holders.len() >= self.m {
                    let k = rng.usize(0..self.holders.len());
                    self.push(Step::Release(k));
                }
                // Idle connections would be reused: have the database close them.
                let alive_held = self.holders.iter().filter(|h| **h).count();
                while self.idle > 0 {
                    self.push(Step::Kill(alive_held));
                }
                self.push(Step::CancelOpening);
            }
            Goal::Burst => {
                // Free a slot or more, then ask for one more than is free.
                while self.waiters > 0 || self.holders.len() >= self.m || rng.bool() && !self.holders.is_empty() {
                    let k = rng.usize(0..self.holders.len());
                    self.push(Step::Release(k));
                }
                self.push(Step::Burst(self.m - self.holders.len() + 1));
            }
            Goal::Kill => {
                if !self.holders.contains(&true) && self.idle == 0 {
                    self.push(Step::Get);
                }
                let alive = self.holders.iter().filter(|h| **h).count() + self.idle;
                self.push(Step::Kill(rng.usize(0..alive.max(1))));
            }
            Goal::KillAll => self.push(Step::KillAll),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_goal_appears_and_shrinks_are_smaller() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..200 {
            let s = Schedule::random(&mut rng);
            assert!(s.steps.iter().any(|s| matches!(s, Step::CancelWaiter(_))), "{s:?}");
            assert!(s.steps.contains(&Step::CancelOpening), "{s:?}");
            assert!(s.steps.len() <= 60, "{}", s.steps.len());
            for smaller in s.shrink() {
                assert!(smaller.steps.len() < s.steps.len() || smaller != s);
            }
        }
    }
}
