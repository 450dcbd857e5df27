//! Ground truth for 06-tls: real nginx and the reference read the same
//! Certbot folder (a certificate authority made for the run, random site
//! names and serials, a random default site) and must agree on
//!
//! - which certificate each handshake gets: every site's name, the same in
//!   capitals, names with no site, and no SNI at all;
//! - what port 80 answers: the challenge file for a token (with and
//!   without a query), 404 for a missing token, and the redirect to https
//!   for random Hosts (with a port, in capitals), paths and queries.
//!
//! nginx is configured as Certbot's nginx plugin leaves a site: one
//! `listen ... ssl` server block per site with `ssl_certificate` pointing
//! into `live/`, one of them `default_server`, and a port-80 block with the
//! webroot challenge location and `return 301 https://$host:PORT$request_uri`
//! (the port written out because the test does not run on 443; the
//! reference does the same when TLS_PORT is not 443).
//!
//! Not compared: paths with `..`. nginx resolves dot segments before it
//! matches a location (so `/.well-known/acme-challenge/../x` is redirected),
//! the reference refuses anything that is not a token (404); both stay in
//! the webroot, which the suite's `port80.challenge` checks.
//!
//! The seed is printed; replay with NGINX_AGREEMENT_SEED=N. Needs nginx
//! (`apt-get install nginx-light`; NGINX=/path/to/nginx picks one). Without
//! it the test prints NOT RUN and passes only when KIT_REQUIRE_TOOLS is
//! unset; in CI (KIT_REQUIRE_TOOLS=1) a missing nginx fails it.

#![allow(dead_code)]

#[path = "../../../../solutions/06-tls/src/forward.rs"]
mod forward;
#[path = "../src/pki.rs"]
mod pki;
#[path = "../../../../solutions/06-tls/src/port80.rs"]
mod port80;
#[path = "../../../../solutions/06-tls/src/server.rs"]
mod server;
#[path = "../../../../solutions/06-tls/src/settings.rs"]
mod settings;
#[path = "../../../../solutions/06-tls/src/sites.rs"]
mod sites;
#[path = "../../../../solutions/06-tls/src/tls.rs"]
mod tls;
#[path = "../src/tlsclient.rs"]
mod tlsclient;

pub use settings::Settings;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tlsclient::Hello;

const ROUNDS: usize = 6;

