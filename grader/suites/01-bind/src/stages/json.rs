//! Stage `json`: `/health` and the users resource, as JSON.

use harness::differential::Differential;
use harness::http::Request;
use harness::{ensure, snapshot, CheckResult, Ctx, Failure};
use serde_json::{json, Value};

use crate::compare::{hex, probe, HttpCase};
use crate::expect::{ensure_eq_json, error_message, expect_error_body, expect_json};
use crate::fixtures::{make_site, start, Pair};

pub async fn health(mut cx: Ctx) -> CheckResult {
    let site = make_site(&mut cx)?;
    let (_proc, client) = start(&mut cx, &site).await?;
    let ex = client.send(Request::get("/health")).await?;
    expect_json(&ex, 200)?;
    ensure_eq_json(&ex, &json!({"status": "ok"}))?;
    snapshot::compare(&cx, "json.health", &ex.transcript(&["content-type"], &[]))
}

pub async fn users_list(mut cx: Ctx) -> CheckResult {
    let site = make_site(&mut cx)?;
    let (_proc, client) = start(&mut cx, &site).await?;
    let ex = client.send(Request::get("/users")).await?;
    expect_json(&ex, 200)?;
    if !ex.response.json().is_some_and(|v| v.is_array()) {
        return Err(ex.fail("GET /users must answer a JSON array of users"));
    }
    snapshot::compare(&cx, "json.users_list", &ex.transcript(&["content-type"], &[]))
}

/// `GET /users/{id}` for random ids, compared with the reference: 200 for
/// a user, 404 for a number no user has (however big, if it fits in 64
/// bits), 400 for what is not a number.
pub async fn user_by_id(mut cx: Ctx) -> CheckResult {
    let site = make_site(&mut cx)?;
    let pair = Pair::start(&cx, &site).await?;
    let rng = cx.rng();
    let mut ids: Vec<(String, bool)> = vec![("1".into(), false), ("2".into(), false)];
    // Not numbers: words first, so the most common mistake shows on the
    // simplest case.
    ids.push((word(rng, 3..8), false));
    ids.push((format!("{}{}", rng.u16(..), word(rng, 1..4)), false));
    let odd = [
        format!("-{}", rng.u8(1..)),
        format!("{}.{}", rng.u8(1..), rng.u8(..)),
        format!("{}e{}", rng.u8(1..10), rng.u8(1..5)),
        format!("0x{:x}", rng.u8(10..)),
        "%20".to_string(),
        format!("%C3%A9{}", rng.u8(..)),
        format!("{}%20", rng.u8(1..3)),
    ];
    for _ in 0..3 {
        ids.push((odd[rng.usize(..odd.len())].clone(), false));
    }
    // Numbers no user has: small, zero, beyond 32 bits, with leading zeros.
    ids.push((rng.u32(3..10_000).to_string(), false));
    ids.push(("0".into(), false));
    ids.push((rng.u64(1 << 32..u64::MAX).to_string(), false));
    ids.push((u64::MAX.to_string(), false));
    ids.push((format!("00{}", rng.u8(1..3)), false));
    ids.push((format!("{}", hex(rng, b'1')), false));
    // Numbers too big for 64 bits: "not a number" (400) and "no such user"
    // (404) are both fair readings of the book.
    let digits: String = (0..rng.usize(21..40)).map(|_| char::from(b'0' + rng.u8(..10))).collect();
    ids.push((format!("9{digits}"), true));
    let cases: Vec<HttpCase> = ids
        .into_iter()
        .map(|(id, either)| {
            let mut c = HttpCase::new("GET", format!("/users/{id}"));
            if either {
                c.also_ok = Some((400, 404));
            }
            c
        })
        .collect();
    Differential::new(
        "GET /users/{id} answers 200 with the user, 404 (JSON error) when no user has that number, and 400 \
         (JSON error) when the id is not a number: check that the text is all digits, parse it as a u64, and \
         answer 400 when that fails, before looking the user up",
    )
    .run(cases, |side, case| probe(pair.client(side), case))
    .await
    .map_err(|f| f.with_output(pair.output()))
}

