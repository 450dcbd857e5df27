//! The HTTP plumbing on both ports: accept requests, ask `port80` and
//! `forward` what to do, and do it. Given: you do not need to change this
//! file, but read it to see where your functions are called.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use axum::serve::IncomingStream;
use axum::Router;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

use crate::port80::{self, Port80};
use crate::sites::Current;
use crate::tls::{self, TlsListener};
use crate::{forward, Settings};

/// How long the app may take to accept a connection and to answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The client's address, on either port.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, TcpListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

#[derive(Clone)]
struct Shared {
    settings: Arc<Settings>,
    current: Current,
}

/// Serve port 80 and the TLS port until the process stops.
pub async fn serve(
    settings: Settings,
    current: Current,
    acceptor: TlsAcceptor,
    plain: TcpListener,
    secure: TcpListener,
) -> std::io::Result<()> {
    let shared = Shared { settings: Arc::new(settings), current };
    let plain_app =
        Router::new().fallback(on_port_80).with_state(shared.clone()).into_make_service_with_connect_info::<Peer>();
    let tls_app = Router::new().fallback(on_https).with_state(shared).into_make_service_with_connect_info::<Peer>();
    let local = secure.local_addr()?;
    let (ready_tx, ready) = mpsc::channel(64);
    tokio::spawn(tls::accept_loop(secure, acceptor, ready_tx));
    let plain = axum::serve(plain, plain_app);
    let tls = axum::serve(TlsListener { ready, local }, tls_app);
    tokio::try_join!(async { plain.await }, async { tls.await })?;
    Ok(())
}

/// `$host`: the Host header without its port and trailing dot, lowercase.
fn host_of(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get(header::HOST)?.to_str().ok()?.trim();
    let without_port = if raw.starts_with('[') {
        raw.split_inclusive(']').next().unwrap_or(raw)
    } else {
        raw.rsplit_once(':').map_or(raw, |(host, _)| host)
    };
    let host = without_port.trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

fn target_of(request: &Request) -> String {
    request.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into())
}

/// Port 80: the challenge files, and the redirect to https.
async fn on_port_80(State(shared): State<Shared>, request: Request) -> Response<Body> {
    let settings = &shared.settings;
    let sites = shared.current.get();
    let host = host_of(request.headers());
    let target = target_of(&request);
    match port80::route(&target, host.as_deref(), sites.default_name(), settings.tls_port, &settings.webroot) {
        Port80::Redirect(to) => {
            let mut response = text(StatusCode::MOVED_PERMANENTLY, &format!("moved to {to}"));
            if let Ok(v) = HeaderValue::from_str(&to) {
                response.headers_mut().insert(header::LOCATION, v);
            }
            response
        }
        Port80::NotFound => text(StatusCode::NOT_FOUND, "no such challenge token"),
        Port80::Challenge(file) => match tokio::fs::read(&file).await {
            Ok(bytes) => Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .body(Body::from(bytes))
                .unwrap_or_default(),
            Err(_) => text(StatusCode::NOT_FOUND, "no such challenge token"),
        },
    }
}

/// The TLS port: pass the decrypted request to the app.
async fn on_https(
    State(shared): State<Shared>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    request: Request,
) -> Response<Body> {
    let settings = &shared.settings;
    let host = host_of(request.headers()).unwrap_or_else(|| shared.current.get().default_name().to_string());
    let headers = forward::upstream_headers(request.headers(), peer.0.ip(), &host);
    let target = target_of(&request);
    let (parts, body) = request.into_parts();
    let mut outgoing = axum::http::Request::builder().method(parts.method).uri(target.as_str());
    if let Some(h) = outgoing.headers_mut() {
        *h = headers;
    }
    let mut response = match outgoing.body(body) {
        Err(e) => text(StatusCode::BAD_REQUEST, &format!("cannot form the upstream request {target}: {e}")),
        Ok(outgoing) => match exchange(outgoing, &settings.upstream).await {
            Ok(answer) => {
                let (mut parts, body) = answer.into_parts();
                parts.headers = forward::client_headers(&parts.headers, settings.hsts_max_age);
                return Response::from_parts(parts, Body::new(body));
            }
            Err((status, why)) => text(status, &why),
        },
    };
    // The proxy's own answers are HTTPS answers too.
    forward::add_hsts(response.headers_mut(), settings.hsts_max_age);
    response
}

/// One request on a fresh connection to the app: 502 when it is down or
/// breaks the exchange, 504 when it is too slow.
async fn exchange(
    outgoing: axum::http::Request<Body>,
    (host, port): &(String, u16),
) -> Result<Response<hyper::body::Incoming>, (StatusCode, String)> {
    let bad = |why: String| (StatusCode::BAD_GATEWAY, why);
    let slow = |why: String| (StatusCode::GATEWAY_TIMEOUT, why);
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host.as_str(), *port))).await {
        Err(_) => return Err(slow(format!("no connection to the app {host}:{port} in time"))),
        Ok(Err(e)) => return Err(bad(format!("the app {host}:{port} refused the connection ({e})"))),
        Ok(Ok(s)) => s,
    };
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| bad(format!("the app {host}:{port} broke the exchange ({e})")))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    match tokio::time::timeout(READ_TIMEOUT, sender.send_request(outgoing)).await {
        Err(_) => Err(slow(format!("the app {host}:{port} did not answer in time"))),
        Ok(Err(e)) => Err(bad(format!("the app {host}:{port} broke the exchange ({e})"))),
        Ok(Ok(response)) => Ok(response),
    }
}

/// A short text answer made by the program itself.
fn text(status: StatusCode, why: &str) -> Response<Body> {
    let reason = status.canonical_reason().unwrap_or("");
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from(format!("{} {reason}: {why}\n", status.as_u16())))
        .unwrap_or_default()
}
