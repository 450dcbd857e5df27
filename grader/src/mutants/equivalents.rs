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
//! and cargo-mutants' description of the change (pasted with its ` #2`, that
//! is `occurrence = 2`), which names the function
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
    /// Counted from 1; absent: 1, or the ` #N` the printed id ends with.
    #[serde(default)]
    pub occurrence: Option<u32>,
    pub reason: String,
}

impl Entry {
    pub fn occurrence(&self) -> u32 {
        self.occurrence.unwrap_or(1)
    }

    /// `key #N`, as `cargo grade mutants` prints it: the key and N.
    fn split_printed_id(&mut self) -> Result<()> {
        let Some((key, n)) = self.mutant.rsplit_once(" #") else { return Ok(()) };
        let Ok(n) = n.parse::<u32>() else { return Ok(()) };
        if self.occurrence.is_some_and(|o| o != n) {
            bail!("entry `{}` says occurrence {} and #{n}: keep one", self.mutant, self.occurrence.unwrap_or(1));
        }
        self.mutant = key.to_string();
        self.occurrence = Some(n);
        Ok(())
    }
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
    let mut eq: Equivalents = toml::from_str(text).map_err(|e| anyhow::anyhow!("not a valid mutants.toml: {e}"))?;
    for e in &mut eq.entries {
        e.split_printed_id()?;
    }
    for (i, e) in eq.entries.iter().enumerate() {
        if e.reason.trim().is_empty() {
            bail!("entry `{}` has no reason: say why the mutant cannot be told apart", e.mutant);
        }
        if e.occurrence() == 0 {
            bail!("entry `{}`: occurrence counts from 1", e.mutant);
        }
        if eq.entries[..i].iter().any(|o| o.mutant == e.mutant && o.occurrence() == e.occurrence()) {
            bail!("entry `{}` (occurrence {}) is listed twice", e.mutant, e.occurrence());
        }
    }
    Ok(eq)
}

impl Equivalents {
    fn matches(e: &Entry, m: &Mutant) -> bool {
        squash(&e.mutant) == squash(&m.key) && e.occurrence() == m.occurrence
    }

    /// The entry for `m`, with its index.
    pub fn find(&self, m: &Mutant) -> Option<(usize, &Entry)> {
        self.entries.iter().enumerate().find(|(_, e)| Self::matches(e, m))
    }

    /// The entry whose mutant has this id (`key` or `key #N`).
    pub fn find_id(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| {
            let want = if e.occurrence() > 1 { format!("{} #{}", e.mutant, e.occurrence()) } else { e.mutant.clone() };
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
                        e.mutant, e.occurrence()
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
        assert_eq!(ok.entries[0].occurrence(), 1);
        let err = parse("[[equivalent]]\nmutant = \"x\"\nreason = \" \"\n").unwrap_err();
        assert!(format!("{err:#}").contains("no reason"), "{err:#}");
        let twice = "[[equivalent]]\nmutant = \"x\"\nreason = \"r\"\n[[equivalent]]\nmutant = \"x\"\nreason = \"r\"\n";
        assert!(format!("{:#}", parse(twice).unwrap_err()).contains("twice"));
        assert!(parse("[[equivalent]]\nmutant = \"x\"\nreason = \"r\"\nline = 3\n").is_err(), "unknown fields refused");
    }

    /// The id a survivor is printed with, ` #2` included, is a key as it is.
    #[test]
    fn a_pasted_printed_id_carries_its_occurrence() {
        let pasted =
            parse("[[equivalent]]\nmutant = \"src/a.rs: replace > with >= in f #2\"\nreason = \"r\"\n").unwrap();
        assert_eq!(pasted.entries[0].mutant, "src/a.rs: replace > with >= in f");
        assert_eq!(pasted.entries[0].occurrence(), 2);
        let both = "[[equivalent]]\nmutant = \"src/a.rs: f #2\"\noccurrence = 3\nreason = \"r\"\n";
        assert!(format!("{:#}", parse(both).unwrap_err()).contains("keep one"));
        let same = "[[equivalent]]\nmutant = \"src/a.rs: f #2\"\noccurrence = 2\nreason = \"r\"\n";
        assert_eq!(parse(same).unwrap().entries[0].occurrence(), 2);
    }
}
