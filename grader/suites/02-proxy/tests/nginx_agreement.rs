//! Ground truth for 02-proxy: real nginx and the reference proxy read the
//! same rule files and must make the same routing decision (server block,
//! location, upstream URI, redirect target) for every request of a table
//! that includes the examples of nginx's own documentation.
//!
//! Each location sets `X-Route`, and the upstream echoes what it received,
//! so the decision is read off the upstream's side for both proxies.
//!
//! Needs nginx (`apt-get install nginx-light`). Without it the test says so
//! and passes as skipped, unless KIT_REQUIRE_TOOLS is set (CI), when a
//! missing nginx fails it.

#![allow(dead_code)]

#[path = "../../../../solutions/02-proxy/src/config.rs"]
mod config;
#[path = "../src/echo.rs"]
mod echo;
#[path = "../../../../solutions/02-proxy/src/forward.rs"]
mod forward;
#[path = "../../../../solutions/02-proxy/src/routing.rs"]
mod routing;
#[path = "../../../../solutions/02-proxy/src/server.rs"]
mod server;
#[path = "../../../../solutions/02-proxy/src/uri.rs"]
mod uri;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use echo::{Seen, Upstream};

/// Which listener a request goes to.
#[derive(Clone, Copy, Debug)]
enum On {
    /// `listen 80`
    Plain,
    /// `listen 443 ssl` (plain HTTP for nginx here: no certificates)
    Tls,
}

struct Case {
    on: On,
    host: &'static str,
    path: &'static str,
}

fn case(host: &'static str, path: &'static str) -> Case {
    Case { on: On::Plain, host, path }
}

/// A rule file with `L80` / `L443` where the listen addresses go, and the
/// requests to ask about it.
struct Table {
    name: &'static str,
    rules: String,
    cases: Vec<Case>,
}

fn r(name: &str, up: &str) -> String {
    format!("proxy_pass {up}; proxy_set_header X-Route {name};")
}

