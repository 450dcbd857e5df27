//! The suite's end of a library exercise's host (the grade-host crate): the
//! student's crate runs in a program of its own, confined like a server
//! subject, and a shim in the suite calls it with the API its checks use.
//! Student code then never shares memory or a channel with the code that
//! writes verdicts: what it can reach is its own process and the pipe it
//! answers on, which this side reads as answers, never as results.
//!
//! A [`Call`] behaves like the future it stands for: the request is sent at
//! its first poll, it resolves with the answer, and dropping it before
//! then stops the call in the host, as dropping the future would have.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use grade_host::wire::{self, Reply, Request};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::{mpsc, oneshot};

use crate::process::{Proc, Spawn};
use crate::{Ctx, Failure};

/// What a call came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// It returned `Ok` with this value.
    Ok(Value),
    /// It returned the API's error, as the host described it.
    Err(Value),
    /// The student's code panicked, at `at` (`FILE:LINE:COL`).
    Panicked { message: String, at: String },
    /// No answer will come: the host is gone (why), or refused the call.
    Lost(String),
}

/// A running host. Clones share it; when the last clone and every call are
/// gone, its process group is killed.
#[derive(Clone)]
pub struct Host {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    requests: mpsc::UnboundedSender<String>,
    /// Dropped with the last handle: the reader stops and kills the host.
    _stop: oneshot::Sender<()>,
    printed: Arc<Mutex<String>>,
}

/// What the reader task and the handles share.
#[derive(Default)]
struct Shared {
    next_id: AtomicU64,
    calls: Mutex<HashMap<u64, mpsc::UnboundedSender<Reply>>>,
    /// Why the host is gone, once it is.
    lost: Mutex<Option<String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Host {
    /// Start the check's subject (the host binary) confined by `spec`.
    pub fn start(cx: &Ctx, spec: &Spawn) -> Result<Host, Failure> {
        let (proc, stdin, stdout) = Proc::start_talking(cx, cx.subject(), spec)?;
        let shared = Arc::new(Shared { next_id: AtomicU64::new(1), ..Shared::default() });
        let (requests, outgoing) = mpsc::unbounded_channel();
        let (stop, stopped) = oneshot::channel();
        let printed = Arc::new(Mutex::new(String::new()));
        tokio::spawn(write_requests(stdin, outgoing));
        tokio::spawn(read_replies(proc, stdout, shared.clone(), stopped, printed.clone()));
        Ok(Host { inner: Arc::new(Inner { shared, requests, _stop: stop, printed }) })
    }

    /// A call of `op` on `on` with `args`: a future of its [`Answer`].
    pub fn call(&self, op: &str, on: Option<u64>, args: Value) -> Call {
        let id = self.inner.shared.next_id.fetch_add(1, Ordering::SeqCst);
        let (tx, replies) = mpsc::unbounded_channel();
        lock(&self.inner.shared.calls).insert(id, tx);
        let request = Request { id, op: op.to_string(), on, args };
        Call { host: self.clone(), id, unsent: Some(request), replies, first: None, early: None, done: false }
    }

    /// Send `op` on `on` and wait for nothing (a release, a clone); the
    /// request's id, which names what it makes.
    pub fn tell(&self, op: &str, on: Option<u64>) -> u64 {
        let id = self.inner.shared.next_id.fetch_add(1, Ordering::SeqCst);
        self.send(&Request { id, op: op.to_string(), on, args: Value::Null });
        id
    }

    /// Wait until the host has handled every request sent before this one:
    /// a release or a cancel gets no answer, so the suite would otherwise
    /// act (close a connection on the database, say) before the student's
    /// `Drop` ran, which a call in-process never allows. The host's I/O
    /// reactor also catches up with the kernel (grade_host::reactor_turn).
    pub async fn settle(&self) {
        let _ = self.call(wire::TURN, None, Value::Null).await;
    }

    /// What the host printed (its stderr; capped), once it is gone.
    pub fn printed(&self) -> String {
        lock(&self.inner.printed).clone()
    }

    fn send(&self, request: &Request) {
        if let Ok(line) = serde_json::to_string(request) {
            let _ = self.inner.requests.send(line + "\n");
        }
    }

    fn lost(&self) -> String {
        lock(&self.inner.shared.lost).clone().unwrap_or_else(|| "it stopped answering".into())
    }
}

/// One call in flight; see the module's documentation.
pub struct Call {
    host: Host,
    id: u64,
    unsent: Option<Request>,
    replies: mpsc::UnboundedReceiver<Reply>,
    /// Whether the first poll in the host finished the call.
    first: Option<bool>,
    /// The answer, when [`Call::answered_at_once`] saw it first.
    early: Option<Answer>,
    done: bool,
}

impl Call {
    /// The request's id: what a call that hands out an object names it by.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Send the call and wait for its first poll in the host: `true` when
    /// that poll finished it, `false` when it waits. Polling the call
    /// afterwards gives its answer as usual.
    pub async fn answered_at_once(&mut self) -> bool {
        std::future::poll_fn(|cx| self.poll_first(cx)).await
    }

