//! Renewal and reload: YOUR PART of this exercise.
//!
//! `certbot renew` writes new files and runs its deploy hook, on a real
//! server `nginx -s reload`, which sends nginx a SIGHUP: nginx reads its
//! certificates again, new connections get the new ones, and connections
//! in flight finish on the old ones. This program does the same.

use tokio::signal::unix::Signal;

use crate::sites::{self, Current};
use crate::Settings;

/// Each SIGHUP: read every site again from `settings.cert_dir` and, if
/// that worked, make it the current set. A set that fails to load leaves
/// the previous one in place (say why on stderr), as nginx keeps its old
/// configuration when a reload fails. `hangups` is registered before the
/// program says it is listening, so no SIGHUP is lost or fatal.
pub async fn reload_on_hangup(mut hangups: Signal, current: Current, settings: Settings) {
    todo!("reload_on_hangup: on each SIGHUP load every site again and replace the current set (docs/src/06-tls.md, \"Renewal and reload\")")
}
