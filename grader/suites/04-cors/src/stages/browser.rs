//! The browser stage: a real headless Chromium loads a page from one origin
//! (`http://localhost:A`, served by the suite) whose script calls the
//! student's API on another (`http://127.0.0.1:B`). The script writes what
//! the browser let it read into the page, and `--dump-dom` hands the page
//! back. No WebDriver: one process, one page load per check.
//!
//! Two more origins appear in frames: the page server under its other name
//! (`http://127.0.0.1:A`, not on the allow-list) and a sandboxed frame,
//! whose origin is the opaque `null`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use harness::process::{Proc, Spawn};
use harness::{fail, CheckResult, Ctx, Failure};
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::fixtures::{free_port, Setup};
use harness::chromium::{self, Site};

/// How long Chromium may take, in real time, before it is killed.
/// Measured: up to 16 s for a correct API on a 2-core machine at load 30.
const BROWSER_LIMIT: Duration = Duration::from_secs(50);

/// What a scenario should end as, in the browser's judgement.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    Allowed,
    Blocked,
}

struct Scenario {
    name: &'static str,
    want: Want,
    what: &'static str,
}

const ALLOWS: &[Scenario] = &[
    Scenario {
        name: "simple_get",
        want: Want::Allowed,
        what: "a simple GET /api/public from the allowed page, reading X-Request-Id",
    },
    Scenario {
        name: "preflighted_post",
        want: Want::Allowed,
        what: "a JSON POST /api/notes with Authorization and the extra allowed header (preflighted)",
    },
    Scenario { name: "credentialed", want: Want::Allowed, what: "GET /api/me with credentials: \"include\"" },
];

const BLOCKS: &[Scenario] = &[
    Scenario {
        name: "other_origin",
        want: Want::Blocked,
        what: "GET /api/public from a frame on an origin that is not listed",
    },
    Scenario {
        name: "null_origin",
        want: Want::Blocked,
        what: "GET /api/public from a sandboxed frame (Origin: null)",
    },
    Scenario {
        name: "unlisted_header",
        want: Want::Blocked,
        what: "a POST /api/notes with a request header that is not allowed",
    },
    Scenario { name: "unlisted_method", want: Want::Blocked, what: "DELETE /api/notes, a method that is not allowed" },
];

pub async fn allows(cx: Ctx) -> CheckResult {
    run(cx, ALLOWS).await
}

pub async fn blocks(cx: Ctx) -> CheckResult {
    run(cx, BLOCKS).await
}

