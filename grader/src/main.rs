//! `cargo grade`: the command students, instructors and CI run.
//!
//! Exit codes: 0 every check passed, 1 some check failed, 2 could not grade
//! (bad usage, a kit problem, the machine).

mod catalog;
mod compile;
mod batch;
mod grade;
mod message;
mod progress;
mod report;
mod result;
mod run;
mod sandbox;
mod scaffold;
mod soundness;
mod stage;

use std::io::IsTerminal;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use catalog::Kit;
use report::Format;
use result::Status;
use stage::Source;

#[derive(Parser, Debug)]
#[command(
    name = "cargo grade",
    bin_name = "cargo grade",
    version,
    about = "Grade an exercise of the kit: build it, run its hidden checks, explain the first failure.",
    after_help = "Examples:\n  cargo grade 01-bind          grade your exercises/01-bind\n  cargo grade 1 --format json  the same, as one JSON object\n  cargo grade                  the curriculum at a glance\n  cargo grade check            prove the kit sound (instructors)\n\nExit codes: 0 all checks passed, 1 some failed, 2 could not grade.",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    /// The exercises to grade: `01-bind`, `01`, `1` or `bind` (with
    /// --submission and none named: every exercise).
    exercises: Vec<String>,
    #[command(flatten)]
    grading: GradingArgs,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(clap::Args, Debug, Clone)]
struct GradingArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Replay a run: the seed of every random choice the checks make.
    #[arg(long)]
    seed: Option<u64>,
    /// Colour in the human report.
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorChoice,
    /// Grade the reference solution instead of your exercise (instructors).
    #[arg(long, conflicts_with = "submission")]
    reference: bool,
    /// Grade another checkout of the kit (only its exercises/*/src is used).
    #[arg(long, value_name = "PATH")]
    submission: Option<PathBuf>,
    /// Time limit of one check, in seconds (default: the exercise's own).
    #[arg(long, value_name = "SECS")]
    check_timeout: Option<u64>,
    /// Write the report to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// List the exercises with your progress.
    List,
    /// Grade many submissions (checkouts of the kit): a JSON report each and a CSV gradebook.
    Batch {
        /// Submission folders.
        #[arg(required = true)]
        submissions: Vec<PathBuf>,
        /// Only these exercises (default: all).
        #[arg(long = "exercise", value_name = "EXERCISE")]
        exercises: Vec<String>,
        /// Where the reports and gradebook.csv go.
        #[arg(long, value_name = "DIR", default_value = "grades")]
        out: PathBuf,
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long, value_name = "SECS")]
        check_timeout: Option<u64>,
    },
    /// Prove the kit sound: references pass, stubs score 0, known-wrong variants are caught, snapshots current.
    Check {
        /// Only this exercise.
        exercise: Option<String>,
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Re-record an exercise's snapshots from its reference solution.
    Bless {
        exercise: String,
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Create a new exercise: stub, reference, suite, metadata and chapter (instructors).
    New {
        /// Two digits, a dash and a lowercase name, e.g. `06-cache`.
        name: String,
        /// The exercise's title (default: from the name).
        #[arg(long)]
        title: Option<String>,
    },
    /// Show the hints of an exercise for the stage you are stuck on.
    Hint {
        exercise: String,
        /// Show every hint, not only those for your current stage.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

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
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    let kit = Kit::discover()?;
    match cli.command {
        Some(Cmd::List) => Ok(overview(&kit)),
        Some(Cmd::Check { exercise, seed }) => check(&kit, exercise.as_deref(), seed.unwrap_or_else(random_seed)),
        Some(Cmd::Bless { exercise, seed }) => bless(&kit, &exercise, seed.unwrap_or(0)),
        Some(Cmd::Hint { exercise, all }) => hint(&kit, &exercise, all),
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
        None if cli.exercises.is_empty() && cli.grading.submission.is_none() => Ok(overview(&kit)),
        None => grade_many(&kit, &cli.exercises, &cli.grading),
    }
}

fn resolve<'k>(kit: &'k Kit, name: &str) -> anyhow::Result<&'k catalog::Exercise> {
    kit.resolve(name).map_err(anyhow::Error::msg)
}

fn color(choice: ColorChoice, stream_is_tty: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stream_is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.finish() % 1_000_000_000
}

/// A one-line "building ..." status on stderr, only on a terminal.
struct Status_ {
    on: bool,
    label: String,
    crates: usize,
}

impl Status_ {
    fn new(label: &str) -> Self {
        let on = std::io::stderr().is_terminal();
        let s = Status_ { on, label: label.to_string(), crates: 0 };
        s.show("");
        s
    }
    fn show(&self, what: &str) {
        if self.on {
            let extra = if self.crates > 3 { " (the first build compiles the dependencies once)" } else { "" };
            eprint!("\r\x1b[2K{} {what}{extra}", self.label);
            let _ = std::io::stderr().flush();
        }
    }
    fn compiling(&mut self, krate: &str) {
        self.crates += 1;
        self.show(&format!("compiling {krate} ({})", self.crates));
    }
    fn clear(&self) {
        if self.on {
            eprint!("\r\x1b[2K");
            let _ = std::io::stderr().flush();
        }
    }
}

