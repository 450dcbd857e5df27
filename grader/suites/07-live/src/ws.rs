//! The suite's WebSocket client: the handshake as a browser makes it
//! (Origin, the subprotocols `live` and `bearer.TOKEN`, `?after=ID`), the
//! pushes it receives, and how the connection ended. Also a raw client
//! that never answers a ping, for the heartbeat check.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use harness::http::shell_quote;
use harness::Failure;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

/// How a socket is opened.
#[derive(Debug, Clone, Default)]
pub struct Open {
    /// The `Origin` header; `None` sends none (not a browser).
    pub origin: Option<String>,
    /// The `Sec-WebSocket-Protocol` header as sent; `None` sends none.
    pub protocols: Option<String>,
    /// The query string after `?`, if any.
    pub query: Option<String>,
    /// A small receive buffer (the stalled reader's), in bytes.
    pub recv_buffer: Option<u32>,
}

impl Open {
    /// The way a browser page on `origin` opens the socket for `token`.
    pub fn browser(origin: &str, token: &str) -> Open {
        Open {
            origin: Some(origin.to_string()),
            protocols: Some(format!("live, bearer.{token}")),
            query: None,
            recv_buffer: None,
        }
    }

    pub fn after(mut self, id: i64) -> Open {
        self.query = Some(format!("after={id}"));
        self
    }

    pub fn target(&self) -> String {
        match &self.query {
            Some(q) => format!("/api/live?{q}"),
            None => "/api/live".to_string(),
        }
    }

    /// The handshake as a curl command that shows the server's answer.
    pub fn curl(&self, addr: SocketAddr) -> String {
        let mut cmd = String::from(
            "curl -i --max-time 3 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
             -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='",
        );
        if let Some(o) = &self.origin {
            cmd.push_str(&format!(" -H {}", shell_quote(&format!("Origin: {o}"))));
        }
        if let Some(p) = &self.protocols {
            cmd.push_str(&format!(" -H {}", shell_quote(&format!("Sec-WebSocket-Protocol: {p}"))));
        }
        cmd.push_str(&format!(" {}", shell_quote(&format!("http://{addr}{}", self.target()))));
        cmd
    }
}

/// What the server answered a handshake.
pub enum Handshake {
    /// 101: the socket is open. The selected subprotocol, if any.
    Open(Live, Option<String>),
    /// Any other status: no socket.
    Refused(u16, String),
}

/// An open socket.
pub struct Live {
    ws: WebSocketStream<TcpStream>,
}

/// One thing the socket delivered.
#[derive(Debug)]
pub enum Event {
    /// A text message: a notification, parsed (or the text if not JSON).
    Push(Value),
    /// A text message that is not JSON.
    NotJson(String),
    /// A binary message.
    Binary,
    /// A close frame with its code (none: a close frame without a code).
    Closed(Option<u16>),
    /// The connection ended without a close frame.
    Ended(String),
    /// Nothing within the limit.
    Silent,
}

impl Event {
    pub fn describe(&self) -> String {
        match self {
            Event::Push(v) => format!("the message {v}"),
            Event::NotJson(t) => format!("a text message that is not JSON: {t:?}"),
            Event::Binary => "a binary message".into(),
            Event::Closed(Some(c)) => format!("a close frame with code {c}"),
            Event::Closed(None) => "a close frame without a code".into(),
            Event::Ended(why) => format!("the connection ended without a close frame ({why})"),
            Event::Silent => "nothing".into(),
        }
    }
}

