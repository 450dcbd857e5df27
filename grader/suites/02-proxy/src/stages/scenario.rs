//! Stage `scenario`: the student's own rule file for the curriculum's machine.

use crate::fixtures::*;

pub async fn demo_rules(mut cx: Ctx) -> CheckResult {
    let path = demo_rules_path(&cx);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Failure::new(format!("cannot read your rule file {}: {e}", path.display())))?;
    let front = upstream("frontend").await?;
    let back = upstream("backend").await?;
    // The file names the apps' real ports; point them at this run's apps.
    let mut rules = text.clone();
    for (port, up) in [("3000", &front), ("3001", &back)] {
        for host in ["127.0.0.1", "localhost"] {
            rules = rules.replace(&format!("http://{host}:{port}"), &up.url());
        }
    }
    let run =
        start(&mut cx, &rules).await.map_err(|f| Failure::new(format!("your src/rules/demo.conf: {}", f.message())))?;
    let client_ip = "127.0.0.1";
    for (domain, app) in [("frontend-demo.xyz", "frontend"), ("backend-demo.xyz", "backend")] {
        let path = format!("/{}?v={}", cx.word(5), cx.word(3));
        let ex = run.plain.send(get(domain, &path)).await?;
        let want = format!("https://{domain}{path}");
        if ex.response.status != 301 || ex.response.header("location") != Some(want.as_str()) {
            return Err(ex
                .fail(format!("your rule file: plain HTTP for {domain} must get 301 to {want}"))
                .with_output(run.output()));
        }
        let (ex, seen) = through(&run, &run.tls, get(domain, &path)).await?;
        if seen.upstream() != app {
            return Err(ex
                .fail(format!(
                    "your rule file: {domain} on 443 must go to the {app} app (127.0.0.1:{}), it went to the {}",
                    if app == "frontend" { 3000 } else { 3001 },
                    seen.upstream()
                ))
                .with_output(run.output()));
        }
        let want = [
            ("host", domain),
            ("x-forwarded-proto", "https"),
            ("x-real-ip", client_ip),
            ("x-forwarded-for", client_ip),
        ];
        for (name, value) in want {
            if seen.header(name).as_deref() != Some(value) {
                return Err(ex
                    .fail(format!(
                        "your rule file: the {app} app must receive `{name}: {value}`, got {:?} (proxy_set_header)",
                        seen.header(name)
                    ))
                    .with_output(run.output()));
            }
        }
        ensure!(seen.uri() == path, "your rule file: the {app} app must receive {path}, got {}", seen.uri());
    }
    Ok(())
}
