//! Stage `bind`: the process takes HOST and PORT from the environment,
//! says where it listens, and fails clearly when it cannot.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::time::Duration;

use harness::differential::{Case, Differential, Side};
use harness::http::{Client, Request};
use harness::process::{Proc, Spawn};
use harness::{fail, CheckResult, Ctx, Failure};

use crate::fixtures::{make_site, start, Site, EXIT_WAIT, STEP};

/// How long a correct server may take to print `listening on` on a busy
/// machine (it takes milliseconds when idle).
const LISTEN_WAIT: Duration = Duration::from_secs(20);

fn site_spec(site: &Site) -> Spawn {
    Spawn::default().env("PUBLIC_DIR", site.public.to_string_lossy())
}

pub async fn listens(mut cx: Ctx) -> CheckResult {
    let site = make_site(&mut cx)?;
    // `start` fails unless the printed address is the one PORT named and it
    // accepts connections.
    let (_proc, _client) = start(&mut cx, &site).await?;
    Ok(())
}

/// `PORT=0`: the OS picks the port, and the announced address must be the
/// one it picked, since that line is the only way to learn it.
pub async fn port_zero(mut cx: Ctx) -> CheckResult {
    let site = make_site(&mut cx)?;
    let spec = site_spec(&site).env("HOST", "127.0.0.1").env("PORT", "0");
    let mut proc = Proc::start(&cx, cx.subject(), &spec)?;
    let addr = proc.wait_listening(LISTEN_WAIT).await.map_err(|f| {
        Failure::new(format!("started with PORT=0 (any free port), {}", f.message()))
            .with_output(f.output().unwrap_or_default().to_string())
    })?;
    let run = "PORT=0 cargo run -p bind";
    if addr.port() == 0 {
        return Err(Failure::new(format!(
            "started with PORT=0, the server printed `listening on http://{addr}`: port 0 only asks the OS to pick \
             a free port, and nobody can connect to port 0. Print the address the listener really got \
             (listener.local_addr()), e.g. `listening on http://127.0.0.1:41953`"
        ))
        .with_request(run)
        .with_output(proc.output()));
    }
    if addr.ip() != IpAddr::V4(Ipv4Addr::LOCALHOST) {
        return Err(Failure::new(format!(
            "started with HOST=127.0.0.1 PORT=0, the server printed `listening on http://{addr}`; \
             the address must be 127.0.0.1 with the port the OS picked"
        ))
        .with_request(run)
        .with_output(proc.output()));
    }
    if let Err(e) = harness::http::wait_accepting(addr, LISTEN_WAIT).await {
        return Err(Failure::new(format!(
            "started with PORT=0, the server printed `listening on http://{addr}` but {e}: print the port the \
             listener got from the OS, not another one"
        ))
        .with_request(run)
        .with_output(proc.output()));
    }
    let ex = Client::new(addr, STEP).send(Request::get("/health")).await.map_err(|f| f.with_output(proc.output()))?;
    if ex.response.status != 200 {
        return Err(ex.fail(format!(
            "started with PORT=0 and listening on {addr}, GET /health answered {} instead of 200",
            ex.response.status
        )));
    }
    Ok(())
}

/// `HOST` is honoured: with `HOST=127.0.0.2` the server listens there,
/// and neither on 127.0.0.1 nor on every interface. The suite holds
/// 127.0.0.1 on the same port, so a server that ignores HOST cannot bind.
pub async fn host(mut cx: Ctx) -> CheckResult {
    let site = make_site(&mut cx)?;
    let (holder, port) = hold_port_free_on_other_host()?;
    let run = format!("HOST=127.0.0.2 PORT={port} cargo run -p bind");
    let spec = site_spec(&site).env("HOST", "127.0.0.2").env("PORT", port.to_string());
    let mut proc = Proc::start(&cx, cx.subject(), &spec)?;
    let addr = match proc.wait_listening(LISTEN_WAIT).await {
        Ok(addr) => addr,
        Err(f) => {
            return Err(Failure::new(format!(
                "started with HOST=127.0.0.2 PORT={port} while another program listened on 127.0.0.1:{port} \
                 (a different address), the server did not start: {} Bind the address HOST names, \
                 not 127.0.0.1 or 0.0.0.0 (every interface)",
                f.message()
            ))
            .with_request(run)
            .with_output(f.output().map(str::to_string).unwrap_or_else(|| proc.output())))
        }
    };
    let wanted = SocketAddr::from(([127, 0, 0, 2], port));
    if addr != wanted {
        return Err(Failure::new(format!(
            "started with HOST=127.0.0.2 PORT={port}, the server printed `listening on http://{addr}`; \
             it must listen on (and print) {wanted}: read HOST from the environment and bind it"
        ))
        .with_request(run)
        .with_output(proc.output()));
    }
    if let Err(e) = harness::http::wait_accepting(wanted, LISTEN_WAIT).await {
        return Err(Failure::new(format!("printed `listening on http://{wanted}` but {e}"))
            .with_request(run)
            .with_output(proc.output()));
    }
    let ex = Client::new(wanted, STEP).send(Request::get("/health")).await.map_err(|f| f.with_output(proc.output()))?;
    if ex.response.status != 200 {
        return Err(ex.fail(format!("on HOST=127.0.0.2, GET /health answered {} instead of 200", ex.response.status)));
    }
    drop(holder);
    Ok(())
}

