//! Hidden suite of 03-pool. The student's pool is linked in and called
//! through its public API, in front of the kit's database server
//! (`harness::db`): real TCP on loopback, an expensive handshake, a hard
//! connection limit and counters that show what the pool really did.

use std::future::Future;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use harness::db::{Db, DbConfig, Stats};
use harness::{ensure, fail, CheckResult, Ctx, Failure};
use subject::{Pool, PoolConfig, PoolError, Pooled};

fn main() -> ExitCode {
    harness::Suite::new("03-pool", env!("CARGO_MANIFEST_DIR"))
        .check("basics.query", basics_query)
        .check("basics.lazy", basics_lazy)
        .check("basics.reuse", basics_reuse)
        .check("basics.shared", basics_shared)
        .check("limits.cap", limits_cap)
        .check("limits.timeout", limits_timeout)
        .check("limits.waits_for_return", limits_waits_for_return)
        .check("failures.server_dropped", failures_server_dropped)
        .check("failures.cancelled_query", failures_cancelled_query)
        .check("failures.panic_holder", failures_panic_holder)
        .check("failures.aborted_holder", failures_aborted_holder)
        .check("failures.connect_error", failures_connect_error)
        .check("fairness.fifo", fairness_fifo)
        .check("fairness.no_barging", fairness_no_barging)
        .check("performance.speedup", performance_speedup)
        .main()
}

/// A cheap-to-open database for checks that are not about cost.
const CONNECT_COST: Duration = Duration::from_millis(20);

async fn start_db(config: DbConfig) -> Result<Db, Failure> {
    Db::start(config).await.map_err(|e| Failure::new(format!("could not start the test database: {e}")))
}

fn pool(db: &Db, max_size: usize, timeout: Duration) -> Pool {
    Pool::new(PoolConfig::new(db.addr()).max_size(max_size).checkout_timeout(timeout))
}

/// Await `fut`, failing the check with a message naming `what` if it takes
/// longer than `limit` (the student's code must never hang the suite).
async fn within<T>(limit: Duration, what: &str, fut: impl Future<Output = T>) -> Result<T, Failure> {
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| Failure::new(format!("{what} did not finish within {} ms", limit.as_millis())))
}

/// Check out a connection that must come within `limit`.
async fn checkout(pool: &Pool, limit: Duration, when: &str) -> Result<Pooled, Failure> {
    match within(limit, &format!("pool.get() {when}"), pool.get()).await? {
        Ok(conn) => Ok(conn),
        Err(e) => fail!("pool.get() {when} failed: {e}"),
    }
}

/// Run `text` and require the server's echo of it.
async fn query_echo(conn: &mut Pooled, text: &str) -> CheckResult {
    match within(Duration::from_secs(3), "a query", conn.query(text)).await? {
        Ok(rows) if rows == [text] => Ok(()),
        Ok(rows) => fail!("the query {text:?} should return the row [{text:?}] but returned {rows:?}"),
        Err(e) => fail!("the query {text:?} failed: {e}"),
    }
}

fn stats_line(s: &Stats) -> String {
    format!("the database opened {} connection(s) in all, {} at most at once", s.opened, s.peak)
}

// ---------------------------------------------------------------- basics

async fn basics_query(mut cx: Ctx) -> CheckResult {
    let db = start_db(DbConfig::default().connect_cost(CONNECT_COST)).await?;
    let pool = pool(&db, 4, Duration::from_secs(2));
    let mut conn = checkout(&pool, Duration::from_secs(3), "on a fresh pool").await?;
    query_echo(&mut conn, &cx.word(12)).await
}

async fn basics_lazy(mut cx: Ctx) -> CheckResult {
    let db = start_db(DbConfig::default().connect_cost(CONNECT_COST)).await?;
    let pool = pool(&db, 8, Duration::from_secs(2));
    // Nothing should connect before the first checkout; give an eager pool
    // a moment to show itself.
    if let Ok(s) = db.wait_for(CONNECT_COST * 3, |s| s.opened > 0).await {
        fail!(
            "Pool::new already opened {} connection(s); a pool opens connections only when a checkout needs one",
            s.opened
        );
    }
    let mut conn = checkout(&pool, Duration::from_secs(3), "on a fresh pool").await?;
    query_echo(&mut conn, &cx.word(8)).await?;
    let s = db.stats();
    ensure!(
        s.opened == 1,
        "one checkout from a fresh pool of 8 should open exactly one connection, but {}",
        stats_line(&s)
    );
    Ok(())
}

