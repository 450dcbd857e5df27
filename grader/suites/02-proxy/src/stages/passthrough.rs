//! Stage `passthrough`: method, body and status unchanged.

use crate::fixtures::*;

pub async fn body_and_status(mut cx: Ctx) -> CheckResult {
    let up = upstream("app").await?;
    let rules = format!("server {{ listen 80; location / {{ proxy_pass {}; }} }}\n", up.url());
    let run = start(&mut cx, &rules).await?;
    let size = (3 << 20) + cx.rng().usize(..4096);
    let mut body = vec![0u8; size];
    cx.rng().fill(&mut body);
    let path = format!("/{}?id={}", cx.word(5), cx.rng().u32(..));
    let status = [201u16, 202, 418, 409][cx.rng().usize(..4)];
    let req = Request::new("PUT", path.clone())
        .header("host", "localhost")
        .header("x-echo-status", status.to_string())
        .body(body.clone());
    let (ex, seen) = through(&run, &run.plain, req).await?;
    ensure!(
        ex.response.status == status,
        "the upstream answered {status}; the client must get {status}, got {}",
        ex.response.status
    );
    ensure!(seen.method() == "PUT", "the method PUT must reach the upstream, it got {}", seen.method());
    ensure!(seen.uri() == path, "the upstream must receive {path}, got {}", seen.uri());
    ensure!(
        seen.0["body_len"].as_u64() == Some(size as u64)
            && seen.0["body_fnv"].as_str() == Some(crate::echo::fnv(&body).as_str()),
        "a {size}-byte body must reach the upstream unchanged; it received {} bytes{}",
        seen.0["body_len"],
        if seen.0["body_len"].as_u64() == Some(size as u64) { " with different contents" } else { "" }
    );
    ensure!(
        ex.response.header("x-upstream") == Some("app"),
        "the upstream's own headers (x-upstream) must reach the client"
    );
    let ex =
        run.plain.send(Request::new("DELETE", "/x").header("host", "localhost").header("x-echo-status", "204")).await?;
    ensure!(
        ex.response.status == 204,
        "DELETE answered 204 upstream must be 204 at the client, got {}",
        ex.response.status
    );
    Ok(())
}
