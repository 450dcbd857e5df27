//! Every sentence the grader says about a problem, one function per
//! situation, so the wording stays consistent and easy to review.

use std::path::Path;

pub fn not_in_kit(detail: &str) -> String {
    format!(
        "could not read the kit's Cargo workspace ({}).\n  Run `cargo grade` from inside the kit's folder (the one with the top-level Cargo.toml).",
        detail.lines().next().unwrap_or(detail).trim()
    )
}

pub fn missing_metadata(id: &str, path: &Path) -> String {
    format!(
        "exercise {id} has no metadata file {}; every exercise needs one (see docs/src/instructors.md)",
        path.display()
    )
}

pub fn bad_toml(path: &Path, e: &toml::de::Error) -> String {
    format!("{} is not valid: {e}", path.display())
}

pub fn unknown_exercise(name: &str, best: Option<&str>, all: &[&str]) -> String {
    let mut s = format!("there is no exercise `{name}`.");
    if let Some(b) = best {
        s.push_str(&format!("\n  did you mean `{b}`?  cargo grade {b}"));
    }
    let count = match all.len() {
        1 => "there is 1 exercise".to_string(),
        n => format!("there are {n} exercises"),
    };
    s.push_str(&format!("\n  {count}: {}", all.join(", ")));
    s
}

pub fn cargo_failed_to_start(e: &std::io::Error) -> String {
    format!("could not run cargo to build the exercise: {e}.\n  Is cargo on your PATH?")
}

pub fn compile_failed(errors: usize) -> String {
    match errors {
        0 => "your code does not compile".to_string(),
        1 => "your code does not compile: 1 error".to_string(),
        n => format!("your code does not compile: {n} errors (the first ones are shown)"),
    }
}

pub fn suite_broken_against(ex: &str) -> String {
    format!(
        "the program that runs your crate for the hidden suite of {ex} could not be compiled against it: did you change or remove a public item the stub declares? Keep the stub's public signatures."
    )
}

pub fn kit_failed_to_build(what: &str) -> String {
    format!("the kit's own {what} failed to build; this is a problem with the kit, not your code (details below). Please report it.")
}

pub fn missing_report(check: &str) -> String {
    format!("the suite never reported on `{check}`; a check that does not report is never counted as a pass")
}

pub fn check_timed_out(secs: u64) -> String {
    format!("no verdict within {secs} s: something hangs (a handler that never answers, an endless loop, a lock never released)")
}

pub fn suite_died_during(code: Option<i32>) -> String {
    match code {
        Some(c) => format!("the process running this check exited (code {c}) before the check finished: code under test must not exit the process"),
        None => "the process running this check was killed by a signal before the check finished (a crash or an abort)".to_string(),
    }
}

pub fn run_out_of_time(secs: u64) -> String {
    format!("not run: the whole grade exceeded its time limit of {secs} s")
}

pub fn no_such_variant<'a>(exercise: &str, name: &str, names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    format!(
        "no known-wrong variant of {exercise} has `{name}` in its name; its variants are: {}",
        if names.is_empty() { "none".to_string() } else { names.join(", ") }
    )
}

pub fn not_selected() -> String {
    "not run: only the checks a known-wrong variant names were run".to_string()
}

pub fn gated(stage: &str) -> String {
    format!("not run: stage `{stage}` must pass first")
}

pub fn protocol_version(found: u32, expected: u32) -> String {
    format!("the suite speaks result protocol v{found}, the grader v{expected}: rebuild the kit (`cargo build`)")
}

pub fn broken_exercise(id: &str, why: &str) -> String {
    format!("exercise {id} cannot be graded: {why}")
}

pub fn interrupted() -> String {
    "interrupted: every process the grade started was stopped".to_string()
}

pub fn tampered(files: &str) -> String {
    format!("the program changed the kit's own files during the grade ({files}); they were restored, and a grade that touches them cannot pass")
}

pub fn not_a_checkout(path: &Path) -> String {
    format!("{} is not a checkout of the kit (it has no exercises/ folder)", path.display())
}