async fn basics_reuse(mut cx: Ctx) -> CheckResult {
    let db = start_db(DbConfig::default().connect_cost(CONNECT_COST)).await?;
    let pool = pool(&db, 4, Duration::from_secs(2));
    let n = cx.rng().usize(10..=30);
    let mut backends = Vec::new();
    for i in 0..n {
        let mut conn = checkout(&pool, Duration::from_secs(3), &format!("for query {} of {n}", i + 1)).await?;
        query_echo(&mut conn, &cx.word(8)).await?;
        backends.push(conn.backend_id());
        drop(conn);
    }
    let s = db.stats();
    ensure!(
        s.opened == 1,
        "{n} queries one after another (each connection dropped before the next checkout) should all use one connection, \
         but {}: a dropped Pooled must go back to the pool and be lent again",
        stats_line(&s)
    );
    backends.dedup();
    ensure!(backends.len() == 1, "the queries ran on different server sessions {backends:?}; they should reuse one");
    Ok(())
}

async fn basics_shared(mut cx: Ctx) -> CheckResult {
    let db = start_db(DbConfig::default().connect_cost(CONNECT_COST)).await?;
    let pool = pool(&db, 2, Duration::from_secs(2));
    // Two tasks, each with its own clone, hold a connection at the same
    // time; a third clone must then find both connections back in the pool.
    // The handle must be Clone + Send + 'static, and clones must share.
    let both = Arc::new(tokio::sync::Barrier::new(2));
    let mut holders = Vec::new();
    for _ in 0..2 {
        let pool = pool.clone();
        let both = both.clone();
        let word = cx.word(6);
        holders.push(tokio::spawn(async move {
            let mut conn = checkout(&pool, Duration::from_secs(3), "from a task").await?;
            query_echo(&mut conn, &word).await?;
            within(Duration::from_secs(3), "two tasks each holding a connection", both.wait()).await?;
            Ok::<u64, Failure>(conn.backend_id())
        }));
    }
    let mut held = Vec::new();
    for task in holders {
        match within(Duration::from_secs(5), "a task sharing the pool", task).await? {
            Ok(result) => held.push(result?),
            Err(e) => fail!("a task using a clone of the pool panicked: {e}"),
        }
    }
    let third = pool.clone();
    let words: Vec<String> = (0..4).map(|_| cx.word(6)).collect();
    let task = tokio::spawn(async move {
        let mut seen = Vec::new();
        for word in words {
            let mut conn = checkout(&third, Duration::from_secs(3), "from a third task").await?;
            query_echo(&mut conn, &word).await?;
            seen.push(conn.backend_id());
        }
        Ok::<Vec<u64>, Failure>(seen)
    });
    let seen = match within(Duration::from_secs(5), "a third task", task).await? {
        Ok(result) => result?,
        Err(e) => fail!("a task using a clone of the pool panicked: {e}"),
    };
    let s = db.stats();
    ensure!(
        s.opened == 2 && seen.iter().all(|b| held.contains(b)),
        "two tasks held connections {held:?} and dropped them; a third task with another clone of the pool then used {seen:?}, \
         and {}. Clones of a pool must share its connections",
        stats_line(&s)
    );
    Ok(())
}

// ---------------------------------------------------------------- limits

