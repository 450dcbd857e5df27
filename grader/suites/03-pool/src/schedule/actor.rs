//! One task of a schedule: it asks the pool for a connection, then does
//! what the driver tells it, and reports every change on one channel.

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::fixtures::DELIBERATE_PANIC;
use crate::subject::{Pool, PoolError};

pub enum Cmd {
    Query(String),
    Release,
    Panic,
}

#[derive(Debug)]
pub enum Event {
    /// The first poll of `get()` returned `Pending`: it waits for a slot or
    /// for its connection to open.
    Pending,
    Got(u64),
    GetFailed(String),
    Rows(Result<Vec<String>, String>),
    Released,
}

pub type Events = mpsc::UnboundedSender<(usize, Event)>;

pub struct Actor {
    pub cmds: mpsc::UnboundedSender<Cmd>,
    pub task: JoinHandle<()>,
    pub pending: bool,
    pub rows: Option<Result<Vec<String>, String>>,
    pub released: bool,
}

impl Drop for Actor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn spawn(id: usize, pool: Pool, events: Events) -> Actor {
    let (cmds, mut rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut get = pool.get();
        if !get.answered_at_once().await {
            let _ = events.send((id, Event::Pending));
        }
        let result = get.await;
        let mut conn = match result {
            Ok(conn) => conn,
            Err(e) => {
                let _ = events.send((id, Event::GetFailed(describe(&e))));
                return;
            }
        };
        let _ = events.send((id, Event::Got(conn.backend_id())));
        while let Some(cmd) = rx.recv().await {
            match cmd {
                Cmd::Query(word) => {
                    let rows = conn.query(&word).await.map_err(|e| e.to_string());
                    let _ = events.send((id, Event::Rows(rows)));
                }
                Cmd::Release => {
                    drop(conn);
                    let _ = events.send((id, Event::Released));
                    return;
                }
                Cmd::Panic => panic!("{DELIBERATE_PANIC}: task {id} crashed while holding a connection"),
            }
        }
    });
    Actor { cmds, task, pending: false, rows: None, released: false }
}

fn describe(e: &PoolError) -> String {
    match e {
        PoolError::Timeout { waited, .. } => format!("PoolError::Timeout after {} ms", waited.as_millis()),
        other => format!("\"{other}\""),
    }
}
