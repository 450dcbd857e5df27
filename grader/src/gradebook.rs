//! A batch's output folder, and combining several (shards, `--jobs`
//! workers) into one.
//!
//! A batch writes, in its `--out` folder: `<submission>.json` (that
//! submission's report), `gradebook.csv` (a row per submission and
//! exercise), `run.json` (one `grade-run/1` report holding every grade, in
//! submission order) and `shard.json` (`grade-shard/1`: which shard of how
//! many, the seed, the exercises, a fingerprint of the whole class list and
//! the submissions graded with their place in it). The gradebook and the
//! run report are always written from the reports on disk, by the same code
//! for a serial batch and a merge, so a merge of every shard equals the
//! serial batch.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::message;
use crate::shard::Shard;

pub const SHARD_SCHEMA: &str = "grade-shard/1";
/// File stems the batch itself writes beside the reports.
pub const RESERVED: &[&str] = &["run", "shard"];

/// What every part of one class's grading shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Meta {
    pub shard: Shard,
    pub seed: u64,
    pub exercises: Vec<String>,
    /// How many submissions the whole class has, and a hash of their names.
    pub class: (usize, String),
}

/// One batch output (a shard, or a `--jobs` worker's share).
#[derive(Debug, Clone)]
pub struct Part {
    pub meta: Meta,
    /// (place in the class list, name) of each submission graded here.
    pub graded: Vec<(usize, String)>,
    pub dir: PathBuf,
}

pub fn class_hash(names: &[String]) -> (usize, String) {
    let mut h = grade_protocol::shared::Fnv::new();
    for n in names {
        h.eat(n.as_bytes());
    }
    (names.len(), format!("{:016x}", h.0))
}

fn meta_json(meta: &Meta, graded: &[(usize, String)]) -> Value {
    json!({
        "schema": SHARD_SCHEMA,
        "shard": meta.shard.index,
        "of": meta.shard.total,
        "seed": meta.seed,
        "exercises": meta.exercises,
        "class": { "submissions": meta.class.0, "hash": meta.class.1 },
        "graded": graded.iter().map(|(i, n)| json!({ "index": i, "name": n })).collect::<Vec<_>>(),
    })
}

pub fn write_meta(part: &Part) -> Result<()> {
    let path = part.dir.join("shard.json");
    std::fs::write(&path, crate::report::json::pretty(&meta_json(&part.meta, &part.graded)))
        .with_context(|| message::cannot_write(&path))
}

