//! Stage `proxy`: what the app is told, and what the browser is told.

use harness::differential::{Case, Differential, Side};

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

/// One request over TLS: which site, what target, which client headers.
#[derive(Clone, Debug)]
struct Forwarded {
    name: String,
    path: String,
    headers: Vec<(String, String)>,
}

impl Case for Forwarded {
    fn shrink(&self) -> Vec<Self> {
        let mut out = Vec::new();
        for i in 0..self.headers.len() {
            let mut fewer = self.clone();
            fewer.headers.remove(i);
            out.push(fewer);
        }
        if self.path != "/" {
            out.push(Forwarded { path: "/".into(), ..self.clone() });
        }
        out
    }

    fn show(&self) -> String {
        let mut out = format!(
            "# with your program running on TLS_PORT=8443 (see the chapter's \"Run it yourself\")\n\
             curl -sk -i --resolve {name}:8443:127.0.0.1 'https://{name}:8443{path}'",
            name = self.name,
            path = self.path
        );
        for (k, v) in &self.headers {
            out.push_str(&format!(" -H '{k}: {v}'"));
        }
        out
    }
}

pub async fn headers(mut cx: Ctx) -> CheckResult {
    let up = upstream().await?;
    let setup = setup(&mut cx, 2)?;
    let run = start(&cx, &setup, &up.url()).await?;
    // The lesson first, by name: a client that claims plain http.
    let name = setup.names[cx.rng().usize(..2)].clone();
    let path = target(&mut cx);
    let claims = vec![("x-forwarded-proto".to_string(), "http".to_string())];
    let (answer, seen) = through(&run, &setup, &name, &path, &claims).await?;
    if seen.header("x-forwarded-proto").as_deref() != Some("https") {
        return Err(Failure::new(format!(
            "the app only sees plain HTTP from the proxy, so it must be told the client used https: \
             X-Forwarded-Proto: https, whatever the client sent (the app got {:?})",
            seen.header("x-forwarded-proto")
        ))
        .with_request(curl(&run, Some(&name), &path, &claims))
        .with_response(answer.text())
        .with_output(run.output()));
    }
    // Then everything, against the reference.
    let reference = start_reference(&cx, &setup, &up.url()).await?;
    let mut cases = Vec::new();
    for _ in 0..6 {
        let name = setup.names[cx.rng().usize(..2)].clone();
        cases.push(Forwarded { name, path: target(&mut cx), headers: client_headers(&mut cx) });
    }
    let (run, reference, setup, up) = (&run, &reference, &setup, &up);
    Differential::new(
        "The app must receive what the reference sends: X-Forwarded-Proto: https, Host, X-Real-IP, \
         X-Forwarded-For appended, Connection: close, and no hop-by-hop headers.",
    )
    .run(cases, |side, case| async move {
        let side = if side == Side::Yours { run } else { reference };
        let (_, seen) = through(side, setup, &case.name, &case.path, &case.headers).await?;
        Ok(normalised(&seen, &case.name, up))
    })
    .await
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
