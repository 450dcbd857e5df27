//! The report a student reads in a terminal.

use std::fmt::Write;

use similar::{ChangeTag, TextDiff};

use crate::result::{CheckResult, CheckState, Grade, Status};

/// ANSI styling, or none.
#[derive(Clone, Copy)]
pub struct Paint(pub bool);

impl Paint {
    fn wrap(self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    pub fn green(self, s: &str) -> String {
        self.wrap("32", s)
    }
    pub fn red(self, s: &str) -> String {
        self.wrap("31", s)
    }
    pub fn yellow(self, s: &str) -> String {
        self.wrap("33", s)
    }
    pub fn dim(self, s: &str) -> String {
        self.wrap("2", s)
    }
    pub fn bold(self, s: &str) -> String {
        self.wrap("1", s)
    }
    /// A path the terminal can open on click (OSC 8 hyperlink), when
    /// styling is on; terminals without support show the text alone.
    pub fn link(self, root: &std::path::Path, rel: &str) -> String {
        if !self.0 {
            return rel.to_string();
        }
        let abs = if std::path::Path::new(rel).is_absolute() { std::path::PathBuf::from(rel) } else { root.join(rel) };
        format!("\x1b]8;;file://{}\x1b\\{rel}\x1b]8;;\x1b\\", abs.display())
    }
}

fn mark(p: Paint, s: CheckState) -> String {
    match s {
        CheckState::Pass => p.green("✓"),
        CheckState::Fail => p.red("✗"),
        CheckState::Error => p.yellow("!"),
        CheckState::Skipped => p.dim("·"),
        CheckState::Unavailable => p.yellow("?"),
    }
}

pub fn render(g: &Grade, p: Paint, root: &std::path::Path) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}  {}", p.bold(&g.exercise), g.title);
    let _ = writeln!(s, "{} {} {}", p.dim("grading"), p.link(root, &g.subject), p.dim(&format!("· seed {}", g.seed)));
    if let Some(at) = g.reused_from {
        let ago = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs().saturating_sub(at))
            .unwrap_or(0);
        let _ = writeln!(
            s,
            "{}",
            p.yellow(&format!("nothing changed since the last grade ({ago} s ago): this is its verdict; --fresh runs the checks again"))
        );
    }
    let first_bad = g.first_failing_stage().map(|st| st.id.clone());
    let _ = writeln!(s);
    for stage in &g.stages {
        let checks: Vec<&CheckResult> = g.checks.iter().filter(|c| c.stage == stage.id).collect();
        let passed = checks.iter().filter(|c| c.state == CheckState::Pass).count();
        let here =
            if first_bad.as_deref() == Some(stage.id.as_str()) { p.bold("  <- start here") } else { String::new() };
        let why = match (stage.state, checks.first()) {
            (CheckState::Skipped, Some(c)) => format!("  {}", p.dim(&c.outcome.message)),
            _ => String::new(),
        };
        let _ = writeln!(s, "  {} {:<12} {}/{}{here}{why}", mark(p, stage.state), stage.id, passed, checks.len());
        if matches!(stage.state, CheckState::Pass | CheckState::Skipped) {
            continue;
        }
        for c in checks {
            let note = match c.state {
                CheckState::Pass => p.dim(&c.title),
                _ => first_line(&c.outcome.message),
            };
            let _ = writeln!(s, "      {} {:<24} {note}", mark(p, c.state), c.id);
        }
    }
    if let Some(c) = g.first_failure() {
        push_failure(&mut s, c, p);
    }
    if let Some(stage) = g.first_failing_stage() {
        if !stage.advice.is_empty() && g.status == Status::Fail {
            let _ = writeln!(s, "\n{} {}", p.bold("What to do:"), stage.advice);
        }
    }
    let verdict = match g.status {
        Status::Pass => p.green("PASS"),
        Status::Fail => p.red("FAIL"),
        Status::Error => p.yellow("ERROR (could not grade)"),
    };
    let _ = writeln!(
        s,
        "\n{verdict}  score {}/{} · {} of {} checks passed · {:.1} s",
        g.score,
        g.max_score,
        g.passed(),
        g.checks.len(),
        g.duration_ms as f64 / 1000.0
    );
    if g.status != Status::Pass {
        let _ = writeln!(
            s,
            "read {} · a hint: cargo grade hint {} · replay: --seed {}",
            p.link(root, &g.chapter),
            g.exercise,
            g.seed
        );
    }
    s
}

/// The first failing check, with everything it carries.
fn push_failure(s: &mut String, c: &CheckResult, p: Paint) {
    let _ = writeln!(s, "\n{} {}", p.bold("First failure:"), p.bold(&c.id));
    let _ = writeln!(s, "  {}", c.outcome.message);
    if let Some(r) = &c.outcome.request {
        let _ = writeln!(s, "\n  {}", p.bold("request (try it yourself):"));
        push_indented(s, r, "    ");
    }
    if let Some(r) = &c.outcome.response {
        let _ = writeln!(s, "\n  {}", p.bold("response:"));
        push_indented(s, r, "    ");
    }
    if let Some(d) = &c.outcome.diff {
        let _ = writeln!(s, "\n  {} ({} = reference, {} = yours):", p.bold("difference"), p.red("-"), p.green("+"));
        push_diff(s, &d.reference, &d.yours, p);
    }
    if let Some(out) = &c.outcome.output {
        let label = if c.kind == crate::result::CheckKind::Compile { "compiler:" } else { "your program printed:" };
        let _ = writeln!(s, "\n  {}", p.bold(label));
        push_indented(s, &tail_lines(out, 40), "  | ");
    }
}

fn first_line(s: &str) -> String {
    let l = s.lines().next().unwrap_or("");
    if l.chars().count() > 90 {
        format!("{}…", l.chars().take(89).collect::<String>())
    } else {
        l.to_string()
    }
}

fn tail_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    let skipped = lines.len().saturating_sub(n);
    let mut out = String::new();
    if skipped > 0 {
        out.push_str(&format!("[... {skipped} earlier lines]\n"));
    }
    out.push_str(&lines[skipped..].join("\n"));
    out
}

fn push_indented(s: &mut String, text: &str, prefix: &str) {
    for line in text.trim_end().lines() {
        let _ = writeln!(s, "{prefix}{line}");
    }
}

fn push_diff(s: &mut String, reference: &str, yours: &str, p: Paint) {
    let diff = TextDiff::from_lines(reference, yours);
    for change in diff.iter_all_changes() {
        let line = change.value().trim_end_matches('\n');
        let _ = match change.tag() {
            ChangeTag::Delete => writeln!(s, "    {}", p.red(&format!("- {line}"))),
            ChangeTag::Insert => writeln!(s, "    {}", p.green(&format!("+ {line}"))),
            ChangeTag::Equal => writeln!(s, "      {line}"),
        };
    }
}

pub fn reporter() -> Box<dyn super::Reporter> {
    Box::new(super::Whole(|grades, sink| {
        grades.iter().map(|g| render(g, Paint(sink.color), sink.root)).collect::<Vec<_>>().join("\n")
    }))
}
