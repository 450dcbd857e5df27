//! The lesson: how an authoritative server answers one question from its
//! zone (docs/src/08-dns.md, "Answering a question").

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use crate::zone::Zone;

/// How many aliases one answer follows at most, however the zone is made.
pub const MAX_CHAIN: usize = 16;

/// The response to a request that decoded and holds exactly one question.
pub fn answer(zone: &Zone, request: &Message) -> Message {
    todo!("NOTIMP, REFUSED, then look the question up and add the SOA to a negative answer (docs/src/08-dns.md, \"Who answers what\")")
}

/// Where following the question through the zone ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Records of the type asked for are in the answer.
    Found,
    /// The last name exists, without that type (NODATA).
    NoData,
    /// The last name does not exist (NXDOMAIN).
    NxDomain,
    /// The chain left the zone (another server has the rest) or looped.
    Elsewhere,
}

/// The header and question of every response: the request's id, opcode and
/// RD flag, the question exactly as asked (its case too).
pub fn response_to(request: &Message) -> Message {
    let mut response = Message::new();
    response
        .set_id(request.id())
        .set_message_type(MessageType::Response)
        .set_op_code(request.op_code())
        .set_recursion_desired(request.recursion_desired());
    if request.op_code() == OpCode::Query {
        response.add_queries(request.queries().iter().cloned());
    }
    response
}

/// Put the records that answer `query` in the answer section, following
/// aliases inside the zone, and say where the search ended.
fn lookup(zone: &Zone, query: &Query, response: &mut Message) -> End {
    todo!("the records of the type asked for, following CNAMEs inside the zone (docs/src/08-dns.md, \"Following a CNAME\")")
}

/// A copy of `record` owned by `name` as written (the question's case).
fn owned_by(record: &Record, name: &Name) -> Record {
    let mut r = record.clone();
    r.set_name(name.clone());
    r
}

/// The SOA that goes with a negative answer: its TTL is the lesser of its
/// own and its MINIMUM field, how long a resolver may remember the "no"
/// (RFC 2308).
pub fn negative_soa(zone: &Zone) -> Record {
    todo!("the SOA with the TTL of a negative answer (docs/src/08-dns.md, \"When there is nothing to answer\")")
}
