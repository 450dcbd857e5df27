//! What the checks of 02-proxy share: the upstream apps, the proxy started
//! with a rule file, requests, and the differential runner that gives random
//! rule files and requests (`cases`) to your proxy and to the reference.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use std::time::{Duration, Instant};

pub use harness::http::{Client, Exchange, Request};
pub use harness::process::{free_port, Proc, RefusedPort, Spawn};
pub use harness::{ensure, fail, CheckResult, Ctx, Failure};

use harness::differential::{Case, Differential, Side};

use crate::cases::{self, Listens, Mix, Rules};
pub use crate::echo::{Seen, Upstream};

pub async fn upstream(name: &str) -> Result<Upstream, Failure> {
    Upstream::start(name).await.map_err(|e| Failure::new(format!("could not start a test upstream: {e}")))
}

/// The student's proxy with one rule file, and a client per listener.
pub struct Running {
    pub proc: Proc,
    pub plain: Client,
    pub tls: Client,
    pub rules: String,
    _dir: tempfile::TempDir,
}
impl Running {
    pub fn output(&self) -> String {
        format!("{}\n--- the rule file ---\n{}", self.proc.output(), self.rules)
    }
}

pub fn write_rules(cx: &mut Ctx, rules: &str) -> Result<(tempfile::TempDir, PathBuf), Failure> {
    let name = format!("{}.conf", cx.word(8));
    write_rules_named(&name, rules)
}

pub fn write_rules_named(name: &str, rules: &str) -> Result<(tempfile::TempDir, PathBuf), Failure> {
    let io = |e: std::io::Error| Failure::new(format!("could not write the rule file: {e}"));
    let dir = tempfile::Builder::new().prefix("grade-proxy-").tempdir().map_err(io)?;
    let path = dir.path().join(name);
    std::fs::write(&path, rules).map_err(io)?;
    Ok((dir, path))
}

pub async fn start(cx: &mut Ctx, rules: &str) -> Result<Running, Failure> {
    let name = format!("{}.conf", cx.word(8));
    start_bin(cx, cx.subject(), rules, &name).await
}

/// `bin` (your proxy or the reference) with `rules` in a file called `name`,
/// on two free ports.
pub async fn start_bin(cx: &Ctx, bin: &Path, rules: &str, name: &str) -> Result<Running, Failure> {
    start_retrying(cx, bin, rules, name, port_was_taken).await
}

/// [`start_bin`] for the reference: the kit's own program, so any failure
/// to start is the machine's (a port taken meanwhile), tried again.
pub async fn start_reference(cx: &Ctx, bin: &Path, rules: &str, name: &str) -> Result<Running, Failure> {
    start_retrying(cx, bin, rules, name, |_| true).await
}

async fn start_retrying(
    cx: &Ctx,
    bin: &Path,
    rules: &str,
    name: &str,
    again: fn(&Failure) -> bool,
) -> Result<Running, Failure> {
    // A free port is only free until someone else takes it: on a busy
    // machine another program may bind it first. Try fresh ports then.
    let mut attempt = 0;
    loop {
        attempt += 1;
        match start_once(cx, bin, rules, name).await {
            Err(f) if attempt < 3 && again(&f) => continue,
            other => return other,
        }
    }
}

fn port_was_taken(f: &Failure) -> bool {
    let said = format!("{} {}", f.message(), f.output().unwrap_or_default()).to_ascii_lowercase();
    said.contains("already in use") && said.contains("exited")
}

/// Two distinct free ports (both held while the second is chosen, so the
/// system cannot hand out the same one twice).
fn two_free_ports() -> Result<(u16, u16), Failure> {
    let io = |e: std::io::Error| Failure::new(format!("could not find a free port: {e}"));
    let (a, b) = (
        std::net::TcpListener::bind("127.0.0.1:0").map_err(io)?,
        std::net::TcpListener::bind("127.0.0.1:0").map_err(io)?,
    );
    Ok((a.local_addr().map_err(io)?.port(), b.local_addr().map_err(io)?.port()))
}

