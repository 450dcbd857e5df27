//! dig, the tool the chapter uses, as a black-box client: what it prints
//! about your server is what it prints about the reference.

use std::net::SocketAddr;
use std::sync::Arc;

use harness::{CheckResult, Ctx, Failure};

use crate::cases::Ask;
use crate::servers::{start, write_zone};
use crate::wire::Via;
use crate::zonegen::{self, mixed_case, TYPES};

/// dig's output without what changes from run to run (id, timing, server),
/// records sorted within their section.
fn normalise(out: &str) -> String {
    let mut lines = Vec::new();
    let mut section: Vec<String> = Vec::new();
    let flush = |section: &mut Vec<String>, lines: &mut Vec<String>| {
        section.sort();
        lines.append(section);
    };
    for line in out.lines() {
        let line = line.trim_end();
        if let Some(rest) = line.strip_prefix(";; ->>HEADER<<- ") {
            lines.push(rest.split(", id:").next().unwrap_or(rest).to_string());
        } else if let Some(rest) = line.strip_prefix(";; flags: ") {
            lines.push(format!("flags: {}", rest.split(';').next().unwrap_or(rest)));
        } else if line.starts_with(";; ") && line.ends_with("SECTION:") && !line.contains("OPT") {
            flush(&mut section, &mut lines);
            lines.push(line.trim_start_matches(";; ").to_string());
        } else if line.starts_with(';') || line.is_empty() {
            continue;
        } else {
            section.push(line.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    flush(&mut section, &mut lines);
    lines.join("\n")
}

async fn dig(addr: SocketAddr, ask: &Ask) -> Result<String, Failure> {
    let mut cmd = tokio::process::Command::new("dig");
    cmd.arg(format!("@{}", addr.ip())).arg("-p").arg(addr.port().to_string()).args(["+norec", "+tries=1", "+time=3"]);
    if ask.via == Via::Tcp {
        cmd.arg("+tcp");
    }
    cmd.arg(&ask.name).arg(ask.qtype.to_string()).kill_on_drop(true);
    let out = cmd.output().await.map_err(|e| Failure::new(format!("could not run dig: {e}")))?;
    Ok(normalise(&String::from_utf8_lossy(&out.stdout)))
}

pub async fn blackbox(mut cx: Ctx) -> CheckResult {
    if std::process::Command::new("dig").arg("-v").output().is_err() {
        harness::skip!("dig is not installed (Debian: apt-get install dnsutils); this check asks your server with it");
    }
    let zone = zonegen::random(cx.rng());
    let text = Arc::new(zone.text.clone());
    let mut names = zone.names();
    names.push(zone.missing(cx.rng()));
    cx.rng().shuffle(&mut names);
    let mut asks: Vec<Ask> = Vec::new();
    for name in names.into_iter().take(8) {
        let t = TYPES[cx.rng().usize(0..TYPES.len())];
        let via = if cx.rng().bool() { Via::Tcp } else { Via::Udp };
        asks.push(Ask::new(&text, &mixed_case(cx.rng(), &name), t, via));
    }
    // dig asks again over TCP itself when the UDP answer is truncated.
    asks.push(Ask::new(&text, &zone.big, hickory_proto::rr::RecordType::TXT, Via::Udp));
    let file = write_zone(&zone.text)?;
    // The reference first, stopped before your server starts (cases::compare says why).
    let mut expected = Vec::new();
    {
        let reference_bin = harness::differential::reference(&cx)?;
        let reference = start(&cx, reference_bin, &file.path).await.map_err(|f| {
            Failure::new(format!("the kit's reference solution did not start; please report it: {}", f.message()))
        })?;
        for ask in &asks {
            expected.push(dig(reference.addr, ask).await?);
        }
    }
    let yours = start(&cx, cx.subject(), &file.path).await?;
    for (ask, reference) in asks.iter().zip(expected) {
        let yours = dig(yours.addr, ask).await?;
        if yours != reference {
            let cmd = format!(
                "dig @127.0.0.1 -p 8053 +norec{} {} {}",
                if ask.via == Via::Tcp { " +tcp" } else { "" },
                ask.name,
                ask.qtype
            );
            return Err(Failure::new(
                "dig, a real DNS client, prints something else for your server than for the reference (ids, timings and record order aside): run the command below against your server and compare",
            )
            .with_request(format!("{cmd}\n\nwith ZONE_FILE=zone.txt PORT=8053 cargo run -p dns serving:\n\n{}", ask.zone))
            .with_diff("dig's output", reference, yours));
        }
    }
    Ok(())
}