    fn poll_first(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        if let Some(first) = self.first {
            return Poll::Ready(first);
        }
        if let Poll::Ready(answer) = self.poll_answer(cx) {
            self.early = Some(answer);
        }
        match self.first {
            Some(first) => Poll::Ready(first),
            None if self.done => Poll::Ready(true),
            None => Poll::Pending,
        }
    }

    fn poll_answer(&mut self, cx: &mut Context<'_>) -> Poll<Answer> {
        if let Some(answer) = self.early.take() {
            return Poll::Ready(answer);
        }
        if let Some(request) = self.unsent.take() {
            self.host.send(&request);
        }
        loop {
            let reply = match self.replies.poll_recv(cx) {
                Poll::Ready(reply) => reply,
                Poll::Pending => return Poll::Pending,
            };
            let answer = match reply {
                Some(Reply::Pending { .. }) => {
                    self.first.get_or_insert(false);
                    continue;
                }
                Some(Reply::Done { ok: true, value, .. }) => Answer::Ok(value),
                Some(Reply::Done { ok: false, value, .. }) => Answer::Err(value),
                Some(Reply::Panicked { message, at, .. }) => Answer::Panicked { message, at },
                Some(Reply::Refused { why, .. }) => Answer::Lost(format!("it refused a request: {why}")),
                None => Answer::Lost(self.host.lost()),
            };
            self.first.get_or_insert(true);
            self.done = true;
            return Poll::Ready(answer);
        }
    }
}

impl Future for Call {
    type Output = Answer;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Answer> {
        self.get_mut().poll_answer(cx)
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        lock(&self.host.inner.shared.calls).remove(&self.id);
        // Sent and not answered: the host drops the call's future, as a
        // cancelled task would have.
        if self.unsent.is_none() && !self.done {
            self.host.tell(wire::CANCEL, Some(self.id));
        }
    }
}

async fn write_requests(mut stdin: ChildStdin, mut outgoing: mpsc::UnboundedReceiver<String>) {
    while let Some(line) = outgoing.recv().await {
        // Whatever else is queued goes in the same write (500 tasks asking
        // at once are one write, not 500).
        let mut batch = line.into_bytes();
        while let Ok(more) = outgoing.try_recv() {
            batch.extend_from_slice(more.as_bytes());
        }
        if stdin.write_all(&batch).await.is_err() {
            return;
        }
    }
    // Every handle is gone: the host reads the end of its input and exits.
}

/// Route the host's replies to their calls until it is gone or no longer
/// wanted; then note why, answer every waiting call, and kill it.
async fn read_replies(
    mut proc: Proc,
    stdout: ChildStdout,
    shared: Arc<Shared>,
    mut stopped: oneshot::Receiver<()>,
    printed: Arc<Mutex<String>>,
) {
    let mut lines = BufReader::new(stdout).lines();
    let why = loop {
        let line = tokio::select! {
            _ = &mut stopped => return,
            line = lines.next_line() => line,
        };
        let line = match line {
            Ok(Some(line)) => line,
            Ok(None) | Err(_) => break ended(&mut proc).await,
        };
        match serde_json::from_str::<Reply>(&line) {
            Ok(reply) => route(&shared, reply),
            Err(_) => {
                // What it printed before it ends (or for a second) belongs
                // with the failure.
                let _ = proc.wait_exit(Duration::from_secs(1)).await;
                break format!("it wrote something that is not an answer on its reply channel: {line:?}");
            }
        }
    };
    *lock(&printed) = proc.output();
    *lock(&shared.lost) = Some(why);
    // Dropping the senders answers every waiting call with `Lost`.
    lock(&shared.calls).clear();
}

fn route(shared: &Shared, reply: Reply) {
    let id = reply.id();
    let mut calls = lock(&shared.calls);
    let last = !matches!(reply, Reply::Pending { .. });
    if let Some(tx) = calls.get(&id) {
        let _ = tx.send(reply);
    }
    if last {
        calls.remove(&id);
    }
}

/// Why a host that closed its reply channel is gone.
async fn ended(proc: &mut Proc) -> String {
    match proc.wait_exit(Duration::from_secs(1)).await {
        Some(exited) => match exited.code {
            Some(101) => "it exited (exit code 101: it panicked)".into(),
            Some(code) => format!("it exited (exit code {code})"),
            None => "it was killed by a signal".into(),
        },
        None => "it closed its reply channel".into(),
    }
}
