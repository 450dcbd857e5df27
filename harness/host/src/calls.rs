//! One call's life in the host: its first poll reported, stopped when the
//! suite drops it, its panic turned into a reply; and the tasks that hold
//! the objects calls hand out.

use std::future::Future;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::panics::{Deliberate, Watch, WATCH};
use crate::{lock, Book, HeldOp, Out, Outcome, Reply};

/// Tells a call to stop; it answers on the sender it is given once its
/// future is dropped.
pub(crate) type Stop = oneshot::Sender<oneshot::Sender<()>>;
pub(crate) type StopRx = oneshot::Receiver<oneshot::Sender<()>>;

/// What a holder task is told.
pub(crate) enum HeldCmd<T> {
    Run { id: u64, op: HeldOp<T>, first: First, stop: StopRx },
    Release { panicking: bool, done: oneshot::Sender<()> },
}

/// The report of a call's first poll: `pending` to the suite when it did
/// not finish, and a signal to the request loop either way.
pub(crate) struct First {
    id: u64,
    out: Out,
    polled: Option<oneshot::Sender<()>>,
}

impl First {
    pub(crate) fn new(id: u64, out: Out) -> (First, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        (First { id, out, polled: Some(tx) }, rx)
    }
}

/// Run `fut` in a task that carries `watch`; if it panics during a call,
/// that call's reply says where. (The panic is caught in the task itself:
/// a supervising task per call would cost a spawn per call.)
pub(crate) fn supervise(watch: Arc<Watch>, out: Out, fut: impl Future<Output = ()> + Send + 'static) {
    tokio::spawn(WATCH.scope(watch.clone(), async move {
        if catching(fut).await.is_none() {
            let id = watch.op();
            if id != 0 {
                let (message, at) = watch.take();
                out.send(&Reply::Panicked { id, message, at });
            }
        }
    }));
}

/// `fut`'s output, or `None` when it panicked; it is dropped by then, as a
/// task that panics is.
async fn catching<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = Box::pin(fut);
    std::future::poll_fn(move |cx| {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(std::task::Poll::Ready(output)) => std::task::Poll::Ready(Some(output)),
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Err(_) => std::task::Poll::Ready(None),
        }
    })
    .await
}

/// Poll `fut` to the end, reporting its first poll.
async fn first_poll<F: Future>(fut: F, mut first: First) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| {
        let polled = fut.as_mut().poll(cx);
        if let Some(tx) = first.polled.take() {
            // Sent before the signal: `pending` always precedes the call's
            // final reply, which only this task sends.
            if polled.is_pending() {
                first.out.send(&Reply::Pending { id: first.id });
            }
            let _ = tx.send(());
        }
        polled
    })
    .await
}

/// `fut`'s output, or `None` when the suite stopped it (its future dropped
/// by then, and the request loop told so).
async fn stoppable<F: Future>(fut: F, first: First, stop: &mut StopRx) -> Option<F::Output> {
    let asked = async {
        match stop.await {
            Ok(done) => done,
            // Never told to stop: run to the end.
            Err(_) => std::future::pending().await,
        }
    };
    let done = tokio::select! {
        biased;
        output = first_poll(fut, first) => return Some(output),
        done = asked => done,
    };
    let _ = done.send(());
    None
}

/// Whether call `id` still counts (it was not cancelled meanwhile); when it
/// was, the request loop waits for `answer_stop` after what it made is dropped.
fn finish<T>(book: &Mutex<Book<T>>, id: u64) -> bool {
    lock(book).calls.remove(&id).is_some()
}

fn answer_stop(stop: &mut StopRx) {
    if let Ok(done) = stop.try_recv() {
        let _ = done.send(());
    }
}

pub(crate) async fn call<T>(
    id: u64,
    fut: impl Future<Output = Outcome>,
    first: First,
    mut stop: StopRx,
    book: Arc<Mutex<Book<T>>>,
) {
    let out = first.out.clone();
    let Some(outcome) = stoppable(fut, first, &mut stop).await else { return };
    if finish(&book, id) {
        out.done(id, outcome);
    } else {
        answer_stop(&mut stop);
    }
}

pub(crate) async fn call_held<T: Send + 'static>(
    id: u64,
    fut: impl Future<Output = Result<(T, Value), Value>>,
    first: First,
    mut stop: StopRx,
    book: Arc<Mutex<Book<T>>>,
    out: Out,
) {
    let Some(result) = stoppable(fut, first, &mut stop).await else { return };
    // Registered under the same lock that ends the call, before the reply:
    // a release or a cancel that follows always finds the object.
    let unwanted = {
        let mut b = lock(&book);
        let live = b.calls.remove(&id).is_some();
        match result {
            Ok((value, shown)) if live => {
                b.held.insert(id, holder(value, book.clone(), out.clone()));
                out.done(id, Ok(shown));
                None
            }
            Ok((value, _)) => Some(Some(value)),
            Err(e) if live => {
                out.done(id, Err(e));
                None
            }
            Err(_) => Some(None),
        }
    };
    if let Some(value) = unwanted {
        // Handed out after the suite gave up on it: given back at once.
        drop(value);
        answer_stop(&mut stop);
    }
}

/// Start the task that holds `value`; the sender reaches it.
fn holder<T: Send + 'static>(value: T, book: Arc<Mutex<Book<T>>>, out: Out) -> mpsc::UnboundedSender<HeldCmd<T>> {
    let (tx, rx) = mpsc::unbounded_channel();
    let watch = Watch::new(0);
    supervise(watch.clone(), out.clone(), hold(value, rx, watch, book, out));
    tx
}

/// Drops its value after it (a panic unwinds in reverse order).
struct Signal(Option<oneshot::Sender<()>>);

impl Drop for Signal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

async fn hold<T>(
    mut value: T,
    mut cmds: mpsc::UnboundedReceiver<HeldCmd<T>>,
    watch: Arc<Watch>,
    book: Arc<Mutex<Book<T>>>,
    out: Out,
) {
    while let Some(cmd) = cmds.recv().await {
        match cmd {
            HeldCmd::Run { id, op, first, mut stop } => {
                watch.set(id);
                let ended = stoppable(op(&mut value), first, &mut stop).await;
                watch.set(0);
                let Some(outcome) = ended else { continue };
                if finish(&book, id) {
                    out.done(id, outcome);
                } else {
                    answer_stop(&mut stop);
                }
            }
            HeldCmd::Release { panicking: false, done } => {
                drop(value);
                let _ = done.send(());
                return;
            }
            HeldCmd::Release { panicking: true, done } => {
                let _signal = Signal(Some(done));
                let _value = value;
                std::panic::panic_any(Deliberate);
            }
        }
    }
}
