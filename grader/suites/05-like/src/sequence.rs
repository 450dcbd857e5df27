//! Differential cases: a seed file and a sequence of requests (with restarts
//! in between), played against your server and the reference, each on a
//! fresh database made from the same seed file. A side's answer is the
//! normalised transcript of every step, then the state (every post as every
//! user, every user's notifications). Only what may legitimately differ is
//! normalised: error wording, notification ids (placeholders by order of
//! appearance), parameters of the challenge other than `error`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use harness::differential::{reference, Case, Side};
use harness::http::{Client, Exchange, Request};
use harness::process::Proc;
use harness::{Ctx, Failure};
use serde_json::Value;

use crate::api::bearer;
use crate::world::{Seed, World};

/// One request of a sequence, concrete: what goes on the wire, and how the
/// report names it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: &'static str,
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<&'static str>,
    pub body: Option<String>,
    /// `POST /api/posts/123456/like as Ada Lovelace`, with what is odd about
    /// the request (its header, its body).
    pub label: String,
}

impl Call {
    fn request(&self) -> Request {
        let mut r = Request::new(self.method, self.path.clone());
        if let Some(a) = &self.authorization {
            r = r.header("authorization", a.clone());
        }
        if let Some(ct) = self.content_type {
            r = r.header("content-type", ct);
        }
        if let Some(b) = &self.body {
            r = r.body(b.clone());
        }
        r
    }

    fn curl(&self) -> String {
        let mut s = String::from("curl -i");
        if self.method != "GET" {
            let _ = write!(s, " -X {}", self.method);
        }
        if let Some(a) = &self.authorization {
            let _ = write!(s, " -H {}", harness::http::shell_quote(&format!("Authorization: {a}")));
        }
        if let Some(b) = &self.body {
            // curl would add a form content type to a body of its own accord.
            let ct = self.content_type.unwrap_or("");
            let _ = write!(
                s,
                " -H {} --data-raw {}",
                harness::http::shell_quote(&format!("Content-Type: {ct}")),
                harness::http::shell_quote(b)
            );
        }
        let _ = write!(s, " {}", harness::http::shell_quote(&format!("localhost:3001{}", self.path)));
        s
    }
}

#[derive(Debug, Clone)]
pub enum Step {
    Call(Call),
    /// Kill the server (SIGKILL, as a crash) and start it again on the same
    /// database file.
    Restart,
}

/// A whole sequence on one fresh database: the unit that is compared, and
/// shrunk by dropping steps.
#[derive(Debug, Clone)]
pub struct Sequence {
    pub seed: Arc<Seed>,
    pub steps: Vec<Step>,
}

impl Case for Sequence {
    fn shrink(&self) -> Vec<Self> {
        // Halves, then quarters, ..., then single steps.
        let n = self.steps.len();
        let mut out = Vec::new();
        let mut chunk = n.div_ceil(2);
        while chunk >= 1 && n > 0 {
            let mut start = 0;
            while start < n {
                let mut steps = self.steps.clone();
                steps.drain(start..(start + chunk).min(n));
                out.push(Sequence { seed: self.seed.clone(), steps });
                start += chunk;
            }
            if chunk == 1 {
                break;
            }
            chunk = chunk.div_ceil(2).min(chunk - 1);
        }
        out
    }

    fn show(&self) -> String {
        let seed = serde_json::to_string(&self.seed.json()).unwrap_or_default();
        let mut s = String::from("# A fresh database made from this seed file:\n");
        let _ = writeln!(s, "cat > /tmp/like-seed.json <<'EOF'\n{seed}\nEOF\nrm -f /tmp/like-case.db /tmp/like-case.db-wal /tmp/like-case.db-shm");
        s.push_str("# Start your server in another terminal (and again after each restart below):\n");
        s.push_str("#   SEED_PATH=/tmp/like-seed.json DATABASE_PATH=/tmp/like-case.db PORT=3001 cargo run -p like\n");
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                Step::Call(call) => {
                    let _ = writeln!(s, "# {}. {}\n{}", i + 1, call.label, call.curl());
                }
                Step::Restart => {
                    let _ =
                        writeln!(s, "# {}. restart: kill -9 the server, start it again with the same command", i + 1);
                }
            }
        }
        s.push_str("# Then the state: every post as every user, and every user's notifications:\n");
        let tokens: Vec<String> = self.seed.users.iter().map(|u| harness::http::shell_quote(&u.token)).collect();
        let posts: Vec<String> = self.seed.posts.iter().map(|p| p.id.to_string()).collect();
        let _ = write!(
            s,
            "for t in {}; do for p in {}; do curl -s -H \"Authorization: Bearer $t\" localhost:3001/api/posts/$p; echo; done; \
             curl -s -H \"Authorization: Bearer $t\" localhost:3001/api/notifications; echo; done",
            tokens.join(" "),
            posts.join(" ")
        );
        s
    }
}