async fn limits_cap(mut cx: Ctx) -> CheckResult {
    const TASKS: usize = 500;
    const SIZE: usize = 8;
    let db = start_db(DbConfig::default().connect_cost(CONNECT_COST).max_connections(100)).await?;
    let pool = pool(&db, SIZE, Duration::from_secs(6));
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let pool = pool.clone();
        let word = cx.word(6);
        tasks.push(tokio::spawn(async move {
            let mut conn = pool.get().await.map_err(|e| format!("pool.get() failed: {e}"))?;
            match conn.query(&word).await {
                Ok(rows) if rows == [word.as_str()] => Ok(()),
                Ok(rows) => Err(format!("the query {word:?} returned {rows:?}")),
                Err(e) => Err(format!("a query failed: {e}")),
            }
        }));
    }
    let mut failures = Vec::new();
    let started = Instant::now();
    for task in tasks {
        let left = Duration::from_secs(8).saturating_sub(started.elapsed());
        match within(left, &format!("{TASKS} tasks sharing a pool of {SIZE}"), task).await? {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(e),
            Err(e) => failures.push(format!("a task panicked: {e}")),
        }
    }
    let s = db.stats();
    ensure!(
        s.peak <= SIZE,
        "{TASKS} concurrent tasks on a pool of max_size {SIZE}: {}, and {} connection(s) were refused; \
         never open more than max_size, make the others wait",
        stats_line(&s),
        s.refused
    );
    if let Some(first) = failures.first() {
        fail!("{} of {TASKS} concurrent tasks on a pool of {SIZE} failed; the first: {first}", failures.len());
    }
    Ok(())
}

async fn limits_timeout(mut cx: Ctx) -> CheckResult {
    let db = start_db(DbConfig::default().connect_cost(CONNECT_COST)).await?;
    let size = cx.rng().usize(1..=3);
    let timeout = Duration::from_millis(cx.rng().u64(80..=150));
    let pool = pool(&db, size, timeout);
    let mut held = Vec::new();
    for _ in 0..size {
        held.push(checkout(&pool, Duration::from_secs(3), "while the pool still had room").await?);
    }
    let started = Instant::now();
    let limit = timeout + Duration::from_secs(2);
    let result = within(
        limit,
        &format!("pool.get() with all {size} connections checked out and a {} ms timeout", timeout.as_millis()),
        pool.get(),
    )
    .await?;
    let waited = started.elapsed();
    match result {
        Err(PoolError::Timeout(_)) => {}
        Err(e) => fail!("with every connection checked out, pool.get() should fail with PoolError::Timeout, but failed with: {e}"),
        Ok(conn) => fail!(
            "with all {size} connection(s) of a pool of max_size {size} checked out, pool.get() still gave one (backend {}); it should wait, then time out",
            conn.backend_id()
        ),
    }
    let slack = Duration::from_millis(10);
    ensure!(
        waited + slack >= timeout,
        "pool.get() gave up after {} ms, before its checkout_timeout of {} ms",
        waited.as_millis(),
        timeout.as_millis()
    );
    ensure!(
        waited <= timeout + Duration::from_millis(750),
        "pool.get() timed out only after {} ms; its checkout_timeout was {} ms",
        waited.as_millis(),
        timeout.as_millis()
    );
    Ok(())
}

async fn limits_waits_for_return(mut cx: Ctx) -> CheckResult {
    let db = start_db(DbConfig::default().connect_cost(CONNECT_COST)).await?;
    let pool = pool(&db, 1, Duration::from_secs(3));
    let mut first = checkout(&pool, Duration::from_secs(3), "on a fresh pool of 1").await?;
    query_echo(&mut first, &cx.word(6)).await?;
    let backend = first.backend_id();
    let waiter = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.get().await })
    };
    // The waiter must not get a connection while the only one is out: give
    // a wrong pool (one that opens a second connection) the time to do so.
    tokio::time::sleep(CONNECT_COST * 2).await;
    ensure!(
        !waiter.is_finished(),
        "pool.get() returned while the only connection of a pool of 1 was checked out; it should wait"
    );
    drop(first);
    let mut second = match within(Duration::from_secs(2), "a waiting pool.get() after the connection was dropped", waiter).await? {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => fail!("a waiting pool.get() failed after the only connection was dropped: {e}; the dropped connection should go to the waiter"),
        Err(e) => fail!("a waiting pool.get() panicked: {e}"),
    };
    query_echo(&mut second, &cx.word(6)).await?;
    ensure!(
        second.backend_id() == backend && db.stats().opened == 1,
        "the waiter got a new connection (backend {}) instead of the one just dropped (backend {backend}); {}",
        second.backend_id(),
        stats_line(&db.stats())
    );
    Ok(())
}

// ---------------------------------------------------------------- failures

