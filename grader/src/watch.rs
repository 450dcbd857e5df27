//! `cargo grade watch NN`: grade, then grade again each time a file of the
//! exercise is saved. Watches the whole `src/` folder, so editors that save
//! by writing a temporary file and renaming it over the original are seen;
//! a burst of events (a save, a formatter) is debounced into one re-grade.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};
use notify_debouncer_mini::notify::RecursiveMode;

use crate::catalog::Kit;
use crate::cli::GradingArgs;

const DEBOUNCE: Duration = Duration::from_millis(250);

enum Wake {
    Changed,
    Quit,
}

pub fn run(kit: &Kit, name: &str, args: &GradingArgs) -> Result<u8> {
    let ex = kit.resolve(name).map_err(anyhow::Error::msg)?;
    let dir: PathBuf = match (&args.submission, args.reference) {
        (Some(root), _) => root.join("exercises").join(&ex.id).join("src"),
        (None, true) => ex.solution_dir.join("src"),
        (None, false) => ex.dir.join("src"),
    };
    if !dir.is_dir() {
        anyhow::bail!(crate::message::nothing_to_watch(&dir));
    }
    let (tx, rx) = mpsc::channel::<Wake>();
    let changes = tx.clone();
    let mut debouncer =
        notify_debouncer_mini::new_debouncer(DEBOUNCE, move |events: notify_debouncer_mini::DebounceEventResult| {
            if events.is_ok_and(|e| !e.is_empty()) {
                let _ = changes.send(Wake::Changed);
            }
        })
        .with_context(|| crate::message::cannot_watch("files on this system"))?;
    debouncer
        .watcher()
        .watch(&dir, RecursiveMode::Recursive)
        .with_context(|| crate::message::cannot_watch(&dir.display().to_string()))?;

    // `q` then Enter quits; the thread ends with the process.
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            match line {
                Ok(l) if l.trim().eq_ignore_ascii_case("q") => {
                    let _ = tx.send(Wake::Quit);
                    return;
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });

    let clear = std::io::stdout().is_terminal();
    let names = [ex.id.clone()];
    loop {
        if clear {
            print!("\x1b[2J\x1b[H");
        }
        match crate::plan::grade_many(kit, &names, args) {
            Ok(_) => {}
            Err(_) if crate::sandbox::interrupted() => return Ok(130),
            Err(e) => eprintln!("{}", crate::message::error(&e)),
        }
        println!("{}", crate::message::watching(&dir));
        let _ = std::io::stdout().flush();
        // Wait for a change, a quit, or Ctrl-C.
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Wake::Changed) => {
                    // Swallow the rest of a burst so one save is one grade.
                    loop {
                        match rx.recv_timeout(DEBOUNCE) {
                            Ok(Wake::Changed) => continue,
                            Ok(Wake::Quit) => return Ok(0),
                            Err(_) => break,
                        }
                    }
                    break;
                }
                Ok(Wake::Quit) => return Ok(0),
                Err(mpsc::RecvTimeoutError::Timeout) if crate::sandbox::interrupted() => return Ok(130),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(0),
            }
        }
    }
}
