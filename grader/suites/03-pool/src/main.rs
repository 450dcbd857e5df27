//! Hidden suite of 03-pool. The student's pool runs in a host program of
//! its own (`host/`, which links their crate) and is called through its
//! public API by a shim (`subject`), in front of the kit's database server
//! (`harness::db`): real TCP on loopback, an expensive handshake, a hard
//! connection limit and counters that show what the pool really did.

use std::process::ExitCode;

mod fixtures;
mod schedule;
mod stages;
mod subject;

use stages::{basics, failures, fairness, limits, performance, schedules};

fn main() -> ExitCode {
    harness::Suite::new("03-pool", env!("CARGO_MANIFEST_DIR"))
        // Run by hand, the host is found next to the suite: build both
        // (`cargo build -p pool-host -p pool-suite`).
        .subject_bin("pool-host")
        .check("basics.query", basics::query)
        .check("basics.lazy", basics::lazy)
        .check("basics.reuse", basics::reuse)
        .check("basics.shared", basics::shared)
        .check("limits.cap", limits::cap)
        .check("limits.timeout", limits::timeout)
        .check("limits.connect_timeout", limits::connect_timeout)
        .check("limits.waits_for_return", limits::waits_for_return)
        .check("failures.server_dropped", failures::server_dropped)
        .check("failures.cancelled_query", failures::cancelled_query)
        .check("failures.panic_holder", failures::panic_holder)
        .check("failures.aborted_holder", failures::aborted_holder)
        .check("failures.connect_error", failures::connect_error)
        .check("fairness.fifo", fairness::fifo)
        .check("fairness.no_barging", fairness::no_barging)
        .check("schedules.invariants", schedules::invariants)
        .check("performance.speedup", performance::speedup)
        .main()
}
