//! Stage persist: everything survives a crash and a restart on the same file.

use harness::{CheckResult, Ctx, Failure};

use crate::api::{expect_notes, expect_view, like, unlike};
use crate::cases;
use crate::sequence::Step;
use crate::world::World;

pub async fn restart(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 4, 2)?;
    let (p1, p2) = (world.posts[0].id, world.posts[1].id);
    let (owner, a, b, c) = (&world.users[0], &world.users[1], &world.users[2], &world.users[3]);
    // Posts 0 and 1 are owned by users 0 and 1.
    {
        let (proc, client) = world.start(&cx).await?;
        like(&client, &proc, p1, a).await?;
        like(&client, &proc, p1, b).await?;
        like(&client, &proc, p2, b).await?;
        like(&client, &proc, p2, c).await?;
        unlike(&client, &proc, p2, c).await?;
        // Dropping the process kills it (SIGKILL): only what was committed survives.
    }
    let (proc, client) = match world.start(&cx).await {
        Ok(started) => started,
        Err(f) => {
            return Err(Failure::new(format!(
                "started again on the same DATABASE_PATH (and SEED_PATH), the server failed: {}. \
                 The schema and the seed data are created only when the database is new",
                f.message()
            )))
        }
    };
    let context = "after a restart on the same database file (likes are stored in the database, not in memory)";
    expect_view(&client, &proc, p1, a, 2, true, context).await?;
    expect_view(&client, &proc, p2, c, 1, false, context).await?;
    expect_view(&client, &proc, p2, b, 1, true, context).await?;
    expect_notes(&client, &proc, owner, 2, context).await?;
    expect_notes(&client, &proc, a, 2, context).await?;
    let (ex, n) = like(&client, &proc, p1, a).await?;
    if n != 2 {
        return Err(
            ex.fail(format!("a like repeated after the restart must still count once: \"likes\" must stay 2, got {n}"))
        );
    }
    expect_notes(&client, &proc, owner, 2, "after a repeated like, after the restart").await?;
    Ok(())
}

const PERSIST_RULE: &str = "Everything lives in the database file named by DATABASE_PATH: after the server is killed \
    and started again on the same file, likes, counts, `liked` and notifications are as they were, and the seed is \
    not loaded again. Keep nothing that matters in memory only.";

/// Random sequences with restarts in the middle, compared with the
/// reference.
pub async fn random(mut cx: Ctx) -> CheckResult {
    let cases = cases::sequences(&mut cx, 3, |g| {
        let mut steps: Vec<Step> = (0..8 + g.cx.rng().usize(..7)).map(|_| g.legit_any(45, 20, 15)).collect();
        for _ in 0..1 + g.cx.rng().usize(..2) {
            let at = 1 + g.cx.rng().usize(..steps.len());
            steps.insert(at, Step::Restart);
        }
        steps
    });
    cases::compare(&cx, PERSIST_RULE, cases).await
}
