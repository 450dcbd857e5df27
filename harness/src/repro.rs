//! A reproduction that works when pasted. A failed HTTP check shows a curl
//! command, but the port it names closed with the check, and the files the
//! check served (a random site, a rule file, a database) were deleted. So
//! the report gets the command that starts the program again the way the
//! check did, on the same port, with copies of those files kept under
//! `.grade/repro/<exercise>/<check>/`, and then the request.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// How a subject program was started in a check, and copies of the files
/// the check handed it, taken at the start (the check deletes its own).
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    pub env: Vec<(String, String)>,
    pub args: Vec<String>,
    /// (the path the check gave, where a copy of it is).
    pub copies: Vec<(String, PathBuf)>,
}

impl Launch {
    /// Note a launch, copying the temporary files and folders it names into
    /// `stash` (the run's scratch folder, deleted with the run).
    pub(crate) fn new(env: &[(String, String)], args: &[String], stash: &Path) -> Launch {
        let mut copies = Vec::new();
        for value in env.iter().map(|(_, v)| v).chain(args) {
            let p = Path::new(value);
            if !p.is_absolute() || !p.starts_with(std::env::temp_dir()) || !p.exists() {
                continue;
            }
            let Some(name) = p.file_name() else { continue };
            let to = stash.join(name);
            let copied = std::fs::create_dir_all(stash).and_then(|_| {
                if p.is_dir() {
                    crate::fs::copy_dir(p, &to)
                } else {
                    std::fs::copy(p, &to).map(|_| ())
                }
            });
            if copied.is_ok() {
                copies.push((value.clone(), to));
            }
        }
        Launch { env: env.to_vec(), args: args.to_vec(), copies }
    }
}

/// The launches of one check's subject programs.
pub(crate) type Launches = Arc<Mutex<Vec<Launch>>>;

/// The start command and the request, for a failure whose request is a
/// curl command against a program this check started; `None` when the
/// request is something else or names no such program.
pub(crate) fn reproduction(
    request: &str,
    launches: &Launches,
    package: &str,
    exercise_dir: &Path,
    check: &str,
) -> Option<String> {
    if !request.starts_with("curl ") {
        return None;
    }
    let all = launches.lock().unwrap_or_else(|e| e.into_inner());
    let launch = all
        .iter()
        .rev()
        .find(|l| l.env.iter().any(|(k, v)| k.ends_with("PORT") && request.contains(&format!("127.0.0.1:{v}"))))?;
    let kit = exercise_dir.parent()?.parent()?;
    let id = exercise_dir.file_name()?.to_string_lossy().into_owned();
    let keep = kit.join(".grade/repro").join(id).join(check);
    let _ = std::fs::remove_dir_all(&keep);
    let mut words: Vec<String> = launch
        .env
        .iter()
        .map(|(k, v)| format!("{k}={}", crate::http::shell_quote(&kept(launch, v, &keep).unwrap_or_else(|| v.clone()))))
        .collect();
    words.push(format!("cargo run -q -p {package}"));
    if !launch.args.is_empty() {
        words.push("--".into());
        words.extend(
            launch.args.iter().map(|a| crate::http::shell_quote(&kept(launch, a, &keep).unwrap_or_else(|| a.clone()))),
        );
    }
    Some(format!(
        "# in your checkout of the kit, start the program as the check did (Ctrl-C stops it):\n{}\n# then, in another terminal:\n{request}",
        words.join(" ")
    ))
}

/// A lasting copy under `keep` of a file or folder the check handed the
/// program (from the copy taken at its start); `None` for other values.
fn kept(launch: &Launch, value: &str, keep: &Path) -> Option<String> {
    let (_, copy) = launch.copies.iter().find(|(v, _)| v == value)?;
    let to: PathBuf = keep.join(copy.file_name()?);
    std::fs::create_dir_all(keep).ok()?;
    if copy.is_dir() {
        crate::fs::copy_dir(copy, &to).ok()?;
    } else {
        std::fs::copy(copy, &to).ok()?;
    }
    Some(to.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_is_started_again_with_its_files_kept() {
        let kit = tempfile::tempdir().unwrap();
        let ex = kit.path().join("exercises/01-bind");
        std::fs::create_dir_all(&ex).unwrap();
        let site = tempfile::Builder::new().prefix("grade-site-").tempdir().unwrap();
        std::fs::write(site.path().join("index.html"), "hi").unwrap();
        let launches = Launches::default();
        let env = vec![
            ("HOST".into(), "127.0.0.1".into()),
            ("PORT".into(), "4321".into()),
            ("PUBLIC_DIR".into(), site.path().display().to_string()),
        ];
        let stash = tempfile::tempdir().unwrap();
        launches.lock().unwrap().push(Launch::new(&env, &[], stash.path()));
        // The check ends and deletes its files; the copy remains.
        let site_name = site.path().file_name().unwrap().to_owned();
        drop(site);
        let text = reproduction("curl -i http://127.0.0.1:4321/health", &launches, "bind", &ex, "json.health").unwrap();
        let keep = kit.path().join(".grade/repro/01-bind/json.health");
        let copy = keep.join(site_name);
        assert_eq!(std::fs::read_to_string(copy.join("index.html")).unwrap(), "hi");
        assert!(
            text.contains(&format!("HOST=127.0.0.1 PORT=4321 PUBLIC_DIR={} cargo run -q -p bind", copy.display())),
            "{text}"
        );
        assert!(text.ends_with("curl -i http://127.0.0.1:4321/health"), "{text}");
        assert!(reproduction("curl -i http://127.0.0.1:9/x", &launches, "bind", &ex, "c").is_none(), "another port");
    }
}
