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
    // 1. Which page is asking? Browsers send Origin on every WebSocket
    // handshake, and no CORS protects a WebSocket: this check is the gate.
    check_origin(&headers, &state.settings.allowed_origins)?;
    // 2. Who is asking? A browser cannot set Authorization here.
    let token = protocol_token(&headers)?.to_string();
    let user = state.db.call(move |conn| store::user_by_token(conn, &token)).await?;
    let user = user.ok_or_else(|| ApiError::invalid_token("the token does not belong to any user"))?;
    // 3. From where on? `after` is the last notification id the client saw.
    let after = parse_after(query.as_deref())?;
    // 4. Only now the upgrade.
    let upgrade = upgrade.map_err(|e| ApiError::new(e.status(), e.body_text()))?;
    // Subscribe BEFORE the 101 leaves: a client that has its socket and
    // then likes (or has a friend like) must get that push. If the upgrade
    // then fails, the subscription is dropped and the hub forgets it.
    let sub = state.hub.subscribe(user.id, state.settings.queue);
    Ok(upgrade
        .protocols([PROTOCOL])
        .max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
        .on_upgrade(move |socket| serve_socket(socket, state, sub, after)))
}

/// 403 unless the `Origin` header, when there is one, is exactly one of
/// the allowed origins. No Origin means no browser (curl, a server): they
/// can send any Origin they like, so the header only protects browsers'
/// users, and only browsers send it.
pub fn check_origin(headers: &HeaderMap, allowed: &[String]) -> Result<(), ApiError> {
    let Some(origin) = headers.get(ORIGIN) else { return Ok(()) };
    let origin = origin.to_str().unwrap_or("");
    if allowed.iter().any(|a| a == origin) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        format!("pages from {origin:?} may not open the live socket (allowed: {})", allowed.join(", ")),
    ))
}

/// The token of the subprotocol `bearer.TOKEN` among those the client
/// offers in `Sec-WebSocket-Protocol` (a comma-separated list, possibly over
/// several header lines); 401 when there is none or it is empty.
pub fn protocol_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let offered = headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim);
    for protocol in offered {
        if let Some(token) = protocol.strip_prefix(TOKEN_PREFIX) {
            if token.is_empty() {
                return Err(ApiError::unauthorized("the subprotocol bearer. carries no token"));
            }
            return Ok(token);
        }
    }
    Err(ApiError::unauthorized(
        "this needs a user: offer the subprotocols `live` and `bearer.TOKEN` \
         (new WebSocket(url, [\"live\", \"bearer.\" + token]))",
    ))
}