/// Play `case` on one side and return its normalised transcript. On your
/// side, a request that gets no answer (or a server that does not start
/// again) ends the case with an error that names the step.
pub async fn play(cx: &Ctx, side: Side, case: Sequence) -> Result<String, Failure> {
    let bin: PathBuf = match side {
        Side::Yours => cx.subject().to_path_buf(),
        Side::Reference => reference(cx)?.to_path_buf(),
    };
    let world = World::from_seed(case.seed.as_ref().clone())?;
    let mut server = Some(world.start_bin(cx, &bin).await?);
    let mut out = String::new();
    let mut ids = Vec::new();
    for (i, step) in case.steps.iter().enumerate() {
        match step {
            Step::Restart => {
                // Killed (SIGKILL) before the new one starts: only what was
                // committed survives.
                drop(server.take());
                let started = world.start_bin(cx, &bin).await.map_err(|f| {
                    Failure::new(format!(
                        "step {}: started again on the same DATABASE_PATH, the server failed: {}",
                        i + 1,
                        f.message()
                    ))
                    .with_output(f.output().unwrap_or_default().to_string())
                })?;
                server = Some(started);
                let _ = writeln!(out, "{:>2}. restart", i + 1);
            }
            Step::Call(call) => {
                let (proc, client) = server.as_ref().expect("a server runs between steps");
                let answer = ask(proc, client, call, i + 1, &mut ids).await?;
                let _ = writeln!(out, "{:>2}. {} -> {answer}", i + 1, call.label);
            }
        }
    }
    let (proc, client) = server.as_ref().expect("a server runs after the steps");
    out.push_str("then the state:\n");
    for post in &case.seed.posts {
        let mut views = Vec::new();
        for user in &case.seed.users {
            let call = Call {
                method: "GET",
                path: format!("/api/posts/{}", post.id),
                authorization: Some(bearer(&user.token)),
                content_type: None,
                body: None,
                label: format!("GET /api/posts/{} as {}", post.id, user.name),
            };
            views.push((call.label.clone(), user.name.clone(), send(proc, client, &call, 0).await?));
        }
        write_views(&mut out, post.id, &views, &mut ids);
    }
    for user in &case.seed.users {
        let call = Call {
            method: "GET",
            path: "/api/notifications".into(),
            authorization: Some(bearer(&user.token)),
            content_type: None,
            body: None,
            label: format!("GET /api/notifications as {}", user.name),
        };
        let answer = normalise(&send(proc, client, &call, 0).await?, &mut ids);
        let _ = writeln!(out, "    {} -> {answer}", call.label);
    }
    Ok(out)
}

async fn ask(proc: &Proc, client: &Client, call: &Call, step: usize, ids: &mut Vec<Value>) -> Result<String, Failure> {
    Ok(normalise(&send(proc, client, call, step).await?, ids))
}

async fn send(proc: &Proc, client: &Client, call: &Call, step: usize) -> Result<Exchange, Failure> {
    client.send(call.request()).await.map_err(|f| {
        let at = if step == 0 { "reading the state after the steps".to_string() } else { format!("step {step}") };
        Failure::new(format!("{at} ({}): {}", call.label, f.message())).with_output(proc.output())
    })
}

