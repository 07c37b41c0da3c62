//! The access layer every request passes: nothing reaches the store or
//! leaves it unfiltered.
//!
//! - [`Gate::authorize`], before an interaction runs: SMART scopes for its
//!   resource type and permission, the audit trail's immutability (405),
//!   override requests (403 unless a data controller states a reason),
//!   and, for instance operations, the instance itself.
//! - [`guard_write`], inside the store transaction, on every write
//!   (single requests and transaction entries alike, from `interactions`):
//!   scopes, the patient compartment of both the new content and the
//!   version it replaces, and the person's consent on what it replaces.
//! - [`Gate::filter`], on every answer: each resource it carries (a read,
//!   search matches and includes, history versions, transaction and batch
//!   responses) is judged by [`Gate::judge`]: scope on its type, the
//!   token's patient compartment, the person's consent and confidentiality
//!   labels (`consent`), unless an override releases it. What is withheld
//!   is left out and the answer is marked (`Reply::filtered`, the
//!   `X-Careplan-Filtered: true` header, a REDACTED security label on the
//!   Bundle and an OperationOutcome entry in a searchset).
//! - [`visible`], for operations that build their own answer from stored
//!   resources (the PRSB view).

use super::auth::compartment;
use super::auth::scopes::{Grant, Permission};
use super::auth::Requester;
use super::consent::{self, Verdict};
use super::error::{FhirError, FhirResult};
use super::interactions::{resource_of, Reply};
use super::routing::{Interaction, Request};
use super::search::query::matching;
use super::store::{self, Version};
use super::{audit, clock, Service};
use crate::issue::IssueCode;
use rusqlite::Connection;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

/// The header that marks an answer with something left out.
pub const FILTERED_HEADER: &str = "X-Careplan-Filtered";
/// The label on a Bundle with entries left out.
pub const REDACTED: (&str, &str) = ("http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "REDACTED");
/// The most Consents of one person that are read.
const MAX_CONSENTS: usize = 1000;

/// What the layer saw in one request, for its AuditEvent.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub shown: Vec<String>,
    pub withheld: Vec<(String, String)>,
    pub released: Vec<String>,
    pub patients: BTreeSet<String>,
}

/// One resource's fate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Judgement {
    Shown,
    /// Released by an override from a consent or label that withholds it.
    Released(String),
    /// Outside the requester's scopes or patient compartment: never released.
    Refused(String),
    /// Withheld by the person's consent or a confidentiality label.
    Withheld(String),
}

fn key_of(resource: &Value) -> String {
    format!("{}/{}", resource["resourceType"].as_str().unwrap_or("?"), resource["id"].as_str().unwrap_or("?"))
}

/// 403 for scopes and compartments.
pub fn forbidden(message: impl Into<String>) -> FhirError {
    FhirError::new(403, IssueCode::Forbidden, message)
}

/// 403 for consent: the issue code `security` marks it (the HTTP layer adds the filtered header).
pub fn withheld(message: impl Into<String>) -> FhirError {
    FhirError::new(403, IssueCode::Security, message)
}

/// Whether an error is a consent refusal (answered with the filtered header).
pub fn is_withheld(e: &FhirError) -> bool {
    e.status == 403 && e.issues.iter().any(|i| i.code == IssueCode::Security)
}

/// The permission an interaction needs, on which type.
pub fn needs(interaction: &Interaction) -> Option<(&str, Permission)> {
    use Interaction as I;
    Some(match interaction {
        I::Read(t, _) | I::Vread(t, _, _) | I::HistoryInstance(t, _) | I::ValidateInstance(t, _) => (t, Permission::Read),
        I::Search(t) | I::HistoryType(t) => (t, Permission::Search),
        I::HistorySystem => ("Resource", Permission::Search),
        I::Create(t) => (t, Permission::Create),
        I::Update(t, _) | I::ConditionalUpdate(t) | I::Patch(t, _) => (t, Permission::Update),
        I::Delete(t, _) => (t, Permission::Delete),
        I::PrsbView(_) => ("CarePlan", Permission::Read),
        I::FromPrsb => ("CarePlan", Permission::Create),
        I::Capabilities | I::Batch | I::ValidateSystem | I::ValidateType(_) => return None,
    })
}

/// Judges resources for one requester, reading each person's Consents once.
pub struct Gate<'a> {
    svc: &'a Service,
    pub requester: &'a Requester,
    consents: RefCell<HashMap<String, Vec<Value>>>,
    pub report: RefCell<Report>,
    now: i64,
}

