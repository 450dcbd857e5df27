//! Stage `basics`: lend a connection, take it back, reuse it, share the pool.

use std::sync::Arc;
use std::time::Duration;

use harness::{ensure, fail, CheckResult, Ctx, Failure};

use crate::fixtures::{cheap_db, checkout, pool, query_echo, stats_line, within, CONNECT_COST};

pub async fn query(mut cx: Ctx) -> CheckResult {
    let db = cheap_db().await?;
    let pool = pool(&cx, &db, 4, Duration::from_secs(2)).await?;
    let mut conn = checkout(&pool, Duration::from_secs(3), "on a fresh pool").await?;
    query_echo(&mut conn, &cx.word(12)).await
}

pub async fn lazy(mut cx: Ctx) -> CheckResult {
    let db = cheap_db().await?;
    let pool = pool(&cx, &db, 8, Duration::from_secs(2)).await?;
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

pub async fn reuse(mut cx: Ctx) -> CheckResult {
    let db = cheap_db().await?;
    let pool = pool(&cx, &db, 4, Duration::from_secs(2)).await?;
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

pub async fn shared(mut cx: Ctx) -> CheckResult {
    let db = cheap_db().await?;
    let pool = pool(&cx, &db, 2, Duration::from_secs(2)).await?;
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
