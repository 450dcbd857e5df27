//! Stage `redirect`: plain HTTP redirected to HTTPS.

use crate::fixtures::*;

pub async fn https(mut cx: Ctx) -> CheckResult {
    let up = upstream("app").await?;
    let d = format!("{}.io", cx.word(6));
    let gone = cx.word(5);
    let rules = format!(
        "server {{\n  listen 80;\n  server_name {d};\n  return 301 https://$host$request_uri;\n}}\n\
         server {{\n  listen 443 ssl;\n  server_name {d};\n  location / {{ proxy_pass {}; proxy_set_header X-Forwarded-Proto $scheme; }}\n  location = /{gone} {{ return 410; }}\n}}\n",
        up.url()
    );
    let run = start(&mut cx, &rules).await?;
    let path = format!("/{}/{}?page={}", cx.word(4), cx.word(5), cx.rng().u8(..));
    let ex = run.plain.send(get(&d, &path)).await?;
    let want = format!("https://{d}{path}");
    if ex.response.status != 301 || ex.response.header("location") != Some(want.as_str()) {
        return Err(ex
            .fail(format!("plain HTTP must be redirected: 301 with Location: {want}"))
            .with_output(run.output()));
    }
    let ex = run.plain.send(get(&format!("{}:{}", d.to_uppercase(), run.plain.addr().port()), "/")).await?;
    let want = format!("https://{d}/");
    if ex.response.status != 301 || ex.response.header("location") != Some(want.as_str()) {
        return Err(ex
            .fail(format!("$host is the host without its port, lowercase: expected 301 to {want}"))
            .with_output(run.output()));
    }
    let (ex, seen) = through(&run, &run.tls, get(&d, &path)).await?;
    if seen.header("x-forwarded-proto").as_deref() != Some("https") {
        return Err(ex
            .fail("on the 443 listener, $scheme is https: X-Forwarded-Proto must say https")
            .with_output(run.output()));
    }
    let ex = run.tls.send(get(&d, &format!("/{gone}"))).await?;
    ensure!(ex.response.status == 410, "`return 410;` must answer 410, got {}", ex.response.status);
    Ok(())
}
