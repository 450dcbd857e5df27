//! Hidden suite of 06-tls. The student's program runs as its own process on
//! two free ports (PORT for port 80, TLS_PORT for 443), with a Certbot
//! folder this suite fills for each check: a certificate authority made for
//! the run (random names, random serials), site certificates in
//! `live/<name>/`, and clients that trust that root only. Behind it, an app
//! that answers with the request it received.
//!
//! This file only registers the checks: they live in `stages/`, one module
//! per stage, and what they share in `fixtures.rs`.

mod fixtures;
mod pki;
mod stages;
mod tlsclient;
mod upstream;

use std::process::ExitCode;

use stages::{certs, handshake, port80, proxy, reload, snapshot, start, tools};

fn main() -> ExitCode {
    harness::Suite::new("06-tls", env!("CARGO_MANIFEST_DIR"))
        .subject_bin("tls")
        .check("start.proxies", start::proxies)
        .check("certs.per_sni", certs::per_sni)
        .check("certs.chain", certs::chain)
        .check("certs.default_site", certs::default_site)
        .check("certs.bad_files", certs::bad_files)
        .check("handshake.versions", handshake::versions)
        .check("handshake.alpn", handshake::alpn)
        .check("handshake.others_not_blocked", handshake::others_not_blocked)
        .check("handshake.plain_http", handshake::plain_http)
        .check("proxy.headers", proxy::headers)
        .check("proxy.hsts", proxy::hsts)
        .check("port80.challenge", port80::challenge)
        .check("port80.challenge_only_on_80", port80::challenge_only_on_80)
        .check("port80.redirect", port80::redirect)
        .check("reload.renewed", reload::renewed)
        .check("reload.failed_keeps_old", reload::failed_keeps_old)
        .check("tools.curl", tools::curl)
        .check("tools.openssl", tools::openssl)
        .check("snapshot.exchange", snapshot::exchange)
        .main()
}
