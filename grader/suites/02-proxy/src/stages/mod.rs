//! One module per stage of exercise.toml, in the order of the course.

pub mod errors;
pub mod headers;
pub mod hosts;
pub mod locations;
pub mod passthrough;
pub mod redirect;
pub mod scenario;
pub mod snapshot;
pub mod start;
pub mod uri;
