//! Hidden suite of 01-bind. The student's server runs as its own process on a
//! free port and is graded only through what it prints and what it answers
//! over TCP. Names, paths and file contents are drawn from the seed, so a
//! server that hard-codes answers fails.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use harness::http::{Client, Exchange, Request};
use harness::process::{Proc, Spawn};
use harness::snapshot;
use harness::{ensure, fail, CheckResult, Ctx, Failure};
use serde_json::{json, Value};

fn main() -> ExitCode {
    harness::Suite::new("01-bind", env!("CARGO_MANIFEST_DIR"))
        .subject_bin("bind")
        .check("bind.listens", bind_listens)
        .check("bind.port_taken", bind_port_taken)
        .check("bind.bad_port", bind_bad_port)
        .check("json.health", json_health)
        .check("json.users_list", json_users_list)
        .check("json.users_create", json_users_create)
        .check("json.bad_body", json_bad_body)
        .check("static.index", static_index)
        .check("static.content_types", static_content_types)
        .check("static.head", static_head)
        .check("static.traversal", static_traversal)
        .check("errors.not_found", errors_not_found)
        .check("concurrency.slow_client", concurrency_slow_client)
        .main()
}

/// A scratch website for one run: a copy of the kit's `public/` plus a
/// randomly named extra folder and file, and bait files just outside it.
struct Site {
    _dir: tempfile::TempDir,
    public: PathBuf,
    /// `folder/name.css`, served only by a server that really reads files.
    extra_css: String,
    extra_json: String,
    /// Contents of the files outside `public/` that must never be served.
    secret: String,
    secret_name: String,
}

