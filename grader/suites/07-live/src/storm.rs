//! The checks' load: likes and unlikes sent many at a time.

use std::sync::Arc;
use std::time::Duration;

use harness::Failure;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::api;
use crate::fixture::Fx;

/// One request: `who` (an index into the users) likes or unlikes `post`
/// (an index into the posts), after `pause`.
#[derive(Clone, Copy, Debug)]
pub struct Request {
    pub like: bool,
    pub who: usize,
    pub post: usize,
    pub pause: Duration,
}

impl Request {
    pub fn like(who: usize, post: usize) -> Request {
        Request { like: true, who, post, pause: Duration::ZERO }
    }
}

/// Send `plan`, `in_flight` requests at a time, until it is done or `stop`
/// turns true. How many were sent, or the first request that failed (the
/// others in flight are dropped).
pub async fn send(
    fx: &Arc<Fx>,
    plan: impl IntoIterator<Item = Request>,
    in_flight: usize,
    stop: Option<watch::Receiver<bool>>,
) -> Result<usize, Failure> {
    let stopped = || stop.as_ref().is_some_and(|s| *s.borrow());
    let mut plan = plan.into_iter();
    let mut set = JoinSet::new();
    let mut sent = 0;
    loop {
        while set.len() < in_flight && !stopped() {
            let Some(r) = plan.next() else { break };
            sent += 1;
            let fx = fx.clone();
            set.spawn(async move {
                if !r.pause.is_zero() {
                    // Pacing the load, not waiting for anything.
                    tokio::time::sleep(r.pause).await;
                }
                let (who, post) = (&fx.world.users[r.who], fx.world.posts[r.post].id);
                if r.like {
                    api::like(&fx.client, &fx.proc, post, who).await
                } else {
                    api::unlike(&fx.client, &fx.proc, post, who).await
                }
            });
        }
        match set.join_next().await {
            None => return Ok(sent),
            Some(Ok(result)) => result?,
            Some(Err(e)) => return Err(Failure::new(format!("a request task failed: {e}"))),
        }
    }
}
