//! The host of a library exercise: a small program that links the student's
//! crate and serves its API over stdin and stdout, one JSON object a line
//! ([`wire`]). The hidden suite starts it confined, like a server subject,
//! and drives it through a shim with the API its checks use
//! (`harness::host` is the other end), so student code never shares memory
//! or a channel with the code that writes verdicts.
//!
//! What a host does for every exercise, so that calling through it behaves
//! like calling in-process:
//! - each call runs as a task of its own; its first poll is reported
//!   (`pending`), and the next request is read only after it, so calls
//!   reach the student's code in the order the suite made them;
//! - a call the suite drops is stopped: its future is dropped, as a
//!   cancelled task's would be, before the next request is read;
//! - objects a call returns (a checkout) are held in tasks of their own,
//!   where later calls run on them; releasing one drops it, normally or
//!   while its task panics;
//! - a panic in the student's code is the call's reply, with the message
//!   and the place (`src/pool.rs:LINE:COL`);
//! - the host's stdout carries only replies: what the student's code
//!   prints goes to stderr.

mod calls;
mod panics;
pub mod wire;

use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use calls::{First, HeldCmd, Stop};
use panics::{Watch, WATCH};
pub use wire::{Reply, Request};

/// A call's result: `Ok` with the value to reply, or the API's error,
/// described.
pub type Outcome = Result<Value, Value>;

/// A call on a held object: given the object, the future to run.
pub type HeldOp<T> = Box<dyn for<'a> FnOnce(&'a mut T) -> HeldCall<'a> + Send>;

/// The future of a call on a held object, which borrows it.
pub type HeldCall<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// How long the host waits for a stopped call or a released object to be
/// dropped before it reads on (student code that blocks in a `Drop`).
const SETTLE: Duration = Duration::from_secs(2);

/// Run a host: `main` gets the [`Host`] and loops over [`Host::next`] until
/// the suite hangs up.
pub fn serve<T, F, Fut>(main: F) -> ExitCode
where
    T: Send + 'static,
    F: FnOnce(Host<T>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let out = match take_stdout() {
        Ok(file) => Out(Arc::new(Mutex::new(file))),
        Err(e) => {
            eprintln!("error: the host cannot set up its reply channel: {e}");
            return ExitCode::from(2);
        }
    };
    panics::install_hook();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: the host cannot start its async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let (tx, requests) = mpsc::unbounded_channel();
    std::thread::spawn(move || read_requests(tx));
    let watch = Watch::new(0);
    let host = Host { requests, out, book: Arc::new(Mutex::new(Book::default())), watch: watch.clone() };
    // The request loop runs on a worker: a call it spawns then starts on
    // the same thread as soon as the loop waits for its first poll, instead
    // of waking another thread for every request.
    let main = runtime.spawn(WATCH.scope(watch, main(host)));
    let _ = runtime.block_on(main);
    runtime.shutdown_timeout(Duration::from_millis(100));
    ExitCode::SUCCESS
}

/// The replies' descriptor is a copy of stdout taken at start; stdout
/// itself becomes stderr, so nothing the student's code prints can be
/// mistaken for a reply.
#[cfg(unix)]
fn take_stdout() -> std::io::Result<std::fs::File> {
    use std::os::fd::FromRawFd;
    // SAFETY: fcntl and dup2 on the standard descriptors touch no memory;
    // a failure is reported through errno.
    unsafe {
        let fd = libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3);
        if fd < 0 || libc::dup2(2, 1) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(std::fs::File::from_raw_fd(fd))
    }
}

fn read_requests(tx: mpsc::UnboundedSender<Request>) {
    use std::io::BufRead;
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { return };
        match serde_json::from_str::<Request>(&line) {
            Ok(request) => {
                if tx.send(request).is_err() {
                    return;
                }
            }
            Err(e) => eprintln!("error: the host got a line that is not a request ({e}): {line}"),
        }
    }
}

/// Where replies go. One write per line, so lines never interleave.
#[derive(Clone)]
pub(crate) struct Out(Arc<Mutex<std::fs::File>>);

impl Out {
    pub(crate) fn send(&self, reply: &Reply) {
        let mut line = serde_json::to_vec(reply).unwrap_or_default();
        line.push(b'\n');
        let _ = self.0.lock().unwrap_or_else(|e| e.into_inner()).write_all(&line);
    }

    pub(crate) fn done(&self, id: u64, outcome: Outcome) {
        let (ok, value) = match outcome {
            Ok(v) => (true, v),
            Err(v) => (false, v),
        };
        self.send(&Reply::Done { id, ok, value });
    }
}

/// The calls in flight and the held objects, under one lock: a call that
/// ends and the object it produced change together, so a cancel finds the
/// one or the other.
pub(crate) struct Book<T> {
    calls: HashMap<u64, Stop>,
    held: HashMap<u64, mpsc::UnboundedSender<HeldCmd<T>>>,
}

