//! The audit trail: one AuditEvent, in the shape of the IHE Basic Audit
//! Log Patterns (BALP), for every read, search, write, override and refused
//! request. Each is written to the store (the same SQLite database, as an
//! `AuditEvent` resource with its search index rows, so `patient`, `agent`,
//! `agent-name`, `entity`, `date`, `action`, `outcome` and `subtype`
//! searches work) and made durable before the answer leaves the server.
//! The API can read them (with a scope naming AuditEvent) but never write,
//! change or delete them (`access::authorize` answers 405, and audits that).

use super::auth::concern::Concern;
use super::auth::Requester;
use super::error::FhirResult;
use super::search::index;
use super::store::{self, NewVersion};
use super::{clock, format, Service};
use base64::Engine as _;
use serde_json::{json, Value};
use std::collections::BTreeSet;

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
}

/// The most entities one event lists (a search of 1,000 says so in its description).
const MAX_ENTITIES: usize = 500;

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
                who.insert("reference".into(), json!(u));
            }
            let mut ident = json!({"value": r.subject});
            if let Some(iss) = &r.issuer {
                ident["system"] = json!(iss);
            }
            who.insert("identifier".into(), ident);
            user.insert("who".into(), Value::Object(who));
            if let Some(c) = &r.client_id {
                user.insert("altId".into(), json!(c));
            }
            user.insert("name".into(), json!(r.subject));
            if let Some(p) = &r.purpose {
                user.insert("purposeOfUse".into(), json!([{"coding": [coding("http://terminology.hl7.org/CodeSystem/v3-ActReason", p, p)]}]));
            }
            if !r.roles.is_empty() {
                user.insert("role".into(), Value::Array(r.roles.iter().map(|role| json!({"text": role})).collect()));
            }
        }
        None => {
            user.insert("who".into(), json!({"display": "unauthenticated"}));
            user.insert("name".into(), json!("unauthenticated"));
        }
    }
    user.insert("requestor".into(), json!(true));
    if let Some(a) = address {
        user.insert("network".into(), json!({"address": a, "type": "2"}));
    }
    let server = json!({"type": {"coding": [coding("http://dicom.nema.org/resources/ontology/DCM", "110153", "Source Role ID")]}, "who": {"display": "careplan serve"}, "requestor": false});
    let mut entities = Vec::new();
    for p in &rec.patients {
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
        entities.push(object(r, Some(format!("withheld: {why}"))));
    }
    for r in rec.released.iter().take(MAX_ENTITIES) {
        entities.push(object(r, Some("released by override".into())));
    }
    if let Some(q) = rec.query.as_ref().filter(|q| !q.is_empty()) {
        entities.push(json!({"type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"), "role": coding("http://terminology.hl7.org/CodeSystem/object-role", "24", "Query"),
            "query": base64::engine::general_purpose::STANDARD.encode(q.as_bytes())}));
    }
    let mut description = format!("{} {} → {}: {}", rec.method, rec.path, rec.status, rec.description);
    if rec.entities.len() > MAX_ENTITIES {
        description.push_str(&format!(" ({} resources; the first {MAX_ENTITIES} are listed)", rec.entities.len()));
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
        let reason = requester.and_then(|r| r.reason.clone()).unwrap_or_default();
        entities.push(json!({"type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "4", "Other"), "role": coding("http://terminology.hl7.org/CodeSystem/object-role", "13", "Security Resource"),
            "name": "override", "description": format!("override (purpose of use {purpose}): {reason}"), "detail": [{"type": "override-reason", "valueString": reason}]}));
    }
    if !entities.is_empty() {
        ev["entity"] = Value::Array(entities);
    }
    ev
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
    let parsed = format::parse_resource(&svc.ctx, &bytes, Some(crate::tree::Format::Json))?;
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
    store::put_version(conn, &NewVersion { res_type: AUDIT_TYPE, id: &p.id, version: 1, method: "POST", last_updated: p.now, body: Some(&p.bytes), index: &p.rows, concern: Some(&p.concern) })?;
    Ok(())
}

/// Writes the AuditEvent of `rec`: stored and on disk when this returns.
pub fn record(svc: &Service, requester: Option<&Requester>, address: Option<&str>, rec: &Record) -> FhirResult<()> {
    let p = prepare(svc, requester, address, rec)?;
    svc.store.write(|conn| store_in(conn, &p))
}
