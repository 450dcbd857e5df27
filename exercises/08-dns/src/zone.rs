//! The zone: records read from a zone file in the master format of RFC 1035
//! (the format BIND, NSD and Knot read), and the questions a lookup asks of
//! them. Given: reading the file is not the lesson; answering from it is
//! (docs/src/08-dns.md, "The zone file").

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};

/// One zone: the names at and below its apex and their records.
#[derive(Debug, Clone)]
pub struct Zone {
    origin: Name,
    soa: Record,
    /// Every name that exists, lower-cased: the owners of records and the
    /// names between them and the apex (empty non-terminals, with no records).
    nodes: BTreeMap<Name, Node>,
}

/// The records at one name, grouped into RRsets (all the records of one
/// type), in the order the file gave the types.
#[derive(Debug, Clone, Default)]
pub struct Node {
    rrsets: Vec<(RecordType, Vec<Record>)>,
}

impl Node {
    /// The records of type `rtype` at this name (empty when there are none).
    pub fn rrset(&self, rtype: RecordType) -> &[Record] {
        self.rrsets.iter().find(|(t, _)| *t == rtype).map(|(_, r)| r.as_slice()).unwrap_or(&[])
    }

    /// The CNAME record, when this name is an alias.
    pub fn cname(&self) -> Option<&Record> {
        self.rrset(RecordType::CNAME).first()
    }

    /// Every RRset at this name, in file order.
    pub fn rrsets(&self) -> impl Iterator<Item = &[Record]> {
        self.rrsets.iter().map(|(_, r)| r.as_slice())
    }

    /// No records at all: the name exists only because names below it do.
    pub fn is_empty(&self) -> bool {
        self.rrsets.is_empty()
    }
}

impl Zone {
    /// The zone's SOA record, as the file gave it.
    pub fn soa(&self) -> &Record {
        &self.soa
    }

    /// Whether `name` is the apex or below it, whatever its case.
    pub fn contains(&self, name: &Name) -> bool {
        self.origin.zone_of(name)
    }

    /// The name, if it exists in the zone (in any case); an empty
    /// non-terminal exists, with no records.
    pub fn node(&self, name: &Name) -> Option<&Node> {
        self.nodes.get(&key(name))
    }

    /// Read a zone file's text; `file` names the file in errors.
    pub fn parse(text: &str, file: &str) -> Result<Zone, ZoneError> {
        Parser::new(file).parse(text)
    }
}

fn key(name: &Name) -> Name {
    let mut k = name.to_lowercase();
    k.set_fqdn(true);
    k
}

/// A zone file that cannot be served, with the line to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ZoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

impl std::error::Error for ZoneError {}

/// A word of an entry: quoted words keep their spaces and never act as
/// names, TTLs or types.
#[derive(Debug, Clone)]
struct Word {
    text: Vec<u8>,
    quoted: bool,
}

impl Word {
    fn str(&self) -> String {
        String::from_utf8_lossy(&self.text).into_owned()
    }
}

/// One logical entry: its first line, whether it started with blank space
/// (then it belongs to the previous owner), and its words.
struct Entry {
    line: usize,
    indented: bool,
    words: Vec<Word>,
}

struct Parser {
    file: String,
    origin: Option<Name>,
    ttl: Option<u32>,
    last_owner: Option<Name>,
    records: Vec<(usize, Record)>,
}

impl Parser {
    fn new(file: &str) -> Self {
        Parser { file: file.to_string(), origin: None, ttl: None, last_owner: None, records: Vec::new() }
    }

    fn err(&self, line: usize, message: impl Into<String>) -> ZoneError {
        ZoneError { file: self.file.clone(), line, message: message.into() }
    }

    fn parse(mut self, text: &str) -> Result<Zone, ZoneError> {
        for entry in self.entries(text)? {
            self.entry(entry)?;
        }
        self.build()
    }

