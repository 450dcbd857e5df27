//! Stage `proxy`: what the app is told, and what the browser is told.

use crate::fixtures::*;

/// Random client headers: forwarding headers a client may already carry,
/// hop-by-hop ones, and ordinary ones.
fn client_headers(cx: &mut Ctx) -> Vec<(String, String)> {
    let mut headers = vec![(format!("x-{}", cx.word(5)), cx.word(8))];
    if cx.rng().bool() {
        headers.push(("x-forwarded-for".into(), format!("203.0.113.{}", cx.rng().u8(1..255))));
    }
    if cx.rng().bool() {
        headers.push(("x-forwarded-proto".into(), "http".into()));
    }
    if cx.rng().bool() {
        headers.push(("x-real-ip".into(), format!("198.51.100.{}", cx.rng().u8(1..255))));
    }
    if cx.rng().bool() {
        let named = format!("x-{}", cx.word(4));
        headers.push((named.clone(), cx.word(3)));
        headers.push(("connection".into(), format!("keep-alive, {named}")));
    }
    headers.push(("keep-alive".into(), "timeout=5".into()));
    cx.rng().shuffle(&mut headers);
    headers
}

/// The request the app saw, with the names and ports of this run replaced.
fn normalised(seen: &Seen, name: &str, up: &Upstream) -> String {
    seen.render(&[(name, "SITE"), (&up.addr.to_string(), "APP")])
}

pub async fn headers(mut cx: Ctx) -> CheckResult {
    let up = upstream().await?;
    let setup = setup(&mut cx, 2)?;
    let run = start(&cx, &setup, &up.url()).await?;
    let reference = start_reference(&cx, &setup, &up.url()).await?;
    for round in 0..4 {
        let name = setup.names[cx.rng().usize(..2)].clone();
        let path = target(&mut cx);
        let headers = client_headers(&mut cx);
        let (answer, seen) = through(&run, &setup, &name, &path, &headers).await?;
        // The lesson first, by name, then everything against the reference.
        if seen.header("x-forwarded-proto").as_deref() != Some("https") {
            return Err(Failure::new(format!(
                "the app only sees plain HTTP from the proxy, so it must be told the client used https: \
                 X-Forwarded-Proto: https (it got {:?})",
                seen.header("x-forwarded-proto")
            ))
            .with_request(curl(&run, Some(&name), &path, &headers))
            .with_response(answer.text())
            .with_output(run.output()));
        }
        let (_, want) = through(&reference, &setup, &name, &path, &headers).await?;
        let (yours, reference) = (normalised(&seen, &name, &up), normalised(&want, &name, &up));
        if yours != reference {
            return Err(Failure::new(format!(
                "request {} of 4: the app must receive the headers the reference sends (X-Forwarded-Proto: https, \
                 Host, X-Real-IP, X-Forwarded-For appended, Connection: close, hop-by-hop headers gone)",
                round + 1
            ))
            .with_request(curl(&run, Some(&name), &path, &headers))
            .with_diff("the request as the app received it", reference, yours)
            .with_output(run.output()));
        }
    }
    Ok(())
}

pub async fn hsts(mut cx: Ctx) -> CheckResult {
    let up = upstream().await?;
    let setup = setup(&mut cx, 2)?;
    let run = start(&cx, &setup, &up.url()).await?;
    let name = setup.names[cx.rng().usize(..2)].clone();
    let want = format!("max-age={}", setup.hsts);
    let path = target(&mut cx);
    let (answer, _) = through(&run, &setup, &name, &path, &[]).await?;
    if answer.header("strict-transport-security") != Some(want.as_str()) {
        return Err(Failure::new(format!(
            "every HTTPS answer must carry Strict-Transport-Security: {want} (HSTS_MAX_AGE is {}), got {:?}",
            setup.hsts,
            answer.header("strict-transport-security")
        ))
        .with_request(curl(&run, Some(&name), &path, &[]))
        .with_response(answer.text())
        .with_output(run.output()));
    }
    // Never on plain HTTP: RFC 6797 7.2, a header there could be forged.
    let ex = run.plain.send(Request::get(&path).header("host", &name)).await?;
    if ex.response.header("strict-transport-security").is_some() {
        return Err(ex
            .fail("Strict-Transport-Security must not be sent over plain HTTP (RFC 6797 7.2): only HTTPS answers carry it")
            .with_output(run.output()));
    }
    // The program's own answers over HTTPS carry it too: the app is down.
    let down = harness::process::RefusedPort::new()?;
    let run = start(&cx, &setup, &format!("http://127.0.0.1:{}", down.port())).await?;
    let answer = get(&run, &setup, &name, &path, &[]).await?;
    if answer.status != 502 || answer.header("strict-transport-security") != Some(want.as_str()) {
        return Err(Failure::new(format!(
            "with the app down, the answer is the proxy's own 502, and it is an HTTPS answer too: \
             Strict-Transport-Security: {want} (got {} with {:?})",
            answer.status,
            answer.header("strict-transport-security")
        ))
        .with_request(curl(&run, Some(&name), &path, &[]))
        .with_response(answer.text())
        .with_output(run.output()));
    }
    Ok(())
}
