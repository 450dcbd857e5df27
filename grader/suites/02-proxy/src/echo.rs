//! A tiny upstream app that answers with what it received, so a check can
//! see the request exactly as the proxy forwarded it.
//!
//! Request headers steer it: `x-echo-status: 418` sets the status,
//! `x-echo-delay-ms: 3000` answers late, `x-echo-hop: 1` adds hop-by-hop
//! headers to the answer (which a proxy must not pass on).

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Response, StatusCode};
use serde_json::{json, Value};

/// A running upstream; dropping it stops it.
pub struct Upstream {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Upstream {
    pub async fn start(name: &str) -> std::io::Result<Upstream> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let name = name.to_string();
        let app = axum::Router::new().fallback(move |req: Request| answer(name.clone(), req));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Upstream { addr, task })
    }

    /// `http://127.0.0.1:PORT`, for `proxy_pass`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// FNV-1a of a body, to compare megabytes without shipping them back.
pub fn fnv(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

async fn answer(name: String, req: Request) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let get = |h: &str| parts.headers.get(h).and_then(|v| v.to_str().ok()).map(str::to_string);
    if let Some(ms) = get("x-echo-delay-ms").and_then(|v| v.parse::<u64>().ok()) {
        tokio::time::sleep(Duration::from_millis(ms.min(30_000))).await;
    }
    let body = axum::body::to_bytes(body, 64 << 20).await.unwrap_or_default();
    let headers: Vec<Value> =
        parts.headers.iter().map(|(k, v)| json!([k.as_str(), String::from_utf8_lossy(v.as_bytes())])).collect();
    let seen = json!({
        "upstream": name,
        "method": parts.method.as_str(),
        "uri": parts.uri.to_string(),
        "headers": headers,
        "body_len": body.len(),
        "body_fnv": fnv(&body),
    });
    let status = get("x-echo-status")
        .and_then(|s| s.parse::<u16>().ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut response = Response::new(Body::from(seen.to_string()));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert("x-upstream", HeaderValue::from_str(&name).unwrap_or(HeaderValue::from_static("?")));
    if get("x-echo-hop").is_some() {
        h.insert("connection", HeaderValue::from_static("x-echo-private"));
        h.insert("x-echo-private", HeaderValue::from_static("connection-only"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("x-echo-public", HeaderValue::from_static("end-to-end"));
    }
    response
}

/// What an upstream reported, read back from its JSON answer.
pub struct Seen(pub Value);

impl Seen {
    pub fn parse(body: &[u8]) -> Option<Seen> {
        let v: Value = serde_json::from_slice(body).ok()?;
        v.get("upstream")?;
        Some(Seen(v))
    }
    pub fn upstream(&self) -> &str {
        self.0["upstream"].as_str().unwrap_or("")
    }
    pub fn uri(&self) -> &str {
        self.0["uri"].as_str().unwrap_or("")
    }
    pub fn method(&self) -> &str {
        self.0["method"].as_str().unwrap_or("")
    }
    /// Every value of a header, in order.
    pub fn headers(&self, name: &str) -> Vec<String> {
        self.0["headers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|p| p[0].as_str().is_some_and(|k| k.eq_ignore_ascii_case(name)))
                    .filter_map(|p| p[1].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        let all = self.headers(name);
        if all.is_empty() {
            None
        } else {
            Some(all.join(", "))
        }
    }
    pub fn header_names(&self) -> Vec<String> {
        self.0["headers"]
            .as_array()
            .map(|a| a.iter().filter_map(|p| p[0].as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }
}
