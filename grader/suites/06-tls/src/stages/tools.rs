//! Stage `tools`: real clients, black-box: curl and openssl s_client.

use tokio::process::Command;

use crate::fixtures::*;

/// Run a tool with a time limit: `Err` is a skip when it is not installed.
async fn run_tool(tool: &str, args: &[String]) -> Result<(Option<i32>, String), Failure> {
    let mut command = Command::new(tool);
    command.args(args).stdin(std::process::Stdio::null()).kill_on_drop(true);
    let output = match tokio::time::timeout(Duration::from_secs(20), command.output()).await {
        Err(_) => return Err(Failure::new(format!("{tool} {} did not finish within 20 s", args.join(" ")))),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Failure::skip(format!(
                "{tool} is not installed, so this check cannot run here: apt-get install {tool}"
            )))
        }
        Ok(Err(e)) => return Err(Failure::new(format!("could not run {tool}: {e}"))),
        Ok(Ok(o)) => o,
    };
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    Ok((output.status.code(), text))
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

pub async fn curl(mut cx: Ctx) -> CheckResult {
    let up = upstream().await?;
    let setup = setup(&mut cx, 2)?;
    let root = setup.pki.write_root()?;
    let run = start(&cx, &setup, &up.url()).await?;
    let name = setup.names[cx.rng().usize(..2)].clone();
    let path = target(&mut cx);
    let port = run.port();
    let url = format!("https://{name}:{port}{path}");
    let resolve = format!("{name}:{port}:127.0.0.1");
    let root = root.to_string_lossy().into_owned();
    let args = strings(&["-sS", "-i", "--max-time", "10", "--cacert", &root, "--resolve", &resolve, &url]);
    let (code, said) = run_tool("curl", &args).await?;
    let repro = format!("curl {}", args.join(" "));
    if code != Some(0) || !said.starts_with("HTTP/1.1 200") || !said.contains("\"x-forwarded-proto\",\"https\"") {
        return Err(Failure::new(format!(
            "curl, trusting only this run's root, must get the app's 200 over https from {name} (exit {code:?})"
        ))
        .with_request(repro)
        .with_response(said)
        .with_output(run.output()));
    }
    let plain = format!("http://127.0.0.1:{}{path}", run.plain.addr().port());
    let host = format!("Host: {name}");
    let args = strings(&[
        "-sS",
        "-o",
        "/dev/null",
        "--max-time",
        "10",
        "-w",
        "%{http_code} %{redirect_url}",
        "-H",
        &host,
        &plain,
    ]);
    let (_, said) = run_tool("curl", &args).await?;
    let want = format!("301 {url}");
    if said.trim() != want {
        return Err(Failure::new(format!(
            "curl on port 80 must see `{want}` (status and where to), it saw `{}`",
            said.trim()
        ))
        .with_request(format!("curl {}", args.join(" ")))
        .with_output(run.output()));
    }
    Ok(())
}

pub async fn openssl(mut cx: Ctx) -> CheckResult {
    let up = upstream().await?;
    let setup = setup(&mut cx, 3)?;
    let root = setup.pki.write_root()?.to_string_lossy().into_owned();
    let run = start(&cx, &setup, &up.url()).await?;
    let name = setup.names[cx.rng().usize(..setup.names.len())].clone();
    let connect = format!("127.0.0.1:{}", run.port());
    let args = strings(&[
        "s_client",
        "-connect",
        &connect,
        "-servername",
        &name,
        "-CAfile",
        &root,
        "-verify_return_error",
        "-alpn",
        "h2,http/1.1",
    ]);
    let (code, said) = run_tool("openssl", &args).await?;
    let repro = format!("openssl {} </dev/null", args.join(" "));
    let presented = said
        .find("-----BEGIN CERTIFICATE-----")
        .and_then(|at| {
            use rustls::pki_types::pem::PemObject;
            rustls::pki_types::CertificateDer::from_pem_slice(said[at..].as_bytes()).ok()
        })
        .map(|c| c.as_ref().to_vec())
        .unwrap_or_default();
    let want = &setup.pki.sites[&name];
    let problem = if code != Some(0) || !said.contains("Verify return code: 0 (ok)") {
        Some("the handshake must succeed and the chain verify up to the root".to_string())
    } else if presented != want.der.as_ref() {
        Some(format!(
            "-servername {name} must get {}, it got {}",
            setup.pki.describe(&want.der),
            setup.pki.describe(&presented)
        ))
    } else if !said.contains("ALPN protocol: http/1.1") {
        Some("-alpn h2,http/1.1 must negotiate http/1.1".to_string())
    } else {
        None
    };
    if let Some(problem) = problem {
        return Err(Failure::new(format!("openssl s_client: {problem}"))
            .with_request(repro)
            .with_response(said)
            .with_output(run.output()));
    }
    // TLS 1.1 (and older) is refused: deprecated by RFC 8996.
    let args =
        strings(&["s_client", "-connect", &connect, "-servername", &name, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]);
    let (code, said) = run_tool("openssl", &args).await?;
    if code == Some(0) && said.contains("Protocol  : TLSv1.1") {
        return Err(Failure::new("a TLS 1.1 client must be refused (RFC 8996 deprecates TLS 1.0 and 1.1)")
            .with_request(format!("openssl {} </dev/null", args.join(" ")))
            .with_response(said)
            .with_output(run.output()));
    }
    Ok(())
}
