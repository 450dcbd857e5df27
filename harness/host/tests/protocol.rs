//! The host's protocol end to end: this test program runs itself again as
//! a host (`GRADE_HOST_TEST=serve`) and talks to it over its stdin and
//! stdout, as a suite's shim does. (`harness = false`: libtest would print
//! on the stdout the replies travel on.)

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;

use grade_host::wire::{Reply, Request, CANCEL, RELEASE_PANICKING};
use grade_host::{HeldCall, HeldOp, Host};
use serde_json::{json, Value};

/// What happened in the host that no reply says (drops), for `log`.
static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn log(line: String) {
    LOG.lock().unwrap().push(line);
}

/// A held object that notes how it was dropped.
struct Held(String);

impl Drop for Held {
    fn drop(&mut self) {
        log(format!("{} dropped, panicking: {}", self.0, std::thread::panicking()));
    }
}

/// Notes that the future holding it was dropped.
struct Guard(&'static str);

impl Drop for Guard {
    fn drop(&mut self) {
        log(format!("{} dropped", self.0));
    }
}

fn name_of() -> HeldOp<Held> {
    Box::new(|held: &mut Held| -> HeldCall<'_> { Box::pin(async move { Ok(json!(held.0)) }) })
}

async fn serve(mut host: Host<Held>) {
    while let Some(r) = host.next().await {
        match r.op.as_str() {
            "hold" => {
                let name = r.args.as_str().unwrap_or_default().to_string();
                host.spawn_held(r.id, async move { Ok((Held(name.clone()), json!(name))) }).await
            }
            "name" => host.on_held(r.id, r.on, name_of()).await,
            "wait" => {
                host.spawn(r.id, async {
                    let _guard = Guard("wait");
                    std::future::pending::<()>().await;
                    Ok(Value::Null)
                })
                .await
            }
            "print" => {
                host.now(r.id, || {
                    println!("printed by the library");
                    Ok(((), Value::Null))
                });
            }
            "boom" => host.spawn(r.id, async { panic!("boom") }).await,
            "log" => {
                host.now(r.id, || Ok(((), json!(*LOG.lock().unwrap()))));
            }
            other => host.refuse(r.id, format!("no operation `{other}`")),
        }
    }
}

struct Client {
    stdin: std::process::ChildStdin,
    replies: mpsc::Receiver<String>,
    next: u64,
}

impl Client {
    fn send(&mut self, op: &str, on: Option<u64>, args: Value) -> u64 {
        self.next += 1;
        let line = serde_json::to_string(&Request { id: self.next, op: op.into(), on, args }).unwrap();
        writeln!(self.stdin, "{line}").unwrap();
        self.next
    }

    fn reply(&self) -> Reply {
        let line = self.replies.recv_timeout(Duration::from_secs(10)).expect("a reply within 10 s");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a reply ({e}): {line}"))
    }

    fn log(&mut self) -> Vec<String> {
        let id = self.send("log", None, Value::Null);
        match self.reply() {
            Reply::Done { id: got, ok: true, value } if got == id => serde_json::from_value(value).unwrap(),
            other => panic!("log: {other:?}"),
        }
    }
}

fn main() {
    if std::env::var("GRADE_HOST_TEST").as_deref() == Ok("serve") {
        std::process::exit(match grade_host::serve(serve) {
            c if c == std::process::ExitCode::SUCCESS => 0,
            _ => 1,
        });
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("GRADE_HOST_TEST", "serve")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, replies) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || BufReader::new(stdout).lines().map_while(Result::ok).for_each(|l| drop(tx.send(l))));
    let mut c = Client { stdin: child.stdin.take().unwrap(), replies, next: 0 };
    scenario(&mut c);
    drop(c);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the host exits 0 when the suite hangs up: {:?}", out.status);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("printed by the library"), "what the library prints goes to stderr: {stderr}");
    assert!(!stderr.contains("boom"), "a call's panic is its reply, not printed: {stderr}");
    println!("protocol: ok");
}

fn scenario(c: &mut Client) {
    // A call that finishes at its first poll: its answer, no `pending`.
    let a = c.send("hold", None, json!("a"));
    assert_eq!(c.reply(), Reply::Done { id: a, ok: true, value: json!("a") });
    // One that waits says so, and stops when cancelled: its future dropped
    // before the next request is read.
    let wait = c.send("wait", None, Value::Null);
    assert_eq!(c.reply(), Reply::Pending { id: wait });
    c.send(CANCEL, Some(wait), Value::Null);
    assert!(c.log().contains(&"wait dropped".to_string()));
    // Calls on a held object run on it.
    let name = c.send("name", Some(a), Value::Null);
    assert_eq!(c.reply(), Reply::Done { id: name, ok: true, value: json!("a") });
    // Printing never reaches the replies.
    let print = c.send("print", None, Value::Null);
    assert_eq!(c.reply(), Reply::Done { id: print, ok: true, value: Value::Null });
    // A panic is the call's reply, with its place.
    let boom = c.send("boom", None, Value::Null);
    match c.reply() {
        Reply::Panicked { id, message, at } => {
            assert_eq!((id, message.as_str()), (boom, "boom"));
            assert!(at.contains("tests/protocol.rs:"), "{at}");
        }
        other => panic!("boom: {other:?}"),
    }
    // Released while its task panics: the object's Drop sees the panic,
    // and the object is gone.
    c.send(RELEASE_PANICKING, Some(a), Value::Null);
    assert!(c.log().contains(&"a dropped, panicking: true".to_string()));
    let gone = c.send("name", Some(a), Value::Null);
    assert!(matches!(c.reply(), Reply::Refused { id, .. } if id == gone));
    let unknown = c.send("nonsense", None, Value::Null);
    assert!(matches!(c.reply(), Reply::Refused { id, .. } if id == unknown));
    // A cancel after the call handed out its object releases it.
    let b = c.send("hold", None, json!("b"));
    assert!(matches!(c.reply(), Reply::Done { id, .. } if id == b));
    c.send(CANCEL, Some(b), Value::Null);
    assert!(c.log().contains(&"b dropped, panicking: false".to_string()));
}
