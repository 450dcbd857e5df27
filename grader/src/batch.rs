//! `cargo grade batch`: many submissions in the same staging workspace and
//! target directory, so the dependencies compile once for the whole class.
//! A submission that cannot be graded is an `error` row in the gradebook,
//! never the end of the batch. With `--shard K/N` only this runner's share
//! is graded ([`crate::shard`]); with `--jobs N`, N worker processes grade
//! at once, each in a staging slot of its own, and their outputs are
//! combined like shards ([`crate::gradebook`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::catalog::{Exercise, Kit};
use crate::grade::{self, GradeOptions};
use crate::gradebook::{self, Meta, Part};
use crate::result::Grade;
use crate::shard::Shard;
use crate::stage::Source;
use crate::{message, report};

pub struct Options<'a> {
    pub exercises: &'a [String],
    pub out: &'a Path,
    pub seed: u64,
    pub check_timeout: Option<u64>,
    pub shard: Shard,
    pub jobs: u32,
    /// Internal (`--jobs`): this process is worker `index` of `total`, and
    /// grades every `total`-th submission of the shard, in staging slot
    /// `index`.
    pub worker: Option<Shard>,
}

pub fn run(kit: &Kit, submissions: &[PathBuf], o: &Options<'_>) -> Result<u8> {
    let exercises: Vec<&Exercise> = if o.exercises.is_empty() {
        kit.exercises.iter().collect()
    } else {
        o.exercises.iter().map(|n| crate::plan::resolve(kit, n)).collect::<Result<_>>()?
    };
    let names = unique_names(submissions);
    let meta = Meta {
        shard: o.shard,
        seed: o.seed,
        exercises: exercises.iter().map(|e| e.id.clone()).collect(),
        class: gradebook::class_hash(&names),
    };
    let mine: Vec<usize> = (0..names.len()).filter(|&i| o.shard.owns(&names[i])).collect();
    std::fs::create_dir_all(o.out).with_context(|| message::cannot_create(o.out))?;
    if o.shard != Shard::WHOLE && o.worker.is_none() {
        eprintln!("{}", message::shard_share(o.shard, mine.len(), names.len()));
    }
    let jobs = o.jobs.min(mine.len().max(1) as u32);
    if jobs > 1 && o.worker.is_none() {
        return in_parallel(kit, submissions, &names, &mine, o, meta, jobs);
    }
    let mine: Vec<usize> = match o.worker {
        Some(w) => {
            mine.into_iter().enumerate().filter(|(n, _)| *n as u32 % w.total == w.index - 1).map(|(_, i)| i).collect()
        }
        None => mine,
    };
    crate::stage::prefer_slot(o.worker.map_or(0, |w| w.index - 1));
    let mut graded = Vec::new();
    for (n, &i) in mine.iter().enumerate() {
        let (sub, name) = (&submissions[i], &names[i]);
        eprintln!("[{}/{}] {name}", n + 1, mine.len());
        let grades: Vec<Grade> = exercises.iter().map(|ex| grade_one(kit, ex, sub, o)).collect();
        let path = o.out.join(format!("{name}.json"));
        std::fs::write(&path, report::json::pretty(&report::json::render_many(&grades)))
            .with_context(|| message::cannot_write(&path))?;
        graded.push((i, name.clone()));
    }
    let part = Part { meta, graded, dir: o.out.to_path_buf() };
    if o.worker.is_some() {
        gradebook::write_meta(&part)?;
        return Ok(0);
    }
    let code = gradebook::write(o.out, &part.meta, &[part.clone()])?;
    eprintln!("{}", message::batch_wrote(&o.out.join("gradebook.csv"), o.out));
    Ok(code)
}

