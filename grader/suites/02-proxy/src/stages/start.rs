//! Stage `start`: the proxy starts with a rule file and passes one GET on.

use crate::fixtures::*;

pub async fn proxies(mut cx: Ctx) -> CheckResult {
    let up = upstream("app").await?;
    let domain = format!("{}.test", cx.word(7));
    let rules = format!("server {{\n    listen 80 default_server;\n    server_name {domain};\n    location / {{\n        proxy_pass {};\n    }}\n}}\n", up.url());
    let run = start(&mut cx, &rules).await?;
    let path = format!("/{}/{}?q={}", cx.word(5), cx.word(6), cx.word(4));
    let (ex, seen) = through(&run, &run.plain, get(&domain, &path)).await?;
    ensure!(ex.response.status == 200, "GET {path} must pass on the upstream's 200, got {}", ex.response.status);
    if seen.uri() != path {
        return Err(ex.fail(format!("the upstream must receive {path}, it received {}", seen.uri())));
    }
    Ok(())
}
