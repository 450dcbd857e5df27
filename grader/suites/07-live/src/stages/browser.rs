//! The browser stage: a real headless Chromium loads a page from the
//! allowed origin (`http://localhost:A`, served by the suite) whose script
//! opens `ws://127.0.0.1:B/api/live` as the chapter says, with the token as
//! a subprotocol. Once it is open the check likes the page user's post and
//! the page must receive the push. In the other check the same script runs
//! in a frame on an origin that is not allowed (`http://127.0.0.1:A`), and
//! the browser must not get a socket.

use std::time::{Duration, Instant};

use harness::process::{Proc, Spawn};
use harness::{CheckResult, Ctx, Failure};
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::api;
use crate::fixture::Fx;
use crate::world::{Seed, World};
use harness::chromium::{self, Site};

/// How long Chromium may take, in real time. 04-cors measured up to 16 s
/// for a page load on a 2-core machine at load 30.
const BROWSER_LIMIT: Duration = Duration::from_secs(50);

pub async fn push(cx: Ctx) -> CheckResult {
    run(cx, false).await
}

pub async fn refused(cx: Ctx) -> CheckResult {
    run(cx, true).await
}

async fn run(mut cx: Ctx, other_origin: bool) -> CheckResult {
    let Some(chromium) = chromium::find() else {
        harness::skip!(
            "Chromium is not installed, so no real browser can open the socket: {} (or set CHROME=/path/to/chrome)",
            chromium::INSTALL
        );
    };
    let pages = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Failure::new(format!("could not start the test page server: {e}")))?;
    let page_port = pages.local_addr().map_err(|e| Failure::new(e.to_string()))?.port();
    let page_origin = format!("http://localhost:{page_port}");
    let seed = Seed::with_owners(&mut cx, 2, vec![0]);
    let deployed = format!("https://{}.example", cx.word(7));
    let world = World::with_origins(seed, vec![page_origin.clone(), deployed])?;
    let fx = Fx::start(&cx, world).await?;
    let (owner, liker) = (&fx.world.users[0], &fx.world.users[1]);
    let socket_url = format!("ws://{}/api/live", fx.addr());
    let script = socket_script(&socket_url, &owner.token);
    let page = if other_origin {
        page_html(&format!("<iframe src=\"http://127.0.0.1:{page_port}/frame\"></iframe>"), "")
    } else {
        page_html("", &script)
    };
    let site = Site::new([("/page".to_string(), page), ("/frame".to_string(), frame_html(&script))]);
    let serving = chromium::serve(pages, site.clone());

    let profile = tempfile::Builder::new()
        .prefix("grade-chromium-")
        .tempdir()
        .map_err(|e| Failure::new(format!("could not make a Chromium profile folder: {e}")))?;
    let url = format!("{page_origin}/page");
    let mut args = chromium::headless_args(profile.path());
    args.extend(["--virtual-time-budget=30000".to_string(), "--dump-dom".to_string(), url.clone()]);
    let started = Instant::now();
    let mut browser = Proc::start(&cx, &chromium, &Spawn { env: Vec::new(), args, connect: Vec::new() })?;
    if !other_origin {
        // The like, once the page's socket is open.
        let deadline = BROWSER_LIMIT.saturating_sub(started.elapsed());
        let opened = tokio::select! {
            o = site.opened(deadline) => o,
            _ = browser.wait_exit(deadline) => false,
        };
        if opened {
            api::like(&fx.client, &fx.proc, fx.world.posts[0].id, liker).await?;
        }
    }
    let Some(exited) = browser.wait_exit(BROWSER_LIMIT.saturating_sub(started.elapsed())).await else {
        drop(browser);
        return Err(fx.with_output(Failure::new(format!(
            "Chromium did not finish loading {url} within {} s: the page's socket never got a message or a close",
            BROWSER_LIMIT.as_secs()
        ))));
    };
    drop(serving);
    let posted = site.verdicts.borrow().clone();
    let Some(verdict) =
        posted.as_deref().and_then(|t| serde_json::from_str::<Value>(t).ok()).or_else(|| parse_dom(&exited.output))
    else {
        return Err(fx.with_output(Failure::new(format!(
            "Chromium ran ({:.1} s) but the page never wrote its verdict; Chromium said:\n{}",
            started.elapsed().as_secs_f64(),
            chromium::tail(&exited.output, 20)
        ))));
    };
    let outcome = verdict.get("outcome").and_then(Value::as_str).unwrap_or("none");
    let explain = format!(
        "the page's script: {script}\n(ALLOWED_ORIGINS={}; Chromium's verdict: {verdict})",
        fx.world.origins_env()
    );
    if other_origin {
        if outcome == "opened" {
            return Err(fx.with_output(Failure::new(format!(
                "a frame on http://127.0.0.1:{page_port}, an origin that is not allowed, opened the live socket with the \
                 user's token: any site could do the same with a cookie. Refuse the handshake (403) when the Origin is \
                 not in ALLOWED_ORIGINS.\n{explain}"
            ))));
        }
        if outcome != "refused" {
            return Err(fx.with_output(Failure::new(format!(
                "the frame on an origin that is not allowed should have seen its socket refused; it reported {outcome}.\n{explain}"
            ))));
        }
        return Ok(());
    }
    let data = verdict.get("data").and_then(Value::as_str).and_then(|d| serde_json::from_str::<Value>(d).ok());
    let ok = outcome == "pushed"
        && data.as_ref().is_some_and(|d| {
            d.get("type").and_then(Value::as_str) == Some("like")
                && d.get("post_id").and_then(Value::as_i64) == Some(fx.world.posts[0].id)
                && d.pointer("/from/id").and_then(Value::as_i64) == Some(liker.id)
                && d.get("id").is_some_and(Value::is_i64)
        });
    if !ok {
        return Err(fx.with_output(Failure::new(format!(
            "a page on the allowed origin {page_origin} opened the socket and then {} liked the user's post: the page \
             should have received {{\"id\": ..., \"type\": \"like\", \"post_id\": {}, \"from\": {{\"id\": {}, ...}}}}. \
             It reported {outcome}{}. Open the page's developer tools (Network, WS) to watch the handshake.\n{explain}",
            liker.name,
            fx.world.posts[0].id,
            liker.id,
            verdict.get("code").map(|c| format!(" (close code {c})")).unwrap_or_default()
        ))));
    }
    Ok(())
}

