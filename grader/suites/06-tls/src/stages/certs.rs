//! Stage `certs`: Certbot's layout read, and the certificate chosen by SNI.

use crate::fixtures::*;

/// Handshake with `sni` and expect the certificate of `want`.
async fn expect_cert(run: &Running, setup: &Setup, sni: Option<&str>, want: &str, why: &str) -> CheckResult {
    let conn = handshake(run, setup, &Hello { sni: sni.map(str::to_string), ..Hello::sni("x.test") }).await?;
    let expected = &setup.pki.sites[want];
    if conn.leaf() != expected.der.as_ref() {
        let said = sni.map_or("no SNI".to_string(), |s| format!("SNI {s}"));
        return Err(Failure::new(format!(
            "a ClientHello with {said} must get {} ({why}), but it got {}",
            setup.pki.describe(&expected.der),
            setup.pki.describe(conn.leaf())
        ))
        .with_request(openssl(run, sni))
        .with_output(run.output()));
    }
    Ok(())
}

pub async fn per_sni(mut cx: Ctx) -> CheckResult {
    let up = upstream().await?;
    let setup = setup(&mut cx, 3)?;
    let run = start(&cx, &setup, &up.url()).await?;
    let mut order = setup.names.clone();
    cx.rng().shuffle(&mut order);
    for name in &order {
        expect_cert(&run, &setup, Some(name), name, "the folder live/<name> of the name the client asked for").await?;
    }
    // SNI names are compared as DNS names are: without regard to case.
    let shouted = order[0].to_ascii_uppercase();
    expect_cert(&run, &setup, Some(&shouted), &order[0], "DNS names ignore case").await
}

pub async fn chain(mut cx: Ctx) -> CheckResult {
    let up = upstream().await?;
    let setup = setup(&mut cx, 2)?;
    let run = start(&cx, &setup, &up.url()).await?;
    for name in &setup.names {
        let hello = Hello { verify: true, ..Hello::sni(name) };
        if let Err(e) = connect(run.tls, &hello, setup.pki.roots()).await {
            return Err(Failure::new(format!(
                "a client that trusts only the root must accept {name}'s chain, but: {e}. \
                 Send all of fullchain.pem (the site's certificate, then the intermediate), not just its first certificate"
            ))
            .with_request(format!("{} -CAfile ROOT.pem -verify_return_error", openssl(&run, Some(name))))
            .with_output(run.output()));
        }
    }
    Ok(())
}

pub async fn default_site(mut cx: Ctx) -> CheckResult {
    let up = upstream().await?;
    let setup = setup(&mut cx, 3)?;
    let run = start(&cx, &setup, &up.url()).await?;
    let mut unknown = site_name(&mut cx);
    while setup.names.contains(&unknown) {
        unknown = site_name(&mut cx);
    }
    let why = format!("DEFAULT_SITE is {}", setup.default);
    expect_cert(&run, &setup, Some(&unknown), &setup.default, &format!("{unknown} has no folder, and {why}")).await?;
    expect_cert(&run, &setup, None, &setup.default, &format!("a client that sends no SNI gets the default site; {why}"))
        .await
}

/// What a broken Certbot folder does to a program that starts with it.
#[derive(Clone, Copy)]
enum Broken {
    MissingChain,
    GarbageKey,
    WrongKey,
}

pub async fn bad_files(mut cx: Ctx) -> CheckResult {
    let mut cases = vec![Broken::MissingChain, Broken::GarbageKey, Broken::WrongKey];
    cx.rng().shuffle(&mut cases);
    for case in cases {
        let setup = setup(&mut cx, 2)?;
        let victim = setup.names[cx.rng().usize(..setup.names.len())].clone();
        let live = setup.pki.dir.join("live").join(&victim);
        let (file, what) = match case {
            Broken::MissingChain => (live.join("fullchain.pem"), "is missing"),
            Broken::GarbageKey => (live.join("privkey.pem"), "holds no PEM key"),
            Broken::WrongKey => (live.join("privkey.pem"), "holds the key of another site"),
        };
        let io = |e: std::io::Error| Failure::new(format!("the suite could not break {}: {e}", file.display()));
        match case {
            Broken::MissingChain => std::fs::remove_file(&file).map_err(io)?,
            Broken::GarbageKey => {
                std::fs::remove_file(&file).map_err(io)?;
                std::fs::write(&file, format!("this is not a key: {}\n", cx.word(20))).map_err(io)?;
            }
            Broken::WrongKey => {
                let other = setup.names.iter().find(|n| **n != victim).cloned().unwrap_or_default();
                let key = std::fs::read(setup.pki.dir.join("live").join(other).join("privkey.pem")).map_err(io)?;
                std::fs::remove_file(&file).map_err(io)?;
                std::fs::write(&file, key).map_err(io)?;
            }
        }
        let spec = spec(&setup, "http://127.0.0.1:9", 0, 0);
        let mut proc = Proc::start(&cx, cx.subject(), &spec)?;
        let Some(exited) = proc.wait_exit(Duration::from_secs(10)).await else {
            return Err(Failure::new(format!(
                "{} {what}: the program must stop with an error naming that file, but it was still running after 10 s",
                file.display()
            ))
            .with_output(proc.output()));
        };
        let shown = file.display().to_string();
        let problem = if exited.output.contains("panicked") {
            Some("it panicked: a bad file is the user's mistake, report it with eprintln! and exit")
        } else if exited.code == Some(0) || exited.code.is_none() {
            Some("it exited with status 0 (or by a signal): a program that could not start must exit non-zero")
        } else if !exited.output.contains(&shown) {
            Some("its message does not name the file: say which file is wrong, with its full path")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(Failure::new(format!("{shown} {what}, so the program must not start; {problem}"))
                .with_output(exited.output));
        }
    }
    Ok(())
}
