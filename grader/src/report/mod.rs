//! Reporters: each renders finished [`Grade`]s, owns where its output goes,
//! and runs nothing. A new format is one file here plus one line in
//! [`FORMATS`].

pub mod classroom;
pub mod github;
pub mod gradescope;
pub mod human;
pub mod json;
pub mod junit;

use std::io::Write as _;
use std::path::Path;

use anyhow::Result;

use crate::result::{CheckResult, Grade};

/// Where a report goes and how it may look.
pub struct Sink<'a> {
    /// `--output FILE`, or standard output.
    pub file: Option<&'a Path>,
    /// ANSI styling allowed (human reports on a terminal).
    pub color: bool,
    /// The kit's root, for links to files.
    pub root: &'a Path,
}

impl Sink<'_> {
    /// Write `text` to `--output` or standard output.
    pub fn write(&self, text: &str) -> Result<()> {
        match self.file {
            Some(path) => write_file(path, text),
            None => {
                print!("{text}");
                Ok(())
            }
        }
    }
}

/// One output format. Grades arrive as they finish ([`Reporter::graded`]),
/// then all together ([`Reporter::finish`]), which writes the report.
pub trait Reporter {
    /// A grade just finished (watch mode and parallel runs see them early).
    fn graded(&mut self, _grade: &Grade) {}
    /// Render every grade of the run and write it where the format says.
    fn finish(&mut self, grades: &[Grade], sink: &Sink<'_>) -> Result<()>;
    /// Nothing could be graded (an unknown exercise, not a checkout): a
    /// report that says so, for formats a machine reads. The human report
    /// leaves it to the error on stderr.
    fn could_not_grade(&mut self, _why: &str, _sink: &Sink<'_>) -> Result<()> {
        Ok(())
    }
}

/// A format's name on the command line, its help and its reporter.
pub struct Entry {
    pub name: &'static str,
    pub about: &'static str,
    pub make: fn() -> Box<dyn Reporter>,
}

/// Every format, in the order `--help` lists them. The first is the default.
pub const FORMATS: &[Entry] = &[
    Entry { name: "human", about: "Stages, the first failure explained, the chapter to read", make: human::reporter },
    Entry {
        name: "json",
        about: "The versioned JSON report (schema `grade-report/1`, docs/src/grading.md)",
        make: json::reporter,
    },
    Entry { name: "junit", about: "JUnit XML for GitLab and Jenkins", make: junit::reporter },
    Entry { name: "gradescope", about: "Gradescope's results.json", make: gradescope::reporter },
    Entry {
        name: "github",
        about: "GitHub Actions: `::error` annotations, and a Markdown job summary written to $GITHUB_STEP_SUMMARY (or --output)",
        make: github::reporter,
    },
    Entry {
        name: "classroom",
        about: "GitHub Classroom: `result=<base64 JSON>` for the autograding reporter, appended to $GITHUB_OUTPUT (or --output)",
        make: classroom::reporter,
    },
];

/// A format chosen on the command line.
#[derive(Clone, Copy)]
pub struct Format(&'static Entry);

impl Format {
    pub fn is_human(self) -> bool {
        self.0.name == "human"
    }
    pub fn reporter(self) -> Box<dyn Reporter> {
        (self.0.make)()
    }
    /// For clap: the names of [`FORMATS`], with their help.
    pub fn parser() -> impl clap::builder::TypedValueParser<Value = Format> {
        use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
        PossibleValuesParser::new(FORMATS.iter().map(|e| PossibleValue::new(e.name).help(e.about)))
            .map(|name| Format(FORMATS.iter().find(|e| e.name == name).expect("clap accepted only listed names")))
    }
}

impl std::fmt::Debug for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.name)
    }
}

impl PartialEq for Format {
    fn eq(&self, other: &Self) -> bool {
        self.0.name == other.0.name
    }
}

/// Everything known about a check as plain text, for formats with one text
/// field per test.
pub fn details(c: &CheckResult) -> String {
    let mut s = c.outcome.message.clone();
    if let Some(r) = &c.outcome.request {
        s.push_str(&format!("\n\nrequest:\n{r}"));
    }
    if let Some(r) = &c.outcome.response {
        s.push_str(&format!("\n\nresponse:\n{r}"));
    }
    if let Some(d) = &c.outcome.diff {
        s.push_str(&format!("\n\nreference ({}):\n{}\n\nyours:\n{}", d.name, d.reference, d.yours));
    }
    if let Some(o) = &c.outcome.output {
        s.push_str(&format!("\n\noutput:\n{o}"));
    }
    s
}

pub fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| anyhow::anyhow!("cannot write the report to {}: {e}", path.display()))
}

pub fn append_file(path: &Path, text: &str) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// A reporter made of functions that render the whole run as text, and
/// a run that could not grade anything.
pub struct Whole {
    pub render: fn(&[Grade], &Sink<'_>) -> String,
    pub error: Option<fn(&str) -> String>,
}

impl Reporter for Whole {
    fn finish(&mut self, grades: &[Grade], sink: &Sink<'_>) -> Result<()> {
        sink.write(&(self.render)(grades, sink))
    }
    fn could_not_grade(&mut self, why: &str, sink: &Sink<'_>) -> Result<()> {
        match self.error {
            Some(render) => sink.write(&render(why)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A format added the way the module says: one reporter, one entry.
    struct Toy(Vec<String>);
    impl Reporter for Toy {
        fn graded(&mut self, g: &Grade) {
            self.0.push(g.exercise.clone());
        }
        fn finish(&mut self, grades: &[Grade], sink: &Sink<'_>) -> Result<()> {
            sink.write(&format!("toy: {} of {}\n", self.0.len(), grades.len()))
        }
    }
    fn toy() -> Box<dyn Reporter> {
        Box::new(Toy(Vec::new()))
    }

    #[test]
    fn a_new_format_is_one_reporter_and_one_entry() {
        let formats = [Entry { name: "toy", about: "a toy", make: toy }];
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("r.txt");
        let grades = vec![crate::result::sample("01-x"), crate::result::sample("02-y")];
        let mut r = (formats[0].make)();
        for g in &grades {
            r.graded(g);
        }
        r.finish(&grades, &Sink { file: Some(&out), color: false, root: dir.path() }).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "toy: 2 of 2\n");
    }

    #[test]
    fn every_format_has_a_unique_name_and_human_is_the_default() {
        let mut names: Vec<&str> = FORMATS.iter().map(|e| e.name).collect();
        assert_eq!(names[0], "human");
        names.sort();
        names.dedup();
        assert_eq!(names.len(), FORMATS.len());
    }
}
