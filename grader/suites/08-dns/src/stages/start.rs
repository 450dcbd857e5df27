//! The server starts, prints its address and answers on UDP and TCP.

use std::time::Duration;

use harness::process::{Proc, Spawn};
use harness::{fail, CheckResult, Ctx};
use hickory_proto::op::{Message, MessageType, OpCode};
use hickory_proto::rr::{DNSClass, RecordType};

use crate::servers::{start, write_zone};
use crate::wire::{self, Via};
use crate::zonegen;

pub async fn listens(mut cx: Ctx) -> CheckResult {
    let zone = zonegen::random(cx.rng());
    let file = write_zone(&zone.text)?;
    let server = start(&cx, cx.subject(), &file.path).await?;
    for via in [Via::Udp, Via::Tcp] {
        let id = cx.rng().u16(..);
        let packet = wire::question(id, &zone.origin, RecordType::SOA, DNSClass::IN, OpCode::Query);
        let dig = format!(
            "dig @127.0.0.1 -p 8053 +norec {} {} SOA",
            if via == Via::Tcp { "+tcp" } else { "+notcp" },
            zone.origin
        );
        let answer = match wire::exchange(server.addr, via, &packet, cx.step_timeout()).await {
            Ok(Some(a)) => a,
            Ok(None) => fail!("no answer over {via:?} within {} s to `{dig}`: receive the question, answer it, send the answer back to the address it came from", cx.step_timeout().as_secs()),
            Err(e) => fail!("asking over {via:?} failed: {e}"),
        };
        let Ok(m) = Message::from_vec(&answer) else {
            fail!("the answer over {via:?} to `{dig}` is not a DNS message: encode it with Message::to_vec");
        };
        if m.id() != id || m.message_type() != MessageType::Response {
            fail!(
                "the answer over {via:?} to `{dig}` has id {} (the question's was {id}) and QR {}: an answer carries the question's id and the QR bit set",
                m.id(),
                m.message_type() == MessageType::Response
            );
        }
    }
    Ok(())
}

/// A port whose TCP side is taken: a clear error and exit code 1, soon.
pub async fn port_taken(mut cx: Ctx) -> CheckResult {
    let zone = zonegen::random(cx.rng());
    let file = write_zone(&zone.text)?;
    // TCP held, UDP free: the server gets its UDP socket, then must give up.
    let holder = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| harness::Failure::new(format!("bind: {e}")))?;
    let port = holder.local_addr().map_err(|e| harness::Failure::new(format!("addr: {e}")))?.port();
    let spec = Spawn::default()
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("ZONE_FILE", file.path.to_string_lossy().into_owned());
    let mut proc = Proc::start(&cx, cx.subject(), &spec)?;
    let Some(exited) = proc.wait_exit(Duration::from_secs(10)).await else {
        fail!("with TCP port {port} taken by another program, your server was still running after 10 s: when a bind fails for a PORT that was given (not 0), print why and exit with code 1; retry only when PORT=0 let the system pick");
    };
    if exited.code != Some(1) || !exited.output.contains(&port.to_string()) {
        return Err(harness::Failure::new(format!(
            "with TCP port {port} taken by another program, your server must exit with code 1 and a message naming the port; it exited with {:?}",
            exited.code
        ))
        .with_output(exited.output));
    }
    drop(holder);
    Ok(())
}
