//! The audit trail: one AuditEvent, in the shape of the IHE Basic Audit
//! Log Patterns (BALP), for every read, search, write, override and refused
//! request. Each is written to the store (the same SQLite database, as an
//! `AuditEvent` resource with its search index rows, so `patient`, `agent`,
//! `agent-name`, `entity`, `date`, `action`, `outcome` and `subtype`
//! searches work) and made durable before the answer leaves the server.
//! The API can read them (with a scope naming AuditEvent) but never write,
//! change or delete them (`access::authorize` answers 405, and audits that).
//!
//! An event has a bounded size whatever the request held (paths, queries,
//! token fields and messages are cut short; bodies and SQL never go in),
//! and a client's repeated refusals before routing are recorded once per
//! interval with a count ([`Throttle`]): the trail cannot be used to fill
//! the disk.

use super::auth::concern::Concern;
use super::auth::Requester;
use super::error::{cut, FhirError, FhirResult};
use super::search::index;
use super::store::{self, NewVersion};
use super::{clock, format, Service};
use crate::issue::IssueCode;
use base64::Engine as _;
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const AUDIT_TYPE: &str = "AuditEvent";
const BALP: &str = "https://profiles.ihe.net/ITI/BALP/StructureDefinition";

/// What happened, as the access layer saw it.
#[derive(Clone, Debug, Default)]
pub struct Record {
    /// The RESTful interaction (`read`, `search-type`, `create`, `transaction`, `operation`, ...).
    pub subtype: String,
    /// C, R, U, D or E.
    pub action: &'static str,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
    /// Why it was refused, or what was done.
    pub description: String,
    /// Resources returned or written, `Type/id`.
    pub entities: Vec<String>,
    /// Resources left out, with why.
    pub withheld: Vec<(String, String)>,
    /// Resources an override released.
    pub released: Vec<String>,
    pub patients: BTreeSet<String>,
    pub override_used: bool,
    /// Refusals like this one that were counted instead of recorded ([`Throttle`]).
    pub repeats: Option<Repeats>,
}

/// How many more refusals an event stands for, and since when (ms).
#[derive(Clone, Copy, Debug)]
pub struct Repeats {
    pub count: u64,
    pub since: i64,
}

/// The most entities one event lists (a search of 1,000 says so in its description).
const MAX_ENTITIES: usize = 500;
/// The longest path an event keeps.
const MAX_PATH: usize = 512;
/// The longest query an event keeps (before base64).
const MAX_QUERY: usize = 2048;
/// The longest description or other text an event keeps; reasons of withheld resources are shorter.
const MAX_TEXT: usize = 1024;
const MAX_REASON: usize = 256;
/// The longest string anywhere in an event: whatever a field holds, an event stays small.
const MAX_STRING: usize = 4096;
const MAX_ROLES: usize = 20;

fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({"system": system, "code": code, "display": display})
}

