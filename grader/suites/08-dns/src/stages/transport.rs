//! TCP answers like UDP; an answer too big for 512 bytes is truncated over
//! UDP (TC) and complete over TCP.

use std::sync::Arc;

use harness::{fail, CheckResult, Ctx};
use hickory_proto::op::{Message, OpCode};
use hickory_proto::rr::{DNSClass, RecordType};

use crate::cases::{compare, Ask};
use crate::servers::{start, write_zone};
use crate::wire::{self, Via};
use crate::zonegen::{self, mixed_case, TYPES};

/// Questions of every kind over TCP.
pub async fn tcp(mut cx: Ctx) -> CheckResult {
    let zone = zonegen::random(cx.rng());
    let text = Arc::new(zone.text.clone());
    let mut names = zone.names();
    names.push(zone.missing(cx.rng()));
    let mut asks = Vec::new();
    for name in names {
        let t = TYPES[cx.rng().usize(0..TYPES.len())];
        let asked = mixed_case(cx.rng(), &name);
        asks.push(Ask::new(&text, &asked, t, Via::Tcp));
    }
    let yours = compare(&cx, &zone, "Over TCP a question comes after a two-byte length, and so does its answer; the answer is the one UDP would give. Several questions may come one after the other on one connection.", asks).await?;
    // Several questions on one connection.
    let (name, types) = zone.data[0].clone();
    let packet = wire::question(7, &name, types[0], DNSClass::IN, OpCode::Query);
    let mut framed = Vec::new();
    for _ in 0..3 {
        framed.extend_from_slice(&(packet.len() as u16).to_be_bytes());
        framed.extend_from_slice(&packet);
    }
    let answers = pipelined(yours.addr, &framed, 3, cx.step_timeout()).await;
    if answers != 3 {
        fail!("three questions sent one after the other on one TCP connection got {answers} answers: keep reading questions from a connection until the client closes it");
    }
    Ok(())
}

async fn pipelined(addr: std::net::SocketAddr, framed: &[u8], want: usize, limit: std::time::Duration) -> usize {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let work = async {
        let mut got = 0;
        let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else { return 0 };
        if s.write_all(framed).await.is_err() {
            return 0;
        }
        while got < want {
            let mut len = [0u8; 2];
            if s.read_exact(&mut len).await.is_err() {
                break;
            }
            let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
            if s.read_exact(&mut body).await.is_err() {
                break;
            }
            got += 1;
        }
        got
    };
    tokio::time::timeout(limit, work).await.unwrap_or(0)
}

/// The big RRset: TC over UDP, every record over TCP.
pub async fn truncation(mut cx: Ctx) -> CheckResult {
    let zone = zonegen::random(cx.rng());
    let text = Arc::new(zone.text.clone());
    let big = zone.big.clone();
    let file = write_zone(&zone.text)?;
    let server = start(&cx, cx.subject(), &file.path).await?;
    // The flag itself, whatever else the answer holds.
    let id = cx.rng().u16(..);
    let packet = wire::question(id, &big, RecordType::TXT, DNSClass::IN, OpCode::Query);
    let answer =
        wire::exchange(server.addr, Via::Udp, &packet, cx.step_timeout()).await.map_err(harness::Failure::new)?;
    let ask = Ask::new(&text, &big, RecordType::TXT, Via::Udp);
    match answer.as_deref().map(Message::from_vec) {
        Some(Ok(m)) if m.truncated() => {}
        Some(Ok(_)) => fail!("`{}` answered without the TC flag: an answer over UDP is at most 512 bytes; when the whole answer does not fit, send the header and question with TC set, and the client asks again over TCP", ask.dig()),
        _ => fail!("`{}` got no answer that decodes: an answer too big for UDP is still an answer, with the TC flag set", ask.dig()),
    }
    drop(server);
    let asks = vec![
        Ask::new(&text, &big, RecordType::TXT, Via::Tcp),
        Ask::new(&text, &mixed_case(cx.rng(), &big), RecordType::TXT, Via::Udp),
        Ask::new(&text, &big, RecordType::A, Via::Udp),
        Ask::new(&text, &zone.edge, RecordType::TXT, Via::Udp),
        Ask::new(&text, &zone.origin, RecordType::SOA, Via::Udp),
    ];
    compare(&cx, &zone, "Over UDP an answer is at most 512 bytes: one that does not fit is sent as the header and question with the TC flag, and the client asks again over TCP, where the whole answer goes. Answers that fit are never truncated.", asks).await.map(drop)
}
