//! The checks, one module per stage of `exercise.toml`.

pub mod bind;
pub mod concurrency;
pub mod errors;
pub mod json;
pub mod static_files;
