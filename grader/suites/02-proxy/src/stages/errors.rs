//! Stage `errors`: upstreams that are down or slow, broken rule files.

use crate::cases::Mix;
use crate::fixtures::*;

pub async fn bad_gateway(mut cx: Ctx) -> CheckResult {
    let refused = RefusedPort::new()?;
    let down = refused.port();
    let rules = format!("server {{ listen 80; location / {{ proxy_pass http://127.0.0.1:{down}; }} }}\n");
    let run = start(&mut cx, &rules).await?;
    let ex = run.plain.send(get("localhost", &format!("/{}", cx.word(5)))).await?;
    if ex.response.status != 502 {
        return Err(ex
            .fail(format!(
                "nothing listens on the upstream port {down}: the client must get 502 Bad Gateway, got {}",
                ex.response.status
            ))
            .with_output(run.output()));
    }
    Ok(())
}

pub async fn timeout(mut cx: Ctx) -> CheckResult {
    let up = upstream("slow").await?;
    let rules =
        format!("server {{ listen 80; proxy_read_timeout 300ms; location / {{ proxy_pass {}; }} }}\n", up.url());
    let run = start(&mut cx, &rules).await?;
    // The app answers long after the timeout, and the client waits longer
    // still: a proxy that ignores proxy_read_timeout gets the app's 200. The
    // 504 must come well before the app would answer; 2.5 s for a 300 ms
    // timeout is a margin checked by grading the reference 100 times on a
    // loaded machine (see the check's duration in the JSON report).
    let client = Client::new(run.plain.addr(), Duration::from_secs(10));
    let began = Instant::now();
    let ex = client.send(get("localhost", "/").header("x-echo-delay-ms", "6000")).await?;
    let took = began.elapsed();
    if ex.response.status != 504 {
        return Err(ex.fail(format!(
            "the upstream answers after 6 s and proxy_read_timeout is 300ms: the client must get 504 Gateway Timeout, got {}",
            ex.response.status
        )));
    }
    ensure!(
        took < Duration::from_millis(2500),
        "504 must come when proxy_read_timeout (300ms) runs out, not after {} ms: read the timeout from the rule file",
        took.as_millis()
    );
    Ok(())
}

pub async fn rule_file(mut cx: Ctx) -> CheckResult {
    let typo = format!("proxy_{}", cx.word(5));
    let pad = " ".repeat(cx.rng().usize(1..6));
    let blank = "\n".repeat(cx.rng().usize(0..4));
    let cases = [
        (
            format!("server {{\n    listen 80;\n{blank}    location / {{\n{pad}{typo} on;\n    }}\n}}\n"),
            4 + blank.len(),
            pad.len() + 1,
            typo.clone(),
        ),
        (format!("server {{\n    listen 80\n{blank}}}\n"), 3 + blank.len(), 1, "}".to_string()),
    ];
    for (rules, line, column, names) in cases {
        let (_dir, path) = write_rules(&mut cx, &rules)?;
        let spec = Spawn::default()
            .env("HOST", "127.0.0.1")
            .env("PORT", free_port()?.to_string())
            .env("TLS_PORT", free_port()?.to_string())
            .env("PROXY_RULES", path.to_string_lossy());
        let mut proc = Proc::start(&cx, cx.subject(), &spec)?;
        let Some(exited) = proc.wait_exit(Duration::from_secs(5)).await else {
            fail!("with a broken rule file the proxy was still running after 5 s; it must refuse to start\n{rules}");
        };
        let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        let want = format!("{file}:{line}:{column}");
        let explain = |m: String| {
            Err(Failure::new(format!("{m}\n--- the rule file ---\n{rules}")).with_output(exited.output.clone()))
        };
        match exited.code {
            Some(0) => return explain("the proxy exited with code 0 on a broken rule file".into()),
            Some(101) => return explain("the proxy panicked on a broken rule file; print the error instead".into()),
            _ if !exited.output.contains(&want) => {
                return explain(format!("the error must name the file, line and column: `{want}`"))
            }
            _ if !exited.output.contains(&names) => {
                return explain(format!("the error must quote what is wrong (`{names}`)"))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Random rule files and requests, answered by your proxy and the reference.
pub async fn upstreams(mut cx: Ctx) -> CheckResult {
    let rule = "An upstream that refuses the connection or hangs up without answering is 502 Bad Gateway; one that accepts and does not answer within proxy_read_timeout, or does not accept within proxy_connect_timeout, is 504 Gateway Timeout.";
    differential(&mut cx, rule, Mix { errors: true, locations: true, ..Mix::default() }, 8, 20).await
}
