//! Stage `headers`: forwarding and hop-by-hop headers.

use crate::cases::Mix;
use crate::fixtures::*;

pub async fn forwarded(mut cx: Ctx) -> CheckResult {
    let up = upstream("app").await?;
    let d = format!("{}.dev", cx.word(6));
    let run = start(&mut cx, &forwarding_rules(&up, &d)).await?;
    let earlier = format!("203.0.113.{}", cx.rng().u8(1..250));
    let req = get(&format!("{d}:{}", run.tls.addr().port()), "/").header("x-forwarded-for", earlier.clone());
    let (ex, seen) = through(&run, &run.tls, req).await?;
    let want = [
        ("x-forwarded-for", format!("{earlier}, 127.0.0.1")),
        ("x-real-ip", "127.0.0.1".to_string()),
        ("x-forwarded-proto", "https".to_string()),
        ("host", d.clone()),
    ];
    for (name, value) in want {
        let got = seen.header(name);
        if got.as_deref() != Some(value.as_str()) {
            return Err(ex
                .fail(format!("the upstream must receive `{name}: {value}`, it received {got:?}"))
                .with_output(run.output()));
        }
    }
    // Two lines: both chains are kept, in order.
    let later = format!("198.51.100.{}", cx.rng().u8(1..250));
    let req = get(&d, "/").header("x-forwarded-for", earlier.clone()).header("x-forwarded-for", later.clone());
    let (ex, seen) = through(&run, &run.tls, req).await?;
    let want = format!("{earlier}, {later}, 127.0.0.1");
    if seen.header("x-forwarded-for").as_deref() != Some(want.as_str()) {
        return Err(ex.fail(format!(
            "the client sent two X-Forwarded-For lines ({earlier}, then {later}); the upstream must receive every address, comma-joined in order, then the client's: `{want}`, got {:?}",
            seen.header("x-forwarded-for")
        )));
    }
    let (ex, seen) = through(&run, &run.tls, get(&d, "/")).await?;
    if seen.header("x-forwarded-for").as_deref() != Some("127.0.0.1") {
        return Err(ex.fail(format!(
            "without an X-Forwarded-For from the client, the upstream must receive just the client's address, got {:?}",
            seen.header("x-forwarded-for")
        )));
    }
    let (ex, seen) = through(&run, &run.tls, get(&d, "/default-host/")).await?;
    let want = up.addr.to_string();
    if seen.header("host").as_deref() != Some(want.as_str()) {
        return Err(ex.fail(format!(
            "a location without `proxy_set_header Host` sends nginx's default `Host: $proxy_host` ({want}), got {:?}",
            seen.header("host")
        )));
    }
    Ok(())
}

pub async fn hop_by_hop(mut cx: Ctx) -> CheckResult {
    let up = upstream("app").await?;
    let d = format!("{}.dev", cx.word(6));
    let run = start(&mut cx, &forwarding_rules(&up, &d)).await?;
    let named = format!("x-{}", cx.word(6));
    // send_raw already says `connection: close`; a second Connection header
    // names a custom header, which makes it hop-by-hop too.
    let req = Request::get("/")
        .header("connection", named.clone())
        .header(&named, "for-the-proxy-only")
        .header("keep-alive", "timeout=5")
        .header("proxy-connection", "keep-alive")
        .header("te", "trailers")
        .header("x-end-to-end", "kept");
    let ex = run.tls.send_raw(req).await?;
    let Some(seen) = Seen::parse(&ex.response.body) else {
        return Err(ex.fail("the request must reach the upstream").with_output(run.output()));
    };
    for h in ["connection", "keep-alive", "proxy-connection", "te", named.as_str()] {
        if let Some(v) = seen.header(h) {
            if h == "connection" && v == "close" {
                continue; // nginx's own `Connection: close` to the upstream
            }
            return Err(ex.fail(format!("the hop-by-hop header `{h}: {v}` reached the upstream; strip it (and every header that Connection names)")));
        }
    }
    ensure!(
        seen.header("x-end-to-end").as_deref() == Some("kept"),
        "an ordinary header (x-end-to-end) must reach the upstream"
    );
    let ex = run.tls.send(get(&d, "/").header("x-echo-hop", "1")).await?;
    for h in ["x-echo-private", "keep-alive"] {
        if ex.response.header(h).is_some() {
            return Err(ex.fail(format!(
                "the upstream's hop-by-hop header `{h}` reached the client; strip them from the answer too"
            )));
        }
    }
    if ex.response.header("connection").is_some_and(|c| c.contains("x-echo-private")) {
        return Err(ex.fail("the upstream's Connection header reached the client; strip it from the answer"));
    }
    ensure!(
        ex.response.header("x-echo-public") == Some("end-to-end"),
        "an ordinary header of the answer (x-echo-public) must reach the client"
    );
    Ok(())
}

/// Random rule files and requests, answered by your proxy and the reference.
pub async fn random(mut cx: Ctx) -> CheckResult {
    let rule = "proxy_set_header values are rendered per request: $host is the Host lowercase without port or trailing dot, $proxy_add_x_forwarded_for is every X-Forwarded-For line the client sent, comma-joined, with the client's address appended, $scheme is https on the 443 listener; `return` texts and redirects use the same variables.";
    differential(&mut cx, rule, Mix { headers: true, ..Mix::default() }, 6, 20).await
}
