//! Where the student's code panicked, for the reply of the call it panicked
//! in. Every call runs in a task carrying a [`Watch`]; the panic hook
//! records message and place there instead of printing them, and the task
//! that ran the call sends them as `panicked`. A panic outside any call (a
//! task the student's code spawned) prints as usual, on the host's stderr,
//! which the suite shows with the failure.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

tokio::task_local! {
    pub(crate) static WATCH: Arc<Watch>;
}

/// The payload of the host's own panic (a holder that crashes on the
/// suite's request): never reported, never printed.
pub(crate) struct Deliberate;

#[derive(Default)]
pub(crate) struct Watch {
    /// The call running in this task now; 0 between calls.
    op: AtomicU64,
    panic: Mutex<Option<(String, String)>>,
}

impl Watch {
    pub(crate) fn new(op: u64) -> Arc<Watch> {
        Arc::new(Watch { op: AtomicU64::new(op), panic: Mutex::new(None) })
    }

    pub(crate) fn set(&self, op: u64) {
        self.op.store(op, Ordering::SeqCst);
    }

    pub(crate) fn op(&self) -> u64 {
        self.op.load(Ordering::SeqCst)
    }

    /// The message and place of the panic recorded last.
    pub(crate) fn take(&self) -> (String, String) {
        self.panic
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_else(|| ("(no message)".into(), "?".into()))
    }
}

pub(crate) fn install_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().is::<Deliberate>() {
            return;
        }
        let watch = WATCH.try_with(Arc::clone).ok().filter(|w| w.op() != 0);
        let Some(watch) = watch else {
            return default(info);
        };
        let at = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column())).unwrap_or_default();
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        *watch.panic.lock().unwrap_or_else(|e| e.into_inner()) = Some((message, at));
    }));
}
