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
//! When the server ends a session itself ([`Db::drop_all`]) it first sends
//! `ERROR 57P01 terminating connection due to administrator command`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
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
}

#[derive(Default)]
struct Counters {
    opened: AtomicU64,
    open: Mutex<(usize, usize)>,
    refused: AtomicU64,
    queries: AtomicU64,
    next_id: AtomicU64,
}

struct Shared {
    config: DbConfig,
    counters: Counters,
    refusing: AtomicBool,
    query_delay_ms: AtomicU64,
    /// Bumped by `drop_all`: every session older than the bump ends.
    kill: watch::Sender<u64>,
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
        let shared = Arc::new(Shared {
            config,
            counters: Counters::default(),
            refusing: AtomicBool::new(false),
            query_delay_ms: AtomicU64::new(0),
            kill,
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
        let (open, peak) = *c.open.lock().unwrap_or_else(|e| e.into_inner());
        Stats {
            opened: c.opened.load(Ordering::SeqCst),
            open,
            peak,
            refused: c.refused.load(Ordering::SeqCst),
            queries: c.queries.load(Ordering::SeqCst),
        }
    }

    /// Forget the peak so far: the next peak counts from the sessions open now.
    pub fn reset_peak(&self) {
        let mut open = self.shared.counters.open.lock().unwrap_or_else(|e| e.into_inner());
        open.1 = open.0;
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

/// Frees the session's slot however the session ends.
struct Slot<'a>(&'a Counters);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.open.lock().unwrap_or_else(|e| e.into_inner()).0 -= 1;
    }
}

async fn session(stream: TcpStream, shared: Arc<Shared>) {
    let mut kill = shared.kill.subscribe();
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    // The startup message comes first; the refusal is sent only after it is
    // read, so closing never resets a connection with unread data.
    let hello = match tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await {
        Ok(Ok(Some(line))) => line,
        _ => return,
    };
    let mut words = hello.split_whitespace();
    let (Some("HELLO"), Some(user)) = (words.next(), words.next()) else {
        let _ = write.write_all(b"ERROR 08P01 expected HELLO <user> <password>\n").await;
        return;
    };
    let password = words.next().unwrap_or("");
    let counters = &shared.counters;
    let refusal = if shared.refusing.load(Ordering::SeqCst) {
        Some("ERROR 57P03 the database system is starting up".to_string())
    } else if shared.config.password.as_deref().is_some_and(|p| p != password) {
        Some(format!("ERROR 28P01 password authentication failed for user \"{user}\""))
    } else {
        let mut open = counters.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.0 >= shared.config.max_connections {
            Some("ERROR 53300 sorry, too many clients already".to_string())
        } else {
            open.0 += 1;
            open.1 = open.1.max(open.0);
            None
        }
    };
    if let Some(refusal) = refusal {
        counters.refused.fetch_add(1, Ordering::SeqCst);
        let _ = write.write_all(format!("{refusal}\n").as_bytes()).await;
        let _ = write.shutdown().await;
        return;
    }
    let _slot = Slot(counters);
    counters.opened.fetch_add(1, Ordering::SeqCst);
    let id = counters.next_id.fetch_add(1, Ordering::SeqCst) + 1;

    let serve = async {
        tokio::time::sleep(shared.config.connect_cost).await;
        write.write_all(format!("OK {id}\n").as_bytes()).await?;
        while let Some(line) = lines.next_line().await? {
            let (command, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
            let reply = match command {
                "PING" => "PONG\n".to_string(),
                "QUERY" => {
                    counters.queries.fetch_add(1, Ordering::SeqCst);
                    let extra = Duration::from_millis(shared.query_delay_ms.load(Ordering::SeqCst));
                    tokio::time::sleep(shared.config.query_cost + extra).await;
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
    };
    if killed {
        let _ = write.write_all(b"ERROR 57P01 terminating connection due to administrator command\n").await;
    }
}