async fn failures_server_dropped(mut cx: Ctx) -> CheckResult {
    let db = start_db(DbConfig::default().connect_cost(CONNECT_COST)).await?;
    let pool = pool(&db, 2, Duration::from_secs(3));
    let mut conn = checkout(&pool, Duration::from_secs(3), "on a fresh pool").await?;
    query_echo(&mut conn, &cx.word(6)).await?;
    let old = conn.backend_id();
    drop(conn);
    db.drop_all();
    if db.wait_for(Duration::from_secs(2), |s| s.open == 0).await.is_err() {
        fail!("the test database could not close its sessions");
    }
    let mut conn = checkout(&pool, Duration::from_secs(3), "after the server closed the idle connection").await?;
    let word = cx.word(6);
    match within(Duration::from_secs(3), "a query", conn.query(&word)).await? {
        Ok(rows) if rows == [word.as_str()] => {}
        Ok(rows) => fail!("the query {word:?} returned {rows:?}"),
        Err(e) => fail!(
            "the server had closed the idle connection (backend {old}); the pool lent it anyway and the query failed: {e}. \
             Check Conn::is_broken() before lending a connection, and open a new one instead"
        ),
    }
    ensure!(conn.backend_id() != old, "the pool lent the dead connection (backend {old}) again");
    Ok(())
}

async fn failures_cancelled_query(mut cx: Ctx) -> CheckResult {
    let db = start_db(DbConfig::default().connect_cost(CONNECT_COST)).await?;
    let pool = pool(&db, 1, Duration::from_secs(3));
    db.slow_queries(Duration::from_secs(2));
    let holder = {
        let pool = pool.clone();
        let word = cx.word(6);
        tokio::spawn(async move {
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            conn.query(&word).await.map_err(|e| e.to_string())
        })
    };
    // Cancel the holder while its query is on the server (a client that
    // hung up, a request timeout): the answer is still on its way.
    if db.wait_for(Duration::from_secs(3), |s| s.queries >= 1).await.is_err() {
        holder.abort();
        fail!("the holder's query never reached the database");
    }
    holder.abort();
    let _ = within(Duration::from_secs(2), "the cancelled task", holder).await?;
    db.slow_queries(Duration::ZERO);
    let mut conn = checkout(&pool, Duration::from_secs(3), "after a holder was cancelled mid-query").await?;
    let word = cx.word(6);
    match within(Duration::from_secs(3), "a query", conn.query(&word)).await? {
        Ok(rows) if rows == [word.as_str()] => Ok(()),
        Ok(rows) => fail!("the query {word:?} got the rows {rows:?}: the answer to the cancelled query, read by the next user"),
        Err(e) => fail!(
            "a task was cancelled in the middle of a query and its connection went back to the pool; \
             the next user got it and its query failed: {e}. A connection Conn::is_broken() reports broken must be closed, not lent"
        ),
    }
}

async fn failures_panic_holder(mut cx: Ctx) -> CheckResult {
    const SIZE: usize = 2;
    let db = start_db(DbConfig::default().connect_cost(CONNECT_COST)).await?;
    let pool = pool(&db, SIZE, Duration::from_millis(500));
    for _ in 0..=SIZE {
        let pool = pool.clone();
        let word = cx.word(6);
        let task = tokio::spawn(async move {
            let mut conn = pool.get().await.expect("checkout");
            let _ = conn.query(&word).await;
            panic!("deliberate panic from the suite: a request handler crashed while holding a connection");
        });
        let _ = within(Duration::from_secs(3), "a panicking task", task).await?;
    }
    let mut conn = match within(Duration::from_secs(3), "pool.get()", pool.get()).await? {
        Ok(conn) => conn,
        Err(e) => fail!(
            "after {} tasks panicked while holding a connection (pool of {SIZE}), pool.get() failed: {e}. \
             The slot of a holder that panics must come back (Drop runs while a panic unwinds)",
            SIZE + 1
        ),
    };
    query_echo(&mut conn, &cx.word(6)).await
}