fn make_site(cx: &mut Ctx) -> Result<Site, Failure> {
    let io = |e: std::io::Error| Failure::new(format!("could not prepare the test website: {e}"));
    let dir = tempfile::Builder::new().prefix("grade-site-").tempdir().map_err(io)?;
    let public = dir.path().join("public");
    copy_dir(&cx.exercise_dir().join("public"), &public).map_err(io)?;
    let folder = format!("assets-{}", cx.word(6));
    std::fs::create_dir_all(public.join(&folder)).map_err(io)?;
    let extra_css = format!("{folder}/{}.css", cx.word(7));
    std::fs::write(
        public.join(&extra_css),
        format!("/* {} */\nbody {{ color: #{:06x}; }}\n", cx.word(12), cx.rng().u32(..0xffffff)),
    )
    .map_err(io)?;
    let extra_json = format!("data-{}.json", cx.word(5));
    std::fs::write(public.join(&extra_json), json!({ "token": cx.word(16) }).to_string()).map_err(io)?;
    let secret = format!("secret-{}", cx.word(24));
    let secret_name = format!("{}.txt", cx.word(8));
    std::fs::write(dir.path().join(&secret_name), &secret).map_err(io)?;
    std::fs::write(dir.path().join("Cargo.toml"), format!("[package]\n# {secret}\n")).map_err(io)?;
    Ok(Site { public, extra_css, extra_json, secret, secret_name, _dir: dir })
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Start the student's server on a free port, serving `site`.
async fn start(cx: &mut Ctx, site: &Site) -> Result<(Proc, Client), Failure> {
    harness::process::start_http(cx, Spawn::default().env("PUBLIC_DIR", site.public.to_string_lossy())).await
}

async fn bind_listens(mut cx: Ctx) -> CheckResult {
    let site = make_site(&mut cx)?;
    // `start` fails unless the printed address is the one PORT named and it
    // accepts connections.
    let (_proc, _client) = start(&mut cx, &site).await?;
    Ok(())
}

async fn bind_port_taken(cx: Ctx) -> CheckResult {
    let holder = TcpListener::bind("127.0.0.1:0").map_err(|e| Failure::new(format!("could not take a port: {e}")))?;
    let port = holder.local_addr().map_err(|e| Failure::new(e.to_string()))?.port();
    let spec = Spawn::default().env("HOST", "127.0.0.1").env("PORT", port.to_string());
    let mut proc = Proc::start(&cx, cx.subject(), &spec)?;
    let Some(exited) = proc.wait_exit(Duration::from_secs(5)).await else {
        fail!(
            "with port {port} already taken by another program, the server was still running after 5 s; \
             it should exit with an error that says the address is in use"
        );
    };
    let out = exited.output.to_lowercase();
    let explain = |msg: String| Err(Failure::new(msg).with_output(exited.output.clone()));
    match exited.code {
        Some(0) => explain(format!(
            "with port {port} already taken, the server exited with code 0; a failure must exit non-zero"
        )),
        Some(101) => explain(
            "with the port already taken, the server panicked; print a clear error and exit non-zero instead".into(),
        ),
        _ if out.contains("listening on") => {
            explain("the server printed `listening on` although the port was taken".into())
        }
        _ if !out.contains("in use") => explain(format!(
            "with port {port} already taken, the server exited without saying the address is in use; \
             name the address and say how to pick another port (PORT=...)"
        )),
        _ if !exited.output.contains("PORT") => explain(
            "the error says the address is in use but not how to pick another port: mention the PORT variable".into(),
        ),
        _ => Ok(()),
    }
}

async fn bind_bad_port(mut cx: Ctx) -> CheckResult {
    let bad = format!("{}{}", cx.word(3), cx.rng().u16(..));
    let spec = Spawn::default().env("HOST", "127.0.0.1").env("PORT", bad.clone());
    let mut proc = Proc::start(&cx, cx.subject(), &spec)?;
    let Some(exited) = proc.wait_exit(Duration::from_secs(5)).await else {
        fail!("with PORT={bad}, the server was still running after 5 s; it should refuse the value and exit");
    };
    let output = exited.output.clone();
    let result = match exited.code {
        Some(0) => Err(format!("with PORT={bad}, the server exited with code 0; a bad setting must exit non-zero")),
        Some(101) => {
            Err(format!("with PORT={bad}, the server panicked; print which setting is wrong and exit non-zero"))
        }
        _ if !output.contains("PORT") => Err(format!("with PORT={bad}, the error does not name the PORT variable")),
        _ => Ok(()),
    };
    result.map_err(|m| Failure::new(m).with_output(output))
}

async fn json_health(mut cx: Ctx) -> CheckResult {
    let site = make_site(&mut cx)?;
    let (_proc, client) = start(&mut cx, &site).await?;
    let ex = client.send(Request::get("/health")).await?;
    expect_json(&ex, 200)?;
    ensure_eq_json(&ex, &json!({"status": "ok"}))?;
    snapshot::compare(&cx, "json.health", &ex.transcript(&["content-type"], &[]))
}

async fn json_users_list(mut cx: Ctx) -> CheckResult {
    let site = make_site(&mut cx)?;
    let (_proc, client) = start(&mut cx, &site).await?;
    let ex = client.send(Request::get("/users")).await?;
    expect_json(&ex, 200)?;
    if !ex.response.json().is_some_and(|v| v.is_array()) {
        return Err(ex.fail("GET /users must answer a JSON array of users"));
    }
    snapshot::compare(&cx, "json.users_list", &ex.transcript(&["content-type"], &[]))
}

fn random_name(cx: &mut Ctx) -> String {
    let word = |cx: &mut Ctx| {
        let w = cx.word(5);
        let mut c = w.chars();
        let first = c.next().map(|f| f.to_ascii_uppercase()).unwrap_or('X');
        format!("{first}{}", c.as_str())
    };
    format!("{} {}", word(cx), word(cx))
}

async fn json_users_create(mut cx: Ctx) -> CheckResult {
    let site = make_site(&mut cx)?;
    let (_proc, client) = start(&mut cx, &site).await?;
    let name = random_name(&mut cx);
    let created = client.send(Request::new("POST", "/users").json(&json!({ "name": name }))).await?;
    expect_json(&created, 201)?;
    let body = created.response.json().unwrap_or(Value::Null);
    let Some(id) = body.get("id").and_then(Value::as_u64) else {
        return Err(created.fail("the created user must have a numeric `id`"));
    };
    ensure!(
        body.get("name").and_then(Value::as_str) == Some(name.as_str()),
        "the created user's `name` must be the name that was sent ({name:?}), got {body}"
    );
    let list = client.send(Request::get("/users")).await?;
    expect_json(&list, 200)?;
    let listed = list.response.json().and_then(|v| v.as_array().cloned()).is_some_and(|users| {
        users.iter().any(|u| u.get("id").and_then(Value::as_u64) == Some(id) && u.get("name") == body.get("name"))
    });
    if !listed {
        return Err(list.fail(format!("after POST /users created {name:?} with id {id}, GET /users does not list it")));
    }
    let second_name = random_name(&mut cx);
    let second = client.send(Request::new("POST", "/users").json(&json!({ "name": second_name }))).await?;
    expect_json(&second, 201)?;
    let second_id = second.response.json().and_then(|v| v.get("id").and_then(Value::as_u64));
    if second_id.is_none_or(|s| s == id) {
        return Err(second.fail("two created users must get different ids"));
    }
    snapshot::compare(
        &cx,
        "json.users_create",
        &created.transcript(&["content-type", "location"], &[(&name, "[name]")]),
    )
}

async fn json_bad_body(mut cx: Ctx) -> CheckResult {
    let site = make_site(&mut cx)?;
    let (proc, client) = start(&mut cx, &site).await?;
    let cases = [
        (
            "invalid JSON",
            Request::new("POST", "/users").header("content-type", "application/json").body(r#"{"name": "#),
        ),
        ("no Content-Type", Request::new("POST", "/users").body(json!({"name": "Ada"}).to_string())),
        ("a number as name", Request::new("POST", "/users").json(&json!({"name": cx.rng().u32(..)}))),
        ("no name", Request::new("POST", "/users").json(&json!({"nickname": cx.word(6)}))),
        ("an empty name", Request::new("POST", "/users").json(&json!({"name": "   "}))),
    ];
    let mut first = None;
    for (what, request) in cases {
        let ex = match client.send(request).await {
            Ok(ex) => ex,
            Err(f) => {
                return Err(Failure::new(format!("a body with {what}: {}", f.message())).with_output(proc.output()))
            }
        };
        if ex.response.status != 400 {
            return Err(ex.fail(format!(
                "a body with {what} must get 400 Bad Request with a JSON error, got {}",
                ex.response.status
            )));
        }
        expect_error_body(&ex)?;
        first.get_or_insert(ex);
    }
    let alive = client.send(Request::get("/health")).await?;
    ensure!(alive.response.status == 200, "after the bad bodies, GET /health no longer answers 200");
    let first = first.expect("cases ran");
    let message = error_message(&first).unwrap_or_default();
    snapshot::compare(&cx, "json.bad_body", &first.transcript(&["content-type"], &[(&message, "[message]")]))
}

async fn static_index(mut cx: Ctx) -> CheckResult {
    let site = make_site(&mut cx)?;
    let (_proc, client) = start(&mut cx, &site).await?;
    let ex = client.send(Request::get("/")).await?;
    expect_file(&ex, &site.public.join("index.html"), &["text/html"])
}

async fn static_content_types(mut cx: Ctx) -> CheckResult {
    let site = make_site(&mut cx)?;
    let (_proc, client) = start(&mut cx, &site).await?;
    let files: [(&str, &[&str]); 5] = [
        ("index.html", &["text/html"]),
        ("style.css", &["text/css"]),
        ("app.js", &["text/javascript", "application/javascript"]),
        (&site.extra_css, &["text/css"]),
        (&site.extra_json, &["application/json"]),
    ];
    for (file, types) in files {
        let ex = client.send(Request::get(format!("/{file}"))).await?;
        expect_file(&ex, &site.public.join(file), types)?;
    }
    Ok(())
}

async fn static_head(mut cx: Ctx) -> CheckResult {
    let site = make_site(&mut cx)?;
    let (_proc, client) = start(&mut cx, &site).await?;
    for (path, file) in
        [("/", "index.html"), ("/style.css", "style.css"), (&format!("/{}", site.extra_css), site.extra_css.as_str())]
    {
        let size = std::fs::metadata(site.public.join(file)).map(|m| m.len()).unwrap_or(0);
        let get = client.send(Request::get(path)).await?;
        let head = client.send_raw(Request::new("HEAD", path)).await?;
        if head.response.status != 200 {
            return Err(head.fail(format!("HEAD {path} must answer 200 like GET, got {}", head.response.status)));
        }
        if head.response.media_type() != get.response.media_type() {
            return Err(head.fail(format!(
                "HEAD {path} must send the same Content-Type as GET ({:?})",
                get.response.media_type()
            )));
        }
        if head.response.header("content-length") != Some(size.to_string().as_str()) {
            return Err(head.fail(format!("HEAD {path} must send Content-Length: {size}, the size GET would send")));
        }
        if !head.response.body.is_empty() {
            return Err(head.fail(format!("HEAD {path} must send no body, got {} bytes", head.response.body.len())));
        }
    }
    Ok(())
}

async fn static_traversal(mut cx: Ctx) -> CheckResult {
    let site = make_site(&mut cx)?;
    let (proc, client) = start(&mut cx, &site).await?;
    let s = &site.secret_name;
    let sub = cx.word(4);
    let attempts = [
        format!("/../{s}"),
        format!("/%2e%2e/{s}"),
        format!("/..%2f{s}"),
        format!("/%2e%2e%2f{s}"),
        format!("/{sub}/..%2f..%2f{s}"),
        format!("/%2E%2E/Cargo.toml"),
        "/../Cargo.toml".to_string(),
        format!("/./../{s}"),
    ];
    for path in attempts {
        let ex = client.send_raw(Request::get(path.clone())).await.map_err(|f| f.with_output(proc.output()))?;
        if ex.response.text().contains(&site.secret) {
            return Err(ex.fail(format!(
                "GET {path} served a file from OUTSIDE the public folder: decode the path, then refuse any `..` segment"
            )));
        }
        if !(400..500).contains(&ex.response.status) {
            return Err(ex.fail(format!(
                "GET {path} must be refused with a 4xx status (404 is fine), got {}",
                ex.response.status
            )));
        }
    }
    Ok(())
}

async fn errors_not_found(mut cx: Ctx) -> CheckResult {
    let site = make_site(&mut cx)?;
    let (_proc, client) = start(&mut cx, &site).await?;
    let word = cx.word(10);
    let path = format!("/no-such-{word}");
    let ex = client.send(Request::get(path.clone())).await?;
    if ex.response.status != 404 {
        return Err(ex.fail(format!("GET {path} must answer 404 Not Found, got {}", ex.response.status)));
    }
    expect_error_body(&ex)?;
    let message = error_message(&ex).unwrap_or_default();
    snapshot::compare(
        &cx,
        "errors.not_found",
        &ex.transcript(&["content-type"], &[(&message, "[message]"), (&word, "[word]")]),
    )
}

async fn concurrency_slow_client(mut cx: Ctx) -> CheckResult {
    use tokio::io::AsyncWriteExt;
    let site = make_site(&mut cx)?;
    let (proc, client) = start(&mut cx, &site).await?;
    // Two clients send half a request and then say nothing more.
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut s = tokio::net::TcpStream::connect(client.addr())
            .await
            .map_err(|e| Failure::new(format!("could not connect: {e}")))?;
        s.write_all(b"GET /health HTTP/1.1\r\nHost: slow\r\n")
            .await
            .map_err(|e| Failure::new(format!("could not write: {e}")))?;
        stalled.push(s);
    }
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let c = client.clone();
        tasks.push(tokio::spawn(async move { c.send(Request::get("/health")).await }));
    }
    for t in tasks {
        match t.await {
            Ok(Ok(ex)) if ex.response.status == 200 => {}
            Ok(Ok(ex)) => return Err(ex.fail("GET /health failed while a slow client was connected")),
            _ => {
                return Err(Failure::new(
                    "while one client had sent half a request and stalled, other clients got no answer: \
                     serve each connection independently (axum::serve does) instead of one at a time",
                )
                .with_request(format!("curl -i http://{}/health", client.addr()))
                .with_output(proc.output()))
            }
        }
    }
    drop(stalled);
    Ok(())
}

