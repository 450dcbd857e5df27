//! What the checks of every stage share: the test database, pools on it,
//! bounded waits and the expectations about a checkout and a query.

use std::future::Future;
use std::sync::Once;
use std::time::Duration;

use harness::db::{Db, DbConfig, Stats};
use harness::{fail, CheckResult, Failure};
use subject::{Pool, PoolConfig, PoolError, Pooled};

/// A cheap-to-open database for checks that are not about cost.
pub const CONNECT_COST: Duration = Duration::from_millis(20);

pub async fn start_db(config: DbConfig) -> Result<Db, Failure> {
    Db::start(config).await.map_err(|e| Failure::new(format!("could not start the test database: {e}")))
}

/// The usual database: a 20 ms handshake, no query cost.
pub async fn cheap_db() -> Result<Db, Failure> {
    start_db(DbConfig::default().connect_cost(CONNECT_COST)).await
}

pub fn pool(db: &Db, max_size: usize, timeout: Duration) -> Pool {
    Pool::new(PoolConfig::new(db.addr()).max_size(max_size).checkout_timeout(timeout))
}

/// Await `fut`, failing the check with a message naming `what` if it takes
/// longer than `limit` (the student's code must never hang the suite).
pub async fn within<T>(limit: Duration, what: &str, fut: impl Future<Output = T>) -> Result<T, Failure> {
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| Failure::new(format!("{what} did not finish within {} ms", limit.as_millis())))
}

/// Check out a connection that must come within `limit`.
pub async fn checkout(pool: &Pool, limit: Duration, when: &str) -> Result<Pooled, Failure> {
    match within(limit, &format!("pool.get() {when}"), pool.get()).await? {
        Ok(conn) => Ok(conn),
        Err(e) => fail!("pool.get() {when} failed: {e}"),
    }
}

/// Check out a connection on a pool whose checkout timeout is short: a
/// `Timeout` is retried a few times, so only a pool that really has no free
/// slot fails (a loaded machine may miss a short timeout once, not every time).
pub async fn checkout_retrying(pool: &Pool, timeout: Duration, when: &str) -> Result<Pooled, Failure> {
    const ATTEMPTS: usize = 4;
    for _ in 0..ATTEMPTS {
        match within(timeout + Duration::from_secs(3), &format!("pool.get() {when}"), pool.get()).await? {
            Ok(conn) => return Ok(conn),
            Err(PoolError::Timeout(_)) => continue,
            Err(e) => fail!("pool.get() {when} failed: {e}"),
        }
    }
    fail!(
        "pool.get() {when} timed out {ATTEMPTS} times in a row although a slot should have been free: \
         the pool lost that slot for good"
    )
}

/// Run `text` and require the server's echo of it.
pub async fn query_echo(conn: &mut Pooled, text: &str) -> CheckResult {
    match within(Duration::from_secs(3), "a query", conn.query(text)).await? {
        Ok(rows) if rows == [text] => Ok(()),
        Ok(rows) => fail!("the query {text:?} should return the row [{text:?}] but returned {rows:?}"),
        Err(e) => fail!("the query {text:?} failed: {e}"),
    }
}

pub fn stats_line(s: &Stats) -> String {
    format!("the database opened {} connection(s) in all, {} at most at once", s.opened, s.peak)
}

/// Let this process's I/O reactor take in everything the kernel has
/// delivered so far. `Conn::is_broken` trusts tokio's view of its socket,
/// which lags the kernel's on a busy machine: a goodbye the server sent may
/// sit unseen for a while. A datagram sent to ourselves now is reported
/// after anything that arrived before it, so once tokio hands it to us,
/// every earlier arrival has been seen too.
pub async fn reactor_turn() {
    let Ok(socket) = tokio::net::UdpSocket::bind("127.0.0.1:0").await else { return };
    let Ok(addr) = socket.local_addr() else { return };
    if socket.send_to(b"!", addr).await.is_err() {
        return;
    }
    let mut buf = [0u8; 1];
    let _ = tokio::time::timeout(Duration::from_secs(2), socket.recv_from(&mut buf)).await;
}

/// What the suite's own deliberate panics say; the panic hook keeps them
/// out of the output so they are not mistaken for a crash of your pool.
pub const DELIBERATE_PANIC: &str = "deliberate panic from the suite";

/// Silence the suite's deliberate panics (other panics print as usual).
pub fn quiet_deliberate_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let text = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            if !text.starts_with(DELIBERATE_PANIC) {
                previous(info);
            }
        }));
    });
}
