//! Confining the graded program. On Linux with Landlock, a subject runs
//! behind a ruleset that lets it read the system's own folders and its
//! binary, write only its working folder and the paths its check gave it,
//! listen only on the ports it was given and connect only where its check
//! allows (never to the reference's server beside it): the kit, `target/` (with the reference solution's binary), the
//! solutions and other graders' files are out of its reach, and Landlock's
//! ptrace scoping keeps it out of the suite's `/proc` entries. Elsewhere,
//! or with `GRADE_SANDBOX=off`, it runs unconfined (docs/src/grading.md).
//!
//! The ruleset is applied by a launcher: the suite's own binary, run again
//! with [`LAUNCH`], confines itself and then becomes the subject with
//! `exec`. That keeps the work between fork and exec trivial.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The suite's first argument that makes it the launcher.
pub const LAUNCH: &str = "--grade-sandbox-exec";

/// What a confined program may touch.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Policy {
    /// Read and execute below these.
    pub read: Vec<PathBuf>,
    /// Read, write, create and remove below these.
    pub write: Vec<PathBuf>,
    /// TCP ports it may listen on (its `PORT`, `TLS_PORT`, ...).
    #[serde(default)]
    pub bind: Vec<u16>,
    /// TCP ports it may connect to (a proxy's upstreams): none unless its
    /// check says so, so it cannot reach the reference solution's server
    /// that a differential check runs beside it.
    #[serde(default)]
    pub connect: Vec<u16>,
}

/// Whether subjects are confined in this run.
pub fn enabled() -> bool {
    cfg!(target_os = "linux") && std::env::var(grade_protocol::env::SANDBOX).map_or(true, |v| v != "off")
}

/// The policy for a subject started with `env` and `args` in `cwd`: the
/// system's folders and its binary to read; its folder and every path its
/// check handed it (a database file's folder, a site to serve, a rule file)
/// to write.
pub fn policy_for(bin: &Path, env: &[(String, String)], args: &[String], connect: &[u16], cwd: &Path) -> Policy {
    // `/proc/self` (opened by the launcher, whose pid the program keeps):
    // its own entries only, never the suite's environment or open files.
    let mut read: Vec<PathBuf> = ["/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc", "/proc/self", "/sys", "/dev"]
        .iter()
        .map(PathBuf::from)
        .collect();
    read.push(bin.to_path_buf());
    let mut write = vec![cwd.to_path_buf(), PathBuf::from("/dev/null")];
    for value in env.iter().map(|(_, v)| v).chain(args) {
        let p = Path::new(value);
        if !p.is_absolute() {
            continue;
        }
        if p.is_dir() {
            write.push(p.to_path_buf());
        } else if let Some(parent) = p.parent().filter(|d| d.is_dir()) {
            write.push(parent.to_path_buf());
        }
        // The folder the check made around it stays readable: a check may
        // put bait beside a site to serve (a traversal must reach it to be
        // caught), and a program must behave as it would unconfined. Never
        // the shared temporary folder itself.
        let around = if p.is_dir() { p.parent() } else { p.parent().and_then(Path::parent) };
        if let Some(dir) = around.filter(|d| d.is_dir() && *d != std::env::temp_dir() && *d != Path::new("/")) {
            read.push(dir.to_path_buf());
        }
    }
    let bind = env.iter().filter(|(k, _)| k.ends_with("PORT")).filter_map(|(_, v)| v.parse::<u16>().ok()).collect();
    Policy { read, write, bind, connect: connect.to_vec() }
}

/// The command line that starts `bin args` confined by `policy`: the
/// current executable as the launcher.
pub fn wrap(bin: &Path, args: &[String], policy: &Policy) -> std::io::Result<(PathBuf, Vec<String>)> {
    let me = std::env::current_exe()?;
    let mut all = vec![
        LAUNCH.to_string(),
        serde_json::to_string(policy).map_err(std::io::Error::other)?,
        bin.to_string_lossy().into_owned(),
    ];
    all.extend(args.iter().cloned());
    Ok((me, all))
}

/// The launcher: confine this process, then become the program. Returns
/// only on failure (exit code 126, as a shell would).
pub fn launch(args: &[String]) -> std::process::ExitCode {
    let [policy, bin, rest @ ..] = args else {
        eprintln!("usage: {LAUNCH} POLICY PROGRAM [ARGS...]");
        return std::process::ExitCode::from(126);
    };
    let policy: Policy = match serde_json::from_str(policy) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: the sandbox policy is not valid: {e}");
            return std::process::ExitCode::from(126);
        }
    };
    if let Err(e) = confine(&policy) {
        eprintln!("error: could not confine the program: {e}");
        return std::process::ExitCode::from(126);
    }
    use std::os::unix::process::CommandExt;
    let e = std::process::Command::new(bin).args(rest).exec();
    eprintln!("error: could not start {bin}: {e}");
    std::process::ExitCode::from(126)
}

#[cfg(target_os = "linux")]
fn confine(policy: &Policy) -> Result<(), landlock::RulesetError> {
    use landlock::{
        path_beneath_rules, Access, AccessFs, AccessNet, NetPort, Ruleset, RulesetAttr, RulesetCreatedAttr,
        RulesetError, Scope, ABI,
    };
    let abi = ABI::V6;
    let ports = |list: &[u16], access: AccessNet| -> Vec<Result<NetPort, RulesetError>> {
        list.iter().map(|p| Ok(NetPort::new(*p, access))).collect()
    };
    Ruleset::default()
        .handle_access(AccessFs::from_all(abi))?
        .handle_access(AccessNet::from_all(abi))?
        .scope(Scope::from_all(abi))?
        .create()?
        .add_rules(path_beneath_rules(&policy.read, AccessFs::from_read(abi)))?
        .add_rules(path_beneath_rules(&policy.write, AccessFs::from_all(abi)))?
        .add_rules(ports(&policy.bind, AccessNet::BindTcp))?
        .add_rules(ports(&policy.connect, AccessNet::ConnectTcp))?
        .restrict_self()?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn confine(_: &Policy) -> Result<(), std::io::Error> {
    Ok(())
}
