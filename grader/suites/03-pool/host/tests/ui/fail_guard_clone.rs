// A checkout has one owner: a Pooled cannot be cloned, so two holders can
// never share a session or hand the same connection back twice.
use subject::{Pool, PoolError};

async fn share(pool: &Pool) -> Result<(), PoolError> {
    let conn = pool.get().await?;
    let copy = conn.clone();
    drop(conn);
    drop(copy);
    Ok(())
}

fn main() {
    let _ = share;
}
