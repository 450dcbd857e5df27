//! The app behind the proxy: it answers with the request it received, as
//! JSON, so a check sees exactly what the proxy forwarded. `x-hold: 1`
//! makes it wait until the check releases it (a request in flight).

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Response, StatusCode};
use serde_json::{json, Value};
use tokio::sync::watch;

pub struct Upstream {
    pub addr: SocketAddr,
    release: watch::Sender<bool>,
    arrived: watch::Receiver<usize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Upstream {
    pub async fn start() -> std::io::Result<Upstream> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (release, released) = watch::channel(false);
        let (arrive, arrived) = watch::channel(0usize);
        let app = axum::Router::new().fallback(move |req: Request| {
            let released = released.clone();
            let arrive = arrive.clone();
            async move { answer(req, released, arrive).await }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Upstream { addr, release, arrived, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Wait until `n` held requests have arrived.
    pub async fn held(&self, n: usize) -> bool {
        let mut arrived = self.arrived.clone();
        let reached = arrived.wait_for(|count| *count >= n).await.is_ok();
        reached
    }

    pub fn release(&self) {
        let _ = self.release.send(true);
    }
}

async fn answer(req: Request, mut released: watch::Receiver<bool>, arrive: watch::Sender<usize>) -> Response<Body> {
    if req.headers().contains_key("x-hold") {
        arrive.send_modify(|n| *n += 1);
        let _ = released.wait_for(|r| *r).await;
    }
    let headers: Vec<Value> =
        req.headers().iter().map(|(k, v)| json!([k.as_str(), String::from_utf8_lossy(v.as_bytes())])).collect();
    let seen = json!({
        "method": req.method().as_str(),
        "uri": req.uri().to_string(),
        "headers": headers,
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("x-app", "upstream")
        .body(Body::from(seen.to_string()))
        .unwrap_or_default()
}

/// The request as the app saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
}

impl Seen {
    pub fn parse(body: &[u8]) -> Option<Seen> {
        let v: Value = serde_json::from_slice(body).ok()?;
        let headers = v["headers"]
            .as_array()?
            .iter()
            .filter_map(|h| Some((h[0].as_str()?.to_string(), h[1].as_str()?.to_string())))
            .collect();
        Some(Seen { method: v["method"].as_str()?.to_string(), uri: v["uri"].as_str()?.to_string(), headers })
    }

    /// All values of `name`, comma-joined.
    pub fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> =
            self.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    /// Headers sorted by name (values in their order), one per line.
    pub fn render(&self, redact: &[(&str, &str)]) -> String {
        let mut headers = self.headers.clone();
        headers.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = format!("{} {}\n", self.method, self.uri);
        for (k, v) in headers {
            out.push_str(&format!("{k}: {v}\n"));
        }
        for (from, to) in redact {
            if !from.is_empty() {
                out = out.replace(from, to);
            }
        }
        out
    }
}
