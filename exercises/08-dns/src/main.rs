//! Exercise 08-dns: an authoritative DNS server for the kit's zone.
//!
//! It reads one zone from a zone file (ZONE_FILE, default
//! src/zones/kit.zone), answers over UDP and TCP on the same port (HOST,
//! PORT, default 127.0.0.1:8053) and prints `listening on dns://ADDR` once
//! both accept. Try it: `cargo run -p dns`, then
//! `dig @127.0.0.1 -p 8053 backend-demo.xyz A`.
//!
//! Read `docs/src/08-dns.md` first; every `todo!()` names the part of that
//! chapter it belongs to. Given: the zone file parser (zone.rs), the socket
//! loops (server.rs) and the wire format (the hickory-proto crate). Yours:
//! the lookup rules (lookup.rs), what to send back for a packet
//! (server::reply) and binding the port (bind, below).

// While functions are still `todo!()`, their arguments and some helpers are
// unused and the compiler would warn about each one. Delete this line when
// you are done: the warnings it then shows point at leftovers.
#![allow(dead_code, unused_variables, unused_imports)]

mod lookup;
mod server;
mod zone;

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use tokio::net::{TcpListener, UdpSocket};

use zone::Zone;

const DEFAULT_PORT: u16 = 8053;
const DEFAULT_ZONE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/zones/kit.zone");

#[tokio::main]
async fn main() -> ExitCode {
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".to_string());
    let port = match std::env::var("PORT") {
        Err(_) => DEFAULT_PORT,
        Ok(text) => match text.parse::<u16>() {
            Ok(p) => p,
            Err(_) => {
                eprintln!("error: PORT must be a number from 0 to 65535, not `{text}`");
                return ExitCode::from(2);
            }
        },
    };
    let path = std::env::var("ZONE_FILE").unwrap_or_else(|_| DEFAULT_ZONE.to_string());
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read the zone file {path}: {e} (set ZONE_FILE to a zone file)");
            return ExitCode::from(2);
        }
    };
    let zone = match Zone::parse(&text, &path) {
        Ok(z) => Arc::new(z),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let (udp, tcp) = match bind(&host, port).await {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("error: cannot listen on {host}:{port} (UDP and TCP): {e}; pick another port with PORT=...");
            return ExitCode::from(1);
        }
    };
    let addr = tcp.local_addr().expect("a bound listener has an address");
    println!("listening on dns://{addr}");
    let _ = std::io::stdout().flush();
    tokio::spawn(server::serve_udp(udp, zone.clone()));
    server::serve_tcp(tcp, zone).await;
    ExitCode::SUCCESS
}

/// A UDP socket and a TCP listener on the same address. With port 0 the
/// system picks the UDP port, and TCP may find that number taken: then
/// another pick, a few times.
async fn bind(host: &str, port: u16) -> std::io::Result<(UdpSocket, TcpListener)> {
    let addr: SocketAddr = format!("{host}:{port}")
        .parse()
        .or_else(|_| format!("[{host}]:{port}").parse())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("`{host}` is not an IP address")))?;
    todo!("bind a UdpSocket, then a TcpListener on the same address and port (docs/src/08-dns.md, \"One port, two transports\")")
}
