//! Stage `limits`: never more than `max_size` open, and a checkout timeout
//! that bounds the whole `get()`, waiting and connecting alike.

use std::time::{Duration, Instant};

use harness::db::DbConfig;
use harness::{ensure, fail, CheckResult, Ctx};

use crate::fixtures::{
    cheap_db, checkout, checkout_retrying, pool, query_echo, start_db, stats_line, within, CONNECT_COST,
};
use crate::subject::PoolError;

pub async fn cap(mut cx: Ctx) -> CheckResult {
    const TASKS: usize = 500;
    const SIZE: usize = 8;
    let db = start_db(DbConfig::default().connect_cost(CONNECT_COST).max_connections(100)).await?;
    let pool = pool(&cx, &db, SIZE, Duration::from_secs(6)).await?;
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
         never open more than max_size, make the others wait. If a Semaphore counts your slots, the permit \
         must live as long as the connection is lent: `let _ = sem.acquire().await` drops it at once and \
         caps nothing (bind it to a name and keep it in the Pooled)",
        stats_line(&s),
        s.refused
    );
    if let Some(first) = failures.first() {
        fail!("{} of {TASKS} concurrent tasks on a pool of {SIZE} failed; the first: {first}", failures.len());
    }
    Ok(())
}

pub async fn timeout(mut cx: Ctx) -> CheckResult {
    let db = cheap_db().await?;
    let size = cx.rng().usize(1..=3);
    let timeout = Duration::from_millis(cx.rng().u64(80..=150));
    let pool = pool(&cx, &db, size, timeout).await?;
    let mut held = Vec::new();
    for _ in 0..size {
        // The pool's own timeout is short: on a busy machine even a checkout
        // that has room may miss it once, so a timeout here is retried.
        held.push(checkout_retrying(&pool, timeout, "while the pool still had room").await?);
    }
    let started = Instant::now();
    let limit = timeout + Duration::from_secs(4);
    let result = within(
        limit,
        &format!(
            "pool.get() with {} checked out and a {} ms timeout",
            if size == 1 { "the only connection".to_string() } else { format!("all {size} connections") },
            timeout.as_millis()
        ),
        pool.get(),
    )
    .await?;
    let waited = started.elapsed();
    match result {
        Err(PoolError::Timeout { .. }) => {}
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
    // Generous: a loaded machine wakes a timer late; a pool that ignores the
    // configured timeout (the 5 s default, or no timeout) is far beyond it.
    ensure!(
        waited <= timeout + Duration::from_millis(1500),
        "pool.get() timed out only after {} ms; its checkout_timeout was {} ms",
        waited.as_millis(),
        timeout.as_millis()
    );
    Ok(())
}

pub async fn waits_for_return(mut cx: Ctx) -> CheckResult {
    let db = cheap_db().await?;
    let pool = pool(&cx, &db, 1, Duration::from_secs(3)).await?;
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

pub async fn connect_timeout(mut cx: Ctx) -> CheckResult {
    let db = start_db(DbConfig::default().connect_cost(Duration::ZERO)).await?;
    let timeout = Duration::from_millis(cx.rng().u64(100..=200));
    let pool = pool(&cx, &db, 1, timeout).await?;
    // The database holds every handshake: opening a connection takes
    // longer than the checkout timeout, for as long as the check wants.
    db.hold_handshakes(true);
    let started = Instant::now();
    let what = format!(
        "pool.get() on a fresh pool of 1 with a {} ms checkout_timeout, while the database took forever to accept the connection",
        timeout.as_millis()
    );
    let result = match tokio::time::timeout(timeout + Duration::from_secs(3), pool.get()).await {
        Ok(result) => result,
        Err(_) => fail!(
            "{what} was still waiting {} ms later: the checkout timeout must bound the whole get(), opening a \
             connection included (wrap Conn::connect in the same deadline as the wait for a slot)",
            started.elapsed().as_millis()
        ),
    };
    let waited = started.elapsed();
    match result {
        Err(PoolError::Timeout { .. }) => {}
        Err(e) => fail!("{what} failed with \"{e}\"; it should give up with PoolError::Timeout"),
        Ok(_) => fail!("{what} gave a connection although the database never finished the handshake"),
    }
    ensure!(
        waited + Duration::from_millis(10) >= timeout,
        "{what} gave up after {} ms, before its checkout_timeout of {} ms",
        waited.as_millis(),
        timeout.as_millis()
    );
    ensure!(
        waited <= timeout + Duration::from_millis(1500),
        "{what} timed out only after {} ms; its checkout_timeout was {} ms",
        waited.as_millis(),
        timeout.as_millis()
    );
    // The connect that timed out must leave its slot free.
    db.hold_handshakes(false);
    let mut conn = checkout_retrying(&pool, timeout, "after a connect timed out (the database is quick again)").await?;
    query_echo(&mut conn, &cx.word(6)).await
}
