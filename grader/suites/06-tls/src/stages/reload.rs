//! Stage `reload`: a renewed certificate served after SIGHUP, while a
//! request in flight on the old connection completes.

use std::time::Instant;

use crate::fixtures::*;

pub async fn renewed(mut cx: Ctx) -> CheckResult {
    let up = upstream().await?;
    let mut setup = setup(&mut cx, 2)?;
    let run = start(&cx, &setup, &up.url()).await?;
    let name = setup.names[cx.rng().usize(..2)].clone();
    let old = setup.pki.sites[&name].clone();
    let conn = handshake(&run, &setup, &Hello::sni(&name)).await?;
    ensure!(conn.leaf() == old.der.as_ref(), "SNI {name} must get {}", setup.pki.describe(&old.der));
    let mut http = Http::over(conn).await.map_err(Failure::new)?;
    let path = target(&mut cx);
    let held = vec![("host".to_string(), name.clone()), ("x-hold".to_string(), "1".to_string())];
    let in_flight = {
        let path = path.clone();
        tokio::spawn(async move { http.send("GET", &path, &held).await })
    };
    if tokio::time::timeout(Duration::from_secs(10), up.held(1)).await.is_err() {
        return Err(
            Failure::new(format!("GET {path} over TLS did not reach the app within 10 s")).with_output(run.output())
        );
    }
    // certbot renew: a new key and certificate, the live/ links switched; then
    // its deploy hook reloads the server.
    let new = setup.pki.issue(&name)?;
    hangup(&run)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = match connect(run.tls, &Hello::sni(&name), setup.pki.roots()).await {
            Ok(conn) => conn.leaf().to_vec(),
            Err(e) => {
                return Err(Failure::new(format!(
                    "after SIGHUP the program must go on serving (a reload is not a restart), but a new handshake failed: {e}"
                ))
                .with_request(openssl(&run, Some(&name)))
                .with_output(run.output()));
            }
        };
        if got == new.der.as_ref() {
            break;
        }
        if Instant::now() > deadline {
            return Err(Failure::new(format!(
                "certbot renewed {name} (live/{name}/ now points at serial {}) and sent SIGHUP, but 10 s later new \
                 connections still get {}: on SIGHUP, read the certificates again",
                new.serial,
                setup.pki.describe(&got)
            ))
            .with_request(format!("kill -HUP {}; {}", run.proc.pgid(), openssl(&run, Some(&name))))
            .with_output(run.output()));
        }
        // Polling for the reload to take effect.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    up.release();
    let outcome = tokio::time::timeout(Duration::from_secs(10), in_flight).await;
    let answer = match outcome {
        Ok(Ok(Ok(answer))) => answer,
        Ok(Ok(Err(e))) => {
            return Err(Failure::new(format!(
                "a request in flight on a connection opened before the reload must complete on it (nginx lets old \
                 connections finish), but: {e}"
            ))
            .with_output(run.output()))
        }
        _ => {
            return Err(Failure::new(
                "the request in flight during the reload got no answer within 10 s after the app answered",
            )
            .with_output(run.output()))
        }
    };
    ensure!(
        answer.status == 200,
        "the request in flight during the reload must get the app's 200, got {}",
        answer.status
    );
    Ok(())
}

/// Poll new handshakes with `name` until one gets `want`, for 10 s.
async fn until_served(run: &Running, setup: &Setup, name: &str, want: &[u8]) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = connect(run.tls, &Hello::sni(name), setup.pki.roots()).await.map(|c| c.leaf().to_vec())?;
        if got == want {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("10 s after SIGHUP new connections still get {}", setup.pki.describe(&got)));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn failed_keeps_old(mut cx: Ctx) -> CheckResult {
    let up = upstream().await?;
    let mut setup = setup(&mut cx, 2)?;
    let run = start(&cx, &setup, &up.url()).await?;
    let name = setup.names[cx.rng().usize(..2)].clone();
    let old = setup.pki.sites[&name].clone();
    // A renewal cut short: the new certificate is there, its key is not.
    let new = setup.pki.issue(&name)?;
    let key = setup.pki.dir.join("live").join(&name).join("privkey.pem");
    let target =
        std::fs::canonicalize(&key).map_err(|e| Failure::new(format!("cannot follow {}: {e}", key.display())))?;
    std::fs::write(&target, "-----BEGIN PRIVATE KEY-----\ncut short\n")
        .map_err(|e| Failure::new(format!("cannot write {}: {e}", target.display())))?;
    hangup(&run)?;
    let shown = key.display().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !run.output().contains(&shown) {
        if Instant::now() > deadline {
            return Err(Failure::new(format!(
                "after SIGHUP with a broken {shown}, the program must say on stderr that the reload failed, naming that file \
                 (and keep serving the certificates it has)"
            ))
            .with_output(run.output()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let conn = connect(run.tls, &Hello::sni(&name), setup.pki.roots()).await.map_err(|e| {
        Failure::new(format!(
            "a reload that fails must leave the program serving the certificates it had, as nginx does; but a new handshake failed: {e}"
        ))
        .with_request(openssl(&run, Some(&name)))
        .with_output(run.output())
    })?;
    if conn.leaf() != old.der.as_ref() {
        return Err(Failure::new(format!(
            "a reload that fails must change nothing: SNI {name} must still get {}, it got {}",
            setup.pki.describe(&old.der),
            setup.pki.describe(conn.leaf())
        ))
        .with_output(run.output()));
    }
    let _ = new;
    // Certbot tries again and succeeds: the next SIGHUP takes it.
    let fixed = setup.pki.issue(&name)?;
    hangup(&run)?;
    until_served(&run, &setup, &name, &fixed.der).await.map_err(|e| {
        Failure::new(format!("after a failed reload, the next good renewal and SIGHUP must be taken: {e}"))
            .with_request(openssl(&run, Some(&name)))
            .with_output(run.output())
    })
}