/// The AuditEvent of a record.
pub fn event(requester: Option<&Requester>, address: Option<&str>, rec: &Record, id: &str, now: i64) -> Value {
    let outcome = match rec.status {
        0..=399 => "0",
        400..=499 => "4",
        _ => "8",
    };
    let profile = match (rec.action, rec.subtype.as_str()) {
        (_, "search-type" | "history-type" | "history-system") => "IHE.BasicAudit.Query",
        ("R", _) => "IHE.BasicAudit.Read",
        ("C", _) => "IHE.BasicAudit.Create",
        ("U", _) => "IHE.BasicAudit.Update",
        ("D", _) => "IHE.BasicAudit.Delete",
        _ => "IHE.BasicAudit.Execute",
    };
    let mut user = serde_json::Map::new();
    user.insert("type".into(), json!({"coding": [coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP", "information recipient")]}));
    let mut who = serde_json::Map::new();
    match requester {
        Some(r) => {
            if let Some(u) = &r.fhir_user {
                who.insert("reference".into(), json!(cut(u, MAX_REASON)));
            }
            let mut ident = json!({"value": cut(&r.subject, MAX_REASON)});
            if let Some(iss) = &r.issuer {
                ident["system"] = json!(cut(iss, MAX_REASON));
            }
            who.insert("identifier".into(), ident);
            user.insert("who".into(), Value::Object(who));
            if let Some(c) = &r.client_id {
                user.insert("altId".into(), json!(cut(c, MAX_REASON)));
            }
            user.insert("name".into(), json!(cut(&r.subject, MAX_REASON)));
            if let Some(p) = &r.purpose {
                let p = cut(p, MAX_REASON);
                user.insert("purposeOfUse".into(), json!([{"coding": [coding("http://terminology.hl7.org/CodeSystem/v3-ActReason", &p, &p)]}]));
            }
            if !r.roles.is_empty() {
                user.insert("role".into(), Value::Array(r.roles.iter().take(MAX_ROLES).map(|role| json!({"text": cut(role, MAX_REASON)})).collect()));
            }
        }
        None => {
            user.insert("who".into(), json!({"display": "unauthenticated"}));
            user.insert("name".into(), json!("unauthenticated"));
        }
    }
    user.insert("requestor".into(), json!(true));
    if let Some(a) = address {
        user.insert("network".into(), json!({"address": cut(a, MAX_REASON), "type": "2"}));
    }
    let server = json!({"type": {"coding": [coding("http://dicom.nema.org/resources/ontology/DCM", "110153", "Source Role ID")]}, "who": {"display": "careplan serve"}, "requestor": false});
    let mut entities = Vec::new();
    for p in rec.patients.iter().take(MAX_ENTITIES) {
        entities.push(json!({"what": {"reference": format!("Patient/{p}")}, "type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1", "Person"), "role": coding("http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient")}));
    }
    let object = |r: &str, description: Option<String>| {
        let mut e = json!({"what": {"reference": r}, "type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"), "role": coding("http://terminology.hl7.org/CodeSystem/object-role", "4", "Domain Resource")});
        if let Some(d) = description {
            e["description"] = json!(d);
        }
        e
    };
    for r in rec.entities.iter().take(MAX_ENTITIES) {
        entities.push(object(r, None));
    }
    for (r, why) in rec.withheld.iter().take(MAX_ENTITIES) {
        entities.push(object(r, Some(format!("withheld: {}", cut(why, MAX_REASON)))));
    }
    for r in rec.released.iter().take(MAX_ENTITIES) {
        entities.push(object(r, Some("released by override".into())));
    }
    if let Some(q) = rec.query.as_ref().filter(|q| !q.is_empty()) {
        entities.push(json!({"type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"), "role": coding("http://terminology.hl7.org/CodeSystem/object-role", "24", "Query"),
            "query": base64::engine::general_purpose::STANDARD.encode(cut(q, MAX_QUERY).as_bytes())}));
    }
    let mut description = format!("{} {} → {}: {}", cut(&rec.method, 16), cut(&rec.path, MAX_PATH), rec.status, cut(&rec.description, MAX_TEXT));
    if rec.entities.len() > MAX_ENTITIES {
        description.push_str(&format!(" ({} resources; the first {MAX_ENTITIES} are listed)", rec.entities.len()));
    }
    if let Some(r) = rec.repeats {
        let from = address.map(|a| format!(" from {}", cut(a, MAX_REASON))).unwrap_or_default();
        let like = format!("{} more refusal(s) like this one{from} since {} were counted, not recorded one by one", r.count, clock::instant(r.since));
        description.push_str(&format!(" (and {} more like it)", r.count));
        entities.push(json!({"type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "4", "Other"), "name": "repeated refusals", "description": like,
            "detail": [{"type": "repeats", "valueString": r.count.to_string()}]}));
    }
    let mut ev = json!({
        "resourceType": AUDIT_TYPE,
        "id": id,
        "meta": {"versionId": "1", "lastUpdated": clock::instant(now), "profile": [format!("{BALP}/{profile}")]},
        "type": coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "Restful Operation"),
        "subtype": [coding("http://hl7.org/fhir/restful-interaction", &rec.subtype, &rec.subtype)],
        "action": rec.action,
        "recorded": clock::instant(now),
        "outcome": outcome,
        "outcomeDesc": description,
        "agent": [server, Value::Object(user)],
        "source": {"observer": {"display": "careplan serve"}, "type": [coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server")]},
    });
    if rec.override_used {
        let purpose = requester.and_then(|r| r.purpose.clone()).unwrap_or_default();
        ev["purposeOfEvent"] = json!([{"coding": [coding("http://terminology.hl7.org/CodeSystem/v3-ActReason", &purpose, &purpose)]}]);
        let reason = cut(&requester.and_then(|r| r.reason.clone()).unwrap_or_default(), MAX_TEXT).into_owned();
        entities.push(json!({"type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "4", "Other"), "role": coding("http://terminology.hl7.org/CodeSystem/object-role", "13", "Security Resource"),
            "name": "override", "description": format!("override (purpose of use {purpose}): {reason}"), "detail": [{"type": "override-reason", "valueString": reason}]}));
    }
    if !entities.is_empty() {
        ev["entity"] = Value::Array(entities);
    }
    bound_strings(&mut ev);
    ev
}

/// Cuts every string of an event to [`MAX_STRING`]: the fields above have
/// their own, shorter limits; this holds for any field, now or added later.
fn bound_strings(value: &mut Value) {
    match value {
        Value::String(s) if s.len() > MAX_STRING => *s = cut(s, MAX_STRING).into_owned(),
        Value::Array(items) => items.iter_mut().for_each(bound_strings),
        Value::Object(map) => map.values_mut().for_each(bound_strings),
        _ => {}
    }
}

/// An AuditEvent ready to store: built, indexed, and its persons worked out.
pub struct Prepared {
    id: String,
    now: i64,
    bytes: Vec<u8>,
    rows: Vec<index::IndexRow>,
    concern: Concern,
}

/// Builds the AuditEvent of `rec`, outside any store transaction.
pub fn prepare(svc: &Service, requester: Option<&Requester>, address: Option<&str>, rec: &Record) -> FhirResult<Prepared> {
    let id = uuid::Uuid::new_v4().to_string();
    let now = clock::now_ms();
    let ev = event(requester, address, rec, &id, now);
    let bytes = serde_json::to_vec(&ev).map_err(store::internal)?;
    let parsed = format::parse_resource(&svc.ctx, &svc.config.limits, &bytes, Some(crate::tree::Format::Json))?;
    let (rows, concern) = match parsed.doc.root.as_ref() {
        Some(root) => (index::extract(&svc.registry, &svc.ctx, AUDIT_TYPE, root), Concern::of_tree(&svc.ctx, &svc.registry, &ev, root)),
        None => (Vec::new(), Concern::default()),
    };
    // An event names what a request touched, which is no part of anyone's
    // record: its links would let a person's own refused read reach it.
    let concern = Concern { links: Default::default(), ..concern };
    Ok(Prepared { id, now, bytes, rows, concern })
}

/// Stores a prepared AuditEvent in the caller's transaction: the event of
/// a write is committed with the write, or not at all.
pub fn store_in(conn: &rusqlite::Connection, p: &Prepared) -> FhirResult<()> {
    store::put_version(conn, &NewVersion { res_type: AUDIT_TYPE, id: &p.id, version: 1, method: "POST", last_updated: p.now, body: Some(&p.bytes), index: &p.rows, concern: Some(&p.concern), by_patient: false })?;
    Ok(())
}

/// Writes the AuditEvent of `rec`: stored and on disk when this returns.
pub fn record(svc: &Service, requester: Option<&Requester>, address: Option<&str>, rec: &Record) -> FhirResult<()> {
    let p = prepare(svc, requester, address, rec)?;
    svc.store.write(|conn| store_in(conn, &p)).map_err(unrecorded)
}

/// What a request whose AuditEvent cannot be written is answered: nothing
/// is shown that was not recorded, and the client is told why and that it
/// may retry (the store may have room again later).
fn unrecorded(e: FhirError) -> FhirError {
    let why = e.issues.first().map(|i| i.message.clone()).unwrap_or_default();
    FhirError::new(503, IssueCode::NoStore, format!("This request was not answered because its audit record could not be written, and nothing is disclosed unaudited. Retry later. The store said: {why}"))
}

/// A refusal to record, with who made it and from where.
#[derive(Clone, Debug)]
pub struct Pending {
    pub requester: Option<Arc<Requester>>,
    pub address: Option<String>,
    pub record: Record,
}

/// Records a client's repeated refusals once per interval, with a count.
///
/// A refusal before routing (no valid token; a body refused before it is
/// read) costs its client nothing, so a flood of them would otherwise
/// write one AuditEvent each. Refusals are grouped by client address,
/// requester, status and kind of reason: the first of a group is recorded
/// at once, the rest of the interval are counted in memory, and the count
/// goes into the group's next event, or into an event of its own when the
/// interval ends ([`Throttle::due`]). Nothing is lost, and a client gets at
/// most one event per kind of refusal per interval.
pub struct Throttle {
    interval: Duration,
    groups: Mutex<HashMap<Group, Window>>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Group {
    address: String,
    who: String,
    status: u16,
    reason: String,
}

struct Window {
    opened: Instant,
    opened_ms: i64,
    /// Refusals counted, not recorded.
    pending: u64,
    /// The latest of them, to record when the interval ends.
    last: Option<Pending>,
}

/// Groups tracked apart; beyond that, refusals are grouped under one
/// address, so that many addresses cannot grow the table without bound.
const MAX_GROUPS: usize = 4096;
const MANY_ADDRESSES: &str = "(many addresses)";

impl Throttle {
    pub fn new(interval: Duration) -> Throttle {
        Throttle { interval, groups: Mutex::new(HashMap::new()) }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The refusal to record now (carrying the count of those before it
    /// that were not recorded), or `None`: it was counted.
    pub fn admit(&self, mut p: Pending) -> Option<Pending> {
        let now = Instant::now();
        let mut groups = self.groups.lock();
        let mut group = Group {
            address: p.address.clone().unwrap_or_default(),
            who: p.requester.as_ref().map(|r| r.subject.clone()).unwrap_or_default(),
            status: p.record.status,
            reason: reason_kind(&p.record.description),
        };
        if !groups.contains_key(&group) && groups.len() >= MAX_GROUPS {
            group.address = MANY_ADDRESSES.into();
        }
        match groups.get_mut(&group) {
            Some(w) if now.duration_since(w.opened) < self.interval => {
                w.pending += 1;
                p.record = shortened(p.record);
                w.last = Some(p);
                None
            }
            Some(w) => {
                if w.pending > 0 {
                    p.record.repeats = Some(Repeats { count: w.pending, since: w.opened_ms });
                }
                *w = Window::open(now);
                Some(p)
            }
            None => {
                groups.insert(group, Window::open(now));
                Some(p)
            }
        }
    }

    /// Groups whose interval has ended (all of them with `all`, at
    /// shutdown): each one's last unrecorded refusal, carrying the count of
    /// the others.
    pub fn due(&self, all: bool) -> Vec<Pending> {
        let now = Instant::now();
        let mut out = Vec::new();
        self.groups.lock().retain(|_, w| {
            if !all && now.duration_since(w.opened) < self.interval {
                return true;
            }
            if let Some(mut p) = w.last.take() {
                if w.pending > 1 {
                    p.record.repeats = Some(Repeats { count: w.pending - 1, since: w.opened_ms });
                }
                out.push(p);
            }
            false
        });
        out
    }
}

impl Window {
    fn open(now: Instant) -> Window {
        Window { opened: now, opened_ms: clock::now_ms(), pending: 0, last: None }
    }
}

/// What kind of refusal a description is, without the parts a client
/// chooses (a key id, a path, a value in quotes), so that varying them
/// does not make every refusal a group of its own.
fn reason_kind(description: &str) -> String {
    let text = description.strip_prefix("refused: ").unwrap_or(description);
    let end = text.find(['\'', '"', '(', ':', '<', '/']).unwrap_or(text.len());
    cut(text[..end].trim(), 80).into_owned()
}

/// A record kept in memory until its interval ends: no larger than its event will be.
fn shortened(mut rec: Record) -> Record {
    rec.path = cut(&rec.path, MAX_PATH).into_owned();
    rec.description = cut(&rec.description, MAX_TEXT).into_owned();
    rec.query = rec.query.map(|q| cut(&q, MAX_QUERY).into_owned());
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(path: &str, why: &str) -> Record {
        Record { subtype: "operation".into(), action: "E", method: "GET".into(), path: path.into(), status: 401, description: format!("refused: {why}"), ..Record::default() }
    }

    #[test]
    fn events_are_small_whatever_the_request_held() {
        let mut rec = refusal(&format!("/{}", "A".repeat(7000)), &format!("the token is signed with HS256 (key '{}'), which this server does not accept", "K".repeat(6000)));
        rec.query = Some("name=".to_string() + &"x".repeat(100_000));
        rec.withheld = (0..2000).map(|i| (format!("Goal/g{i}"), "y".repeat(10_000))).collect();
        let ev = event(None, Some("127.0.0.1"), &rec, "id", 0);
        let size = serde_json::to_vec(&ev).unwrap().len();
        assert!(size < 400_000, "{size} bytes");
        assert!(ev["outcomeDesc"].as_str().unwrap().len() < 2 * MAX_TEXT);
        let one = event(None, Some("127.0.0.1"), &refusal(&"/x".repeat(5000), &"z".repeat(50_000)), "id", 0);
        assert!(serde_json::to_vec(&one).unwrap().len() < 4096);
    }

    #[test]
    fn repeated_refusals_make_one_event_per_interval_and_none_is_lost() {
        let from = |address: &str, record: Record| Pending { requester: None, address: Some(address.into()), record };
        let t = Throttle::new(Duration::from_secs(3600));
        let kid = |k: &str| refusal("/Patient", &format!("the token is signed with HS256 (key '{k}'), which this server does not accept"));
        assert!(t.admit(from("10.0.0.1", kid("a"))).is_some(), "the first is recorded");
        for i in 0..99 {
            assert!(t.admit(from("10.0.0.1", kid(&i.to_string()))).is_none(), "a varied key id is the same kind of refusal");
        }
        assert!(t.admit(from("10.0.0.2", kid("a"))).is_some(), "another client is recorded apart");
        assert!(t.admit(from("10.0.0.1", refusal("/Patient", "no bearer token: send Authorization: Bearer <JWT>"))).is_some(), "another reason too");
        assert!(t.due(false).is_empty(), "the interval has not ended");
        let flushed = t.due(true);
        assert_eq!(flushed.len(), 1);
        assert_eq!(flushed[0].record.repeats.unwrap().count, 98, "one event stands for the 99 counted");
        let ev = event(None, flushed[0].address.as_deref(), &flushed[0].record, "id", 0);
        assert!(ev["outcomeDesc"].as_str().unwrap().contains("and 98 more like it"));

        // After the interval, the next refusal carries the count.
        let t = Throttle::new(Duration::ZERO);
        assert!(t.admit(from("10.0.0.1", kid("a"))).is_some());
        let next = t.admit(from("10.0.0.1", kid("b"))).unwrap();
        assert!(next.record.repeats.is_none(), "nothing was counted in between");
    }
}
