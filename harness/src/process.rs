//! The student's program as a process of its own: a minimal environment, its
//! own process group (killed whole at teardown), output captured with a cap,
//! and readiness found by polling, never by sleeping a fixed time.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::watch;

use crate::{Ctx, Failure};

/// At most this much of each stream is kept; the rest is read and dropped, so
/// a program printing gigabytes neither blocks nor fills memory.
const OUTPUT_CAP: usize = 64 * 1024;

pub use grade_protocol::shared::kill_group;
use grade_protocol::shared::ALLOWED_ENV;

/// How a subject is started.
#[derive(Debug, Clone, Default)]
pub struct Spawn {
    pub env: Vec<(String, String)>,
    pub args: Vec<String>,
    /// TCP ports the student's program may connect to (a proxy's upstreams);
    /// in the sandbox, every other port is refused.
    pub connect: Vec<u16>,
}

impl Spawn {
    /// Let the program connect to `port` (the sandbox refuses the rest).
    pub fn connect_to(mut self, port: u16) -> Self {
        self.connect.push(port);
        self
    }

    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.to_string(), value.into()));
        self
    }
}

/// A running subject. Dropping it kills its whole process group.
pub struct Proc {
    child: Child,
    pgid: i32,
    stdout: Arc<Mutex<Captured>>,
    stderr: Arc<Mutex<Captured>>,
    lines: watch::Receiver<Vec<String>>,
    pumps: Vec<tokio::task::JoinHandle<()>>,
}

/// The output buffers of the subject processes one check started.
pub(crate) type Printed = Arc<Mutex<Vec<(Arc<Mutex<Captured>>, Arc<Mutex<Captured>>)>>>;

#[derive(Default)]
pub(crate) struct Captured {
    text: Vec<u8>,
    dropped: usize,
    /// The stream ended (or is not captured): nothing more will come.
    closed: bool,
}

/// What a finished program left behind.
pub struct Exited {
    pub code: Option<i32>,
    pub output: String,
}

impl Proc {
    /// Start `bin` with `spec` in a new process group.
    pub fn start(cx: &Ctx, bin: &Path, spec: &Spawn) -> Result<Proc, Failure> {
        Self::launch(cx, bin, spec, false).map(|(proc, _)| proc)
    }

    /// Start `bin` to talk to it over its stdin and stdout (a library
    /// exercise's host, `crate::host`): both are the caller's, and only
    /// stderr is captured as what the program printed.
    pub fn start_talking(cx: &Ctx, bin: &Path, spec: &Spawn) -> Result<(Proc, ChildStdin, ChildStdout), Failure> {
        let (proc, pipes) = Self::launch(cx, bin, spec, true)?;
        let (stdin, stdout) = pipes.ok_or_else(|| Failure::new(format!("could not talk to {}", bin.display())))?;
        Ok((proc, stdin, stdout))
    }

