//! `grader/suites/NN/mutants.toml`: the surviving mutants an instructor
//! believes equivalent (they change nothing a program can observe), each
//! with the reason.
//!
//! ```toml
//! [[equivalent]]
//! mutant = "src/static_files.rs: replace == with != in content_type_for"
//! occurrence = 2   # optional: the 2nd mutant with this text, in file order
//! reason = "both branches answer the same content type for an empty extension"
//! ```
//!
//! The key is the line `cargo grade mutants` prints for a survivor: the file
//! and cargo-mutants' description of the change, which names the function
//! and not the line, so an entry keeps matching when code above it moves.
//! An entry that matches no mutant is stale and reported.

use std::path::Path;

use anyhow::{bail, Result};
use serde::Deserialize;

use super::Mutant;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub mutant: String,
    #[serde(default = "one")]
    pub occurrence: u32,
    pub reason: String,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Equivalents {
    #[serde(default, rename = "equivalent")]
    pub entries: Vec<Entry>,
}

/// Read `path`; a missing file lists nothing.
pub fn load(path: &Path) -> Result<Equivalents> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Equivalents::default()),
        Err(e) => bail!("cannot read {}: {e}", path.display()),
    };
    parse(&text).map_err(|e| anyhow::anyhow!("{}: {e:#}", path.display()))
}

pub fn parse(text: &str) -> Result<Equivalents> {
    let eq: Equivalents = toml::from_str(text).map_err(|e| anyhow::anyhow!("not a valid mutants.toml: {e}"))?;
    for (i, e) in eq.entries.iter().enumerate() {
        if e.reason.trim().is_empty() {
            bail!("entry `{}` has no reason: say why the mutant cannot be told apart", e.mutant);
        }
        if e.occurrence == 0 {
            bail!("entry `{}`: occurrence counts from 1", e.mutant);
        }
        if eq.entries[..i].iter().any(|o| o.mutant == e.mutant && o.occurrence == e.occurrence) {
            bail!("entry `{}` (occurrence {}) is listed twice", e.mutant, e.occurrence);
        }
    }
    Ok(eq)
}

impl Equivalents {
    fn matches(e: &Entry, m: &Mutant) -> bool {
        squash(&e.mutant) == squash(&m.key) && e.occurrence == m.occurrence
    }

    /// The entry for `m`, with its index.
    pub fn find(&self, m: &Mutant) -> Option<(usize, &Entry)> {
        self.entries.iter().enumerate().find(|(_, e)| Self::matches(e, m))
    }

    /// The entry whose mutant has this id (`key` or `key #N`).
    pub fn find_id(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| {
            let want = if e.occurrence > 1 { format!("{} #{}", e.mutant, e.occurrence) } else { e.mutant.clone() };
            squash(&want) == squash(id)
        })
    }

    /// Entries that match none of `mutants`, each with why.
    pub fn stale(&self, mutants: &[Mutant]) -> Vec<String> {
        self.entries
            .iter()
            .filter(|e| !mutants.iter().any(|m| Self::matches(e, m)))
            .map(|e| {
                let same_key = mutants.iter().filter(|m| squash(&m.key) == squash(&e.mutant)).count();
                if same_key > 0 {
                    format!(
                        "`{}` occurrence {} matches no mutant (there are {same_key} with this text): fix or remove the entry",
                        e.mutant, e.occurrence
                    )
                } else {
                    format!("`{}` matches no mutant of the reference any more: remove the entry", e.mutant)
                }
            })
            .collect()
    }
}

/// White space runs count as one space (descriptions of match arms quote code).
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_need_a_reason_and_are_unique() {
        assert!(parse("").unwrap().entries.is_empty());
        let ok = parse("[[equivalent]]\nmutant = \"src/a.rs: replace f -> bool with true\"\nreason = \"r\"\n").unwrap();
        assert_eq!(ok.entries[0].occurrence, 1);
        let err = parse("[[equivalent]]\nmutant = \"x\"\nreason = \" \"\n").unwrap_err();
        assert!(format!("{err:#}").contains("no reason"), "{err:#}");
        let twice = "[[equivalent]]\nmutant = \"x\"\nreason = \"r\"\n[[equivalent]]\nmutant = \"x\"\nreason = \"r\"\n";
        assert!(format!("{:#}", parse(twice).unwrap_err()).contains("twice"));
        assert!(parse("[[equivalent]]\nmutant = \"x\"\nreason = \"r\"\nline = 3\n").is_err(), "unknown fields refused");
    }
}