/// Read a batch's output folder.
pub fn read_part(dir: &Path) -> Result<Part> {
    if !dir.is_dir() {
        bail!(message::not_a_batch_output(dir, "no such folder"));
    }
    let path = dir.join("shard.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|_| anyhow::anyhow!(message::not_a_batch_output(dir, "it has no shard.json")))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!(message::not_a_batch_output(dir, &format!("shard.json is not JSON: {e}"))))?;
    parse_meta(&v, dir)
        .ok_or_else(|| anyhow::anyhow!(message::not_a_batch_output(dir, "shard.json is not grade-shard/1")))
}

fn parse_meta(v: &Value, dir: &Path) -> Option<Part> {
    if v["schema"] != SHARD_SCHEMA {
        return None;
    }
    let num = |k: &str| v[k].as_u64();
    let shard = Shard { index: num("shard")? as u32, total: num("of")? as u32 };
    let exercises = v["exercises"].as_array()?.iter().map(|e| e.as_str().map(String::from)).collect::<Option<_>>()?;
    let class = (v["class"]["submissions"].as_u64()? as usize, v["class"]["hash"].as_str()?.to_string());
    let graded = v["graded"]
        .as_array()?
        .iter()
        .map(|g| Some((g["index"].as_u64()? as usize, g["name"].as_str()?.to_string())))
        .collect::<Option<_>>()?;
    Some(Part { meta: Meta { shard, seed: num("seed")?, exercises, class }, graded, dir: dir.to_path_buf() })
}

/// Write `out`'s gradebook, run report and shard.json from `parts`
/// (copying their reports into `out` where they live elsewhere). Refuses a
/// submission graded in two parts. Exit code: 0 if every grade passed.
pub fn write(out: &Path, meta: &Meta, parts: &[Part]) -> Result<u8> {
    let mut all: BTreeMap<usize, (String, &Path)> = BTreeMap::new();
    for p in parts {
        for (i, name) in &p.graded {
            if let Some((_, other)) = all.insert(*i, (name.clone(), &p.dir)) {
                bail!(message::graded_twice(name, other, &p.dir));
            }
        }
    }
    std::fs::create_dir_all(out).with_context(|| message::cannot_create(out))?;
    let mut csv = String::from("submission,exercise,score,max,status\n");
    let mut grades = Vec::new();
    for (name, dir) in all.values() {
        let file = format!("{name}.json");
        let text = std::fs::read_to_string(dir.join(&file)).with_context(|| message::cannot_read(&dir.join(&file)))?;
        if !same_dir(dir, out) {
            std::fs::write(out.join(&file), &text).with_context(|| message::cannot_write(&out.join(&file)))?;
        }
        let report: Value = serde_json::from_str(&text)
            .with_context(|| message::not_a_batch_output(dir, &format!("{file} is not JSON")))?;
        let these = match report["schema"].as_str() {
            Some("grade-run/1") => report["grades"].as_array().cloned().unwrap_or_default(),
            _ => vec![report],
        };
        for g in these {
            let _ = writeln!(
                csv,
                "{},{},{},{},{}",
                field(name),
                field(g["exercise"].as_str().unwrap_or("?")),
                g["score"],
                g["max_score"],
                g["status"].as_str().unwrap_or("error")
            );
            grades.push(g);
        }
    }
    let rank = |s: &Value| match s.as_str() {
        Some("pass") => 0,
        Some("fail") => 1,
        _ => 2,
    };
    let worst = grades.iter().map(|g| rank(&g["status"])).max().unwrap_or(0);
    let sum = |k: &str| grades.iter().map(|g| g[k].as_u64().unwrap_or(0)).sum::<u64>();
    let status = ["pass", "fail", "error"][worst];
    let run = json!({
        "schema": "grade-run/1",
        "status": status,
        "score": sum("score"),
        "max_score": sum("max_score"),
        "grades": grades,
    });
    let book = out.join("gradebook.csv");
    std::fs::write(&book, csv).with_context(|| message::cannot_write(&book))?;
    let run_path = out.join("run.json");
    std::fs::write(&run_path, crate::report::json::pretty(&run)).with_context(|| message::cannot_write(&run_path))?;
    let graded: Vec<(usize, String)> = all.into_iter().map(|(i, (n, _))| (i, n)).collect();
    write_meta(&Part { meta: meta.clone(), graded, dir: out.to_path_buf() })?;
    Ok(worst.min(1) as u8)
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// `cargo grade gradebook merge DIR... --out DIR`.
pub fn merge(dirs: &[PathBuf], out: &Path, partial: bool) -> Result<u8> {
    let parts: Vec<Part> = dirs.iter().map(|d| read_part(d)).collect::<Result<_>>()?;
    if let Some(d) = dirs.iter().find(|d| same_dir(d, out)) {
        bail!(message::merge_into_input(d));
    }
    let first = &parts[0];
    for p in &parts[1..] {
        let (a, b) = (&first.meta, &p.meta);
        if a.shard.total != b.shard.total || a.class != b.class || a.exercises != b.exercises {
            bail!(message::shards_disagree(&first.dir, &p.dir));
        }
    }
    let total = first.meta.shard.total;
    let mut seen: BTreeMap<u32, &Path> = BTreeMap::new();
    for p in &parts {
        if let Some(other) = seen.insert(p.meta.shard.index, &p.dir) {
            bail!(message::shard_twice(p.meta.shard, other, &p.dir));
        }
    }
    let missing: Vec<Shard> =
        (1..=total).filter(|k| !seen.contains_key(k)).map(|index| Shard { index, total }).collect();
    let graded: usize = parts.iter().map(|p| p.graded.len()).sum();
    if !missing.is_empty() {
        let msg =
            message::shards_missing(&missing, first.meta.class.0 - graded.min(first.meta.class.0), first.meta.class.0);
        if !partial {
            bail!(msg);
        }
        eprintln!("warning: {msg}");
    }
    // One seed for the merged run when the shards agree (else each report
    // keeps its own, and shard.json the first shard's).
    let meta = Meta { shard: if missing.is_empty() { Shard::WHOLE } else { first.meta.shard }, ..first.meta.clone() };
    let code = write(out, &meta, &parts)?;
    eprintln!("{}", message::merged(parts.len(), graded, &out.join("gradebook.csv")));
    Ok(code)
}

/// RFC 4180 quoting.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
