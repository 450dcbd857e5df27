//! The suite's TLS client (rustls, trusting this run's root only) and
//! HTTP/1.1 over it (hyper), so a check sees the handshake's outcome and
//! the answer.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme, SupportedProtocolVersion};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

pub use rustls::version::{TLS12, TLS13};

/// What a ClientHello says and how the answer is judged.
#[derive(Clone)]
pub struct Hello {
    /// The SNI; `None` sends none.
    pub sni: Option<String>,
    pub versions: Vec<&'static SupportedProtocolVersion>,
    pub alpn: Vec<Vec<u8>>,
    /// Verify the chain up to the root and the name (needs `sni`); when
    /// false, any chain is taken (the check compares it itself), but the
    /// server must still prove it holds the certificate's key.
    pub verify: bool,
}

impl Hello {
    pub fn sni(name: &str) -> Hello {
        Hello {
            sni: Some(name.to_string()),
            versions: vec![&TLS13, &TLS12],
            alpn: vec![b"http/1.1".to_vec()],
            verify: false,
        }
    }
}

pub struct Conn {
    pub stream: TlsStream<TcpStream>,
    pub chain: Vec<CertificateDer<'static>>,
    pub version: Option<rustls::ProtocolVersion>,
    pub alpn: Option<Vec<u8>>,
}

impl Conn {
    pub fn leaf(&self) -> &[u8] {
        self.chain.first().map(|c| c.as_ref()).unwrap_or(&[])
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Handshake with `addr`; `Err` says why it failed, as rustls tells it.
pub async fn connect(addr: SocketAddr, hello: &Hello, roots: Arc<rustls::RootCertStore>) -> Result<Conn, String> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&hello.versions)
        .map_err(|e| e.to_string())?;
    let mut config = if hello.verify {
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(AnyChain(provider()))).with_no_client_auth()
    };
    config.alpn_protocols = hello.alpn.clone();
    config.enable_sni = hello.sni.is_some();
    let name = match &hello.sni {
        Some(n) => ServerName::try_from(n.clone()).map_err(|e| format!("{n} is not a DNS name: {e}"))?,
        None => ServerName::IpAddress(addr.ip().into()),
    };
    let tcp = TcpStream::connect(addr).await.map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let stream = TlsConnector::from(Arc::new(config)).connect(name, tcp).await.map_err(|e| e.to_string())?;
    let (_, session) = stream.get_ref();
    let chain = session.peer_certificates().map(|c| c.to_vec()).unwrap_or_default();
    let version = session.protocol_version();
    let alpn = session.alpn_protocol().map(<[u8]>::to_vec);
    Ok(Conn { stream, chain, version, alpn })
}

/// Takes any chain; still checks the handshake's signatures, so the server
/// proves it has the key of the certificate it sent.
#[derive(Debug)]
struct AnyChain(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyChain {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// An answer over TLS.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        let mut out = format!("HTTP/1.1 {}\n", self.status);
        for (k, v) in &self.headers {
            out.push_str(&format!("{k}: {v}\n"));
        }
        out.push('\n');
        out.push_str(&String::from_utf8_lossy(&self.body[..self.body.len().min(2000)]));
        out
    }
}

/// An HTTP/1.1 client on one TLS connection (keep-alive).
pub struct Http {
    sender: hyper::client::conn::http1::SendRequest<Body>,
}

impl Http {
    pub async fn over(conn: Conn) -> Result<Http, String> {
        let (sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(conn.stream))
            .await
            .map_err(|e| format!("HTTP over the TLS connection failed: {e}"))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Http { sender })
    }

    pub async fn send(&mut self, method: &str, target: &str, headers: &[(String, String)]) -> Result<Answer, String> {
        let mut request = axum::http::Request::builder().method(method).uri(target);
        for (k, v) in headers {
            request = request.header(k.as_str(), v.as_str());
        }
        let request = request.body(Body::empty()).map_err(|e| format!("bad request {target}: {e}"))?;
        self.sender.ready().await.map_err(|e| format!("the connection is gone: {e}"))?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| format!("{method} {target}: no answer ({e}); did the program close the connection?"))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let body = axum::body::to_bytes(Body::new(response.into_body()), 16 << 20)
            .await
            .map_err(|e| format!("{method} {target}: the body broke off ({e})"))?
            .to_vec();
        Ok(Answer { status, headers, body })
    }
}
