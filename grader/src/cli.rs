//! The command line: what `cargo grade` accepts.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::report::Format;

#[derive(Parser, Debug)]
#[command(
    name = "cargo grade",
    bin_name = "cargo grade",
    version,
    about = "Grade an exercise of the kit: build it, run its hidden checks, explain the first failure.",
    after_help = "Examples:\n  cargo grade 01-bind          grade your exercises/01-bind\n  cargo grade 1 --format json  the same, as one JSON object\n  cargo grade                  the curriculum at a glance\n  cargo grade check            prove the kit sound (instructors)\n  cargo grade mutants 02       grade every mutant of a reference (instructors)\n\nExit codes: 0 all checks passed, 1 some failed, 2 could not grade.",
    args_conflicts_with_subcommands = true
)]
pub(crate) struct Cli {
    /// The exercises to grade: `01-bind`, `01`, `1` or `bind` (with
    /// --submission and none named: every exercise).
    pub(crate) exercises: Vec<String>,
    #[command(flatten)]
    pub(crate) grading: GradingArgs,
    #[command(subcommand)]
    pub(crate) command: Option<Cmd>,
    /// Use the suites in DIR (one folder per exercise, in the kit's format)
    /// instead of the kit's own, for the exercises DIR has: private checks.
    #[arg(long, value_name = "DIR", global = true)]
    pub(crate) suites: Option<PathBuf>,
}

