//! What every hidden suite shares.
//!
//! A suite is a small binary: it declares its checks with [`Suite::check`]
//! and calls [`Suite::main`]. Run by the grader it reports each check as an
//! event on the structured channel ([`grade_protocol`]); run by hand
//! (`cargo run -p bind-suite`) it prints a plain summary and exits non-zero
//! on failure, like `cargo test`.

mod channel;
pub mod chromium;
pub mod context;
pub mod db;
pub mod differential;
pub mod failure;
pub mod fs;
pub mod host;
pub mod http;
pub mod process;
mod repro;
pub mod sandbox;
pub mod snapshot;
mod suite;

pub use context::Ctx;
pub use failure::Failure;
pub use grade_protocol as protocol;
pub use suite::Suite;

/// What a check returns: `Ok(())` passes, a [`Failure`] explains why not.
pub type CheckResult = Result<(), Failure>;

/// Fail the current check with a formatted message.
#[macro_export]
macro_rules! fail {
    ($($arg:tt)*) => {
        return Err($crate::Failure::new(format!($($arg)*)))
    };
}

/// Skip the current check: it cannot run on this machine (say what to install).
#[macro_export]
macro_rules! skip {
    ($($arg:tt)*) => {
        return Err($crate::Failure::skip(format!($($arg)*)))
    };
}

/// Fail the current check unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            $crate::fail!($($arg)*);
        }
    };
}