/// A port held on 127.0.0.1 by the suite and free on 127.0.0.2.
fn hold_port_free_on_other_host() -> Result<(TcpListener, u16), Failure> {
    for _ in 0..20 {
        let holder =
            TcpListener::bind("127.0.0.1:0").map_err(|e| Failure::new(format!("could not take a port: {e}")))?;
        let port = holder.local_addr().map_err(|e| Failure::new(e.to_string()))?.port();
        match TcpListener::bind(("127.0.0.2", port)) {
            Ok(probe) => {
                drop(probe);
                return Ok((holder, port));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable => {
                return Err(Failure::skip(
                    "127.0.0.2 is not a loopback address on this machine (Linux has all of 127.0.0.0/8); \
                     this check runs on Linux",
                ))
            }
            Err(_) => continue,
        }
    }
    fail!("could not find a port free on 127.0.0.2")
}

pub async fn port_taken(cx: Ctx) -> CheckResult {
    let holder = TcpListener::bind("127.0.0.1:0").map_err(|e| Failure::new(format!("could not take a port: {e}")))?;
    let port = holder.local_addr().map_err(|e| Failure::new(e.to_string()))?.port();
    let spec = Spawn::default().env("HOST", "127.0.0.1").env("PORT", port.to_string());
    let mut proc = Proc::start(&cx, cx.subject(), &spec)?;
    let Some(exited) = proc.wait_exit(EXIT_WAIT).await else {
        fail!(
            "with port {port} already taken by another program, the server was still running after {} s; \
             it should exit with an error that says the address is in use",
            EXIT_WAIT.as_secs()
        );
    };
    let out = exited.output.to_lowercase();
    let explain = |msg: String| Err(Failure::new(msg).with_output(exited.output.clone()));
    match exited.code {
        Some(0) => explain(format!(
            "with port {port} already taken, the server exited with code 0; a failure must exit non-zero"
        )),
        Some(101) => explain(
            "with the port already taken, the server panicked; print a clear error and exit non-zero instead".into(),
        ),
        _ if out.contains("listening on") => {
            explain("the server printed `listening on` although the port was taken".into())
        }
        _ if !out.contains("in use") => explain(format!(
            "with port {port} already taken, the server exited without saying the address is in use; \
             name the address and say how to pick another port (PORT=...)"
        )),
        _ if !exited.output.contains("PORT") => explain(
            "the error says the address is in use but not how to pick another port: mention the PORT variable".into(),
        ),
        _ => Ok(()),
    }
}

/// A `PORT` value that is not a port number.
#[derive(Debug, Clone)]
struct BadPort(String);

impl Case for BadPort {
    fn show(&self) -> String {
        format!("PORT='{}' cargo run -p bind", self.0)
    }
}

/// Invalid `PORT` values, compared with what the reference does with them:
/// words, numbers out of the 0-65535 range (some that wrap to a valid port
/// in a 16-bit cast), negative numbers, decimals, hexadecimal.
pub async fn bad_port(mut cx: Ctx) -> CheckResult {
    let mut values = vec![format!("{}{}", cx.word(3), cx.rng().u16(..))];
    let rng = cx.rng();
    let wrapped = 65536 * rng.u64(1..=4);
    let pool = [
        wrapped.to_string(),
        rng.u32(65536..100_000).to_string(),
        "4294967296".to_string(),
        format!("-{}", rng.u16(1..)),
        format!("{}.{}", rng.u16(1024..), rng.u8(..10)),
        format!("0x{:x}", rng.u16(1024..)),
        format!("{}abc", rng.u16(1024..)),
    ];
    values.push(pool[0].clone());
    values.push(pool[1 + rng.usize(..pool.len() - 1)].clone());
    let cases: Vec<BadPort> = values.into_iter().map(BadPort).collect();
    harness::differential::reference(&cx)?;
    let cx = &cx;
    Differential::new(
        "A PORT that is not a number from 0 to 65535 is a mistake in how the server was started: \
         print `error: PORT must be a port number (0-65535), got \"...\"` and exit with code 2 \
         (Config::from_env returns ConfigError::BadPort; parse with str::parse::<u16>(), never wrap a bigger number)",
    )
    .run(cases, move |side, case| async move {
        let bin = match side {
            Side::Yours => cx.subject().to_path_buf(),
            Side::Reference => harness::differential::reference(cx)?.to_path_buf(),
        };
        let spec = Spawn::default().env("HOST", "127.0.0.1").env("PORT", case.0.clone());
        let proc = Proc::start(cx, &bin, &spec)?;
        Ok(settle(proc).await)
    })
    .await
}

/// What a program started with a bad setting does: exits (how, and does it
/// name PORT), or keeps running.
async fn settle(mut proc: Proc) -> String {
    let deadline = tokio::time::Instant::now() + EXIT_WAIT;
    loop {
        if let Some(exited) = proc.wait_exit(Duration::from_millis(50)).await {
            let code = match exited.code {
                Some(101) => "101 (a panic)".to_string(),
                Some(c) => c.to_string(),
                None => "none (killed by a signal)".to_string(),
            };
            let names = if exited.output.contains("PORT") { "yes" } else { "no" };
            return format!("exits with code {code}\nthe message names PORT: {names}\n");
        }
        if proc.output().contains("listening on") {
            return "keeps running: it printed `listening on`, so it took the value as a port\n".to_string();
        }
        if tokio::time::Instant::now() >= deadline {
            return format!("still running after {} s, silent\n", EXIT_WAIT.as_secs());
        }
    }
}