async fn start_once(cx: &Ctx, bin: &Path, rules: &str, name: &str) -> Result<Running, Failure> {
    let (dir, path) = write_rules_named(name, rules)?;
    let (port, tls_port) = two_free_ports()?;
    let spec = Spawn {
        env: vec![
            ("HOST".into(), "127.0.0.1".into()),
            ("PORT".into(), port.to_string()),
            ("TLS_PORT".into(), tls_port.to_string()),
        ],
        args: vec![path.to_string_lossy().into_owned()],
        // The sandbox lets a graded proxy connect to its upstreams only.
        connect: upstream_ports(rules),
    };
    let (proc, addr) = Proc::start_server(cx, bin, &spec).await.map_err(|f| {
        let output = f.output().unwrap_or_default().to_string();
        Failure::new(format!("{}\n(rule file:\n{rules})", f.message())).with_output(output)
    })?;
    if addr.port() != port {
        return Err(Failure::new(format!(
            "PORT was {port} but the proxy printed `listening on http://{addr}` first: the PORT listener's line must come first"
        ))
        .with_output(proc.output()));
    }
    let tls_addr = SocketAddr::from(([127, 0, 0, 1], tls_port));
    if let Err(e) = harness::http::wait_accepting(tls_addr, Duration::from_secs(5)).await {
        return Err(Failure::new(format!("TLS_PORT was {tls_port} but {e}: `listen 443 ssl` must listen there"))
            .with_output(proc.output()));
    }
    let client = |p: u16| Client::new(SocketAddr::from(([127, 0, 0, 1], p)), cx.step_timeout());
    Ok(Running { plain: client(port), tls: client(tls_port), proc, rules: rules.to_string(), _dir: dir })
}

/// A GET with a Host header.
pub fn get(host: &str, path: &str) -> Request {
    Request::get(path).header("host", host)
}

/// Send and expect the upstream's echo back.
pub async fn through(run: &Running, client: &Client, request: Request) -> Result<(Exchange, Seen), Failure> {
    let ex = client.send(request).await.map_err(|f| Failure::new(f.message().to_string()).with_output(run.output()))?;
    match Seen::parse(&ex.response.body) {
        Some(seen) => Ok((ex, seen)),
        None => Err(ex
            .fail(format!(
                "expected the request to reach an upstream app, but the proxy answered {} itself",
                ex.response.status
            ))
            .with_output(run.output())),
    }
}

pub fn describe(req: &Request) -> String {
    let host = req.headers.iter().find(|(k, _)| k == "host").map(|(_, v)| v.as_str()).unwrap_or("?");
    format!("{} {} with Host: {host}", req.method, req.path)
}

/// Each `(request, route)`: the request must reach the location that sets
/// `X-Route: route`.
pub async fn expect_routes(run: &Running, client: &Client, cases: Vec<(Request, &str)>, what: &str) -> CheckResult {
    for (req, want) in cases {
        let said = describe(&req);
        let (ex, seen) = through(run, client, req).await?;
        let got = seen.header("x-route").unwrap_or_default();
        if got != want {
            return Err(ex
                .fail(format!("{said} must be answered by {what} `{want}`, but it went to `{got}`"))
                .with_output(run.output()));
        }
    }
    Ok(())
}

pub fn route(name: &str, up: &Upstream) -> String {
    format!("proxy_pass {}; proxy_set_header X-Route {name};", up.url())
}

pub async fn expect_uris(run: &Running, cases: Vec<(String, String)>) -> CheckResult {
    for (path, want) in cases {
        let (ex, seen) = through(run, &run.plain, get("localhost", &path)).await?;
        if seen.uri() != want {
            return Err(ex
                .fail(format!("GET {path} must reach the upstream as {want}, it arrived as {}", seen.uri()))
                .with_output(run.output()));
        }
    }
    Ok(())
}

pub fn forwarding_rules(up: &Upstream, d: &str) -> String {
    format!(
        "server {{\n  listen 443 ssl;\n  server_name {d};\n  location / {{\n    proxy_pass {};\n    proxy_set_header Host $host;\n    proxy_set_header X-Real-IP $remote_addr;\n    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n    proxy_set_header X-Forwarded-Proto $scheme;\n  }}\n  location /default-host/ {{ proxy_pass {}; }}\n}}\n",
        up.url(),
        up.url()
    )
}

/// The upstream's view, as text for a snapshot: request line, headers
/// sorted by name, body size.
pub fn upstream_view(seen: &Seen, redact: &[(&str, &str)]) -> String {
    let mut s = format!("{} {}\n", seen.method(), seen.uri());
    let mut names = seen.header_names();
    names.sort();
    names.dedup();
    for n in names {
        for v in seen.headers(&n) {
            s.push_str(&format!("{n}: {v}\n"));
        }
    }
    s.push_str(&format!("\n[{} bytes of body]\n", seen.0["body_len"]));
    for (from, to) in redact {
        if !from.is_empty() {
            s = s.replace(from, to);
        }
    }
    s
}

