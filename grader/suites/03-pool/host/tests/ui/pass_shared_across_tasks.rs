// The other side of the contract: the pool handle is cheap to clone and
// can be shared by every task (an axum State needs Clone + Send + Sync +
// 'static), and a checkout can move to another task.
use subject::{Pool, Pooled};

fn shareable<T: Clone + Send + Sync + 'static>() {}
fn movable<T: Send + 'static>() {}

fn main() {
    shareable::<Pool>();
    movable::<Pooled>();
}
