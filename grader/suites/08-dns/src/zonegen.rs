//! Random zones, one per seed: names (some several labels deep, leaving
//! empty non-terminals between them and the apex), RRsets of random sizes
//! and TTLs, CNAME chains (into the zone, to names that do not exist, out of
//! the zone, in loops) and one RRset too big for a UDP answer. The text
//! varies the master format's spellings: relative and absolute names, `@`,
//! blank owners, TTL and class in either order, parentheses, comments.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use hickory_proto::rr::RecordType;

/// A zone file and what the suite knows about it.
#[derive(Debug, Clone)]
pub struct Zone {
    pub origin: String,
    pub text: String,
    /// Names with records, and the types they have.
    pub data: Vec<(String, Vec<RecordType>)>,
    /// Names that exist only because names below them do.
    pub ents: Vec<String>,
    /// Names that are CNAMEs.
    pub aliases: Vec<String>,
    /// A name whose TXT RRset does not fit in 512 bytes.
    pub big: String,
    /// A name whose TXT answer is exactly 512 bytes (asked in its own case).
    pub edge: String,
}

pub const TYPES: [RecordType; 7] = [
    RecordType::A,
    RecordType::AAAA,
    RecordType::CNAME,
    RecordType::MX,
    RecordType::NS,
    RecordType::SOA,
    RecordType::TXT,
];

struct Gen<'a> {
    rng: &'a mut fastrand::Rng,
    origin: String,
    text: String,
    taken: BTreeSet<String>,
    previous_owner: String,
}

impl Gen<'_> {
    fn word(&mut self, min: usize, max: usize) -> String {
        let len = self.rng.usize(min..=max);
        (0..len).map(|_| self.rng.lowercase()).collect()
    }

    /// A fresh relative name of one or two labels.
    fn fresh(&mut self) -> String {
        loop {
            let name = if self.rng.u8(0..10) < 3 {
                format!("{}.{}", self.word(2, 5), self.word(2, 6))
            } else {
                self.word(3, 8)
            };
            if self.taken.insert(name.clone()) {
                return name;
            }
        }
    }

    /// The owner field of a line for `rel` (relative, or "@").
    fn owner(&mut self, rel: &str) -> String {
        let field = if rel == self.previous_owner && self.rng.bool() {
            String::new()
        } else if rel == "@" {
            if self.rng.bool() {
                "@".to_string()
            } else {
                self.origin.clone()
            }
        } else if self.rng.u8(0..4) == 0 {
            format!("{rel}.{}", self.origin)
        } else {
            rel.to_string()
        };
        self.previous_owner = rel.to_string();
        field
    }

    /// The TTL and class fields, in a random spelling.
    fn ttl_class(&mut self, ttl: Option<u32>) -> String {
        let class = if self.rng.bool() { "IN" } else { "" };
        match ttl {
            None => class.to_string(),
            Some(t) if self.rng.bool() => format!("{t} {class}"),
            Some(t) => format!("{class} {t}"),
        }
    }

    fn line(&mut self, rel: &str, ttl: Option<u32>, rtype: &str, data: &str) {
        let owner = self.owner(rel);
        let tc = self.ttl_class(ttl);
        let _ = writeln!(self.text, "{owner:<14} {tc:<10} {rtype:<6} {data}");
    }

    /// A target name inside the zone, written relative or absolute.
    fn target(&mut self, rel: &str) -> String {
        if rel == "@" {
            self.origin.clone()
        } else if self.rng.bool() {
            rel.to_string()
        } else {
            format!("{rel}.{}", self.origin)
        }
    }

    fn ttl(&mut self) -> Option<u32> {
        if self.rng.bool() {
            None
        } else {
            Some([self.rng.u32(1..120), self.rng.u32(120..3600), self.rng.u32(3600..200_000)][self.rng.usize(0..3)])
        }
    }

    fn rdata(&mut self, rtype: RecordType, i: usize) -> String {
        match rtype {
            RecordType::A => format!("10.{}.{}.{}", self.rng.u8(..), self.rng.u8(..), i + 1),
            RecordType::AAAA => format!("fd00::{:x}:{:x}", self.rng.u16(..), i + 1),
            RecordType::MX => {
                let host = self.word(2, 6);
                format!("{} {}", self.rng.u16(0..100) * 10 + i as u16, self.target(&format!("mx{i}{host}")))
            }
            _ => {
                let words: Vec<String> = (0..self.rng.usize(1..4)).map(|_| self.word(1, 12)).collect();
                if self.rng.bool() {
                    format!("\"{}\"", words.join(" "))
                } else {
                    words.iter().map(|w| format!("\"{w}\"")).collect::<Vec<_>>().join(" ")
                }
            }
        }
    }
}

