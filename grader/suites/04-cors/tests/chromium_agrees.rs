//! The reference checked against the real thing, at random: the reference
//! API runs with a random configuration, and headless Chromium loads frames
//! from listed origins and near misses of them (another port, a subdomain, a
//! longer host, a listed entry in capitals or with a trailing slash, another
//! name of the same machine, the opaque `null`). Each frame fetches the API
//! with random methods, headers and credentials modes and records whether
//! the browser let it read the answer (and the exposed `X-Request-Id`).
//!
//! The expectation is the reference's policy put through the Fetch
//! standard's rules: which requests need a preflight (the CORS-safelisted
//! methods and request headers), and that a preflight passes only for a
//! listed origin, an allowed method and allowed header names. Any case where
//! Chromium disagrees fails the test, smallest first.
//!
//! Seeded: `KIT_SEED=N cargo test -p cors-suite --test chromium_agrees -- --nocapture`
//! replays a run. Without Chromium it prints NOT RUN (and fails when
//! KIT_REQUIRE_TOOLS is set, as in CI).

use harness::chromium;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;

/// Cases per run: enough to meet every kind of origin, method and header
/// many times, in a few seconds of browser time.
const CASES: usize = 400;
const BROWSER_LIMIT: Duration = Duration::from_secs(120);

/// A small seeded generator (SplitMix64), so the test needs no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn word(&mut self, len: usize) -> String {
        (0..len).map(|_| (b'a' + self.below(26) as u8) as char).collect()
    }
    fn any_case(&mut self, s: &str) -> String {
        s.chars().map(|c| if self.below(2) == 0 { c.to_ascii_uppercase() } else { c }).collect()
    }
}

/// Where a frame's script runs.
struct Frame {
    /// The origin the page is served from (`None`: a sandboxed frame, `null`).
    origin: Option<String>,
    what: String,
    listed: bool,
}

#[derive(Clone, Debug)]
struct Case {
    frame: usize,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    credentials: &'static str,
    body: Option<String>,
}