#[derive(clap::Args, Debug, Clone)]
pub(crate) struct GradingArgs {
    /// Output format.
    #[arg(long, value_parser = Format::parser(), default_value = "human")]
    pub(crate) format: Format,
    /// Replay a run: the seed of every random choice the checks make.
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Colour in the human report.
    #[arg(long, value_enum, default_value = "auto")]
    pub(crate) color: ColorChoice,
    /// Grade the reference solution instead of your exercise (instructors).
    #[arg(long, conflicts_with = "submission")]
    pub(crate) reference: bool,
    /// Grade another checkout of the kit (only its exercises/*/src is used).
    #[arg(long, value_name = "PATH")]
    pub(crate) submission: Option<PathBuf>,
    /// Time limit of one check, in seconds, 1 to 3600 (default: the exercise's own).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) check_timeout: Option<u64>,
    /// Run every check again even if nothing changed since the last grade.
    #[arg(long)]
    pub(crate) fresh: bool,
    /// Write the report to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Cmd {
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
        /// Time limit of one check, in seconds, 1 to 3600.
        #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
        check_timeout: Option<u64>,
        /// Grade only shard K of N (1-based): a share fixed by each
        /// submission's name. Default: GitLab's CI_NODE_INDEX/CI_NODE_TOTAL, or a
        /// Kubernetes Indexed Job's JOB_COMPLETION_INDEX, else the whole class.
        #[arg(long, value_name = "K/N", value_parser = crate::shard::parse)]
        shard: Option<crate::shard::Shard>,
        /// With JOB_COMPLETION_INDEX: how many shards (the Job's completions;
        /// or set GRADE_SHARD_TOTAL).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        shard_total: Option<u32>,
        /// Grade N submissions at a time, each in a worker process and a
        /// staging folder of its own (builds still take turns).
        #[arg(long, short = 'j', value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
        jobs: u32,
        /// Internal (--jobs): this process is worker K of N.
        #[arg(long, hide = true, value_parser = crate::shard::parse)]
        worker: Option<crate::shard::Shard>,
    },
    /// A batch's outputs: merge shards, render the instructor's dashboard.
    Gradebook {
        #[command(subcommand)]
        command: GradebookCmd,
    },
    /// Prove the kit sound: references pass, stubs score 0, known-wrong variants are caught, snapshots current.
    Check {
        /// Only this exercise.
        exercise: Option<String>,
        #[arg(long)]
        seed: Option<u64>,
        /// Mutants of each reference graded (a deterministic slice, plus any
        /// verdict already cached); `cargo grade mutants` grades them all.
        #[arg(long, value_name = "N", default_value_t = crate::mutants::CHECK_SLICE)]
        mutants: usize,
        /// Grade N known-wrong variants per exercise, a sample the seed picks
        /// (default: all of them).
        #[arg(long, value_name = "N")]
        variants: Option<usize>,
        /// Only the variants whose name contains NAME, and no other row: how
        /// surely their checks catch them, with --seeds.
        #[arg(long, value_name = "NAME")]
        variant: Option<String>,
        /// Grade each variant under K seeds (--seed, --seed + 1, …); its row
        /// holds only if it is caught under every one.
        #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
        seeds: u32,
    },
    /// Grade cargo-mutants' mutants of the references: each must be caught, or listed in mutants.toml as equivalent (instructors).
    Mutants {
        /// Only these exercises (default: all).
        exercises: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: MutantsFormat,
        /// One seed for every mutant (default: each mutant's own, derived from its name).
        #[arg(long)]
        seed: Option<u64>,
        /// Grades at a time, of different exercises (one exercise's mutants
        /// are graded one after another).
        #[arg(long, short = 'j', value_name = "N", default_value_t = 2)]
        jobs: usize,
        /// Only the mutants whose name contains TEXT.
        #[arg(long, value_name = "TEXT")]
        only: Option<String>,
        /// At most N mutants per exercise (the slice `cargo grade check` grades).
        #[arg(long, value_name = "N")]
        slice: Option<usize>,
        /// Grade again even when a verdict is cached.
        #[arg(long)]
        fresh: bool,
        /// List every mutant, not only survivors.
        #[arg(long, short = 'v')]
        verbose: bool,
        /// Only list the mutants in the student's code (grade none).
        #[arg(long)]
        list: bool,
        /// Time limit of one check, in seconds (default: the exercise's own).
        #[arg(long, value_name = "SECS")]
        check_timeout: Option<u64>,
        /// Internal: grade the one mutant named by --only (exactly) and
        /// print its verdict as JSON. With -j N, each grade runs in a
        /// process of its own, since a grade ends by killing every process
        /// below its grader.
        #[arg(long, hide = true)]
        worker: bool,
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
        /// What the student writes.
        #[arg(long, value_enum, default_value = "server")]
        kind: NewKind,
    },
    /// Re-grade an exercise every time you save a file of it (q then Enter, or Ctrl-C, to stop).
    Watch {
        /// The exercise to watch: `01-bind`, `01`, `1` or `bind`.
        exercise: String,
        #[command(flatten)]
        grading: GradingArgs,
    },
    /// Show the hints of an exercise for the stage you are stuck on.
    Hint {
        /// The exercise: `01-bind`, `01`, `1` or `bind`.
        exercise: String,
        /// Show every hint, not only those for your current stage.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum GradebookCmd {
    /// Combine the output folders of `batch --shard K/N` (one per shard) into
    /// one gradebook, run.json and the reports; refuses overlaps, names missing shards.
    Merge {
        /// The shards' --out folders.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where the merged gradebook goes (a new folder).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Merge even if some shards are missing (their submissions are left out).
        #[arg(long)]
        partial: bool,
    },
    /// A static HTML page for the instructor: score distributions, the checks
    /// the class fails most, a row per student linking to their reports.
    Report {
        /// A batch's (or a merge's) --out folder.
        grades: PathBuf,
        /// The folder to write index.html (and a copy of the reports) into.
        #[arg(long, value_name = "OUT", required = true)]
        html: PathBuf,
    },
}

/// The kinds of exercise `cargo grade new` can create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum NewKind {
    /// A program the suite starts and talks to over TCP (like 01-bind).
    Server,
    /// A crate the suite links and calls through its public API (like 03-pool).
    Library,
}

impl From<NewKind> for crate::catalog::Kind {
    fn from(kind: NewKind) -> Self {
        match kind {
            NewKind::Server => crate::catalog::Kind::Server,
            NewKind::Library => crate::catalog::Kind::Library,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum MutantsFormat {
    Human,
    /// One JSON object (schema `grade-mutants/1`).
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}
