//! Ending what a grade started, also when the user presses Ctrl-C.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic store: async-signal-safe. The runner sees the flag
    // within one poll and kills what it started before exiting.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Catch Ctrl-C and SIGTERM so the suite's process groups (which the
/// terminal does not signal: they are groups of their own) are killed.
pub fn catch_interrupts() {
    // SAFETY: installs a handler that only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

pub use grade_protocol::shared::kill_group;
