//! Ending what a grade started, also when the user presses Ctrl-C, and
//! also what tried to escape.
//!
//! On Linux the grader is a child subreaper: a process that leaves its
//! process group or session (`setsid`, a double fork) is re-parented to the
//! grader instead of to init, so [`kill_descendants`] still finds and ends
//! it. Elsewhere only process groups are killed (docs/src/grading.md).

use std::sync::atomic::{AtomicBool, Ordering};

pub use grade_protocol::shared::kill_group;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// Set once this process is the subreaper of what it starts: only then may
/// it kill every descendant (a library caller, such as a unit test running
/// several grades at once, is not).
static SUBREAPER: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic store: async-signal-safe. The runner sees the flag
    // within one poll and kills what it started before exiting.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Catch Ctrl-C and SIGTERM so the suite's process groups (which the
/// terminal does not signal: they are groups of their own) are killed.
pub fn catch_interrupts() {
    close_inherited_descriptors();
    // SAFETY: installs a handler that only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    become_subreaper();
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Whether orphans of this process come back to it (Linux only).
#[cfg(target_os = "linux")]
fn become_subreaper() {
    if std::env::var_os("CARGO_GRADE_NO_SUBREAPER").is_some() {
        return;
    }
    // SAFETY: prctl with these arguments only sets a flag of this process.
    let ok = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } == 0;
    SUBREAPER.store(ok, Ordering::SeqCst);
}

#[cfg(not(target_os = "linux"))]
fn become_subreaper() {}

/// SIGKILL every process below this one (children, grandchildren, and the
/// orphans re-parented to it), then reap them; repeated until none is left,
/// so a process forking while it is killed is caught too. Returns how many
/// were killed. The grader calls it when no child of its own should live.
#[cfg(target_os = "linux")]
pub fn kill_descendants() -> usize {
    if !SUBREAPER.load(Ordering::SeqCst) {
        return 0;
    }
    let me = std::process::id() as i32;
    let mut killed = 0;
    for _ in 0..100 {
        let below = descendants(me);
        if below.is_empty() {
            break;
        }
        for pid in &below {
            // SAFETY: kill has no memory effects; a stale pid yields ESRCH.
            unsafe {
                libc::kill(*pid, libc::SIGKILL);
            }
        }
        killed += below.len();
        reap();
    }
    reap();
    killed
}

#[cfg(not(target_os = "linux"))]
pub fn kill_descendants() -> usize {
    0
}

/// Every live process whose parent chain leads to `root`.
#[cfg(target_os = "linux")]
fn descendants(root: i32) -> Vec<i32> {
    let mut parent_of = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let mut fields = after.split_whitespace();
        let state = fields.next().unwrap_or("");
        let ppid = fields.next().and_then(|s| s.parse::<i32>().ok()).unwrap_or(0);
        if state != "Z" {
            parent_of.push((pid, ppid));
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(parent_of.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    found.remove(0);
    found
}

/// Collect every child that has exited (zombies left by the killed).
#[cfg(target_os = "linux")]
fn reap() {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only to `status`.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return;
        }
    }
}

/// A pipe for the suite's results: both ends close-on-exec, so only the
/// descriptor handed over with [`pass_fd`] reaches the suite.
pub fn results_pipe() -> std::io::Result<(std::fs::File, std::os::fd::OwnedFd)> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // SAFETY: pipe writes two descriptors into `fds`, which we then own.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    for fd in fds {
        // SAFETY: fcntl on descriptors this process just opened.
        unsafe {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
    // SAFETY: both descriptors are open and owned by nothing else.
    unsafe { Ok((std::fs::File::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))) }
}

/// Give the child `fd` as descriptor `target` (and nothing else of ours).
pub fn pass_fd(cmd: &mut std::process::Command, fd: i32, target: i32) {
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec only dup2 runs, which is
    // async-signal-safe; dup2 clears close-on-exec on the new descriptor.
    unsafe {
        cmd.pre_exec(move || {
            let ok = if fd == target {
                // dup2 onto itself would leave close-on-exec set.
                libc::fcntl(fd, libc::F_SETFD, 0) == 0
            } else {
                libc::dup2(fd, target) >= 0
            };
            if !ok {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Mark every descriptor this process inherited beyond stdin, stdout and
/// stderr close-on-exec (cargo's jobserver pipes, a terminal's extras), so
/// none of them reaches a suite or a graded program.
fn close_inherited_descriptors() {
    #[cfg(target_os = "linux")]
    for entry in std::fs::read_dir("/proc/self/fd").into_iter().flatten().flatten() {
        if let Some(fd) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()).filter(|fd| *fd > 2) {
            // SAFETY: fcntl on a descriptor number; a closed one yields EBADF.
            unsafe {
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
        }
    }
}

/// Whether graded programs are confined (`GRADE_SANDBOX=off` turns it off:
/// the documented fallback, and what a system without the means gets).
pub fn enabled() -> bool {
    std::env::var(grade_protocol::env::SANDBOX).map_or(true, |v| v != "off")
}

/// Run the suite (and so the programs it grades) in a network namespace of
/// its own where only loopback exists, when this process may make one (as
/// root: CI and graders). A laptop without the right keeps the network;
/// docs/src/grading.md says so.
pub fn isolate_network(cmd: &mut std::process::Command) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: geteuid has no effects.
        if !enabled() || unsafe { libc::geteuid() } != 0 {
            return;
        }
        use std::os::unix::process::CommandExt;
        // SAFETY: between fork and exec only raw system calls run (unshare,
        // socket, ioctl, close), all async-signal-safe; nothing allocates.
        unsafe {
            cmd.pre_exec(|| {
                if libc::unshare(libc::CLONE_NEWNET) != 0 {
                    return Ok(()); // best effort: no namespace, the network stays
                }
                loopback_up();
                Ok(())
            });
        }
    }
}

/// `ip link set lo up` in the current (new) network namespace.
#[cfg(target_os = "linux")]
unsafe fn loopback_up() {
    #[repr(C)]
    struct IfReq {
        name: [u8; 16],
        flags: libc::c_short,
        _pad: [u8; 22],
    }
    let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
    if fd < 0 {
        return;
    }
    let mut req = IfReq { name: [0; 16], flags: 0, _pad: [0; 22] };
    req.name[..2].copy_from_slice(b"lo");
    if libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req) == 0 {
        req.flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        libc::ioctl(fd, libc::SIOCSIFFLAGS, &req);
    }
    libc::close(fd);
}
