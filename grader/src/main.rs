//! `cargo grade`: the command students, instructors and CI run.
//!
//! Exit codes: 0 every check passed, 1 some check failed, 2 could not grade
//! (bad usage, a kit problem, the machine).

mod batch;
mod catalog;
mod cli;
mod compile;
mod dashboard;
mod dev;
mod grade;
mod gradebook;
mod integrity;
mod memo;
mod message;
mod mutants;
mod plan;
mod progress;
mod report;
mod result;
mod run;
mod sandbox;
mod scaffold;
mod scan;
mod seed;
mod shard;
mod soundness;
mod stage;
mod student;
mod terminal;
mod watch;

// The grader ends what it starts with POSIX process groups and signals.
#[cfg(not(unix))]
compile_error!(
    "cargo grade runs on Linux and macOS. On Windows, use WSL 2 (see the README, section Platforms), \
     where it works as on Linux."
);

use std::process::ExitCode;

use clap::Parser;

use catalog::Kit;
use cli::{Cli, Cmd};
use seed::random_seed;

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
            eprintln!("{}", message::error(&e));
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
        Some(Cmd::Check { exercise, seed, mutants, variants, variant, seeds }) => {
            let matrix = soundness::Matrix { variants, variant, seeds };
            dev::check(&kit, exercise.as_deref(), seed.unwrap_or_else(random_seed), mutants, &matrix)
        }
        Some(Cmd::Mutants {
            exercises,
            format,
            seed,
            jobs,
            only,
            slice,
            fresh,
            verbose,
            list,
            check_timeout,
            worker,
        }) => {
            if list {
                return dev::list_mutants(&kit, &exercises);
            }
            if let (true, [exercise], Some(id)) = (worker, &exercises[..], &only) {
                let ex = plan::resolve(&kit, exercise)?;
                let v = mutants::work(&kit, ex, id, seed.unwrap_or_else(|| mutants::seed_of(id)), check_timeout)?;
                println!("{}", serde_json::to_string(&v)?);
                return Ok(0);
            }
            let opts = mutants::RunOptions { seed, jobs, only, fresh, slice, check_timeout };
            dev::mutants(&kit, &exercises, &opts, format == cli::MutantsFormat::Json, verbose)
        }
        Some(Cmd::Bless { exercise, seed }) => dev::bless(&kit, &exercise, seed.unwrap_or(0)),
        Some(Cmd::Hint { exercise, all }) => student::hint(&kit, &exercise, all),
        Some(Cmd::Watch { exercise, grading }) => watch::run(&kit, &exercise, &grading),
        Some(Cmd::New { name, title, kind }) => dev::new(&kit, &name, title.as_deref(), kind.into()),
        Some(Cmd::Batch { submissions, exercises, out, seed, check_timeout, shard, shard_total, jobs, worker }) => {
            let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
            let (shard, from) = shard::resolve(shard, shard_total, &env)?;
            if from != "--shard" && shard != shard::Shard::WHOLE {
                eprintln!("{}", message::shard_from_env(shard, from));
            }
            let seed = seed.unwrap_or_else(random_seed);
            let opts = batch::Options { exercises: &exercises, out: &out, seed, check_timeout, shard, jobs, worker };
            batch::run(&kit, &submissions, &opts)
        }
        Some(Cmd::Gradebook { command: cli::GradebookCmd::Merge { dirs, out, partial } }) => {
            gradebook::merge(&dirs, &out, partial)
        }
        Some(Cmd::Gradebook { command: cli::GradebookCmd::Report { grades, html } }) => {
            dashboard::write(&grades, &html)
        }
        None if cli.exercises.is_empty() && cli.grading.submission.is_none() => Ok(student::overview(&kit)),
        None => plan::grade_many(&kit, &cli.exercises, &cli.grading),
    }
}
