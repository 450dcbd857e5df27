//! Stage `schedules`: everything at once, at random. Seeded schedules of
//! checkouts, queries, returns, panics, aborted holders, dropped waiters,
//! dropped connects and connections the database closes; after every step
//! the pool must agree with a model of a correct pool (cap, first come first
//! served, nothing broken lent), and afterwards every slot must be usable.

use std::time::{Duration, Instant};

use harness::{CheckResult, Ctx, Failure};

use crate::fixtures::quiet_deliberate_panics;
use crate::schedule::{self, Report, Schedule};

const SCHEDULES: usize = 3;
/// How long an expected event may take in a verdict: far more than a correct
/// pool needs on a loaded machine (it answers in milliseconds).
const BOUND: Duration = Duration::from_millis(2500);
/// While shrinking a schedule already known to fail, waits are short; the
/// shrunk schedule is confirmed with the full bound before it is shown.
const QUICK_BOUND: Duration = Duration::from_millis(400);
const SHRINK_TIME: Duration = Duration::from_secs(5);
const SHRINK_RUNS: usize = 80;

pub async fn invariants(mut cx: Ctx) -> CheckResult {
    quiet_deliberate_panics();
    let schedules: Vec<Schedule> = (0..SCHEDULES).map(|_| Schedule::random(cx.rng())).collect();
    for (i, schedule) in schedules.iter().enumerate() {
        let report = schedule::run(&cx, schedule, BOUND).await?;
        let Some(violation) = report.violation.clone() else { continue };
        let (shrunk, report) = shrink(&cx, schedule, report).await?;
        let how = if shrunk.steps.len() < schedule.steps.len() || shrunk.max_size < schedule.max_size {
            format!(
                "shrunk from {} steps on a pool of {} to {} on a pool of {}",
                schedule.steps.len(),
                schedule.max_size,
                shrunk.steps.len(),
                shrunk.max_size
            )
        } else {
            format!("{} steps on a pool of {}", schedule.steps.len(), schedule.max_size)
        };
        let shown = report.violation.unwrap_or(violation);
        return Err(Failure::new(format!(
            "{shown}\n\nRandom schedule {} of {SCHEDULES} broke an invariant ({how}); its steps and what your pool did \
             are under `response`. The same seed replays the same schedules.",
            i + 1
        ))
        .with_request(format!("cargo grade 03-pool --seed {}", cx.seed()))
        .with_response(report.transcript.join("\n")));
    }
    Ok(())
}

/// The smallest schedule found that still fails, with its report (the
/// original when nothing smaller fails for sure).
async fn shrink(cx: &Ctx, original: &Schedule, first: Report) -> Result<(Schedule, Report), Failure> {
    let started = Instant::now();
    let mut best = original.clone();
    let mut runs = 0;
    'smaller: loop {
        for candidate in best.shrink() {
            if started.elapsed() >= SHRINK_TIME || runs >= SHRINK_RUNS {
                break 'smaller;
            }
            runs += 1;
            if schedule::run(cx, &candidate, QUICK_BOUND).await?.violation.is_some() {
                best = candidate;
                continue 'smaller;
            }
        }
        break;
    }
    if best == *original {
        return Ok((best, first));
    }
    let confirmed = schedule::run(cx, &best, BOUND).await?;
    if confirmed.violation.is_some() {
        Ok((best, confirmed))
    } else {
        Ok((original.clone(), first))
    }
}
