//! `cargo grade gradebook report GRADES --html OUT/`: one static page for
//! the instructor, read from a batch's output (or a merge's). Inline SVG
//! and CSS only: no script, no font, no request leaves the page (its
//! Content-Security-Policy forbids it), so it reads the same offline and as
//! a CI artifact. Per exercise the score distribution; per check the share
//! of the class failing it, worst first; per student a row linking to each
//! report (copied beside the page). Every number is also a `data-`
//! attribute, so a test can read them back from the rendered page.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::gradebook;
use crate::message;

/// One submission's grades, by exercise.
struct Student {
    name: String,
    grades: BTreeMap<String, Value>,
}

pub fn write(grades_dir: &Path, out: &Path) -> Result<u8> {
    let part = gradebook::read_part(grades_dir)?;
    let mut students = Vec::new();
    for (_, name) in &part.graded {
        let file = grades_dir.join(format!("{name}.json"));
        let text = std::fs::read_to_string(&file).with_context(|| message::cannot_read(&file))?;
        let report: Value = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!(message::not_a_batch_output(grades_dir, &format!("{name}.json: {e}"))))?;
        let list = match report["schema"].as_str() {
            Some("grade-run/1") => report["grades"].as_array().cloned().unwrap_or_default(),
            _ => vec![report],
        };
        let grades = list.into_iter().map(|g| (g["exercise"].as_str().unwrap_or("?").to_string(), g)).collect();
        students.push(Student { name: name.clone(), grades });
    }
    let reports = out.join("reports");
    std::fs::create_dir_all(&reports).with_context(|| message::cannot_create(&reports))?;
    for s in &students {
        let from = grades_dir.join(format!("{}.json", s.name));
        let to = reports.join(format!("{}.json", s.name));
        std::fs::copy(&from, &to).with_context(|| message::cannot_write(&to))?;
    }
    let page = out.join("index.html");
    std::fs::write(&page, render(&part.meta.exercises, &students)).with_context(|| message::cannot_write(&page))?;
    eprintln!("{}", message::dashboard_wrote(&page, students.len()));
    Ok(0)
}

fn render(exercises: &[String], students: &[Student]) -> String {
    let mut h = String::new();
    h.push_str(concat!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>cargo grade: the class</title>\n<style>\n",
        "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;max-width:70em}\n",
        "h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}h3{font-size:1em;margin:.8em 0 .2em}\n",
        "table{border-collapse:collapse}td,th{padding:.15em .6em;border-bottom:1px solid #ddd;text-align:left}\n",
        ".pass{color:#1a7f37}.fail{color:#b3261e}.error{color:#9a6700}.num{text-align:right;font-variant-numeric:tabular-nums}\n",
        ".charts{display:flex;flex-wrap:wrap;gap:1.5em}svg text{font:11px system-ui,sans-serif;fill:#444}\n",
        "</style>\n</head>\n<body>\n"
    ));
    let _ = writeln!(h, "<h1>The class: {} submission(s), {} exercise(s)</h1>", students.len(), exercises.len());

    h.push_str("<h2>Scores, per exercise</h2>\n<div class=\"charts\">\n");
    for ex in exercises {
        let grades: Vec<&Value> = students.iter().filter_map(|s| s.grades.get(ex)).collect();
        h.push_str(&histogram(ex, &grades));
    }
    h.push_str("</div>\n");

    h.push_str("<h2>Checks the class fails, worst first</h2>\n");
    let rows = failing_checks(exercises, students);
    h.push_str(&failing_chart(&rows));
    h.push_str("<table id=\"checks\">\n<tr><th>exercise</th><th>check</th><th>what it tests</th><th class=\"num\">failing</th><th class=\"num\">share</th></tr>\n");
    for r in &rows {
        let _ = writeln!(
            h,
            "<tr class=\"check\" data-exercise=\"{ex}\" data-check=\"{id}\" data-failing=\"{f}\" data-graded=\"{n}\"><td>{ex}</td><td><code>{id}</code></td><td>{title}</td><td class=\"num\">{f}/{n}</td><td class=\"num\">{pct}%</td></tr>",
            ex = esc(&r.exercise),
            id = esc(&r.id),
            title = esc(&r.title),
            f = r.failing,
            n = r.graded,
            pct = percent(r.failing, r.graded)
        );
    }
    h.push_str("</table>\n");

    h.push_str("<h2>Students</h2>\n<table id=\"students\">\n<tr><th>submission</th>");
    for ex in exercises {
        let _ = write!(h, "<th class=\"num\">{}</th>", esc(ex));
    }
    h.push_str("<th>report</th></tr>\n");
    for s in students {
        let _ = write!(h, "<tr class=\"student\" data-name=\"{n}\"><td>{n}</td>", n = esc(&s.name));
        for ex in exercises {
            match s.grades.get(ex) {
                Some(g) => {
                    let status = esc(g["status"].as_str().unwrap_or("error"));
                    let _ = write!(
                        h,
                        "<td class=\"num score {status}\" data-exercise=\"{e}\" data-score=\"{sc}\" data-max=\"{mx}\" data-status=\"{status}\" title=\"{status}\">{sc}/{mx}</td>",
                        e = esc(ex),
                        sc = g["score"],
                        mx = g["max_score"]
                    );
                }
                None => h.push_str("<td class=\"num\">–</td>"),
            }
        }
        let _ = writeln!(h, "<td><a href=\"reports/{n}.json\">{n}.json</a></td></tr>", n = esc(&s.name));
    }
    h.push_str("</table>\n</body>\n</html>\n");
    h
}