fn word(rng: &mut fastrand::Rng, len: std::ops::Range<usize>) -> String {
    (0..rng.usize(len)).map(|_| rng.lowercase()).collect()
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

pub async fn users_create(mut cx: Ctx) -> CheckResult {
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

pub async fn bad_body(mut cx: Ctx) -> CheckResult {
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

/// Random `POST /users` bodies, good and bad, compared with the reference:
/// names with spaces around them, non-ASCII names at and around the
/// 100-character limit, every kind of wrong JSON and content type. Then
/// the list, which shows what was stored.
pub async fn bodies(mut cx: Ctx) -> CheckResult {
    let site = make_site(&mut cx)?;
    let pair = Pair::start(&cx, &site).await?;
    // The limit, exactly: 100 characters (more than 100 bytes), with and
    // without spaces around them, and one character more.
    let mut cases = Vec::new();
    for (chars, padded) in [(100, false), (100, true), (101, false), (99, true)] {
        let rng = cx.rng();
        let name = name_of(rng, chars);
        let (l, r) =
            if padded { (" ".repeat(rng.usize(1..4)), " ".repeat(rng.usize(..3))) } else { Default::default() };
        cases.push(HttpCase::post_json(&json!({ "name": format!("{l}{name}{r}") }).to_string()));
    }
    // Each kind of body once, then more at random.
    for kind in 0..BODY_KINDS {
        cases.push(body_case(&mut cx, kind));
    }
    for _ in 0..12 {
        let kind = cx.rng().u8(..BODY_KINDS);
        cases.push(body_case(&mut cx, kind));
    }
    cases.push(HttpCase::new("GET", "/users"));
    Differential::new(
        "POST /users takes {\"name\": \"...\"} with Content-Type: application/json, trims the name, accepts \
         1 to 100 characters (characters, not bytes: count with .chars().count(), after trimming) and answers \
         201 with the user; every other body is a 400 with a JSON error",
    )
    .run(cases, |side, case| probe(pair.client(side), case))
    .await
    .map_err(|f| f.with_output(pair.output()))
}

/// A name of `chars` characters: letters, spaces inside, and non-ASCII.
fn name_of(rng: &mut fastrand::Rng, chars: usize) -> String {
    const ALPHABET: &[char] = &['a', 'b', 'z', 'Q', ' ', 'é', 'ß', '日', '本', '😀', '"', '\\', '\'', '-'];
    let mut s: String = (0..chars).map(|_| ALPHABET[rng.usize(..ALPHABET.len())]).collect();
    // No spaces at the ends: padding is added on purpose where wanted.
    s = s.trim().to_string();
    while s.chars().count() < chars {
        s.push('x');
    }
    s
}

/// How many kinds of body [`body_case`] draws.
const BODY_KINDS: u8 = 15;

fn body_case(cx: &mut Ctx, kind: u8) -> HttpCase {
    let rng = cx.rng();
    let pad = |rng: &mut fastrand::Rng| " ".repeat(rng.usize(..4));
    match kind {
        // A plain name, maybe with spaces around it.
        0..=3 => {
            let (l, r) = (pad(rng), pad(rng));
            let n = rng.usize(1..30);
            let name = name_of(rng, n);
            HttpCase::post_json(&json!({ "name": format!("{l}{name}{r}") }).to_string())
        }
        // At and around the limit of 100 characters.
        4..=7 => {
            let (l, r) = (pad(rng), pad(rng));
            let n = rng.usize(98..=102);
            let name = name_of(rng, n);
            HttpCase::post_json(&json!({ "name": format!("{l}{name}{r}") }).to_string())
        }
        // Only white space, or nothing.
        8 => {
            let blank = pad(rng);
            HttpCase::post_json(&json!({ "name": blank }).to_string())
        }
        // `name` of another JSON type.
        9 => {
            let values = [json!(rng.u32(..)), json!(null), json!(true), json!(["Ada"]), json!({"first": "Ada"})];
            let v = values[rng.usize(..values.len())].clone();
            HttpCase::post_json(&json!({ "name": v }).to_string())
        }
        // Not an object with a name.
        10 => {
            let bodies = [r#"["Ada"]"#, r#""Ada""#, "42", "null", "{}", r#"{"nickname":"Ada"}"#, r#"{"Name":"Ada"}"#];
            HttpCase::post_json(bodies[rng.usize(..bodies.len())])
        }
        // Not JSON at all.
        11 => {
            let bodies =
                [r#"{"name": "#, r#"{"name": "Ada",}"#, "{'name': 'Ada'}", "", "name=Ada", r#"{"name": "Ada"} x"#];
            HttpCase::post_json(bodies[rng.usize(..bodies.len())])
        }
        // Good JSON, wrong or missing content type.
        12 => {
            let body = json!({ "name": name_of(rng, 8) }).to_string();
            let types = ["text/plain", "application/x-www-form-urlencoded", "text/json"];
            match rng.usize(..=types.len()) {
                i if i < types.len() => HttpCase::new("POST", "/users").header("content-type", types[i]).body(body),
                _ => HttpCase::new("POST", "/users").body(body),
            }
        }
        // The content type with a charset parameter is still JSON.
        13 => {
            let body = json!({ "name": name_of(rng, 8) }).to_string();
            HttpCase::new("POST", "/users").header("content-type", "application/json; charset=utf-8").body(body)
        }
        // Extra fields next to a good name: stored is the name alone.
        _ => {
            let name = name_of(rng, 12);
            HttpCase::post_json(&json!({ "name": name, "id": rng.u32(..), "admin": true }).to_string())
        }
    }
}
