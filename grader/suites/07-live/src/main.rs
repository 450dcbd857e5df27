//! Hidden suite of 07-live. The student's server runs as its own process on
//! a free port, on a fresh database file, with a seed file of random users,
//! tokens and posts and a random list of allowed origins; it is graded only
//! through real sockets: WebSocket handshakes and frames (tokio-tungstenite,
//! or raw bytes where a library would be too polite), HTTP likes, signals,
//! and a real browser. `random.sequences` plays random sequences against
//! the reference too and compares what every socket received.

mod api;
mod fixture;
mod stages;
mod storm;
mod world;
mod ws;

use stages::{browser, handshake, limits, push, random, replay, shutdown};

fn main() -> std::process::ExitCode {
    harness::Suite::new("07-live", env!("CARGO_MANIFEST_DIR"))
        .subject_bin("live")
        .check("handshake.open", handshake::open)
        .check("handshake.auth", handshake::auth)
        .check("handshake.origin", handshake::origin)
        .check("handshake.after", handshake::after)
        .check("push.owner", push::owner)
        .check("push.real_only", push::real_only)
        .check("push.every_socket", push::every_socket)
        .check("push.exactly_once", push::exactly_once)
        .check("replay.after", replay::after)
        .check("replay.storm", replay::storm)
        .check("limits.slow_reader", limits::slow_reader)
        .check("limits.heartbeat", limits::heartbeat)
        .check("limits.bad_input", limits::bad_input)
        .check("shutdown.sigterm", shutdown::sigterm)
        .check("random.sequences", random::sequences)
        .check("browser.push", browser::push)
        .check("browser.refused", browser::refused)
        .main()
}