impl<'a> Gate<'a> {
    pub fn new(svc: &'a Service, requester: &'a Requester) -> Gate<'a> {
        Gate { svc, requester, consents: RefCell::new(HashMap::new()), report: RefCell::new(Report::default()), now: clock::now_ms() }
    }

    fn consents_of(&self, conn: Option<&Connection>, patient: &str) -> FhirResult<Vec<Value>> {
        if let Some(c) = self.consents.borrow().get(patient) {
            return Ok(c.clone());
        }
        let load = |conn: &Connection| -> FhirResult<Vec<Value>> {
            let keys = matching(conn, &self.svc.registry, "Consent", &format!("patient=Patient/{patient}&status=active"), MAX_CONSENTS)?;
            store::current_many(conn, &keys)?.iter().map(resource_of).collect()
        };
        let list = match conn {
            Some(c) => load(c)?,
            None => self.svc.store.read(load)?,
        };
        self.consents.borrow_mut().insert(patient.to_string(), list.clone());
        Ok(list)
    }

    /// May the requester see this resource? Records the answer in the report.
    pub fn judge(&self, conn: Option<&Connection>, resource: &Value) -> FhirResult<Judgement> {
        let j = self.judge_inner(conn, resource)?;
        let key = key_of(resource);
        let mut report = self.report.borrow_mut();
        match &j {
            Judgement::Shown => report.shown.push(key),
            Judgement::Released(_) => {
                report.shown.push(key.clone());
                report.released.push(key);
            }
            Judgement::Refused(why) | Judgement::Withheld(why) => report.withheld.push((key, why.clone())),
        }
        Ok(j)
    }

    /// The whole version of a resource that `_summary` or `_elements` cut
    /// down: it is judged whole (a subset may have lost its subject).
    fn whole(&self, conn: Option<&Connection>, part: &Value) -> FhirResult<Option<Value>> {
        let (Some(t), Some(id), Some(v)) = (part["resourceType"].as_str(), part["id"].as_str(), part["meta"]["versionId"].as_str().and_then(|v| v.parse::<i64>().ok())) else { return Ok(None) };
        let read = |c: &Connection| store::version(c, t, id, v);
        let found = match conn {
            Some(c) => read(c)?,
            None => self.svc.store.read(read)?,
        };
        match found {
            Some(ver) if !ver.deleted() => Ok(Some(resource_of(&ver)?)),
            _ => Ok(None),
        }
    }

    fn judge_inner(&self, conn: Option<&Connection>, resource: &Value) -> FhirResult<Judgement> {
        let subsetted = ["tag", "security"].iter().any(|k| resource["meta"][k].as_array().is_some_and(|l| l.iter().any(|c| c["code"] == "SUBSETTED")));
        let whole;
        let resource = if subsetted {
            match self.whole(conn, resource)? {
                Some(w) => {
                    whole = w;
                    &whole
                }
                None => return Ok(Judgement::Refused("the whole resource behind this subset cannot be checked".into())),
            }
        } else {
            resource
        };
        let t = resource["resourceType"].as_str().unwrap_or_default();
        let r = self.requester;
        let grant = r.scopes.grant(t, Permission::Read).max(r.scopes.grant(t, Permission::Search));
        if grant == Grant::None {
            return Ok(Judgement::Refused(format!("no scope of this token reads {t}")));
        }
        let patients = compartment::patients_of(&self.svc.ctx, &self.svc.registry, resource);
        if grant == Grant::Compartment && compartment::is_compartment_type(t) {
            let mine = r.patient.as_deref().is_some_and(|p| patients.contains(p));
            if !mine {
                return Ok(Judgement::Refused(format!("{} is not in the compartment of the token's patient", key_of(resource))));
            }
        }
        self.report.borrow_mut().patients.extend(patients.iter().cloned());
        if r.is_open() {
            return Ok(Judgement::Shown);
        }
        for p in &patients {
            let consents = self.consents_of(conn, p)?;
            if let Verdict::Withheld(why) = consent::decide(r, p, &consents, resource, self.now) {
                return Ok(if r.overrides() { Judgement::Released(why) } else { Judgement::Withheld(why) });
            }
        }
        Ok(Judgement::Shown)
    }

    /// Checks made before an interaction runs.
    pub fn authorize(&self, interaction: &Interaction, req: &Request) -> FhirResult<()> {
        let r = self.requester;
        let res_type = interaction_type(interaction);
        if res_type == Some(audit::AUDIT_TYPE) && (interaction.writes() || matches!(interaction, Interaction::FromPrsb)) {
            return Err(FhirError::new(405, IssueCode::NotSupported, "The audit trail cannot be written, changed or deleted through the API"));
        }
        if r.is_open() {
            return Ok(());
        }
        if r.asks_override() && !r.overrides() {
            return Err(forbidden(if r.has_role(super::auth::DATA_CONTROLLER) {
                "An override (purpose of use BTG) needs a reason: send it in X-Careplan-Override-Reason".to_string()
            } else {
                format!("An override (purpose of use BTG) is only for requesters with the role '{}'", super::auth::DATA_CONTROLLER)
            }));
        }
        // $from-prsb only maps unless asked to store.
        if matches!(interaction, Interaction::FromPrsb) && req.param("store") != Some("true") {
            return Ok(());
        }
        let Some((t, p)) = needs(interaction) else { return Ok(()) };
        let grant = r.scopes.grant(t, p);
        if grant == Grant::None {
            return Err(forbidden(format!("This token has no scope that allows {} on {t} (e.g. user/{t}.{}); scopes: {}", permission_name(p), p.letter(), scope_list(r))));
        }
        if grant == Grant::Compartment && req.param("_summary") == Some("count") {
            return Err(forbidden("Counts are not given to patient-scoped tokens (they would count other people's records); search without _summary=count"));
        }
        // Instance operations that read the stored resource: judge it first.
        let instance = match interaction {
            Interaction::ValidateInstance(t, id) => Some((t.as_str(), id.as_str())),
            Interaction::PrsbView(id) => Some(("CarePlan", id.as_str())),
            _ => None,
        };
        if let Some((t, id)) = instance {
            if let Some(v) = self.svc.store.read(|c| store::current(c, t, id))?.filter(|v| !v.deleted()) {
                self.refuse_unless_shown(None, &resource_of(&v)?)?;
            }
        }
        Ok(())
    }

    fn refuse_unless_shown(&self, conn: Option<&Connection>, resource: &Value) -> FhirResult<()> {
        match self.judge(conn, resource)? {
            Judgement::Shown | Judgement::Released(_) => Ok(()),
            Judgement::Refused(why) => Err(forbidden(format!("{}: {why}", key_of(resource)))),
            Judgement::Withheld(why) => Err(withheld(format!(
                "{} is withheld: {why}. A requester with the role '{}' may release it for one request with X-Careplan-Purpose-Of-Use: BTG and X-Careplan-Override-Reason",
                key_of(resource),
                super::auth::DATA_CONTROLLER
            ))),
        }
    }

    /// Filters an answer: what the requester may not see is left out.
    pub fn filter(&self, interaction: &Interaction, mut reply: Reply) -> FhirResult<Reply> {
        let Some(body) = reply.body.take() else { return Ok(reply) };
        let kind = body["resourceType"].as_str().unwrap_or_default().to_string();
        use Interaction as I;
        match interaction {
            I::Search(_) | I::HistoryInstance(..) | I::HistoryType(_) | I::HistorySystem if kind == "Bundle" => {
                reply.body = Some(self.filter_bundle(body, &mut reply.filtered, true)?);
            }
            I::Batch if kind == "Bundle" => {
                reply.body = Some(self.filter_bundle(body, &mut reply.filtered, false)?);
            }
            I::Read(..) | I::Vread(..) => {
                self.refuse_unless_shown(None, &body)?;
                reply.body = Some(body);
            }
            I::Create(_) | I::Update(..) | I::ConditionalUpdate(_) | I::Patch(..) if kind != "OperationOutcome" => match self.judge(None, &body)? {
                Judgement::Shown | Judgement::Released(_) => reply.body = Some(body),
                Judgement::Refused(why) | Judgement::Withheld(why) => {
                    reply.filtered = true;
                    reply.body = Some(super::error::operation_outcome(&[super::note(format!("The write was done, but the resource is not shown to this requester: {why}"))]));
                }
            },
            _ => reply.body = Some(body),
        }
        Ok(reply)
    }

    /// Searchsets and histories lose withheld entries; batch and transaction
    /// responses keep every entry (their order is the request's) but lose
    /// the withheld resources.
    fn filter_bundle(&self, mut bundle: Value, filtered: &mut bool, drop_entries: bool) -> FhirResult<Value> {
        let limited = !self.requester.is_open() && self.requester.patient.is_some();
        let mut removed = 0usize;
        if let Some(entries) = bundle.get_mut("entry").and_then(Value::as_array_mut) {
            let mut kept = Vec::with_capacity(entries.len());
            for mut entry in entries.drain(..) {
                // A search inside a batch or transaction answers a searchset: filtered as one.
                let nested = !drop_entries && entry["resource"]["resourceType"] == "Bundle" && matches!(entry["resource"]["type"].as_str(), Some("searchset" | "history"));
                if nested {
                    let mut inner_filtered = false;
                    let inner = self.filter_bundle(entry["resource"].take(), &mut inner_filtered, true)?;
                    entry["resource"] = inner;
                    if inner_filtered {
                        removed += 1;
                    }
                    kept.push(entry);
                    continue;
                }
                let keep = match entry.get("resource") {
                    Some(r) if r["resourceType"] == "OperationOutcome" => true,
                    Some(r) => matches!(self.judge(None, r)?, Judgement::Shown | Judgement::Released(_)),
                    // A deletion in a history: its compartment is unknown, so a patient-scoped token does not get it.
                    None => !(drop_entries && limited),
                };
                if keep {
                    kept.push(entry);
                } else if drop_entries {
                    removed += 1;
                } else {
                    removed += 1;
                    if let Some(o) = entry.as_object_mut() {
                        o.remove("resource");
                        o.remove("fullUrl");
                    }
                    kept.push(entry);
                }
            }
            *entries = kept;
        }
        if removed > 0 {
            *filtered = true;
            let meta = bundle.as_object_mut().map(|o| o.entry("meta").or_insert_with(|| json!({})));
            if let Some(meta) = meta {
                let labels = meta.as_object_mut().map(|m| m.entry("security").or_insert_with(|| json!([])));
                if let Some(Value::Array(l)) = labels {
                    l.push(json!({"system": REDACTED.0, "code": REDACTED.1, "display": "redacted"}));
                }
            }
            if drop_entries && bundle["type"] == "searchset" {
                let note = json!({"resource": {"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "suppressed",
                    "details": {"text": format!("{removed} resource(s) of this page are not shown to this requester (scopes, patient compartment or the person's consent)")}}]}, "search": {"mode": "outcome"}});
                if let Some(entries) = bundle.get_mut("entry").and_then(Value::as_array_mut) {
                    entries.push(note);
                } else {
                    bundle["entry"] = json!([note]);
                }
            }
        }
        // A total would count what is withheld (for a patient-scoped token, other people's records).
        if drop_entries && (removed > 0 || limited) {
            if let Some(o) = bundle.as_object_mut() {
                o.remove("total");
            }
        }
        Ok(bundle)
    }
}

