//! Hidden suite of 02-proxy. The student's proxy runs as its own process on
//! two free ports (PORT for `listen 80`, TLS_PORT for `listen 443 ssl`) with
//! a rule file this suite writes under a random name, in front of upstream
//! apps the suite starts on free ports. Domains and paths are random, so a
//! proxy with hard-coded routes fails; the `*.random` checks and
//! `errors.upstreams` give random rule files and requests to your proxy and
//! to the reference, and compare the answers.
//!
//! This file only registers the checks: they live in `stages/`, one module
//! per stage, and what they share in `fixtures.rs`.

mod cases;
mod echo;
mod fixtures;
mod stages;

use std::process::ExitCode;

use stages::{errors, headers, hosts, locations, passthrough, redirect, scenario, snapshot, start, uri};

fn main() -> ExitCode {
    harness::Suite::new("02-proxy", env!("CARGO_MANIFEST_DIR"))
        .subject_bin("proxy")
        .check("start.proxies", start::proxies)
        .check("hosts.names", hosts::names)
        .check("hosts.port_stripped", hosts::port_stripped)
        .check("hosts.random", hosts::random)
        .check("locations.order", locations::order)
        .check("locations.longest_prefix", locations::longest_prefix)
        .check("locations.random", locations::random)
        .check("uri.replace_prefix", uri::replace_prefix)
        .check("uri.as_sent", uri::as_sent)
        .check("uri.random", uri::random)
        .check("redirect.https", redirect::https)
        .check("headers.forwarded", headers::forwarded)
        .check("headers.hop_by_hop", headers::hop_by_hop)
        .check("headers.random", headers::random)
        .check("passthrough.body_and_status", passthrough::body_and_status)
        .check("errors.bad_gateway", errors::bad_gateway)
        .check("errors.timeout", errors::timeout)
        .check("errors.upstreams", errors::upstreams)
        .check("errors.rule_file", errors::rule_file)
        .check("snapshot.forwarded_request", snapshot::forwarded_request)
        .check("snapshot.client_response", snapshot::client_response)
        .check("scenario.demo_rules", scenario::demo_rules)
        .main()
}
