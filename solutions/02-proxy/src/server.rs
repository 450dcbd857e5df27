//! The proxy's HTTP plumbing: accept requests on both listeners, ask
//! `routing` and `forward` what to do, and do it. Given: you do not need to
//! change this file, but read it to see where your functions are called.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Response, StatusCode};
use axum::Router;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

use crate::config::{Handler, Listener, Location, ProxyPass, Return, Rules, Server, Var};
use crate::forward::{self, UpstreamError};
use crate::routing::{self, LocationMatch};
use crate::uri::{self, Target};

#[derive(Clone)]
struct Shared {
    rules: Arc<Rules>,
    listener: Listener,
    /// The port this listener is bound to, for redirects nginx makes up.
    port: u16,
}

/// Serve `rules` on both listeners until the process stops.
pub async fn serve(rules: Arc<Rules>, plain: TcpListener, tls: TcpListener) -> std::io::Result<()> {
    let app = |listener, bound: &TcpListener| {
        let port = bound.local_addr().map(|a| a.port()).unwrap_or(0);
        Router::new()
            .fallback(handle)
            .with_state(Shared { rules: rules.clone(), listener, port })
            .into_make_service_with_connect_info::<SocketAddr>()
    };
    let plain_app = app(Listener::Plain, &plain);
    let tls_app = app(Listener::Tls, &tls);
    let plain = axum::serve(plain, plain_app);
    let tls = axum::serve(tls, tls_app);
    tokio::try_join!(async { plain.await }, async { tls.await })?;
    Ok(())
}

/// One request, from arrival to answer.
async fn handle(
    State(shared): State<Shared>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response<Body> {
    let raw_target = request.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
    let target = match uri::parse(&raw_target) {
        Ok(t) => t,
        Err(bad) => return plain(StatusCode::BAD_REQUEST, &bad.0),
    };
    let host_header = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| request.uri().authority().map(|a| a.to_string()))
        .unwrap_or_default();
    let host = routing::normalize_host(&host_header);
    let Some(server) = routing::select_server(&shared.rules, shared.listener, &host) else {
        return plain(StatusCode::NOT_FOUND, "no server block listens here");
    };
    let cx = Vars {
        host: if host.is_empty() { server.primary_name() } else { host },
        scheme: shared.listener.scheme(),
        client,
        target: &target,
        server,
        method: request.method().as_str().to_string(),
        headers: request.headers().clone(),
    };
    if let Some(ret) = &server.ret {
        return respond(ret, &cx, None);
    }
    match routing::select_location(server, &target.path) {
        LocationMatch::NoMatch => no_content(&cx.method, "no location matches this path"),
        LocationMatch::AddSlash => {
            // Like nginx: the host as `$host` has it (lowercase, no trailing
            // dot) and the port this listener is bound to.
            let port = match (shared.listener, shared.port) {
                (Listener::Plain, 80) | (Listener::Tls, 443) => String::new(),
                (_, p) => format!(":{p}"),
            };
            let mut to = format!("{}://{}{port}{}/", cx.scheme, cx.host, uri::escape(&target.path));
            if let Some(args) = &target.args {
                to.push('?');
                to.push_str(args);
            }
            redirect(StatusCode::MOVED_PERMANENTLY, &to)
        }
        LocationMatch::Found(location) => match &location.handler {
            Handler::Return(ret) => respond(ret, &cx, None),
            Handler::Nothing => no_content(&cx.method, "this location neither proxies nor returns"),
            Handler::Proxy(pass) => proxy(request, &cx, location, pass).await,
        },
    }
}

/// What the rule file's variables mean for one request.
struct Vars<'a> {
    host: String,
    scheme: &'static str,
    client: SocketAddr,
    target: &'a Target,
    server: &'a Server,
    method: String,
    headers: axum::http::HeaderMap,
}

impl Vars<'_> {
    fn value(&self, var: &Var, pass: Option<&ProxyPass>) -> String {
        match var {
            Var::Host => self.host.clone(),
            Var::RemoteAddr => self.client.ip().to_string(),
            Var::Scheme => self.scheme.to_string(),
            Var::ProxyAddXForwardedFor => forward::x_forwarded_for(&self.headers, self.client.ip()),
            Var::RequestUri => self.target.raw.clone(),
            Var::Uri => self.target.path.clone(),
            Var::Args => self.target.args.clone().unwrap_or_default(),
            Var::ServerName => self.server.primary_name(),
            Var::RequestMethod => self.method.clone(),
            Var::ProxyHost => pass.map(ProxyPass::proxy_host).unwrap_or_default(),
            Var::Http(name) => {
                let values: Vec<&str> =
                    self.headers.get_all(name.as_str()).iter().filter_map(|v| v.to_str().ok()).collect();
                values.join(", ")
            }
        }
    }
}

