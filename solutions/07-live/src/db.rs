//! The one central database: a SQLite file, its schema, and a small pool of
//! connections to it. Given: you call [`Db::call`], you need not change it.
//!
//! SQLite is a library, not a server: "connecting" opens the file. The
//! lesson is the same as with PostgreSQL behind a pool, though: several
//! requests use several connections at once, so two of them really can
//! interleave their statements, and only the database's own guarantees (a
//! unique key, a transaction) keep the data right.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{params, Connection, TransactionBehavior};
use tokio::sync::Semaphore;

use crate::error::ApiError;
use crate::seed::Seed;

/// How many connections may be in use at once.
pub const POOL_SIZE: usize = 4;

/// How long a statement waits for another connection's write to finish
/// before failing with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The schema, created in a new database.
///
/// - `likes` has the primary key `(post_id, user_id)`: the database itself
///   refuses a second like of the same post by the same user, whatever the
///   code around it does.
/// - `posts.like_count` is the count the API shows, kept next to the post so
///   that showing a post does not count rows. It must always equal the
///   number of rows in `likes` for that post: change both in one
///   transaction.
/// - `notifications` are stored; a client fetches them (polling), or a
///   WebSocket pushes them (a later exercise).
pub const SCHEMA: &str = "
CREATE TABLE users (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE
);
CREATE TABLE posts (
    id         INTEGER PRIMARY KEY,
    owner_id   INTEGER NOT NULL REFERENCES users(id),
    text       TEXT NOT NULL,
    like_count INTEGER NOT NULL DEFAULT 0 CHECK (like_count >= 0)
);
CREATE TABLE likes (
    post_id INTEGER NOT NULL REFERENCES posts(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (post_id, user_id)
);
CREATE TABLE notifications (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id  INTEGER NOT NULL REFERENCES users(id),
    kind     TEXT NOT NULL,
    post_id  INTEGER NOT NULL REFERENCES posts(id),
    actor_id INTEGER NOT NULL REFERENCES users(id)
);
CREATE INDEX notifications_by_user ON notifications(user_id, id);
";

/// The schema version this program writes into `PRAGMA user_version`; 0
/// means a new, empty database.
const SCHEMA_VERSION: i64 = 1;

/// A handle on the database, cheap to clone (every request gets one).
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl Db {
    /// Opens (or creates) the database file. A new database gets the schema
    /// and the seed data; an existing one is used as it is, so what was
    /// stored before a restart is still there.
    pub fn open(path: &Path, seed: impl FnOnce() -> Result<Seed, String>) -> Result<Db, String> {
        let describe = |e: rusqlite::Error| format!("database {}: {e}", path.display());
        let mut conn = open_connection(path).map_err(describe)?;
        // WAL: readers do not wait for the writer, and a commit is one
        // append to the log.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).map_err(describe)?;
        if !mode.eq_ignore_ascii_case("wal") {
            eprintln!("warning: {} is in journal mode {mode}, not WAL", path.display());
        }

        // One transaction for "is it new? then create it": two servers
        // started on the same new file cannot both seed it.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(describe)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(describe)?;
        match version {
            0 => {
                let seed = seed()?;
                tx.execute_batch(SCHEMA).map_err(describe)?;
                load_seed(&tx, &seed).map_err(describe)?;
                tx.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(describe)?;
            }
            SCHEMA_VERSION => {}
            other => {
                return Err(format!(
                    "database {} has schema version {other}, this program knows {SCHEMA_VERSION}; \
                     delete the file to start afresh",
                    path.display()
                ))
            }
        }
        tx.commit().map_err(describe)?;

        Ok(Db {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                idle: Mutex::new(vec![conn]),
                permits: Semaphore::new(POOL_SIZE),
            }),
        })
    }

    /// Runs `work` with a connection of the pool, on a thread where
    /// blocking is fine (SQLite calls block), and returns what it returns.
    ///
    /// Everything inside one `work` runs on one connection; a transaction
    /// must begin and end inside it. Between two `call`s other requests run:
    /// never read a value in one call and write something computed from it
    /// in the next.
    pub async fn call<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut Connection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self.inner.permits.acquire().await.map_err(ApiError::internal)?;
        let inner = self.inner.clone();
        let job = tokio::task::spawn_blocking(move || {
            let mut conn = match inner.take() {
                Some(conn) => conn,
                None => open_connection(&inner.path)?,
            };
            let result = work(&mut conn);
            // Back into the pool (if `work` panicked, the connection is
            // dropped instead, rolling back whatever it had begun).
            inner.put(conn);
            result
        });
        match job.await {
            Ok(result) => result,
            Err(err) => Err(ApiError::internal(format!("a database task failed: {err}"))),
        }
    }
}

impl Inner {
    fn take(&self) -> Option<Connection> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    fn put(&self, conn: Connection) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
    }
}

/// One connection, set up the same way every time.
fn open_connection(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Per connection: SQLite checks REFERENCES only when asked to.
    conn.pragma_update(None, "foreign_keys", true)?;
    // In WAL mode, NORMAL survives a crash of the process (not of the
    // machine's power) without waiting for the disk on every commit.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

fn load_seed(conn: &Connection, seed: &Seed) -> Result<(), rusqlite::Error> {
    let mut user = conn.prepare("INSERT INTO users (id, name, token) VALUES (?1, ?2, ?3)")?;
    for u in &seed.users {
        user.execute(params![u.id, u.name, u.token])?;
    }
    let mut post = conn.prepare("INSERT INTO posts (id, owner_id, text) VALUES (?1, ?2, ?3)")?;
    for p in &seed.posts {
        post.execute(params![p.id, p.owner, p.text])?;
    }
    Ok(())
}
