//! Stage `start`: the server runs behind the CORS layer.

use harness::http::Request;
use harness::{CheckResult, Ctx, Failure};

use crate::fixtures::Setup;

/// The server starts and its routes answer a request without `Origin`.
pub async fn serves(mut cx: Ctx) -> CheckResult {
    let setup = Setup::random(&mut cx);
    let (proc, client) = setup.start(&cx).await?;
    let ex = client.send(Request::get("/api/public")).await.map_err(|f| {
        Failure::new(format!("{} Is the CORS layer still todo!()?", f.message())).with_output(proc.output())
    })?;
    if ex.response.status != 200 {
        return Err(ex.fail(format!("GET /api/public without Origin must answer 200, got {}", ex.response.status)));
    }
    Ok(())
}