/// The student's own rule file for the curriculum's scenario: part of the
/// graded subject's `src/`, so it comes from whatever is graded (worktree,
/// reference, variant, submission). Run by hand, the kit's copy is used.
pub fn demo_rules_path(cx: &Ctx) -> PathBuf {
    const FILE: &str = "rules/demo.conf";
    match cx.subject_src() {
        Some(src) => src.join(FILE),
        None => cx.exercise_dir().join("src").join(FILE),
    }
}

// ---------------------------------------------------------------------------
// Differential checks on random rule files

/// The upstreams a random rule file may name, in the order of
/// `cases::upstream`: two echo apps, then one that refuses, one that never
/// answers, one that hangs up, one that never accepts.
pub struct Upstreams {
    _apps: Vec<Upstream>,
    urls: Arc<Vec<String>>,
    _tasks: Vec<AbortOnDrop>,
    _full: (std::net::TcpListener, Vec<std::net::TcpStream>),
    _refused: RefusedPort,
}

pub struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Upstreams {
    pub async fn start() -> Result<Upstreams, Failure> {
        let io = |e: std::io::Error| Failure::new(format!("could not start a test upstream: {e}"));
        let app = upstream("app").await?;
        let api = upstream("api").await?;
        let refused = RefusedPort::new()?;
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(io)?;
        let silent_addr = silent.local_addr().map_err(io)?;
        let hold = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((s, _)) = silent.accept().await {
                open.push(s);
            }
        });
        let closer = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(io)?;
        let closer_addr = closer.local_addr().map_err(io)?;
        let close = tokio::spawn(async move {
            while let Ok((s, _)) = closer.accept().await {
                drop(s);
            }
        });
        let full = full_listener().map_err(io)?;
        let full_addr = full.0.local_addr().map_err(io)?;
        let urls = vec![
            app.url(),
            api.url(),
            format!("http://127.0.0.1:{}", refused.port()),
            format!("http://{silent_addr}"),
            format!("http://{closer_addr}"),
            format!("http://{full_addr}"),
        ];
        Ok(Upstreams {
            _apps: vec![app, api],
            urls: Arc::new(urls),
            _tasks: vec![AbortOnDrop(hold), AbortOnDrop(close)],
            _full: full,
            _refused: refused,
        })
    }
}

/// A listener that never accepts: a backlog of 0, already filled, so the
/// kernel drops further connection attempts and a connect times out.
fn full_listener() -> std::io::Result<(std::net::TcpListener, Vec<std::net::TcpStream>)> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let listener = socket.listen(0)?.into_std()?;
    let addr = listener.local_addr()?;
    let mut keep = Vec::new();
    for _ in 0..2 {
        if let Ok(s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            keep.push(s);
        }
    }
    Ok((listener, keep))
}

/// One case of a differential check: a rule file and the requests sent to
/// a proxy that runs it.
#[derive(Clone)]
pub struct RuleCase {
    pub rules: Rules,
    pub requests: Vec<cases::Request>,
    urls: Arc<Vec<String>>,
}

impl RuleCase {
    fn text(&self) -> String {
        self.rules.render(&self.urls, &Listens::kit())
    }

    fn with(&self, rules: Rules, requests: Vec<cases::Request>) -> RuleCase {
        RuleCase { rules, requests, urls: self.urls.clone() }
    }
}

impl Case for RuleCase {
    /// One request at a time first; then fewer servers, locations and
    /// names; then a simpler request.
    fn shrink(&self) -> Vec<Self> {
        if self.requests.len() > 1 {
            return self.requests.iter().map(|r| self.with(self.rules.clone(), vec![r.clone()])).collect();
        }
        let Some(request) = self.requests.first() else { return Vec::new() };
        let smaller = cases::smaller_rules(&self.rules)
            .into_iter()
            .filter(|r| cases::fits(r, request))
            .map(|r| self.with(r, self.requests.clone()));
        let simpler = cases::simpler_request(request).into_iter().map(|q| self.with(self.rules.clone(), vec![q]));
        smaller.chain(simpler).collect()
    }

