//! Packets that are not questions: FORMERR or silence, never a crash, and
//! never a server that stops answering the others.

use std::time::Duration;

use harness::{fail, CheckResult, Ctx, Failure};
use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, RecordType};
use tokio::io::AsyncWriteExt;

use crate::servers::{start, write_zone, Dns};
use crate::wire::{self, Via};
use crate::zonegen;

/// What a malformed packet may get back: nothing, or FORMERR with its id.
fn acceptable(packet: &[u8], answer: &Option<Vec<u8>>) -> Result<(), String> {
    let Some(bytes) = answer else { return Ok(()) };
    let Ok(m) = Message::from_vec(bytes) else {
        return Err("an answer that is not a DNS message".to_string());
    };
    let id = u16::from_be_bytes([packet[0], packet[1]]);
    if m.id() != id {
        return Err(format!("an answer with id {} instead of the packet's {id}", m.id()));
    }
    if m.response_code() != ResponseCode::FormErr {
        return Err(format!("{} instead of FORMERR", m.response_code()));
    }
    Ok(())
}

/// Still answering a good question after the packets so far?
async fn still_answers(cx: &Ctx, server: &Dns, zone: &zonegen::Zone, after: &str) -> CheckResult {
    for via in [Via::Udp, Via::Tcp] {
        let packet = wire::question(4242, &zone.origin, RecordType::SOA, DNSClass::IN, OpCode::Query);
        let answer = wire::exchange(server.addr, via, &packet, cx.step_timeout()).await;
        let ok = matches!(&answer, Ok(Some(a)) if Message::from_vec(a).is_ok_and(|m| m.id() == 4242 && m.answer_count() > 0));
        if !ok {
            return Err(Failure::new(format!(
                "after {after}, your server no longer answers `dig @127.0.0.1 -p 8053 +{} {} SOA`: one bad packet must never stop the server (no unwrap on what a client sends) nor block the others",
                if via == Via::Tcp { "tcp" } else { "notcp" },
                zone.origin
            ))
            .with_output(server.proc.output()));
        }
    }
    Ok(())
}

fn hex(p: &[u8]) -> String {
    p.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join("")
}

/// Headers with impossible contents: FORMERR or silence.
pub async fn malformed(mut cx: Ctx) -> CheckResult {
    let zone = zonegen::random(cx.rng());
    let file = write_zone(&zone.text)?;
    let server = start(&cx, cx.subject(), &file.path).await?;
    let good = wire::question(cx.rng().u16(..), &zone.origin, RecordType::A, DNSClass::IN, OpCode::Query);
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    // A header that promises a question and nothing after it.
    cases.push(("a header promising a question, with nothing after it", good[..12].to_vec()));
    // The question cut in the middle of its name.
    cases.push(("a question cut in the middle of its name", good[..good.len() - 6].to_vec()));
    // Two questions announced, one sent.
    let mut two = good.clone();
    two[5] = 2;
    cases.push(("a header announcing two questions, with one", two));
    // Two whole questions: a server answers exactly one.
    let mut m = hickory_proto::op::Message::from_vec(&good).map_err(|e| Failure::new(e.to_string()))?;
    let again = m.queries()[0].clone();
    m.add_query(again);
    cases.push((
        "a message with two questions (a server answers exactly one)",
        m.to_vec().map_err(|e| Failure::new(e.to_string()))?,
    ));
    // No question at all.
    let mut none = good[..12].to_vec();
    none[5] = 0;
    cases.push(("a header with no question", none));
    // A name pointing at itself.
    let mut pointer = good[..12].to_vec();
    pointer.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    cases.push(("a name that is a compression pointer to itself", pointer));
    for (what, packet) in &cases {
        let answer =
            wire::exchange(server.addr, Via::Udp, packet, Duration::from_millis(300)).await.map_err(Failure::new)?;
        if let Err(e) = acceptable(packet, &answer) {
            fail!(
                "{what} (the bytes {}) got {e}: a packet that is not one readable question gets FORMERR with its id, or no answer at all",
                hex(packet)
            );
        }
    }
    still_answers(&cx, &server, &zone, "those packets").await?;
    // A response is never answered: two servers would answer each other forever.
    let mut response = good.clone();
    response[2] |= 0x80;
    let answer =
        wire::exchange(server.addr, Via::Udp, &response, Duration::from_millis(300)).await.map_err(Failure::new)?;
    if answer.is_some() {
        fail!("a packet with the QR bit set (a response, not a question: {}) got an answer: never answer a response, or two servers could answer each other forever", hex(&response));
    }
    Ok(())
}

/// Random bytes, cut and flipped questions over UDP and TCP, and a client
/// that stalls mid-message: the server answers the others all along.
pub async fn fuzz(mut cx: Ctx) -> CheckResult {
    let zone = zonegen::random(cx.rng());
    let file = write_zone(&zone.text)?;
    let server = start(&cx, cx.subject(), &file.path).await?;
    // A client that sends one byte of a length and then nothing.
    let mut stalled =
        tokio::net::TcpStream::connect(server.addr).await.map_err(|e| Failure::new(format!("TCP connect: {e}")))?;
    let _ = stalled.write_all(&[0]).await;
    let names = zone.names();
    for round in 0..8 {
        for _ in 0..25 {
            let name = names[cx.rng().usize(0..names.len())].clone();
            let mut packet = wire::question(cx.rng().u16(..), &name, RecordType::A, DNSClass::IN, OpCode::Query);
            match cx.rng().u8(0..4) {
                0 => packet = (0..cx.rng().usize(0..80)).map(|_| cx.rng().u8(..)).collect(),
                1 => packet.truncate(cx.rng().usize(0..packet.len())),
                _ => {
                    for _ in 0..cx.rng().usize(1..4) {
                        let i = cx.rng().usize(0..packet.len());
                        packet[i] ^= 1 << cx.rng().u8(0..8);
                    }
                }
            }
            let via = if cx.rng().u8(0..4) == 0 { Via::Tcp } else { Via::Udp };
            // Only the server's survival is judged here; the answer, if any, may be anything.
            let _ = wire::exchange(server.addr, via, &packet, Duration::from_millis(20)).await;
        }
        still_answers(
            &cx,
            &server,
            &zone,
            &format!("{} random, cut and flipped packets (seed {})", (round + 1) * 25, cx.seed()),
        )
        .await?;
    }
    drop(stalled);
    Ok(())
}
