//! `cargo grade gradebook report`: the instructor's page, rendered by a
//! real headless Chromium. It must load with no console message (its
//! Content-Security-Policy turns any outside request into one), carry its
//! charts, and show the gradebook's numbers.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    let found = harness::chromium::find();
    if found.is_none() {
        let msg = format!("chromium is not installed: the dashboard test is skipped ({})", harness::chromium::INSTALL);
        if std::env::var_os("KIT_REQUIRE_TOOLS").is_some() {
            panic!("KIT_REQUIRE_TOOLS is set: {msg}");
        }
        eprintln!("SKIPPED: {msg}");
    }
    found
}

/// The page as Chromium built it, and every console message it logged.
fn render(chrome: &Path, page: &Path) -> (String, Vec<String>) {
    let profile = tempfile::tempdir().unwrap();
    let o = Command::new(chrome)
        .args(harness::chromium::headless_args(profile.path()))
        .args(["--enable-logging=stderr", "--v=0", "--dump-dom"])
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    let log = String::from_utf8_lossy(&o.stderr).into_owned();
    let console = log.lines().filter(|l| l.contains(":CONSOLE")).map(String::from).collect();
    (String::from_utf8_lossy(&o.stdout).into_owned(), console)
}

/// The values of `attr` on the elements whose opening tag contains `marker`.
fn attrs(dom: &str, marker: &str, attr: &str) -> Vec<String> {
    dom.split('<')
        .filter(|tag| tag.contains(marker))
        .filter_map(|tag| tag.split(&format!(" {attr}=\"")).nth(1)?.split('"').next().map(String::from))
        .collect()
}

#[test]
fn the_dashboard_renders_in_chromium_with_the_gradebooks_numbers() {
    let Some(chrome) = chromium() else { return };
    let _g = serial();
    let root = tempfile::tempdir().unwrap();
    // A class: two references, the stub, one that does not compile.
    let mut subs = Vec::new();
    for (name, kind) in [("ann", "ref"), ("bob", "stub"), ("cy", "ref"), ("dee", "broken")] {
        let src = root.path().join("class").join(name).join("exercises/01-bind/src");
        let from = if kind == "stub" { "exercises/01-bind/src" } else { "solutions/01-bind/src" };
        copy_dir(&kit_root().join(from), &src);
        let main = src.join("main.rs");
        let extra =
            if kind == "broken" { "\nfn broken() -> u8 { \"no\" }\n".to_string() } else { format!("\n// {name}\n") };
        std::fs::write(&main, std::fs::read_to_string(&main).unwrap() + &extra).unwrap();
        subs.push(root.path().join("class").join(name).to_string_lossy().into_owned());
    }
    let grades = root.path().join("grades");
    let mut args = vec!["batch", "--exercise", "01-bind", "--seed", "3", "--out", grades.to_str().unwrap()];
    args.extend(subs.iter().map(String::as_str));
    let o = cargo_grade(&args);
    assert_eq!(code(&o), 1, "{}", stderr(&o));

    let html = root.path().join("html");
    let o = cargo_grade(&["gradebook", "report", grades.to_str().unwrap(), "--html", html.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let page = html.join("index.html");
    let text = std::fs::read_to_string(&page).unwrap();
    assert!(!text.contains("<script") && !text.contains("http://") && !text.contains("https://"), "self-contained");

    // The console detector sees what it should: a page that logs an error
    // and loads an outside image is caught.
    let control = root.path().join("control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'\"><img src=\"http://example.invalid/x.png\"><script>console.error('control')</script>",
    )
    .unwrap();
    let (_, console) = render(&chrome, &control);
    assert!(console.len() >= 2, "chromium did not log the control page's console messages: {console:?}");

    let (dom, console) = render(&chrome, &page);
    assert!(console.is_empty(), "the dashboard logged to the console:\n{}", console.join("\n"));
    assert!(dom.contains("</html>"), "no page rendered:\n{dom}");
    assert_eq!(attrs(&dom, "svg class=\"histogram\"", "data-exercise"), ["01-bind"]);
    assert!(dom.contains("<svg class=\"failing\""), "the failing-checks chart is missing");

    // Numbers: the histogram counts every submission, the score cells are
    // the gradebook's, and each check's failing count is the reports'.
    let counts: usize =
        attrs(&dom, "rect class=\"bin\"", "data-count").iter().map(|c| c.parse::<usize>().unwrap()).sum();
    assert_eq!(counts, 4);
    let book = std::fs::read_to_string(grades.join("gradebook.csv")).unwrap();
    let names = attrs(&dom, "tr class=\"student\"", "data-name");
    let scores = attrs(&dom, "td class=\"num score", "data-score");
    let statuses = attrs(&dom, "td class=\"num score", "data-status");
    let shown: Vec<String> =
        (0..names.len()).map(|i| format!("{},01-bind,{},19,{}", names[i], scores[i], statuses[i])).collect();
    let rows: Vec<String> = book.lines().skip(1).map(String::from).collect();
    assert_eq!(shown, rows, "the students' rows differ from gradebook.csv");
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(grades.join("run.json")).unwrap()).unwrap();
    let failing_listen = run["grades"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["checks"].as_array().unwrap().iter().any(|c| c["id"] == "bind.listens" && c["status"] != "pass"))
        .count();
    assert_eq!(failing_listen, 2, "the stub and the broken one fail bind.listens");
    let checks = attrs(&dom, "tr class=\"check\"", "data-check");
    let failing = attrs(&dom, "tr class=\"check\"", "data-failing");
    let i = checks.iter().position(|c| c == "bind.listens").expect("bind.listens listed");
    assert_eq!(failing[i], failing_listen.to_string());
    let shares: Vec<usize> = failing.iter().map(|f| f.parse().unwrap()).collect();
    assert!(shares.windows(2).all(|w| w[0] >= w[1]), "worst first: {shares:?}");
    // Each row links to a report that is there.
    for n in &names {
        assert!(dom.contains(&format!("href=\"reports/{n}.json\"")));
        assert!(html.join("reports").join(format!("{n}.json")).is_file());
    }
}

#[test]
fn a_report_of_a_folder_that_is_no_gradebook_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = cargo_grade(&["gradebook", "report", dir.path().to_str().unwrap(), "--html", "/tmp/unused-dashboard"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no shard.json"), "{}", stderr(&o));
}
