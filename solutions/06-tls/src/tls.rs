//! The TLS listener: YOUR PART of this exercise, with `sites.rs`.
//!
//! Each connection on `TLS_PORT` starts with a handshake: the client says
//! which site it wants (SNI) and which protocols it speaks (versions,
//! ALPN), the server proves it holds the key of that site's certificate.
//! Only then does HTTP begin, inside the encrypted connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::sites::Current;

/// How long a client may take to complete its handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection whose handshake is done, ready for HTTP.
pub type Ready = (TlsStream<TcpStream>, SocketAddr);

/// Picks each handshake's certificate from the sites in use at that moment.
#[derive(Debug)]
pub struct Resolver(pub Current);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.get().choose(hello.server_name()).key.clone())
    }
}

/// rustls' settings for the listener: TLS 1.3 and 1.2 only, ALPN
/// `http/1.1`, the certificate chosen per handshake by [`Resolver`].
pub fn server_config(current: Current) -> Result<ServerConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Resolver(current)));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Accept TCP connections and send each one whose handshake succeeds to
/// `ready`. A client that stalls, speaks plain HTTP or leaves in the middle
/// of its handshake must never hold up the others.
pub async fn accept_loop(listener: TcpListener, acceptor: TlsAcceptor, ready: mpsc::Sender<Ready>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, say: wait a moment, then go on.
                eprintln!("error: accepting a connection on TLS_PORT: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            if let Some(tls) = handshake(&acceptor, stream, peer).await {
                let _ = ready.send((tls, peer)).await;
            }
        });
    }
}

/// One handshake, within [`HANDSHAKE_TIMEOUT`]. Plain HTTP sent to this
/// port gets nginx's answer, a 400 that says to use https.
async fn handshake(acceptor: &TlsAcceptor, mut stream: TcpStream, peer: SocketAddr) -> Option<TlsStream<TcpStream>> {
    let attempt = async {
        let mut first = [0u8; 1];
        match stream.peek(&mut first).await? {
            // Connected and left without a word (a port check): nothing to say.
            0 => return Ok(None),
            _ if first[0] != TLS_HANDSHAKE_RECORD => {
                refuse_plain_http(&mut stream).await;
                return Ok(None);
            }
            _ => {}
        }
        acceptor.accept(stream).await.map(Some)
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, attempt).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            eprintln!("handshake with {peer} failed: {e}");
            None
        }
        Err(_) => {
            eprintln!("handshake with {peer} took longer than {HANDSHAKE_TIMEOUT:?}: closed");
            None
        }
    }
}

/// The first byte of every TLS connection: a handshake record (RFC 8446 5.1).
pub const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Read the request's head (so closing does not reset the connection under
/// the answer) and answer 400.
pub async fn refuse_plain_http(stream: &mut TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let body = "400 Bad Request: the plain HTTP request was sent to the HTTPS port; use https://\n";
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// The finished handshakes, as a listener axum can serve HTTP on. Given.
pub struct TlsListener {
    pub ready: mpsc::Receiver<Ready>,
    pub local: SocketAddr,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(ready) => ready,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}