async fn run(mut cx: Ctx, scenarios: &[Scenario]) -> CheckResult {
    let Some(chromium) = chromium::find() else {
        harness::skip!(
            "Chromium is not installed, so no real browser can judge the API: {} (or set CHROME=/path/to/chrome)",
            chromium::INSTALL
        );
    };

    // The page's origin must be on the allow-list, so the page server binds first.
    let pages = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Failure::new(format!("could not start the test page server: {e}")))?;
    let page_port = pages.local_addr().map_err(|e| Failure::new(e.to_string()))?.port();
    let page_origin = format!("http://localhost:{page_port}");
    let deployed = format!("https://{}.example", cx.word(7));
    let setup = Setup::with_frontend(&mut cx, vec![page_origin.clone(), deployed]);
    let api_port = free_port()?;
    let (server, _client) = setup.start_on(&cx, api_port).await?;
    let api_origin = format!("http://127.0.0.1:{api_port}");

    let unlisted = format!("x-{}", cx.word(8));
    let names: Vec<&str> = scenarios.iter().map(|s| s.name).collect();
    let site = Site::new([
        (
            "/page".to_string(),
            page_html(&api_origin, &setup, &unlisted, &names, &format!("http://127.0.0.1:{page_port}")),
        ),
        ("/frame".to_string(), frame_html(&api_origin)),
    ]);
    let serving = chromium::serve(pages, site.clone());

    let profile = tempfile::Builder::new()
        .prefix("grade-chromium-")
        .tempdir()
        .map_err(|e| Failure::new(format!("could not make a Chromium profile folder: {e}")))?;
    let url = format!("{page_origin}/page");
    let mut args = chromium::headless_args(profile.path());
    args.extend([
        // Virtual time runs ahead while the page is idle and waits while a
        // request is in flight: the page's fetches finish before the dump.
        "--virtual-time-budget=30000".to_string(),
        "--dump-dom".to_string(),
        url.clone(),
    ]);
    let started = Instant::now();
    let mut browser = Proc::start(&cx, &chromium, &Spawn { env: Vec::new(), args, connect: Vec::new() })?;
    let Some(exited) = browser.wait_exit(BROWSER_LIMIT).await else {
        drop(browser);
        return Err(Failure::new(format!(
            "Chromium did not finish loading {url} within {} s: some request to your API never got an answer",
            BROWSER_LIMIT.as_secs()
        ))
        .with_output(server.output()));
    };
    drop(serving);
    let took = started.elapsed();

    // The page posts its verdicts to the page server when it is done; the
    // DOM holds those it had reached if it never got that far.
    let posted = site.verdicts.borrow().clone();
    let Some(verdicts) = posted.as_deref().and_then(parse_json).or_else(|| parse_verdicts(&exited.output)) else {
        fail!(
            "Chromium ran ({}, {:.1} s) but the page never wrote its verdicts; Chromium said:\n{}",
            match exited.code {
                Some(c) => format!("exit code {c}"),
                None => "killed by a signal".into(),
            },
            took.as_secs_f64(),
            chromium::tail(&exited.output, 20)
        );
    };

    let mut wrong = Vec::new();
    for s in scenarios {
        let v = verdicts.get(s.name).cloned().unwrap_or(Value::Null);
        let outcome = v.get("outcome").and_then(Value::as_str).unwrap_or("no verdict");
        let status = v.get("status").and_then(Value::as_u64);
        let got = match status {
            Some(st) => format!("{outcome} (status {st})"),
            None => outcome.to_string(),
        };
        let ok = match s.want {
            Want::Allowed => outcome == "allowed",
            Want::Blocked => outcome == "blocked",
        };
        if !ok {
            let want = if s.want == Want::Allowed { "let the page read the answer" } else { "block it" };
            wrong.push(format!("- {}: the browser should {want}, but it was {got}", s.what));
            continue;
        }
        if s.name == "simple_get" && v.get("header").is_none_or(Value::is_null) {
            wrong.push(format!(
                "- {}: the page could read the body but not X-Request-Id; list it in Access-Control-Expose-Headers",
                s.what
            ));
        }
        if s.name == "preflighted_post" && status != Some(201) {
            wrong.push(format!("- {}: allowed, but the POST answered {got} instead of 201", s.what));
        }
    }
    if wrong.is_empty() {
        return Ok(());
    }
    Err(Failure::new(format!(
        "Chromium loaded a page from {page_origin} that calls your API at {api_origin} (ALLOWED_ORIGINS={}):\n{}\n\
         Open the browser's developer tools, Network panel, to watch the same requests; the console names the header it objected to.",
        setup.allowed_origins_env(),
        wrong.join("\n")
    ))
    .with_output(server.output()))
}

/// The script both frames run: one GET, the outcome posted to the parent.
fn frame_script(api: &str) -> String {
    format!(
        "fetch('{api}/api/public').then(r => r.text().then(() => parent.postMessage({{outcome: 'allowed', status: r.status}}, '*')), \
         e => parent.postMessage({{outcome: 'blocked', error: String(e)}}, '*'));"
    )
}

fn frame_html(api_origin: &str) -> String {
    format!("<!doctype html><meta charset=\"utf-8\"><script>{}</script>", frame_script(api_origin))
}