/// `return CODE [TEXT|URL]`.
fn respond(ret: &Return, cx: &Vars<'_>, pass: Option<&ProxyPass>) -> Response<Body> {
    let status = StatusCode::from_u16(ret.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let text = ret.text.as_ref().map(|t| t.render(&|v| cx.value(v, pass)));
    match (ret.is_redirect(), text) {
        (true, Some(to)) => redirect(status, &to),
        (_, Some(body)) => Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from(body))
            .unwrap_or_default(),
        (_, None) => plain(status, status.canonical_reason().unwrap_or("")),
    }
}

fn redirect(status: StatusCode, to: &str) -> Response<Body> {
    let mut response = plain(status, &format!("redirecting to {to}"));
    if let Ok(v) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// Where nginx would look for a file on disk (there is none here): 404,
/// or 405 for a method its static files do not take.
fn no_content(method: &str, why: &str) -> Response<Body> {
    match method {
        "GET" | "HEAD" | "POST" => plain(StatusCode::NOT_FOUND, why),
        _ => plain(StatusCode::METHOD_NOT_ALLOWED, &format!("{why}, and static files take GET, HEAD or POST only")),
    }
}

/// A short text answer made by the proxy itself.
fn plain(status: StatusCode, why: &str) -> Response<Body> {
    let reason = status.canonical_reason().unwrap_or("");
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from(format!("{} {reason}: {why}\n", status.as_u16())))
        .unwrap_or_default()
}

/// `proxy_pass`: send the request on and relay the answer.
async fn proxy(request: Request, cx: &Vars<'_>, location: &Location, pass: &ProxyPass) -> Response<Body> {
    let upstream_uri = routing::upstream_uri(location, pass, cx.target);
    let set: Vec<(String, String)> = location
        .proxy
        .set_headers
        .iter()
        .map(|(name, value)| (name.clone(), value.render(&|v| cx.value(v, Some(pass)))))
        .collect();
    let headers = forward::upstream_headers(request.headers(), &set);
    let (parts, body) = request.into_parts();
    let mut outgoing = axum::http::Request::builder().method(parts.method).uri(upstream_uri.as_str());
    if let Some(h) = outgoing.headers_mut() {
        *h = headers;
    }
    let outgoing = match outgoing.body(body) {
        Ok(r) => r,
        Err(e) => {
            return plain(StatusCode::BAD_REQUEST, &format!("cannot form the upstream request {upstream_uri}: {e}"))
        }
    };
    match exchange(outgoing, location, pass).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            parts.headers = forward::client_headers(&parts.headers);
            Response::from_parts(parts, Body::new(body))
        }
        Err(err) => {
            let why = match &err {
                UpstreamError::Refused(e) => {
                    format!("the upstream {}:{} refused the connection ({e})", pass.host, pass.port)
                }
                UpstreamError::ConnectTimeout => {
                    format!("no connection to the upstream {}:{} in time", pass.host, pass.port)
                }
                UpstreamError::ReadTimeout => {
                    format!("the upstream {}:{} did not answer in time", pass.host, pass.port)
                }
                UpstreamError::Broken(e) => {
                    format!("the upstream {}:{} broke the exchange ({e})", pass.host, pass.port)
                }
            };
            plain(forward::error_status(&err), &why)
        }
    }
}

/// One request on a fresh connection to the upstream (nginx's default too:
/// `Connection: close`, no keep-alive to upstreams).
async fn exchange(
    outgoing: axum::http::Request<Body>,
    location: &Location,
    pass: &ProxyPass,
) -> Result<Response<hyper::body::Incoming>, UpstreamError> {
    let settings = &location.proxy;
    let connect = TcpStream::connect((pass.host.as_str(), pass.port));
    let stream = match tokio::time::timeout(settings.connect_timeout, connect).await {
        Err(_) => return Err(UpstreamError::ConnectTimeout),
        Ok(Err(e)) => return Err(UpstreamError::Refused(e.to_string())),
        Ok(Ok(s)) => s,
    };
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| UpstreamError::Broken(e.to_string()))?;
    tokio::spawn(async move {
        // Ends when the response body has been read or the upstream hangs up.
        let _ = connection.await;
    });
    match tokio::time::timeout(settings.read_timeout, sender.send_request(outgoing)).await {
        Err(_) => Err(UpstreamError::ReadTimeout),
        Ok(Err(e)) => Err(UpstreamError::Broken(e.to_string())),
        Ok(Ok(response)) => Ok(response),
    }
}
