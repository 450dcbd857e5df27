//! What travels between a suite (the client, `harness::host`) and a host:
//! one JSON object per line, requests on the host's stdin, replies on its
//! stdout.
//!
//! Every request has an id, unique within the host's life. An operation
//! that runs (a call) gets `pending` when its first poll did not finish it,
//! then one final reply: `done`, `panicked` or `refused`. The generic
//! operations below are understood by every host; the rest belong to the
//! exercise.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Stop the call `on` (its future is dropped, as a cancelled task's would
/// be); if it already produced a held object, release that. No reply.
pub const CANCEL: &str = "cancel";
/// Drop the held object `on`. No reply.
pub const RELEASE: &str = "release";
/// Drop the held object `on` while its task panics, as a request handler
/// that crashes while holding it would. No reply.
pub const RELEASE_PANICKING: &str = "release_panicking";
/// Let the host's I/O reactor take in everything the kernel has delivered
/// so far (see [`crate::reactor_turn`]); replies `done` once it has.
pub const TURN: &str = "turn";

/// One request: `{"id": 7, "op": "query", "on": 3, "args": {...}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    pub id: u64,
    pub op: String,
    /// The object the operation is about: a held object, an earlier call,
    /// or an object of the exercise's own (a pool handle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<u64>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub args: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// The call's first poll returned `Pending`: it waits.
    Pending { id: u64 },
    /// The call returned: `ok` with its value, or an error of the API (a
    /// `Result::Err`, described by the exercise's host).
    Done { id: u64, ok: bool, value: Value },
    /// The student's code panicked during the call, at `at` (`FILE:LINE:COL`).
    Panicked { id: u64, message: String, at: String },
    /// The host could not run the request (an unknown operation, an object
    /// that is gone): a fault of the kit or of an earlier call.
    Refused { id: u64, why: String },
}

impl Reply {
    pub fn id(&self) -> u64 {
        match self {
            Reply::Pending { id } | Reply::Done { id, .. } | Reply::Panicked { id, .. } | Reply::Refused { id, .. } => {
                *id
            }
        }
    }
}
