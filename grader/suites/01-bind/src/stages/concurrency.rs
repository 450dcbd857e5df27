//! Stage `concurrency`: one slow client must not hold up the others.

use harness::http::Request;
use harness::{CheckResult, Ctx, Failure};

use crate::fixtures::{make_site, start, STEP};

/// Two clients send half a request and stall; eight others must still be
/// answered. A server that serves one connection at a time never answers
/// them while the stalled ones stay open, so the wait ([`STEP`]) only
/// decides how long a wrong server takes to be caught, never whether a
/// right one passes.
pub async fn slow_client(mut cx: Ctx) -> CheckResult {
    use tokio::io::AsyncWriteExt;
    let site = make_site(&mut cx)?;
    let (proc, client) = start(&mut cx, &site).await?;
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut s = tokio::net::TcpStream::connect(client.addr())
            .await
            .map_err(|e| Failure::new(format!("could not connect: {e}")))?;
        s.write_all(b"GET /health HTTP/1.1\r\nHost: slow\r\n")
            .await
            .map_err(|e| Failure::new(format!("could not write: {e}")))?;
        stalled.push(s);
    }
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let c = client.clone();
        tasks.push(tokio::spawn(async move { c.send(Request::get("/health")).await }));
    }
    for t in tasks {
        match t.await {
            Ok(Ok(ex)) if ex.response.status == 200 => {}
            Ok(Ok(ex)) => return Err(ex.fail("GET /health failed while a slow client was connected")),
            _ => {
                return Err(Failure::new(format!(
                    "while one client had sent half a request and stalled, other clients got no answer within {} s: \
                     serve each connection independently (axum::serve does) instead of one at a time",
                    STEP.as_secs()
                ))
                .with_request(format!("curl -i http://{}/health", client.addr()))
                .with_output(proc.output()))
            }
        }
    }
    drop(stalled);
    Ok(())
}