fn expect_json(ex: &Exchange, status: u16) -> CheckResult {
    if ex.response.status != status {
        return Err(ex.fail(format!(
            "{} {} must answer {status}, got {}",
            ex.request.method, ex.request.path, ex.response.status
        )));
    }
    if ex.response.media_type().as_deref() != Some("application/json") {
        return Err(ex.fail(format!(
            "{} {} must send Content-Type: application/json, got {:?}",
            ex.request.method,
            ex.request.path,
            ex.response.header("content-type").unwrap_or("(none)")
        )));
    }
    if ex.response.json().is_none() {
        return Err(ex.fail("the body is not valid JSON"));
    }
    Ok(())
}

fn ensure_eq_json(ex: &Exchange, expected: &Value) -> CheckResult {
    match ex.response.json() {
        Some(v) if &v == expected => Ok(()),
        _ => Err(ex.fail(format!("{} {} must answer {expected}", ex.request.method, ex.request.path))),
    }
}

fn error_message(ex: &Exchange) -> Option<String> {
    ex.response.json()?.get("error")?.as_str().map(str::to_string)
}

fn expect_error_body(ex: &Exchange) -> CheckResult {
    if ex.response.media_type().as_deref() != Some("application/json") || error_message(ex).is_none() {
        return Err(ex.fail(format!(
            "an error must be JSON like {{\"error\": \"what went wrong\"}} with Content-Type: application/json (status {})",
            ex.response.status
        )));
    }
    Ok(())
}

fn expect_file(ex: &Exchange, file: &Path, types: &[&str]) -> CheckResult {
    let path = &ex.request.path;
    if ex.response.status != 200 {
        return Err(ex.fail(format!(
            "GET {path} must serve the file {}, got status {}",
            short(file),
            ex.response.status
        )));
    }
    let media = ex.response.media_type().unwrap_or_default();
    if !types.contains(&media.as_str()) {
        return Err(ex.fail(format!(
            "GET {path} must be sent with Content-Type: {}, got {:?}; browsers refuse stylesheets and scripts with the wrong type",
            types[0],
            ex.response.header("content-type").unwrap_or("(none)")
        )));
    }
    let expected = std::fs::read(file).map_err(|e| Failure::new(format!("cannot read {}: {e}", file.display())))?;
    if ex.response.body != expected {
        return Err(ex.fail(format!("GET {path} must send the bytes of the file {} as they are on disk", short(file))));
    }
    Ok(())
}

fn short(p: &Path) -> String {
    let parts: Vec<_> = p.components().rev().take(2).collect();
    parts.iter().rev().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}
