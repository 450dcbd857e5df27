//! `cargo grade`: the command students, instructors and CI run.
//!
//! Exit codes: 0 every check passed, 1 some check failed, 2 could not grade
//! (bad usage, a kit problem, the machine).

mod batch;
mod catalog;
mod cli;
mod compile;
mod dev;
mod grade;
mod integrity;
mod memo;
mod message;
mod mutants;
mod progress;
mod report;
mod result;
mod run;
mod sandbox;
mod scaffold;
mod soundness;
mod stage;
mod student;
mod terminal;
mod watch;

use std::io::IsTerminal;
use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use catalog::Kit;
pub(crate) use cli::GradingArgs;
use cli::{Cli, Cmd};
use report::Format;
use stage::Source;
use terminal::{color, Status_};

fn main() -> ExitCode {
    // Installed as a cargo subcommand, cargo runs `cargo-grade grade ...`.
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "grade") {
        args.remove(1);
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    sandbox::catch_interrupts();
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(_) if sandbox::interrupted() => {
            eprintln!("\n{}", message::interrupted());
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    let t = std::time::Instant::now();
    let kit = Kit::discover(cli.suites.as_deref())?;
    grade::trace("catalog", t);
    match cli.command {
        Some(Cmd::List) => Ok(student::overview(&kit)),
        Some(Cmd::Check { exercise, seed, mutants }) => {
            dev::check(&kit, exercise.as_deref(), seed.unwrap_or_else(random_seed), mutants)
        }
        Some(Cmd::Mutants { exercises, format, seed, jobs, only, slice, fresh, verbose, list, check_timeout }) => {
            if list {
                return dev::list_mutants(&kit, &exercises);
            }
            let opts = mutants::RunOptions { seed, jobs, only, fresh, slice, check_timeout };
            dev::mutants(&kit, &exercises, &opts, format == cli::MutantsFormat::Json, verbose)
        }
        Some(Cmd::Bless { exercise, seed }) => dev::bless(&kit, &exercise, seed.unwrap_or(0)),
        Some(Cmd::Hint { exercise, all }) => student::hint(&kit, &exercise, all),
        Some(Cmd::Watch { exercise, grading }) => watch::run(&kit, &exercise, &grading),
        Some(Cmd::New { name, title }) => {
            let created = scaffold::new_exercise(&kit, &name, title.as_deref())?;
            println!("created exercise {name}:");
            for f in &created.files {
                println!("  {}", f.display());
            }
            println!("  docs/src/SUMMARY.md (chapter listed)");
            println!("\nnext: cargo grade check {name}   (its reference passes, its stub scores 0)");
            Ok(0)
        }
        Some(Cmd::Batch { submissions, exercises, out, seed, check_timeout }) => {
            batch::run(&kit, &submissions, &exercises, &out, seed.unwrap_or_else(random_seed), check_timeout)
        }
        None if cli.exercises.is_empty() && cli.grading.submission.is_none() => Ok(student::overview(&kit)),
        None => grade_many(&kit, &cli.exercises, &cli.grading),
    }
}

pub(crate) fn resolve<'k>(kit: &'k Kit, name: &str) -> anyhow::Result<&'k catalog::Exercise> {
    kit.resolve(name).map_err(anyhow::Error::msg)
}

pub(crate) fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.finish() % 1_000_000_000
}

pub(crate) fn grade_many(kit: &Kit, names: &[String], a: &GradingArgs) -> anyhow::Result<u8> {
    let exercises: Vec<&catalog::Exercise> = if names.is_empty() {
        kit.exercises.iter().collect()
    } else {
        names.iter().map(|n| resolve(kit, n)).collect::<anyhow::Result<_>>()?
    };
    let source = match (&a.submission, a.reference) {
        (Some(path), _) => {
            if !path.join("exercises").is_dir() {
                anyhow::bail!("{} is not a checkout of the kit (it has no exercises/ folder)", path.display());
            }
            Source::Submission(path.clone())
        }
        (None, true) => Source::Reference,
        (None, false) => Source::Worktree,
    };
    let seed = a.seed.unwrap_or_else(random_seed);
    let to_terminal = a.output.is_none() && std::io::stdout().is_terminal();
    let mut grades = Vec::new();
    for ex in exercises {
        // The student's folder, unchanged since its last complete grade:
        // show that verdict (labelled) instead of running it all again.
        let memo_key = match (&source, a.seed, a.fresh) {
            (Source::Worktree, None, false) => memo::key(kit, ex, a.check_timeout),
            _ => None,
        };
        if let Some(g) = memo_key.and_then(|k| memo::load(kit, ex, k)) {
            grades.push(g);
            continue;
        }
        let mut status = Status_::new(&format!("grading {}:", ex.id));
        let g = grade::grade(
            kit,
            ex,
            &source,
            grade::GradeOptions {
                seed,
                color: color(a.color, to_terminal) && a.format == Format::Human,
                bless: None,
                check_timeout: a.check_timeout,
                progress: &mut |k| status.compiling(k),
            },
        )?;
        status.clear();
        if let Some(k) = memo_key {
            memo::save(kit, ex, k, &g);
        }
        if matches!(source, Source::Worktree) {
            let mut p = progress::Progress::load(&kit.root);
            let fp = stage::read_tree(&ex.dir.join("src")).map(|f| progress::fingerprint(&f)).unwrap_or(0);
            p.record(&g, fp);
            if let Err(e) = p.save(&kit.root) {
                eprintln!("warning: could not save your progress: {e:#}");
            }
        }
        grades.push(g);
    }
    let text = match a.format {
        Format::Human => {
            let paint = report::human::Paint(color(a.color, to_terminal));
            grades.iter().map(|g| report::human::render(g, paint, &kit.root)).collect::<Vec<_>>().join("\n")
        }
        Format::Json => serde_json::to_string_pretty(&report::json::render_many(&grades))? + "\n",
        Format::Junit => report::junit::render(&grades),
        Format::Gradescope => serde_json::to_string_pretty(&report::gradescope::render(&grades))? + "\n",
        Format::Github => {
            let summary = report::github::summary(&grades);
            match std::env::var_os("GITHUB_STEP_SUMMARY") {
                Some(path) if a.output.is_none() => append(std::path::Path::new(&path), &summary)?,
                _ => {}
            }
            if let Some(out) = &a.output {
                write_file(out, &summary)?;
            }
            // Nothing the student wrote is printed while the runner listens
            // for workflow commands: annotations are escaped, the human
            // report goes inside a stop-commands block.
            let token = format!("cargo-grade-{}", random_seed());
            let human: String =
                grades.iter().map(|g| report::human::render(g, report::human::Paint(false), &kit.root)).collect();
            print!("::stop-commands::{token}\n{human}::{token}::\n{}", report::github::annotations(&grades));
            return Ok(worst(&grades));
        }
    };
    match &a.output {
        Some(path) => write_file(path, &text)?,
        None => print!("{text}"),
    }
    Ok(worst(&grades))
}

fn worst(grades: &[result::Grade]) -> u8 {
    grades.iter().map(|g| g.status.exit_code()).max().unwrap_or(0)
}

fn write_file(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| anyhow::anyhow!("cannot write the report to {}: {e}", path.display()))
}

fn append(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}
