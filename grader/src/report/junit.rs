//! JUnit XML, as GitLab (`artifacts:reports:junit`) and Jenkins read it:
//! one `<testsuite>` per exercise, one `<testcase>` per check, with
//! `<failure>`, `<error>` or `<skipped>` children.

use std::fmt::Write;

use crate::result::{CheckState, Grade};

pub fn render(grades: &[Grade]) -> String {
    let count = |g: &Grade, s: CheckState| g.checks.iter().filter(|c| c.state == s).count();
    let total = |s: CheckState| grades.iter().map(|g| count(g, s)).sum::<usize>();
    let tests: usize = grades.iter().map(|g| g.checks.len()).sum();
    let time: f64 = grades.iter().map(|g| g.duration_ms as f64 / 1000.0).sum();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"cargo-grade\" tests=\"{tests}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{time:.3}\">",
        total(CheckState::Fail),
        total(CheckState::Error),
        total(CheckState::Skipped) + total(CheckState::Unavailable)
    );
    for g in grades {
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
            attr(&g.exercise),
            g.checks.len(),
            count(g, CheckState::Fail),
            count(g, CheckState::Error),
            count(g, CheckState::Skipped) + count(g, CheckState::Unavailable),
            g.duration_ms as f64 / 1000.0
        );
        let _ = writeln!(x, "    <properties>");
        for (k, v) in [
            ("seed", g.seed.to_string()),
            ("score", g.score.to_string()),
            ("max_score", g.max_score.to_string()),
            ("subject", g.subject.clone()),
        ] {
            let _ = writeln!(x, "      <property name=\"{k}\" value=\"{}\"/>", attr(&v));
        }
        let _ = writeln!(x, "    </properties>");
        for c in &g.checks {
            let open = format!(
                "    <testcase classname=\"{}.{}\" name=\"{}\" time=\"{:.3}\"",
                attr(&g.exercise),
                attr(&c.stage),
                attr(&c.id),
                c.outcome.duration_ms as f64 / 1000.0
            );
            let body = super::details(c);
            match c.state {
                CheckState::Pass => {
                    let _ = writeln!(x, "{open}/>");
                }
                CheckState::Skipped | CheckState::Unavailable => {
                    let _ = writeln!(
                        x,
                        "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>",
                        attr(&c.outcome.message)
                    );
                }
                CheckState::Fail | CheckState::Error => {
                    let tag = if c.state == CheckState::Fail { "failure" } else { "error" };
                    let _ = writeln!(
                        x,
                        "{open}>\n      <{tag} message=\"{}\" type=\"{}\">{}</{tag}>\n    </testcase>",
                        attr(&c.outcome.message),
                        attr(&c.id),
                        text(&body)
                    );
                }
            }
        }
        let _ = writeln!(x, "  </testsuite>");
    }
    x.push_str("</testsuites>\n");
    x
}

/// XML 1.0 allows only some control characters; drop the rest (student
/// output can contain anything).
fn clean(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().filter(|c| matches!(c, '\t' | '\n' | '\r') || (*c >= ' ' && *c != '\u{FFFE}' && *c != '\u{FFFF}'))
}

/// Character data: `&`, `<`, `>` escaped.
fn text(s: &str) -> String {
    escape(s, false)
}

/// An attribute value: also quotes and the white space XML would normalise.
fn attr(s: &str) -> String {
    escape(s, true)
}

fn escape(s: &str, in_attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in clean(s) {
        match (c, in_attribute) {
            ('&', _) => out.push_str("&amp;"),
            ('<', _) => out.push_str("&lt;"),
            ('>', _) => out.push_str("&gt;"),
            ('"', true) => out.push_str("&quot;"),
            ('\n', true) => out.push_str("&#10;"),
            ('\r', true) => out.push_str("&#13;"),
            ('\t', true) => out.push_str("&#9;"),
            (c, _) => out.push(c),
        }
    }
    out
}

pub fn reporter() -> Box<dyn super::Reporter> {
    Box::new(super::Whole(|grades, _| render(grades)))
}
