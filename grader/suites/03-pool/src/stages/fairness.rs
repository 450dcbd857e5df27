//! Stage `fairness`: waiters are served first come, first served.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harness::db::DbConfig;
use harness::{ensure, fail, CheckResult, Ctx};

use crate::fixtures::{cheap_db, checkout, pool, start_db, within, CONNECT_COST};

pub async fn fifo(mut cx: Ctx) -> CheckResult {
    let db = cheap_db().await?;
    let pool = pool(&cx, &db, 1, Duration::from_secs(5)).await?;
    let holder = checkout(&pool, Duration::from_secs(3), "on a fresh pool of 1").await?;
    let n = cx.rng().usize(5..=8);
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut waiters = Vec::new();
    // Each waiter's get() is polled once, in turn, so they queue in a known order.
    for i in 0..n {
        let mut get = pool.get();
        ensure!(
            !get.answered_at_once().await,
            "pool.get() finished while the only connection of a pool of 1 was checked out"
        );
        let order = order.clone();
        let word = cx.word(6);
        waiters.push(tokio::spawn(async move {
            let mut conn = get.await.map_err(|e| format!("waiter {i}: pool.get() failed: {e}"))?;
            order.lock().unwrap_or_else(|e| e.into_inner()).push(i);
            conn.query(&word).await.map(drop).map_err(|e| format!("waiter {i}: query failed: {e}"))
        }));
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

pub async fn no_barging(mut cx: Ctx) -> CheckResult {
    const ROUNDS: usize = 40;
    let db = start_db(DbConfig::default().connect_cost(CONNECT_COST).query_cost(Duration::from_millis(4))).await?;
    let pool = pool(&cx, &db, 1, Duration::from_secs(5)).await?;
    let done = Arc::new(AtomicUsize::new(0));
    // Once the waiter is served the greedy task stops: a fair pool finishes
    // in a few rounds, an unfair one makes the waiter sit through many.
    let stop = Arc::new(AtomicBool::new(false));
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