impl<T> Default for Book<T> {
    fn default() -> Self {
        Book { calls: HashMap::new(), held: HashMap::new() }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The host's side of the conversation; `T` is what calls hand out and
/// later calls work on (a checkout).
pub struct Host<T> {
    requests: mpsc::UnboundedReceiver<Request>,
    out: Out,
    book: Arc<Mutex<Book<T>>>,
    /// The request loop's own, for calls run in place ([`Host::now`]).
    watch: Arc<Watch>,
}

impl<T: Send + 'static> Host<T> {
    /// The next request for the exercise; the generic ones ([`wire`]) are
    /// answered here. `None` once the suite hangs up.
    pub async fn next(&mut self) -> Option<Request> {
        loop {
            let request = self.requests.recv().await?;
            match request.op.as_str() {
                wire::CANCEL => self.cancel(request.on).await,
                wire::RELEASE => self.release(request.on, false).await,
                wire::RELEASE_PANICKING => self.release(request.on, true).await,
                wire::TURN => {
                    self.spawn(request.id, async {
                        reactor_turn().await;
                        Ok(Value::Null)
                    })
                    .await
                }
                _ => return Some(request),
            }
        }
    }

    /// Run a synchronous call in place (a constructor): `Ok((kept, value))`
    /// replies `value` and returns `kept`; an error or a panic is replied.
    pub fn now<R>(&mut self, id: u64, f: impl FnOnce() -> Result<(R, Value), Value>) -> Option<R> {
        self.watch.set(id);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        self.watch.set(0);
        match result {
            Ok(Ok((kept, value))) => {
                self.out.done(id, Ok(value));
                Some(kept)
            }
            Ok(Err(e)) => {
                self.out.done(id, Err(e));
                None
            }
            Err(_) => {
                let (message, at) = self.watch.take();
                self.out.send(&Reply::Panicked { id, message, at });
                None
            }
        }
    }

    /// Drop something of the student's (a pool handle) in place; a panic in
    /// its `Drop` is printed, and the host carries on.
    pub fn drop_now<V>(&mut self, value: V) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(value)));
    }

    /// Run `fut` as call `id`, in a task of its own; returns after its
    /// first poll.
    pub async fn spawn(&mut self, id: u64, fut: impl Future<Output = Outcome> + Send + 'static) {
        let (first, polled) = First::new(id, self.out.clone());
        let stop = self.enter(id);
        calls::supervise(Watch::new(id), self.out.clone(), calls::call(id, fut, first, stop, self.book.clone()));
        let _ = polled.await;
    }

    /// Like [`Host::spawn`], for a call that hands out an object: on success
    /// it is held under `id` (the value is replied), and later calls name
    /// it with `on`.
    pub async fn spawn_held(&mut self, id: u64, fut: impl Future<Output = Result<(T, Value), Value>> + Send + 'static) {
        let (first, polled) = First::new(id, self.out.clone());
        let stop = self.enter(id);
        let held = calls::call_held(id, fut, first, stop, self.book.clone(), self.out.clone());
        calls::supervise(Watch::new(id), self.out.clone(), held);
        let _ = polled.await;
    }

    /// Run `op` as call `id` on the held object `on`, in that object's task.
    pub async fn on_held(&mut self, id: u64, on: Option<u64>, op: HeldOp<T>) {
        let keeper = on.and_then(|on| lock(&self.book).held.get(&on).cloned());
        let Some(keeper) = keeper else {
            return self.refuse(id, "no such object: it was released, or never handed out".into());
        };
        let (first, polled) = First::new(id, self.out.clone());
        let stop = self.enter(id);
        if keeper.send(HeldCmd::Run { id, op, first, stop }).is_err() {
            lock(&self.book).calls.remove(&id);
            return self.refuse(id, "the object's holder is gone: it panicked earlier".into());
        }
        let _ = polled.await;
    }

    /// The request cannot be run (an unknown operation).
    pub fn refuse(&self, id: u64, why: String) {
        self.out.send(&Reply::Refused { id, why });
    }

    /// Note call `id` as in flight; the receiver tells it to stop.
    fn enter(&self, id: u64) -> calls::StopRx {
        let (tx, rx) = oneshot::channel();
        lock(&self.book).calls.insert(id, tx);
        rx
    }

    /// Stop call `on` if it runs; if it already handed out an object that
    /// the suite never got, release that.
    async fn cancel(&mut self, on: Option<u64>) {
        let Some(on) = on else { return };
        let stop = lock(&self.book).calls.remove(&on);
        match stop {
            Some(stop) => {
                let (done, stopped) = oneshot::channel();
                if stop.send(done).is_ok() {
                    let _ = tokio::time::timeout(SETTLE, stopped).await;
                }
            }
            None => self.release(Some(on), false).await,
        }
    }

    async fn release(&mut self, on: Option<u64>, panicking: bool) {
        let keeper = on.and_then(|on| lock(&self.book).held.remove(&on));
        let Some(keeper) = keeper else { return };
        let (done, released) = oneshot::channel();
        if keeper.send(HeldCmd::Release { panicking, done }).is_ok() {
            let _ = tokio::time::timeout(SETTLE, released).await;
        }
    }
}

/// Let this process's I/O reactor take in everything the kernel has
/// delivered so far. A student's `is_broken` may trust tokio's view of a
/// socket, which lags the kernel's on a busy machine: a goodbye the server
/// sent may sit unseen for a while. A datagram sent to ourselves now is
/// reported after anything that arrived before it, so once tokio hands it
/// to us, every earlier arrival has been seen too.
pub async fn reactor_turn() {
    let Ok(socket) = tokio::net::UdpSocket::bind("127.0.0.1:0").await else { return };
    let Ok(addr) = socket.local_addr() else { return };
    if socket.send_to(b"!", addr).await.is_err() {
        return;
    }
    let mut buf = [0u8; 1];
    let _ = tokio::time::timeout(Duration::from_secs(2), socket.recv_from(&mut buf)).await;
}