/// `after=ID` from the query: a whole number, 0 or more. Absent: `None`,
/// only the live notifications.
pub fn parse_after(query: Option<&str>) -> Result<Option<i64>, ApiError> {
    let mut after = None;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != "after" {
            continue;
        }
        let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
        match value.parse::<i64>() {
            Ok(id) if digits => after = Some(id),
            _ => {
                return Err(ApiError::bad_request(format!("after is the last notification id you saw, got {value:?}")))
            }
        }
    }
    Ok(after)
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
        let mut sockets = self.lock();
        tx.commit()?;
        let text = match serde_json::to_string(&note) {
            Ok(text) => Utf8Bytes::from(text),
            Err(e) => return Err(ApiError::internal(format!("could not serialise a notification: {e}"))),
        };
        let push = Push { id: note.id, text };
        if let Some(list) = sockets.by_user.get_mut(&owner) {
            list.retain(|s| match s.queue.try_send(push.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    s.slow.notify_one();
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
            if list.is_empty() {
                sockets.by_user.remove(&owner);
            }
        }
        Ok(())
    }

    /// Register a socket of `user` with a queue of `capacity`. From now on
    /// every commit of a notification for `user` lands in the queue (or
    /// marks it slow).
    pub fn subscribe(&self, user: i64, capacity: usize) -> Subscription {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let slow = Arc::new(Notify::new());
        let mut sockets = self.lock();
        sockets.next_id += 1;
        let id = sockets.next_id;
        sockets.by_user.entry(user).or_default().push(Subscriber { id, queue: tx, slow: slow.clone() });
        Subscription { id, user, queue: rx, slow }
    }

    /// The socket is gone: forget it.
    pub fn unsubscribe(&self, sub: &Subscription) {
        let mut sockets = self.lock();
        if let Some(list) = sockets.by_user.get_mut(&sub.user) {
            list.retain(|s| s.id != sub.id);
            if list.is_empty() {
                sockets.by_user.remove(&sub.user);
            }
        }
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

/// How a socket ends.
enum Stop {
    /// Send a close frame with this code and reason, wait for the answer.
    Close(u16, &'static str),
    /// The peer closed, or is gone: nothing more to send.
    Gone,
}

/// The life of one socket, from the upgrade to the close.
///
/// `sub` was taken before the handshake's answer, so BEFORE the table is
/// read: a notification committed in between is in the queue, the table or
/// both, never in neither; the ids weed out the doubles.
pub async fn serve_socket(mut socket: WebSocket, state: AppState, mut sub: Subscription, after: Option<i64>) {
    let hub = state.hub.clone();
    let _open = hub.enter();
    let mut shutdown = hub.shutdown_signal();
    let stop = run(&mut socket, &state, &mut sub, &mut shutdown, after).await;
    hub.unsubscribe(&sub);
    match stop {
        Stop::Close(code, reason) => close(&mut socket, code, reason).await,
        Stop::Gone => {
            // The peer's close frame is answered on the next poll.
            let _ = timeout(CLOSE_LIMIT, drain(&mut socket)).await;
        }
    }
}

async fn run(
    socket: &mut WebSocket,
    state: &AppState,
    sub: &mut Subscription,
    shutdown: &mut watch::Receiver<bool>,
    after: Option<i64>,
) -> Stop {
    let ping_every = state.settings.ping_interval;
    let dead_after = ping_every * SILENT_PINGS;
    // The last id this socket sent: nothing at or below it is sent again.
    let mut last = after.unwrap_or(0);

    if let Some(after) = after {
        let user = sub.user;
        let missed = match state.db.call(move |conn| store::notifications_after(conn, user, after)).await {
            Ok(list) => list,
            Err(_) => return Stop::Close(close_code::ERROR, "could not read the missed notifications"),
        };
        for note in missed {
            let Ok(text) = serde_json::to_string(&note) else { continue };
            if let Err(stop) = send(socket, Message::Text(text.into()), sub, shutdown, dead_after).await {
                return stop;
            }
            last = note.id;
        }
    }

    // The loop below waits on `shutdown` while it sends: a second receiver.
    let mut sending = shutdown.clone();
    let mut ping = interval_at(Instant::now() + ping_every, ping_every);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut heard = Instant::now();
    loop {
        tokio::select! {
            biased;
            _ = stopping(shutdown) => return Stop::Close(close_code::AWAY, "the server is shutting down; reconnect with ?after=LAST_ID"),
            _ = sub.slow.notified() => return too_slow(),
            push = sub.queue.recv() => {
                let Some(push) = push else { return too_slow() };
                if push.id <= last {
                    continue; // already sent from the table
                }
                if let Err(stop) = send(socket, Message::Text(push.text), sub, &mut sending, dead_after).await {
                    return stop;
                }
                last = push.id;
            }
            message = socket.recv() => {
                heard = Instant::now();
                match message {
                    None => return Stop::Gone,
                    Some(Err(e)) => return broken(e),
                    Some(Ok(Message::Text(text))) => {
                        if text.len() > MAX_TEXT {
                            return Stop::Close(close_code::SIZE, "a message is at most 4096 bytes");
                        }
                        if !matches!(serde_json::from_str::<serde_json::Value>(&text), Ok(serde_json::Value::Object(_))) {
                            return Stop::Close(close_code::INVALID, "a text message must be a JSON object");
                        }
                        // A well-formed message: nothing to do, it only shows the peer is alive.
                    }
                    Some(Ok(Message::Binary(_))) => return Stop::Close(close_code::UNSUPPORTED, "this socket speaks JSON text, not binary"),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) => return Stop::Gone,
                }
            }
            _ = ping.tick() => {
                if heard.elapsed() >= dead_after {
                    return Stop::Gone; // a dead peer reads no close frame
                }
                if let Err(stop) = send(socket, Message::Ping(Bytes::new()), sub, &mut sending, dead_after).await {
                    return stop;
                }
            }
        }
    }
}

fn too_slow() -> Stop {
    Stop::Close(close_code::POLICY, "too slow to read: reconnect with ?after=LAST_ID")
}

/// A frame the WebSocket layer could not read: too big (1009), text that
/// is not UTF-8 (1007), or anything else that breaks the protocol (1002).
fn broken(err: axum::Error) -> Stop {
    use tokio_tungstenite::tungstenite::Error as WsError;
    match err.into_inner().downcast_ref::<WsError>() {
        Some(WsError::Capacity(_)) => Stop::Close(close_code::SIZE, "a message is at most 4096 bytes"),
        Some(WsError::Utf8(_)) => Stop::Close(close_code::INVALID, "a text message must be UTF-8"),
        _ => Stop::Close(close_code::PROTOCOL, "malformed frame"),
    }
}

/// Send one message, unless the server stops, the socket is marked slow,
/// or the peer takes longer than `limit` to take it.
async fn send(
    socket: &mut WebSocket,
    message: Message,
    sub: &Subscription,
    shutdown: &mut watch::Receiver<bool>,
    limit: Duration,
) -> Result<(), Stop> {
    tokio::select! {
        biased;
        _ = stopping(shutdown) => Err(Stop::Close(close_code::AWAY, "the server is shutting down; reconnect with ?after=LAST_ID")),
        _ = sub.slow.notified() => Err(too_slow()),
        sent = timeout(limit, socket.send(message)) => match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Stop::Gone),
            Err(_) => Err(too_slow()),
        },
    }
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
