// Giving a connection back is dropping its guard, and a value is dropped
// once: returning the same checkout twice is a use of a moved value.
use subject::{Pool, PoolError};

async fn give_back_twice(pool: &Pool) -> Result<(), PoolError> {
    let conn = pool.get().await?;
    drop(conn);
    drop(conn);
    Ok(())
}

fn main() {
    let _ = give_back_twice;
}
