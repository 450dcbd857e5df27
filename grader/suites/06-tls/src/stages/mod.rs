//! One module per stage of exercise.toml, in the order of the course.

pub mod certs;
pub mod handshake;
pub mod port80;
pub mod proxy;
pub mod reload;
pub mod snapshot;
pub mod start;
pub mod tools;
