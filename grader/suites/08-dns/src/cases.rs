//! One question as a differential case, and the loop that asks both
//! servers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use harness::differential::{Case, Differential, Side};
use harness::{Ctx, Failure};
use hickory_proto::op::OpCode;
use hickory_proto::rr::{DNSClass, RecordType};

use crate::servers::{start, write_zone, Dns};
use crate::wire::{self, Via};
use crate::zonegen::Zone;

/// A question: its name (in the case it is asked), type, class, opcode and
/// transport, and the zone file both servers read.
#[derive(Debug, Clone)]
pub struct Ask {
    pub name: String,
    pub qtype: RecordType,
    pub class: DNSClass,
    pub op: OpCode,
    pub via: Via,
    pub zone: Arc<String>,
}

impl Ask {
    pub fn new(zone: &Arc<String>, name: &str, qtype: RecordType, via: Via) -> Ask {
        Ask { name: name.to_string(), qtype, class: DNSClass::IN, op: OpCode::Query, via, zone: zone.clone() }
    }

    /// The dig command that asks the same question.
    pub fn dig(&self) -> String {
        let mut cmd = String::from("dig @127.0.0.1 -p 8053 +norec");
        match self.via {
            Via::Udp => cmd.push_str(" +noedns +ignore"),
            Via::Tcp => cmd.push_str(" +tcp"),
        }
        if self.class != DNSClass::IN {
            cmd.push_str(&format!(" -c {}", self.class));
        }
        if self.op != OpCode::Query {
            cmd.push_str(&format!(" +opcode={}", u8::from(self.op)));
        }
        format!("{cmd} {} {}", self.name, self.qtype)
    }
}

impl Case for Ask {
    fn shrink(&self) -> Vec<Self> {
        let lower = self.name.to_ascii_lowercase();
        if lower != self.name {
            vec![Ask { name: lower, ..self.clone() }]
        } else {
            Vec::new()
        }
    }

    fn show(&self) -> String {
        format!(
            "{}\n\nwith your server started on the zone file below (saved as zone.txt):\n  ZONE_FILE=zone.txt PORT=8053 cargo run -p dns\n\n{}",
            self.dig(),
            self.zone
        )
    }
}

/// Ask the reference every question (and every smaller version of it),
/// stop it, then ask your server and fail on the first answer that differs
/// (sections compared as sets of records). The reference never runs beside
/// your server: the sandbox confines TCP, not UDP, so a program could
/// otherwise find the reference's port and relay its answers. Returns your
/// server, still running, for checks that go on with it.
pub async fn compare(cx: &Ctx, zone: &Zone, rule: &str, asks: Vec<Ask>) -> Result<Dns, Failure> {
    let limit = cx.step_timeout();
    let file = write_zone(&zone.text)?;
    let mut known: HashMap<String, String> = HashMap::new();
    {
        let reference_bin = harness::differential::reference(cx)?;
        let reference = start(cx, reference_bin, &file.path).await.map_err(|f| {
            Failure::new(format!("the kit's reference solution did not start; please report it: {}", f.message()))
        })?;
        for ask in asks.iter().flat_map(|a| std::iter::once(a.clone()).chain(a.shrink())) {
            if !known.contains_key(&ask.dig()) {
                let answer = ask_once(reference.addr, &ask, known.len() as u16, limit).await?;
                known.insert(ask.dig(), answer);
            }
        }
    }
    let yours = start(cx, cx.subject(), &file.path).await?;
    let addr = yours.addr;
    let known = &known;
    // A fresh id for every question: an answer must carry the one it was asked with.
    let mut next_id = cx.seed() as u16;
    Differential::new(rule)
        .run(asks, |side, ask: Ask| {
            next_id = next_id.wrapping_add(7919);
            let id = next_id;
            async move {
                match side {
                    Side::Reference => known
                        .get(&ask.dig())
                        .cloned()
                        .ok_or_else(|| Failure::new(format!("no answer of the reference kept for {}", ask.dig()))),
                    Side::Yours => ask_once(addr, &ask, id, limit).await,
                }
            }
        })
        .await?;
    Ok(yours)
}

/// One question to one server, the answer rendered for a diff.
pub async fn ask_once(addr: std::net::SocketAddr, ask: &Ask, id: u16, limit: Duration) -> Result<String, Failure> {
    let packet = wire::question(id, &ask.name, ask.qtype, ask.class, ask.op);
    let answer = wire::exchange(addr, ask.via, &packet, limit).await.map_err(Failure::new)?;
    Ok(wire::render(&answer, id, false))
}
