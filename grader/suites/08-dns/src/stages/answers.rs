//! Answers from the zone, compared with the reference's on random zones:
//! records and TTLs, the question's case, CNAME chains, NXDOMAIN and NODATA
//! with the SOA, REFUSED and NOTIMP.

use std::sync::Arc;

use harness::{CheckResult, Ctx};
use hickory_proto::op::OpCode;
use hickory_proto::rr::{DNSClass, RecordType};

use crate::cases::{compare, Ask};
use crate::wire::Via;
use crate::zonegen::{self, mixed_case, TYPES};

/// A random zone and its text, shared by the cases that show it.
fn setup(cx: &mut Ctx) -> (zonegen::Zone, Arc<String>) {
    let zone = zonegen::random(cx.rng());
    with_text(zone)
}

fn with_text(zone: zonegen::Zone) -> (zonegen::Zone, Arc<String>) {
    let text = Arc::new(zone.text.clone());
    (zone, text)
}

/// Every RRset of the zone, asked by its name and type.
pub async fn records(mut cx: Ctx) -> CheckResult {
    let (zone, text) = setup(&mut cx);
    let mut asks = Vec::new();
    for (name, types) in &zone.data {
        if name == &zone.big {
            continue;
        }
        for t in types {
            asks.push(Ask::new(&text, name, *t, Via::Udp));
        }
        asks.push(Ask::new(&text, name, RecordType::ANY, Via::Udp));
    }
    cx.rng().shuffle(&mut asks);
    compare(&cx, &zone, "An answer holds every record of the name and type asked (every RRset of the name for ANY), each with the TTL the zone file gives it, and the AA flag: this server is the authority for the zone.", asks).await.map(drop)
}

/// The same questions with letters in random case.
pub async fn case(mut cx: Ctx) -> CheckResult {
    let (zone, text) = setup(&mut cx);
    let mut asks = Vec::new();
    for (name, types) in zone.data.clone() {
        if name == zone.big {
            continue;
        }
        for t in types {
            let asked = mixed_case(cx.rng(), &name);
            asks.push(Ask::new(&text, &asked, t, Via::Udp));
        }
    }
    for _ in 0..10 {
        let missing = zone.missing(cx.rng());
        let asked = mixed_case(cx.rng(), &missing);
        let t = TYPES[cx.rng().usize(0..TYPES.len())];
        asks.push(Ask::new(&text, &asked, t, Via::Udp));
    }
    cx.rng().shuffle(&mut asks);
    compare(&cx, &zone, "Names match whatever their case (WWW.Example.test is www.example.test), and the answer keeps the question's case: the question section and the owner of the records for the name asked are spelled as the question spelled them.", asks).await.map(drop)
}

/// Aliases: chains inside the zone, to missing names, out of the zone, loops.
pub async fn cname(mut cx: Ctx) -> CheckResult {
    let (zone, text) = setup(&mut cx);
    let mut asks = Vec::new();
    for name in zone.aliases.clone() {
        for t in [RecordType::A, RecordType::CNAME, TYPES[cx.rng().usize(0..TYPES.len())], RecordType::TXT] {
            asks.push(Ask::new(&text, &name, t, Via::Udp));
        }
    }
    cx.rng().shuffle(&mut asks);
    compare(&cx, &zone, "A name that is an alias answers with its CNAME; unless the question asked for the CNAME itself, the answer goes on with the records of the target when the target is in the zone, alias after alias, each CNAME once (a loop stops where it comes back). The last name decides: NXDOMAIN if it does not exist, the SOA in authority if it has nothing of the type asked.", asks).await.map(drop)
}

/// Names that do not exist: NXDOMAIN with the SOA.
pub async fn nxdomain(mut cx: Ctx) -> CheckResult {
    // A negative answer's SOA TTL is MINIMUM here, the SOA's own TTL in nodata.
    let zone = zonegen::random_shaped(cx.rng(), true);
    let (zone, text) = with_text(zone);
    let mut asks = Vec::new();
    for _ in 0..30 {
        let name = zone.missing(cx.rng());
        let t = TYPES[cx.rng().usize(0..TYPES.len())];
        asks.push(Ask::new(&text, &name, t, Via::Udp));
    }
    compare(&cx, &zone, "A name that does not exist in the zone gets NXDOMAIN, the AA flag, and the zone's SOA in the authority section with the TTL a resolver may remember the \"no\": the lesser of the SOA's TTL and its MINIMUM field (RFC 2308).", asks).await.map(drop)
}