async fn failures_aborted_holder(mut cx: Ctx) -> CheckResult {
    const SIZE: usize = 2;
    let db = start_db(DbConfig::default().connect_cost(CONNECT_COST)).await?;
    let pool = pool(&db, SIZE, Duration::from_millis(500));
    for _ in 0..=SIZE {
        let pool = pool.clone();
        let (holding, held) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let conn = pool.get().await;
            let _ = holding.send(conn.is_ok());
            std::future::pending::<()>().await;
            drop(conn);
        });
        let got = within(Duration::from_secs(3), "a checkout in a task", held).await?;
        task.abort();
        let _ = within(Duration::from_secs(2), "an aborted task", task).await?;
        if !matches!(got, Ok(true)) {
            fail!("after earlier holders were aborted, a pool of {SIZE} had no connection for the next task: an aborted holder must give its slot back");
        }
    }
    let mut conn = checkout(&pool, Duration::from_secs(3), &format!("after {} holders were aborted", SIZE + 1)).await?;
    query_echo(&mut conn, &cx.word(6)).await
}

async fn failures_connect_error(mut cx: Ctx) -> CheckResult {
    const SIZE: usize = 2;
    let db = start_db(DbConfig::default().connect_cost(CONNECT_COST)).await?;
    let pool = pool(&db, SIZE, Duration::from_secs(1));
    db.refuse_new(true);
    for attempt in 1..=SIZE + 1 {
        match within(Duration::from_secs(3), "pool.get() while the database refuses connections", pool.get()).await? {
            Err(PoolError::Connect(_)) => {}
            Err(PoolError::Timeout(_)) => fail!(
                "attempt {attempt}: while the database refused new connections, pool.get() timed out instead of reporting \
                 PoolError::Connect; after {} refusals the pool of {SIZE} had no slot left: a failed connect must free its slot",
                attempt - 1
            ),
            Ok(_) => fail!("pool.get() gave a connection although the database refused every new one"),
        }
    }
    db.refuse_new(false);
    let mut conn = checkout(&pool, Duration::from_secs(3), "after the database accepted connections again").await?;
    query_echo(&mut conn, &cx.word(6)).await
}

// ---------------------------------------------------------------- fairness

/// Poll `fut` once; true if it finished.
async fn poll_once<F: Future + Unpin>(fut: &mut F) -> bool {
    std::future::poll_fn(|c| Poll::Ready(std::pin::Pin::new(&mut *fut).poll(c).is_ready())).await
}

async fn fairness_fifo(mut cx: Ctx) -> CheckResult {
    let db = start_db(DbConfig::default().connect_cost(CONNECT_COST)).await?;
    let pool = pool(&db, 1, Duration::from_secs(5));
    let holder = checkout(&pool, Duration::from_secs(3), "on a fresh pool of 1").await?;
    let n = cx.rng().usize(5..=8);
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut waiters = Vec::new();
    // Each waiter's get() is polled once, in turn, so they queue in a known order.
    for i in 0..n {
        let pool = pool.clone();
        let order = order.clone();
        let word = cx.word(6);
        let mut waiter = Box::pin(async move {
            let mut conn = pool.get().await.map_err(|e| format!("waiter {i}: pool.get() failed: {e}"))?;
            order.lock().unwrap_or_else(|e| e.into_inner()).push(i);
            conn.query(&word).await.map(drop).map_err(|e| format!("waiter {i}: query failed: {e}"))
        });
        ensure!(
            !poll_once(&mut waiter).await,
            "pool.get() finished while the only connection of a pool of 1 was checked out"
        );
        waiters.push(tokio::spawn(waiter));
    }
    drop(holder);
    for task in waiters {
        match within(Duration::from_secs(5), "the queued waiters", task).await? {
            Ok(Ok(())) => {}
            Ok(Err(e)) => fail!("{e}"),
            Err(e) => fail!("a waiter panicked: {e}"),
        }
    }
    let order = order.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let expected: Vec<usize> = (0..n).collect();
    ensure!(
        order == expected,
        "{n} waiters queued one after another got the connection in the order {order:?}; first come, first served is {expected:?}"
    );
    Ok(())
}

