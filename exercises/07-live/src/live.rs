//! The live part: `GET /api/live` upgrades to a WebSocket on which the
//! server pushes every new notification of the user, at once.
//!
//! - The handshake ([`connect`]): the Origin is one of the allowed
//!   frontends (403 otherwise), the token is the subprotocol
//!   `bearer.TOKEN` (401 otherwise), `?after=ID` is a notification id
//!   (400 otherwise). Only then the upgrade (101).
//! - The hub ([`Hub`]): who has which sockets open. A like's transaction
//!   commits and its notification is pushed under the hub's lock, so the
//!   pushes leave in commit order, which is id order.
//! - One task per socket ([`serve_socket`]): replay what the client missed,
//!   then the live ones, pings, a bounded queue, bad input, shutdown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::header::{ORIGIN, SEC_WEBSOCKET_PROTOCOL};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rusqlite::Transaction;
use tokio::sync::{mpsc, watch, Notify};
use tokio::time::{interval_at, timeout, Instant, MissedTickBehavior};

use crate::app::AppState;
use crate::config::SILENT_PINGS;
use crate::error::ApiError;
use crate::store::{self, Notification};

/// The subprotocol a client offers, and the server selects, besides the
/// token: `new WebSocket(url, ["live", "bearer." + token])`.
pub const PROTOCOL: &str = "live";
/// The prefix of the subprotocol that carries the token.
pub const TOKEN_PREFIX: &str = "bearer.";
/// The largest text message a client may send; larger is closed with 1009.
pub const MAX_TEXT: usize = 4096;
/// The largest frame the WebSocket layer reads at all.
const MAX_FRAME: usize = 64 * 1024;
/// How long a close frame may take to leave, and the peer to answer it.
const CLOSE_LIMIT: Duration = Duration::from_secs(1);

/// What the live part is told at startup (from `config.rs`).
pub struct Settings {
    pub allowed_origins: Vec<String>,
    pub ping_interval: Duration,
    pub queue: usize,
}

/// `GET /api/live[?after=ID]`: check the handshake, then upgrade.
pub async fn connect(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    todo!("check the Origin, the token and ?after=, subscribe, then upgrade (docs/src/07-live.md, \"The handshake\")")
}

/// 403 unless the `Origin` header, when there is one, is exactly one of
/// the allowed origins. No Origin means no browser (curl, a server): they
/// can send any Origin they like, so the header only protects browsers'
/// users, and only browsers send it.
pub fn check_origin(headers: &HeaderMap, allowed: &[String]) -> Result<(), ApiError> {
    todo!("403 unless a sent Origin is exactly one of `allowed` (docs/src/07-live.md, \"Why the server checks the Origin\")")
}

/// The token of the subprotocol `bearer.TOKEN` among those the client
/// offers in `Sec-WebSocket-Protocol` (a comma-separated list, possibly over
/// several header lines); 401 when there is none or it is empty.
pub fn protocol_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    todo!("the token of the subprotocol bearer.TOKEN, else 401 (docs/src/07-live.md, \"Carrying the token\")")
}

/// `after=ID` from the query: a whole number, 0 or more. Absent: `None`,
/// only the live notifications.
pub fn parse_after(query: Option<&str>) -> Result<Option<i64>, ApiError> {
    todo!("after=ID from the query, a whole number; else 400 (docs/src/07-live.md, \"Reconnecting without loss\")")
}

/// One notification as it travels to a socket: its id, and the JSON text
/// made once for every socket it goes to.
#[derive(Clone)]
pub struct Push {
    pub id: i64,
    pub text: Utf8Bytes,
}

/// Who has which sockets open, and the server-wide shutdown signal.
pub struct Hub {
    sockets: Mutex<Sockets>,
    shutdown: watch::Sender<bool>,
    open: watch::Sender<usize>,
}

#[derive(Default)]
struct Sockets {
    next_id: u64,
    by_user: HashMap<i64, Vec<Subscriber>>,
}

