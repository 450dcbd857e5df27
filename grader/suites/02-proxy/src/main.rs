//! Hidden suite of 02-proxy. The student's proxy runs as its own process on
//! two free ports (PORT for `listen 80`, TLS_PORT for `listen 443 ssl`) with
//! a rule file this suite writes under a random name, in front of upstream
//! apps the suite starts on free ports. Domains and paths are random, so a
//! proxy with hard-coded routes fails.

mod echo;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use echo::{Seen, Upstream};
use harness::http::{Client, Exchange, Request};
use harness::process::{free_port, Proc, Spawn};
use harness::snapshot;
use harness::{ensure, fail, CheckResult, Ctx, Failure};

fn main() -> ExitCode {
    harness::Suite::new("02-proxy", env!("CARGO_MANIFEST_DIR"))
        .subject_bin("proxy")
        .check("start.proxies", start_proxies)
        .check("hosts.names", hosts_names)
        .check("hosts.port_stripped", hosts_port_stripped)
        .check("locations.order", locations_order)
        .check("locations.longest_prefix", locations_longest_prefix)
        .check("uri.replace_prefix", uri_replace_prefix)
        .check("uri.as_sent", uri_as_sent)
        .check("redirect.https", redirect_https)
        .check("headers.forwarded", headers_forwarded)
        .check("headers.hop_by_hop", headers_hop_by_hop)
        .check("passthrough.body_and_status", passthrough_body_and_status)
        .check("errors.bad_gateway", errors_bad_gateway)
        .check("errors.timeout", errors_timeout)
        .check("errors.rule_file", errors_rule_file)
        .check("snapshot.forwarded_request", snapshot_forwarded_request)
        .check("snapshot.client_response", snapshot_client_response)
        .check("scenario.demo_rules", scenario_demo_rules)
        .main()
}

// ---------------------------------------------------------------------------
// Plumbing of the suite

async fn upstream(name: &str) -> Result<Upstream, Failure> {
    Upstream::start(name).await.map_err(|e| Failure::new(format!("could not start a test upstream: {e}")))
}

/// The student's proxy with one rule file, and a client per listener.
struct Running {
    proc: Proc,
    plain: Client,
    tls: Client,
    rules: String,
    _dir: tempfile::TempDir,
}

impl Running {
    fn output(&self) -> String {
        format!("{}\n--- the rule file ---\n{}", self.proc.output(), self.rules)
    }
}

fn write_rules(cx: &mut Ctx, rules: &str) -> Result<(tempfile::TempDir, PathBuf), Failure> {
    let io = |e: std::io::Error| Failure::new(format!("could not write the rule file: {e}"));
    let dir = tempfile::Builder::new().prefix("grade-proxy-").tempdir().map_err(io)?;
    let path = dir.path().join(format!("{}.conf", cx.word(8)));
    std::fs::write(&path, rules).map_err(io)?;
    Ok((dir, path))
}