    /// Split the text into entries: comments dropped, parentheses joining
    /// lines, quoted strings kept whole.
    fn entries(&self, text: &str) -> Result<Vec<Entry>, ZoneError> {
        let mut out = Vec::new();
        let mut current: Option<Entry> = None;
        let mut depth = 0usize;
        let mut open_line = 0;
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let bytes = line.as_bytes();
            if current.is_none() {
                let indented = bytes.first().is_some_and(|b| *b == b' ' || *b == b'\t');
                current = Some(Entry { line: n, indented, words: Vec::new() });
            }
            let entry = current.as_mut().expect("an entry");
            let mut j = 0;
            while j < bytes.len() {
                let b = bytes[j];
                match b {
                    b' ' | b'\t' | b'\r' => j += 1,
                    b';' => break,
                    b'(' => {
                        if depth == 0 {
                            open_line = n;
                        }
                        depth += 1;
                        j += 1;
                    }
                    b')' => {
                        if depth == 0 {
                            return Err(self.err(n, "`)` without a matching `(`"));
                        }
                        depth -= 1;
                        j += 1;
                    }
                    b'"' => {
                        let mut text = Vec::new();
                        j += 1;
                        loop {
                            match bytes.get(j) {
                                None => return Err(self.err(n, "a quoted string is not closed on its line")),
                                Some(b'"') => {
                                    j += 1;
                                    break;
                                }
                                Some(b'\\') => {
                                    let (byte, used) = self.escape(&bytes[j..], n)?;
                                    text.push(byte);
                                    j += used;
                                }
                                Some(c) => {
                                    text.push(*c);
                                    j += 1;
                                }
                            }
                        }
                        entry.words.push(Word { text, quoted: true });
                    }
                    _ => {
                        let start = j;
                        while j < bytes.len() && !matches!(bytes[j], b' ' | b'\t' | b'\r' | b';' | b'(' | b')' | b'"') {
                            // An escaped character belongs to the word, whatever it is.
                            j += if bytes[j] == b'\\' && j + 1 < bytes.len() { 2 } else { 1 };
                        }
                        entry.words.push(Word { text: bytes[start..j.min(bytes.len())].to_vec(), quoted: false });
                    }
                }
            }
            if depth == 0 {
                let done = current.take().expect("an entry");
                if !done.words.is_empty() {
                    out.push(done);
                }
            }
        }
        if depth > 0 {
            return Err(self.err(open_line, "`(` is never closed"));
        }
        Ok(out)
    }

    /// `\X` is X; `\DDD` is the byte with that decimal value.
    fn escape(&self, at: &[u8], line: usize) -> Result<(u8, usize), ZoneError> {
        let digits: Vec<u8> = at.iter().skip(1).take(3).copied().take_while(u8::is_ascii_digit).collect();
        if digits.len() == 3 {
            let v: u32 = std::str::from_utf8(&digits).ok().and_then(|d| d.parse().ok()).unwrap_or(256);
            return u8::try_from(v).map(|b| (b, 4)).map_err(|_| self.err(line, "`\\DDD` must be at most \\255"));
        }
        match at.get(1) {
            Some(c) => Ok((*c, 2)),
            None => Err(self.err(line, "a `\\` ends the line")),
        }
    }

    fn entry(&mut self, entry: Entry) -> Result<(), ZoneError> {
        let n = entry.line;
        let words = entry.words;
        let first = words[0].str();
        if !entry.indented && !words[0].quoted && first.starts_with('$') {
            return self.directive(n, &first, &words[1..]);
        }
        let mut rest = &words[..];
        let owner = if entry.indented {
            self.last_owner.clone().ok_or_else(|| self.err(n, "the first record has no owner name"))?
        } else {
            rest = &rest[1..];
            self.name(n, &words[0])?
        };
        let mut ttl = None;
        let mut class_seen = false;
        let rtype = loop {
            let Some(w) = rest.first() else {
                return Err(self.err(n, "no record type: expected A, AAAA, CNAME, MX, NS, SOA or TXT"));
            };
            rest = &rest[1..];
            let s = w.str();
            if !w.quoted && ttl.is_none() && s.as_bytes().first().is_some_and(u8::is_ascii_digit) {
                ttl = Some(self.ttl(n, &s)?);
            } else if !w.quoted && !class_seen && s.eq_ignore_ascii_case("IN") {
                class_seen = true;
            } else if !w.quoted && !class_seen && ["CH", "HS", "CS"].iter().any(|c| s.eq_ignore_ascii_case(c)) {
                return Err(self.err(n, format!("class {s}: only class IN is served")));
            } else {
                break s.to_ascii_uppercase();
            }
        };
        let ttl = match ttl.or(self.ttl) {
            Some(t) => t,
            None => return Err(self.err(n, "no TTL for this record: give one, or put `$TTL 3600` at the top")),
        };
        let rdata = self.rdata(n, &rtype, rest)?;
        self.last_owner = Some(owner.clone());
        self.records.push((n, Record::from_rdata(owner, ttl, rdata)));
        Ok(())
    }

    fn directive(&mut self, n: usize, name: &str, args: &[Word]) -> Result<(), ZoneError> {
        let arg = |i: usize| args.get(i).ok_or_else(|| self.err(n, format!("{name} needs a value")));
        match name.to_ascii_uppercase().as_str() {
            "$ORIGIN" => {
                let w = arg(0)?;
                let s = w.str();
                if !s.ends_with('.') {
                    return Err(self.err(n, format!("$ORIGIN {s} must be absolute (end with a dot)")));
                }
                self.origin = Some(self.name(n, w)?);
            }
            "$TTL" => {
                let s = arg(0)?.str();
                self.ttl = Some(self.ttl(n, &s)?);
            }
            "$INCLUDE" => return Err(self.err(n, "$INCLUDE is not supported: put every record in this one file")),
            _ => return Err(self.err(n, format!("unknown directive {name}: expected $ORIGIN or $TTL"))),
        }
        if args.len() > 1 {
            return Err(self.err(n, format!("{name} takes one value")));
        }
        Ok(())
    }

    /// A domain name: `@` is the origin, a name without a final dot is
    /// relative to it.
    fn name(&self, n: usize, w: &Word) -> Result<Name, ZoneError> {
        let s = w.str();
        if w.quoted {
            return Err(self.err(n, format!("\"{s}\" is quoted, but a name is expected here")));
        }
        if s == "@" {
            return self.origin.clone().ok_or_else(|| self.err(n, "`@` used before $ORIGIN"));
        }
        if !s.ends_with('.') && self.origin.is_none() {
            return Err(self.err(n, format!("`{s}` is relative but no $ORIGIN was given: add `$ORIGIN your.zone.`")));
        }
        if s.split('.').any(|l| l == "*") {
            return Err(self.err(n, format!("`{s}`: wildcard names are not supported by this server")));
        }
        let mut name = Name::from_ascii(&s).map_err(|e| self.err(n, format!("`{s}` is not a domain name: {e}")))?;
        if !name.is_fqdn() {
            let origin = self.origin.as_ref().expect("checked above");
            name = name.append_domain(origin).map_err(|e| self.err(n, format!("`{s}` is too long: {e}")))?;
        }
        Ok(name)
    }

    /// A TTL: seconds, or units as BIND writes them (`1h30m`, `2d`, `1w`).
    fn ttl(&self, n: usize, s: &str) -> Result<u32, ZoneError> {
        let bad = || self.err(n, format!("`{s}` is not a TTL: seconds like 3600, or units like 1h30m"));
        if let Ok(v) = s.parse::<u32>() {
            return if v <= i32::MAX as u32 { Ok(v) } else { Err(bad()) };
        }
        let mut total: u64 = 0;
        let mut digits = String::new();
        for c in s.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let unit: u64 = match c.to_ascii_lowercase() {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'w' => 604_800,
                _ => return Err(bad()),
            };
            let v: u64 = digits.parse().map_err(|_| bad())?;
            total += v * unit;
            digits.clear();
        }
        if !digits.is_empty() || total > i32::MAX as u64 {
            return Err(bad());
        }
        Ok(total as u32)
    }

    fn rdata(&self, n: usize, rtype: &str, args: &[Word]) -> Result<RData, ZoneError> {
        let want = |count: usize, shape: &str| -> Result<(), ZoneError> {
            if args.len() == count {
                Ok(())
            } else {
                Err(self.err(n, format!("{rtype} takes {shape}; found {} values", args.len())))
            }
        };
        let number = |w: &Word, what: &str| -> Result<u32, ZoneError> {
            self.ttl(n, &w.str()).map_err(|_| self.err(n, format!("{what} `{}` is not a number", w.str())))
        };
        Ok(match rtype {
            "A" => {
                want(1, "an IPv4 address")?;
                let s = args[0].str();
                RData::A(A(s.parse::<Ipv4Addr>().map_err(|_| self.err(n, format!("`{s}` is not an IPv4 address")))?))
            }
            "AAAA" => {
                want(1, "an IPv6 address")?;
                let s = args[0].str();
                RData::AAAA(AAAA(
                    s.parse::<Ipv6Addr>().map_err(|_| self.err(n, format!("`{s}` is not an IPv6 address")))?,
                ))
            }
            "CNAME" => {
                want(1, "one target name")?;
                RData::CNAME(CNAME(self.name(n, &args[0])?))
            }
            "NS" => {
                want(1, "one name server name")?;
                RData::NS(NS(self.name(n, &args[0])?))
            }
            "MX" => {
                want(2, "a preference and a mail server name")?;
                let pref = args[0].str();
                let pref =
                    pref.parse::<u16>().map_err(|_| self.err(n, format!("MX preference `{pref}` is not 0-65535")))?;
                RData::MX(MX::new(pref, self.name(n, &args[1])?))
            }
            "SOA" => {
                want(7, "mname rname serial refresh retry expire minimum")?;
                let serial = args[2].str();
                let serial =
                    serial.parse::<u32>().map_err(|_| self.err(n, format!("SOA serial `{serial}` is not a number")))?;
                RData::SOA(SOA::new(
                    self.name(n, &args[0])?,
                    self.name(n, &args[1])?,
                    serial,
                    number(&args[3], "SOA refresh")? as i32,
                    number(&args[4], "SOA retry")? as i32,
                    number(&args[5], "SOA expire")? as i32,
                    number(&args[6], "SOA minimum")?,
                ))
            }
            "TXT" => {
                if args.is_empty() {
                    return Err(self.err(n, "TXT takes one or more strings"));
                }
                if let Some(long) = args.iter().find(|w| w.text.len() > 255) {
                    return Err(self.err(n, format!("a TXT string is at most 255 bytes; one has {}", long.text.len())));
                }
                RData::TXT(TXT::from_bytes(args.iter().map(|w| w.text.as_slice()).collect()))
            }
            other => {
                return Err(self.err(
                    n,
                    format!("record type `{other}` is not served: expected A, AAAA, CNAME, MX, NS, SOA or TXT"),
                ))
            }
        })
    }

    /// Check the records make one zone and index them by name.
    fn build(self) -> Result<Zone, ZoneError> {
        let Some((soa_line, soa)) = self.records.iter().find(|(_, r)| r.record_type() == RecordType::SOA).cloned()
        else {
            return Err(self.err(0, "no SOA record: a zone starts with `@ IN SOA ...` at its apex"));
        };
        if self.records[0].1.record_type() != RecordType::SOA {
            return Err(self.err(self.records[0].0, "the SOA record must come first (RFC 1035)"));
        }
        let origin = key(soa.name());
        let mut nodes: BTreeMap<Name, Node> = BTreeMap::new();
        let mut lines: BTreeMap<(Name, RecordType), usize> = BTreeMap::new();
        for (line, record) in &self.records {
            let line = *line;
            let owner = key(record.name());
            let rtype = record.record_type();
            if !origin.zone_of(&owner) {
                return Err(self.err(line, format!("{} is outside the zone {origin}", record.name())));
            }
            if rtype == RecordType::SOA && line != soa_line {
                return Err(self.err(line, format!("a second SOA record (the first is on line {soa_line})")));
            }
            if rtype == RecordType::NS && owner != origin {
                return Err(self.err(
                    line,
                    format!(
                        "NS at {owner} would delegate it to another server; this server only serves NS at the apex"
                    ),
                ));
            }
            let node = nodes.entry(owner.clone()).or_default();
            let has_cname = !node.rrset(RecordType::CNAME).is_empty();
            let has_other = node.rrsets.iter().any(|(t, _)| *t != RecordType::CNAME);
            if (rtype == RecordType::CNAME && has_other) || (rtype != RecordType::CNAME && has_cname) {
                return Err(self.err(line, format!("{owner} has a CNAME and other records: an alias has nothing else")));
            }
            if rtype == RecordType::CNAME && has_cname {
                return Err(self.err(line, format!("{owner} has a second CNAME: an alias points at one name")));
            }
            match node.rrsets.iter_mut().find(|(t, _)| *t == rtype) {
                Some((_, set)) => {
                    if set[0].ttl() != record.ttl() {
                        let first = lines[&(owner.clone(), rtype)];
                        return Err(self.err(
                            line,
                            format!(
                                "TTL {} differs from {} given to the same RRset on line {first}: all records of one name and type share a TTL (RFC 2181)",
                                record.ttl(),
                                set[0].ttl()
                            ),
                        ));
                    }
                    // An RRset is a set: a repeated record is the same record.
                    if !set.iter().any(|r| r.data() == record.data()) {
                        set.push(record.clone());
                    }
                }
                None => {
                    lines.insert((owner.clone(), rtype), line);
                    node.rrsets.push((rtype, vec![record.clone()]));
                }
            }
            // The names between the owner and the apex exist too.
            let mut up = owner.base_name();
            while origin.zone_of(&up) && up != origin {
                nodes.entry(up.clone()).or_default();
                up = up.base_name();
            }
        }
        Ok(Zone { origin, soa, nodes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(text: &str) -> Zone {
        Zone::parse(text, "test.zone").unwrap()
    }

    fn error(text: &str) -> ZoneError {
        Zone::parse(text, "test.zone").unwrap_err()
    }

    const BASE: &str = "$ORIGIN kit.test.\n$TTL 300\n@ IN SOA ns1 hostmaster ( 1 3600\n 600 86400 60 )\n@ NS ns1\n";

    #[test]
    fn relative_names_at_and_blank_owners() {
        let z = zone(&format!("{BASE}www 60 IN A 10.0.0.1\n  IN AAAA ::1\nmail.kit.test. MX 10 www\n"));
        let www = z.node(&Name::from_ascii("WWW.kit.test.").unwrap()).unwrap();
        assert_eq!(www.rrset(RecordType::A)[0].ttl(), 60);
        assert_eq!(www.rrset(RecordType::AAAA)[0].ttl(), 300);
        assert!(z.node(&Name::from_ascii("mail.kit.test.").unwrap()).is_some());
        assert_eq!(z.soa().name(), &Name::from_ascii("kit.test.").unwrap());
    }

    #[test]
    fn empty_non_terminals_exist() {
        let z = zone(&format!("{BASE}a.b.c A 10.0.0.1\n"));
        assert!(z.node(&Name::from_ascii("b.c.kit.test.").unwrap()).unwrap().is_empty());
        assert!(z.node(&Name::from_ascii("x.kit.test.").unwrap()).is_none());
    }

    #[test]
    fn txt_strings_and_units() {
        let z = zone(&format!("{BASE}t 1h30m TXT \"hello; world\" two \"\\\"q\\\"\" \\065\n"));
        let t = &z.node(&Name::from_ascii("t.kit.test.").unwrap()).unwrap().rrset(RecordType::TXT)[0];
        assert_eq!(t.ttl(), 5400);
        let RData::TXT(txt) = t.data() else { panic!() };
        let parts: Vec<&[u8]> = txt.txt_data().iter().map(|b| &b[..]).collect();
        assert_eq!(parts, vec![&b"hello; world"[..], b"two", b"\"q\"", b"\\065"]);
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(error(&format!("{BASE}www A 10.0.0.300\n")).line, 6);
        assert_eq!(error(&format!("{BASE}www CNAME a\nwww A 10.0.0.1\n")).line, 7);
        assert_eq!(error(&format!("{BASE}www SRV 1 2 3 x\n")).line, 6);
        assert_eq!(error(&format!("{BASE}www.other.test. A 10.0.0.1\n")).line, 6);
        assert_eq!(error(&format!("{BASE}sub NS ns1\n")).line, 6);
        assert_eq!(error("$ORIGIN kit.test.\n@ SOA a b 1 2 3 4 5\n").line, 2);
        assert_eq!(error(&format!("{BASE}www A 10.0.0.1\nwww 60 A 10.0.0.2\n")).line, 7);
        assert_eq!(error("$ORIGIN kit.test.\n$TTL 1\n@ SOA a b ( 1 2 3 4 5\n").line, 3);
        assert!(error("$TTL 1\n").message.contains("no SOA"));
        let e = error(&format!("{BASE}x A 1.2.3.4 (\n"));
        assert_eq!(e.to_string(), "test.zone:6: `(` is never closed");
    }
}
