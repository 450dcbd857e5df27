//! Stage handshake: who may open the live socket. The Origin is one of the
//! allowed frontends (403), the token travels as the subprotocol
//! `bearer.TOKEN` (401 without a valid one), `?after=` is an id (400); no
//! upgrade unless all three hold.

use harness::{CheckResult, Ctx, Failure};

use crate::fixture::{Fx, HANDSHAKE_LIMIT};
use crate::world::World;
use crate::ws::{self, Handshake, Open};

/// A page on the allowed origin, with a valid token, gets its socket, and
/// the server selects the subprotocol `live`; so does a client that sends
/// no Origin at all (not a browser), and a page on the second allowed origin.
pub async fn open(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 2, 1)?;
    let fx = Fx::start(&cx, world).await?;
    let who = &fx.world.users[0];
    let mut cases = vec![(fx.how(who), "a page on the allowed origin")];
    let mut second = fx.how(who);
    second.origin = Some(fx.world.origins[1].clone());
    cases.push((second, "a page on the second allowed origin"));
    let mut no_origin = fx.how(who);
    no_origin.origin = None;
    cases.push((no_origin, "a client that sends no Origin (not a browser: curl, a server)"));
    for (how, what) in cases {
        match ws::open(fx.addr(), &how, HANDSHAKE_LIMIT).await.map_err(|f| fx.with_output(f))? {
            Handshake::Open(live, protocol) => {
                if protocol.as_deref() != Some("live") {
                    return Err(fx.with_output(
                        Failure::new(format!(
                            "{what} offering the subprotocols `live, bearer.TOKEN` must get `Sec-WebSocket-Protocol: live` \
                             in the 101 answer (a browser fails a socket whose server selects none, and the token must \
                             never be echoed), got {protocol:?}"
                        ))
                        .with_request(how.curl(fx.addr())),
                    ));
                }
                live.close().await;
            }
            Handshake::Refused(status, body) => {
                return Err(fx.with_output(
                    Failure::new(format!(
                        "{what} with a valid token must get its socket (101 Switching Protocols), got {status}: {body} \
                         (ALLOWED_ORIGINS={})",
                        fx.world.origins_env()
                    ))
                    .with_request(how.curl(fx.addr())),
                ))
            }
        }
    }
    Ok(())
}

/// Each way to lack a valid token is 401, and no socket.
pub async fn auth(mut cx: Ctx) -> CheckResult {
    let mut world = World::new(&mut cx, 2, 1)?;
    let unknown = format!("{}{}", cx.word(12), world.unused_id(&mut cx));
    let fx = Fx::start(&cx, world).await?;
    let who = &fx.world.users[0];
    let origin = Some(fx.world.origin().to_string());
    let base = Open { origin: origin.clone(), ..Open::default() };
    let cases = [
        (Open { protocols: None, ..base.clone() }, "no Sec-WebSocket-Protocol at all"),
        (Open { protocols: Some("live".into()), ..base.clone() }, "only the subprotocol `live`, no token"),
        (Open { protocols: Some("live, bearer.".into()), ..base.clone() }, "an empty token (`bearer.`)"),
        (Open { protocols: Some(format!("live, bearer.{unknown}")), ..base.clone() }, "a token that belongs to nobody"),
        (
            Open { protocols: Some(format!("live, bearer.{}", who.token.to_uppercase())), ..base.clone() },
            "a user's token in another case (tokens are compared exactly)",
        ),
        (
            Open { protocols: Some("live".into()), query: Some(format!("token={}", who.token)), ..base.clone() },
            "the token in the query string (?token=...) instead of the subprotocol: URLs end up in logs and histories",
        ),
        (
            Open { protocols: Some("live".into()), query: Some(format!("token={unknown}")), ..base.clone() },
            "a made-up token in the query string",
        ),
    ];
    for (how, what) in cases {
        refused(&fx, &how, 401, what).await?;
    }
    Ok(())
}

/// A page on any origin that is not listed is refused with 403, whatever
/// its token.
pub async fn origin(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 2, 1)?;
    let evil = format!("http://{}.example", cx.word(9));
    let fx = Fx::start(&cx, world).await?;
    let who = &fx.world.users[0];
    let allowed = fx.world.origin().to_string();
    let port: u16 = allowed.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or(3000);
    let cases = [
        (evil.clone(), "a page on another site"),
        ("null".to_string(), "a sandboxed frame or a file:// page (Origin: null)"),
        (format!("http://localhost:{}", port + 1), "the allowed host on another port"),
        (allowed.replacen("http://", "https://", 1), "the allowed host with another scheme"),
        (format!("{allowed}.{}.example", cx.word(5)), "an origin that merely starts with an allowed one"),
    ];
    for (o, what) in cases {
        let how = Open { origin: Some(o), ..fx.how(who) };
        refused(&fx, &how, 403, what).await?;
    }
    // The origin is checked even without a valid token: still 403 or 401, never a socket.
    let how = Open { origin: Some(evil), protocols: Some("live".into()), ..Open::default() };
    match ws::open(fx.addr(), &how, HANDSHAKE_LIMIT).await.map_err(|f| fx.with_output(f))? {
        Handshake::Refused(403 | 401, _) => Ok(()),
        Handshake::Refused(status, body) => Err(fx.with_output(
            Failure::new(format!(
                "a page on another site without a token must be refused with 403 (or 401), got {status}: {body}"
            ))
            .with_request(how.curl(fx.addr())),
        )),
        Handshake::Open(..) => Err(fx.with_output(
            Failure::new("a page on another site without a token got a socket: check the Origin before upgrading")
                .with_request(how.curl(fx.addr())),
        )),
    }
}

/// `?after=` must be a notification id: a whole number, 0 or more.
pub async fn after(mut cx: Ctx) -> CheckResult {
    let world = World::new(&mut cx, 2, 1)?;
    let fx = Fx::start(&cx, world).await?;
    let who = &fx.world.users[0];
    for bad in ["abc", "-1", "1.5", "+7", "", "99999999999999999999999"] {
        let how = Open { query: Some(format!("after={bad}")), ..fx.how(who) };
        refused(&fx, &how, 400, &format!("after={bad:?}, which is not a notification id")).await?;
    }
    let how = fx.how(who).after(0);
    let live = fx.open(&how).await?;
    live.close().await;
    Ok(())
}

async fn refused(fx: &Fx, how: &Open, want: u16, what: &str) -> CheckResult {
    let reason = match want {
        401 => "no valid token, no socket: 401 before the upgrade, with a JSON error",
        403 => "WebSockets are not covered by CORS, so the server itself must refuse pages from origins not in ALLOWED_ORIGINS: 403 before the upgrade",
        _ => "the request is malformed: 400 before the upgrade",
    };
    match ws::open(fx.addr(), how, HANDSHAKE_LIMIT).await.map_err(|f| fx.with_output(f))? {
        Handshake::Refused(status, _) if status == want => Ok(()),
        Handshake::Refused(status, body) => Err(fx.with_output(
            Failure::new(format!("{what}: {reason}. Got {status}: {body}")).with_request(how.curl(fx.addr())),
        )),
        Handshake::Open(live, _) => {
            live.close().await;
            Err(fx.with_output(
                Failure::new(format!("{what}: {reason}. Got 101: the socket was opened"))
                    .with_request(how.curl(fx.addr())),
            ))
        }
    }
}
