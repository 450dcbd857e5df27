//! Ending what a grade started.

/// SIGKILL a whole process group.
pub fn kill_group(pgid: i32) {
    if pgid > 1 {
        // SAFETY: killpg has no memory effects; a stale pgid only yields ESRCH.
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
}