/// The script a page runs: open the socket, report what happens to the
/// parent page (in a frame) or to the page server.
fn socket_script(url: &str, token: &str) -> String {
    let config = json!({ "url": url, "token": token }).to_string().replace("</", "<\\/");
    format!(
        "const C = {config};
const report = v => (window.parent !== window) ? window.parent.postMessage(v, '*') : done(v);
const ws = new WebSocket(C.url, ['live', 'bearer.' + C.token]);
let opened = false;
ws.onopen = () => {{ opened = true; if (window.parent !== window) {{ report({{ outcome: 'opened' }}); }} else {{ fetch('/opened', {{ method: 'POST' }}); }} }};
ws.onmessage = e => report({{ outcome: 'pushed', data: e.data, protocol: ws.protocol }});
ws.onclose = e => report({{ outcome: opened ? 'closed' : 'refused', code: e.code }});"
    )
}

fn frame_html(script: &str) -> String {
    format!("<!doctype html><meta charset=\"utf-8\"><script>{script}</script>")
}

fn page_html(frame: &str, script: &str) -> String {
    format!(
        r#"<!doctype html>
<meta charset="utf-8">
<title>07-live: the browser's verdict</title>
<pre id="verdict">running</pre>
<script>
let reported = false;
function done(v) {{
  if (reported) return;
  reported = true;
  document.getElementById("verdict").textContent = "LIVE-VERDICT:" + encodeURIComponent(JSON.stringify(v)) + ":END";
  fetch("/verdicts", {{ method: "POST", body: JSON.stringify(v) }});
}}
window.addEventListener("message", ev => done(ev.data));
{script}
</script>
{frame}
<iframe src="/hold" style="display: none"></iframe>
"#
    )
}

fn parse_dom(output: &str) -> Option<Value> {
    let start = output.find("LIVE-VERDICT:")? + "LIVE-VERDICT:".len();
    let end = start + output[start..].find(":END")?;
    let decoded = percent_encoding::percent_decode_str(&output[start..end]).decode_utf8().ok()?;
    serde_json::from_str(&decoded).ok()
}
