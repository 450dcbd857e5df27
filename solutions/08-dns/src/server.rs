//! The two transports on one port: UDP, one datagram per message, at most
//! 512 bytes back; TCP, each message after a two-byte length, any size
//! (docs/src/08-dns.md, "One port, two transports").

use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Header, Message, MessageType, ResponseCode};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use crate::lookup;
use crate::zone::Zone;

/// The largest answer a UDP datagram carries without EDNS (RFC 1035 4.2.1).
pub const UDP_LIMIT: usize = 512;

/// A TCP client that sends nothing for this long is disconnected, so idle
/// connections cannot pile up.
const TCP_IDLE: Duration = Duration::from_secs(10);

/// How a message arrived, which decides how big the answer may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// The bytes to send back for the bytes received, or `None` for silence.
pub fn reply(zone: &Zone, packet: &[u8], transport: Transport) -> Option<Vec<u8>> {
    // Fewer than 12 bytes is not even a header: nobody to answer.
    let header = Header::read(&mut BinDecoder::new(packet)).ok()?;
    if header.message_type() == MessageType::Response {
        // Answering a response could start two servers talking forever.
        return None;
    }
    let response = match Message::from_vec(packet) {
        Ok(request) if request.queries().len() == 1 => lookup::answer(zone, &request),
        _ => format_error(&header),
    };
    let bytes = response.to_vec().ok()?;
    if transport == Transport::Udp && bytes.len() > UDP_LIMIT {
        return truncated(&response).to_vec().ok();
    }
    Some(bytes)
}

/// FORMERR: the request's id and opcode, nothing else we could not read.
fn format_error(header: &Header) -> Message {
    let mut response = Message::new();
    response
        .set_id(header.id())
        .set_message_type(MessageType::Response)
        .set_op_code(header.op_code())
        .set_recursion_desired(header.recursion_desired())
        .set_response_code(ResponseCode::FormErr);
    response
}

/// The header and question of `response` with TC set and no records: the
/// client asks again over TCP for the whole answer.
fn truncated(response: &Message) -> Message {
    let mut short = Message::new();
    short.set_header(*response.header());
    short.add_queries(response.queries().iter().cloned());
    short.set_truncated(true);
    short
}

/// Answer datagrams until the socket fails.
pub async fn serve_udp(socket: UdpSocket, zone: Arc<Zone>) {
    let mut buf = vec![0u8; 65_535];
    loop {
        let Ok((len, peer)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        if let Some(answer) = reply(&zone, &buf[..len], Transport::Udp) {
            let _ = socket.send_to(&answer, peer).await;
        }
    }
}

/// Accept connections, each served by a task of its own so that a slow or
/// silent client never holds up the others.
pub async fn serve_tcp(listener: TcpListener, zone: Arc<Zone>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(serve_connection(stream, zone.clone()));
    }
}

/// Messages on one connection, one after the other, each after its length.
async fn serve_connection(mut stream: TcpStream, zone: Arc<Zone>) {
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut len)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        let mut packet = vec![0u8; u16::from_be_bytes(len) as usize];
        match tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut packet)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        let Some(answer) = reply(&zone, &packet, Transport::Tcp) else {
            continue;
        };
        let Ok(size) = u16::try_from(answer.len()) else {
            return;
        };
        let mut framed = Vec::with_capacity(answer.len() + 2);
        framed.extend_from_slice(&size.to_be_bytes());
        framed.extend_from_slice(&answer);
        if stream.write_all(&framed).await.is_err() {
            return;
        }
    }
}
