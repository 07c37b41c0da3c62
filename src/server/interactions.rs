//! The FHIR interactions on one store connection: read, vread, create
//! (conditional too), update (conditional too), patch, delete, search and
//! history. Both single requests and transaction entries come through
//! [`apply`], inside whatever store transaction the caller holds.

use super::error::{FhirError, FhirResult};
use super::routing::{Interaction, Request};
use super::auth::concern::Concern;
use super::auth::scopes::Permission;
use super::search::index::IndexRow;
use super::store::{self, HistoryScope, NewVersion, Version};
use super::subset::Subset;
use super::{access, clock, note, outbox, pages, Prepared, Service};
use crate::issue::{Issue, IssueCode};
use rusqlite::Connection;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// What an interaction answers, before it is written in the wire format.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    /// The resource (or Bundle, or OperationOutcome) to send back.
    pub body: Option<Value>,
    /// The version read or written: `ETag`, `Last-Modified`, `Location`.
    pub version: Option<Version>,
    /// Issues worth telling (validation warnings; what happened).
    pub issues: Vec<Issue>,
    /// A write, whose body `Prefer: return=` chooses.
    pub write: bool,
    /// Something was left out for this requester (`access`): `X-Careplan-Filtered: true`.
    pub filtered: bool,
    /// The body is plain JSON, not a FHIR resource (the PRSB view of a plan):
    /// sent as `application/json` whatever format was asked for.
    pub plain_json: bool,
    /// The persons a write concerned (its content's and what it replaced), for its AuditEvent.
    pub patients: BTreeSet<String>,
    /// Its AuditEvent is already written (with the write, in its store transaction).
    pub audited: bool,
    /// The audit records of a batch's entries, for the batch's own AuditEvent.
    pub gathered: Vec<super::audit::Record>,
    /// A new version was stored (a write that found nothing to do stored none).
    pub stored: bool,
}

impl Reply {
    pub fn body(status: u16, body: Value) -> Reply {
        Reply { status, body: Some(body), version: None, issues: Vec::new(), write: false, filtered: false, plain_json: false, patients: BTreeSet::new(), audited: false, gathered: Vec::new(), stored: false }
    }

    /// The same reply without its body (what an audit record needs).
    pub fn clone_without_body(&self) -> Reply {
        Reply { body: None, issues: Vec::new(), version: self.version.clone(), patients: self.patients.clone(), ..Reply::body(self.status, Value::Null) }.with_flags(self)
    }

    fn with_flags(mut self, from: &Reply) -> Reply {
        self.write = from.write;
        self.filtered = from.filtered;
        self.audited = from.audited;
        self
    }

    /// A plain JSON answer that is not a FHIR resource.
    pub fn plain_json(body: Value) -> Reply {
        Reply { plain_json: true, ..Reply::body(200, body) }
    }

    fn read(version: Version) -> FhirResult<Reply> {
        let body = resource_of(&version)?;
        Ok(Reply { version: Some(version), ..Reply::body(200, body) })
    }

    fn written(status: u16, version: Version, body: Option<Value>, issues: Vec<Issue>) -> Reply {
        Reply { status, body, version: Some(version), issues, write: true, filtered: false, plain_json: false, patients: BTreeSet::new(), audited: false, gathered: Vec::new(), stored: true }
    }
}

