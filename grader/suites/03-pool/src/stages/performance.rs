//! Stage `performance`: a pool is faster than a connection per query
//! because it pays the connect cost once per slot, and opens its slots in
//! parallel. Both are counted by the database, not timed: a wall-clock
//! ratio fails correct pools on a busy machine.

use std::time::Duration;

use harness::db::DbConfig;
use harness::{ensure, fail, CheckResult, Ctx};

use crate::fixtures::{pool, start_db, stats_line, within};

const WORKERS: usize = 6;
const QUERIES: usize = 10;

pub async fn speedup(mut cx: Ctx) -> CheckResult {
    let db = start_db(DbConfig::default().connect_cost(Duration::from_millis(10)).query_cost(Duration::from_millis(1)))
        .await?;
    let pool = pool(&cx, &db, WORKERS, Duration::from_secs(5)).await?;
    // Hold every handshake: a pool that opens its connections one at a time
    // shows it as a single handshake in progress, however fast the machine.
    db.hold_handshakes(true);
    let mut tasks = Vec::new();
    for _ in 0..WORKERS {
        let words: Vec<String> = (0..QUERIES).map(|_| cx.word(6)).collect();
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for word in words {
                let mut conn = pool.get().await.map_err(|e| format!("pool.get() failed: {e}"))?;
                match conn.query(&word).await {
                    Ok(rows) if rows == [word.as_str()] => {}
                    Ok(rows) => return Err(format!("the query {word:?} returned {rows:?}")),
                    Err(e) => return Err(format!("a query failed: {e}")),
                }
            }
            Ok::<(), String>(())
        }));
    }
    let parallel = db.wait_for(Duration::from_secs(3), |s| s.handshaking >= WORKERS).await;
    db.hold_handshakes(false);
    if let Err(s) = parallel {
        for task in &tasks {
            task.abort();
        }
        fail!(
            "{WORKERS} tasks asked a fresh pool of {WORKERS} for a connection at once, but the database saw at most {} \
             connection(s) being opened at the same time (waiting 3 s): the pool opens connections one at a time, so a \
             burst of requests on a cold pool waits for every handshake in turn. Take a slot, then open the connection \
             without holding a lock across Conn::connect",
            s.peak_handshaking
        );
    }
    for task in tasks {
        match within(Duration::from_secs(5), &format!("{WORKERS} tasks running {QUERIES} queries each"), task).await? {
            Ok(Ok(())) => {}
            Ok(Err(e)) => fail!("{} queries from {WORKERS} tasks through a pool of {WORKERS}: {e}", WORKERS * QUERIES),
            Err(e) => fail!("a task running queries through the pool panicked: {e}"),
        }
    }
    let s = db.stats();
    ensure!(
        s.opened == WORKERS as u64,
        "{} queries from {WORKERS} tasks through a pool of {WORKERS} should pay the connect cost {WORKERS} times (once \
         per slot; a connection per query pays it {} times), but {}: a dropped Pooled must go back to the pool and be lent again",
        WORKERS * QUERIES,
        WORKERS * QUERIES,
        stats_line(&s)
    );
    Ok(())
}