async fn fairness_no_barging(mut cx: Ctx) -> CheckResult {
    const ROUNDS: usize = 40;
    let db = start_db(DbConfig::default().connect_cost(CONNECT_COST).query_cost(Duration::from_millis(4))).await?;
    let pool = pool(&db, 1, Duration::from_secs(5));
    let done = Arc::new(AtomicUsize::new(0));
    // Once the waiter is served the greedy task stops: a fair pool finishes
    // in a few rounds, an unfair one makes the waiter sit through many.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // A greedy task gives the connection back and asks again at once.
    let greedy = {
        let pool = pool.clone();
        let done = done.clone();
        let stop = stop.clone();
        let word = cx.word(6);
        tokio::spawn(async move {
            for _ in 0..ROUNDS {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let mut conn = pool.get().await.map_err(|e| format!("the greedy task's pool.get() failed: {e}"))?;
                conn.query(&word).await.map_err(|e| format!("the greedy task's query failed: {e}"))?;
                drop(conn);
                done.fetch_add(1, Ordering::SeqCst);
            }
            Ok::<(), String>(())
        })
    };
    let started = Instant::now();
    while done.load(Ordering::SeqCst) < 1 {
        ensure!(started.elapsed() < Duration::from_secs(3), "the greedy task's first query did not finish within 3 s");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let asked_at = done.load(Ordering::SeqCst);
    let waited = match within(Duration::from_secs(5), "a waiter competing with a greedy task", pool.get()).await? {
        Ok(conn) => {
            let got_at = done.load(Ordering::SeqCst);
            stop.store(true, Ordering::SeqCst);
            drop(conn);
            got_at - asked_at
        }
        Err(e) => fail!("a waiter competing with a greedy task never got the connection: {e}"),
    };
    match within(Duration::from_secs(5), "the greedy task", greedy).await? {
        Ok(Ok(())) => {}
        Ok(Err(e)) => fail!("{e}"),
        Err(e) => fail!("the greedy task panicked: {e}"),
    }
    ensure!(
        waited <= 2,
        "a waiter that queued behind a greedy task got the connection only after the greedy task had taken it {waited} more times: \
         a task that drops a connection and asks again at once must queue behind those already waiting"
    );
    Ok(())
}

// ---------------------------------------------------------------- performance

async fn performance_speedup(mut cx: Ctx) -> CheckResult {
    const WORKERS: usize = 6;
    const QUERIES: usize = 5;
    // Queries take a little time, so the workers overlap as a web server's
    // requests do.
    let db = start_db(DbConfig::default().connect_cost(Duration::from_millis(25)).query_cost(Duration::from_millis(1)))
        .await?;
    let words: Vec<String> = (0..WORKERS * QUERIES).map(|_| cx.word(6)).collect();
    let addr = db.addr();

    // The same workload twice: a connection opened per query, then the pool.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for chunk in words.chunks(QUERIES) {
        let chunk = chunk.to_vec();
        tasks.push(tokio::spawn(async move {
            for word in chunk {
                let config = PoolConfig::new(addr);
                let mut conn =
                    subject::Conn::connect(addr, &config.user, &config.password).await.map_err(|e| e.to_string())?;
                conn.query(&word).await.map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        }));
    }
    for task in tasks {
        if let Ok(Err(e)) | Err(e) =
            within(Duration::from_secs(5), "the connect-per-query workload", task).await?.map_err(|e| e.to_string())
        {
            fail!("the baseline (a connection per query) failed: {e}");
        }
    }
    let per_query = started.elapsed();

    let pool = pool(&db, WORKERS, Duration::from_secs(5));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for chunk in words.chunks(QUERIES) {
        let chunk = chunk.to_vec();
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for word in chunk {
                let mut conn = pool.get().await.map_err(|e| e.to_string())?;
                conn.query(&word).await.map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        }));
    }
    for task in tasks {
        if let Ok(Err(e)) | Err(e) =
            within(Duration::from_secs(5), "the pooled workload", task).await?.map_err(|e| e.to_string())
        {
            fail!("the pooled workload failed: {e}");
        }
    }
    let pooled = started.elapsed();
    let ratio = per_query.as_secs_f64() / pooled.as_secs_f64().max(1e-6);
    ensure!(
        ratio >= 3.0,
        "{} queries from {WORKERS} tasks took {} ms with a new connection per query and {} ms through the pool: \
         only {ratio:.1}x faster, expected at least 3x (each connection costs 40 ms to open; {})",
        WORKERS * QUERIES,
        per_query.as_millis(),
        pooled.as_millis(),
        stats_line(&db.stats())
    );
    Ok(())
}