async fn start(cx: &mut Ctx, rules: &str) -> Result<Running, Failure> {
    let (dir, path) = write_rules(cx, rules)?;
    let (port, tls_port) = (free_port()?, free_port()?);
    let spec = Spawn {
        env: vec![
            ("HOST".into(), "127.0.0.1".into()),
            ("PORT".into(), port.to_string()),
            ("TLS_PORT".into(), tls_port.to_string()),
        ],
        args: vec![path.to_string_lossy().into_owned()],
    };
    let (proc, addr) = Proc::start_server(cx, cx.subject(), &spec)
        .await
        .map_err(|f| Failure::new(format!("{}\n(rule file:\n{rules})", f.message())))?;
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
fn get(host: &str, path: &str) -> Request {
    Request::get(path).header("host", host)
}

/// Send and expect the upstream's echo back.
async fn through(run: &Running, client: &Client, request: Request) -> Result<(Exchange, Seen), Failure> {
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

fn describe(req: &Request) -> String {
    let host = req.headers.iter().find(|(k, _)| k == "host").map(|(_, v)| v.as_str()).unwrap_or("?");
    format!("{} {} with Host: {host}", req.method, req.path)
}

/// Each `(request, route)`: the request must reach the location that sets
/// `X-Route: route`.
async fn expect_routes(run: &Running, client: &Client, cases: Vec<(Request, &str)>, what: &str) -> CheckResult {
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

fn route(name: &str, up: &Upstream) -> String {
    format!("proxy_pass {}; proxy_set_header X-Route {name};", up.url())
}

// ---------------------------------------------------------------------------
// Checks

async fn start_proxies(mut cx: Ctx) -> CheckResult {
    let up = upstream("app").await?;
    let domain = format!("{}.test", cx.word(7));
    let rules = format!("server {{\n    listen 80 default_server;\n    server_name {domain};\n    location / {{\n        proxy_pass {};\n    }}\n}}\n", up.url());
    let run = start(&mut cx, &rules).await?;
    let path = format!("/{}/{}?q={}", cx.word(5), cx.word(6), cx.word(4));
    let (ex, seen) = through(&run, &run.plain, get(&domain, &path)).await?;
    ensure!(ex.response.status == 200, "GET {path} must pass on the upstream's 200, got {}", ex.response.status);
    if seen.uri() != path {
        return Err(ex.fail(format!("the upstream must receive {path}, it received {}", seen.uri())));
    }
    Ok(())
}

async fn hosts_names(mut cx: Ctx) -> CheckResult {
    let up = upstream("app").await?;
    let d = format!("{}.org", cx.word(6));
    let r = format!("{}.net", cx.word(6));
    let (mail, api) = (cx.word(4), cx.word(3));
    let rules = format!(
        "server {{ listen 80; server_name first.{r}; location / {{ {first} }} }}\n\
         server {{ listen 80; server_name {d} www.{d}; location / {{ {exact} }} }}\n\
         server {{ listen 80; server_name *.{d}; location / {{ {wild} }} }}\n\
         server {{ listen 80; server_name *.{api}.{d}; location / {{ {longer} }} }}\n\
         server {{ listen 80; server_name {mail}.*; location / {{ {trail} }} }}\n\
         server {{ listen 80; server_name \"~^node[0-9]+\\.{r_re}$\"; location / {{ {regex} }} }}\n\
         server {{ listen 80 default_server; server_name _; location / {{ {default} }} }}\n",
        first = route("first", &up),
        exact = route("exact", &up),
        wild = route("leading-wildcard", &up),
        longer = route("longer-leading-wildcard", &up),
        trail = route("trailing-wildcard", &up),
        regex = route("regex", &up),
        default = route("default", &up),
        r_re = r.replace('.', "\\."),
    );
    let run = start(&mut cx, &rules).await?;
    let n = cx.rng().u16(1..999);
    let cases = vec![
        (get(&d, "/"), "exact"),
        (get(&format!("www.{d}"), "/"), "exact"),
        (get(&format!("{}.{d}", cx.word(5)), "/"), "leading-wildcard"),
        (get(&format!("v1.{api}.{d}"), "/"), "longer-leading-wildcard"),
        (get(&format!("{api}.{d}"), "/"), "leading-wildcard"),
        (get(&format!("{mail}.{d}"), "/"), "leading-wildcard"),
        (get(&format!("{mail}.{}.com", cx.word(5)), "/"), "trailing-wildcard"),
        (get(&format!("node{n}.{r}"), "/"), "regex"),
        (get(&format!("node.{r}"), "/"), "default"),
        (get(&format!("{}.example", cx.word(6)), "/"), "default"),
    ];
    expect_routes(&run, &run.plain, cases, "the server block").await
}

async fn hosts_port_stripped(mut cx: Ctx) -> CheckResult {
    let up = upstream("app").await?;
    let d = format!("{}.org", cx.word(6));
    let rules = format!(
        "server {{ listen 80 default_server; server_name _; location / {{ {} }} }}\n\
         server {{ listen 80; server_name {d}; location / {{ {} }} }}\n",
        route("default", &up),
        route("named", &up)
    );
    let run = start(&mut cx, &rules).await?;
    let port = run.plain.addr().port();
    let cases = vec![
        (get(&format!("{d}:{port}"), "/"), "named"),
        (get(&d.to_uppercase(), "/"), "named"),
        (get(&format!("{d}."), "/"), "named"),
    ];
    expect_routes(&run, &run.plain, cases, "the server block").await
}

async fn locations_order(mut cx: Ctx) -> CheckResult {
    // The example of nginx's own `location` documentation, with random names.
    let up = upstream("app").await?;
    let (docs, images) = (cx.word(6), cx.word(5));
    let rules = format!(
        "server {{\n  listen 80;\n  location = / {{ {a} }}\n  location / {{ {b} }}\n  location /{docs}/ {{ {c} }}\n  location ^~ /{images}/ {{ {d} }}\n  location ~* \\.(gif|jpg|jpeg)$ {{ {e} }}\n}}\n",
        a = route("A", &up),
        b = route("B", &up),
        c = route("C", &up),
        d = route("D", &up),
        e = route("E", &up),
    );
    let run = start(&mut cx, &rules).await?;
    let h = "localhost";
    let cases = vec![
        (get(h, "/"), "A"),
        (get(h, &format!("/{}.html", cx.word(5))), "B"),
        (get(h, &format!("/{docs}/{}.html", cx.word(4))), "C"),
        (get(h, &format!("/{images}/{}.gif", cx.word(4))), "D"),
        (get(h, &format!("/{docs}/{}.JPG", cx.word(4))), "E"),
        (get(h, &format!("/{}/x.jpeg", cx.word(3))), "E"),
    ];
    expect_routes(&run, &run.plain, cases, "the location").await
}

async fn locations_longest_prefix(mut cx: Ctx) -> CheckResult {
    let up = upstream("app").await?;
    let (a, b) = (cx.word(5), cx.word(4));
    let rules = format!(
        "server {{\n  listen 80;\n  location / {{ {root} }}\n  location /{a}/ {{ {short} }}\n  location /{a}/{b}/ {{ {long} }}\n  location /{a}/{b}/x {{ {longest} }}\n}}\n",
        root = route("root", &up),
        short = route("short", &up),
        long = route("long", &up),
        longest = route("longest", &up),
    );
    let run = start(&mut cx, &rules).await?;
    let h = "localhost";
    let cases = vec![
        (get(h, &format!("/{a}/{b}/{}", cx.word(3))), "long"),
        (get(h, &format!("/{a}/{b}/xyz")), "longest"),
        (get(h, &format!("/{a}/{}", cx.word(3))), "short"),
        (get(h, &format!("/{a}x")), "root"),
    ];
    expect_routes(&run, &run.plain, cases, "the location").await
}

async fn expect_uris(run: &Running, cases: Vec<(String, String)>) -> CheckResult {
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

async fn uri_replace_prefix(mut cx: Ctx) -> CheckResult {
    let up = upstream("app").await?;
    let (name, remote, m, s, e) = (cx.word(5), cx.word(6), cx.word(4), cx.word(4), cx.word(5));
    let u = up.url();
    let rules = format!(
        "server {{\n  listen 80;\n  location /{name}/ {{ proxy_pass {u}/{remote}/; }}\n  location /{m} {{ proxy_pass {u}/{s}; }}\n  location = /{e} {{ proxy_pass {u}/exact/; }}\n}}\n"
    );
    let run = start(&mut cx, &rules).await?;
    let (x, y, q) = (cx.word(3), cx.word(4), cx.word(5));
    let cases = vec![
        (format!("/{name}/{x}/{y}"), format!("/{remote}/{x}/{y}")),
        (format!("/{name}/{x}?q={q}"), format!("/{remote}/{x}?q={q}")),
        (format!("/{name}/"), format!("/{remote}/")),
        (format!("/{m}{x}"), format!("/{s}{x}")),
        (format!("/{m}/{x}"), format!("/{s}/{x}")),
        (format!("/{e}?{q}"), format!("/exact/?{q}")),
    ];
    expect_uris(&run, cases).await
}

async fn uri_as_sent(mut cx: Ctx) -> CheckResult {
    let up = upstream("app").await?;
    let name = cx.word(5);
    let rules = format!("server {{\n  listen 80;\n  location /{name}/ {{ proxy_pass {}; }}\n}}\n", up.url());
    let run = start(&mut cx, &rules).await?;
    let (x, q) = (cx.word(4), cx.word(5));
    let cases = vec![
        (format!("/{name}/{x}"), format!("/{name}/{x}")),
        (format!("/{name}/{x}//a%41?q={q}&r"), format!("/{name}/{x}//a%41?q={q}&r")),
    ];
    expect_uris(&run, cases).await
}

async fn redirect_https(mut cx: Ctx) -> CheckResult {
    let up = upstream("app").await?;
    let d = format!("{}.io", cx.word(6));
    let gone = cx.word(5);
    let rules = format!(
        "server {{\n  listen 80;\n  server_name {d};\n  return 301 https://$host$request_uri;\n}}\n\
         server {{\n  listen 443 ssl;\n  server_name {d};\n  location / {{ proxy_pass {}; proxy_set_header X-Forwarded-Proto $scheme; }}\n  location = /{gone} {{ return 410; }}\n}}\n",
        up.url()
    );
    let run = start(&mut cx, &rules).await?;
    let path = format!("/{}/{}?page={}", cx.word(4), cx.word(5), cx.rng().u8(..));
    let ex = run.plain.send(get(&d, &path)).await?;
    let want = format!("https://{d}{path}");
    if ex.response.status != 301 || ex.response.header("location") != Some(want.as_str()) {
        return Err(ex
            .fail(format!("plain HTTP must be redirected: 301 with Location: {want}"))
            .with_output(run.output()));
    }
    let ex = run.plain.send(get(&format!("{}:{}", d.to_uppercase(), run.plain.addr().port()), "/")).await?;
    let want = format!("https://{d}/");
    if ex.response.status != 301 || ex.response.header("location") != Some(want.as_str()) {
        return Err(ex
            .fail(format!("$host is the host without its port, lowercase: expected 301 to {want}"))
            .with_output(run.output()));
    }
    let (ex, seen) = through(&run, &run.tls, get(&d, &path)).await?;
    if seen.header("x-forwarded-proto").as_deref() != Some("https") {
        return Err(ex
            .fail("on the 443 listener, $scheme is https: X-Forwarded-Proto must say https")
            .with_output(run.output()));
    }
    let ex = run.tls.send(get(&d, &format!("/{gone}"))).await?;
    ensure!(ex.response.status == 410, "`return 410;` must answer 410, got {}", ex.response.status);
    Ok(())
}

fn forwarding_rules(up: &Upstream, d: &str) -> String {
    format!(
        "server {{\n  listen 443 ssl;\n  server_name {d};\n  location / {{\n    proxy_pass {};\n    proxy_set_header Host $host;\n    proxy_set_header X-Real-IP $remote_addr;\n    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n    proxy_set_header X-Forwarded-Proto $scheme;\n  }}\n  location /default-host/ {{ proxy_pass {}; }}\n}}\n",
        up.url(),
        up.url()
    )
}

async fn headers_forwarded(mut cx: Ctx) -> CheckResult {
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

async fn headers_hop_by_hop(mut cx: Ctx) -> CheckResult {
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

async fn passthrough_body_and_status(mut cx: Ctx) -> CheckResult {
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
            && seen.0["body_fnv"].as_str() == Some(echo::fnv(&body).as_str()),
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

async fn errors_bad_gateway(mut cx: Ctx) -> CheckResult {
    let down = free_port()?;
    let rules = format!("server {{ listen 80; location / {{ proxy_pass http://127.0.0.1:{down}; }} }}\n");
    let run = start(&mut cx, &rules).await?;
    let ex = run.plain.send(get("localhost", &format!("/{}", cx.word(5)))).await?;
    if ex.response.status != 502 {
        return Err(ex
            .fail(format!(
                "nothing listens on the upstream port {down}: the client must get 502 Bad Gateway, got {}",
                ex.response.status
            ))
            .with_output(run.output()));
    }
    Ok(())
}

async fn errors_timeout(mut cx: Ctx) -> CheckResult {
    let up = upstream("slow").await?;
    let rules =
        format!("server {{ listen 80; proxy_read_timeout 300ms; location / {{ proxy_pass {}; }} }}\n", up.url());
    let run = start(&mut cx, &rules).await?;
    let began = Instant::now();
    let ex = run.plain.send(get("localhost", "/").header("x-echo-delay-ms", "2500")).await?;
    let took = began.elapsed();
    if ex.response.status != 504 {
        return Err(ex.fail(format!(
            "the upstream answers after 2.5 s and proxy_read_timeout is 300ms: the client must get 504 Gateway Timeout, got {}",
            ex.response.status
        )));
    }
    ensure!(
        took < Duration::from_millis(2000),
        "504 must come when proxy_read_timeout (300ms) runs out, not after {} ms",
        took.as_millis()
    );
    Ok(())
}

async fn errors_rule_file(mut cx: Ctx) -> CheckResult {
    let typo = format!("proxy_{}", cx.word(5));
    let pad = " ".repeat(cx.rng().usize(1..6));
    let blank = "\n".repeat(cx.rng().usize(0..4));
    let cases = [
        (
            format!("server {{\n    listen 80;\n{blank}    location / {{\n{pad}{typo} on;\n    }}\n}}\n"),
            4 + blank.len(),
            pad.len() + 1,
            typo.clone(),
        ),
        (format!("server {{\n    listen 80\n{blank}}}\n"), 3 + blank.len(), 1, "}".to_string()),
    ];
    for (rules, line, column, names) in cases {
        let (_dir, path) = write_rules(&mut cx, &rules)?;
        let spec = Spawn::default()
            .env("HOST", "127.0.0.1")
            .env("PORT", free_port()?.to_string())
            .env("TLS_PORT", free_port()?.to_string())
            .env("PROXY_RULES", path.to_string_lossy());
        let mut proc = Proc::start(&cx, cx.subject(), &spec)?;
        let Some(exited) = proc.wait_exit(Duration::from_secs(5)).await else {
            fail!("with a broken rule file the proxy was still running after 5 s; it must refuse to start\n{rules}");
        };
        let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        let want = format!("{file}:{line}:{column}");
        let explain = |m: String| {
            Err(Failure::new(format!("{m}\n--- the rule file ---\n{rules}")).with_output(exited.output.clone()))
        };
        match exited.code {
            Some(0) => return explain("the proxy exited with code 0 on a broken rule file".into()),
            Some(101) => return explain("the proxy panicked on a broken rule file; print the error instead".into()),
            _ if !exited.output.contains(&want) => {
                return explain(format!("the error must name the file, line and column: `{want}`"))
            }
            _ if !exited.output.contains(&names) => {
                return explain(format!("the error must quote what is wrong (`{names}`)"))
            }
            _ => {}
        }
    }
    Ok(())
}

/// The upstream's view, as text for a snapshot: request line, headers
/// sorted by name, body size.
fn upstream_view(seen: &Seen, redact: &[(&str, &str)]) -> String {
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

async fn snapshot_run(cx: &mut Ctx) -> Result<(Running, Upstream, String, Exchange, Seen), Failure> {
    let up = upstream("app").await?;
    let d = format!("{}.dev", cx.word(6));
    let run = start(cx, &forwarding_rules(&up, &d)).await?;
    let req = Request::new("POST", "/orders?draft=1")
        .header("host", d.clone())
        .header("content-type", "application/json")
        .header("x-forwarded-for", "198.51.100.4")
        .header("x-echo-status", "201")
        .body(r#"{"item":"coffee","qty":2}"#);
    let (ex, seen) = through(&run, &run.tls, req).await?;
    Ok((run, up, d, ex, seen))
}

async fn snapshot_forwarded_request(mut cx: Ctx) -> CheckResult {
    let (run, up, d, _ex, seen) = snapshot_run(&mut cx).await?;
    let port = run.tls.addr().port().to_string();
    let up_port = up.addr.port().to_string();
    let text = upstream_view(&seen, &[(&d, "[domain]"), (&up_port, "[upstream-port]"), (&port, "[port]")]);
    snapshot::compare(&cx, "snapshot.forwarded_request", &text)
}

async fn snapshot_client_response(mut cx: Ctx) -> CheckResult {
    let (run, up, d, ex, _seen) = snapshot_run(&mut cx).await?;
    let port = run.tls.addr().port().to_string();
    let up_port = up.addr.port().to_string();
    // The body is the upstream's view (already snapshotted): keep the
    // status and the headers a client relies on.
    let mut shown = ex.clone();
    shown.response.body = b"[what the upstream saw, as JSON]".to_vec();
    let text = shown.transcript(
        &["content-type", "x-upstream", "connection", "keep-alive", "transfer-encoding"],
        &[(&d, "[domain]"), (&up_port, "[upstream-port]"), (&port, "[port]")],
    );
    snapshot::compare(&cx, "snapshot.client_response", &text)
}

/// The student's own rule file for the curriculum's scenario: part of the
/// graded subject's `src/`, so it comes from whatever is graded (worktree,
/// reference, variant, submission). Run by hand, the kit's copy is used.
fn demo_rules_path(cx: &Ctx) -> PathBuf {
    const FILE: &str = "rules/demo.conf";
    match cx.subject_src() {
        Some(src) => src.join(FILE),
        None => cx.exercise_dir().join("src").join(FILE),
    }
}

async fn scenario_demo_rules(mut cx: Ctx) -> CheckResult {
    let path = demo_rules_path(&cx);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Failure::new(format!("cannot read your rule file {}: {e}", path.display())))?;
    let front = upstream("frontend").await?;
    let back = upstream("backend").await?;
    // The file names the apps' real ports; point them at this run's apps.
    let mut rules = text.clone();
    for (port, up) in [("3000", &front), ("3001", &back)] {
        for host in ["127.0.0.1", "localhost"] {
            rules = rules.replace(&format!("http://{host}:{port}"), &up.url());
        }
    }
    let run =
        start(&mut cx, &rules).await.map_err(|f| Failure::new(format!("your src/rules/demo.conf: {}", f.message())))?;
    let client_ip = "127.0.0.1";
    for (domain, app) in [("frontend-demo.xyz", "frontend"), ("backend-demo.xyz", "backend")] {
        let path = format!("/{}?v={}", cx.word(5), cx.word(3));
        let ex = run.plain.send(get(domain, &path)).await?;
        let want = format!("https://{domain}{path}");
        if ex.response.status != 301 || ex.response.header("location") != Some(want.as_str()) {
            return Err(ex
                .fail(format!("your rule file: plain HTTP for {domain} must get 301 to {want}"))
                .with_output(run.output()));
        }
        let (ex, seen) = through(&run, &run.tls, get(domain, &path)).await?;
        if seen.upstream() != app {
            return Err(ex
                .fail(format!(
                    "your rule file: {domain} on 443 must go to the {app} app (127.0.0.1:{}), it went to the {}",
                    if app == "frontend" { 3000 } else { 3001 },
                    seen.upstream()
                ))
                .with_output(run.output()));
        }
        let want = [
            ("host", domain),
            ("x-forwarded-proto", "https"),
            ("x-real-ip", client_ip),
            ("x-forwarded-for", client_ip),
        ];
        for (name, value) in want {
            if seen.header(name).as_deref() != Some(value) {
                return Err(ex
                    .fail(format!(
                        "your rule file: the {app} app must receive `{name}: {value}`, got {:?} (proxy_set_header)",
                        seen.header(name)
                    ))
                    .with_output(run.output()));
            }
        }
        ensure!(seen.uri() == path, "your rule file: the {app} app must receive {path}, got {}", seen.uri());
    }
    Ok(())
}