/// The scores of one exercise in at most ten bins, as bars.
fn histogram(ex: &str, grades: &[&Value]) -> String {
    let max = grades.iter().filter_map(|g| g["max_score"].as_u64()).max().unwrap_or(0);
    let width = (max + 1).div_ceil(10).max(1);
    let bins = (max + 1).div_ceil(width) as usize;
    let mut counts = vec![0usize; bins];
    for g in grades {
        let score = g["score"].as_u64().unwrap_or(0).min(max);
        counts[(score / width) as usize] += 1;
    }
    let tallest = counts.iter().copied().max().unwrap_or(0).max(1);
    let (w, h, base) = (40 * bins as u64 + 20, 170u64, 140u64);
    let mut s = String::new();
    let passed = grades.iter().filter(|g| g["status"] == "pass").count();
    let _ = writeln!(
        s,
        "<figure><h3>{e}: {p} of {n} pass</h3><svg class=\"histogram\" data-exercise=\"{e}\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"scores in {e}\">",
        e = esc(ex),
        p = passed,
        n = grades.len()
    );
    let _ = writeln!(s, "<line x1=\"10\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"#888\"/>", w - 10);
    for (i, &c) in counts.iter().enumerate() {
        let lo = i as u64 * width;
        let hi = (lo + width - 1).min(max);
        let bar = (c as u64 * 110).div_ceil(tallest as u64);
        let x = 14 + 40 * i as u64;
        let label = if lo == hi { lo.to_string() } else { format!("{lo}–{hi}") };
        let _ = writeln!(
            s,
            "<rect class=\"bin\" data-lo=\"{lo}\" data-hi=\"{hi}\" data-count=\"{c}\" x=\"{x}\" y=\"{y}\" width=\"32\" height=\"{bar}\" fill=\"#4a7bd0\"><title>{c} scored {label}</title></rect><text x=\"{tx}\" y=\"{ly}\" text-anchor=\"middle\">{c}</text><text x=\"{tx}\" y=\"{by}\" text-anchor=\"middle\">{label}</text>",
            y = base - bar,
            tx = x + 16,
            ly = base - bar - 3,
            by = base + 14
        );
    }
    let _ = writeln!(s, "</svg><figcaption>points out of {max}</figcaption></figure>");
    s
}

struct CheckRow {
    exercise: String,
    id: String,
    title: String,
    failing: usize,
    graded: usize,
}

fn failing_checks(exercises: &[String], students: &[Student]) -> Vec<CheckRow> {
    let mut rows: Vec<CheckRow> = Vec::new();
    for ex in exercises {
        for s in students {
            let Some(g) = s.grades.get(ex) else { continue };
            for c in g["checks"].as_array().into_iter().flatten() {
                let id = c["id"].as_str().unwrap_or("?");
                let i = match rows.iter().position(|r| &r.exercise == ex && r.id == id) {
                    Some(i) => i,
                    None => {
                        let title = c["title"].as_str().unwrap_or("").to_string();
                        rows.push(CheckRow { exercise: ex.clone(), id: id.into(), title, failing: 0, graded: 0 });
                        rows.len() - 1
                    }
                };
                rows[i].graded += 1;
                if c["status"] != "pass" {
                    rows[i].failing += 1;
                }
            }
        }
    }
    // Worst share first; ties keep the exercise's own order (a stable sort).
    rows.sort_by(|a, b| (b.failing * a.graded.max(1)).cmp(&(a.failing * b.graded.max(1))));
    rows
}

/// A horizontal bar per check: the share of the class failing it.
fn failing_chart(rows: &[CheckRow]) -> String {
    let (w, row) = (640u64, 18u64);
    let h = row * rows.len() as u64 + 10;
    let mut s = format!(
        "<svg class=\"failing\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"share of the class failing each check\">\n"
    );
    for (i, r) in rows.iter().enumerate() {
        let y = 5 + row * i as u64;
        let len = (r.failing as u64 * 300).div_ceil(r.graded.max(1) as u64);
        let _ = writeln!(
            s,
            "<text x=\"0\" y=\"{ty}\">{e} {id}</text><rect class=\"fail-bar\" data-check=\"{e} {id}\" x=\"260\" y=\"{y}\" width=\"{len}\" height=\"{bh}\" fill=\"#d0584a\"><title>{f} of {n} fail</title></rect><text x=\"{lx}\" y=\"{ty}\">{pct}%</text>",
            ty = y + 12,
            e = esc(&r.exercise),
            id = esc(&r.id),
            bh = row - 4,
            f = r.failing,
            n = r.graded,
            lx = 266 + len,
            pct = percent(r.failing, r.graded)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn percent(part: usize, whole: usize) -> usize {
    if whole == 0 {
        0
    } else {
        (part * 100 + whole / 2) / whole
    }
}

/// Text for HTML content and attribute values.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}
