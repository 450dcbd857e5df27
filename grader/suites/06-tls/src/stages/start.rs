//! Stage `start`: the program starts with a Certbot folder and passes one
//! request on over TLS.

use crate::fixtures::*;

pub async fn proxies(mut cx: Ctx) -> CheckResult {
    let up = upstream().await?;
    let setup = setup(&mut cx, 2)?;
    let run = start(&cx, &setup, &up.url()).await?;
    let name = setup.names[0].clone();
    let path = target(&mut cx);
    let (answer, seen) = through(&run, &setup, &name, &path, &[]).await?;
    if answer.status != 200 || seen.uri != path {
        return Err(Failure::new(format!(
            "GET https://{name}{path} must reach the app as {path} and pass on its 200; the app saw {} and you answered {}",
            seen.uri, answer.status
        ))
        .with_request(curl(&run, Some(&name), &path, &[]))
        .with_response(answer.text())
        .with_output(run.output()));
    }
    Ok(())
}
