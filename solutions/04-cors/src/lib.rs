//! Exercise 04: an API that a frontend on another origin may call, because
//! it says so with CORS headers, and only for the origins it trusts.
//!
//! The server, its routes and its configuration are done. Your part is
//! `src/cors.rs`: the layer that decides, for every request, which CORS
//! headers the answer carries. Read `docs/src/04-cors.md` first; run
//! `cargo run -p cors` to try it by hand and `cargo grade 04-cors` to be
//! graded.

pub mod api;
pub mod app;
pub mod config;
pub mod cors;

pub use crate::cors::{Cors, CorsBuilder};