/// A random zone for `rng`.
pub fn random(rng: &mut fastrand::Rng) -> Zone {
    let above = rng.bool();
    random_shaped(rng, above)
}

/// A random zone whose SOA TTL is above its MINIMUM field, or below.
pub fn random_shaped(rng: &mut fastrand::Rng, soa_ttl_above_minimum: bool) -> Zone {
    let tld = ["test", "example", "xyz", "lab"][rng.usize(0..4)];
    let mut g =
        Gen { rng, origin: String::new(), text: String::new(), taken: BTreeSet::new(), previous_owner: String::new() };
    g.origin = format!("{}.{tld}.", g.word(4, 8));
    let origin = g.origin.clone();
    let default_ttl = g.rng.u32(30..90_000);
    let _ = writeln!(g.text, "; a random zone drawn by the suite\n$ORIGIN {origin}\n$TTL {default_ttl}");
    // The SOA's TTL above or below its MINIMUM: a negative answer's TTL is
    // the lesser of the two, and either may be it.
    let minimum = g.rng.u32(60..7200);
    let soa_ttl = if soa_ttl_above_minimum { minimum + g.rng.u32(1..5000) } else { g.rng.u32(1..minimum) };
    let soa_ttl = format!("{soa_ttl} ");
    let _ = writeln!(
        g.text,
        "@ {soa_ttl}IN SOA ns1 hostmaster.{origin} (\n        {} ; serial\n        {} {} {}\n        {minimum} ) ; minimum",
        g.rng.u32(1..4_000_000_000),
        g.rng.u32(1200..86_400),
        g.rng.u32(300..7200),
        g.rng.u32(604_800..2_419_200)
    );
    g.previous_owner = "@".to_string();
    let ns_ttl = g.ttl();
    g.line("@", ns_ttl, "NS", "ns1");
    let mut data: Vec<(String, Vec<RecordType>)> = Vec::new();
    let mut apex = vec![RecordType::SOA, RecordType::NS];
    if g.rng.bool() {
        // A second name server, with its address.
        let ns2 = format!("ns2.{}", g.word(3, 6));
        g.taken.insert(ns2.clone());
        let t = g.target(&ns2);
        g.line("@", ns_ttl, "NS", &t);
        let a = g.rdata(RecordType::A, 0);
        let ttl = g.ttl();
        g.line(&ns2, ttl, "A", &a);
        data.push((format!("{ns2}.{origin}"), vec![RecordType::A]));
    }
    for rtype in [RecordType::A, RecordType::MX] {
        if g.rng.bool() {
            let ttl = g.ttl();
            for i in 0..g.rng.usize(1..3) {
                let d = g.rdata(rtype, i);
                g.line("@", ttl, &rtype.to_string(), &d);
            }
            apex.push(rtype);
        }
    }
    data.push((origin.clone(), apex));
    g.taken.insert("ns1".to_string());
    let a = g.rdata(RecordType::A, 0);
    g.line("ns1", None, "A", &a);
    data.push((format!("ns1.{origin}"), vec![RecordType::A]));

    // Names with data, some several labels deep.
    let mut rels: Vec<String> = Vec::new();
    for i in 0..g.rng.usize(5..11) {
        let rel = if i == 0 {
            // The first leaves an empty non-terminal above it, in every zone.
            let between = g.word(6, 8);
            g.taken.insert(between.clone());
            let child = format!("{}.{between}", g.word(2, 5));
            g.taken.insert(child.clone());
            child
        } else if !rels.is_empty() && g.rng.u8(0..5) == 0 {
            let parent = rels[g.rng.usize(0..rels.len())].clone();
            let child = format!("{}.{parent}", g.word(2, 5));
            if !g.taken.insert(child.clone()) {
                continue;
            }
            child
        } else {
            g.fresh()
        };
        let mut types = Vec::new();
        for rtype in [RecordType::A, RecordType::AAAA, RecordType::MX, RecordType::TXT] {
            if g.rng.u8(0..10) < 4 {
                types.push(rtype);
            }
        }
        if types.is_empty() {
            types.push(RecordType::A);
        }
        g.rng.shuffle(&mut types);
        for rtype in &types {
            let ttl = g.ttl();
            for i in 0..g.rng.usize(1..4) {
                let d = g.rdata(*rtype, i);
                g.line(&rel, ttl, &rtype.to_string(), &d);
            }
        }
        rels.push(rel.clone());
        data.push((format!("{rel}.{origin}"), types));
    }

    // One RRset too big for 512 bytes.
    let big_rel = format!("big{}", g.word(2, 5));
    g.taken.insert(big_rel.clone());
    let ttl = g.ttl();
    for i in 0..g.rng.usize(14..22) {
        let text = format!("\"{} {i}\"", g.word(30, 50));
        g.line(&big_rel, ttl, "TXT", &text);
    }
    data.push((format!("{big_rel}.{origin}"), vec![RecordType::TXT]));

    // One answer of exactly 512 bytes over UDP (header 12, question n + 4,
    // the record: a pointer to the question's name 2, type, class, TTL and
    // length 10, then the two strings each after its length byte): it fits.
    let edge_rel = format!("edge{}", g.word(2, 5));
    g.taken.insert(edge_rel.clone());
    let n = edge_rel.len() + 1 + origin.len() + 1;
    let second = 512 - (12 + n + 4 + 12 + 2 + 255);
    let one = g.word(255, 255);
    let two = g.word(second, second);
    let ttl = g.ttl();
    g.line(&edge_rel, ttl, "TXT", &format!("\"{one}\" \"{two}\""));
    data.push((format!("{edge_rel}.{origin}"), vec![RecordType::TXT]));

    // Aliases: every kind in every zone (a chain of two into the data,
    // dangling, out of the zone, a self loop, a loop of two), then a few at
    // random.
    #[derive(Clone, Copy)]
    enum Kind {
        Next,
        Data,
        Dangling,
        Outside,
        SelfLoop,
        Prev,
        Back,
    }
    use Kind::*;
    let mut kinds = vec![Next, Data, Dangling, Outside, SelfLoop, Next, Prev];
    for _ in 0..g.rng.usize(0..4) {
        kinds.push([Data, Next, Dangling, Outside, Back][g.rng.usize(0..5)]);
    }
    let mut aliases: Vec<String> = Vec::new();
    let alias_rels: Vec<String> = kinds.iter().map(|_| g.fresh()).collect();
    for (i, (rel, kind)) in alias_rels.iter().zip(&kinds).enumerate() {
        let kind = if matches!(kind, Next) && i + 1 == alias_rels.len() { Data } else { *kind };
        let target = match kind {
            Data => {
                let pick = data[g.rng.usize(0..data.len())].0.clone();
                if g.rng.bool() {
                    pick
                } else {
                    pick.strip_suffix(&format!(".{origin}")).map(str::to_string).unwrap_or(pick)
                }
            }
            Next => g.target(&alias_rels[i + 1].clone()),
            Dangling => {
                let nowhere = format!("{}.{}", g.word(3, 6), g.word(3, 5));
                g.target(&nowhere)
            }
            Outside => format!("www.{}.net.", g.word(3, 7)),
            SelfLoop => g.target(&rel.clone()),
            Prev => g.target(&alias_rels[i - 1].clone()),
            Back => {
                let back = alias_rels[g.rng.usize(0..i)].clone();
                g.target(&back)
            }
        };
        let ttl = g.ttl();
        g.line(rel, ttl, "CNAME", &target);
        aliases.push(format!("{rel}.{origin}"));
    }

    // The names between owners and the apex that hold nothing.
    let mut existing: BTreeSet<String> = data.iter().map(|(n, _)| n.clone()).collect();
    existing.extend(aliases.iter().cloned());
    let mut ents = BTreeSet::new();
    for name in &existing {
        let mut rest = name.as_str();
        while let Some((_, up)) = rest.split_once('.') {
            if up.len() <= origin.len() {
                break;
            }
            if !existing.contains(up) {
                ents.insert(up.to_string());
            }
            rest = up;
        }
    }
    let big = format!("{big_rel}.{origin}");
    let edge = format!("{edge_rel}.{origin}");
    Zone { edge, origin, text: g.text, data, ents: ents.into_iter().collect(), aliases, big }
}

impl Zone {
    /// Every name that exists.
    pub fn names(&self) -> Vec<String> {
        let mut all: Vec<String> = self.data.iter().map(|(n, _)| n.clone()).collect();
        all.extend(self.aliases.iter().cloned());
        all.extend(self.ents.iter().cloned());
        all
    }

    /// A name that does not exist: a new label at the apex, or below a name
    /// that exists.
    pub fn missing(&self, rng: &mut fastrand::Rng) -> String {
        let existing = self.names();
        loop {
            let label: String = (0..rng.usize(2..8)).map(|_| rng.lowercase()).collect();
            let parent = if rng.bool() { self.origin.clone() } else { existing[rng.usize(0..existing.len())].clone() };
            let name = format!("{label}.{parent}");
            if !existing.contains(&name) {
                return name;
            }
        }
    }
}

/// `name` with each letter's case flipped at random.
pub fn mixed_case(rng: &mut fastrand::Rng, name: &str) -> String {
    name.chars().map(|c| if rng.bool() { c.to_ascii_uppercase() } else { c }).collect()
}
