//! One module per stage of `exercise.toml`, in grading order.

pub mod actual;
pub mod browser;
pub mod preflight;
pub mod start;