struct Policy {
    listed: Vec<String>,
    allowed_headers: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_decides_what_chromium_lets_a_page_read() {
    let seed = std::env::var("KIT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(random_seed);
    say(&format!(
        "chromium_agrees: seed {seed} (replay: KIT_SEED={seed} cargo test -p cors-suite --test chromium_agrees -- --nocapture)"
    ));
    let Some(browser) = chromium::find() else {
        let msg = format!(
            "NOT RUN: the reference was not checked against Chromium, which is not installed ({}, or set CHROME=/path/to/chrome)",
            chromium::INSTALL
        );
        if std::env::var_os("KIT_REQUIRE_TOOLS").is_some() {
            panic!("KIT_REQUIRE_TOOLS is set: {msg}");
        }
        say(&format!("chromium_agrees: {msg}"));
        return;
    };
    let started = Instant::now();
    let reference = reference_binary();
    let mut rng = Rng(seed);

    // Three ports of the page server; host names under .test map to 127.0.0.1.
    let mut listeners = Vec::new();
    for _ in 0..3 {
        listeners.push(TcpListener::bind("127.0.0.1:0").await.expect("a page port"));
    }
    let ports: Vec<u16> = listeners.iter().map(|l| l.local_addr().unwrap().port()).collect();
    let (pa, pb, pc) = (ports[0], ports[1], ports[2]);
    let w = rng.word(5);
    let app = format!("app-{w}.test");
    let shop = format!("shop-{w}.test");
    let slash = format!("slash-{w}.test");
    let loopback_listed = rng.below(2) == 0;
    let mut listed = vec![
        format!("http://{app}:{pa}"),
        format!("http://localhost:{pb}"),
        format!("http://{}:{pc}", shop.replacen('s', "S", 1)),
        format!("http://{slash}:{pc}/"),
        "null".to_string(),
    ];
    if loopback_listed {
        listed.push(format!("http://127.0.0.1:{pc}"));
    }
    let policy = Policy {
        listed: listed.clone(),
        allowed_headers: vec![
            "authorization".into(),
            "content-type".into(),
            format!("x-{}", rng.word(6)),
            format!("x-{}", rng.word(4)),
        ],
    };
    let exposed = format!("x-{}", rng.word(6));
    let token = rng.word(12);

    let frames: Vec<Frame> = [
        (Some(format!("http://{app}:{pa}")), "listed".to_string()),
        (Some(format!("http://localhost:{pb}")), "listed (localhost)".into()),
        (Some(format!("http://{app}:{pb}")), "listed host, another port".into()),
        (Some(format!("http://www.{app}:{pa}")), "a subdomain of a listed host".into()),
        (Some(format!("http://{app}.{}.test:{pa}", rng.word(3))), "a listed origin plus more host".into()),
        (Some(format!("http://{shop}:{pc}")), "listed in capitals (never sent so)".into()),
        (Some(format!("http://{slash}:{pc}")), "listed with a trailing slash".into()),
        (
            Some(format!("http://127.0.0.1:{pc}")),
            if loopback_listed { "listed (127.0.0.1)".into() } else { "the same machine by IP, not listed".into() },
        ),
        (None, "a sandboxed frame (null), null listed".into()),
    ]
    .into_iter()
    .map(|(origin, what)| {
        let listed = origin.as_ref().is_some_and(|o| listed.contains(o));
        Frame { origin, what, listed }
    })
    .collect();

    // The reference API.
    let api_port = free_port();
    let allowed_env: Vec<String> = policy.allowed_headers[2..].iter().map(|h| rng.any_case(h)).collect();
    let mut api = tokio::process::Command::new(&reference)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOST", "127.0.0.1")
        .env("PORT", api_port.to_string())
        .env("ALLOWED_ORIGINS", listed.join(","))
        .env("ALLOWED_HEADERS", allowed_env.join(","))
        .env("EXPOSED_HEADERS", &exposed)
        .env("API_TOKEN", &token)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("the reference starts");
    let mut lines = BufReader::new(api.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await;
    assert!(
        matches!(&line, Ok(Ok(Some(l))) if l.starts_with("listening on http://")),
        "the reference did not announce itself: {line:?}"
    );
    let api_origin = format!("http://127.0.0.1:{api_port}");

    let cases: Vec<Case> = (0..CASES).map(|_| draw(&mut rng, &frames, &policy, &token)).collect();
    let top_origin = format!("http://top-{w}.test:{pa}");
    let per_frame: Vec<Value> = (0..frames.len())
        .map(|i| {
            let mine: Vec<Value> = cases
                .iter()
                .enumerate()
                .filter(|(_, c)| c.frame == i)
                .map(|(n, c)| {
                    json!({
                        "n": n, "method": c.method, "path": c.path, "credentials": c.credentials, "body": c.body,
                        "headers": c.headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
                    })
                })
                .collect();
            Value::Array(mine)
        })
        .collect();
    let config = json!({
        "api": api_origin,
        "frames": frames.iter().enumerate().map(|(i, f)| json!({
            "src": format!("{}/frame?i={i}", f.origin.clone().unwrap_or_else(|| top_origin.clone())),
            "sandboxed": f.origin.is_none(),
        })).collect::<Vec<_>>(),
        "cases": per_frame,
    });
    let config = config.to_string().replace("</", "<\\/");
    let site =
        chromium::Site::new([("/top".to_string(), top_html(&config)), ("/frame".to_string(), frame_html(&config))]);
    let _serving: Vec<_> = listeners.into_iter().map(|l| chromium::serve(l, site.clone())).collect();

    let profile = tempfile::Builder::new().prefix("kit-chromium-").tempdir().unwrap();
    let mut args = chromium::headless_args(profile.path());
    args.push("--host-resolver-rules=MAP *.test 127.0.0.1".to_string());
    args.push(format!("{top_origin}/top"));
    let browser_started = Instant::now();
    let mut child = tokio::process::Command::new(&browser)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .expect("Chromium starts");
    let pgid = child.id().map(|p| p as i32).unwrap_or(0);
    let stderr = child.stderr.take().unwrap();
    let said = tokio::spawn(async move {
        let mut text = String::new();
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(l)) = lines.next_line().await {
            if text.len() < 64 * 1024 {
                text.push_str(&l);
                text.push('\n');
            }
        }
        text
    });
    let posted = site.verdicts(BROWSER_LIMIT).await;
    harness::process::kill_group(pgid);
    let _ = child.wait().await;
    let browser_time = browser_started.elapsed();
    let Some(posted) = posted else {
        let said = said.await.unwrap_or_default();
        panic!(
            "seed {seed}: Chromium did not report the page's verdicts within {} s; it said:\n{}",
            BROWSER_LIMIT.as_secs(),
            chromium::tail(&said, 30)
        );
    };
    let verdicts: BTreeMap<usize, Value> = serde_json::from_str::<Vec<Value>>(&posted)
        .expect("the page posts a JSON array")
        .into_iter()
        .filter_map(|v| Some((v.get("n")?.as_u64()? as usize, v)))
        .collect();

    let mut wrong = Vec::new();
    let mut tally: BTreeMap<String, [usize; 2]> = BTreeMap::new();
    let (mut preflighted, mut read) = (0, 0);
    for (n, case) in cases.iter().enumerate() {
        let want = expect(case, &frames, &policy);
        preflighted += usize::from(needs_preflight(case));
        let v = verdicts.get(&n).cloned().unwrap_or(Value::Null);
        let got_read = v.get("read").and_then(Value::as_bool);
        let got_id = v.get("rid").and_then(Value::as_bool).unwrap_or(false);
        read += usize::from(got_read == Some(true));
        tally.entry(frames[case.frame].what.clone()).or_default()[usize::from(got_read == Some(true))] += 1;
        if got_read != Some(want) || (want && !got_id) {
            wrong.push((case.clone(), want, v));
        }
    }
    let total = started.elapsed();
    let mut summary = format!(
        "chromium_agrees: {} cases ({read} read, {} blocked, {preflighted} preflighted) in {:.1} s of browser time, {:.1} s in all",
        cases.len(),
        cases.len() - read,
        browser_time.as_secs_f64(),
        total.as_secs_f64()
    );
    for (what, [blocked, read]) in &tally {
        summary.push_str(&format!("\n  {what:<45} read {read:>3}  blocked {blocked:>3}"));
    }
    say(&summary);
    if !wrong.is_empty() {
        wrong.sort_by_key(|(c, _, _)| (c.headers.len(), c.body.is_some()));
        let shown: Vec<String> = wrong
            .iter()
            .take(8)
            .map(|(c, want, got)| {
                format!(
                    "- from {} ({}): fetch(\"{}{}\", {{method: {:?}, credentials: {:?}, headers: {:?}, body: {:?}}})\n  the reference's policy says {}, Chromium: {got}",
                    frames[c.frame].origin.as_deref().unwrap_or("null"),
                    frames[c.frame].what,
                    api_origin,
                    c.path,
                    c.method,
                    c.credentials,
                    c.headers,
                    c.body,
                    if *want { "readable (with X-Request-Id)" } else { "blocked" },
                )
            })
            .collect();
        panic!(
            "seed {seed}: Chromium disagrees with the reference's CORS decisions in {} of {} cases (smallest first), ALLOWED_ORIGINS={} ALLOWED_HEADERS={}:\n{}",
            wrong.len(),
            cases.len(),
            listed.join(","),
            allowed_env.join(","),
            shown.join("\n")
        );
    }
    // Not vacuous: both verdicts, and both kinds of request, were seen.
    assert!(read > 0 && read < cases.len(), "seed {seed}: every case ended alike ({read} read)");
    assert!(preflighted > 0 && preflighted < cases.len(), "seed {seed}: the cases were all of one kind");
}

fn draw(rng: &mut Rng, frames: &[Frame], policy: &Policy, token: &str) -> Case {
    const METHODS: &[&str] =
        &["GET", "GET", "GET", "POST", "POST", "POST", "HEAD", "PUT", "DELETE", "PATCH", "post", "get", "patch", "Put"];
    let method = rng.pick(METHODS).to_string();
    let path = match rng.below(8) {
        0 => format!("/api/{}", rng.word(4)),
        n => ["/api/public", "/api/notes", "/api/me"][n % 3].to_string(),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for _ in 0..rng.below(4) {
        let (name, value) = match rng.below(9) {
            0 => (
                "Content-Type".to_string(),
                rng.pick(&[
                    "text/plain",
                    "application/json",
                    "text/plain;charset=utf-8",
                    "application/x-www-form-urlencoded",
                    "multipart/form-data; boundary=x",
                    "text/html",
                ])
                .to_string(),
            ),
            1 => ("Authorization".to_string(), format!("Bearer {token}")),
            2 => (policy.allowed_headers[2 + rng.below(2)].clone(), "1".to_string()),
            3 => (format!("x-{}", rng.word(5)), "1".to_string()),
            4 => ("Accept".to_string(), rng.pick(&["application/json", "text/*", "a\"b", "x(y)"]).to_string()),
            5 => ("Accept-Language".to_string(), rng.pick(&["fr", "en-US;q=0.5", "fr@x"]).to_string()),
            6 => ("Content-Language".to_string(), rng.pick(&["de", "x{y}"]).to_string()),
            7 => ("X-Requested-With".to_string(), "XMLHttpRequest".to_string()),
            _ => ("Content-Type".to_string(), "application/json".to_string()),
        };
        if headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(&name)) {
            continue;
        }
        let name = rng.any_case(&name);
        headers.push((name, value));
    }
    let upper = method.to_ascii_uppercase();
    let body =
        (upper != "GET" && upper != "HEAD" && rng.below(2) == 0).then(|| format!("{{\"text\": \"{}\"}}", rng.word(5)));
    // Half the cases from a listed origin, where the preflight decides.
    let listed: Vec<usize> = (0..frames.len()).filter(|i| frames[*i].listed).collect();
    let frame = if rng.below(2) == 0 { *rng.pick(&listed) } else { rng.below(frames.len()) };
    let credentials = ["omit", "same-origin", "include"][rng.below(3)];
    Case { frame, method, path, headers, credentials, body }
}

/// Fetch's method normalisation: the six standard methods are uppercased,
/// any other (`patch`) stays as written.
fn normalised_method(m: &str) -> String {
    let upper = m.to_ascii_uppercase();
    if ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"].contains(&upper.as_str()) {
        upper
    } else {
        m.to_string()
    }
}

/// The names of the request's CORS-unsafe request headers, lowercase
/// (Fetch: "CORS-safelisted request-header").
fn unsafe_names(case: &Case) -> Vec<String> {
    let unsafe_byte = |b: u8| (b < 0x20 && b != 0x09) || b == 0x7f || b"\"():<>?@[\\]{}".contains(&b);
    let mut names: Vec<String> = case
        .headers
        .iter()
        .filter(|(k, v)| {
            let v = v.as_bytes();
            let safe = v.len() <= 128
                && match k.to_ascii_lowercase().as_str() {
                    "accept" => !v.iter().any(|b| unsafe_byte(*b)),
                    "accept-language" | "content-language" => {
                        v.iter().all(|b| b.is_ascii_alphanumeric() || b" *,-.;=".contains(b))
                    }
                    "content-type" => {
                        let essence =
                            String::from_utf8_lossy(v).split(';').next().unwrap_or("").trim().to_ascii_lowercase();
                        !v.iter().any(|b| unsafe_byte(*b))
                            && ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"]
                                .contains(&essence.as_str())
                    }
                    _ => false,
                };
            !safe
        })
        .map(|(k, _)| k.to_ascii_lowercase())
        .collect();
    names.sort();
    names
}

fn needs_preflight(case: &Case) -> bool {
    !["GET", "HEAD", "POST"].contains(&normalised_method(&case.method).as_str()) || !unsafe_names(case).is_empty()
}

/// The reference's decision as a browser applies it: an origin listed byte
/// for byte (never `null`); and for a preflighted request, a method on the
/// list (GET, POST) or CORS-safelisted (GET, HEAD, POST), and only allowed
/// header names.
fn expect(case: &Case, frames: &[Frame], policy: &Policy) -> bool {
    let origin_allowed = match &frames[case.frame].origin {
        Some(o) => policy.listed.iter().any(|l| l == o),
        None => false,
    };
    if !origin_allowed {
        return false;
    }
    if !needs_preflight(case) {
        return true;
    }
    let method_allowed = ["GET", "POST", "HEAD"].contains(&normalised_method(&case.method).as_str());
    method_allowed && unsafe_names(case).iter().all(|n| policy.allowed_headers.contains(n))
}

fn top_html(config: &str) -> String {
    format!(
        r#"<!doctype html>
<meta charset="utf-8">
<title>04-cors: Chromium against the reference</title>
<script>
const C = {config};
const results = [];
let pending = C.frames.length;
window.addEventListener("message", ev => {{
  if (!ev.data || !Array.isArray(ev.data.out)) return;
  results.push(...ev.data.out);
  if (--pending === 0) fetch("/verdicts", {{ method: "POST", body: JSON.stringify(results) }});
}});
window.addEventListener("DOMContentLoaded", () => {{
  C.frames.forEach(f => {{
    const el = document.createElement("iframe");
    if (f.sandboxed) el.sandbox = "allow-scripts";
    el.src = f.src;
    document.body.appendChild(el);
  }});
}});
</script>
<body></body>
"#
    )
}

fn frame_html(config: &str) -> String {
    format!(
        r#"<!doctype html>
<meta charset="utf-8">
<script>
const C = {config};
const i = Number(new URLSearchParams(location.search).get("i"));
async function attempt(c) {{
  const init = {{ method: c.method, headers: c.headers, credentials: c.credentials, mode: "cors" }};
  if (c.body !== null) init.body = c.body;
  try {{
    const r = await fetch(C.api + c.path, init);
    await r.text();
    return {{ n: c.n, read: true, status: r.status, rid: r.headers.get("x-request-id") !== null }};
  }} catch (e) {{
    return {{ n: c.n, read: false, error: String(e) }};
  }}
}}
(async () => {{
  const out = [];
  for (const c of C.cases[i]) out.push(await attempt(c));
  parent.postMessage({{ out }}, "*");
}})();
</script>
"#
    )
}

/// Straight to stderr, past the test harness's capture: the seed, the
/// figures and a NOT RUN must show in every log, passing or not.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

fn random_seed() -> u64 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (t.as_nanos() as u64) ^ u64::from(std::process::id()).rotate_left(32)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The reference server: `$GRADE_REFERENCE`, else built with cargo (cached
/// in the kit's target folder like any build).
fn reference_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("GRADE_REFERENCE").map(PathBuf::from).filter(|p| p.is_file()) {
        return p;
    }
    let kit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = std::process::Command::new(cargo)
        .current_dir(&kit)
        .args(["build", "--quiet", "-p", "cors-solution", "--bin", "cors-solution", "--message-format", "json"])
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "the reference solution of 04-cors did not build");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "cors-solution")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the reference binary")
}