/// The stored JSON of a version.
pub fn resource_of(version: &Version) -> FhirResult<Value> {
    let bytes = version.body.as_deref().ok_or_else(|| FhirError::gone(format!("{}/{} was deleted", version.res_type, version.id)))?;
    serde_json::from_slice(bytes).map_err(store::internal)
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn apply(svc: &Service, conn: &Connection, interaction: &Interaction, req: &Request, prepared: Option<Prepared>) -> FhirResult<Reply> {
    use Interaction as I;
    let needs_body = || FhirError::bad_request("This interaction needs a resource in the body");
    access::refuse_audit_writes(interaction)?;
    match interaction {
        I::Read(t, id) => {
            svc.check_type(t)?;
            subset(svc, req, Reply::read(live(conn, t, id)?)?)
        }
        I::Vread(t, id, v) => subset(svc, req, vread(svc, conn, t, id, v)?),
        I::Create(t) => create(svc, conn, t, req, prepared.ok_or_else(needs_body)?),
        I::Update(t, id) => update(svc, conn, t, id, req, prepared.ok_or_else(needs_body)?),
        I::ConditionalUpdate(t) => conditional_update(svc, conn, t, req, prepared.ok_or_else(needs_body)?),
        I::Patch(t, id) => patch(svc, conn, t, id, req, prepared.and_then(|mut p| p.patched.take().map(|v| (v, p)))),
        I::Delete(t, id) => delete(svc, conn, t, id, req),
        I::Search(t) => pages::search(svc, conn, t, req),
        I::HistoryInstance(t, id) => {
            svc.check_type(t)?;
            if store::current(conn, t, id)?.is_none() {
                return Err(FhirError::not_found(format!("{t}/{id} does not exist")));
            }
            pages::history(conn, &HistoryScope::Instance(t.clone(), id.clone()), req)
        }
        I::HistoryType(t) => {
            svc.check_type(t)?;
            pages::history(conn, &HistoryScope::Type(t.clone()), req)
        }
        I::HistorySystem => pages::history(conn, &HistoryScope::System, req),
        other => Err(FhirError::not_supported(format!("{other:?} cannot be used here (inside a Bundle entry, use it as its own request)"))),
    }
}

/// The part of a read resource that `_summary` or `_elements` asks for.
fn subset(svc: &Service, req: &Request, mut reply: Reply) -> FhirResult<Reply> {
    let wanted = Subset::of(req.param("_summary"), req.param("_elements"))?;
    if wanted != Subset::Whole {
        reply.body = reply.body.map(|b| svc.summaries.apply(&svc.ctx, &wanted, b));
    }
    Ok(reply)
}

/// A read whose version the client already has (`If-None-Match`) is a 304
/// without a body (`access` decides it, once the reader may see the resource).
pub fn not_modified(req: &Request, mut reply: Reply) -> Reply {
    let same = |tag: &str, v: &Version| tag.trim() == "*" || tag.trim().trim_start_matches("W/").trim_matches('"') == v.version.to_string();
    if let (Some(tags), Some(v)) = (&req.if_none_match, &reply.version) {
        if tags.split(',').any(|t| same(t, v)) {
            reply.status = 304;
            reply.body = None;
        }
    }
    reply
}

/// The current version, which must exist and not be deleted.
pub fn live(conn: &Connection, t: &str, id: &str) -> FhirResult<Version> {
    match store::current(conn, t, id)? {
        None => Err(FhirError::not_found(format!("{t}/{id} does not exist"))),
        Some(v) if v.deleted() => Err(FhirError::gone(format!("{t}/{id} was deleted (version {}); its earlier versions are in its _history", v.version))),
        Some(v) => Ok(v),
    }
}

fn vread(svc: &Service, conn: &Connection, t: &str, id: &str, v: &str) -> FhirResult<Reply> {
    svc.check_type(t)?;
    let number: i64 = v.parse().map_err(|_| FhirError::not_found(format!("'{v}' is not a version of {t}/{id}: versions are numbers")))?;
    match store::version(conn, t, id, number)? {
        None => Err(FhirError::not_found(format!("{t}/{id} has no version {v}"))),
        Some(ver) if ver.deleted() => Err(FhirError::gone(format!("Version {v} of {t}/{id} is its deletion"))),
        Some(ver) => Reply::read(ver),
    }
}

/// `W/"3"`, `"3"` or `3` → 3.
fn if_match_version(header: &str) -> FhirResult<i64> {
    header
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map_err(|_| FhirError::bad_request(format!("If-Match: '{header}' is not an ETag of this server; send the ETag a read returned, e.g. W/\"3\"")))
}

fn check_if_match(req: &Request, current: Option<&Version>, what: &str) -> FhirResult<()> {
    let Some(header) = &req.if_match else { return Ok(()) };
    let wanted = if_match_version(header)?;
    match current {
        Some(c) if c.version == wanted => Ok(()),
        Some(c) => Err(FhirError::conflict(
            412,
            format!("Version conflict on {what}: If-Match asks for version {wanted}, but the current version is {}; read it again and re-apply your change", c.version),
        )),
        None => Err(FhirError::conflict(412, format!("If-Match asks for version {wanted} of {what}, which does not exist"))),
    }
}

/// Sets `id`, `meta.versionId` and `meta.lastUpdated`, with `resourceType`, `id` and `meta` first.
fn stamp(json: Value, id: &str, version: i64, last_updated: i64) -> Value {
    let Value::Object(mut map) = json else { return json };
    let mut meta = match map.shift_remove("meta") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    meta.insert("versionId".into(), Value::String(version.to_string()));
    meta.insert("lastUpdated".into(), Value::String(clock::instant(last_updated)));
    let mut out = Map::new();
    out.insert("resourceType".into(), map.shift_remove("resourceType").unwrap_or(Value::Null));
    map.shift_remove("id");
    out.insert("id".into(), Value::String(id.to_string()));
    out.insert("meta".into(), Value::Object(meta));
    out.extend(map);
    Value::Object(out)
}

/// Stores a new version (a resource, or a deletion when `json` is `None`)
/// and queues it for forwarding, in the caller's transaction.
pub fn commit(svc: &Service, conn: &Connection, req: &Request, (t, id): (&str, &str), method: &'static str, content: Option<(Value, &[IndexRow], &Concern)>, current: Option<&Version>) -> FhirResult<(Version, Option<Value>)> {
    // Every write comes through here, whichever way its id came (URL, entry, body).
    super::routing::check_id(id)?;
    match (&content, t) {
        (Some((json, _, concern)), "Consent") => access::guard_consent(svc, conn, json, concern)?,
        (Some((json, _, _)), "CarePlan") => access::guard_plan_identity(svc, conn, id, json)?,
        (Some((json, _, _)), _) => access::guard_national_identifiers(svc, conn, t, id, json)?,
        _ => {}
    }
    let version = current.map_or(1, |c| c.version + 1);
    let now = req.moment.unwrap_or_else(clock::now_ms);
    let (json, index, concern) = match content {
        Some((json, index, concern)) => (Some(stamp(json, id, version, now)), index, Some(concern)),
        None => (None, &[][..], None),
    };
    // A Patient is its own compartment: one created without an id in its
    // body gets it only now.
    let own_compartment;
    let concern = match (concern, &json) {
        (Some(c), Some(stamped)) if t == "Patient" && !c.compartment.contains(id) => {
            own_compartment = Concern::of(&svc.ctx, &svc.registry, stamped);
            Some(&own_compartment)
        }
        (c, _) => c,
    };
    let body = json.as_ref().map(serde_json::to_vec).transpose().map_err(store::internal)?;
    let stored = store::put_version(conn, &NewVersion { res_type: t, id, version, method, last_updated: now, body: body.as_deref(), index, concern, by_patient: access::patient_scoped(&req.requester) })?;
    if svc.config.forward.is_some() {
        outbox::enqueue(conn, &stored)?;
    }
    Ok((stored, json))
}

fn check_body_type(p: &Prepared, t: &str) -> FhirResult<()> {
    if p.res_type == t {
        Ok(())
    } else {
        Err(FhirError::bad_request(format!("The body is a {} but the request is for {t}; send a {t} or use /{}", p.res_type, p.res_type)))
    }
}

/// The query of an `If-None-Exist` header or `ifNoneExist` (`identifier=…`, or `Type?identifier=…`).
pub fn condition_query(condition: &str) -> &str {
    condition.split_once('?').map_or(condition, |(_, q)| q)
}

fn create(svc: &Service, conn: &Connection, t: &str, req: &Request, p: Prepared) -> FhirResult<Reply> {
    svc.check_type(t)?;
    check_body_type(&p, t)?;
    if let Some(condition) = &req.if_none_exist {
        let found = access::matching_for(svc, conn, req, t, condition_query(condition), 2)?;
        match found.as_slice() {
            [] => {}
            [(_, id)] => {
                let mut reply = Reply::read(live(conn, t, id)?)?;
                reply.write = true;
                reply.issues.push(note(format!("{t}/{id} already matches If-None-Exist '{condition}'; nothing was created")));
                return Ok(reply);
            }
            _ => return Err(FhirError::conflict(412, format!("If-None-Exist '{condition}' matches more than one {t}; make the criteria select one resource"))),
        }
    }
    let id = req.assigned_id.clone().unwrap_or_else(new_id);
    access::guard_write(svc, conn, req, t, Some((&p.json, &p.concern)), store::current(conn, t, &id)?.as_ref())?;
    let patients = p.concern.persons().clone();
    let (version, json) = commit(svc, conn, req, (t, &id), "POST", Some((p.json, &p.index, &p.concern)), None)?;
    Ok(Reply { patients, ..Reply::written(201, version, json, p.issues) })
}

fn update(svc: &Service, conn: &Connection, t: &str, id: &str, req: &Request, p: Prepared) -> FhirResult<Reply> {
    svc.check_type(t)?;
    check_body_type(&p, t)?;
    match p.json.get("id").and_then(Value::as_str) {
        Some(body_id) if body_id == id => {}
        Some(body_id) => return Err(FhirError::bad_request(format!("The body's id '{body_id}' is not the id in the URL '{id}'; they must be the same")).at(format!("{t}.id"))),
        None => return Err(FhirError::bad_request(format!("The body has no id; an update must carry the id of the URL ('{id}')")).at(format!("{t}.id"))),
    }
    let current = store::current(conn, t, id)?;
    put(svc, conn, t, id, req, p, current)
}

fn put(svc: &Service, conn: &Connection, t: &str, id: &str, req: &Request, p: Prepared, current: Option<Version>) -> FhirResult<Reply> {
    if current.is_none() && !svc.config.update_create {
        return Err(FhirError::new(405, IssueCode::NotSupported, format!("{t}/{id} does not exist and this server does not create resources on update; POST it to /{t}")));
    }
    // Access first: a version conflict would tell the current version.
    access::guard_write(svc, conn, req, t, Some((&p.json, &p.concern)), current.as_ref())?;
    check_if_match(req, current.as_ref(), &format!("{t}/{id}"))?;
    let exists = current.as_ref().is_some_and(|c| !c.deleted());
    let same = match current.as_ref().filter(|c| unchanged(c, &p.json)) {
        // Only to someone who may see it: "nothing changed" would confirm a guess.
        Some(c) if access::may_see(svc, conn, req, c)? => Some(c),
        _ => None,
    };
    if let Some(same) = same {
        // An update that changes nothing makes no new version (as HAPI FHIR
        // does): the version, its ETag and meta.lastUpdated keep meaning "last changed".
        let mut reply = Reply::read(same.clone())?;
        reply.write = true;
        reply.issues.push(note(format!("{t}/{id} already has this content (version {}); no new version was made", same.version)));
        return Ok(reply);
    }
    let patients = concerned(svc, &p.concern, current.as_ref())?;
    let (version, json) = commit(svc, conn, req, (t, id), "PUT", Some((p.json, &p.index, &p.concern)), current.as_ref())?;
    Ok(Reply { patients, ..Reply::written(if exists { 200 } else { 201 }, version, json, p.issues) })
}

/// Whether `new` says what the stored version says, leaving aside what the
/// server itself sets (`id`, `meta.versionId`, `meta.lastUpdated`): the
/// caller has already chosen which resource `new` replaces.
pub fn unchanged(stored: &Version, new: &Value) -> bool {
    fn without_stamp(v: &Value) -> Value {
        let mut v = v.clone();
        v.as_object_mut().map(|m| m.shift_remove("id"));
        if let Some(meta) = v.get_mut("meta").and_then(Value::as_object_mut) {
            meta.shift_remove("versionId");
            meta.shift_remove("lastUpdated");
            if meta.is_empty() {
                v.as_object_mut().map(|m| m.shift_remove("meta"));
            }
        }
        v
    }
    let Some(bytes) = stored.body.as_deref() else { return false };
    let Ok(old) = serde_json::from_slice::<Value>(bytes) else { return false };
    without_stamp(&old) == without_stamp(new)
}

fn conditional_update(svc: &Service, conn: &Connection, t: &str, req: &Request, p: Prepared) -> FhirResult<Reply> {
    svc.check_type(t)?;
    check_body_type(&p, t)?;
    let query = req.query_string();
    let found = access::matching_for(svc, conn, req, t, &query, 2)?;
    let body_id = p.json.get("id").and_then(Value::as_str).map(str::to_string);
    let id = match found.as_slice() {
        [] => req.assigned_id.clone().or(body_id).unwrap_or_else(new_id),
        [(_, id)] => {
            if body_id.as_ref().is_some_and(|b| b != id) {
                return Err(FhirError::bad_request(format!("The body's id is not the id of the {t} the criteria select ({id})")).at(format!("{t}.id")));
            }
            id.clone()
        }
        _ => return Err(FhirError::conflict(412, format!("The criteria '{query}' match more than one {t}; make them select one resource"))),
    };
    let current = store::current(conn, t, &id)?;
    put(svc, conn, t, &id, req, p, current)
}

/// Applies a PATCH to the current version and prepares the result:
/// access on the stored version first (applying and validating the patch
/// would quote what the requester may not read), then the patch, bounded.
/// A single request does this before it takes the store's writer, on a
/// reader (`Service::run`); a transaction entry inside its transaction.
pub fn prepare_patch(svc: &Service, conn: &Connection, t: &str, id: &str, req: &Request) -> FhirResult<(Version, Prepared)> {
    svc.check_type(t)?;
    let content_type = req.content_type.as_deref().unwrap_or_default();
    if !content_type.starts_with("application/json-patch+json") {
        return Err(FhirError::new(415, IssueCode::NotSupported, format!("PATCH takes a JSON Patch (Content-Type: application/json-patch+json), not '{content_type}'")));
    }
    let current = live(conn, t, id)?;
    access::guard_change(svc, conn, req, t, &current, Permission::Update)?;
    access::guard_reading_change(svc, conn, req, &current)?;
    check_if_match(req, Some(&current), &format!("{t}/{id}"))?;
    let operations: json_patch::Patch = serde_json::from_slice(&req.body).map_err(|e| FhirError::bad_request(format!("The body is not a JSON Patch document (an array of operations): {e}")))?;
    let mut doc = current.json()?.clone();
    apply_bounded(&mut doc, &operations, svc.config.max_body_bytes).map_err(|e| match e {
        Bounded::TooLarge => FhirError::new(
            413,
            IssueCode::TooCostly,
            format!("The patch would make {t}/{id} larger than this server takes in one resource ({} bytes, --max-body-bytes)", svc.config.max_body_bytes),
        ),
        Bounded::TooMuchWork => FhirError::new(
            422,
            IssueCode::TooCostly,
            format!("The patch has more operations than this server applies to a resource of the size of {t}/{id}; send fewer operations, or the whole resource with PUT"),
        ),
        Bounded::Failed(e) => FhirError::new(422, IssueCode::Processing, format!("The patch cannot be applied to {t}/{id} version {}: {e}", current.version)),
    })?;
    if doc.get("resourceType").and_then(Value::as_str) != Some(t) || doc.get("id").and_then(Value::as_str) != Some(id) {
        return Err(FhirError::new(422, IssueCode::Processing, "A patch may not change resourceType or id"));
    }
    let p = svc.prepare_json(&doc)?;
    Ok((current, p))
}

/// See [`apply_bounded`].
const PATCH_WORK_FACTOR: usize = 16;

enum Bounded {
    TooLarge,
    TooMuchWork,
    Failed(json_patch::PatchError),
}

/// JSON Patch, one operation at a time, refused as soon as what it adds
/// (an `add` or `replace` value, what a `copy` duplicates) could take the
/// document past `max_bytes`: a `copy` of an array into itself doubles it,
/// so a few dozen operations would otherwise ask for gigabytes.
fn apply_bounded(doc: &mut Value, ops: &json_patch::Patch, max_bytes: usize) -> Result<(), Bounded> {
    use json_patch::PatchOperation as Op;
    let mut size = json_size(doc, max_bytes);
    // Each operation may move what lies after it in an array (a `remove`
    // from the front of a long one): a patch's operations together may
    // touch about PATCH_WORK_FACTOR times the most a resource may be, not
    // tens of thousands of times the resource (the twenty-third pass's O10).
    let work_allowed = max_bytes.saturating_mul(PATCH_WORK_FACTOR);
    let mut work = 0usize;
    for op in &ops.0 {
        work = work.saturating_add(size.max(1));
        if work > work_allowed {
            return Err(Bounded::TooMuchWork);
        }
        let added = match op {
            Op::Add(a) => json_size(&a.value, max_bytes),
            Op::Replace(r) => json_size(&r.value, max_bytes),
            Op::Copy(c) => doc.pointer(c.from.as_str()).map_or(0, |v| json_size(v, max_bytes)),
            _ => 0,
        };
        size = size.saturating_add(added);
        if size > max_bytes {
            return Err(Bounded::TooLarge);
        }
        json_patch::patch(doc, std::slice::from_ref(op)).map_err(Bounded::Failed)?;
    }
    Ok(())
}

/// About how many bytes `value` takes as JSON, counted up to `limit` (past it, the walk stops).
fn json_size(value: &Value, limit: usize) -> usize {
    fn walk(v: &Value, total: &mut usize, limit: usize) {
        if *total > limit {
            return;
        }
        *total += match v {
            Value::Null | Value::Bool(_) => 5,
            Value::Number(_) => 20,
            Value::String(s) => s.len() + 2,
            Value::Array(items) => {
                for i in items {
                    walk(i, total, limit);
                }
                2 + items.len()
            }
            Value::Object(map) => {
                for (k, i) in map {
                    *total += k.len() + 4;
                    walk(i, total, limit);
                }
                2
            }
        };
    }
    let mut total = 0;
    walk(value, &mut total, limit);
    total
}

/// Stores a prepared patch: it must still apply to the current version.
fn patch(svc: &Service, conn: &Connection, t: &str, id: &str, req: &Request, prepared: Option<(Version, Prepared)>) -> FhirResult<Reply> {
    let (base, p) = match prepared {
        Some(done) => done,
        None => prepare_patch(svc, conn, t, id, req)?,
    };
    let now = live(conn, t, id)?;
    if now.version != base.version {
        return Err(FhirError::conflict(409, format!("{t}/{id} changed (to version {}) while the patch was applied to version {}; send the patch again", now.version, base.version)));
    }
    // Versions never change once stored: the one the patch was applied to,
    // already read and judged, is the current one.
    let current = base;
    access::guard_write(svc, conn, req, t, Some((&p.json, &p.concern)), Some(&current))?;
    let patients = concerned(svc, &p.concern, Some(&current))?;
    let (version, json) = commit(svc, conn, req, (t, id), "PATCH", Some((p.json, &p.index, &p.concern)), Some(&current))?;
    Ok(Reply { patients, ..Reply::written(200, version, json, p.issues) })
}

/// The persons a write concerns: those of the new content and of the version it replaces.
fn concerned(svc: &Service, new: &Concern, current: Option<&Version>) -> FhirResult<BTreeSet<String>> {
    let mut persons = new.persons().clone();
    if let Some(c) = current.filter(|c| !c.deleted()) {
        persons.extend(svc.concern_of(c)?.persons().iter().cloned());
    }
    Ok(persons)
}

fn delete(svc: &Service, conn: &Connection, t: &str, id: &str, req: &Request) -> FhirResult<Reply> {
    svc.check_type(t)?;
    let current = store::current(conn, t, id)?;
    let outcome = |message: String| serde_json::json!({"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "informational", "details": {"text": message}}]});
    // What a patient-scoped token may not reach is answered as if it did not exist.
    let current = match current {
        Some(c) if !access::reaches(svc, conn, req, &c)? => None,
        other => other,
    };
    match current {
        Some(c) if !c.deleted() => {
            access::guard_write(svc, conn, req, t, None, Some(&c))?;
            check_if_match(req, Some(&c), &format!("{t}/{id}"))?;
            let patients = concerned(svc, &Concern::default(), Some(&c))?;
            let (version, _) = commit(svc, conn, req, (t, id), "DELETE", None, Some(&c))?;
            let message = format!("Deleted {t}/{id} (version {}); its earlier versions stay in its _history", version.version);
            let mut reply = Reply::written(200, version, Some(outcome(message.clone())), vec![note(message)]);
            reply.write = false;
            reply.patients = patients;
            Ok(reply)
        }
        _ => Ok(Reply::body(200, outcome(format!("{t}/{id} does not exist or is already deleted; nothing changed")))),
    }
}
