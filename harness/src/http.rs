//! HTTP as a student would see it: requests as curl commands, responses as
//! transcripts, normalised so snapshots hold no run-to-run noise.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::Failure;

/// Poll until `addr` accepts a TCP connection.
pub async fn wait_accepting(addr: SocketAddr, limit: Duration) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut pause = Duration::from_millis(2);
    loop {
        match TcpStream::connect(addr).await {
            Ok(_) => return Ok(()),
            Err(e) if tokio::time::Instant::now() >= deadline => {
                return Err(format!("nothing accepts connections there ({e})"));
            }
            Err(_) => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(50));
            }
        }
    }
}

/// A request to send; `path` goes on the wire exactly as written.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl Request {
    pub fn new(method: &str, path: impl Into<String>) -> Self {
        Request { method: method.to_string(), path: path.into(), headers: Vec::new(), body: None }
    }
    pub fn get(path: impl Into<String>) -> Self {
        Self::new("GET", path)
    }
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }
    pub fn json(self, value: &serde_json::Value) -> Self {
        self.header("content-type", "application/json").body(value.to_string())
    }
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The media type without parameters, lowercased: `text/css; charset=utf-8` -> `text/css`.
    pub fn media_type(&self) -> Option<String> {
        self.header("content-type").map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// One request and what came back.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub addr: SocketAddr,
    pub request: Request,
    pub response: Response,
}

impl Exchange {
    /// The request as a command the student can paste.
    pub fn curl(&self) -> String {
        curl(self.addr, &self.request)
    }

    /// The full response, as received, for the report.
    pub fn response_text(&self) -> String {
        let mut s = format!("HTTP/1.1 {} {}\n", self.response.status, self.response.reason);
        for (k, v) in &self.response.headers {
            s.push_str(&format!("{k}: {v}\n"));
        }
        s.push('\n');
        s.push_str(&body_for_humans(&self.response.body));
        s
    }

    /// A normalised transcript for snapshots: the request line and body, the
    /// status, only the named response headers (media type without noise),
    /// and a canonical JSON body. `redact` replaces run-specific values
    /// (random names, ports) with stable placeholders.
    pub fn transcript(&self, headers: &[&str], redact: &[(&str, &str)]) -> String {
        let mut s = format!("> {} {}\n", self.request.method, self.request.path);
        for (k, v) in &self.request.headers {
            s.push_str(&format!("> {}: {v}\n", k.to_ascii_lowercase()));
        }
        if let Some(body) = &self.request.body {
            s.push_str(&format!(">\n> {}\n", body_for_humans(body).trim_end()));
        }
        s.push_str(&format!("\n< {}\n", self.response.status));
        for name in headers {
            let value = match *name {
                "content-type" => self.response.media_type(),
                _ => self.response.header(name).map(str::to_string),
            };
            if let Some(v) = value {
                s.push_str(&format!("< {name}: {v}\n"));
            }
        }
        let body = canonical_body(&self.response.body);
        if !body.is_empty() {
            s.push_str("<\n");
            for line in body.lines() {
                s.push_str(&format!("< {line}\n"));
            }
        }
        for (from, to) in redact {
            if !from.is_empty() {
                s = s.replace(from, to);
            }
        }
        s.replace(&self.addr.port().to_string(), "[port]")
    }

    /// A failure that carries this exchange as evidence.
    pub fn fail(&self, message: impl Into<String>) -> Failure {
        Failure::new(message).with_exchange(self)
    }
}

/// JSON pretty-printed with sorted keys; anything else as text.
fn canonical_body(body: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_default(),
        Err(_) => body_for_humans(body),
    }
}

fn body_for_humans(body: &[u8]) -> String {
    const SHOWN: usize = 2048;
    let text = String::from_utf8_lossy(&body[..body.len().min(SHOWN)]).into_owned();
    if body.len() > SHOWN {
        format!("{text}\n[... {} more bytes]", body.len() - SHOWN)
    } else {
        text
    }
}

fn curl(addr: SocketAddr, r: &Request) -> String {
    let mut s = String::from("curl -i");
    if r.method == "HEAD" {
        s.push_str(" -I");
    } else if r.method != "GET" || r.body.is_some() {
        s.push_str(&format!(" -X {}", r.method));
    }
    if r.path.contains("..") || r.path.contains("%2") {
        s.push_str(" --path-as-is");
    }
    for (k, v) in &r.headers {
        s.push_str(&format!(" -H {}", shell_quote(&format!("{k}: {v}"))));
    }
    if let Some(b) = &r.body {
        s.push_str(&format!(" --data-raw {}", shell_quote(&String::from_utf8_lossy(b))));
    }
    s.push_str(&format!(" {}", shell_quote(&format!("http://{addr}{}", r.path))));
    s
}

/// `s` as one word a POSIX shell reads back unchanged: as it is when it
/// holds nothing the shell treats specially, else in single quotes.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A client bound to one server address.
#[derive(Clone)]
pub struct Client {
    addr: SocketAddr,
    http: reqwest::Client,
    timeout: Duration,
}