    fn launch(
        cx: &Ctx,
        bin: &Path,
        spec: &Spawn,
        talk: bool,
    ) -> Result<(Proc, Option<(ChildStdin, ChildStdout)>), Failure> {
        let mut cmd = Self::command(cx, bin, spec)?;
        cmd.env_clear();
        for key in ALLOWED_ENV {
            if let Some(v) = std::env::var_os(key) {
                cmd.env(key, v);
            }
        }
        cmd.env("RUST_BACKTRACE", "0");
        for (k, v) in &spec.env {
            cmd.env(k, v);
        }
        let stdin = if talk { Stdio::piped() } else { Stdio::null() };
        cmd.stdin(stdin).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0).kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| Failure::new(format!("could not start {}: {e}", bin.display())))?;
        let pgid = child.id().map(|id| id as i32).unwrap_or(0);
        cx.report_process(pgid);
        let (tx, lines) = watch::channel(Vec::new());
        // A host's stdout is the caller's to read: nothing is captured there.
        let stdout = Arc::new(Mutex::new(Captured { closed: talk, ..Captured::default() }));
        let stderr = Arc::new(Mutex::new(Captured::default()));
        let mut pumps = Vec::new();
        let pipes = if talk { child.stdin.take().zip(child.stdout.take()) } else { None };
        if let Some(out) = child.stdout.take() {
            pumps.push(tokio::spawn(pump(out, stdout.clone(), Some(tx))));
        }
        if let Some(err) = child.stderr.take() {
            pumps.push(tokio::spawn(pump(err, stderr.clone(), None)));
        }
        if cx.subject_path() == Some(bin) {
            cx.printed.lock().unwrap_or_else(|e| e.into_inner()).push((stdout.clone(), stderr.clone()));
            let mut launches = cx.launches.lock().unwrap_or_else(|e| e.into_inner());
            let stash = std::env::current_dir().unwrap_or_default().join(format!(".launch-{}", pgid));
            launches.push(crate::repro::Launch::new(&spec.env, &spec.args, &stash));
        }
        Ok((Proc { child, pgid, stdout, stderr, lines, pumps }, pipes))
    }

    /// The command for `bin`: the student's program confined by the
    /// sandbox when it is on (crate::sandbox), anything else as it is.
    fn command(cx: &Ctx, bin: &Path, spec: &Spawn) -> Result<Command, Failure> {
        let confined = crate::sandbox::enabled() && cx.subject_path() == Some(bin);
        if !confined {
            let mut cmd = Command::new(bin);
            cmd.args(&spec.args);
            return Ok(cmd);
        }
        let cwd = std::env::current_dir().map_err(|e| Failure::new(format!("no working folder: {e}")))?;
        let policy = crate::sandbox::policy_for(bin, &spec.env, &spec.args, &spec.connect, &cwd);
        let (launcher, args) = crate::sandbox::wrap(bin, &spec.args, &policy)
            .map_err(|e| Failure::new(format!("could not prepare the sandbox: {e}")))?;
        let mut cmd = Command::new(launcher);
        cmd.args(args).env("TMPDIR", &cwd);
        Ok(cmd)
    }

    /// Wait for a stdout line starting with `listening on http://` and return
    /// the address it names. Fails if the program exits or stays silent.
    pub async fn wait_listening(&mut self, limit: Duration) -> Result<SocketAddr, Failure> {
        self.wait_listening_on("http", limit).await
    }

    /// [`Proc::wait_listening`] for another scheme: `listening on dns://ADDR`
    /// for a server that is not an HTTP one.
    pub async fn wait_listening_on(&mut self, scheme: &str, limit: Duration) -> Result<SocketAddr, Failure> {
        let prefix = format!("listening on {scheme}://");
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let found =
                self.lines.borrow().iter().find_map(|l| l.trim_end().strip_prefix(prefix.as_str()).map(str::to_string));
            if let Some(addr) = found {
                return addr.trim_end_matches('/').parse::<SocketAddr>().map_err(|_| {
                    Failure::new(format!(
                        "printed `{prefix}{addr}`, but `{addr}` is not an address like 127.0.0.1:3001"
                    ))
                    .with_output(self.output())
                });
            }
            tokio::select! {
                changed = self.lines.changed() => {
                    if changed.is_err() {
                        // stdout closed: the program is gone or closed it.
                        let exited = self.wait_exit(Duration::from_secs(1)).await;
                        return Err(match exited {
                            Some(e) => Failure::new(format!(
                                "the program exited ({}) before printing `{prefix}ADDR`",
                                describe_code(e.code)
                            ))
                            .with_output(e.output),
                            None => Failure::new(format!("the program closed its stdout before printing `{prefix}ADDR`"))
                                .with_output(self.output()),
                        });
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(Failure::new(format!(
                        "the program did not print `{prefix}ADDR` within {} s",
                        limit.as_secs()
                    ))
                    .with_output(self.output()));
                }
            }
        }
    }

    /// Start and wait until the printed address accepts TCP connections.
    pub async fn start_server(cx: &Ctx, bin: &Path, spec: &Spawn) -> Result<(Proc, SocketAddr), Failure> {
        let mut proc = Proc::start(cx, bin, spec)?;
        let addr = proc.wait_listening(Duration::from_secs(10)).await?;
        crate::http::wait_accepting(addr, Duration::from_secs(5)).await.map_err(|e| {
            Failure::new(format!("printed `listening on http://{addr}` but {e}")).with_output(proc.output())
        })?;
        Ok((proc, addr))
    }

    /// Wait for the program to exit on its own.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<Exited> {
        let status = tokio::time::timeout(limit, self.child.wait()).await.ok()?.ok()?;
        // Read both pipes to the end before looking at what was printed: a
        // program that exits at once may still have its message in a pipe.
        // A child it left behind may hold the pipes open, hence the bound.
        let drained = futures_join(std::mem::take(&mut self.pumps));
        let _ = tokio::time::timeout(Duration::from_secs(2), drained).await;
        Some(Exited { code: status.code(), output: self.output() })
    }

    /// Everything the program printed so far (capped), stdout then stderr.
    pub fn output(&self) -> String {
        render_output(&self.stdout, &self.stderr)
    }

    pub fn pgid(&self) -> i32 {
        self.pgid
    }
}

