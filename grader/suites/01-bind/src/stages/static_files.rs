//! Stage `static`: the frontend's files, with the content type of their
//! extension, `HEAD` like `GET`, and nothing from outside the folder.

use harness::differential::Differential;
use harness::http::Request;
use harness::{CheckResult, Ctx};

use crate::compare::{encode_segment, hex, probe, HttpCase};
use crate::expect::expect_file;
use crate::fixtures::{make_site, start, Pair, Site};

pub async fn index(mut cx: Ctx) -> CheckResult {
    let site = make_site(&mut cx)?;
    let (_proc, client) = start(&mut cx, &site).await?;
    let ex = client.send(Request::get("/")).await?;
    expect_file(&ex, &site.public.join("index.html"), &["text/html"])
}

/// The URL path of a file of the site, each segment percent-encoded where
/// it must be and, at `rate`, where it may be.
fn url_of(rng: &mut fastrand::Rng, rel: &str, rate: f64) -> String {
    rel.split('/').map(|seg| format!("/{}", encode_segment(rng, seg, rate))).collect()
}

pub async fn content_types(mut cx: Ctx) -> CheckResult {
    let site = make_site(&mut cx)?;
    let (_proc, client) = start(&mut cx, &site).await?;
    // The kit's own files first, with the plain message of a wrong type.
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
    drop(client);
    // Then every file of the site against the reference: each extension of
    // the book's table, in upper and mixed case too, unknown extensions,
    // no extension, several dots.
    let pair = Pair::start(&cx, &site).await?;
    let mut cases: Vec<HttpCase> =
        site.files.iter().map(|f| HttpCase::new("GET", url_of(cx.rng(), &f.rel, 0.0))).collect();
    cx.rng().shuffle(&mut cases);
    Differential::new(
        "Each file is sent with the Content-Type of its extension, from the table in the book (`.css` is \
         text/css, `.mjs` text/javascript, ...), whatever the case of the extension (`.CSS` too), and \
         application/octet-stream for any other extension or none. Take the extension with \
         Path::extension (the part after the LAST dot) and lower-case it before the lookup",
    )
    .run(cases, |side, case| probe(pair.client(side), case))
    .await
    .map_err(|f| f.with_output(pair.output()))
}

pub async fn head(mut cx: Ctx) -> CheckResult {
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
    drop(client);
    // Then HEAD of random files and missing ones, against the reference.
    let pair = Pair::start(&cx, &site).await?;
    let mut cases = Vec::new();
    for _ in 0..12 {
        let f = &site.files[cx.rng().usize(..site.files.len())];
        let url = url_of(cx.rng(), &f.rel, 0.1);
        cases.push(HttpCase::new("HEAD", url));
    }
    cases.push(HttpCase::new("HEAD", format!("/no-such-{}.css", cx.word(6))));
    cases.push(HttpCase::new("HEAD", format!("/{}", site.folders[0])));
    Differential::new(
        "HEAD is GET without the body: the same status and headers, Content-Length the size of the file, \
         and no body",
    )
    .run(cases, |side, case| probe(pair.client(side), case))
    .await
    .map_err(|f| f.with_output(pair.output()))
}

pub async fn traversal(mut cx: Ctx) -> CheckResult {
    let site = make_site(&mut cx)?;
    let (proc, client) = start(&mut cx, &site).await?;
    let s = &site.secret_name;
    let sub = cx.word(4);
    let mut attempts = vec![
        format!("/../{s}"),
        format!("/%2e%2e/{s}"),
        format!("/..%2f{s}"),
        format!("/%2e%2e%2f{s}"),
        format!("/{sub}/..%2f..%2f{s}"),
        "/%2E%2E/Cargo.toml".to_string(),
        "/../Cargo.toml".to_string(),
        format!("/./../{s}"),
        format!("/.%2e/{s}"),
        format!("/%2e./{s}"),
        format!("/{}/..%2F..%2F{s}", site.folders[0]),
        format!("/{}/%2e%2e/%2e%2e/{s}", site.folders[0]),
        format!("/..%5c{s}"),
        format!("/%2e%2e%5c{s}"),
    ];
    // Two more spellings drawn at random: every dot and slash encoded or
    // not, in either hex case.
    for _ in 0..2 {
        let rng = cx.rng();
        let mut p = String::new();
        for _ in 0..rng.usize(1..3) {
            for c in ['.', '.', '/'] {
                if rng.bool() {
                    p.push_str(&hex(rng, c as u8));
                } else {
                    p.push(c);
                }
            }
        }
        attempts.push(format!("/{p}{s}"));
    }
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
    for name in &site.refused {
        let path = format!("/{}", encode_segment(cx.rng(), name, 0.0));
        let ex = client.send_raw(Request::get(path.clone())).await.map_err(|f| f.with_output(proc.output()))?;
        if ex.response.status != 404 {
            return Err(ex.fail(format!(
                "GET {path} must be refused with 404: a segment with `\\` in it is a path on Windows, and the \
                 book refuses it everywhere; got {}",
                ex.response.status
            )));
        }
    }
    Ok(())
}

