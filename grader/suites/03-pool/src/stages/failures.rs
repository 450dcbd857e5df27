//! Stage `failures`: broken connections are replaced, and every way a holder
//! can end (a panic, an abort, a refused connect) gives its slot back.

use std::time::Duration;

use harness::{ensure, fail, CheckResult, Ctx};

use crate::fixtures::{cheap_db, checkout, pool, query_echo, within, DELIBERATE_PANIC};
use crate::subject::PoolError;

pub async fn server_dropped(mut cx: Ctx) -> CheckResult {
    let db = cheap_db().await?;
    let pool = pool(&cx, &db, 2, Duration::from_secs(3)).await?;
    let mut conn = checkout(&pool, Duration::from_secs(3), "on a fresh pool").await?;
    query_echo(&mut conn, &cx.word(6)).await?;
    let old = conn.backend_id();
    drop(conn);
    // Back in the pool, and found healthy, before the server closes it.
    pool.settle().await;
    db.drop_all();
    if db.wait_for(Duration::from_secs(2), |s| s.open == 0).await.is_err() {
        fail!("the test database could not close its sessions");
    }
    pool.settle().await;
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

pub async fn cancelled_query(mut cx: Ctx) -> CheckResult {
    let db = cheap_db().await?;
    let pool = pool(&cx, &db, 1, Duration::from_secs(3)).await?;
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

pub async fn panic_holder(mut cx: Ctx) -> CheckResult {
    const SIZE: usize = 2;
    let db = cheap_db().await?;
    // A long timeout: a correct pool answers at once, a busy machine must not
    // turn that into a failure.
    let pool = pool(&cx, &db, SIZE, Duration::from_secs(2)).await?;
    crate::fixtures::quiet_deliberate_panics();
    for _ in 0..=SIZE {
        let pool = pool.clone();
        let word = cx.word(6);
        let task = tokio::spawn(async move {
            let mut conn = pool.get().await.expect("checkout");
            let _ = conn.query(&word).await;
            panic!("{DELIBERATE_PANIC}: a request handler crashed while holding a connection");
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

pub async fn aborted_holder(mut cx: Ctx) -> CheckResult {
    const SIZE: usize = 2;
    let db = cheap_db().await?;
    let pool = pool(&cx, &db, SIZE, Duration::from_secs(2)).await?;
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

pub async fn connect_error(mut cx: Ctx) -> CheckResult {
    const SIZE: usize = 2;
    let db = cheap_db().await?;
    let pool = pool(&cx, &db, SIZE, Duration::from_secs(2)).await?;
    db.refuse_new(true);
    for attempt in 1..=SIZE + 1 {
        match within(Duration::from_secs(3), "pool.get() while the database refuses connections", pool.get()).await? {
            Err(PoolError::Connect { .. }) => {}
            Err(PoolError::Timeout { .. }) => fail!(
                "attempt {attempt}: while the database refused new connections, pool.get() timed out instead of reporting \
                 PoolError::Connect; after {} refusals the pool of {SIZE} had no slot left: a failed connect must free its slot",
                attempt - 1
            ),
            Err(e) => fail!("attempt {attempt}: while the database refused new connections, pool.get() failed: {e}"),
            Ok(_) => fail!("pool.get() gave a connection although the database refused every new one"),
        }
    }
    db.refuse_new(false);
    let mut conn = checkout(&pool, Duration::from_secs(3), "after the database accepted connections again").await?;
    query_echo(&mut conn, &cx.word(6)).await
}
