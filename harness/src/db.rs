//! A small database server for the pool exercise: real TCP on loopback, a
//! line protocol, an expensive handshake and a hard connection limit, so a
//! pool can be graded against something that behaves like PostgreSQL where
//! it matters (and nothing needs installing).
//!
//! The protocol, one line each way, `\n`-terminated:
//!
//! ```text
//! client                      server
//! HELLO <user> <password>  -> OK <backend id>          after the connect cost
//!                          -> ERROR 53300 sorry, too many clients already
//!                          -> ERROR 57P03 the database system is starting up   (refusing)
//!                          -> ERROR 28P01 password authentication failed for user "<user>"
//! PING                     -> PONG
//! QUERY <text>             -> ROW <text>, then DONE    after the query cost
//! QUIT                     -> (the server closes)
//! anything else            -> ERROR 42601 syntax error at or near "<word>"
//! ```
//!
//! When the server ends a session itself ([`Db::drop_all`], [`Db::drop_session`])
//! it first sends `ERROR 57P01 terminating connection due to administrator command`.
//!
//! Besides its cost and its faults, the server can hold every handshake
//! ([`Db::hold_handshakes`]) so a suite controls exactly when connects finish,
//! and it counts sessions as a pool's owner sees them: a session whose client
//! has hung up no longer counts towards [`Stats::live_peak`], even if the
//! server has not read the goodbye yet.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// Sessions allowed at once; the next one is refused with SQLSTATE
    /// 53300, as PostgreSQL does beyond its `max_connections` (100 by default).
    pub max_connections: usize,
    /// Time between `HELLO` and `OK`: the handshake and authentication that
    /// make opening a connection expensive.
    pub connect_cost: Duration,
    /// Time every query takes.
    pub query_cost: Duration,
    /// The password `HELLO` must give; `None` accepts any.
    pub password: Option<String>,
}

impl Default for DbConfig {
    fn default() -> Self {
        DbConfig {
            max_connections: 100,
            connect_cost: Duration::from_millis(30),
            query_cost: Duration::ZERO,
            password: None,
        }
    }
}

impl DbConfig {
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    pub fn connect_cost(mut self, cost: Duration) -> Self {
        self.connect_cost = cost;
        self
    }

    pub fn query_cost(mut self, cost: Duration) -> Self {
        self.query_cost = cost;
        self
    }
}

/// The server's counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Sessions admitted since the start (each one paid the connect cost).
    pub opened: u64,
    /// Sessions open now.
    pub open: usize,
    /// The most sessions ever open at once.
    pub peak: usize,
    /// Connection attempts refused (too many clients, or refusing).
    pub refused: u64,
    /// Queries received.
    pub queries: u64,
    /// Sessions admitted whose handshake has not finished (held, or paying
    /// the connect cost).
    pub handshaking: usize,
    /// The most handshakes ever in progress at once.
    pub peak_handshaking: usize,
    /// The most sessions ever open at once as their clients see it: when a
    /// session is admitted, the others whose client has already hung up do
    /// not count (the server may not have read their goodbye yet). A count
    /// above [`Db::verify_live_above`] is recorded only once confirmed (see
    /// [`Db::live_peak`]).
    pub live_peak: usize,
}

struct Counters {
    opened: AtomicU64,
    open: Mutex<(usize, usize)>,
    refused: AtomicU64,
    queries: AtomicU64,
    next_id: AtomicU64,
    /// In progress now, and the most at once.
    handshaking: Mutex<(usize, usize)>,
    live_peak: Mutex<usize>,
    /// Live counts above this are confirmed before they are recorded.
    verify_above: AtomicU64,
    /// Confirmations under way.
    verifying: AtomicU64,
}

/// What the server keeps about each admitted session: a second handle on
/// its socket to see whether the client hung up, and a way to end it.
struct Session {
    probe: std::net::TcpStream,
    kill: Arc<Notify>,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            opened: AtomicU64::new(0),
            open: Mutex::new((0, 0)),
            refused: AtomicU64::new(0),
            queries: AtomicU64::new(0),
            next_id: AtomicU64::new(0),
            handshaking: Mutex::new((0, 0)),
            live_peak: Mutex::new(0),
            verify_above: AtomicU64::new(u64::MAX),
            verifying: AtomicU64::new(0),
        }
    }
}

/// How long a client's hang-up may take to reach the server while the
/// machine is busy (the kernel may defer delivering it): a session that is
/// still open this long after a count is a session that was open then.
const SETTLE: Duration = Duration::from_millis(150);

