//! The lesson: how an authoritative server answers one question from its
//! zone (docs/src/08-dns.md, "Answering a question").

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use crate::zone::Zone;

/// How many aliases one answer follows at most, however the zone is made.
pub const MAX_CHAIN: usize = 16;

/// The response to a request that decoded and holds exactly one question.
pub fn answer(zone: &Zone, request: &Message) -> Message {
    let mut response = response_to(request);
    if request.op_code() != OpCode::Query {
        response.set_response_code(ResponseCode::NotImp);
        return response;
    }
    let Some(query) = request.queries().first() else {
        response.set_response_code(ResponseCode::FormErr);
        return response;
    };
    if query.query_class() != DNSClass::IN || !zone.contains(query.name()) {
        response.set_response_code(ResponseCode::Refused);
        return response;
    }
    if matches!(query.query_type(), RecordType::AXFR | RecordType::IXFR) {
        // Transfers copy the whole zone to a secondary server; none is configured.
        response.set_response_code(ResponseCode::Refused);
        return response;
    }
    response.set_authoritative(true);
    match lookup(zone, query, &mut response) {
        End::Found | End::Elsewhere => {}
        End::NoData => {
            response.add_name_server(negative_soa(zone));
        }
        End::NxDomain => {
            response.set_response_code(ResponseCode::NXDomain);
            response.add_name_server(negative_soa(zone));
        }
    }
    response
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
    let qtype = query.query_type();
    // The first name is written as the question asked it.
    let mut name = query.name().clone();
    let mut seen: Vec<Name> = Vec::new();
    loop {
        let Some(node) = zone.node(&name) else {
            return End::NxDomain;
        };
        if qtype == RecordType::ANY && !node.is_empty() {
            for set in node.rrsets() {
                response.add_answers(set.iter().map(|r| owned_by(r, &name)));
            }
            return End::Found;
        }
        let wanted = node.rrset(qtype);
        if !wanted.is_empty() {
            response.add_answers(wanted.iter().map(|r| owned_by(r, &name)));
            return End::Found;
        }
        let Some(cname) = node.cname() else {
            return End::NoData;
        };
        response.add_answer(owned_by(cname, &name));
        seen.push(name.clone());
        let RData::CNAME(target) = cname.data() else {
            return End::NoData;
        };
        let target = target.0.clone();
        if !zone.contains(&target) || seen.contains(&target) || seen.len() >= MAX_CHAIN {
            // Outside the zone another server answers; a loop never ends.
            return End::Elsewhere;
        }
        name = target;
    }
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
    let mut soa = zone.soa().clone();
    if let RData::SOA(data) = soa.data() {
        let ttl = soa.ttl().min(data.minimum());
        soa.set_ttl(ttl);
    }
    soa
}
