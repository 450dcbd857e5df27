//! Stage `snapshot`: the forwarded request and the response, against snapshots of the reference.

use crate::fixtures::*;

async fn snapshot_run(cx: &mut Ctx) -> Result<(Running, Upstream, String, Exchange, Seen), Failure> {
    let up = upstream("app").await?;
    let d = format!("{}.dev", cx.word(6));
    let run = start(cx, &forwarding_rules(&up, &d)).await?;
    let req = Request::new("POST", "/orders?draft=1")
        .header("host", d.clone())
        .header("content-type", "application/json")
        .header("x-forwarded-for", "198.51.100.4")
        .header("x-echo-status", "201")
        .body(r#"{"item":"coffee","qty":2}"#);
    let (ex, seen) = through(&run, &run.tls, req).await?;
    Ok((run, up, d, ex, seen))
}

pub async fn forwarded_request(mut cx: Ctx) -> CheckResult {
    let (run, up, d, _ex, seen) = snapshot_run(&mut cx).await?;
    let port = run.tls.addr().port().to_string();
    let up_port = up.addr.port().to_string();
    let text = upstream_view(&seen, &[(&d, "[domain]"), (&up_port, "[upstream-port]"), (&port, "[port]")]);
    harness::snapshot::compare(&cx, "snapshot.forwarded_request", &text)
}

pub async fn client_response(mut cx: Ctx) -> CheckResult {
    let (run, up, d, ex, _seen) = snapshot_run(&mut cx).await?;
    let port = run.tls.addr().port().to_string();
    let up_port = up.addr.port().to_string();
    // The body is the upstream's view (already snapshotted): keep the
    // status and the headers a client relies on.
    let mut shown = ex.clone();
    shown.response.body = b"[what the upstream saw, as JSON]".to_vec();
    let text = shown.transcript(
        &["content-type", "x-upstream", "connection", "keep-alive", "transfer-encoding"],
        &[(&d, "[domain]"), (&up_port, "[upstream-port]"), (&port, "[port]")],
    );
    harness::snapshot::compare(&cx, "snapshot.client_response", &text)
}
