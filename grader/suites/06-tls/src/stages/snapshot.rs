//! Stage `snapshot`: the request the app receives and the answer the
//! browser gets, against the transcripts recorded from the reference.

use crate::fixtures::*;

pub async fn exchange(mut cx: Ctx) -> CheckResult {
    let up = upstream().await?;
    let setup = setup(&mut cx, 2)?;
    let run = start(&cx, &setup, &up.url()).await?;
    let name = setup.names[0].clone();
    let headers = vec![
        ("accept".to_string(), "text/html".to_string()),
        ("x-forwarded-for".to_string(), "203.0.113.7".to_string()),
        ("connection".to_string(), "keep-alive, x-trace".to_string()),
        ("x-trace".to_string(), "for-the-proxy".to_string()),
    ];
    let (answer, seen) = through(&run, &setup, &name, "/feed?page=2", &headers).await?;
    let app = up.addr.to_string();
    let hsts = format!("max-age={}", setup.hsts);
    let mut text = String::from("--- the request as the app received it\n");
    text.push_str(&seen.render(&[(&name, "SITE"), (&app, "APP")]));
    text.push_str(&format!("--- the answer as the browser received it\nstatus: {}\n", answer.status));
    let mut response: Vec<(String, String)> =
        answer.headers.iter().filter(|(k, _)| k != "date" && k != "content-length").cloned().collect();
    response.sort();
    for (k, v) in response {
        text.push_str(&format!("{k}: {}\n", v.replace(&hsts, "max-age=HSTS_MAX_AGE")));
    }
    harness::snapshot::compare(&cx, "snapshot.exchange", &text)
        .map_err(|f| f.with_request(curl(&run, Some(&name), "/feed?page=2", &headers)).with_output(run.output()))
}
