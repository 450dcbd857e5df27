//! Seeds: every random choice of a run derives from one number, printed so
//! the run can be replayed with `--seed`.

/// A seed for a run nobody asked to replay.
pub fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.finish() % 1_000_000_000
}
