//! Stage `uri`: the request target the upstream receives.

use crate::cases::Mix;
use crate::fixtures::*;

pub async fn replace_prefix(mut cx: Ctx) -> CheckResult {
    let up = upstream("app").await?;
    let (name, remote, m, s, e) = (cx.word(5), cx.word(6), cx.word(4), cx.word(4), cx.word(5));
    let u = up.url();
    let rules = format!(
        "server {{\n  listen 80;\n  location /{name}/ {{ proxy_pass {u}/{remote}/; }}\n  location /{m} {{ proxy_pass {u}/{s}; }}\n  location = /{e} {{ proxy_pass {u}/exact/; }}\n}}\n"
    );
    let run = start(&mut cx, &rules).await?;
    let (x, y, q) = (cx.word(3), cx.word(4), cx.word(5));
    let cases = vec![
        (format!("/{name}/{x}/{y}"), format!("/{remote}/{x}/{y}")),
        (format!("/{name}/{x}?q={q}"), format!("/{remote}/{x}?q={q}")),
        (format!("/{name}/"), format!("/{remote}/")),
        (format!("/{m}{x}"), format!("/{s}{x}")),
        (format!("/{m}/{x}"), format!("/{s}/{x}")),
        (format!("/{e}?{q}"), format!("/exact/?{q}")),
    ];
    expect_uris(&run, cases).await
}

pub async fn as_sent(mut cx: Ctx) -> CheckResult {
    let up = upstream("app").await?;
    let name = cx.word(5);
    let rules = format!("server {{\n  listen 80;\n  location /{name}/ {{ proxy_pass {}; }}\n}}\n", up.url());
    let run = start(&mut cx, &rules).await?;
    let (x, q) = (cx.word(4), cx.word(5));
    let cases = vec![
        (format!("/{name}/{x}"), format!("/{name}/{x}")),
        (format!("/{name}/{x}//a%41?q={q}&r"), format!("/{name}/{x}//a%41?q={q}&r")),
    ];
    expect_uris(&run, cases).await
}

/// Random rule files and requests, answered by your proxy and the reference.
pub async fn random(mut cx: Ctx) -> CheckResult {
    let rule = "proxy_pass without a URI part sends the request target exactly as the client sent it; with a URI part, the part of the normalised (decoded, dot-segments resolved) path that the location matched is replaced by it, the rest is escaped again and the query string follows unchanged.";
    differential(&mut cx, rule, Mix { uris: true, ..Mix::default() }, 6, 20).await
}