fn grade_one(kit: &Kit, ex: &Exercise, sub: &Path, o: &Options<'_>) -> Grade {
    let mut compiled: Vec<String> = Vec::new();
    let g = if sub.join("exercises").is_dir() {
        let opts = GradeOptions {
            seed: o.seed,
            color: false,
            bless: None,
            check_timeout: o.check_timeout,
            only: None,
            progress: &mut |k| compiled.push(k.to_string()),
        };
        grade::grade(kit, ex, &Source::Submission(sub.to_path_buf()), opts)
            .unwrap_or_else(|e| grade::could_not_grade(ex, sub, o.seed, &format!("{e:#}")))
    } else {
        let why = format!("{} is not a checkout of the kit (it has no exercises/ folder)", sub.display());
        grade::could_not_grade(ex, sub, o.seed, &why)
    };
    // What cargo compiled for this submission: after the first one, only
    // the submission's own crate (the dependencies are shared).
    let compiled = if compiled.is_empty() { "nothing".to_string() } else { compiled.join(" ") };
    eprintln!("    {:<10} {}/{} {} (compiled: {compiled})", g.exercise, g.score, g.max_score, g.status.word());
    g
}

/// `--jobs N`: N worker processes (a grade ends by killing whatever was
/// re-parented to its grader, so two grades never share a process), each
/// grading every N-th submission of this shard in a staging slot of its
/// own, into `OUT/.jobs/<k>`; their parts are then combined.
fn in_parallel(
    kit: &Kit,
    submissions: &[PathBuf],
    names: &[String],
    mine: &[usize],
    o: &Options<'_>,
    meta: Meta,
    jobs: u32,
) -> Result<u8> {
    if !crate::sandbox::enabled() {
        // The integrity guard compares the kit before and after each grade;
        // unconfined, one worker's tampering would show up in another's.
        eprintln!("{}", message::jobs_need_sandbox());
        return run(kit, submissions, &Options { jobs: 1, ..*o });
    }
    eprintln!("{}", message::jobs_started(jobs, mine.len(), names.len()));
    let exe = std::env::current_exe().context("cannot find the cargo-grade binary")?;
    let scratch = o.out.join(".jobs");
    let _ = std::fs::remove_dir_all(&scratch);
    let mut children = Vec::new();
    for k in 1..=jobs {
        let dir = scratch.join(k.to_string());
        let mut cmd = std::process::Command::new(&exe);
        cmd.arg("batch").arg("--out").arg(&dir).arg("--seed").arg(o.seed.to_string());
        cmd.arg("--shard").arg(o.shard.to_string()).arg("--worker").arg(format!("{k}/{jobs}"));
        for e in &meta.exercises {
            cmd.arg("--exercise").arg(e);
        }
        if let Some(t) = o.check_timeout {
            cmd.arg("--check-timeout").arg(t.to_string());
        }
        cmd.arg("--").args(submissions);
        children.push((k, cmd.spawn().context("cannot start a batch worker")?));
    }
    let mut parts = Vec::new();
    for (k, mut child) in children {
        let status = child.wait()?;
        let dir = scratch.join(k.to_string());
        match gradebook::read_part(&dir) {
            Ok(p) if status.success() => parts.push(p),
            Ok(_) | Err(_) => anyhow::bail!(message::worker_failed(k, status.code())),
        }
    }
    let code = gradebook::write(o.out, &meta, &parts)?;
    let _ = std::fs::remove_dir_all(&scratch);
    eprintln!("{}", message::batch_wrote(&o.out.join("gradebook.csv"), o.out));
    Ok(code)
}

/// Each submission's name in the gradebook: its folder's name, made safe
/// for a file name, with `-2`, `-3`... for repeats (in command-line order).
fn unique_names(submissions: &[PathBuf]) -> Vec<String> {
    let mut used = BTreeSet::new();
    submissions.iter().map(|s| unique_name(s, &mut used)).collect()
}

fn unique_name(sub: &Path, used: &mut BTreeSet<String>) -> String {
    let base: String = sub
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "submission".into())
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' })
        .collect();
    // Names the batch writes beside the reports are not submission names.
    let base =
        if gradebook::RESERVED.contains(&base.as_str()) || base.starts_with('.') { format!("_{base}") } else { base };
    let mut name = base.clone();
    let mut n = 2;
    while !used.insert(name.clone()) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}