/// The hub's end of one socket.
struct Subscriber {
    id: u64,
    queue: mpsc::Sender<Push>,
    slow: Arc<Notify>,
}

/// The socket task's end.
pub struct Subscription {
    id: u64,
    user: i64,
    queue: mpsc::Receiver<Push>,
    slow: Arc<Notify>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub { sockets: Mutex::default(), shutdown: watch::channel(false).0, open: watch::channel(0).0 }
    }
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, Sockets> {
        self.sockets.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Commit the like's transaction and push its notification to every
    /// open socket of `owner`, both under the hub's lock: two likes commit
    /// one after the other (SQLite's write lock) and, holding this lock
    /// from before the commit to after the push, they are pushed in the
    /// same order, so every socket sees ids in increasing order.
    ///
    /// A socket whose queue is full is not waited for: it is told it is
    /// too slow (it closes with 1008) and leaves the hub. Nobody else
    /// waits for it.
    pub fn commit_and_publish(&self, tx: Transaction<'_>, owner: i64, note: Notification) -> Result<(), ApiError> {
        todo!("lock, commit, try_send to each socket of owner, mark the full ones slow (docs/src/07-live.md, \"Publishing in order\")")
    }

    /// Register a socket of `user` with a queue of `capacity`. From now on
    /// every commit of a notification for `user` lands in the queue (or
    /// marks it slow).
    pub fn subscribe(&self, user: i64, capacity: usize) -> Subscription {
        todo!("a bounded queue for a new socket of user, registered under the lock (docs/src/07-live.md, \"Publishing in order\")")
    }

    /// The socket is gone: forget it.
    pub fn unsubscribe(&self, sub: &Subscription) {
        todo!("forget this socket (docs/src/07-live.md, \"Publishing in order\")")
    }

    /// Tell every socket task that the server is stopping.
    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    /// A receiver of the shutdown signal: `true` once the server stops.
    /// Wait for it with [`stopping`].
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Resolves once [`Hub::shut_down`] was called.
    pub async fn shutdown_requested(&self) {
        let mut rx = self.shutdown.subscribe();
        let _ = rx.wait_for(|stop| *stop).await;
    }

    /// Wait until every socket task has ended, at most `limit`; how many
    /// were still open.
    pub async fn wait_closed(&self, limit: Duration) -> usize {
        let mut open = self.open.subscribe();
        let _ = timeout(limit, open.wait_for(|n| *n == 0)).await;
        let left = *open.borrow();
        left
    }

    /// Count a socket task as open until the guard drops (what
    /// [`Hub::wait_closed`] waits for). Keep it for the task's whole life.
    pub fn enter(self: &Arc<Self>) -> OpenGuard {
        self.open.send_modify(|n| *n += 1);
        OpenGuard(self.clone())
    }
}

/// Counts a socket task as open while it lives.
pub struct OpenGuard(Arc<Hub>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.send_modify(|n| *n -= 1);
    }
}

/// The life of one socket, from the upgrade to the close.
///
/// `sub` was taken before the handshake's answer, so BEFORE the table is
/// read: a notification committed in between is in the queue, the table or
/// both, never in neither; the ids weed out the doubles.
pub async fn serve_socket(mut socket: WebSocket, state: AppState, mut sub: Subscription, after: Option<i64>) {
    todo!("replay, then the select! loop: shutdown, slow, queue, recv, ping (docs/src/07-live.md, \"One task per socket\")")
}

/// Send a close frame and give the peer a moment to answer it, so that
/// the close frame is read before the connection goes.
pub async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
    if matches!(timeout(CLOSE_LIMIT, socket.send(Message::Close(Some(frame)))).await, Ok(Ok(()))) {
        let _ = timeout(CLOSE_LIMIT, drain(socket)).await;
    }
}

async fn drain(socket: &mut WebSocket) {
    while let Some(Ok(_)) = socket.recv().await {}
}

/// Resolves once the server is shutting down (a future that is `Send`, for
/// `tokio::select!` in a socket task).
pub async fn stopping(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}
