//! One module per stage of exercise.toml, in the order a student meets them.

pub mod browser;
pub mod handshake;
pub mod limits;
pub mod push;
pub mod random;
pub mod replay;
pub mod shutdown;
