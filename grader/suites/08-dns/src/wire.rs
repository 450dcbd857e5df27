//! A small DNS client: questions built and answers read with hickory-proto,
//! sent over real UDP and TCP, and answers rendered as text for diffs.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{DNSClass, Name, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// How a question travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Udp,
    Tcp,
}

/// The bytes of a question for `name` (kept in the case given) and `qtype`.
pub fn question(id: u16, name: &str, qtype: RecordType, class: DNSClass, op: OpCode) -> Vec<u8> {
    let mut m = Message::new();
    m.set_id(id).set_message_type(MessageType::Query).set_op_code(op).set_recursion_desired(false);
    let name = Name::from_ascii(name).unwrap_or_else(|_| Name::root());
    let mut q = Query::query(name, qtype);
    q.set_query_class(class);
    m.add_query(q);
    m.to_vec().expect("a question encodes")
}

/// Send `packet` and wait for one answer: `Ok(None)` is silence (nothing
/// within `limit`, or a TCP connection closed without an answer).
pub async fn exchange(addr: SocketAddr, via: Via, packet: &[u8], limit: Duration) -> Result<Option<Vec<u8>>, String> {
    match via {
        Via::Udp => {
            let socket = UdpSocket::bind("127.0.0.1:0").await.map_err(|e| format!("no UDP socket: {e}"))?;
            socket.connect(addr).await.map_err(|e| format!("UDP connect to {addr}: {e}"))?;
            socket.send(packet).await.map_err(|e| format!("UDP send to {addr}: {e}"))?;
            let mut buf = vec![0u8; 65_535];
            match tokio::time::timeout(limit, socket.recv(&mut buf)).await {
                Err(_) => Ok(None),
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    Err(format!("nothing listens on UDP {addr} (the datagram was refused)"))
                }
                Ok(Err(e)) => Err(format!("UDP receive: {e}")),
                Ok(Ok(n)) => Ok(Some(buf[..n].to_vec())),
            }
        }
        Via::Tcp => {
            let mut stream = tokio::time::timeout(limit, TcpStream::connect(addr))
                .await
                .map_err(|_| format!("TCP connect to {addr} took over {} s", limit.as_secs()))?
                .map_err(|e| format!("TCP connect to {addr}: {e}"))?;
            let mut framed = (packet.len() as u16).to_be_bytes().to_vec();
            framed.extend_from_slice(packet);
            stream.write_all(&framed).await.map_err(|e| format!("TCP send: {e}"))?;
            let read = async {
                let mut len = [0u8; 2];
                stream.read_exact(&mut len).await.ok()?;
                let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
                stream.read_exact(&mut body).await.ok()?;
                Some(body)
            };
            Ok(tokio::time::timeout(limit, read).await.ok().flatten())
        }
    }
}

/// An answer as text for a diff: header, question, then the answer and
/// authority sections with their records sorted (their order means
/// nothing). `lower` lower-cases names (comparing with another server's
/// compression); a truncated answer shows no sections, since the client
/// asks again over TCP.
pub fn render(answer: &Option<Vec<u8>>, id: u16, lower: bool) -> String {
    let Some(bytes) = answer else {
        return "no answer".to_string();
    };
    let m = match Message::from_vec(bytes) {
        Ok(m) => m,
        Err(e) => return format!("an answer that does not decode ({e}): {}", hex(bytes)),
    };
    let mut out = String::new();
    if m.id() != id {
        let _ = writeln!(out, "id {} (the question's was {id})", m.id());
    }
    let flags = [
        (m.message_type() == MessageType::Response, "qr"),
        (m.authoritative(), "aa"),
        (m.truncated(), "tc"),
        (m.recursion_desired(), "rd"),
        (m.recursion_available(), "ra"),
    ];
    let flags: Vec<&str> = flags.iter().filter(|(on, _)| *on).map(|(_, f)| *f).collect();
    let _ = writeln!(out, "{} {}, flags: {}", m.op_code(), m.response_code(), flags.join(" "));
    for q in m.queries() {
        let name = if lower { q.name().to_lowercase().to_string() } else { q.name().to_string() };
        let _ = writeln!(out, "question: {name} {} {}", q.query_class(), q.query_type());
    }
    if m.truncated() {
        return out;
    }
    for (title, records) in [("answer", m.answers()), ("authority", m.name_servers())] {
        let mut lines: Vec<String> = records.iter().map(|r| record(r, lower)).collect();
        lines.sort();
        let _ = writeln!(out, "{title}:{}", if lines.is_empty() { " (none)" } else { "" });
        for l in lines {
            let _ = writeln!(out, "  {l}");
        }
    }
    out
}

pub fn record(r: &Record, lower: bool) -> String {
    let text = format!("{} {} {} {} {}", r.name(), r.ttl(), r.dns_class(), r.record_type(), r.data());
    if lower {
        text.to_lowercase()
    } else {
        text
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().take(64).map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}
