//! Stage `port80`: the HTTP-01 challenge files, and the redirect to https.

use crate::fixtures::*;

/// A token as Let's Encrypt makes them: 43 base64url characters.
fn token(cx: &mut Ctx) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..43).map(|_| ALPHABET[cx.rng().usize(..ALPHABET.len())] as char).collect()
}

fn write_challenge(setup: &Setup, token: &str, contents: &str) -> Result<(), Failure> {
    let path = setup.webroot.join(".well-known/acme-challenge").join(token);
    std::fs::write(&path, contents).map_err(|e| Failure::new(format!("could not write {}: {e}", path.display())))
}

pub async fn challenge(mut cx: Ctx) -> CheckResult {
    let up = upstream().await?;
    let setup = setup(&mut cx, 2)?;
    let run = start(&cx, &setup, &up.url()).await?;
    let name = setup.names[cx.rng().usize(..2)].clone();
    // Written after the start, as Certbot does while the server runs.
    let token = token(&mut cx);
    let contents = format!("{token}.{}", cx.word(43));
    write_challenge(&setup, &token, &contents)?;
    let path = format!("/.well-known/acme-challenge/{token}");
    let ex = run.plain.send(Request::get(&path).header("host", &name)).await?;
    if ex.response.status != 200 || ex.response.body != contents.as_bytes() {
        return Err(ex
            .fail(format!(
                "GET {path} on port 80 must answer 200 with the file WEBROOT/.well-known/acme-challenge/{token} as it is: \
                 that is how Let's Encrypt checks this machine answers for {name}"
            ))
            .with_output(run.output()));
    }
    // One character longer than any token written: never a file.
    let missing = format!("/.well-known/acme-challenge/{token}{}", cx.word(1));
    let ex = run.plain.send(Request::get(&missing).header("host", &name)).await?;
    if ex.response.status != 404 {
        return Err(ex
            .fail("a challenge token with no file must be answered 404 (not redirected: the CA follows no redirect to a site without a certificate yet)")
            .with_output(run.output()));
    }
    // A file beside the webroot must stay out of reach.
    let bait = cx.word(24);
    let bait_path = setup.dir.path().join("bait.txt");
    std::fs::write(&bait_path, &bait).map_err(|e| Failure::new(format!("could not write the bait file: {e}")))?;
    for sneaky in ["../../../bait.txt", "..%2F..%2F..%2Fbait.txt", "%2e%2e/%2e%2e/%2e%2e/bait.txt"] {
        let path = format!("/.well-known/acme-challenge/{sneaky}");
        let ex = run.plain.send_raw(Request::get(&path).header("host", &name)).await?;
        if ex.response.body.windows(bait.len()).any(|w| w == bait.as_bytes()) || ex.response.status == 200 {
            return Err(ex
                .fail(format!(
                    "GET {path} must not leave the webroot: a token is base64url (letters, digits, - and _), anything else is 404"
                ))
                .with_output(run.output()));
        }
    }
    Ok(())
}

pub async fn challenge_only_on_80(mut cx: Ctx) -> CheckResult {
    let up = upstream().await?;
    let setup = setup(&mut cx, 2)?;
    let run = start(&cx, &setup, &up.url()).await?;
    let name = setup.names[cx.rng().usize(..2)].clone();
    let token = token(&mut cx);
    let contents = cx.word(30);
    write_challenge(&setup, &token, &contents)?;
    let path = format!("/.well-known/acme-challenge/{token}");
    let (answer, seen) = through(&run, &setup, &name, &path, &[]).await.map_err(|f| {
        Failure::new(format!(
            "{} The challenge belongs to port 80 only; on HTTPS every path, this one too, goes to the app",
            f.message()
        ))
        .with_output(run.output())
    })?;
    ensure!(seen.uri == path, "GET {path} over HTTPS must reach the app as {path}, it arrived as {}", seen.uri);
    ensure!(answer.status == 200, "GET {path} over HTTPS: expected the app's 200, got {}", answer.status);
    Ok(())
}

/// Random targets a browser may ask port 80 for.
fn targets(cx: &mut Ctx) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for _ in 0..6 {
        let path = match cx.rng().u8(..4) {
            0 => "/".to_string(),
            1 => format!("/{}", cx.word(6)),
            2 => format!("/{}/{}/", cx.word(3), cx.word(5)),
            _ => format!("/{}/%7E{}", cx.word(4), cx.word(3)),
        };
        let query = match cx.rng().u8(..3) {
            0 => String::new(),
            1 => format!("?{}={}", cx.word(3), cx.word(5)),
            _ => format!("?{}={}&{}=&x=%20y", cx.word(2), cx.rng().u32(..), cx.word(3)),
        };
        let host = match cx.rng().u8(..3) {
            0 => "NAME".to_string(),
            1 => "NAME:PORT".to_string(),
            _ => "UPPER".to_string(),
        };
        out.push((format!("{path}{query}"), host));
    }
    out
}

pub async fn redirect(mut cx: Ctx) -> CheckResult {
    let up = upstream().await?;
    let setup = setup(&mut cx, 2)?;
    let run = start(&cx, &setup, &up.url()).await?;
    let reference = start_reference(&cx, &setup, &up.url()).await?;
    let name = setup.names[cx.rng().usize(..2)].clone();
    // The query first, by name: the most common slip.
    let path = format!("/{}?{}={}", cx.word(5), cx.word(4), cx.word(6));
    let ex = run.plain.send(Request::get(&path).header("host", &name)).await?;
    let want = format!("https://{name}:{}{path}", run.port());
    if ex.response.status != 301 || ex.response.header("location") != Some(want.as_str()) {
        return Err(ex
            .fail(format!(
                "port 80 must send everything else to https with path and query kept: 301 with Location: {want} \
                 (TLS_PORT is {}; on 443 the port is left out)",
                run.port()
            ))
            .with_output(run.output()));
    }
    for (target, host) in targets(&mut cx) {
        let host_for = |r: &Running| match host.as_str() {
            "NAME" => name.clone(),
            "NAME:PORT" => format!("{name}:{}", r.plain.addr().port()),
            _ => name.to_ascii_uppercase(),
        };
        let ex = run.plain.send_raw(Request::get(&target).header("host", host_for(&run))).await?;
        let theirs = reference.plain.send_raw(Request::get(&target).header("host", host_for(&reference))).await?;
        let render = |r: &Running, ex: &Exchange| {
            let location =
                ex.response.header("location").unwrap_or("(none)").replace(&format!(":{}", r.port()), ":TLS_PORT");
            format!("{} Location: {location}", ex.response.status)
        };
        let (yours, reference_says) = (render(&run, &ex), render(&reference, &theirs));
        if yours != reference_says {
            return Err(ex
                .fail(format!(
                    "GET {target} with Host: {} on port 80: the reference answers `{reference_says}`, you answered `{yours}`",
                    host_for(&run)
                ))
                .with_output(run.output()));
        }
    }
    Ok(())
}