fn tables(up: &str) -> Vec<Table> {
    // nginx docs, "Server names": exact, wildcards, regex, default.
    let names = Table {
        name: "server names",
        rules: format!(
            "server {{ listen L80; server_name example.org www.example.org; location / {{ {} }} }}\n\
             server {{ listen L80; server_name *.example.org; location / {{ {} }} }}\n\
             server {{ listen L80; server_name *.mail.example.org; location / {{ {} }} }}\n\
             server {{ listen L80; server_name mail.*; location / {{ {} }} }}\n\
             server {{ listen L80; server_name www.example.*; location / {{ {} }} }}\n\
             server {{ listen L80; server_name ~^(?<user>.+)\\.example\\.net$; location / {{ {} }} }}\n\
             server {{ listen L80; server_name .example.com; location / {{ {} }} }}\n\
             server {{ listen L80 default_server; server_name _; location / {{ {} }} }}\n",
            r("exact", up),
            r("star-example-org", up),
            r("star-mail-example-org", up),
            r("mail-star", up),
            r("www-example-star", up),
            r("regex-net", up),
            r("dot-example-com", up),
            r("default", up),
        ),
        cases: vec![
            case("example.org", "/"),
            case("www.example.org", "/"),
            case("EXAMPLE.ORG", "/"),
            case("www.example.org:8080", "/"),
            case("foo.example.org", "/"),
            case("a.mail.example.org", "/"),
            case("mail.example.org", "/"),
            case("mail.foo.com", "/"),
            case("www.example.de", "/"),
            case("bob.example.net", "/"),
            case("example.net", "/"),
            case("example.com", "/"),
            case("sub.example.com", "/"),
            case("nowhere.test", "/"),
        ],
    };
    // nginx docs, `location`: the A-E example.
    let locations = Table {
        name: "locations",
        rules: format!(
            "server {{ listen L80;\n  location = / {{ {} }}\n  location / {{ {} }}\n  location /documents/ {{ {} }}\n  location ^~ /images/ {{ {} }}\n  location ~* \\.(gif|jpg|jpeg)$ {{ {} }}\n}}\n",
            r("A", up),
            r("B", up),
            r("C", up),
            r("D", up),
            r("E", up),
        ),
        cases: vec![
            case("localhost", "/"),
            case("localhost", "/index.html"),
            case("localhost", "/documents/document.html"),
            case("localhost", "/images/1.gif"),
            case("localhost", "/documents/1.jpg"),
            case("localhost", "/DOCUMENTS/1.JPG"),
            case("localhost", "/documents"),
            case("localhost", "/images"),
            case("localhost", "/documents/../images/x.gif"),
        ],
    };
    // nginx docs, `proxy_pass`: with and without a URI part; redirects.
    let pass = Table {
        name: "proxy_pass and return",
        rules: format!(
            "server {{ listen L80;\n  location /name/ {{ proxy_pass {up}/remote/; proxy_set_header X-Route name; }}\n  location /some/path/ {{ {} }}\n  location = /exact {{ proxy_pass {up}/target; proxy_set_header X-Route exact; }}\n  location /noslash {{ proxy_pass {up}/other; proxy_set_header X-Route noslash; }}\n  location ~ \\.php$ {{ {} }}\n}}\n\
             server {{ listen L80; server_name redirect.test; return 301 https://$host$request_uri; }}\n\
             server {{ listen L443; server_name secure.test; location / {{ {} }} location = /gone {{ return 410; }} }}\n",
            r("path", up),
            r("php", up),
            r("secure", up),
        ),
        cases: vec![
            case("localhost", "/name/x/y?a=1"),
            case("localhost", "/name/"),
            case("localhost", "/name/a%20b"),
            case("localhost", "/name/a%2Fb"),
            case("localhost", "/name"),
            case("localhost", "/some/path/page.html?x=1&y"),
            case("localhost", "/some/path//double/./dot"),
            case("localhost", "/some/path/index.php"),
            case("localhost", "/exact?q=1"),
            case("localhost", "/noslashabc"),
            case("localhost", "/noslash/x"),
            case("localhost", "/"),
            case("redirect.test", "/x?y=1"),
            case("REDIRECT.test:80", "/"),
            Case { on: On::Tls, host: "secure.test", path: "/a/b?c" },
            Case { on: On::Tls, host: "secure.test", path: "/gone" },
        ],
    };
    vec![names, locations, pass]
}