fn grade_many(kit: &Kit, names: &[String], a: &GradingArgs) -> anyhow::Result<u8> {
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
        if matches!(source, Source::Worktree) {
            let mut p = progress::Progress::load(&kit.root);
            p.record(&g);
            if let Err(e) = p.save(&kit.root) {
                eprintln!("warning: could not save your progress: {e:#}");
            }
        }
        grades.push(g);
    }
    let text = match a.format {
        Format::Human => {
            let paint = report::human::Paint(color(a.color, to_terminal));
            grades.iter().map(|g| report::human::render(g, paint)).collect::<Vec<_>>().join("\n")
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
            let human: String = grades.iter().map(|g| report::human::render(g, report::human::Paint(false))).collect();
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

fn overview(kit: &Kit) -> u8 {
    let p = progress::Progress::load(&kit.root);
    let done = kit.exercises.iter().filter(|e| p.exercises.get(&e.id).is_some_and(|x| x.status == Status::Pass)).count();
    let total = kit.exercises.len();
    let width = 20;
    let filled = if total == 0 { 0 } else { done * width / total };
    println!("Backend from first principles: {done} of {total} exercises done");
    println!("[{}{}]\n", "#".repeat(filled), "-".repeat(width - filled));
    let mut next = None;
    for e in &kit.exercises {
        let state = match p.exercises.get(&e.id) {
            Some(x) if x.status == Status::Pass => "passed".to_string(),
            Some(x) => format!("failing at stage {} ({}/{})", x.stage.as_deref().unwrap_or("?"), x.score, x.max_score),
            None => "not started".to_string(),
        };
        if next.is_none() && state != "passed" {
            next = Some(e);
        }
        println!("  {:<10} {:<48} {state}", e.id, e.meta.title);
    }
    match next {
        Some(e) => println!("\nnext: read {} and run `cargo grade {}`", e.chapter_path(), e.id),
        None if total > 0 => println!("\nevery exercise passes. well done."),
        None => {}
    }
    0
}

fn check(kit: &Kit, only: Option<&str>, seed: u64) -> anyhow::Result<u8> {
    let exercises: Vec<&catalog::Exercise> = match only {
        Some(name) => vec![resolve(kit, name)?],
        None => kit.exercises.iter().collect(),
    };
    let mut sound = true;
    println!("checking the kit (seed {seed})");
    for ex in exercises {
        let mut status = Status_::new(&format!("checking {}:", ex.id));
        let r = soundness::check(kit, ex, seed, &mut |k| status.compiling(k))?;
        status.clear();
        println!("\n{}", r.exercise);
        for row in &r.rows {
            println!("  {} {:<28} {}", if row.ok { "✓" } else { "✗" }, row.what, row.detail);
        }
        sound &= r.ok();
    }
    println!("\n{}", if sound { "the kit is sound" } else { "the kit has holes (✗ above)" });
    Ok(if sound { 0 } else { 1 })
}

fn bless(kit: &Kit, name: &str, seed: u64) -> anyhow::Result<u8> {
    let ex = resolve(kit, name)?;
    let mut status = Status_::new(&format!("blessing {}:", ex.id));
    let (g, changes) = soundness::bless(kit, ex, seed, &mut |k| status.compiling(k))?;
    status.clear();
    if g.checks.iter().any(|c| matches!(c.state, result::CheckState::Fail | result::CheckState::Error | result::CheckState::Skipped)) {
        print!("{}", report::human::render(&g, report::human::Paint(false)));
        eprintln!("error: the reference solution of {} does not pass, so nothing was recorded", ex.id);
        return Ok(2);
    }
    if changes.is_empty() {
        println!("{}: every snapshot is current; nothing changed", ex.id);
    }
    for c in &changes {
        match c {
            soundness::Change::Added(n) => println!("  added    {n}"),
            soundness::Change::Changed(n) => println!("  changed  {n}"),
            soundness::Change::Removed(n) => println!("  removed  {n}"),
        }
    }
    Ok(0)
}

fn hint(kit: &Kit, name: &str, all: bool) -> anyhow::Result<u8> {
    let ex = resolve(kit, name)?;
    let p = progress::Progress::load(&kit.root);
    let stage = p.exercises.get(&ex.id).and_then(|e| e.stage.clone());
    let hints: Vec<&catalog::Hint> = ex
        .meta
        .hints
        .iter()
        .filter(|h| all || stage.as_deref().is_none_or(|s| s == h.stage || s == grade::BUILD_STAGE))
        .collect();
    if hints.is_empty() {
        println!("no hints for {} at stage {}; try `cargo grade hint {} --all`", ex.id, stage.as_deref().unwrap_or("?"), ex.id);
    }
    for h in hints {
        println!("[{}] {}\n", h.stage, h.text);
    }
    Ok(0)
}
