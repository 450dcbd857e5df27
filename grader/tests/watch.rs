//! Watch mode: a saved edit (even one saved by rename, as many editors do)
//! triggers one re-grade; `q` leaves cleanly.

mod common;
use common::*;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn wait_for(buf: &Arc<Mutex<String>>, what: &str, count: usize, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    loop {
        let text = buf.lock().unwrap().clone();
        if text.matches(what).count() >= count {
            return text;
        }
        assert!(Instant::now() < deadline, "no {count}x {what:?} within {limit:?}; output so far:\n{text}");
        std::thread::sleep(Duration::from_millis(20)); // polling the output, not synchronising
    }
}

#[test]
fn a_saved_edit_is_graded_again_and_q_quits() {
    let _g = serial();
    let sub = submission("01-bind", &[("main.rs", "fn main() { let x: u8 = \"not a number\"; }\n")]);
    let src = sub.path().join("exercises/01-bind/src");
    let path = sub.path().to_string_lossy().into_owned();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-grade"))
        .current_dir(kit_root())
        .args(["watch", "01-bind", "--submission", &path])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = Arc::new(Mutex::new(String::new()));
    let reader = {
        let out = out.clone();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let mut o = out.lock().unwrap();
                o.push_str(&line);
                o.push('\n');
            }
        })
    };
    let first = wait_for(&out, "watching ", 1, Duration::from_secs(300));
    assert!(first.contains("does not compile"), "{first}");
    // With nothing saved, nothing is graded again: the grader's own reads
    // of the folder are not saves. (Watching for an absence takes a window.)
    std::thread::sleep(Duration::from_secs(3));
    let idle = out.lock().unwrap().clone();
    assert_eq!(idle.matches("watching ").count(), 1, "graded again with nothing saved:\n{idle}");

    // Save the reference the way editors do: write aside, rename over.
    for (name, text) in common::read_dir_files(&kit_root().join("solutions/01-bind/src")) {
        let tmp = src.join(format!(".{name}.swp"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, src.join(&name)).unwrap();
    }
    let second = wait_for(&out, "watching ", 2, Duration::from_secs(300));
    assert!(second.contains("PASS  score 19/19"), "{second}");

    child.stdin.as_mut().unwrap().write_all(b"q\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "watch did not quit on q");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    reader.join().unwrap();
    assert_eq!(out.lock().unwrap().matches("watching ").count(), 2, "one save must be one grade");
    assert!(survivors(&kit_binary("grade-01-bind-bind"), 5).is_empty());
}