fn find_nginx() -> Option<PathBuf> {
    if let Some(given) = std::env::var_os("NGINX") {
        return Some(PathBuf::from(given)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|d| d.join("nginx"))
        .find(|p| p.is_file())
}

fn free_ports() -> (u16, u16) {
    let bind = || std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let (a, b) = (bind(), bind());
    (a.local_addr().expect("addr").port(), b.local_addr().expect("addr").port())
}

struct Nginx {
    child: Child,
    plain: SocketAddr,
    tls: SocketAddr,
    dir: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Site {
    names: Vec<String>,
    default: String,
    pki: pki::Pki,
    webroot: PathBuf,
}

async fn start_nginx(bin: &Path, site: &Site, dir: &Path) -> Result<Nginx, String> {
    let (p80, p443) = free_ports();
    let live = site.pki.dir.join("live");
    let mut servers = String::new();
    for name in &site.names {
        let default = if *name == site.default { " default_server" } else { "" };
        servers.push_str(&format!(
            "server {{\n  listen 127.0.0.1:{p443} ssl{default};\n  server_name {name};\n  \
             ssl_certificate {live}/{name}/fullchain.pem;\n  ssl_certificate_key {live}/{name}/privkey.pem;\n  \
             ssl_protocols TLSv1.2 TLSv1.3;\n  location / {{ return 200 \"{name}\\n\"; }}\n}}\n",
            live = live.display()
        ));
    }
    servers.push_str(&format!(
        "server {{\n  listen 127.0.0.1:{p80} default_server;\n  server_name _;\n  \
         location ^~ /.well-known/acme-challenge/ {{ root {webroot}; default_type application/octet-stream; }}\n  \
         location / {{ return 301 https://$host:{p443}$request_uri; }}\n}}\n",
        webroot = site.webroot.display()
    ));
    let d = dir.display();
    let conf = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 256; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  \
         uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n{servers}}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), &conf).map_err(|e| e.to_string())?;
    let child = Command::new(bin)
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg(dir.join("error.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("stderr.log")).map(Stdio::from).unwrap_or_else(|_| Stdio::null()))
        .spawn()
        .map_err(|e| format!("cannot start nginx: {e}"))?;
    let nginx =
        Nginx { child, plain: ([127, 0, 0, 1], p80).into(), tls: ([127, 0, 0, 1], p443).into(), dir: dir.into() };
    for addr in [nginx.plain, nginx.tls] {
        if let Err(e) = harness::http::wait_accepting(addr, Duration::from_secs(10)).await {
            let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
            return Err(format!(
                "nginx did not listen on {addr} ({e}):\n{}{}\n--- nginx.conf ---\n{conf}",
                read("stderr.log"),
                read("error.log")
            ));
        }
    }
    Ok(nginx)
}

struct Reference {
    plain: SocketAddr,
    tls: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Reference {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start_reference(site: &Site) -> Result<Reference, String> {
    let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let secure = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let (p, t) = (plain.local_addr().map_err(|e| e.to_string())?, secure.local_addr().map_err(|e| e.to_string())?);
    let settings = Settings {
        host: "127.0.0.1".into(),
        port: p.port(),
        tls_port: t.port(),
        cert_dir: site.pki.dir.clone(),
        default_site: Some(site.default.clone()),
        webroot: site.webroot.clone(),
        upstream: ("127.0.0.1".into(), 9),
        hsts_max_age: 60,
    };
    let sites = sites::load_all(&settings.cert_dir, settings.default_site.as_deref())?;
    let current = sites::Current::new(sites);
    let config = tls::server_config(current.clone()).map_err(|e| e.to_string())?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let task = tokio::spawn(async move {
        let _ = server::serve(settings, current, acceptor, plain, secure).await;
    });
    Ok(Reference { plain: p, tls: t, task })
}

/// Which issued certificate a handshake got, or why it failed.
async fn certificate(addr: SocketAddr, sni: Option<&str>, site: &Site) -> String {
    let hello = Hello { sni: sni.map(str::to_string), ..Hello::sni("x.test") };
    match tlsclient::connect(addr, &hello, site.pki.roots()).await {
        Ok(conn) => site.pki.describe(conn.leaf()),
        Err(e) => format!("handshake failed: {e}"),
    }
}

/// Status, Location (its port normalised) and body of a plain request.
async fn port80(addr: SocketAddr, tls_port: u16, target: &str, host: &str) -> String {
    let client = harness::http::Client::new(addr, Duration::from_secs(10));
    let host = host.replace("PORT", &addr.port().to_string());
    match client.send_raw(harness::http::Request::get(target).header("host", host)).await {
        Err(e) => format!("no answer: {}", e.message()),
        Ok(ex) => {
            let location = ex.response.header("location").unwrap_or("-").replace(&format!(":{tls_port}"), ":TLS_PORT");
            let body = if ex.response.status == 200 {
                String::from_utf8_lossy(&ex.response.body).into_owned()
            } else {
                String::new()
            };
            format!("{} {location} {body}", ex.response.status)
        }
    }
}

fn word(rng: &mut fastrand::Rng, len: usize) -> String {
    (0..len).map(|_| rng.lowercase()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_and_the_reference_choose_the_same_certificates_and_redirects() {
    let Some(bin) = find_nginx() else {
        let msg = "nginx is not installed (apt-get install nginx-light, or NGINX=/path/to/nginx): the 06-tls agreement test is NOT RUN";
        if std::env::var_os("KIT_REQUIRE_TOOLS").is_some() {
            panic!("KIT_REQUIRE_TOOLS is set: {msg}");
        }
        eprintln!("\n*** {msg} ***\n");
        return;
    };
    let seed =
        std::env::var("NGINX_AGREEMENT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| fastrand::u64(..));
    eprintln!("06-tls nginx agreement: seed {seed} (replay with NGINX_AGREEMENT_SEED={seed})");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut compared = 0;
    for round in 0..ROUNDS {
        let dir = tempfile::Builder::new().prefix("nginx-tls-agreement-").tempdir().expect("a temporary folder");
        let mut pki = pki::Pki::new(&dir.path().join("letsencrypt"), &mut rng).expect("a CA");
        let mut names = Vec::new();
        while names.len() < 2 + rng.usize(..3) {
            let len = 3 + rng.usize(..5);
            let name = format!("{}.{}.test", word(&mut rng, len), word(&mut rng, 3));
            if !names.contains(&name) {
                names.push(name);
            }
        }
        for name in &names {
            pki.issue(name).expect("a site certificate");
        }
        let webroot = dir.path().join("webroot");
        std::fs::create_dir_all(webroot.join(".well-known/acme-challenge")).expect("the webroot");
        let token: String = (0..43).map(|_| rng.alphanumeric()).collect();
        std::fs::write(
            webroot.join(".well-known/acme-challenge").join(&token),
            format!("{token}.{}", word(&mut rng, 20)),
        )
        .expect("a challenge file");
        let default = names[rng.usize(..names.len())].clone();
        let site = Site { names: names.clone(), default, pki, webroot };
        let nginx_dir = dir.path().join("nginx");
        std::fs::create_dir_all(&nginx_dir).expect("nginx's folder");
        let nginx = start_nginx(&bin, &site, &nginx_dir).await.unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let reference = start_reference(&site).await.unwrap_or_else(|e| panic!("seed {seed}: {e}"));

        let mut snis: Vec<Option<String>> = names.iter().map(|n| Some(n.clone())).collect();
        snis.push(Some(names[0].to_ascii_uppercase()));
        snis.push(Some(format!("{}.test", word(&mut rng, 6))));
        snis.push(Some(format!("www.{}", names[rng.usize(..names.len())])));
        snis.push(None);
        for sni in &snis {
            let theirs = certificate(nginx.tls, sni.as_deref(), &site).await;
            let ours = certificate(reference.tls, sni.as_deref(), &site).await;
            assert_eq!(
                ours, theirs,
                "seed {seed}, round {round}: SNI {sni:?} (default site {}): the reference got the left, nginx the right",
                site.default
            );
            compared += 1;
        }

        let mut requests = vec![
            (format!("/.well-known/acme-challenge/{token}"), names[0].clone()),
            (format!("/.well-known/acme-challenge/{token}?x=1"), names[0].clone()),
            (format!("/.well-known/acme-challenge/{}", word(&mut rng, 12)), names[0].clone()),
        ];
        for _ in 0..12 {
            let name = names[rng.usize(..names.len())].clone();
            let host = match rng.u8(..3) {
                0 => name,
                1 => format!("{name}:PORT"),
                _ => name.to_ascii_uppercase(),
            };
            let path = match rng.u8(..4) {
                0 => "/".to_string(),
                1 => format!("/{}", word(&mut rng, 5)),
                2 => format!("/{}/{}/", word(&mut rng, 3), word(&mut rng, 4)),
                _ => format!("/{}/%7E{}", word(&mut rng, 4), word(&mut rng, 2)),
            };
            let query = match rng.u8(..3) {
                0 => String::new(),
                1 => format!("?{}={}", word(&mut rng, 3), word(&mut rng, 5)),
                _ => format!("?{}={}&{}=&x=%20y", word(&mut rng, 2), rng.u32(..), word(&mut rng, 3)),
            };
            requests.push((format!("{path}{query}"), host));
        }
        for (target, host) in &requests {
            let theirs = port80(nginx.plain, nginx.tls.port(), target, host).await;
            let ours = port80(reference.plain, reference.tls.port(), target, host).await;
            assert_eq!(
                ours, theirs,
                "seed {seed}, round {round}: GET {target} with Host: {host} on port 80: the reference answered the left, nginx the right"
            );
            compared += 1;
        }
    }
    eprintln!("06-tls nginx agreement: {compared} questions, the same answers (seed {seed})");
}