/// Open a socket to `addr` as `open` says.
pub async fn open(addr: SocketAddr, open: &Open, limit: Duration) -> Result<Handshake, Failure> {
    let fail = |why: String| Failure::new(why).with_request(open.curl(addr));
    let tcp = async {
        let socket = TcpSocket::new_v4()?;
        if let Some(size) = open.recv_buffer {
            socket.set_recv_buffer_size(size)?;
        }
        socket.connect(addr).await
    };
    let tcp = match tokio::time::timeout(limit, tcp).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => return Err(fail(format!("could not connect to {addr}: {e}"))),
        Err(_) => return Err(fail(format!("could not connect to {addr} within {} s", limit.as_secs()))),
    };
    let url = format!("ws://{addr}{}", open.target());
    let mut request = url.into_client_request().map_err(|e| fail(format!("bad request: {e}")))?;
    let headers = request.headers_mut();
    if let Some(o) = &open.origin {
        headers.insert("origin", HeaderValue::from_str(o).map_err(|e| fail(e.to_string()))?);
    }
    if let Some(p) = &open.protocols {
        headers.insert("sec-websocket-protocol", HeaderValue::from_str(p).map_err(|e| fail(e.to_string()))?);
    }
    match tokio::time::timeout(limit, tokio_tungstenite::client_async(request, tcp)).await {
        Err(_) => Err(fail(format!(
            "GET {} with a WebSocket handshake: no answer within {} s",
            open.target(),
            limit.as_secs()
        ))),
        Ok(Ok((ws, response))) => {
            let protocol =
                response.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()).map(str::to_string);
            Ok(Handshake::Open(Live { ws }, protocol))
        }
        Ok(Err(WsError::Http(response))) => {
            let body = response.body().as_deref().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
            Ok(Handshake::Refused(response.status().as_u16(), body))
        }
        Ok(Err(WsError::Protocol(e))) => Err(fail(format!(
            "GET {} with a WebSocket handshake: the answer is not a valid WebSocket handshake ({e}); \
             with the subprotocols `live, bearer.TOKEN` offered, a 101 must select `Sec-WebSocket-Protocol: live`",
            open.target()
        ))),
        Ok(Err(e)) => Err(fail(format!("GET {} with a WebSocket handshake failed: {e}", open.target()))),
    }
}

/// Open a socket that must open (101).
pub async fn must_open(addr: SocketAddr, how: &Open, limit: Duration) -> Result<Live, Failure> {
    match open(addr, how, limit).await? {
        Handshake::Open(live, _) => Ok(live),
        Handshake::Refused(status, body) => Err(Failure::new(format!(
            "GET {} with a WebSocket handshake from an allowed origin with a valid token must be accepted \
             (101 Switching Protocols), got {status}: {body}",
            how.target()
        ))
        .with_request(how.curl(addr))),
    }
}

impl Live {
    /// The next message or the end, waiting at most `limit`. Pings and
    /// pongs are not events (they are answered by reading).
    pub async fn next(&mut self, limit: Duration) -> Event {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let item = match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return Event::Silent,
                Ok(item) => item,
            };
            return match item {
                None => Event::Ended("the stream ended".into()),
                Some(Err(e)) => Event::Ended(e.to_string()),
                Some(Ok(Message::Text(t))) => match serde_json::from_str::<Value>(t.as_str()) {
                    Ok(v) => Event::Push(v),
                    Err(_) => Event::NotJson(t.as_str().to_string()),
                },
                Some(Ok(Message::Binary(_))) => Event::Binary,
                Some(Ok(Message::Close(frame))) => {
                    // Answer the close, as a browser does, so the server can
                    // finish its side.
                    let _ = tokio::time::timeout(Duration::from_millis(200), self.ws.flush()).await;
                    Event::Closed(frame.map(|f| u16::from(f.code)))
                }
                Some(Ok(_)) => continue,
            };
        }
    }

    /// Send a text message.
    pub async fn send_text(&mut self, text: String) -> Result<(), String> {
        tokio::time::timeout(Duration::from_secs(3), self.ws.send(Message::text(text)))
            .await
            .map_err(|_| "could not send within 3 s".to_string())?
            .map_err(|e| e.to_string())
    }

    /// Send a binary message.
    pub async fn send_binary(&mut self, data: Vec<u8>) -> Result<(), String> {
        tokio::time::timeout(Duration::from_secs(3), self.ws.send(Message::binary(data)))
            .await
            .map_err(|_| "could not send within 3 s".to_string())?
            .map_err(|e| e.to_string())
    }

    /// Write raw bytes on the connection, under the WebSocket layer.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.ws.get_mut().write_all(bytes).await.map_err(|e| e.to_string())
    }

    /// Close from this side (1000) and let the connection go.
    pub async fn close(mut self) {
        let frame = CloseFrame { code: CloseCode::Normal, reason: "bye".into() };
        let _ = tokio::time::timeout(Duration::from_millis(500), self.ws.close(Some(frame))).await;
    }
}

