//! Stage `hosts`: which server block answers a Host.

use crate::cases::Mix;
use crate::fixtures::*;

pub async fn names(mut cx: Ctx) -> CheckResult {
    let up = upstream("app").await?;
    let d = format!("{}.org", cx.word(6));
    let r = format!("{}.net", cx.word(6));
    let (mail, api, sub) = (cx.word(4), cx.word(3), cx.word(5));
    // `node{n}` for the regex alone, `node{m}` (four digits) also for a
    // `node{m}.*` wildcard, which comes before any regex.
    let n = cx.rng().u16(1..999);
    let m = n + 1000;
    let rules = format!(
        "server {{ listen 80; server_name first.{r}; location / {{ {first} }} }}\n\
         server {{ listen 80; server_name {d} www.{d}; location / {{ {exact} }} }}\n\
         server {{ listen 80; server_name *.{d}; location / {{ {wild} }} }}\n\
         server {{ listen 80; server_name *.{api}.{d}; location / {{ {longer} }} }}\n\
         server {{ listen 80; server_name {mail}.*; location / {{ {trail} }} }}\n\
         server {{ listen 80; server_name {mail}.{sub}.*; location / {{ {longer_trail} }} }}\n\
         server {{ listen 80; server_name \"~^node[0-9]+\\.{r_re}$\"; location / {{ {regex} }} }}\n\
         server {{ listen 80; server_name *.{d} {mail}.{sub}.*; location / {{ {duplicate} }} }}\n\
         server {{ listen 80; server_name node{m}.*; location / {{ {over_regex} }} }}\n\
         server {{ listen 80 default_server; server_name _; location / {{ {default} }} }}\n",
        first = route("first", &up),
        exact = route("exact", &up),
        wild = route("leading-wildcard", &up),
        longer = route("longer-leading-wildcard", &up),
        trail = route("trailing-wildcard", &up),
        longer_trail = route("longer-trailing-wildcard", &up),
        regex = route("regex", &up),
        // nginx warns "conflicting server name ... ignored" and keeps the
        // first server that has a name: a later one never wins a tie.
        duplicate = route("duplicate-names", &up),
        over_regex = route("wildcard-over-regex", &up),
        default = route("default", &up),
        r_re = r.replace('.', "\\."),
    );
    let run = start(&mut cx, &rules).await?;
    let cases = vec![
        (get(&d, "/"), "exact"),
        (get(&format!("www.{d}"), "/"), "exact"),
        (get(&format!("{}.{d}", cx.word(5)), "/"), "leading-wildcard"),
        (get(&format!("v1.{api}.{d}"), "/"), "longer-leading-wildcard"),
        (get(&format!("{api}.{d}"), "/"), "leading-wildcard"),
        (get(&format!("{mail}.{d}"), "/"), "leading-wildcard"),
        (get(&format!("{mail}.{}.com", cx.word(6)), "/"), "trailing-wildcard"),
        // The longest `wildcard.*`, not the first in the file.
        (get(&format!("{mail}.{sub}.com"), "/"), "longer-trailing-wildcard"),
        (get(&format!("node{n}.{r}"), "/"), "regex"),
        (get(&format!("node{m}.{r}"), "/"), "wildcard-over-regex"),
        (get(&format!("node.{r}"), "/"), "default"),
        (get(&format!("{}.example", cx.word(6)), "/"), "default"),
        // `*.{d}` wants a dot before {d}: a name that merely ends in {d} is not under it.
        (get(&format!("{}{d}", cx.word(3)), "/"), "default"),
    ];
    expect_routes(&run, &run.plain, cases, "the server block").await
}

pub async fn port_stripped(mut cx: Ctx) -> CheckResult {
    let up = upstream("app").await?;
    let d = format!("{}.org", cx.word(6));
    // No default_server mark: the first server of the port is its default,
    // not the first of the file (which listens on another port).
    let rules = format!(
        "server {{ listen 443 ssl; server_name {d}; location / {{ {} }} }}\n\
         server {{ listen 80; server_name _; location / {{ {} }} }}\n\
         server {{ listen 80; server_name {d}; location / {{ {} }} }}\n",
        route("other-port", &up),
        route("default", &up),
        route("named", &up)
    );
    let run = start(&mut cx, &rules).await?;
    let port = run.plain.addr().port();
    let cases = vec![
        (get(&format!("{d}:{port}"), "/"), "named"),
        (get(&d.to_uppercase(), "/"), "named"),
        (get(&format!("{d}."), "/"), "named"),
        (get(&format!("{}.{d}", cx.word(4)), "/"), "default"),
    ];
    expect_routes(&run, &run.plain, cases, "the server block").await
}

/// Random rule files and requests, answered by your proxy and the reference.
pub async fn random(mut cx: Ctx) -> CheckResult {
    let rule = "The server block is chosen like nginx does, among those listening on the port: an exact name, then the longest `*.wildcard` (`.name` counts as both), then the longest `wildcard.*`, then the first regex in file order, then the listener's default_server (or its first server). The Host is compared lowercase, without its port and without a trailing dot.";
    differential(&mut cx, rule, Mix { hosts: true, ..Mix::default() }, 12, 30).await
}
