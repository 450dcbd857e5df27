//! What the checks of every stage share: the test database, pools on it,
//! bounded waits and the expectations about a checkout and a query.

use std::future::Future;
use std::sync::Once;
use std::time::Duration;

use harness::db::{Db, DbConfig, Stats};
use harness::host::Answer;
use harness::{fail, CheckResult, Ctx, Failure};

use crate::subject::{Pool, PoolConfig, PoolError, Pooled};

/// A cheap-to-open database for checks that are not about cost.
pub const CONNECT_COST: Duration = Duration::from_millis(20);

pub async fn start_db(config: DbConfig) -> Result<Db, Failure> {
    Db::start(config).await.map_err(|e| Failure::new(format!("could not start the test database: {e}")))
}

/// The usual database: a 20 ms handshake, no query cost.
pub async fn cheap_db() -> Result<Db, Failure> {
    start_db(DbConfig::default().connect_cost(CONNECT_COST)).await
}

/// The student's pool on `db`, in a host of its own (crate::subject).
pub async fn pool(cx: &Ctx, db: &Db, max_size: usize, timeout: Duration) -> Result<Pool, Failure> {
    Pool::new(cx, PoolConfig::new(db.addr()).max_size(max_size).checkout_timeout(timeout)).await
}

/// Why `Pool::new` gave no pool.
pub fn pool_not_started(answer: &Answer) -> String {
    match answer {
        Answer::Panicked { message, at } => format!("your pool panicked at {at} in Pool::new: {message}"),
        Answer::Lost(why) => format!("the program running your pool ended before Pool::new returned: {why}"),
        Answer::Ok(_) | Answer::Err(_) => "Pool::new gave an answer it cannot give".into(),
    }
}

/// Why `what` (a call of the pool's API) came to nothing: a panic of the
/// student's code, with its place, or the end of the program running it.
pub fn crashed(what: &str, answer: &Answer) -> String {
    match answer {
        Answer::Panicked { message, at } => format!("your pool panicked at {at} during {what}: {message}"),
        Answer::Lost(why) => format!("{what} got no answer: the program running your pool is gone ({why})"),
        Answer::Ok(_) | Answer::Err(_) => format!("{what} gave an answer it cannot give"),
    }
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
            Err(PoolError::Timeout { .. }) => continue,
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