/// A post as every user sees it, in one line when the views differ only in
/// `liked` (which then lists who likes it), else one line per user.
fn write_views(out: &mut String, post: i64, views: &[(String, String, Exchange)], ids: &mut Vec<Value>) {
    let mut rests = Vec::new();
    let mut likers = Vec::new();
    for (_, name, ex) in views {
        let Some(mut body) = ex.response.json().filter(|_| ex.response.status == 200) else {
            break;
        };
        let Some(Value::Bool(liked)) = body.as_object_mut().and_then(|o| o.remove("liked")) else {
            break;
        };
        if liked {
            likers.push(name.clone());
        }
        let mut ex = ex.clone();
        ex.response.body = body.to_string().into_bytes();
        rests.push(normalise(&ex, ids));
    }
    if rests.len() == views.len() && rests.windows(2).all(|w| w[0] == w[1]) {
        let likers = if likers.is_empty() { "nobody".to_string() } else { likers.join(", ") };
        let _ = writeln!(out, "    GET /api/posts/{post} -> {} with \"liked\" true for: {likers}", rests[0]);
    } else {
        for (label, _, ex) in views {
            let _ = writeln!(out, "    {label} -> {}", normalise(ex, ids));
        }
    }
}

/// `STATUS [challenge] BODY`, the body as canonical JSON with what may differ
/// replaced; a body that is not JSON (or not labelled so) is shown as text.
fn normalise(ex: &Exchange, ids: &mut Vec<Value>) -> String {
    let r = &ex.response;
    let mut s = r.status.to_string();
    if let Some(c) = r.header("www-authenticate") {
        let _ = write!(s, " [WWW-Authenticate: {}]", challenge(c));
    }
    let media = r.media_type();
    match r.json() {
        Some(mut body) if media.as_deref() == Some("application/json") => {
            if r.status >= 400 {
                if body.get("error").is_some_and(Value::is_string) {
                    body = serde_json::json!({"error": "..."});
                }
            } else if let Some(list) = body.get_mut("notifications").and_then(Value::as_array_mut) {
                for note in list {
                    if let Some(id) = note.get_mut("id") {
                        let n = match ids.iter().position(|seen| seen == id) {
                            Some(n) => n,
                            None => {
                                ids.push(id.clone());
                                ids.len() - 1
                            }
                        };
                        *id = Value::String(format!("[notification {}]", n + 1));
                    }
                }
            }
            let _ = write!(s, " {}", canonical(&body));
        }
        _ => {
            let text = r.text();
            let shown: String = text.chars().take(200).collect();
            let _ = write!(s, " (Content-Type: {}) {shown:?}", media.as_deref().unwrap_or("none"));
        }
    }
    s
}

/// The scheme (`Bearer`) and the `error` parameter, if any: the parts of a
/// challenge the client acts on.
fn challenge(raw: &str) -> String {
    let raw = raw.trim();
    let (scheme, rest) = raw.split_once([' ', ',']).unwrap_or((raw, ""));
    let scheme = if scheme.eq_ignore_ascii_case("bearer") { "Bearer".to_string() } else { scheme.to_string() };
    let error = rest.split(',').find_map(|part| {
        let (k, v) = part.split_once('=')?;
        k.trim().eq_ignore_ascii_case("error").then(|| v.trim().trim_matches('"').to_string())
    });
    match error {
        Some(e) => format!("{scheme} error=\"{e}\""),
        None => scheme,
    }
}

/// JSON on one line with sorted keys, whatever order the server wrote.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> =
                keys.into_iter().map(|k| format!("{}: {}", Value::String(k.clone()), canonical(&map[k]))).collect();
            format!("{{{}}}", fields.join(", "))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_keep_the_scheme_and_the_error() {
        assert_eq!(challenge("Bearer"), "Bearer");
        assert_eq!(challenge("bearer realm=\"like\""), "Bearer");
        assert_eq!(challenge("Bearer error=\"invalid_token\""), "Bearer error=\"invalid_token\"");
        assert_eq!(challenge("Bearer realm=\"x\", error=invalid_token"), "Bearer error=\"invalid_token\"");
        assert_eq!(challenge("Basic"), "Basic");
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let v: Value = serde_json::from_str(r#"{"b": 1, "a": {"d": [1, {"z": 0, "y": 1}], "c": null}}"#).unwrap();
        assert_eq!(canonical(&v), r#"{"a": {"c": null, "d": [1, {"y": 1, "z": 0}]}, "b": 1}"#);
    }

    #[test]
    fn quoting_is_paste_safe() {
        assert_eq!(harness::http::shell_quote("abc%_x"), "abc%_x");
        assert_eq!(harness::http::shell_quote("it's ok"), r"'it'\''s ok'");
    }
}