/// Random paths against the reference: files of the site reached through
/// percent-encodings, dot segments, empty segments, queries, folders,
/// missing files, names at and over the length limit.
pub async fn paths(mut cx: Ctx) -> CheckResult {
    let site = make_site(&mut cx)?;
    let pair = Pair::start(&cx, &site).await?;
    // Each kind of path once, then more at random.
    let mut cases: Vec<HttpCase> = (0..KINDS).map(|kind| path_case(&mut cx, &site, kind)).collect();
    cx.rng().shuffle(&mut cases);
    for _ in 0..24 {
        let kind = cx.rng().u8(..KINDS);
        cases.push(path_case(&mut cx, &site, kind));
    }
    Differential::new(
        "A URL path is decoded first (%XX, including non-ASCII names sent as UTF-8 bytes), then split on `/`; \
         any segment that is `..`, `.` or empty, or holds `\\` or NUL, is a 404, and so is a folder or a file \
         that is not there. The query (`?...`) is not part of the path: use uri.path(). Errors from the file \
         system (a name too long, a file used as a folder) are a 404 too, never a 500 or a dropped connection",
    )
    .run(cases, |side, case| probe(pair.client(side), case))
    .await
    .map_err(|f| f.with_output(pair.output()))
}

/// How many kinds of path [`path_case`] draws.
const KINDS: u8 = 20;

fn path_case(cx: &mut Ctx, site: &Site, kind: u8) -> HttpCase {
    let rng = cx.rng();
    let file = &site.files[rng.usize(..site.files.len())].rel;
    let method = if rng.u8(..6) == 0 { "HEAD" } else { "GET" };
    let rate = [0.0, 0.1, 0.5][rng.usize(..3)];
    let url = url_of(rng, file, rate);
    let path = match kind {
        0..=7 => url,
        8 => format!("{url}?v={}", rng.u16(..)),
        9 => format!("{url}?{}=%2e%2e/x", rng.u8(..)),
        // A dot segment somewhere.
        10 => insert_segment(rng, &url, &[".", "%2e", "%2E"]),
        11 => insert_segment(rng, &url, &["x/..", "x/%2e%2e", "x/.%2e"]),
        // An empty segment, or a trailing slash.
        12 => insert_segment(rng, &url, &[""]),
        13 => format!("{url}/"),
        // The file used as a folder.
        14 => format!("{url}/{}", rng.u8(..)),
        // A folder, with or without the slash.
        15 => {
            let folder = &site.folders[rng.usize(..site.folders.len())];
            let slash = if rng.bool() { "/" } else { "" };
            format!("{}{slash}", url_of(rng, folder, rate))
        }
        // Names too long for the file system, and missing ones.
        16 => url_of(rng, &site.too_long, rate),
        17 => {
            let tail = if rng.bool() { "x" } else { ".bak" };
            url_of(rng, &format!("{file}{tail}"), rate)
        }
        // The file's name in upper case: another name on Linux.
        18 => {
            let upper = file.to_uppercase();
            if upper == *file {
                url
            } else {
                url_of(rng, &upper, rate)
            }
        }
        // Bytes that are not UTF-8, or NUL.
        _ => {
            let bad = ["%ff", "%c3%28", "%00"][rng.usize(..3)];
            format!("{url}{bad}")
        }
    };
    HttpCase::new(method, path)
}

/// `url` with one more segment before a random one of its segments.
fn insert_segment(rng: &mut fastrand::Rng, url: &str, choices: &[&str]) -> String {
    let segments: Vec<&str> = url.trim_start_matches('/').split('/').collect();
    let at = rng.usize(..segments.len());
    let extra = choices[rng.usize(..choices.len())];
    let mut out = String::new();
    for (i, seg) in segments.iter().enumerate() {
        if i == at {
            out.push('/');
            out.push_str(extra);
        }
        out.push('/');
        out.push_str(seg);
    }
    out
}
