// A borrowed connection cannot outlive its checkout: once the guard is
// returned, the next holder owns the session.
use subject::{Conn, Pool, PoolError};

async fn keep_using(pool: &Pool) -> Result<(), PoolError> {
    let mut guard = pool.get().await?;
    let conn: &mut Conn = &mut guard;
    drop(guard);
    conn.ping().await?;
    Ok(())
}

fn main() {
    let _ = keep_using;
}
