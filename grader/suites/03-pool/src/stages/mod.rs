//! The checks, one module per stage of `exercise.toml`.

pub mod basics;
pub mod failures;
pub mod fairness;
pub mod limits;
pub mod performance;
pub mod schedules;
