//! One check's server: a world, the student's program started on it, and
//! sockets opened the way a page on the allowed origin opens them.

use std::net::SocketAddr;
use std::time::Duration;

use harness::http::Client;
use harness::process::Proc;
use harness::{Ctx, Failure};
use serde_json::Value;

use crate::world::{Person, World};
use crate::ws::{self, Event, Live, Open};

/// How long a handshake may take.
pub const HANDSHAKE_LIMIT: Duration = Duration::from_secs(5);
/// How long a push may take to arrive after the like was answered. The
/// reference pushes in well under 100 ms on a loaded 2-core machine; "at
/// once" is judged with a wide margin.
pub const PUSH_LIMIT: Duration = Duration::from_secs(5);

pub struct Fx {
    pub world: World,
    pub proc: Proc,
    pub client: Client,
}

impl Fx {
    pub async fn start(cx: &Ctx, world: World) -> Result<Fx, Failure> {
        let (proc, client) = world.start(cx).await?;
        Ok(Fx { world, proc, client })
    }

    pub async fn start_bin(cx: &Ctx, world: World, bin: &std::path::Path) -> Result<Fx, Failure> {
        let (proc, client) = world.start_bin(cx, bin).await?;
        Ok(Fx { world, proc, client })
    }

    pub fn addr(&self) -> SocketAddr {
        self.client.addr()
    }

    /// How `who`'s page opens the socket.
    pub fn how(&self, who: &Person) -> Open {
        Open::browser(self.world.origin(), &who.token)
    }

    /// `who`'s socket, opened as their page opens it.
    pub async fn socket(&self, who: &Person) -> Result<Live, Failure> {
        self.open(&self.how(who)).await
    }

    pub async fn open(&self, how: &Open) -> Result<Live, Failure> {
        ws::must_open(self.addr(), how, HANDSHAKE_LIMIT).await.map_err(|f| self.with_output(f))
    }

    pub fn with_output(&self, f: Failure) -> Failure {
        if f.output().is_some() {
            return f;
        }
        f.with_output(self.proc.output())
    }

    /// The next event must be a push; returns it.
    pub async fn push(&self, live: &mut Live, what: &str) -> Result<Value, Failure> {
        match live.next(PUSH_LIMIT).await {
            Event::Push(v) => Ok(v),
            other => Err(self.with_output(Failure::new(format!(
                "{what}: expected a notification pushed as a JSON text message within {} s, got {}",
                PUSH_LIMIT.as_secs(),
                other.describe()
            )))),
        }
    }
}

/// The JSON of a notification as the table holds it, for messages.
pub fn show(v: &Value) -> String {
    v.to_string()
}

/// Whether a push is the like of `post` by `from`, with the id `id`.
pub fn is_like(v: &Value, id: Option<i64>, post: i64, from: &Person) -> bool {
    v.get("type").and_then(Value::as_str) == Some("like")
        && v.get("post_id").and_then(Value::as_i64) == Some(post)
        && v.pointer("/from/id").and_then(Value::as_i64) == Some(from.id)
        && v.pointer("/from/name").and_then(Value::as_str) == Some(from.name.as_str())
        && (id.is_none() || ws::id_of(v) == id)
}
