//! The reference pool of exercise 03 against deadpool, side by side in one
//! run: the same database (`harness::db`), the same connection type, the
//! same workload (many tasks, each checking out, querying and returning in
//! a loop), rounds alternating between the two. Prints each pool's median
//! and the ratio.
//!
//! ```sh
//! cargo run --release -p pool-bench          # or bench/pool.sh
//! ```

use std::time::{Duration, Instant};

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use harness::db::{Db, DbConfig};
use pool::{Conn, ConnError, Pool, PoolConfig};

const SIZE: usize = 8;
const TASKS: usize = 64;
const QUERIES: usize = 200;
const ROUNDS: usize = 7;

/// deadpool's side: how to open a `Conn` and whether one may be reused.
struct Manager {
    config: PoolConfig,
}

impl managed::Manager for Manager {
    type Type = Conn;
    type Error = ConnError;

    async fn create(&self) -> Result<Conn, ConnError> {
        Conn::connect(self.config.addr, &self.config.user, &self.config.password).await
    }

    async fn recycle(&self, conn: &mut Conn, _: &Metrics) -> RecycleResult<ConnError> {
        if conn.is_broken() {
            return Err(RecycleError::message("broken"));
        }
        Ok(())
    }
}

/// Either pool, behind one interface for the workload.
#[derive(Clone)]
enum Either {
    Ours(Pool),
    Deadpool(managed::Pool<Manager>),
}

impl Either {
    async fn query(&self, text: &str) {
        let rows = match self {
            Either::Ours(p) => p.get().await.expect("checkout").query(text).await,
            Either::Deadpool(p) => p.get().await.expect("checkout").query(text).await,
        };
        assert_eq!(rows.expect("query").len(), 1);
    }
}

/// One timed round: TASKS tasks, QUERIES checkouts each.
async fn round(pool: &Either) -> Duration {
    // Open every connection first, so the round measures lending, not connecting.
    let warm: Vec<_> =
        (0..SIZE).map(|_| pool.clone()).map(|p| tokio::spawn(async move { p.query("warm").await })).collect();
    for t in warm {
        t.await.expect("warm-up");
    }
    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let text = format!("task {i}");
                for _ in 0..QUERIES {
                    pool.query(&text).await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("workload task");
    }
    started.elapsed()
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let db = Db::start(DbConfig::default().connect_cost(Duration::from_millis(30))).await.expect("start the database");
    let config = PoolConfig::new(db.addr()).max_size(SIZE).checkout_timeout(Duration::from_secs(10));
    println!(
        "workload: {TASKS} tasks x {QUERIES} checkouts+queries, pool of {SIZE}, database on {} (connect cost 30 ms), {ROUNDS} rounds each",
        db.addr()
    );
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for r in 0..ROUNDS {
        // Fresh pools each round, alternating which goes first.
        let a = Either::Ours(Pool::new(config.clone()));
        let b = Either::Deadpool(
            managed::Pool::builder(Manager { config: config.clone() })
                .max_size(SIZE)
                .wait_timeout(Some(Duration::from_secs(10)))
                .runtime(deadpool::Runtime::Tokio1)
                .build()
                .expect("build deadpool"),
        );
        if r % 2 == 0 {
            ours.push(round(&a).await);
            theirs.push(round(&b).await);
        } else {
            theirs.push(round(&b).await);
            ours.push(round(&a).await);
        }
    }
    let stats = db.stats();
    let (ours, theirs) = (median(ours), median(theirs));
    let total = (TASKS * QUERIES) as f64;
    println!(
        "reference pool: median {:>8.1} ms  ({:.0} checkouts/s)",
        ours.as_secs_f64() * 1e3,
        total / ours.as_secs_f64()
    );
    println!(
        "deadpool:       median {:>8.1} ms  ({:.0} checkouts/s)",
        theirs.as_secs_f64() * 1e3,
        total / theirs.as_secs_f64()
    );
    println!(
        "ratio reference/deadpool: {:.2} (below 1 means the reference is faster)",
        ours.as_secs_f64() / theirs.as_secs_f64()
    );
    println!("database: {} connections opened in all, at most {} at once", stats.opened, stats.peak);
}