fn page_html(api_origin: &str, setup: &Setup, unlisted: &str, names: &[&str], other_origin: &str) -> String {
    let config = json!({
        "api": api_origin,
        "token": setup.token,
        "extra": setup.allowed_header,
        "unlisted": unlisted,
        "other": other_origin,
        "run": names,
        "sandboxed": format!("<script>{}</script>", frame_script(api_origin)),
    });
    // `</` inside a script ends it; `<\/` is the same string to JSON.
    let config = config.to_string().replace("</", "<\\/");
    format!(
        r#"<!doctype html>
<meta charset="utf-8">
<title>04-cors: the browser's verdicts</title>
<pre id="verdicts">running</pre>
<script>
const C = {config};
async function attempt(url, init, readHeader) {{
  try {{
    const r = await fetch(url, init);
    await r.text();
    return {{ outcome: "allowed", status: r.status, header: readHeader ? r.headers.get(readHeader) : null }};
  }} catch (e) {{
    return {{ outcome: "blocked", error: String(e) }};
  }}
}}
function inFrame(prepare) {{
  return new Promise(resolve => {{
    const f = document.createElement("iframe");
    // No timer: virtual time may run ahead while a frame's request is in
    // flight. A frame that never answers leaves its verdict missing.
    const on = ev => {{ if (ev.source === f.contentWindow) {{ window.removeEventListener("message", on); resolve(ev.data); }} }};
    window.addEventListener("message", on);
    prepare(f);
    document.body.appendChild(f);
  }});
}}
const json = {{ "Content-Type": "application/json", "Authorization": "Bearer " + C.token }};
const scenarios = {{
  simple_get: () => attempt(C.api + "/api/public", {{}}, "x-request-id"),
  preflighted_post: () => attempt(C.api + "/api/notes", {{
    method: "POST", headers: {{ ...json, [C.extra]: "1" }}, body: JSON.stringify({{ text: "from the browser" }}) }}),
  credentialed: () => attempt(C.api + "/api/me", {{ credentials: "include" }}),
  other_origin: () => inFrame(f => {{ f.src = C.other + "/frame"; }}),
  null_origin: () => inFrame(f => {{ f.sandbox = "allow-scripts"; f.srcdoc = C.sandboxed; }}),
  unlisted_header: () => attempt(C.api + "/api/notes", {{
    method: "POST", headers: {{ ...json, [C.unlisted]: "1" }}, body: JSON.stringify({{ text: "x" }}) }}),
  unlisted_method: () => attempt(C.api + "/api/notes", {{ method: "DELETE" }}),
}};
(async () => {{
  const out = {{}};
  const show = () => document.getElementById("verdicts").textContent =
    "CORS-VERDICTS:" + encodeURIComponent(JSON.stringify(out)) + ":END";
  for (const name of C.run) {{ out[name] = await scenarios[name](); show(); }}
  await fetch("/verdicts", {{ method: "POST", body: JSON.stringify(out) }});
}})();
</script>
<iframe src="/hold" style="display: none"></iframe>
"#
    )
}

/// The verdicts the page wrote, from Chromium's output (the dumped DOM).
fn parse_verdicts(output: &str) -> Option<BTreeMap<String, Value>> {
    let start = output.find("CORS-VERDICTS:")? + "CORS-VERDICTS:".len();
    let end = start + output[start..].find(":END")?;
    let decoded = percent_encoding::percent_decode_str(&output[start..end]).decode_utf8().ok()?;
    parse_json(&decoded)
}

fn parse_json(text: &str) -> Option<BTreeMap<String, Value>> {
    serde_json::from_str(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_round_trip_through_percent_encoding() {
        let dom = "<pre id=\"verdicts\">CORS-VERDICTS:%7B%22a%22%3A%7B%22outcome%22%3A%22allowed%22%7D%7D:END</pre>";
        let v = parse_verdicts(dom).expect("parses");
        assert_eq!(v["a"]["outcome"], "allowed");
        assert!(parse_verdicts("<pre>running</pre>").is_none());
    }
}