impl Client {
    pub fn new(addr: SocketAddr, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .build()
            .expect("a plain HTTP client builds");
        Client { addr, http, timeout }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Send with a regular HTTP client (which may normalise the path).
    pub async fn send(&self, request: Request) -> Result<Exchange, Failure> {
        let url = format!("http://{}{}", self.addr, request.path);
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| Failure::new(format!("bad method {}", request.method)))?;
        let mut builder = self.http.request(method, &url);
        for (k, v) in &request.headers {
            builder = builder.header(k, v);
        }
        if let Some(b) = &request.body {
            builder = builder.body(b.clone());
        }
        let curl = curl(self.addr, &request);
        let resp = builder.send().await.map_err(|e| {
            let why = if e.is_timeout() {
                format!("no response within {} s", self.timeout.as_secs())
            } else if e.is_connect() {
                "the connection was refused: is the server still running?".to_string()
            } else {
                "the connection closed without a valid HTTP response (did the handler panic?)".to_string()
            };
            Failure::new(format!("{} {}: {why}", request.method, request.path)).with_request(curl.clone())
        })?;
        let status = resp.status();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let body = resp
            .bytes()
            .await
            .map_err(|e| {
                Failure::new(format!("reading the body of {} {} failed: {e}", request.method, request.path))
                    .with_request(curl)
            })?
            .to_vec();
        Ok(Exchange {
            addr: self.addr,
            request,
            response: Response {
                status: status.as_u16(),
                reason: status.canonical_reason().unwrap_or("").to_string(),
                headers,
                body,
            },
        })
    }

    /// Send the request bytes exactly as given (no path normalisation), with
    /// `Connection: close`, and read until the server closes.
    pub async fn send_raw(&self, request: Request) -> Result<Exchange, Failure> {
        let curl = curl(self.addr, &request);
        // The request's own Host header, when it has one, replaces the default.
        let own_host = request.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host"));
        let mut wire = format!("{} {} HTTP/1.1\r\n", request.method, request.path);
        if !own_host {
            wire.push_str(&format!("host: {}\r\n", self.addr));
        }
        wire.push_str("connection: close\r\n");
        for (k, v) in &request.headers {
            wire.push_str(&format!("{k}: {v}\r\n"));
        }
        let body = request.body.clone().unwrap_or_default();
        if !body.is_empty() {
            wire.push_str(&format!("content-length: {}\r\n", body.len()));
        }
        wire.push_str("\r\n");
        let io = async {
            let mut stream = TcpStream::connect(self.addr).await?;
            stream.write_all(wire.as_bytes()).await?;
            stream.write_all(&body).await?;
            let mut buf = Vec::new();
            stream.take(16 * 1024 * 1024).read_to_end(&mut buf).await?;
            Ok::<_, std::io::Error>(buf)
        };
        let bytes = match tokio::time::timeout(self.timeout, io).await {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => {
                return Err(Failure::new(format!("{} {}: {e}", request.method, request.path)).with_request(curl))
            }
            Err(_) => {
                return Err(Failure::new(format!(
                    "{} {}: no complete response within {} s",
                    request.method,
                    request.path,
                    self.timeout.as_secs()
                ))
                .with_request(curl))
            }
        };
        let response = parse_response(&bytes).ok_or_else(|| {
            Failure::new(format!("{} {}: the answer is not an HTTP response", request.method, request.path))
                .with_request(curl)
        })?;
        Ok(Exchange { addr: self.addr, request, response })
    }
}

fn parse_response(bytes: &[u8]) -> Option<Response> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut headers);
    let head_len = match parsed.parse(bytes).ok()? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return None,
    };
    let headers: Vec<(String, String)> = parsed
        .headers
        .iter()
        .map(|h| (h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).into_owned()))
        .collect();
    Some(Response {
        status: parsed.code?,
        reason: parsed.reason.unwrap_or("").to_string(),
        headers,
        body: bytes[head_len..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(path: &str, body: &str) -> Exchange {
        Exchange {
            addr: "127.0.0.1:45678".parse().unwrap(),
            request: Request::new("POST", path).json(&serde_json::json!({"name": "Zed Qux"})),
            response: Response {
                status: 201,
                reason: "Created".into(),
                headers: vec![
                    ("content-type".into(), "application/json; charset=utf-8".into()),
                    ("date".into(), "Sat, 21 Nov 2026 21:00:00 GMT".into()),
                    ("location".into(), "/users/3".into()),
                ],
                body: body.as_bytes().to_vec(),
            },
        }
    }

    #[test]
    fn transcripts_drop_noise_and_canonicalise_json() {
        let ex = exchange("/users", r#"{"name":"Zed Qux","id":3}"#);
        let t = ex.transcript(&["content-type", "location"], &[("Zed Qux", "[name]")]);
        assert_eq!(
            t,
            "> POST /users\n> content-type: application/json\n>\n> {\"name\":\"[name]\"}\n\n< 201\n< content-type: application/json\n< location: /users/3\n<\n< {\n<   \"id\": 3,\n<   \"name\": \"[name]\"\n< }\n"
        );
        assert!(!t.contains("date"), "unrequested headers never reach a snapshot");
    }

    #[test]
    fn the_port_never_reaches_a_transcript() {
        let ex = exchange("/x", "seen on 127.0.0.1:45678");
        assert!(ex.transcript(&[], &[]).contains("127.0.0.1:[port]"));
    }

    #[test]
    fn curl_commands_are_paste_safe() {
        let mut ex = exchange("/../a b", "");
        ex.request.headers.push(("x-quote".into(), "it's".into()));
        let c = ex.curl();
        assert!(c.starts_with("curl -i -X POST --path-as-is"), "{c}");
        assert!(c.contains(r#"-H 'x-quote: it'\''s'"#), "{c}");
        assert!(c.ends_with("'http://127.0.0.1:45678/../a b'"), "{c}");
    }

    #[test]
    fn raw_responses_are_parsed() {
        let r = parse_response(b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n\r\n{\"error\":\"x\"}")
            .unwrap();
        assert_eq!(r.status, 404);
        assert_eq!(r.media_type().as_deref(), Some("application/json"));
        assert_eq!(r.json().unwrap()["error"], "x");
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-").is_none());
        assert!(parse_response(b"garbage").is_none());
    }
}