/// A peer that completes the handshake and then never reads a frame as a
/// WebSocket library would: it never answers a ping. It only watches what
/// arrives.
pub struct Mute {
    tcp: TcpStream,
}

/// What a mute peer saw.
pub struct MuteSaw {
    pub pings: usize,
    /// How it ended: EOF, a reset, a close frame (with its code).
    pub end: Option<String>,
}

impl Mute {
    pub async fn open(addr: SocketAddr, how: &Open, limit: Duration) -> Result<Mute, Failure> {
        let fail = |why: String| Failure::new(why).with_request(how.curl(addr));
        let mut wire = format!(
            "GET {} HTTP/1.1\r\nhost: {addr}\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\
             sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
            how.target()
        );
        if let Some(o) = &how.origin {
            wire.push_str(&format!("origin: {o}\r\n"));
        }
        if let Some(p) = &how.protocols {
            wire.push_str(&format!("sec-websocket-protocol: {p}\r\n"));
        }
        wire.push_str("\r\n");
        let io = async {
            let mut tcp = TcpStream::connect(addr).await?;
            tcp.write_all(wire.as_bytes()).await?;
            // Read the answer's head byte by byte: nothing after it is ours.
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
                if tcp.read(&mut byte).await? == 0 {
                    break;
                }
                head.push(byte[0]);
            }
            Ok::<_, std::io::Error>((tcp, String::from_utf8_lossy(&head).into_owned()))
        };
        let (tcp, head) = match tokio::time::timeout(limit, io).await {
            Ok(Ok(x)) => x,
            Ok(Err(e)) => return Err(fail(format!("the handshake failed: {e}"))),
            Err(_) => return Err(fail(format!("no answer to the handshake within {} s", limit.as_secs()))),
        };
        if !head.starts_with("HTTP/1.1 101") {
            return Err(fail(format!(
                "a valid handshake must be accepted with 101, got: {}",
                head.lines().next().unwrap_or("")
            )));
        }
        Ok(Mute { tcp })
    }

    /// Read frames for at most `limit` without answering any; stop at the
    /// end of the connection.
    pub async fn watch(mut self, limit: Duration) -> MuteSaw {
        let mut saw = MuteSaw { pings: 0, end: None };
        let mut data: Vec<u8> = Vec::new();
        let deadline = tokio::time::Instant::now() + limit;
        let mut buf = [0u8; 4096];
        loop {
            // Whole frames in `data`: server frames are unmasked.
            while data.len() >= 2 {
                let opcode = data[0] & 0x0f;
                let (len, head) = match data[1] & 0x7f {
                    126 if data.len() >= 4 => (u16::from_be_bytes([data[2], data[3]]) as usize, 4),
                    127 if data.len() >= 10 => {
                        (u64::from_be_bytes(data[2..10].try_into().unwrap_or([0; 8])) as usize, 10)
                    }
                    126 | 127 => break,
                    n => (n as usize, 2),
                };
                if data.len() < head + len {
                    break;
                }
                match opcode {
                    0x9 => saw.pings += 1,
                    0x8 => {
                        let code = (len >= 2).then(|| u16::from_be_bytes([data[head], data[head + 1]]));
                        saw.end = Some(match code {
                            Some(c) => format!("a close frame with code {c}"),
                            None => "a close frame".into(),
                        });
                        return saw;
                    }
                    _ => {}
                }
                data.drain(..head + len);
            }
            match tokio::time::timeout_at(deadline, self.tcp.read(&mut buf)).await {
                Err(_) => return saw,
                Ok(Ok(0)) => {
                    saw.end = Some("the connection was closed".into());
                    return saw;
                }
                Ok(Ok(n)) => data.extend_from_slice(&buf[..n]),
                Ok(Err(e)) => {
                    saw.end = Some(format!("the connection was reset ({e})"));
                    return saw;
                }
            }
        }
    }
}

/// The notification id of a push, if it has one.
pub fn id_of(v: &Value) -> Option<i64> {
    v.get("id").and_then(Value::as_i64)
}