pub fn progress_not_saved(e: &anyhow::Error) -> String {
    format!("warning: could not save your progress: {e:#}")
}

pub fn no_subject_binary(bin: &str) -> String {
    format!("the exercise builds no binary named `{bin}`; keep the stub's src/main.rs")
}

// Files: what could not be done to which path. The I/O error follows as
// the cause.

pub fn cannot_read(path: &Path) -> String {
    format!("cannot read {}", path.display())
}

pub fn cannot_write(path: &Path) -> String {
    format!("cannot write {}", path.display())
}

pub fn cannot_create(dir: &Path) -> String {
    format!("cannot create {}", dir.display())
}

pub fn not_toml(path: &Path) -> String {
    format!("{} is not valid TOML", path.display())
}

pub fn no_package_name(manifest: &Path) -> String {
    format!("{} has no [package] name", manifest.display())
}

pub fn no_suite_crate(id: &str, dir: &Path) -> String {
    format!("exercise {id} has no suite crate in {}", dir.display())
}

pub fn no_host_crate(id: &str, dir: &Path) -> String {
    format!(
        "exercise {id} is a library exercise but has no host crate in {}: a library is graded through a host program that links it (docs/src/instructors.md)",
        dir.display()
    )
}

pub fn host_built_without_binary(id: &str) -> String {
    format!("cargo built the host of {id} but reported no binary for it")
}

pub fn suite_built_without_binary(id: &str) -> String {
    format!("cargo built the suite of {id} but reported no binary for it")
}

pub fn cannot_start_suite(suite: &Path) -> String {
    format!("could not start the suite {}", suite.display())
}

pub fn cannot_list_checks(suite: &Path) -> String {
    format!("cannot run {} --list", suite.display())
}

pub fn list_failed(suite: &Path, stderr: &str) -> String {
    format!("{} --list failed: {stderr}", suite.display())
}

pub fn submission_lacks(dir: &Path, id: &str) -> String {
    format!("the submission has no {}: nothing to grade for {id}", dir.display())
}

pub fn variant_edits_missing_file(variant: &str, file: &Path) -> String {
    format!("variant `{variant}` edits {}, which the reference does not have", file.display())
}

pub fn variant_find_not_unique(variant: &str, count: usize, file: &Path, find: &str) -> String {
    format!(
        "variant `{variant}`: the text to find occurs {count} times in {} (it must occur exactly once): {find:?}",
        file.display()
    )
}

pub fn nothing_to_watch(dir: &Path) -> String {
    format!("{} does not exist: nothing to watch", dir.display())
}

pub fn cannot_watch(what: &str) -> String {
    format!("cannot watch {what}")
}

pub fn watching(dir: &Path) -> String {
    format!("\nwatching {} · save a file to grade again · q then Enter (or Ctrl-C) to stop", dir.display())
}

pub fn batch_wrote(book: &Path, out: &Path) -> String {
    format!("wrote {} and one JSON report per submission in {}", book.display(), out.display())
}

pub fn error(e: &anyhow::Error) -> String {
    format!("error: {e:#}")
}

pub fn foreign_result_line(line: &str) -> String {
    let shown: String = line.chars().take(120).collect();
    format!(
        "the results channel carried a line the suite did not write ({shown:?}): something tried to forge or \
         disturb the verdicts, so this check fails"
    )
}

pub fn created_exercise(id: &str, kind: &str) -> String {
    format!("created {kind} exercise {id}:")
}

/// `found`: one line per read, `file:line: what -> target`.
pub fn compile_time_reads(found: &[String]) -> String {
    let mut s = String::from(
        "your code reads files outside its own src/ folder while it compiles, which a grade cannot allow \
         (it could read the reference solution). Keep include!/include_str!/include_bytes!/#[path] pointing \
         at files inside src/, with a plain relative path:",
    );
    for f in found {
        s.push_str(&format!("\n  {f}"));
    }
    s
}