fn permission_name(p: Permission) -> &'static str {
    match p {
        Permission::Create => "create",
        Permission::Read => "read",
        Permission::Update => "update",
        Permission::Delete => "delete",
        Permission::Search => "search",
    }
}

fn scope_list(r: &Requester) -> String {
    use super::auth::scopes::ScopeContext as C;
    if r.scopes.list.is_empty() {
        return "none".into();
    }
    let one = |s: &super::auth::scopes::Scope| {
        let context = match s.context {
            C::Patient => "patient",
            C::User => "user",
            C::System => "system",
        };
        format!("{context}/{}.{}", s.res_type.as_deref().unwrap_or("*"), s.perms)
    };
    r.scopes.list.iter().map(one).collect::<Vec<_>>().join(" ")
}

/// The resource type an interaction is about.
pub fn interaction_type(interaction: &Interaction) -> Option<&str> {
    use Interaction as I;
    match interaction {
        I::Search(t) | I::Create(t) | I::ConditionalUpdate(t) | I::HistoryType(t) | I::ValidateType(t) => Some(t),
        I::Read(t, _) | I::Update(t, _) | I::Patch(t, _) | I::Delete(t, _) | I::HistoryInstance(t, _) | I::Vread(t, _, _) | I::ValidateInstance(t, _) => Some(t),
        I::PrsbView(_) => Some("CarePlan"),
        _ => None,
    }
}

