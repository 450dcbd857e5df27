//! Stage `port80`: the HTTP-01 challenge files, and the redirect to https.

use harness::differential::{Case, Differential, Side};

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

/// A request to port 80: its target and how its Host is spelled.
#[derive(Clone, Debug)]
struct Plain {
    target: String,
    name: String,
    spelling: Spelling,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Spelling {
    Name,
    WithPort,
    Capitals,
}

impl Plain {
    fn host(&self, port: u16) -> String {
        match self.spelling {
            Spelling::Name => self.name.clone(),
            Spelling::WithPort => format!("{}:{port}", self.name),
            Spelling::Capitals => self.name.to_ascii_uppercase(),
        }
    }
}

impl Case for Plain {
    fn shrink(&self) -> Vec<Self> {
        let mut out = Vec::new();
        if let Some((path, _)) = self.target.split_once('?') {
            out.push(Plain { target: path.to_string(), ..self.clone() });
        }
        if !self.target.starts_with("/?") && self.target != "/" {
            let query = self.target.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
            out.push(Plain { target: format!("/{query}"), ..self.clone() });
        }
        if self.spelling != Spelling::Name {
            out.push(Plain { spelling: Spelling::Name, ..self.clone() });
        }
        out
    }

    fn show(&self) -> String {
        format!(
            "# with your program running on PORT=8080 TLS_PORT=8443\ncurl -si -H 'Host: {}' 'http://127.0.0.1:8080{}'",
            self.host(8080),
            self.target
        )
    }
}

/// Random targets a browser may ask port 80 for.
fn targets(cx: &mut Ctx, names: &[String]) -> Vec<Plain> {
    let mut out = Vec::new();
    for _ in 0..8 {
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
        let spelling = [Spelling::Name, Spelling::WithPort, Spelling::Capitals][cx.rng().usize(..3)];
        let name = names[cx.rng().usize(..names.len())].clone();
        out.push(Plain { target: format!("{path}{query}"), name, spelling });
    }
    out
}

pub async fn redirect(mut cx: Ctx) -> CheckResult {
    let up = upstream().await?;
    let setup = setup(&mut cx, 2)?;
    let run = start(&cx, &setup, &up.url()).await?;
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
    // Then random targets and Hosts, against the reference.
    let reference = start_reference(&cx, &setup, &up.url()).await?;
    let cases = targets(&mut cx, &setup.names);
    let (run, reference) = (&run, &reference);
    Differential::new(
        "Port 80 must answer what the reference answers: 301 to https://HOST:TLS_PORT followed by the target \
         exactly as sent, HOST lowercase and without its port.",
    )
    .run(cases, |side, case| async move {
        let side = if side == Side::Yours { run } else { reference };
        let host = case.host(side.plain.addr().port());
        let ex = side.plain.send_raw(Request::get(&case.target).header("host", host)).await?;
        let location =
            ex.response.header("location").unwrap_or("(none)").replace(&format!(":{}", side.port()), ":TLS_PORT");
        Ok(format!("{} Location: {location}", ex.response.status))
    })
    .await
}