pub fn progress_unreadable(file: &Path, why: &str, kept: Option<&Path>) -> String {
    let kept = match kept {
        Some(k) => format!("a copy is kept in {}; ", k.display()),
        None => String::new(),
    };
    format!(
        "warning: your progress file {} is unreadable ({why}); {kept}progress starts afresh \
         (run `cargo grade NN` again to record each exercise)",
        file.display()
    )
}

pub fn hint_after_pass(id: &str) -> String {
    format!("{id} passes every check at its last grade: no stage to hint at. `cargo grade hint {id} --all` shows every hint.")
}

// Grading a class: shards, workers, merging.

pub fn bad_shard(text: &str) -> String {
    format!("`{text}` is not a shard: write K/N with 1 <= K <= N, e.g. --shard 2/4 for the second of four runners")
}

pub fn bad_shard_env(vars: &str) -> String {
    format!("the CI's shard variables do not name a shard ({vars}); pass --shard K/N to say which share to grade")
}

pub fn shard_total_missing(index: &str) -> String {
    format!(
        "JOB_COMPLETION_INDEX={index} says this is one of a Kubernetes Indexed Job's pods, but not how many there are: \
         pass --shard-total N (or set GRADE_SHARD_TOTAL) to the Job's `completions`"
    )
}

pub fn shard_share(shard: crate::shard::Shard, mine: usize, all: usize) -> String {
    format!("shard {shard}: grading {mine} of the class's {all} submissions")
}

pub fn jobs_need_sandbox() -> String {
    "--jobs: the sandbox is off (GRADE_SANDBOX=off), so a submission could write into the kit while another is \
     graded and fail that one's integrity check: grading one at a time instead"
        .into()
}

pub fn jobs_started(jobs: u32, mine: usize, all: usize) -> String {
    format!("grading {mine} of {all} submissions with {jobs} workers (each in a staging folder of its own)")
}

pub fn worker_failed(k: u32, code: Option<i32>) -> String {
    let how = code.map_or("was killed".to_string(), |c| format!("exited with {c}"));
    format!("batch worker {k} {how} without writing its share (its error is above)")
}

pub fn not_a_batch_output(dir: &Path, why: &str) -> String {
    format!("{} is not the output of `cargo grade batch`: {why}", dir.display())
}

pub fn graded_twice(name: &str, a: &Path, b: &Path) -> String {
    format!(
        "submission {name} was graded in both {} and {}: the shards overlap (were they run with different \
         submission lists or --shard values?); merge outputs of one sharded run",
        a.display(),
        b.display()
    )
}

pub fn shard_twice(shard: crate::shard::Shard, a: &Path, b: &Path) -> String {
    format!("shard {shard} appears twice, in {} and {}: pass each shard's folder once", a.display(), b.display())
}

pub fn merge_into_input(dir: &Path) -> String {
    format!("--out {} is one of the folders being merged: pick a new folder", dir.display())
}

pub fn shards_disagree(a: &Path, b: &Path) -> String {
    format!(
        "{} and {} are not shards of the same run (their shard count, exercises or list of submissions differ); \
         give every shard the same submissions, --exercise and N",
        a.display(),
        b.display()
    )
}

pub fn shards_missing(missing: &[crate::shard::Shard], absent: usize, all: usize) -> String {
    let names: Vec<String> = missing.iter().map(|s| s.to_string()).collect();
    format!(
        "missing shard{} {}: {absent} of the class's {all} submissions are in none of the folders given. Pass their \
         folders too, or --partial to merge what is here",
        if missing.len() == 1 { "" } else { "s" },
        names.join(", ")
    )
}

pub fn merged(parts: usize, graded: usize, book: &Path) -> String {
    format!(
        "merged {parts} shard(s), {graded} submission(s): wrote {}, run.json and the reports beside it",
        book.display()
    )
}

pub fn shard_from_env(shard: crate::shard::Shard, from: &str) -> String {
    format!("shard {shard} (from {from}; --shard K/N overrides it)")
}

pub fn dashboard_wrote(page: &Path, students: usize) -> String {
    format!("wrote {} ({students} submission(s)); open it in a browser, it needs no network", page.display())
}