struct Shared {
    config: DbConfig,
    counters: Counters,
    refusing: AtomicBool,
    query_delay_ms: AtomicU64,
    connect_delay_ms: AtomicU64,
    /// True while handshakes are held before their `OK`.
    hold: watch::Sender<bool>,
    /// Bumped by `drop_all`: every session older than the bump ends.
    kill: watch::Sender<u64>,
    sessions: Mutex<HashMap<u64, Session>>,
}

/// A running server. Dropping it stops the server and ends every session.
pub struct Db {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Db {
    /// Start on a free loopback port.
    pub async fn start(config: DbConfig) -> std::io::Result<Db> {
        Db::bind(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Start on `addr` (the command-line server).
    pub async fn bind(addr: SocketAddr, config: DbConfig) -> std::io::Result<Db> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (kill, _) = watch::channel(0);
        let (hold, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            config,
            counters: Counters::default(),
            refusing: AtomicBool::new(false),
            query_delay_ms: AtomicU64::new(0),
            connect_delay_ms: AtomicU64::new(0),
            hold,
            kill,
            sessions: Mutex::new(HashMap::new()),
        });
        let task = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(Db { addr, shared, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn config(&self) -> &DbConfig {
        &self.shared.config
    }

    pub fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        let (open, peak) = *lock(&c.open);
        let (handshaking, peak_handshaking) = *lock(&c.handshaking);
        Stats {
            opened: c.opened.load(Ordering::SeqCst),
            open,
            peak,
            refused: c.refused.load(Ordering::SeqCst),
            queries: c.queries.load(Ordering::SeqCst),
            handshaking,
            peak_handshaking,
            live_peak: *lock(&c.live_peak),
        }
    }

    /// Forget the peaks so far: the next peaks count from what is open now.
    pub fn reset_peak(&self) {
        let c = &self.shared.counters;
        let mut open = lock(&c.open);
        open.1 = open.0;
        *lock(&c.live_peak) = live_sessions(&self.shared);
        let mut handshaking = lock(&c.handshaking);
        handshaking.1 = handshaking.0;
    }

    /// Confirm live counts above `limit` before recording them in
    /// [`Stats::live_peak`]: such a count is kept only for the sessions still
    /// open a moment later, so a connection its client closed just before
    /// (whose hang-up the kernel had not delivered yet) is not counted.
    pub fn verify_live_above(&self, limit: usize) {
        self.shared.counters.verify_above.store(limit as u64, Ordering::SeqCst);
    }

    /// The live peak once every pending confirmation is done.
    pub async fn live_peak(&self) -> usize {
        let c = &self.shared.counters;
        let deadline = tokio::time::Instant::now() + SETTLE * 10;
        while c.verifying.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        *lock(&c.live_peak)
    }

    /// The backend ids of the sessions open now, lowest first.
    pub fn sessions(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = lock(&self.shared.sessions).keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// Fault: end the session with this backend id (as `drop_all` does, for
    /// one). False when no such session is open.
    pub fn drop_session(&self, backend_id: u64) -> bool {
        match lock(&self.shared.sessions).get(&backend_id) {
            Some(session) => {
                session.kill.notify_one();
                true
            }
            None => false,
        }
    }

    /// Control: hold every handshake before its `OK` (true) until released
    /// (false). Held sessions count as open and as handshaking; a client
    /// that hangs up while held ends its session.
    pub fn hold_handshakes(&self, hold: bool) {
        self.shared.hold.send_replace(hold);
    }

    /// Fault: every handshake takes this much longer (zero turns it off).
    pub fn slow_connects(&self, extra: Duration) {
        self.shared.connect_delay_ms.store(extra.as_millis() as u64, Ordering::SeqCst);
    }

    /// Fault: end every open session now, as an administrator or a restart
    /// would. Clients find out on their next read.
    pub fn drop_all(&self) {
        self.shared.kill.send_modify(|g| *g += 1);
    }

    /// Fault: refuse (or again accept) new sessions, as a database that is
    /// starting up does.
    pub fn refuse_new(&self, refusing: bool) {
        self.shared.refusing.store(refusing, Ordering::SeqCst);
    }

    /// Fault: every query takes this much longer (zero turns it off).
    pub fn slow_queries(&self, extra: Duration) {
        self.shared.query_delay_ms.store(extra.as_millis() as u64, Ordering::SeqCst);
    }

    /// Poll the counters until `ready` holds or `within` passes; returns the
    /// last counters either way (`Err` when it never held).
    pub async fn wait_for(&self, within: Duration, ready: impl Fn(&Stats) -> bool) -> Result<Stats, Stats> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let stats = self.stats();
            if ready(&stats) {
                return Ok(stats);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(stats);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    // Sessions live in the set, so aborting this task ends all of them.
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    let _ = stream.set_nodelay(true);
                    sessions.spawn(session(stream, shared.clone()));
                }
            }
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sessions registered now whose client has not hung up.
fn live_sessions(shared: &Shared) -> usize {
    lock(&shared.sessions).values().filter(|s| !client_gone(&s.probe)).count()
}

/// True when the client closed its end (or the connection failed), even if
/// the server has not read that yet. Never waits.
fn client_gone(probe: &std::net::TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match probe.peek(&mut byte) {
        Ok(0) => true,
        Ok(_) => peer_hung_up_behind_data(probe),
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

#[cfg(target_os = "linux")]
fn peer_hung_up_behind_data(probe: &std::net::TcpStream) -> bool {
    use std::os::fd::AsRawFd;
    hung_up(probe.as_raw_fd())
}

/// The peer closed its end (or the connection failed), asked without waiting.
#[cfg(target_os = "linux")]
fn hung_up(fd: std::os::fd::RawFd) -> bool {
    let mut poll = libc::pollfd { fd, events: libc::POLLRDHUP, revents: 0 };
    // SAFETY: one valid pollfd, a zero timeout.
    let n = unsafe { libc::poll(&mut poll, 1, 0) };
    n == 1 && poll.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) != 0
}

#[cfg(not(target_os = "linux"))]
fn peer_hung_up_behind_data(_probe: &std::net::TcpStream) -> bool {
    false
}

/// Frees the session's slot and its registration however the session ends.
struct Slot<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        lock(&self.shared.sessions).remove(&self.id);
        lock(&self.shared.counters.open).0 -= 1;
    }
}

/// Counts one handshake in progress for as long as it lives.
struct Handshake<'a>(&'a Counters);

impl<'a> Handshake<'a> {
    fn start(counters: &'a Counters) -> Self {
        let mut h = lock(&counters.handshaking);
        h.0 += 1;
        h.1 = h.1.max(h.0);
        Handshake(counters)
    }
}

impl Drop for Handshake<'_> {
    fn drop(&mut self) {
        lock(&self.0.handshaking).0 -= 1;
    }
}

type ClientLines = Lines<BufReader<OwnedReadHalf>>;

/// Run `work` while listening to the client: lines it sends meanwhile are
/// kept in `early` for later; false when it hangs up first.
async fn watching(lines: &mut ClientLines, early: &mut VecDeque<String>, work: impl Future<Output = ()>) -> bool {
    tokio::pin!(work);
    loop {
        tokio::select! {
            _ = &mut work => return true,
            line = lines.next_line() => match line {
                Ok(Some(line)) => early.push_back(line),
                _ => return false,
            },
        }
    }
}

async fn session(stream: TcpStream, shared: Arc<Shared>) {
    // A second handle on the socket, so others can see when this client has
    // hung up (see `client_gone`).
    let (stream, probe) = match split_probe(stream) {
        Ok(pair) => pair,
        Err(_) => return,
    };
    let mut kill = shared.kill.subscribe();
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let Some((user, password)) = startup(&mut lines, &mut write).await else { return };
    let (user, password) = (user.as_str(), password.as_str());
    let counters = &shared.counters;
    let own_kill = Arc::new(Notify::new());
    if let Some(refusal) = admit(&shared, user, password) {
        counters.refused.fetch_add(1, Ordering::SeqCst);
        let _ = write.write_all(format!("{refusal}\n").as_bytes()).await;
        let _ = write.shutdown().await;
        return;
    }
    counters.opened.fetch_add(1, Ordering::SeqCst);
    let id = counters.next_id.fetch_add(1, Ordering::SeqCst) + 1;
    register(&shared, id, Session { probe, kill: own_kill.clone() });
    let _slot = Slot { shared: &shared, id };

    let serve = async {
        let mut early = VecDeque::new();
        let handshake = Handshake::start(counters);
        let mut hold = shared.hold.subscribe();
        let cost = shared.config.connect_cost + Duration::from_millis(shared.connect_delay_ms.load(Ordering::SeqCst));
        let handshaking = async {
            let _ = hold.wait_for(|held| !*held).await;
            tokio::time::sleep(cost).await;
        };
        if !watching(&mut lines, &mut early, handshaking).await {
            return Ok(());
        }
        drop(handshake);
        write.write_all(format!("OK {id}\n").as_bytes()).await?;
        loop {
            let line = match early.pop_front() {
                Some(line) => line,
                None => match lines.next_line().await? {
                    Some(line) => line,
                    None => break,
                },
            };
            let (command, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
            let reply = match command {
                "PING" => "PONG\n".to_string(),
                "QUERY" => {
                    counters.queries.fetch_add(1, Ordering::SeqCst);
                    let extra = Duration::from_millis(shared.query_delay_ms.load(Ordering::SeqCst));
                    let cost = tokio::time::sleep(shared.config.query_cost + extra);
                    if !watching(&mut lines, &mut early, cost).await {
                        return Ok(());
                    }
                    format!("ROW {rest}\nDONE\n")
                }
                "QUIT" => return Ok(()),
                other => format!("ERROR 42601 syntax error at or near \"{other}\"\n"),
            };
            write.write_all(reply.as_bytes()).await?;
        }
        Ok::<(), std::io::Error>(())
    };
    let killed = tokio::select! {
        _ = serve => false,
        _ = kill.changed() => true,
        _ = own_kill.notified() => true,
    };
    if killed {
        let _ = write.write_all(b"ERROR 57P01 terminating connection due to administrator command\n").await;
        // The session counts as open until the client can see the goodbye:
        // a pool asked right after must be able to tell this one is dead.
        delivered(write.as_ref()).await;
    }
}

/// The startup message, `HELLO <user> <password>`, which comes first; a
/// refusal is sent only after it is read, so closing never resets a
/// connection with unread data.
async fn startup(lines: &mut ClientLines, write: &mut tokio::net::tcp::OwnedWriteHalf) -> Option<(String, String)> {
    let hello = match tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await {
        Ok(Ok(Some(line))) => line,
        _ => return None,
    };
    let mut words = hello.split_whitespace();
    let (Some("HELLO"), Some(user)) = (words.next(), words.next()) else {
        let _ = write.write_all(b"ERROR 08P01 expected HELLO <user> <password>\n").await;
        return None;
    };
    Some((user.to_string(), words.next().unwrap_or("").to_string()))
}

/// Why a new session is refused, if it is (starting up, a wrong password,
/// too many clients); else it takes an open slot.
fn admit(shared: &Shared, user: &str, password: &str) -> Option<String> {
    if shared.refusing.load(Ordering::SeqCst) {
        return Some("ERROR 57P03 the database system is starting up".to_string());
    }
    if shared.config.password.as_deref().is_some_and(|p| p != password) {
        return Some(format!("ERROR 28P01 password authentication failed for user \"{user}\""));
    }
    let mut open = lock(&shared.counters.open);
    if open.0 >= shared.config.max_connections {
        return Some("ERROR 53300 sorry, too many clients already".to_string());
    }
    open.0 += 1;
    open.1 = open.1.max(open.0);
    None
}

/// Note session `id` and the live peak (confirmed after a settling window
/// above the limit a check set).
fn register(shared: &Arc<Shared>, id: u64, session: Session) {
    let counters = &shared.counters;
    let mut sessions = lock(&shared.sessions);
    let mut live: Vec<u64> = sessions.iter().filter(|(_, s)| !client_gone(&s.probe)).map(|(id, _)| *id).collect();
    live.push(id);
    sessions.insert(id, session);
    let mut peak = lock(&counters.live_peak);
    if live.len() as u64 <= counters.verify_above.load(Ordering::SeqCst) {
        *peak = (*peak).max(live.len());
    } else if live.len() > *peak {
        counters.verifying.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(confirm_live(shared.clone(), live));
    }
}

/// Record as live peak how many of `live` are still open after `SETTLE`.
async fn confirm_live(shared: Arc<Shared>, live: Vec<u64>) {
    tokio::time::sleep(SETTLE).await;
    let still = {
        let sessions = lock(&shared.sessions);
        live.iter().filter(|id| sessions.get(id).is_some_and(|s| !client_gone(&s.probe))).count()
    };
    let c = &shared.counters;
    let mut peak = lock(&c.live_peak);
    *peak = (*peak).max(still);
    c.verifying.fetch_sub(1, Ordering::SeqCst);
}

/// Wait until the client has acknowledged everything sent to it, so it can
/// read it (a busy machine may deliver it late); at most a second. Linux
/// only; elsewhere it returns at once.
#[cfg(target_os = "linux")]
async fn delivered(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let fd = stream.as_raw_fd();
    for _ in 0..500 {
        let mut unacked: libc::c_int = 0;
        // SAFETY: TIOCOUTQ (SIOCOUTQ) writes one int: bytes sent but not yet acknowledged.
        let ok = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut unacked) } == 0;
        // A client that has hung up will never acknowledge, and reads nothing.
        if !ok || unacked == 0 || hung_up(fd) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[cfg(not(target_os = "linux"))]
async fn delivered(_stream: &TcpStream) {}

/// The stream, and a second handle on the same socket that only peeks.
fn split_probe(stream: TcpStream) -> std::io::Result<(TcpStream, std::net::TcpStream)> {
    let std = stream.into_std()?;
    let probe = std.try_clone()?;
    Ok((TcpStream::from_std(std)?, probe))
}