/// What a program printed (capped), stdout then stderr.
pub(crate) fn render_output(stdout: &Arc<Mutex<Captured>>, stderr: &Arc<Mutex<Captured>>) -> String {
    {
        let render = |label: &str, c: &Arc<Mutex<Captured>>| {
            let c = c.lock().unwrap_or_else(|e| e.into_inner());
            let mut s = String::from_utf8_lossy(&c.text).into_owned();
            if c.dropped > 0 {
                s.push_str(&format!("\n[... {} more bytes of {label} not kept]\n", c.dropped));
            }
            s
        };
        let out = render("stdout", stdout);
        let err = render("stderr", stderr);
        match (out.trim().is_empty(), err.trim().is_empty()) {
            (true, true) => String::new(),
            (false, true) => out,
            (true, false) => err,
            (false, false) => format!("{out}\n{err}"),
        }
    }
}

/// What the subject processes of a check printed, once their pipes have
/// gone quiet (a panic message may still be on its way when a request
/// fails), for a failure that carries no output of its own.
pub(crate) async fn printed_after_settling(printed: &Printed) -> String {
    const STEP: Duration = Duration::from_millis(5);
    let snapshot = || {
        let all = printed.lock().unwrap_or_else(|e| e.into_inner());
        all.iter().map(|(o, e)| render_output(o, e)).filter(|t| !t.trim().is_empty()).collect::<Vec<_>>().join("\n")
    };
    let closed = |c: &Arc<Mutex<Captured>>| c.lock().unwrap_or_else(|e| e.into_inner()).closed;
    let all_closed = || printed.lock().unwrap_or_else(|e| e.into_inner()).iter().all(|(o, e)| closed(o) && closed(e));
    // At most half a second: until every stream has ended (the check's
    // programs are killed with it, so usually at once), or nothing new
    // arrived for 50 ms.
    let mut last = snapshot();
    let mut quiet = Duration::ZERO;
    let started = tokio::time::Instant::now();
    while !all_closed() && quiet < Duration::from_millis(50) && started.elapsed() < Duration::from_millis(500) {
        tokio::time::sleep(STEP).await;
        let now = snapshot();
        if now == last {
            quiet += STEP;
        } else {
            (last, quiet) = (now, Duration::ZERO);
        }
    }
    snapshot()
}

impl Drop for Proc {
    fn drop(&mut self) {
        kill_group(self.pgid);
    }
}

/// A port nothing listens on right now: bind port 0, read the port the
/// system chose, release it.
pub fn free_port() -> Result<u16, Failure> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Failure::new(format!("could not find a free port: {e}")))
}

/// A port where every connection is refused, reserved for as long as this
/// lives: a socket bound to it that never listens. Releasing a port and
/// hoping no one takes it is a race the system loses under load: it once
/// handed a just-released "nothing listens here" port straight back as the
/// listener of the program under test.
pub struct RefusedPort {
    _socket: tokio::net::TcpSocket,
    port: u16,
}

