//! One question as a differential case, and the loop that asks both
//! servers.

use std::sync::Arc;
use std::time::Duration;

use harness::differential::{Case, Differential, Side};
use harness::{CheckResult, Ctx, Failure};
use hickory_proto::op::OpCode;
use hickory_proto::rr::{DNSClass, RecordType};

use crate::servers::Pair;
use crate::wire::{self, Via};

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

/// Ask both servers every question and fail on the first answer that
/// differs (sections compared as sets of records).
pub async fn compare(cx: &Ctx, pair: &Pair, rule: &str, asks: Vec<Ask>) -> CheckResult {
    let limit = cx.step_timeout();
    let yours = pair.yours.addr;
    let reference = pair.reference.addr;
    let mut next_id: u16 = cx.seed() as u16;
    Differential::new(rule)
        .run(asks, |side, ask: Ask| {
            next_id = next_id.wrapping_add(1);
            let id = next_id;
            let addr = if side == Side::Yours { yours } else { reference };
            async move { ask_once(addr, &ask, id, limit).await }
        })
        .await
}

/// One question to one server, the answer rendered for a diff.
pub async fn ask_once(addr: std::net::SocketAddr, ask: &Ask, id: u16, limit: Duration) -> Result<String, Failure> {
    let packet = wire::question(id, &ask.name, ask.qtype, ask.class, ask.op);
    let answer = wire::exchange(addr, ask.via, &packet, limit).await.map_err(Failure::new)?;
    Ok(wire::render(&answer, id, false))
}
