//! What the checks of 06-tls share: a Certbot folder with this run's
//! certificates, a webroot, the app, the program started on two free
//! ports, and TLS requests with a reproduction for each.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use std::time::Duration;

pub use harness::http::{Client, Request};
pub use harness::process::{Proc, Spawn};
pub use harness::{ensure, CheckResult, Ctx, Failure};

pub use crate::pki::Pki;
pub use crate::tlsclient::{connect, Answer, Conn, Hello, Http, TLS12, TLS13};
pub use crate::upstream::{Seen, Upstream};

/// The files a run gives the program: Certbot's folder, the webroot.
pub struct Setup {
    pub pki: Pki,
    /// Site names, sorted.
    pub names: Vec<String>,
    /// `DEFAULT_SITE`: never the first name in sorted order, so a program
    /// that falls back to "the first site" is seen.
    pub default: String,
    pub webroot: PathBuf,
    pub hsts: u64,
    pub dir: tempfile::TempDir,
}

/// A random site name such as `kqzvt.mxwe.test`.
pub fn site_name(cx: &mut Ctx) -> String {
    let a = 3 + cx.rng().usize(..5);
    let b = 3 + cx.rng().usize(..4);
    format!("{}.{}.test", cx.word(a), cx.word(b))
}

pub fn setup(cx: &mut Ctx, sites: usize) -> Result<Setup, Failure> {
    let io = |e: std::io::Error| Failure::new(format!("the suite could not make its folders: {e}"));
    let dir = tempfile::Builder::new().prefix("grade-tls-").tempdir().map_err(io)?;
    let mut pki = Pki::new(&dir.path().join("letsencrypt"), cx.rng())?;
    let mut names = Vec::new();
    while names.len() < sites {
        let name = site_name(cx);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names.sort();
    for name in &names {
        pki.issue(name)?;
    }
    let webroot = dir.path().join("webroot");
    std::fs::create_dir_all(webroot.join(".well-known/acme-challenge")).map_err(io)?;
    let default = names.last().cloned().unwrap_or_default();
    let hsts = 60 * cx.rng().u64(1..100_000);
    Ok(Setup { pki, names, default, webroot, hsts, dir })
}

/// The program with its two clients.
pub struct Running {
    pub proc: Proc,
    /// Port 80's stand-in, plain HTTP.
    pub plain: Client,
    pub tls: SocketAddr,
}

impl Running {
    pub fn output(&self) -> String {
        self.proc.output()
    }

    /// The TLS port.
    pub fn port(&self) -> u16 {
        self.tls.port()
    }
}

/// The environment the program is started with.
pub fn spec(setup: &Setup, upstream: &str, port: u16, tls_port: u16) -> Spawn {
    let up_port = upstream.rsplit(':').next().and_then(|p| p.parse::<u16>().ok()).unwrap_or(0);
    Spawn {
        env: vec![
            ("HOST".into(), "127.0.0.1".into()),
            ("PORT".into(), port.to_string()),
            ("TLS_PORT".into(), tls_port.to_string()),
            ("CERT_DIR".into(), setup.pki.dir.to_string_lossy().into_owned()),
            ("DEFAULT_SITE".into(), setup.default.clone()),
            ("WEBROOT".into(), setup.webroot.to_string_lossy().into_owned()),
            ("UPSTREAM".into(), upstream.to_string()),
            ("HSTS_MAX_AGE".into(), setup.hsts.to_string()),
        ],
        args: vec![],
        connect: vec![up_port],
    }
}

/// Two distinct free ports (both held while the second is chosen).
fn two_free_ports() -> Result<(u16, u16), Failure> {
    let io = |e: std::io::Error| Failure::new(format!("could not find a free port: {e}"));
    let (a, b) = (
        std::net::TcpListener::bind("127.0.0.1:0").map_err(io)?,
        std::net::TcpListener::bind("127.0.0.1:0").map_err(io)?,
    );
    Ok((a.local_addr().map_err(io)?.port(), b.local_addr().map_err(io)?.port()))
}

pub async fn start(cx: &Ctx, setup: &Setup, upstream: &str) -> Result<Running, Failure> {
    start_bin(cx, cx.subject(), setup, upstream).await
}

/// The reference beside yours, on the same files.
pub async fn start_reference(cx: &Ctx, setup: &Setup, upstream: &str) -> Result<Running, Failure> {
    let bin = harness::differential::reference(cx)?.to_path_buf();
    start_bin(cx, &bin, setup, upstream).await
}

pub async fn start_bin(cx: &Ctx, bin: &Path, setup: &Setup, upstream: &str) -> Result<Running, Failure> {
    // A free port is only free until someone else takes it: try fresh ones.
    let mut attempt = 0;
    loop {
        attempt += 1;
        match start_once(cx, bin, setup, upstream).await {
            Err(f) if attempt < 3 && port_was_taken(&f) => continue,
            other => return other,
        }
    }
}

fn port_was_taken(f: &Failure) -> bool {
    let said = format!("{} {}", f.message(), f.output().unwrap_or_default()).to_ascii_lowercase();
    said.contains("already in use") && said.contains("exited")
}

async fn start_once(cx: &Ctx, bin: &Path, setup: &Setup, upstream: &str) -> Result<Running, Failure> {
    let (port, tls_port) = two_free_ports()?;
    let spec = spec(setup, upstream, port, tls_port);
    let (proc, addr) = Proc::start_server(cx, bin, &spec).await?;
    if addr.port() != port {
        return Err(Failure::new(format!(
            "PORT was {port} but the program printed `listening on http://{addr}` first: the PORT listener's line must come first"
        ))
        .with_output(proc.output()));
    }
    let tls = SocketAddr::from(([127, 0, 0, 1], tls_port));
    if let Err(e) = harness::http::wait_accepting(tls, Duration::from_secs(5)).await {
        return Err(Failure::new(format!("TLS_PORT was {tls_port} but {e}")).with_output(proc.output()));
    }
    let plain = Client::new(SocketAddr::from(([127, 0, 0, 1], port)), cx.step_timeout());
    Ok(Running { proc, plain, tls })
}

pub async fn upstream() -> Result<Upstream, Failure> {
    Upstream::start().await.map_err(|e| Failure::new(format!("could not start the test app: {e}")))
}

/// How to repeat a TLS request by hand (`-k`: the run's CA is gone by then).
pub fn curl(run: &Running, sni: Option<&str>, target: &str, headers: &[(String, String)]) -> String {
    let port = run.port();
    let mut out = match sni {
        Some(name) => format!("curl -sk -i --resolve {name}:{port}:127.0.0.1 'https://{name}:{port}{target}'"),
        None => format!("curl -sk -i 'https://127.0.0.1:{port}{target}'"),
    };
    for (k, v) in headers {
        out.push_str(&format!(" -H '{k}: {v}'"));
    }
    out
}

pub fn openssl(run: &Running, sni: Option<&str>) -> String {
    let port = run.port();
    match sni {
        Some(name) => format!("openssl s_client -connect 127.0.0.1:{port} -servername {name} </dev/null"),
        None => format!("openssl s_client -connect 127.0.0.1:{port} -noservername </dev/null"),
    }
}

/// Handshake as `hello` says, or fail naming the handshake.
pub async fn handshake(run: &Running, setup: &Setup, hello: &Hello) -> Result<Conn, Failure> {
    connect(run.tls, hello, setup.pki.roots()).await.map_err(|e| {
        let sni = hello.sni.as_deref().map_or("no SNI".to_string(), |s| format!("SNI {s}"));
        Failure::new(format!("the TLS handshake ({sni}) failed: {e}"))
            .with_request(openssl(run, hello.sni.as_deref()))
            .with_output(run.output())
    })
}

/// One GET over a fresh TLS connection to `name`.
pub async fn get(
    run: &Running,
    setup: &Setup,
    name: &str,
    target: &str,
    headers: &[(String, String)],
) -> Result<Answer, Failure> {
    let conn = handshake(run, setup, &Hello::sni(name)).await?;
    let mut http = Http::over(conn).await.map_err(|e| Failure::new(e).with_output(run.output()))?;
    let mut all = vec![("host".to_string(), name.to_string())];
    all.extend(headers.iter().cloned());
    let step = tokio::time::timeout(Duration::from_secs(10), http.send("GET", target, &all)).await;
    let repro = curl(run, Some(name), target, headers);
    match step {
        Err(_) => Err(Failure::new(format!("GET {target} over TLS: no answer within 10 s"))
            .with_request(repro)
            .with_output(run.output())),
        Ok(Err(e)) => Err(Failure::new(e).with_request(repro).with_output(run.output())),
        Ok(Ok(answer)) => Ok(answer),
    }
}

/// Like [`get`], and the answer must come from the app.
pub async fn through(
    run: &Running,
    setup: &Setup,
    name: &str,
    target: &str,
    headers: &[(String, String)],
) -> Result<(Answer, Seen), Failure> {
    let answer = get(run, setup, name, target, headers).await?;
    match Seen::parse(&answer.body) {
        Some(seen) => Ok((answer, seen)),
        None => Err(Failure::new(format!(
            "GET {target} over TLS must reach the app, but the program answered {} itself",
            answer.status
        ))
        .with_request(curl(run, Some(name), target, headers))
        .with_response(answer.text())
        .with_output(run.output())),
    }
}

/// A random path with a query.
pub fn target(cx: &mut Ctx) -> String {
    format!("/{}/{}?{}={}&page={}", cx.word(5), cx.word(4), cx.word(3), cx.word(6), cx.rng().u16(..))
}

/// Send the program a SIGHUP, as `nginx -s reload` does to nginx.
pub fn hangup(run: &Running) -> Result<(), Failure> {
    // SAFETY: kill(2) with a process group we started; no memory involved.
    let rc = unsafe { libc::kill(-run.proc.pgid(), libc::SIGHUP) };
    if rc != 0 {
        return Err(Failure::new(format!("could not send SIGHUP: {}", std::io::Error::last_os_error())));
    }
    Ok(())
}