fn find_nginx() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|d| d.join("nginx"))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// nginx running one rule file; killed on drop.
struct Nginx {
    child: Child,
    plain: SocketAddr,
    tls: SocketAddr,
    dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_nginx(bin: &Path, rules: &str) -> Nginx {
    let dir = tempfile::Builder::new().prefix("nginx-agreement-").tempdir().expect("temp dir");
    let d = dir.path();
    let (p1, p2) = (free_port(), free_port());
    // nginx listens only where a server block says so.
    let used: Vec<SocketAddr> = [("L80", p1), ("L443", p2)]
        .iter()
        .filter(|(l, _)| rules.contains(l))
        .map(|(_, p)| SocketAddr::from(([127, 0, 0, 1], *p)))
        .collect();
    let rules = rules.replace("L443", &format!("127.0.0.1:{p2}")).replace("L80", &format!("127.0.0.1:{p1}"));
    std::fs::write(d.join("rules.conf"), rules).expect("write rules");
    let conf = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  root {d}/html;\n  include {d}/rules.conf;\n}}\n",
        d = d.display()
    );
    std::fs::write(d.join("nginx.conf"), conf).expect("write nginx.conf");
    let child = Command::new(bin)
        .arg("-p")
        .arg(d)
        .arg("-c")
        .arg(d.join("nginx.conf"))
        .arg("-e")
        .arg(d.join("error.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(d.join("stderr.log")).map(Stdio::from).unwrap_or_else(|_| Stdio::null()))
        .spawn()
        .expect("start nginx");
    let mut nginx = Nginx { child, plain: ([127, 0, 0, 1], p1).into(), tls: ([127, 0, 0, 1], p2).into(), dir };
    for addr in used {
        if let Err(e) = harness::http::wait_accepting(addr, Duration::from_secs(10)).await {
            let _ = nginx.child.kill();
            let read = |f: &str| std::fs::read_to_string(nginx.dir.path().join(f)).unwrap_or_default();
            let log = format!(
                "{}{}\n--- nginx.conf ---\n{}\n--- rules.conf ---\n{}",
                read("stderr.log"),
                read("error.log"),
                read("nginx.conf"),
                read("rules.conf")
            );
            panic!("nginx did not start listening on {addr} ({e}); its error log:\n{log}");
        }
    }
    nginx
}

/// The reference proxy, in-process, on two fresh ports.
async fn start_reference(rules: &str) -> (SocketAddr, SocketAddr) {
    let text = rules.replace("L443", "443 ssl").replace("L80", "80");
    let rules = config::parse(Path::new("agreement.conf"), &text)
        .unwrap_or_else(|e| panic!("the reference refuses the rule file: {e}\n{text}"));
    let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let tls = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addrs = (plain.local_addr().expect("addr"), tls.local_addr().expect("addr"));
    tokio::spawn(server::serve(Arc::new(rules), plain, tls));
    addrs
}

/// What a proxy decided for one request, in words both can be compared by.
async fn decision(client: &reqwest::Client, addr: SocketAddr, c: &Case) -> String {
    let url = format!("http://{addr}{}", c.path);
    let resp = match client.get(&url).header("host", c.host).send().await {
        Ok(r) => r,
        Err(e) => return format!("no answer ({e})"),
    };
    let status = resp.status().as_u16();
    let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).map(strip_port);
    let body = resp.bytes().await.unwrap_or_default();
    match Seen::parse(&body) {
        Some(seen) => format!("proxied to `{}` as {}", seen.header("x-route").unwrap_or_default(), seen.uri()),
        None => format!("answered {status}{}", location.map(|l| format!(" -> {l}")).unwrap_or_default()),
    }
}

/// `http://host:8080/x` -> `http://host/x`: nginx names its own listen
/// port in redirects it makes up, which differs between the two runs.
fn strip_port(location: &str) -> String {
    let Some((scheme, rest)) = location.split_once("://") else { return location.to_string() };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority.split(':').next().unwrap_or(authority);
    format!("{scheme}://{host}{path}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_routes_like_nginx() {
    let Some(bin) = find_nginx() else {
        let msg = "nginx is not installed, so the agreement test between nginx and the reference proxy did not run.\n\
                   Run it with: apt-get install nginx-light && cargo test -p proxy-suite --test nginx_agreement";
        if std::env::var_os("KIT_REQUIRE_TOOLS").is_some() {
            panic!("{msg}");
        }
        eprintln!("skipped: {msg}");
        return;
    };
    let up = Upstream::start("app").await.expect("start the echo upstream");
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let mut compared = 0;
    let mut disagreements = Vec::new();
    for table in tables(&up.url()) {
        let nginx = start_nginx(&bin, &table.rules).await;
        let reference = start_reference(&table.rules).await;
        for c in &table.cases {
            let (n, r) = match c.on {
                On::Plain => (nginx.plain, reference.0),
                On::Tls => (nginx.tls, reference.1),
            };
            let theirs = decision(&client, n, c).await;
            let ours = decision(&client, r, c).await;
            compared += 1;
            if theirs != ours {
                disagreements.push(format!(
                    "[{}] GET {} (Host: {}, {:?} listener)\n    nginx:     {theirs}\n    reference: {ours}",
                    table.name, c.path, c.host, c.on
                ));
            } else {
                eprintln!("[{}] GET {} (Host: {}): {ours}", table.name, c.path, c.host);
            }
        }
    }
    assert!(compared >= 30, "the table must hold at least 30 requests, it has {compared}");
    assert!(
        disagreements.is_empty(),
        "the reference and nginx disagree on {} of {compared} requests:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
