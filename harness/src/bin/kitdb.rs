//! The pool exercise's database server, by hand:
//!
//! ```sh
//! cargo run -p harness --bin kitdb -- --port 5433 --max-connections 20 --connect-cost-ms 30
//! ```
//!
//! Then talk to it with `nc 127.0.0.1 5433` (type `HELLO app secret`, then
//! `QUERY hello`), or point the pool exercise's demo server at it. The
//! protocol is described in `harness/src/db.rs` and in the book's chapter 03.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use harness::db::{Db, DbConfig, Stats};

const USAGE: &str = "usage: kitdb [--host 127.0.0.1] [--port 5433] [--max-connections 100] \
[--connect-cost-ms 30] [--query-cost-ms 0] [--password SECRET]";

struct Args {
    addr: SocketAddr,
    config: DbConfig,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut host: IpAddr = [127, 0, 0, 1].into();
    let mut port: u16 = 5433;
    let mut config = DbConfig::default();
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.to_string());
        }
        const FLAGS: [&str; 6] =
            ["--host", "--port", "--max-connections", "--connect-cost-ms", "--query-cost-ms", "--password"];
        if !FLAGS.contains(&flag.as_str()) {
            return Err(format!("unknown flag {flag}\n{USAGE}"));
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = || value.parse::<u64>().map_err(|_| format!("{flag} wants a number, not {value:?}"));
        match flag.as_str() {
            "--host" => host = value.parse().map_err(|_| format!("--host wants an IP address, not {value:?}"))?,
            "--port" => port = value.parse().map_err(|_| format!("--port wants a port number, not {value:?}"))?,
            "--max-connections" => config.max_connections = number()? as usize,
            "--connect-cost-ms" => config.connect_cost = Duration::from_millis(number()?),
            "--query-cost-ms" => config.query_cost = Duration::from_millis(number()?),
            "--password" => config.password = Some(value),
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    Ok(Args { addr: SocketAddr::new(host, port), config })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let db = match Db::bind(args.addr, args.config.clone()).await {
        Ok(db) => db,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e} (pick another port with --port)", args.addr);
            return ExitCode::FAILURE;
        }
    };
    println!(
        "listening on {} (max_connections {}, connect cost {} ms, query cost {} ms)",
        db.addr(),
        args.config.max_connections,
        args.config.connect_cost.as_millis(),
        args.config.query_cost.as_millis()
    );
    // Print the counters whenever they change, at most once a second.
    let mut last = Stats::default();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = db.stats();
        if now != last {
            println!(
                "opened {} · open now {} · peak {} · refused {} · queries {}",
                now.opened, now.open, now.peak, now.refused, now.queries
            );
            last = now;
        }
    }
}
