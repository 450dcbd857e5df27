//! Splitting a class across CI runners: which submissions shard K of N
//! grades, and where K and N come from.
//!
//! The partition is rendezvous (highest-random-weight) hashing of the
//! submission's name: each name goes to the shard whose hash of
//! `(name, shard)` is highest. A submission's shard depends only on its own
//! name and N, so a student joining or leaving moves no one else, and going
//! from N to N+1 shards moves only the ~1/(N+1) that the new shard wins.

use anyhow::{bail, Result};

/// Shard `index` (1-based) of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub total: u32,
}

impl Shard {
    pub const WHOLE: Shard = Shard { index: 1, total: 1 };

    /// Whether the submission named `name` is this shard's to grade.
    pub fn owns(self, name: &str) -> bool {
        owner(name, self.total) == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

/// The shard (1-based) of `total` that grades `name`.
pub fn owner(name: &str, total: u32) -> u32 {
    (1..=total).max_by_key(|&k| weight(name, k)).unwrap_or(1)
}

fn weight(name: &str, shard: u32) -> u64 {
    let mut h = grade_protocol::shared::Fnv::new();
    h.eat(name.as_bytes());
    h.eat(&shard.to_le_bytes());
    mix(h.0)
}

/// SplitMix64's finaliser: FNV alone spreads short, similar names poorly.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `K/N` as typed on the command line (for clap).
pub fn parse(text: &str) -> std::result::Result<Shard, String> {
    let bad = || crate::message::bad_shard(text);
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let index: u32 = k.trim().parse().map_err(|_| bad())?;
    let total: u32 = n.trim().parse().map_err(|_| bad())?;
    if total == 0 || index == 0 || index > total {
        return Err(bad());
    }
    Ok(Shard { index, total })
}

/// The shard to grade: `--shard` if given, else the CI's own variables
/// (GitLab `parallel:`: `CI_NODE_INDEX`/`CI_NODE_TOTAL`, 1-based; a
/// Kubernetes Indexed Job: `JOB_COMPLETION_INDEX`, 0-based, with the total
/// from `--shard-total` or `GRADE_SHARD_TOTAL`), else the whole class.
/// Returns the shard and where it came from.
pub fn resolve(
    flag: Option<Shard>,
    total_flag: Option<u32>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Shard, &'static str)> {
    if let Some(s) = flag {
        return Ok((s, "--shard"));
    }
    if let Some(k) = env("CI_NODE_INDEX") {
        let n = env("CI_NODE_TOTAL").unwrap_or_default();
        let s = parse(&format!("{k}/{n}")).map_err(|_| {
            anyhow::anyhow!(crate::message::bad_shard_env(&format!("CI_NODE_INDEX={k}, CI_NODE_TOTAL={n}")))
        })?;
        return Ok((s, "CI_NODE_INDEX/CI_NODE_TOTAL"));
    }
    if let Some(i) = env("JOB_COMPLETION_INDEX") {
        let total = match total_flag {
            Some(n) => n.to_string(),
            None => match env("GRADE_SHARD_TOTAL") {
                Some(n) => n,
                None => bail!(crate::message::shard_total_missing(&i)),
            },
        };
        let k = i.trim().parse::<u32>().ok().and_then(|i| i.checked_add(1));
        let s = k.and_then(|k| parse(&format!("{k}/{total}")).ok()).ok_or_else(|| {
            anyhow::anyhow!(crate::message::bad_shard_env(&format!("JOB_COMPLETION_INDEX={i}, total {total}")))
        })?;
        return Ok((s, "JOB_COMPLETION_INDEX"));
    }
    Ok((Shard::WHOLE, "the whole class"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("student-{i:03}")).collect()
    }

    #[test]
    fn every_name_has_exactly_one_shard_and_the_shares_are_even() {
        let all = names(1000);
        for total in [1u32, 2, 3, 7] {
            let mut counts = vec![0usize; total as usize];
            for n in &all {
                let owners: Vec<u32> = (1..=total).filter(|&k| Shard { index: k, total }.owns(n)).collect();
                assert_eq!(owners.len(), 1, "{n} in {owners:?} of {total}");
                counts[owners[0] as usize - 1] += 1;
            }
            let fair = all.len() / total as usize;
            for c in counts {
                assert!(c.abs_diff(fair) < fair / 4 + 10, "uneven shares of {total}: {c} vs {fair}");
            }
        }
    }

    #[test]
    fn a_student_joining_moves_no_one_and_a_new_shard_moves_about_one_in_n() {
        let all = names(1000);
        let before: Vec<u32> = all.iter().map(|n| owner(n, 4)).collect();
        // One more student: every earlier owner is unchanged (a name's shard
        // depends on the name alone).
        let mut more = all.clone();
        more.push("newcomer".into());
        let after: Vec<u32> = more.iter().map(|n| owner(n, 4)).collect();
        assert_eq!(before[..], after[..all.len()]);
        // A fifth shard takes ~1/5 of the class, and only moves names to itself.
        let five: Vec<u32> = all.iter().map(|n| owner(n, 5)).collect();
        let moved: Vec<usize> = (0..all.len()).filter(|&i| before[i] != five[i]).collect();
        assert!(moved.iter().all(|&i| five[i] == 5), "a name moved between old shards");
        assert!((150..=250).contains(&moved.len()), "{} of 1000 moved", moved.len());
    }

    #[test]
    fn shard_syntax() {
        assert_eq!(parse("2/3"), Ok(Shard { index: 2, total: 3 }));
        for bad in ["", "3", "0/2", "3/2", "a/b", "1/0", "-1/2", "1/2/3"] {
            assert!(parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn ci_variables_and_the_flag() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let gitlab = env(&[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "3")]);
        assert_eq!(resolve(None, None, &gitlab).unwrap().0, Shard { index: 2, total: 3 });
        let flag = Shard { index: 1, total: 2 };
        assert_eq!(resolve(Some(flag), None, &gitlab).unwrap().0, flag, "the flag wins");
        // GitLab sets CI_NODE_TOTAL=1 without `parallel:`: no index, whole class.
        assert_eq!(resolve(None, None, &env(&[("CI_NODE_TOTAL", "1")])).unwrap().0, Shard::WHOLE);
        let k8s = env(&[("JOB_COMPLETION_INDEX", "0")]);
        assert!(resolve(None, None, &k8s).is_err(), "a total is needed");
        assert_eq!(resolve(None, Some(4), &k8s).unwrap().0, Shard { index: 1, total: 4 });
        let k8s_env = env(&[("JOB_COMPLETION_INDEX", "3"), ("GRADE_SHARD_TOTAL", "4")]);
        assert_eq!(resolve(None, None, &k8s_env).unwrap().0, Shard { index: 4, total: 4 });
        let out_of_range = env(&[("JOB_COMPLETION_INDEX", "4"), ("GRADE_SHARD_TOTAL", "4")]);
        assert!(resolve(None, None, &out_of_range).is_err());
        assert!(resolve(None, None, &env(&[("CI_NODE_INDEX", "x"), ("CI_NODE_TOTAL", "3")])).is_err());
    }
}