    fn show(&self) -> String {
        let mut s = String::from("# the rule file (save it as case.conf):\n");
        s.push_str(&self.text());
        s.push_str("# run your proxy with it:\nPORT=8080 TLS_PORT=8443 cargo run -p proxy -- case.conf\n");
        let _ = writeln!(
            s,
            "# (proxy_pass names the suite's upstreams: {} echo what they receive; start any app there to try it)",
            self.urls[..2].join(" and ")
        );
        s.push_str("# then send:\n");
        for r in &self.requests {
            let base = if r.tls { "http://127.0.0.1:8443" } else { "http://127.0.0.1:8080" };
            let _ = writeln!(s, "{}", r.curl(base));
        }
        s
    }
}

/// Draw `files` random rule files for `mix` with `per_file` requests each,
/// and fail on the first (shrunk) case where your proxy's answers differ
/// from the reference's. `rule` leads the failure message.
pub async fn differential(cx: &mut Ctx, rule: &str, mix: Mix, files: usize, per_file: usize) -> CheckResult {
    let ups = Upstreams::start().await?;
    let mut all = Vec::new();
    for _ in 0..files {
        let (rules, pools) = cases::rules(cx.rng(), &mix);
        let requests = cases::requests(cx.rng(), &rules, &pools, &mix, per_file);
        all.push(ups.case(rules, requests));
    }
    compare(cx, rule, all, if mix.errors { 8 } else { 40 }).await
}

impl Upstreams {
    pub fn case(&self, rules: Rules, requests: Vec<cases::Request>) -> RuleCase {
        RuleCase { rules, requests, urls: self.urls.clone() }
    }
}

/// Give each case to your proxy and to the reference; fail on the first
/// difference, shrunk with at most `budget` more cases.
pub async fn compare(cx: &Ctx, rule: &str, all: Vec<RuleCase>, budget: usize) -> CheckResult {
    let reference = harness::differential::reference(cx)?.to_path_buf();
    let subject = cx.subject().to_path_buf();
    // Generous: a proxy that answers at all answers within this even on a
    // loaded machine; the rule files' own timeouts are at most 400 ms.
    let limit = Duration::from_secs(10);
    Differential::new(rule)
        .shrink_budget(budget)
        .run(all, |side, case| {
            let bin = match side {
                Side::Yours => subject.clone(),
                Side::Reference => reference.clone(),
            };
            async move { answers(cx, side, &bin, &case, limit).await }
        })
        .await
}

/// The normalised answers of the proxy `bin` to every request of `case`.
async fn answers(cx: &Ctx, side: Side, bin: &Path, case: &RuleCase, limit: Duration) -> Result<String, Failure> {
    let run = match side {
        Side::Yours => start_bin(cx, bin, &case.text(), "case.conf").await?,
        // The differential runner reports only the message of a reference
        // that failed: put what it printed there.
        Side::Reference => start_reference(cx, bin, &case.text(), "case.conf").await.map_err(|f| {
            let said = f.output().unwrap_or("(nothing)").to_string();
            Failure::new(format!("{}\nit printed: {said}", f.message()))
        })?,
    };
    // A few at a time: the clock of each request starts when it is sent.
    let gate = Arc::new(tokio::sync::Semaphore::new(6));
    let mut set = tokio::task::JoinSet::new();
    for (i, r) in case.requests.iter().enumerate() {
        let addr = if r.tls { run.tls.addr() } else { run.plain.addr() };
        let r = r.clone();
        let gate = gate.clone();
        set.spawn(async move {
            let _permit = gate.acquire_owned().await;
            (i, cases::send(addr, &r, limit).await)
        });
    }
    let mut out = vec![String::new(); case.requests.len()];
    while let Some(done) = set.join_next().await {
        let (i, answer) = done.map_err(|e| Failure::new(format!("a request task failed: {e}")))?;
        out[i] = match answer {
            Ok(a) => a.normalised(),
            Err(e) => format!("no answer: {e}"),
        };
    }
    let mut text = String::new();
    for (i, (r, a)) in case.requests.iter().zip(out).enumerate() {
        let on = if r.tls { "TLS_PORT" } else { "PORT" };
        let _ = writeln!(text, "#{} {} {} (Host: {}, on {on}): {a}", i + 1, r.method, r.target, r.host);
    }
    if text.contains("no answer") {
        return Err(Failure::new(text).with_output(run.output()));
    }
    Ok(text)
}

/// The ports a rule file's `proxy_pass` lines name on 127.0.0.1.
pub fn upstream_ports(rules: &str) -> Vec<u16> {
    rules
        .split("127.0.0.1:")
        .skip(1)
        .filter_map(|rest| rest.split(|c: char| !c.is_ascii_digit()).next()?.parse::<u16>().ok())
        .collect()
}
