//! The server starts, prints its address and answers on UDP and TCP.

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
