//! The database client: one connection, speaking the kit database's line
//! protocol. Given; you need not change this file.
//!
//! A [`Conn`] is expensive to open (the server makes every handshake pay its
//! connect cost) and cheap to use afterwards, which is the whole reason for a
//! pool. It also knows when it can no longer be trusted: see
//! [`Conn::is_broken`].

use std::fmt;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One open database connection (a session on the server).
///
/// Not `Clone`: a session belongs to one user at a time.
#[derive(Debug)]
pub struct Conn {
    stream: TcpStream,
    /// Bytes read but not yet consumed as a line.
    buf: Vec<u8>,
    backend_id: u64,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between requests: safe to hand to anyone.
    Ready,
    /// A request was sent and its answer not fully read. If the future doing
    /// it was dropped (a cancelled task, a timeout), the answer is still on
    /// its way and would be read by the next user: the connection is spoiled.
    InFlight,
    /// An I/O error, the server hung up, or it said something unexpected.
    Broken,
}

/// Why talking to the database failed.
#[derive(Debug)]
pub enum ConnError {
    /// The network failed (connection refused, reset, closed).
    Io(std::io::Error),
    /// The server answered with an error, e.g. `53300 sorry, too many clients already`.
    Server { code: String, message: String },
    /// The server said something this client does not understand.
    Protocol(String),
    /// This connection was already broken; it must be thrown away.
    Broken,
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnError::Io(e) => write!(f, "network error: {e}"),
            ConnError::Server { code, message } => write!(f, "server error {code}: {message}"),
            ConnError::Protocol(what) => write!(f, "protocol error: {what}"),
            ConnError::Broken => f.write_str("the connection is broken and must be discarded"),
        }
    }
}

impl std::error::Error for ConnError {}

impl From<std::io::Error> for ConnError {
    fn from(e: std::io::Error) -> Self {
        ConnError::Io(e)
    }
}

impl Conn {
    /// Open a session: connect, say `HELLO`, wait for `OK` (this is the
    /// slow part: the server's handshake and authentication).
    pub async fn connect(addr: SocketAddr, user: &str, password: &str) -> Result<Conn, ConnError> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let mut conn = Conn { stream, buf: Vec::new(), backend_id: 0, state: State::InFlight };
        conn.stream.write_all(format!("HELLO {user} {password}\n").as_bytes()).await?;
        let line = conn.read_line().await?;
        match line.split_once(' ') {
            Some(("OK", id)) => {
                conn.backend_id =
                    id.trim().parse().map_err(|_| ConnError::Protocol(format!("bad backend id in {line:?}")))?;
                conn.state = State::Ready;
                Ok(conn)
            }
            _ => Err(server_error(&line)),
        }
    }

    /// The server's number for this session: two checkouts that see the same
    /// id used the same connection.
    pub fn backend_id(&self) -> u64 {
        self.backend_id
    }

    /// A round trip that does nothing: is the other end still there?
    pub async fn ping(&mut self) -> Result<(), ConnError> {
        self.send("PING\n").await?;
        match self.read_line().await?.as_str() {
            "PONG" => {
                self.state = State::Ready;
                Ok(())
            }
            other => Err(self.unexpected(other)),
        }
    }

    /// Run a query; the rows come back in order.
    pub async fn query(&mut self, text: &str) -> Result<Vec<String>, ConnError> {
        if text.contains(['\n', '\r']) {
            return Err(ConnError::Protocol("a query must fit on one line".into()));
        }
        self.send(&format!("QUERY {text}\n")).await?;
        let mut rows = Vec::new();
        loop {
            let line = self.read_line().await?;
            if line == "DONE" {
                self.state = State::Ready;
                return Ok(rows);
            }
            match line.strip_prefix("ROW ") {
                Some(row) => rows.push(row.to_string()),
                None => return Err(self.unexpected(&line)),
            }
        }
    }

    /// True when this connection must not be used again: an earlier error,
    /// a request whose answer was never read (its task was cancelled), or a
    /// server that hung up or spoke out of turn while the connection sat
    /// idle. Cheap: it never waits for the network.
    pub fn is_broken(&mut self) -> bool {
        if self.state == State::InFlight {
            self.state = State::Broken;
        }
        if self.state == State::Broken {
            return true;
        }
        let mut probe = [0u8; 256];
        match self.stream.try_read(&mut probe) {
            // Nothing to read: the server is quietly waiting, as it should be.
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
            // End of stream, unsolicited bytes (a goodbye from the server), or an error.
            _ => {
                self.state = State::Broken;
                true
            }
        }
    }

    /// Send one request line. From here until its whole answer is read the
    /// connection is `InFlight`, so a dropped future leaves it marked spoiled.
    async fn send(&mut self, line: &str) -> Result<(), ConnError> {
        if self.is_broken() {
            return Err(ConnError::Broken);
        }
        self.state = State::InFlight;
        if let Err(e) = self.stream.write_all(line.as_bytes()).await {
            self.state = State::Broken;
            return Err(e.into());
        }
        Ok(())
    }

    async fn read_line(&mut self) -> Result<String, ConnError> {
        loop {
            if let Some(end) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=end).collect();
                let line = String::from_utf8_lossy(&line[..end]).trim_end_matches('\r').to_string();
                return Ok(line);
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk).await {
                Ok(0) => {
                    self.state = State::Broken;
                    return Err(ConnError::Io(std::io::ErrorKind::UnexpectedEof.into()));
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => {
                    self.state = State::Broken;
                    return Err(e.into());
                }
            }
        }
    }

    /// An answer that is not the expected one. A plain `ERROR` ends the
    /// request and leaves the session usable, unless the server says it is
    /// ending the session (class 57: operator intervention).
    fn unexpected(&mut self, line: &str) -> ConnError {
        let error = server_error(line);
        self.state = match &error {
            ConnError::Server { code, .. } if !code.starts_with("57") => State::Ready,
            _ => State::Broken,
        };
        error
    }
}

fn server_error(line: &str) -> ConnError {
    match line.strip_prefix("ERROR ").and_then(|rest| rest.split_once(' ')) {
        Some((code, message)) => ConnError::Server { code: code.to_string(), message: message.to_string() },
        None => ConnError::Protocol(format!("unexpected answer {line:?}")),
    }
}