/// The audit trail is written by the server only.
pub fn refuse_audit_writes(interaction: &Interaction) -> FhirResult<()> {
    if interaction.writes() && interaction_type(interaction) == Some(audit::AUDIT_TYPE) {
        return Err(FhirError::new(405, IssueCode::NotSupported, "The audit trail cannot be written, changed or deleted through the API"));
    }
    Ok(())
}

/// Checks one write inside its store transaction: `new` is the content to
/// store (`None` for a delete), `current` the version it replaces.
pub fn guard_write(svc: &Service, conn: &Connection, req: &Request, res_type: &str, new: Option<&Value>, current: Option<&Version>) -> FhirResult<()> {
    if res_type == audit::AUDIT_TYPE {
        return Err(FhirError::new(405, IssueCode::NotSupported, "The audit trail cannot be written, changed or deleted through the API"));
    }
    let r = &*req.requester;
    if r.is_open() {
        return Ok(());
    }
    let live = current.filter(|c| !c.deleted());
    let p = match (new, live) {
        (None, _) => Permission::Delete,
        (Some(_), Some(_)) => Permission::Update,
        (Some(_), None) => Permission::Create,
    };
    let grant = r.scopes.grant(res_type, p);
    if grant == Grant::None {
        return Err(forbidden(format!("This token has no scope that allows {} on {res_type}; scopes: {}", permission_name(p), scope_list(r))));
    }
    let gate = Gate::new(svc, r);
    if grant == Grant::Compartment {
        let me = r.patient.as_deref().unwrap_or_default();
        if let Some(json) = new {
            if !compartment::patients_of(&svc.ctx, &svc.registry, json).contains(me) {
                return Err(forbidden(format!("A patient-scoped token writes only into its patient's compartment (Patient/{me}); this {res_type} is not in it")));
            }
        }
        if let Some(c) = live {
            if !compartment::patients_of(&svc.ctx, &svc.registry, &resource_of(c)?).contains(me) {
                return Err(forbidden(format!("{res_type}/{} is not in the compartment of Patient/{me}", c.id)));
            }
        }
    }
    if let Some(c) = live {
        // Changing what the requester may not see is refused as reading it would be.
        gate.refuse_unless_shown(Some(conn), &resource_of(c)?)?;
    }
    Ok(())
}