impl RefusedPort {
    pub fn new() -> Result<RefusedPort, Failure> {
        let io = |e: std::io::Error| Failure::new(format!("could not reserve a port: {e}"));
        let socket = tokio::net::TcpSocket::new_v4().map_err(io)?;
        // Without SO_REUSEADDR no other socket may bind the port, whatever
        // its own options.
        socket.set_reuseaddr(false).map_err(io)?;
        socket.bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0))).map_err(io)?;
        let port = socket.local_addr().map_err(io)?.port();
        Ok(RefusedPort { _socket: socket, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

async fn futures_join(handles: Vec<tokio::task::JoinHandle<()>>) {
    for h in handles {
        let _ = h.await;
    }
}

/// Start an HTTP exercise's server the way the exercise contract says: on a
/// free port of 127.0.0.1 given in HOST and PORT (plus `spec`'s variables),
/// and fail unless it prints `listening on` that very port and accepts there.
pub async fn start_http(cx: &Ctx, spec: Spawn) -> Result<(Proc, crate::http::Client), Failure> {
    start_http_bin(cx, cx.subject(), spec).await
}

/// [`start_http`] for another binary: the reference, in differential checks.
pub async fn start_http_bin(cx: &Ctx, bin: &Path, spec: Spawn) -> Result<(Proc, crate::http::Client), Failure> {
    let port = free_port()?;
    let spec = spec.env("HOST", "127.0.0.1").env("PORT", port.to_string());
    let (proc, addr) = Proc::start_server(cx, bin, &spec).await?;
    if addr.port() != port {
        return Err(Failure::new(format!(
            "PORT was {port} but the server printed `listening on http://{addr}`: bind the port named by the PORT environment variable"
        ))
        .with_output(proc.output()));
    }
    let client = crate::http::Client::new(SocketAddr::from(([127, 0, 0, 1], port)), cx.step_timeout());
    Ok((proc, client))
}

fn describe_code(code: Option<i32>) -> String {
    match code {
        Some(101) => "exit code 101: it panicked".to_string(),
        Some(c) => format!("exit code {c}"),
        None => "killed by a signal".to_string(),
    }
}

async fn pump(mut from: impl AsyncRead + Unpin, into: Arc<Mutex<Captured>>, lines: Option<watch::Sender<Vec<String>>>) {
    let mut buf = [0u8; 8192];
    let mut partial = Vec::new();
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        {
            let mut c = into.lock().unwrap_or_else(|e| e.into_inner());
            let room = OUTPUT_CAP.saturating_sub(c.text.len());
            let keep = room.min(n);
            c.text.extend_from_slice(&buf[..keep]);
            c.dropped += n - keep;
        }
        if let Some(tx) = &lines {
            if partial.len() < OUTPUT_CAP {
                partial.extend_from_slice(&buf[..n]);
            }
            while let Some(pos) = partial.iter().position(|b| *b == b'\n') {
                let line = String::from_utf8_lossy(&partial[..pos]).into_owned();
                partial.drain(..=pos);
                tx.send_modify(|v| {
                    if v.len() < 1000 {
                        v.push(line)
                    }
                });
            }
        }
    }
    into.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
    // Dropping the sender tells waiters that stdout is closed.
}

/// The soft limit the suite raises `RLIMIT_NOFILE` to when it starts, or
/// the hard limit if that is lower. Checks at scale hold hundreds of
/// sockets on each side, and some systems start processes with a soft limit
/// of 256 (macOS) or 1024 (most Linux distributions): raised, as servers
/// do, the machine's default never fails a correct program.
const OPEN_FILES_WANTED: u64 = 8192;

fn nofile() -> Option<libc::rlimit> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit only writes `limit`.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0).then_some(limit)
}

/// Raise this process's soft open-files limit towards [`OPEN_FILES_WANTED`]
/// (programs it starts inherit it); the suite does so when it starts.
pub(crate) fn raise_open_files_limit() {
    let Some(mut limit) = nofile() else { return };
    if limit.rlim_cur >= OPEN_FILES_WANTED {
        return;
    }
    limit.rlim_cur = OPEN_FILES_WANTED.min(limit.rlim_max);
    // SAFETY: setrlimit only reads `limit` and changes this process's own
    // limit; a failure leaves it as it was.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
}

/// How many files and sockets this process, and every program it starts
/// (they inherit it), may have open: the soft `RLIMIT_NOFILE`. A check that
/// holds many sockets compares its needs with this and skips, saying how to
/// raise it, rather than fail a correct program for the machine's setting.
pub fn open_files_limit() -> u64 {
    nofile().map_or(u64::MAX, |l| l.rlim_cur)
}