/// Names that exist without the type asked: NOERROR, no answer, the SOA.
pub async fn nodata(mut cx: Ctx) -> CheckResult {
    let zone = zonegen::random_shaped(cx.rng(), false);
    let (zone, text) = with_text(zone);
    let mut asks = Vec::new();
    for (name, types) in zone.data.clone() {
        let missing: Vec<RecordType> = TYPES.iter().copied().filter(|t| !types.contains(t)).collect();
        let t = missing[cx.rng().usize(0..missing.len())];
        asks.push(Ask::new(&text, &name, t, Via::Udp));
    }
    for name in zone.ents.clone() {
        let t = TYPES[cx.rng().usize(0..TYPES.len())];
        asks.push(Ask::new(&text, &name, t, Via::Udp));
        asks.push(Ask::new(&text, &name, RecordType::ANY, Via::Udp));
    }
    let first = zone.data[0].0.clone();
    asks.push(Ask::new(&text, &first, RecordType::SRV, Via::Udp));
    cx.rng().shuffle(&mut asks);
    compare(&cx, &zone, "A name that exists without records of the type asked (NODATA) gets NOERROR with an empty answer and the SOA in the authority section, never NXDOMAIN: the name is there. A name with only names below it (b.example.test when a.b.example.test exists) exists too.", asks).await.map(drop)
}

/// Other zones, other classes, zone transfers and other opcodes.
pub async fn refused(mut cx: Ctx) -> CheckResult {
    let (zone, text) = setup(&mut cx);
    let origin = zone.origin.clone();
    let parent = origin.split_once('.').map(|(_, p)| p.to_string()).unwrap_or_default();
    let word: String = cx.word(6);
    let mut asks = vec![
        Ask::new(&text, &parent, RecordType::NS, Via::Udp),
        Ask::new(&text, &format!("{word}.{parent}"), RecordType::A, Via::Udp),
        Ask::new(&text, &format!("www.{word}.net."), RecordType::A, Via::Udp),
        Ask::new(&text, &format!("{}{origin}", cx.word(3)), RecordType::A, Via::Udp),
        Ask::new(&text, ".", RecordType::NS, Via::Udp),
    ];
    let name = zone.data[cx.rng().usize(0..zone.data.len())].0.clone();
    asks.push(Ask { class: DNSClass::CH, ..Ask::new(&text, &name, RecordType::A, Via::Udp) });
    asks.push(Ask::new(&text, &origin, RecordType::AXFR, Via::Tcp));
    for op in [OpCode::Status, OpCode::Update, OpCode::Notify] {
        asks.push(Ask { op, ..Ask::new(&text, &name, RecordType::A, Via::Udp) });
    }
    cx.rng().shuffle(&mut asks);
    compare(&cx, &zone, "A question for a name outside the zone (its parent, a sibling, another domain) is not this server's to answer: REFUSED, without the AA flag. So is another class than IN and a zone transfer (AXFR). An opcode other than QUERY gets NOTIMP.", asks).await.map(drop)
}

/// The kit's own zone (the one the book uses) and the chapter's dig
/// commands, against the snapshot recorded from the reference.
pub async fn kit_zone(cx: Ctx) -> CheckResult {
    let path = cx.exercise_dir().join("src/zones/kit.zone");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| harness::Failure::new(format!("could not read the kit's zone {}: {e}", path.display())))?;
    let file = crate::servers::write_zone(&text)?;
    let server = crate::servers::start(&cx, cx.subject(), &file.path).await?;
    let zone = Arc::new(text);
    let questions = [
        ("backend-demo.xyz.", RecordType::A, Via::Udp),
        ("www.backend-demo.xyz.", RecordType::A, Via::Udp),
        ("api.backend-demo.xyz.", RecordType::AAAA, Via::Udp),
        ("WWW.Frontend-Demo.XYZ.", RecordType::AAAA, Via::Udp),
        ("backend-demo.xyz.", RecordType::MX, Via::Tcp),
        ("backend-demo.xyz.", RecordType::TXT, Via::Udp),
        ("nosuch.xyz.", RecordType::A, Via::Udp),
        ("backend-demo.xyz.", RecordType::SRV, Via::Udp),
        ("xyz.", RecordType::NS, Via::Udp),
        ("example.com.", RecordType::A, Via::Udp),
    ];
    let mut out = String::new();
    for (name, qtype, via) in questions {
        let ask = Ask::new(&zone, name, qtype, via);
        out.push_str(&format!("$ {}\n", ask.dig()));
        out.push_str(&crate::cases::ask_once(server.addr, &ask, 1, cx.step_timeout()).await?);
        out.push('\n');
    }
    harness::snapshot::compare(&cx, "answers.kit_zone", &out)
}