/// For operations that answer from stored resources (the PRSB view,
/// `CarePlan/{id}/$prsb`): the resources `req`'s requester may see, in
/// their order, and whether any were left out (then mark the answer:
/// `Reply::filtered = true`).
pub fn visible(svc: &Service, req: &Request, resources: Vec<Value>) -> FhirResult<(Vec<Value>, bool)> {
    let gate = Gate::new(svc, &req.requester);
    let mut kept = Vec::with_capacity(resources.len());
    let mut filtered = false;
    for r in resources {
        match gate.judge(None, &r)? {
            Judgement::Shown | Judgement::Released(_) => kept.push(r),
            _ => filtered = true,
        }
    }
    Ok((kept, filtered))
}

/// [`visible`] for stored versions (the PRSB view gathers versions): the
/// first is the plan itself, and a plan the requester may not see is a 403.
/// References to what is left out are taken out of what is kept (a goal
/// withheld from the requester disappears from the plan's `goal` list), so
/// the view neither fails on them nor reveals their ids.
pub fn visible_versions(svc: &Service, req: &Request, versions: Vec<Version>) -> FhirResult<(Vec<Version>, bool)> {
    let gate = Gate::new(svc, &req.requester);
    let mut kept = Vec::with_capacity(versions.len());
    let mut gone: BTreeSet<(String, String)> = BTreeSet::new();
    for (i, v) in versions.into_iter().enumerate() {
        let json = resource_of(&v)?;
        if i == 0 {
            gate.refuse_unless_shown(None, &json)?;
            kept.push((v, json));
            continue;
        }
        match gate.judge(None, &json)? {
            Judgement::Shown | Judgement::Released(_) => kept.push((v, json)),
            _ => {
                gone.insert((v.res_type.clone(), v.id.clone()));
            }
        }
    }
    if gone.is_empty() {
        return Ok((kept.into_iter().map(|(v, _)| v).collect(), false));
    }
    let mut out = Vec::with_capacity(kept.len());
    for (mut v, mut json) in kept {
        if strip_references(&mut json, &gone) {
            v.body = Some(serde_json::to_vec(&json).map_err(store::internal)?);
        }
        out.push(v);
    }
    Ok((out, true))
}

