//! Stage `handshake`: versions, ALPN, and clients that never finish their
//! handshake.

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::fixtures::*;

pub async fn versions(mut cx: Ctx) -> CheckResult {
    let up = upstream().await?;
    let setup = setup(&mut cx, 2)?;
    let run = start(&cx, &setup, &up.url()).await?;
    let name = setup.names[cx.rng().usize(..2)].clone();
    for (version, label) in [(&TLS13, "TLS 1.3"), (&TLS12, "TLS 1.2")] {
        let hello = Hello { versions: vec![version], ..Hello::sni(&name) };
        let conn = handshake(&run, &setup, &hello).await.map_err(|f| {
            Failure::new(format!(
                "a {label}-only client must be served (TLS 1.2 and 1.3 are both in use today): {}",
                f.message()
            ))
            .with_output(run.output())
        })?;
        ensure!(conn.version == Some(version.version), "a {label}-only client negotiated {:?}", conn.version);
    }
    Ok(())
}

pub async fn alpn(mut cx: Ctx) -> CheckResult {
    let up = upstream().await?;
    let setup = setup(&mut cx, 2)?;
    let run = start(&cx, &setup, &up.url()).await?;
    let name = setup.names[cx.rng().usize(..2)].clone();
    let hello = Hello { alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()], ..Hello::sni(&name) };
    let conn = handshake(&run, &setup, &hello).await?;
    if conn.alpn.as_deref() != Some(b"http/1.1".as_slice()) {
        let got = conn.alpn.as_deref().map_or("none".to_string(), |p| format!("`{}`", String::from_utf8_lossy(p)));
        return Err(Failure::new(format!(
            "a browser offers ALPN h2 and http/1.1; this server speaks HTTP/1.1 only, so the handshake must choose `http/1.1`, but it chose {got}"
        ))
        .with_request(format!("openssl s_client -connect 127.0.0.1:{} -servername {name} -alpn h2,http/1.1 </dev/null", run.port()))
        .with_output(run.output()));
    }
    Ok(())
}

/// Is this connection still open (nothing to read, no end of stream)?
fn still_open(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 64];
    matches!(stream.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

pub async fn others_not_blocked(mut cx: Ctx) -> CheckResult {
    let up = upstream().await?;
    let setup = setup(&mut cx, 2)?;
    let run = start(&cx, &setup, &up.url()).await?;
    let name = setup.names[cx.rng().usize(..2)].clone();
    let connect = || async {
        TcpStream::connect(run.tls).await.map_err(|e| Failure::new(format!("cannot connect to TLS_PORT: {e}")))
    };
    // One that says nothing, one that stops in the middle of its ClientHello,
    // one that leaves in the middle of it.
    let silent = connect().await?;
    let mut half = connect().await?;
    let _ = half.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]).await;
    let mut gone = connect().await?;
    let _ = gone.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]).await;
    drop(gone);
    let path = target(&mut cx);
    let answer = get(&run, &setup, &name, &path, &[]).await.map_err(|f| {
        Failure::new(format!(
            "with one client silent after connecting and one stopped in the middle of its ClientHello, another client must still be served: {}. \
             Each handshake must run in a task of its own, not in the accept loop",
            f.message()
        ))
        .with_output(run.output())
    })?;
    ensure!(
        answer.status == 200,
        "GET {path} with stalled handshakes around: expected the app's 200, got {}",
        answer.status
    );
    if !still_open(&silent) || !still_open(&half) {
        return Err(Failure::new(
            "the stalled handshakes were closed before another client was served: the program waited for them \
             (and gave up) instead of serving the others meanwhile. Each handshake must run in a task of its own",
        )
        .with_output(run.output()));
    }
    Ok(())
}

pub async fn plain_http(mut cx: Ctx) -> CheckResult {
    let up = upstream().await?;
    let setup = setup(&mut cx, 2)?;
    let run = start(&cx, &setup, &up.url()).await?;
    let name = setup.names[0].clone();
    let client = Client::new(run.tls, Duration::from_secs(10));
    let path = target(&mut cx);
    let ex = client.send_raw(Request::get(&path).header("host", &name)).await.map_err(|f| {
        Failure::new(format!(
            "plain HTTP sent to the TLS port must get nginx's answer, 400 (use https), not silence: {}",
            f.message()
        ))
        .with_output(run.output())
    })?;
    if ex.response.status != 400 {
        return Err(ex
            .fail("plain HTTP sent to the TLS port must be answered 400 Bad Request (as nginx says: the plain HTTP request was sent to HTTPS port)")
            .with_output(run.output()));
    }
    // And the port still serves TLS afterwards.
    get(&run, &setup, &name, &path, &[]).await?;
    Ok(())
}
