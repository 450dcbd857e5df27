//! Stage `locations`: which location answers a path.

use crate::cases::{upstream, Action, Location, Mix, Request, Rules, Server};
use crate::fixtures::*;

pub async fn order(mut cx: Ctx) -> CheckResult {
    // The example of nginx's own `location` documentation, with random names,
    // a second regex after the first that matches some of the same paths, and
    // an exact location both regexes match.
    let up = upstream("app").await?;
    let (docs, images, pic) = (cx.word(6), cx.word(5), cx.word(4));
    let rules = format!(
        "server {{\n  listen 80;\n  location = / {{ {a} }}\n  location / {{ {b} }}\n  location /{docs}/ {{ {c} }}\n  location ^~ /{images}/ {{ {d} }}\n  location ~* \\.(gif|jpg|jpeg)$ {{ {e} }}\n  location ~ \\.(jpe?g|png)$ {{ {f} }}\n  location = /{docs}/{pic}.jpg {{ {g} }}\n}}\n",
        a = route("A", &up),
        b = route("B", &up),
        c = route("C", &up),
        d = route("D", &up),
        e = route("E", &up),
        f = route("F", &up),
        g = route("G", &up),
    );
    let run = start(&mut cx, &rules).await?;
    let h = "localhost";
    let cases = vec![
        (get(h, "/"), "A"),
        (get(h, &format!("/{}.html", cx.word(5))), "B"),
        (get(h, &format!("/{docs}/{}.html", cx.word(4))), "C"),
        (get(h, &format!("/{images}/{}.gif", cx.word(4))), "D"),
        (get(h, &format!("/{docs}/{}.JPG", cx.word(4))), "E"),
        // Both regexes match: the first in the file wins.
        (get(h, &format!("/{}/x.jpeg", cx.word(3))), "E"),
        (get(h, &format!("/{}.png", cx.word(4))), "F"),
        // An exact match wins before any regex is tried.
        (get(h, &format!("/{docs}/{pic}.jpg")), "G"),
    ];
    expect_routes(&run, &run.plain, cases, "the location").await
}

/// nginx's documented nesting (`/`, `/a/`, `/a/b/`, `/a/b/x`) with random
/// names and requests; the right location is whatever the reference picks.
pub async fn longest_prefix(mut cx: Ctx) -> CheckResult {
    let (a, b) = (cx.word(5), cx.word(4));
    let ups = Upstreams::start().await?;
    let pass = |pattern: String| Location {
        modifier: "",
        pattern,
        action: Action::Pass { upstream: upstream::APP, uri: None },
        headers: Vec::new(),
        timeouts_ms: None,
    };
    let chain = [String::from("/"), format!("/{a}/"), format!("/{a}/{b}/"), format!("/{a}/{b}/x")];
    let mut locations: Vec<Location> = chain.iter().cloned().map(pass).collect();
    // Longest, whatever the order of the file; but never longest-first all
    // the way down, where "the first that matches" would agree by luck.
    cx.rng().shuffle(&mut locations);
    if locations.windows(2).all(|w| w[0].pattern.len() > w[1].pattern.len()) {
        locations.swap(0, 1);
    }
    let rules = Rules { servers: vec![Server { tls: false, default: false, names: Vec::new(), ret: None, locations }] };
    let tails = ["", "x", "xyz", "y", "x/", "/x"];
    // One request under each prefix: it matches that prefix and every
    // shorter one, so one of them meets a shorter prefix written first.
    let mut requests: Vec<Request> = chain
        .iter()
        .map(|p| Request {
            tls: false,
            method: "GET",
            host: "localhost".into(),
            target: format!("{p}{}", cx.word(3)),
            forwarded_for: Vec::new(),
        })
        .collect();
    for _ in 0..8 {
        let base =
            [format!("/{a}/{b}/"), format!("/{a}/"), format!("/{a}"), format!("/{a}x/")][cx.rng().usize(..4)].clone();
        let tail = match cx.rng().usize(..3) {
            0 => tails[cx.rng().usize(..tails.len())].to_string(),
            _ => cx.word(3),
        };
        requests.push(Request {
            tls: false,
            method: "GET",
            host: "localhost".into(),
            target: format!("{base}{tail}"),
            forwarded_for: Vec::new(),
        });
    }
    let case = ups.case(rules, requests);
    compare(&cx, RULE, vec![case], 40).await
}

const RULE: &str = "The location is chosen like nginx does: an exact `=` match wins at once; otherwise the LONGEST matching prefix (not the first) is remembered; if it is `^~` it wins; otherwise the first matching regex in file order; otherwise the longest prefix. A path equal to a proxying `/name/` location without its slash gets a 301 to `/name/`.";

/// Random rule files with nested prefixes, `=`, `^~` and overlapping
/// regexes; random paths aimed at them.
pub async fn random(mut cx: Ctx) -> CheckResult {
    let mix = Mix { locations: true, ..Mix::default() };
    differential(&mut cx, RULE, mix, 12, 30).await
}
