//! A real browser for the kit: finding headless Chromium, the flags it runs
//! with, and a tiny page server whose pages post back to the check.
//!
//! Used by the `browser` stages of 04-cors (a page posts its verdicts) and
//! 07-live (a page says when its socket is open), by 04-cors's test that
//! checks the reference against Chromium, and by the grader's dashboard test.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub const INSTALL: &str = "apt-get install chromium";

/// The Chromium binary: `$CHROME`, else `chromium` (Debian) or
/// `chromium-browser` on PATH.
pub fn find() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROME").map(PathBuf::from).filter(|p| p.is_file()) {
        return Some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|p| p.is_file())
}

/// The flags of a quiet, throwaway headless Chromium with its own profile.
pub fn headless_args(profile: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

/// What the page server serves, and what its pages posted back.
pub struct Site {
    /// Path (without query) -> HTML.
    pub pages: HashMap<String, String>,
    /// The body a page posted to `/verdicts`.
    pub verdicts: watch::Sender<Option<String>>,
    /// Set when a page posts to `/opened` (07-live: its socket is open).
    pub opened: watch::Sender<bool>,
}

impl Site {
    pub fn new(pages: impl IntoIterator<Item = (String, String)>) -> Arc<Site> {
        Arc::new(Site {
            pages: pages.into_iter().collect(),
            verdicts: watch::channel(None).0,
            opened: watch::channel(false).0,
        })
    }

    /// Wait until a page posts its verdicts, at most `limit`.
    pub async fn verdicts(&self, limit: Duration) -> Option<String> {
        let mut rx = self.verdicts.subscribe();
        let _ = tokio::time::timeout(limit, rx.wait_for(Option::is_some)).await;
        let got = rx.borrow().clone();
        got
    }

    /// Wait until a page posts to `/opened`, at most `limit`.
    pub async fn opened(&self, limit: Duration) -> bool {
        let mut rx = self.opened.subscribe();
        let waited = tokio::time::timeout(limit, rx.wait_for(|o| *o)).await;
        matches!(waited, Ok(Ok(_)))
    }
}

/// Aborts a page server when dropped, however the check ends.
pub struct ServeGuard(tokio::task::JoinHandle<()>);

impl Drop for ServeGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How long `/hold` keeps a page loading while it waits for the verdicts.
const HOLD_LIMIT: Duration = Duration::from_secs(45);

/// Serve `site` on `listener` until the guard drops: a minimal HTTP/1.1
/// server, one request per connection.
///
/// `/verdicts` takes the page's POST. `/hold` answers only once the
/// verdicts are in (or after [`HOLD_LIMIT`]): a page that embeds it has not
/// finished loading before then, so `--dump-dom` does not end early.
pub fn serve(listener: TcpListener, site: Arc<Site>) -> ServeGuard {
    ServeGuard(tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { continue };
            let site = site.clone();
            tokio::spawn(async move {
                let Some((head, body)) = read_request(&mut stream).await else { return };
                let target = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                let path = target.split('?').next().unwrap_or("/").to_string();
                let (status, body) = match path.as_str() {
                    "/verdicts" => {
                        site.verdicts.send_replace(Some(String::from_utf8_lossy(&body).into_owned()));
                        ("200 OK", String::new())
                    }
                    "/opened" => {
                        site.opened.send_replace(true);
                        ("200 OK", String::new())
                    }
                    "/hold" => {
                        let mut rx = site.verdicts.subscribe();
                        let _ = tokio::time::timeout(HOLD_LIMIT, rx.wait_for(Option::is_some)).await;
                        ("200 OK", String::new())
                    }
                    other => match site.pages.get(other) {
                        Some(page) => ("200 OK", page.clone()),
                        None => ("404 Not Found", "not found".to_string()),
                    },
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    }))
}

/// The request head as text and its body (by Content-Length, capped).
async fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if data.len() > 16 * 1024 {
            return None;
        }
        let n = read_some(stream, &mut buf).await?;
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..end]).into_owned();
    let length = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case("content-length")))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(1024 * 1024);
    while data.len() < end + length {
        let n = read_some(stream, &mut buf).await?;
        data.extend_from_slice(&buf[..n]);
    }
    Some((head, data[end..end + length].to_vec()))
}

async fn read_some(stream: &mut TcpStream, buf: &mut [u8]) -> Option<usize> {
    tokio::time::timeout(Duration::from_secs(5), stream.read(buf)).await.ok()?.ok().filter(|n| *n > 0)
}

/// The last `lines` lines of `s`.
pub fn tail(s: &str, lines: usize) -> String {
    let all: Vec<&str> = s.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