/// Whether `value` is a Reference to one of `gone`.
fn refers_to(value: &Value, gone: &BTreeSet<(String, String)>) -> bool {
    value.get("reference").and_then(Value::as_str).and_then(super::search::index::parse_reference).is_some_and(|k| gone.contains(&k))
}

/// Takes References to `gone` out of `value`; whether anything changed.
fn strip_references(value: &mut Value, gone: &BTreeSet<(String, String)>) -> bool {
    let mut changed = false;
    match value {
        Value::Object(map) => {
            let before = map.len();
            map.retain(|_, v| !refers_to(v, gone));
            changed |= map.len() != before;
            for v in map.values_mut() {
                changed |= strip_references(v, gone);
            }
            // An element left holding only a reference to what is gone (CarePlan.activity.reference) goes too.
            let before = map.len();
            map.retain(|_, v| !matches!(v, Value::Object(o) if o.is_empty()) && !matches!(v, Value::Array(a) if a.is_empty()));
            changed |= map.len() != before;
        }
        Value::Array(items) => {
            let before = items.len();
            items.retain(|v| !refers_to(v, gone));
            changed |= items.len() != before;
            for v in items.iter_mut() {
                changed |= strip_references(v, gone);
            }
            let before = items.len();
            items.retain(|v| !matches!(v, Value::Object(o) if o.is_empty()));
            changed |= items.len() != before;
        }
        _ => {}
    }
    changed
}

/// The audit record of one request.
pub fn record_of(interaction: &Interaction, req: &Request, result: &FhirResult<Reply>, report: &Report) -> audit::Record {
    use Interaction as I;
    let (subtype, action) = match interaction {
        I::Read(..) => ("read", "R"),
        I::Vread(..) => ("vread", "R"),
        I::HistoryInstance(..) => ("history-instance", "R"),
        I::Search(_) => ("search-type", "E"),
        I::HistoryType(_) => ("history-type", "E"),
        I::HistorySystem => ("history-system", "E"),
        I::Create(_) => ("create", "C"),
        I::Update(..) | I::ConditionalUpdate(_) => ("update", "U"),
        I::Patch(..) => ("patch", "U"),
        I::Delete(..) => ("delete", "D"),
        I::Batch if memchr::memmem::find(&req.body, b"\"transaction\"").is_some() => ("transaction", "E"),
        I::Batch => ("batch", "E"),
        _ => ("operation", "E"),
    };
    let mut rec = audit::Record {
        subtype: subtype.into(),
        action,
        method: req.method.clone(),
        path: format!("/{}", req.path),
        query: (!req.query.is_empty()).then(|| req.query_string()),
        withheld: report.withheld.clone(),
        released: report.released.clone(),
        patients: report.patients.clone(),
        override_used: req.requester.overrides() && !req.requester.is_open(),
        ..audit::Record::default()
    };
    rec.patients.extend(req.requester.patient.iter().filter(|_| !req.requester.is_open()).cloned());
    match result {
        Ok(reply) => {
            rec.status = reply.status;
            rec.entities = match &reply.version {
                Some(v) if reply.write || matches!(interaction, I::Delete(..)) => vec![format!("{}/{}/_history/{}", v.res_type, v.id, v.version)],
                _ => report.shown.clone(),
            };
            if let (Some(v), true) = (&reply.version, rec.entities.is_empty()) {
                rec.entities.push(format!("{}/{}", v.res_type, v.id));
            }
            if rec.entities.is_empty() {
                rec.entities.extend(target_of(interaction));
            }
            rec.description = if rec.withheld.is_empty() { "done".into() } else { format!("done; {} resource(s) withheld", rec.withheld.len()) };
            if rec.override_used {
                rec.description = format!("override: {} resource(s) released; {}", rec.released.len(), rec.description);
            }
        }
        Err(e) => {
            rec.status = e.status;
            rec.entities = target_of(interaction).into_iter().collect();
            rec.description = format!("refused: {}", e.issues.first().map(|i| i.message.as_str()).unwrap_or(""));
        }
    }
    rec
}

fn target_of(interaction: &Interaction) -> Option<String> {
    use Interaction as I;
    match interaction {
        I::Read(t, id) | I::Update(t, id) | I::Patch(t, id) | I::Delete(t, id) | I::HistoryInstance(t, id) | I::Vread(t, id, _) | I::ValidateInstance(t, id) => Some(format!("{t}/{id}")),
        I::PrsbView(id) => Some(format!("CarePlan/{id}")),
        _ => None,
    }
}
