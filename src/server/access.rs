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
//! - [`visible`] and [`visible_versions`], for operations that build their
//!   own answer from stored resources (the PRSB view, `$everything`): the
//!   latter with the request's own gate, so its AuditEvent names them all.
//! - A Binary whose `securityContext` names a stored resource is judged as
//!   that resource is ([`Gate::judge`]), then on its own labels.

use super::auth::compartment;
use super::auth::concern::Concern;
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
const MAX_CONSENTS: usize = 100;

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
    /// Outside the requester's scopes: never released.
    Refused(String),
    /// Outside what a patient-scoped token's patient may see: answered as
    /// if it did not exist, so its existence is not revealed.
    Unreachable(String),
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
        I::PrsbView(_) | I::Everything(_) => ("CarePlan", Permission::Read),
        I::FromPrsb => ("CarePlan", Permission::Create),
        I::Capabilities | I::Batch | I::ValidateSystem | I::ValidateType(_) => return None,
    })
}

/// Judges resources for one requester, reading each person's Consents once.
pub struct Gate<'a> {
    svc: &'a Service,
    pub requester: &'a Requester,
    /// Each person's Consents in force, read once and shared (a search judges hundreds of resources).
    consents: RefCell<HashMap<String, std::rc::Rc<Vec<Value>>>>,
    /// Whom the requester represents, once looked up.
    represented: RefCell<Option<Option<String>>>,
    pub report: RefCell<Report>,
    now: i64,
}

impl<'a> Gate<'a> {
    pub fn new(svc: &'a Service, requester: &'a Requester) -> Gate<'a> {
        Gate { svc, requester, consents: RefCell::new(HashMap::new()), represented: RefCell::new(None), report: RefCell::new(Report::default()), now: clock::now_ms() }
    }

    fn consents_of(&self, conn: Option<&Connection>, patient: &str) -> FhirResult<std::rc::Rc<Vec<Value>>> {
        if let Some(c) = self.consents.borrow().get(patient) {
            return Ok(c.clone());
        }
        let load = |conn: &Connection| -> FhirResult<Vec<Value>> {
            let keys = matching(conn, &self.svc.registry, "Consent", &format!("patient=Patient/{patient}&status=active"), MAX_CONSENTS, None)?;
            store::current_many(conn, &keys)?.iter().map(resource_of).collect()
        };
        let list = match conn {
            Some(c) => load(c)?,
            None => self.svc.store.read(load)?,
        };
        let list = std::rc::Rc::new(list);
        self.consents.borrow_mut().insert(patient.to_string(), list.clone());
        Ok(list)
    }

    /// May the requester see this resource? Records the answer in the report.
    pub fn judge(&self, conn: Option<&Connection>, resource: &Value) -> FhirResult<Judgement> {
        self.judge_known(conn, resource, None)
    }

    /// [`Gate::judge`] of a stored version: its JSON and whom it concerns
    /// are worked out once however often the version is judged.
    pub fn judge_version(&self, conn: Option<&Connection>, version: &Version) -> FhirResult<Judgement> {
        let concern = self.svc.concern_of(version)?;
        self.judge_known(conn, version.json()?, Some(concern))
    }

    /// `known`: whom `resource` concerns, when that was worked out already.
    fn judge_known(&self, conn: Option<&Connection>, resource: &Value, known: Option<&Concern>) -> FhirResult<Judgement> {
        let j = self.judge_inner(conn, resource, known)?;
        let key = key_of(resource);
        let mut report = self.report.borrow_mut();
        match &j {
            Judgement::Shown => report.shown.push(key),
            Judgement::Released(_) => {
                report.shown.push(key.clone());
                report.released.push(key);
            }
            Judgement::Refused(why) | Judgement::Withheld(why) | Judgement::Unreachable(why) => report.withheld.push((key, why.clone())),
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

    fn judge_inner(&self, conn: Option<&Connection>, resource: &Value, known: Option<&Concern>) -> FhirResult<Judgement> {
        let subsetted = ["tag", "security"].iter().any(|k| resource["meta"][k].as_array().is_some_and(|l| l.iter().any(|c| c["code"] == "SUBSETTED")));
        let whole;
        let (resource, known) = if subsetted {
            match self.whole(conn, resource)? {
                Some(w) => {
                    whole = w;
                    (&whole, None)
                }
                None => return Ok(Judgement::Refused("the whole resource behind this subset cannot be checked".into())),
            }
        } else {
            (resource, known)
        };
        let t = resource["resourceType"].as_str().unwrap_or_default();
        let r = self.requester;
        let grant = r.scopes.grant(t, Permission::Read).max(r.scopes.grant(t, Permission::Search));
        if grant == Grant::None {
            return Ok(Judgement::Refused(format!("no scope of this token reads {t}")));
        }
        self.judge_content(conn, resource, grant == Grant::Compartment, known)
    }

    /// The judgement of a resource's content, whatever the token's scopes on
    /// its type: the patient's record (`limited`), consent and labels.
    ///
    /// A Binary whose `securityContext` names a stored resource is judged
    /// as that resource is (R4: access to the Binary is access to what it
    /// belongs to), and then on its own labels and persons: a patient's
    /// letter attached to their DocumentReference is theirs, whoever could
    /// read a Binary.
    fn judge_content(&self, conn: Option<&Connection>, resource: &Value, limited: bool, known: Option<&Concern>) -> FhirResult<Judgement> {
        let Some(context) = self.security_context(conn, resource)? else { return self.judge_own(conn, resource, limited, known) };
        let through = match self.judge_own(conn, &context, limited, None)? {
            j @ (Judgement::Shown | Judgement::Released(_)) => j,
            Judgement::Refused(why) => return Ok(Judgement::Refused(format!("its securityContext {}: {why}", key_of(&context)))),
            Judgement::Unreachable(why) => return Ok(Judgement::Unreachable(format!("its securityContext {}: {why}", key_of(&context)))),
            Judgement::Withheld(why) => return Ok(Judgement::Withheld(format!("its securityContext {}: {why}", key_of(&context)))),
        };
        // Reached through what it belongs to: its own content is judged for consent and labels only.
        Ok(match (self.judge_own(conn, resource, false, known)?, through) {
            (Judgement::Shown, Judgement::Released(why)) => Judgement::Released(why),
            (own, _) => own,
        })
    }

    /// The stored resource a Binary's `securityContext` names (not another Binary), if there is one.
    fn security_context(&self, conn: Option<&Connection>, resource: &Value) -> FhirResult<Option<Value>> {
        if resource["resourceType"] != "Binary" {
            return Ok(None);
        }
        let Some((t, id)) = resource["securityContext"]["reference"].as_str().and_then(super::search::index::parse_reference) else { return Ok(None) };
        if t == "Binary" {
            return Ok(None);
        }
        // A deleted resource still protects what belonged to it: the Binary
        // is judged as that resource last was.
        let read = |c: &Connection| store::last_live(c, &t, &id);
        let found = match conn {
            Some(c) => read(c)?,
            None => self.svc.store.read(read)?,
        };
        found.map(|v| resource_of(&v)).transpose()
    }

    /// [`Gate::judge_content`] of the resource itself, not through a securityContext.
    fn judge_own(&self, conn: Option<&Connection>, resource: &Value, limited: bool, known: Option<&Concern>) -> FhirResult<Judgement> {
        let t = resource["resourceType"].as_str().unwrap_or_default();
        let r = self.requester;
        let worked_out;
        let concern = match known {
            Some(c) => c,
            None => {
                worked_out = Concern::of(&self.svc.ctx, &self.svc.registry, resource);
                &worked_out
            }
        };
        // An earlier version is judged as the resource is now as well as by
        // its own content: a label added later, or a move into another
        // person's record, protects its whole history.
        let latest = self.latest_of(conn, resource)?;
        let latest_concern = latest.as_ref().map(|l| Concern::of(&self.svc.ctx, &self.svc.registry, l));
        if limited {
            let me = r.patient.as_deref().unwrap_or_default();
            if !self.patient_reaches(conn, resource, &concern, me)? {
                return Ok(Judgement::Unreachable(format!("{} is not in the record of the token's patient", key_of(resource))));
            }
            if let (Some(l), Some(lc)) = (&latest, &latest_concern) {
                if !self.patient_reaches(conn, l, lc, me)? {
                    return Ok(Judgement::Unreachable(format!("{} is no longer in the record of the token's patient", key_of(resource))));
                }
            }
            // A patient's view of the audit trail is of their own record: an
            // event that also names other people is theirs to read only
            // through a user-level scope.
            if t == audit::AUDIT_TYPE && concern.persons().iter().any(|p| p != me) {
                return Ok(Judgement::Unreachable("the event concerns other people too".into()));
            }
        }
        let mut persons = concern.persons().clone();
        if let Some(lc) = &latest_concern {
            persons.extend(lc.persons().iter().cloned());
        }
        self.report.borrow_mut().patients.extend(persons.iter().cloned());
        if r.is_open() {
            return Ok(Judgement::Shown);
        }
        let relabelled = latest.as_ref().and_then(|l| with_labels_of(resource, l));
        let resource = relabelled.as_ref().unwrap_or(resource);
        let represented = self.represented(conn)?;
        for p in &persons {
            if represented.as_deref() == Some(p.as_str()) {
                continue;
            }
            let consents = self.consents_of(conn, p)?;
            if consents.len() >= MAX_CONSENTS && !r.is_person(p) {
                let why = format!("Patient/{p} has more Consents in force than this server evaluates");
                return Ok(if r.overrides() { Judgement::Released(why) } else { Judgement::Withheld(why) });
            }
            if let Verdict::Withheld(why) = consent::decide(r, p, &consents, resource, self.now) {
                return Ok(if r.overrides() { Judgement::Released(why) } else { Judgement::Withheld(why) });
            }
        }
        if persons.is_empty() && !consent::EXEMPT_TYPES.contains(&t) {
            if let Some(label) = consent::restricted_label(resource) {
                let why = format!("the {t} is labelled confidentiality {label} and concerns no person whose consent could permit it");
                return Ok(if r.overrides() { Judgement::Released(why) } else { Judgement::Withheld(why) });
            }
        }
        Ok(Judgement::Shown)
    }

    /// The person whose representative the requester is (its `fhirUser` is
    /// a RelatedPerson of theirs, recorded by someone else: `guard_write`
    /// refuses a requester writing its own): they act for the person, whose
    /// consent does not withhold the person's record from them.
    fn represented(&self, conn: Option<&Connection>) -> FhirResult<Option<String>> {
        if let Some(known) = self.represented.borrow().as_ref() {
            return Ok(known.clone());
        }
        let found = match self.requester.fhir_user.as_deref().and_then(|u| u.strip_prefix("RelatedPerson/")) {
            Some(id) => {
                let read = |c: &Connection| store::current(c, "RelatedPerson", id);
                let v = match conn {
                    Some(c) => read(c)?,
                    None => self.svc.store.read(read)?,
                };
                match v.filter(|v| !v.deleted()) {
                    Some(v) => represented_by(&resource_of(&v)?),
                    None => None,
                }
            }
            None => None,
        };
        *self.represented.borrow_mut() = Some(found.clone());
        Ok(found)
    }

    /// May content written by the requester refer to this stored resource?
    /// Not when it belongs to a record the requester may not see (another
    /// patient's, or one withheld by consent or a label): a reference would
    /// let the writer search through it (chains) or reach it. Shared
    /// resources that concern no one may be referred to.
    fn may_refer_to(&self, conn: &Connection, target: &Value) -> FhirResult<bool> {
        let t = target["resourceType"].as_str().unwrap_or_default();
        let r = self.requester;
        let grant = r.scopes.grant(t, Permission::Read).max(r.scopes.grant(t, Permission::Search));
        // A patient-scoped token refers within its patient's record, whether or not it may read the type.
        let limited = grant == Grant::Compartment || (grant == Grant::None && self.limited());
        Ok(match self.judge_content(Some(conn), target, limited, None)? {
            Judgement::Shown | Judgement::Released(_) => true,
            Judgement::Withheld(_) => false,
            Judgement::Unreachable(_) | Judgement::Refused(_) => Concern::of(&self.svc.ctx, &self.svc.registry, target).persons().is_empty(),
        })
    }

    /// Whether a patient-scoped token's patient may see a resource: one of
    /// R4's Patient compartment types when it is in their compartment; any
    /// other type when it concerns them, or when it concerns no one and
    /// their record refers to it (their home, their carers).
    fn patient_reaches(&self, conn: Option<&Connection>, resource: &Value, concern: &Concern, me: &str) -> FhirResult<bool> {
        let t = resource["resourceType"].as_str().unwrap_or_default();
        if compartment::is_compartment_type(t) {
            return Ok(concern.compartment.contains(me));
        }
        if !concern.persons().is_empty() {
            return Ok(concern.persons().contains(me));
        }
        let Some(id) = resource["id"].as_str() else { return Ok(false) };
        let reached = |c: &Connection| store::reached_from(c, t, id, me);
        match conn {
            Some(c) => reached(c),
            None => self.svc.store.read(reached),
        }
    }

    /// The resource as it is now (its latest content), when `resource` is
    /// an earlier version of it; `None` for the current version.
    fn latest_of(&self, conn: Option<&Connection>, resource: &Value) -> FhirResult<Option<Value>> {
        let (Some(t), Some(id), Some(v)) = (resource["resourceType"].as_str(), resource["id"].as_str(), resource["meta"]["versionId"].as_str().and_then(|v| v.parse::<i64>().ok())) else {
            return Ok(None);
        };
        let latest = |c: &Connection| -> FhirResult<Option<Value>> {
            let Some(current) = store::current(c, t, id)? else { return Ok(None) };
            // A deleted resource is judged by its last content.
            for n in (v + 1..=current.version).rev() {
                if let Some(found) = store::version(c, t, id, n)?.filter(|x| !x.deleted()) {
                    return Ok(Some(resource_of(&found)?));
                }
            }
            Ok(None)
        };
        match conn {
            Some(c) => latest(c),
            None => self.svc.store.read(latest),
        }
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
        if let Some(asked) = &r.refused_purpose {
            return Err(forbidden(format!(
                "X-Careplan-Purpose-Of-Use: {asked} is not a purpose of use this token carries ({}); the header may only choose one of the token's purposes, or ask for an override (BTG)",
                if r.purposes.is_empty() { "none".to_string() } else { r.purposes.join(", ") }
            )));
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
            return Err(forbidden(format!("This token has no scope that allows {} on {t} (e.g. user/{t}.{}); scopes: {}", p.name(), p.letter(), scope_list(r))));
        }
        if grant == Grant::Compartment && asks_count(req) {
            return Err(forbidden("Counts are not given to patient-scoped tokens; search without _summary=count"));
        }
        // Interactions on a stored resource: it is judged before anything of
        // the request (a body, a patch, a validation) is looked at, so no
        // answer depends on content the requester may not see.
        match interaction {
            Interaction::ValidateInstance(t, id) => self.judge_stored(t, id, || FhirError::not_found(format!("{t}/{id} does not exist")))?,
            Interaction::PrsbView(id) | Interaction::Everything(id) => self.judge_stored("CarePlan", id, || FhirError::not_found(format!("CarePlan/{id} does not exist")))?,
            // A patch is judged where it is applied (`prepare_patch`), before its body is read.
            Interaction::Update(t, id) => {
                if let Some(v) = self.svc.store.read(|c| store::current(c, t, id))?.filter(|v| !v.deleted()) {
                    self.may_change(None, &v)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Refuses unless the requester may see the current version of a stored resource (if there is one).
    fn judge_stored(&self, t: &str, id: &str, missing: impl FnOnce() -> FhirError) -> FhirResult<()> {
        if let Some(v) = self.svc.store.read(|c| store::current(c, t, id))?.filter(|v| !v.deleted()) {
            Gate::refuse_unless(self.judge_version(None, &v)?, v.json()?, missing)?;
        }
        Ok(())
    }

    /// Changing what the requester may not see is refused as reading it
    /// would be; a resource outside a patient-scoped token's record is
    /// refused without saying more than that.
    fn may_change(&self, conn: Option<&Connection>, current: &Version) -> FhirResult<()> {
        match self.judge_version(conn, current)? {
            Judgement::Unreachable(_) => Err(forbidden(format!(
                "{}/{} cannot be changed with this token: a patient-scoped token changes only its patient's record",
                current.res_type, current.id
            ))),
            judged => Gate::refuse_unless(judged, current.json()?, || FhirError::not_found("")),
        }
    }

    /// `missing` is the answer when the resource did not exist: a resource
    /// a patient-scoped token may not reach gets it too.
    fn refuse_unless_shown(&self, conn: Option<&Connection>, resource: &Value, missing: impl FnOnce() -> FhirError) -> FhirResult<()> {
        Gate::refuse_unless(self.judge(conn, resource)?, resource, missing)
    }

    /// Nothing if `judged` lets the requester see `resource`, or why not.
    fn refuse_unless(judged: Judgement, resource: &Value, missing: impl FnOnce() -> FhirError) -> FhirResult<()> {
        match judged {
            Judgement::Shown | Judgement::Released(_) => Ok(()),
            Judgement::Unreachable(_) => Err(missing()),
            Judgement::Refused(why) => Err(forbidden(format!("{}: {why}", key_of(resource)))),
            Judgement::Withheld(why) => Err(withheld(format!(
                "{} is withheld: {why}. A requester with the role '{}' may release it for one request with X-Careplan-Purpose-Of-Use: BTG and X-Careplan-Override-Reason",
                key_of(resource),
                super::auth::DATA_CONTROLLER
            ))),
        }
    }

    /// Filters an answer: what the requester may not see is left out.
    pub fn filter(&self, interaction: &Interaction, req: &Request, mut reply: Reply) -> FhirResult<Reply> {
        let Some(body) = reply.body.take() else { return Ok(reply) };
        let kind = body["resourceType"].as_str().unwrap_or_default().to_string();
        use Interaction as I;
        match interaction {
            I::Search(_) | I::HistoryInstance(..) | I::HistoryType(_) | I::HistorySystem if kind == "Bundle" => {
                let bundle = self.filter_bundle(body, &mut reply.filtered, true)?;
                if let (I::HistoryInstance(t, id), true) = (interaction, self.limited()) {
                    // Nothing of it is the patient's: as if it did not exist.
                    if bundle["entry"].as_array().is_none_or(|e| e.is_empty()) {
                        return Err(FhirError::not_found(format!("{t}/{id} does not exist")));
                    }
                }
                reply.body = Some(bundle);
            }
            I::Batch if kind == "Bundle" => {
                reply.body = Some(self.filter_bundle(body, &mut reply.filtered, false)?);
            }
            I::Read(t, id) => {
                self.refuse_unless_shown(None, &body, || FhirError::not_found(format!("{t}/{id} does not exist")))?;
                reply.body = Some(body);
                // Only now: a 304 says the version exists, which is for those who may see it.
                reply = super::interactions::not_modified(req, reply);
            }
            I::Vread(t, id, v) => {
                self.refuse_unless_shown(None, &body, || FhirError::not_found(format!("{t}/{id} has no version {v}")))?;
                reply.body = Some(body);
                reply = super::interactions::not_modified(req, reply);
            }
            I::Create(_) | I::Update(..) | I::ConditionalUpdate(_) | I::Patch(..) if kind != "OperationOutcome" => match self.judge(None, &body)? {
                Judgement::Shown | Judgement::Released(_) => reply.body = Some(body),
                Judgement::Refused(why) | Judgement::Withheld(why) | Judgement::Unreachable(why) => {
                    reply.filtered = true;
                    reply.body = Some(super::error::operation_outcome(&[super::note(format!("The write was done, but the resource is not shown to this requester: {why}"))]));
                }
            },
            _ => reply.body = Some(body),
        }
        Ok(reply)
    }

    /// A deleted resource outside a patient-scoped token's record answers
    /// as a missing one, not 410 (which would say it existed).
    pub fn conceal_gone(&self, interaction: &Interaction, e: FhirError) -> FhirError {
        use Interaction as I;
        if e.status != 410 || !self.limited() {
            return e;
        }
        let (t, id, missing) = match interaction {
            // A PATCH reads what it patches: of a deleted resource it says as much as a read.
            I::Read(t, id) | I::HistoryInstance(t, id) | I::Patch(t, id) => (t, id, format!("{t}/{id} does not exist")),
            I::Vread(t, id, v) => (t, id, format!("{t}/{id} has no version {v}")),
            _ => return e,
        };
        let last = self.svc.store.read(|c| store::last_live(c, t, id));
        let hidden = match last {
            Ok(Some(v)) => self.judge_version(None, &v).map_or(true, |j| matches!(j, Judgement::Unreachable(_))),
            _ => true,
        };
        if hidden {
            FhirError::not_found(missing)
        } else {
            e
        }
    }

    /// A patient-scoped token: what is outside its patient's record is
    /// left out without a word.
    fn limited(&self) -> bool {
        !self.requester.is_open() && self.requester.patient.is_some()
    }

    /// Searchsets and histories lose withheld entries; batch and transaction
    /// responses keep every entry (their order is the request's) but an
    /// entry whose resource is withheld loses it, with everything that
    /// would tell of it (id, version, date), and answers as a read of it
    /// would have.
    fn filter_bundle(&self, mut bundle: Value, filtered: &mut bool, drop_entries: bool) -> FhirResult<Value> {
        let limited = self.limited();
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
                let judgement = match entry.get("resource") {
                    Some(r) if r["resourceType"] == "OperationOutcome" => Judgement::Shown,
                    Some(r) => self.judge(None, r)?,
                    // A deletion in a history: whose it was is unknown, so a patient-scoped token does not get it.
                    None if drop_entries && limited => Judgement::Unreachable(String::new()),
                    None => Judgement::Shown,
                };
                let said = match &judgement {
                    Judgement::Shown | Judgement::Released(_) => {
                        kept.push(entry);
                        continue;
                    }
                    Judgement::Unreachable(_) => false,
                    Judgement::Refused(_) | Judgement::Withheld(_) => true,
                };
                if said {
                    removed += 1;
                }
                if !drop_entries {
                    let (status, message) = match judgement {
                        Judgement::Unreachable(_) => ("404 Not Found", "Not found".to_string()),
                        Judgement::Withheld(why) => ("403 Forbidden", format!("Withheld from this requester: {why}")),
                        Judgement::Refused(why) => ("403 Forbidden", why),
                        _ => ("200 OK", String::new()),
                    };
                    let code = if status.starts_with("404") { "not-found" } else { "forbidden" };
                    entry = json!({"response": {"status": status, "outcome": {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code, "details": {"text": message}}]}}});
                    kept.push(entry);
                }
            }
            *entries = kept;
        }
        if removed > 0 {
            *filtered = true;
            mark_redacted(&mut bundle, removed);
        }
        // A history's total counts every version, the requester's or not
        // (a searchset's counts only what the requester may see: `pages`).
        if drop_entries && bundle["type"] == "history" && (removed > 0 || limited || !self.requester.is_open()) {
            if let Some(o) = bundle.as_object_mut() {
                o.remove("total");
            }
        }
        Ok(bundle)
    }
}

/// Marks a Bundle with `removed` resources left out for its requester: the
/// REDACTED security label and, in a searchset, an OperationOutcome entry
/// that says how many (never which).
pub fn mark_redacted(bundle: &mut Value, removed: usize) {
    label_redacted(bundle);
    if bundle["type"] == "searchset" {
        let note = json!({"resource": {"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "suppressed",
            "details": {"text": format!("{removed} resource(s) of this page are not shown to this requester (scopes, or the person's consent or a confidentiality label)")}}]}, "search": {"mode": "outcome"}});
        if let Some(entries) = bundle.get_mut("entry").and_then(Value::as_array_mut) {
            entries.push(note);
        } else {
            bundle["entry"] = json!([note]);
        }
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
        I::PrsbView(_) | I::Everything(_) => Some("CarePlan"),
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
/// store with whom it concerns (`None` for a delete), `current` the version
/// it replaces.
pub fn guard_write(svc: &Service, conn: &Connection, req: &Request, res_type: &str, new: Option<(&Value, &Concern)>, current: Option<&Version>) -> FhirResult<()> {
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
    let grant = scope_for(r, res_type, p)?;
    if let Some(c) = live {
        guard_change(svc, conn, req, res_type, c, p)?;
    } else if let Some(gone) = current.filter(|c| c.deleted()) {
        // An id that was deleted still belongs to whom it concerned: writing
        // there is changing their resource (and would take its history).
        if let Some(last) = store::last_live(conn, res_type, &gone.id)?.filter(|_| !acts_for_data_controller(r, res_type)) {
            Gate::new(svc, r).may_change(Some(conn), &last)?;
        }
    }
    let Some((json, concern)) = new else { return Ok(()) };
    if is_redacted(json) {
        return Err(FhirError::new(
            422,
            IssueCode::BusinessRule,
            "This content carries the REDACTED label: it is what a reader was shown, with parts left out, and written back it would lose them; write from the resource as stored",
        ));
    }
    if res_type == "RelatedPerson" && !acts_for_data_controller(r, res_type) {
        // Whom a RelatedPerson represents is recorded by others: a requester
        // that could set it for itself could make itself anyone's representative.
        let id = json["id"].as_str().or(live.map(|c| c.id.as_str()));
        if id.is_some_and(|id| r.fhir_user.as_deref() == Some(&format!("RelatedPerson/{id}"))) {
            return Err(forbidden("A requester may not write the RelatedPerson it is (whom it represents is recorded by the person, a clinician or the data controller)"));
        }
    }
    if !acts_for_data_controller(r, res_type) {
        if concern.truncated {
            return Err(FhirError::new(
                413,
                IssueCode::TooCostly,
                format!("This {res_type} holds more than {} references, more than this server checks for one writer; only the data controller's systems write such resources", super::auth::concern::MAX_LINKS),
            ));
        }
        let gate = Gate::new(svc, r);
        for (t, id) in &concern.links {
            let Some(target) = store::current(conn, t, id)?.filter(|v| !v.deleted()) else { continue };
            if !gate.may_refer_to(conn, &resource_of(&target)?)? {
                return Err(forbidden(format!("This {res_type} refers to {t}/{id}, which this requester may not see; a write may refer only to what its writer may read")));
            }
        }
    }
    if grant == Grant::Compartment {
        if !compartment::is_compartment_type(res_type) {
            return Err(forbidden(format!(
                "A patient-scoped token writes only resources of its patient's compartment (CompartmentDefinition/patient); {res_type} is shared by many people's records"
            )));
        }
        // A patient's token writes into that patient's record only: content
        // that also concerns someone else would land in their record.
        let me = r.patient.as_deref().unwrap_or_default();
        let theirs = if compartment::is_compartment_type(res_type) { concern.compartment.contains(me) } else { concern.persons().contains(me) };
        if !theirs {
            return Err(forbidden(format!("A patient-scoped token writes only into its patient's record (Patient/{me}); this {res_type} is not in it")));
        }
        if let Some(other) = concern.persons().iter().find(|p| p.as_str() != me) {
            return Err(forbidden(format!("A patient-scoped token writes only into its patient's record (Patient/{me}); this {res_type} also concerns Patient/{other}")));
        }
    }
    if res_type == "Consent" {
        consent_writer(conn, r, concern)?;
    }
    if !req.via_prsb_store && !acts_for_data_controller(r, res_type) {
        // Plans and their items are found by our identifiers (and
        // professionals by theirs): a writer who could put one on a
        // resource of theirs could have another person's plan written into
        // it, or be taken for a professional the plan's consent names.
        // Anywhere in it: a Reference's identifier names a plan item too
        // (a linked need is read by the one on its reference).
        let ours = |v: &Value| -> Vec<(String, String)> {
            let mut found = Vec::new();
            our_identifiers(v, &mut found);
            found
        };
        let had = match live {
            Some(c) => ours(c.json()?),
            None => Vec::new(),
        };
        if let Some((system, value)) = ours(json).into_iter().find(|i| !had.contains(i)) {
            return Err(forbidden(format!(
                "The identifier {system}|{value} is given only by storing a PRSB plan ($from-prsb?store=true) or by the data controller: plans, their items and professionals are found by it"
            )));
        }
    }
    if res_type == "CarePlan" && !req.via_prsb_store && !acts_for_data_controller(r, res_type) {
        // A PRSB plan is its person's with every item it holds: moved to
        // someone else alone, it would leave its items in the first record
        // and take the second person's plan id.
        if let Some(before) = live.map(Version::json).transpose()? {
            let plan_system = crate::prsb::vocab::identifier_system(crate::prsb::vocab::id::PLAN);
            let is_prsb = before["identifier"].as_array().into_iter().flatten().any(|i| i["system"] == plan_system.as_str());
            if is_prsb && before["subject"] != json["subject"] {
                return Err(forbidden("This CarePlan is a PRSB plan: whose it is changes only with all its items, by the data controller (a plan filed under the wrong person is moved whole, not by its subject)"));
            }
        }
    }
    if concern.persons().is_empty() && !acts_for_data_controller(r, res_type) {
        // A resource of no one's record (an organisation, a site, a
        // professional) is shared by every record that refers to it: a
        // label on it would withhold it from all of them, and any plan
        // that names it could no longer be posted by those it withholds it from.
        let before = live.map(Version::json).transpose()?;
        let label = |v: Option<&Value>| v.and_then(consent::restricted_label).map(str::to_owned);
        if label(Some(json)) != label(before) {
            return Err(forbidden(format!(
                "A confidentiality label on a {res_type}, which concerns no one person and is shared by every record that refers to it, is set or removed only by the data controller"
            )));
        }
    }
    if res_type == "Patient" && patient_scoped(r) {
        // Who a person is (NHS number and any other identifier) is recorded by
        // those who verified it: an app that could set it could claim someone
        // else's records, which are matched on it (a PRSB plan by NHS number).
        let before = match live {
            Some(c) => resource_of(c)?["identifier"].clone(),
            None => Value::Null,
        };
        let after = &json["identifier"];
        let none = |v: &Value| v.is_null() || v.as_array().is_some_and(Vec::is_empty);
        if *after != before && !(none(after) && none(&before)) {
            return Err(forbidden("A patient-scoped token may not add, change or remove a Patient's identifiers (NHS number and others): they are recorded by the person's care providers"));
        }
    }
    Ok(())
}

/// Identifiers that name one thing in the country, and so one resource
/// here: what plans and other records are matched on (`ifNoneExist`).
const NATIONAL_IDENTIFIERS: &[(&str, &str, &str)] = &[
    ("Patient", crate::prsb::vocab::NHS_NUMBER, "NHS number"),
    ("Organization", crate::prsb::vocab::ODS_ORGANISATION, "ODS organisation code"),
    ("Location", crate::prsb::vocab::ODS_SITE, "ODS site code"),
];

/// A national identifier (an NHS number, an ODS code) names one resource:
/// none may be given one that another resource of its type already holds,
/// or every record matched on it would stop finding the one it means.
/// Checked for every writer.
pub fn guard_national_identifiers(svc: &Service, conn: &Connection, res_type: &str, id: &str, json: &Value) -> FhirResult<()> {
    for (t, system, name) in NATIONAL_IDENTIFIERS.iter().filter(|(t, _, _)| *t == res_type) {
        for identifier in json["identifier"].as_array().into_iter().flatten() {
            let (Some(s), Some(value)) = (identifier["system"].as_str(), identifier["value"].as_str()) else { continue };
            if s != *system {
                continue;
            }
            let query = format!("identifier={}", crate::prsb::map::token_query(system, value));
            if held_by_another(svc, conn, t, &query, id)? {
                return Err(FhirError::conflict(
                    409,
                    format!("{name} {value} is already held by another {t}; it names one, so find that {t} ({t}?identifier={system}|{value}) and write to it or refer to it"),
                )
                .at(&format!("{t}.identifier")));
            }
        }
    }
    Ok(())
}

/// A PRSB plan id names one CarePlan of a person: two (two first posts of
/// one plan at once, say) would leave every later post unable to tell
/// which it updates. Checked for every writer, inside the write.
pub fn guard_plan_identity(svc: &Service, conn: &Connection, id: &str, json: &Value) -> FhirResult<()> {
    let system = crate::prsb::vocab::identifier_system(crate::prsb::vocab::id::PLAN);
    let Some(subject) = json["subject"]["reference"].as_str() else { return Ok(()) };
    for identifier in json["identifier"].as_array().into_iter().flatten() {
        let (Some(s), Some(value)) = (identifier["system"].as_str(), identifier["value"].as_str()) else { continue };
        if s != system {
            continue;
        }
        let query = format!("identifier={}&subject={}", crate::prsb::map::token_query(&system, value), url::form_urlencoded::byte_serialize(subject.as_bytes()).collect::<String>());
        if held_by_another(svc, conn, "CarePlan", &query, id)? {
            return Err(FhirError::conflict(409, format!("{subject} already has a CarePlan with the plan id `{value}`; post the plan again (it updates that one) rather than making a second")).at("CarePlan.identifier"));
        }
    }
    Ok(())
}

/// Whether a resource other than `id` matches `query` (an identifier that
/// names one resource, already held).
fn held_by_another(svc: &Service, conn: &Connection, res_type: &str, query: &str, id: &str) -> FhirResult<bool> {
    Ok(matching(conn, &svc.registry, res_type, query, 2, None)?.iter().any(|(_, other)| other != id))
}

/// Every identifier of our systems (`{BASE}/Id/…`) anywhere in a resource.
/// On a Reference the identifier and the target are one claim (a linked
/// need is the plan's item *and* that resource): pointing it elsewhere is
/// giving the identifier anew.
fn our_identifiers(value: &Value, out: &mut Vec<(String, String)>) {
    let ours = format!("{}/Id/", crate::profiles::BASE);
    let mut take = |i: &Value, target: Option<&str>| {
        if let Some(system) = i["system"].as_str().filter(|s| s.starts_with(&ours)) {
            let value = i["value"].as_str().unwrap_or_default();
            let value = match target {
                Some(t) => format!("{value} (on a reference to {t})"),
                None => value.to_owned(),
            };
            out.push((system.to_owned(), value));
        }
    };
    match value {
        Value::Object(map) => {
            match map.get("identifier") {
                Some(Value::Array(list)) => list.iter().for_each(|i| take(i, None)),
                Some(single @ Value::Object(_)) => take(single, map.get("reference").and_then(Value::as_str)),
                _ => {}
            }
            for v in map.values() {
                our_identifiers(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| our_identifiers(v, out)),
        _ => {}
    }
}

/// A Consent is kept within what can be evaluated for every resource
/// shown: bounded provisions, and a bounded number in force per person.
/// Checked for every writer, open mode and the data controller included.
pub fn guard_consent(svc: &Service, conn: &Connection, json: &Value, concern: &Concern) -> FhirResult<()> {
    if let Some(why) = consent::too_large(json) {
        return Err(FhirError::new(422, IssueCode::TooCostly, why).at("Consent.provision"));
    }
    if json["status"] != "active" {
        return Ok(());
    }
    let own = json["id"].as_str().unwrap_or_default();
    for p in concern.persons() {
        let active = matching(conn, &svc.registry, "Consent", &format!("patient=Patient/{p}&status=active"), consent::MAX_ACTIVE_CONSENTS + 1, None)?;
        if active.iter().filter(|(_, id)| id != own).count() >= consent::MAX_ACTIVE_CONSENTS {
            return Err(FhirError::conflict(
                409,
                format!("Patient/{p} already has {} Consents in force, the most this server keeps for one person; make one inactive (or merge them) first", consent::MAX_ACTIVE_CONSENTS),
            ));
        }
    }
    Ok(())
}

/// Whether a stored resource is within the requester's reach at all (a
/// patient-scoped token: its patient's record); what is not is answered
/// as if it did not exist.
pub fn reaches(svc: &Service, conn: &Connection, req: &Request, current: &Version) -> FhirResult<bool> {
    if req.requester.is_open() || current.deleted() {
        return Ok(true);
    }
    let gate = Gate::new(svc, &req.requester);
    Ok(!matches!(gate.judge(Some(conn), &resource_of(current)?)?, Judgement::Unreachable(_)))
}

fn scope_for(r: &Requester, res_type: &str, p: Permission) -> FhirResult<Grant> {
    let grant = r.scopes.grant(res_type, p);
    if grant == Grant::None {
        return Err(forbidden(format!("This token has no scope that allows {} on {res_type}; scopes: {}", p.name(), scope_list(r))));
    }
    Ok(grant)
}

/// May the requester change (`p`: update or delete) this stored version?
/// Decided on the stored resource alone, before the new content is looked at.
pub fn guard_change(svc: &Service, conn: &Connection, req: &Request, res_type: &str, current: &Version, p: Permission) -> FhirResult<()> {
    let r = &*req.requester;
    if r.is_open() {
        return Ok(());
    }
    scope_for(r, res_type, p)?;
    // The data controller's own systems (an importer of plans) keep the
    // records it controls up to date, whatever a consent lets them read;
    // what they are answered is still judged.
    if !acts_for_data_controller(r, res_type) {
        Gate::new(svc, r).may_change(Some(conn), current)?;
    }
    if res_type == "Consent" {
        consent_writer(conn, r, svc.concern_of(current)?)?;
    }
    Ok(())
}

/// A person's consent is theirs: it is written (created, changed, deleted)
/// by the person, by someone who represents them (a RelatedPerson of
/// theirs as `fhirUser`), or by a data controller, never by any writer
/// (who could grant themselves access).
/// The data controller, or its own system: a backend system (a `system/`
/// scope on the type) is registered by the data controller and acts for
/// it, as an importer of plans does.
/// A backend system's token holds `system/` scopes only (SMART Backend
/// Services): a user's token that also carries one, or a `system/` scope that
/// only reads, makes no one the data controller.
pub fn acts_for_data_controller(r: &Requester, res_type: &str) -> bool {
    use super::auth::scopes::ScopeContext;
    let backend = !r.scopes.list.is_empty() && r.scopes.list.iter().all(|s| s.context == ScopeContext::System);
    r.has_role(super::auth::DATA_CONTROLLER)
        || (backend && r.scopes.list.iter().any(|s| s.res_type.as_deref().is_none_or(|t| t == res_type) && s.perms.contains(['c', 'u', 'd'])))
}

/// Whether the requester may see this version as it is (a write's answer
/// that depends on its content is given only then).
pub fn may_see(svc: &Service, conn: &Connection, req: &Request, version: &Version) -> FhirResult<bool> {
    if req.requester.is_open() {
        return Ok(true);
    }
    Ok(matches!(Gate::new(svc, &req.requester).judge_version(Some(conn), version)?, Judgement::Shown | Judgement::Released(_)))
}

/// A change that reads the stored content to make the new one (a PATCH:
/// its `copy`, `move` and `test` operations, and the validation of what
/// they make, tell what the content was) needs the requester to see it,
/// the data controller's systems too.
pub fn guard_reading_change(svc: &Service, conn: &Connection, req: &Request, current: &Version) -> FhirResult<()> {
    if req.requester.is_open() {
        return Ok(());
    }
    Gate::new(svc, &req.requester).may_change(Some(conn), current)
}

fn consent_writer(conn: &Connection, r: &Requester, concern: &Concern) -> FhirResult<()> {
    if acts_for_data_controller(r, "Consent") {
        return Ok(());
    }
    for p in concern.persons() {
        if r.is_person(p) {
            continue;
        }
        let represents = match r.fhir_user.as_deref().and_then(|u| u.strip_prefix("RelatedPerson/")) {
            Some(id) => store::current(conn, "RelatedPerson", id)?.filter(|v| !v.deleted()).map(|v| resource_of(&v)).transpose()?.and_then(|rp| represented_by(&rp)).is_some_and(|x| x == *p),
            None => false,
        };
        if !represents {
            return Err(forbidden(format!(
                "A Consent of Patient/{p} is written by the person (fhirUser Patient/{p}), a RelatedPerson who represents them, a requester with the role '{}' or the data controller's own system (a system/ scope)",
                super::auth::DATA_CONTROLLER
            )));
        }
    }
    if concern.persons().is_empty() {
        return Err(forbidden(format!("A Consent names the person it is about (Consent.patient); only a requester with the role '{}' writes one that does not", super::auth::DATA_CONTROLLER)));
    }
    Ok(())
}

/// Resources of `t` that a conditional request's criteria select, among
/// those the requester may see: a patient-scoped token's search is limited
/// to its patient's record before it runs, and a match withheld by consent
/// is refused without its id, version or date.
pub fn matching_for(svc: &Service, conn: &Connection, req: &Request, t: &str, query: &str, limit: usize) -> FhirResult<Vec<(String, String)>> {
    let r = &*req.requester;
    let grant = r.scopes.grant(t, Permission::Search).max(r.scopes.grant(t, Permission::Read));
    if !r.is_open() && grant == Grant::None {
        // Whether criteria match would tell what the token may not search.
        return Err(forbidden(format!(
            "Conditional criteria on {t} ('{}') search {t}, which this token may neither search nor read; ask for a scope that reads {t}, or refer to the resource by id",
            query.chars().take(100).collect::<String>()
        )));
    }
    let patient = r.patient.as_deref().filter(|_| !r.is_open() && (grant == Grant::Compartment || patient_scoped(r)));
    let found = super::search::query::matching_guarded(conn, &svc.registry, t, query, limit, patient.map(|p| (p, compartment::is_compartment_type(t))), chain_guard(req))?;
    // The data controller's own systems write over what they hold, whatever
    // the person's consent lets them read (what they are answered is judged).
    if r.is_open() || acts_for_data_controller(r, t) {
        return Ok(found);
    }
    let gate = Gate::new(svc, r);
    let mut kept = Vec::with_capacity(found.len());
    for (ft, id) in found {
        let Some(v) = store::current(conn, &ft, &id)?.filter(|v| !v.deleted()) else { continue };
        match gate.judge(Some(conn), &resource_of(&v)?)? {
            Judgement::Shown | Judgement::Released(_) => kept.push((ft, id)),
            Judgement::Unreachable(_) => {}
            Judgement::Refused(_) | Judgement::Withheld(_) => {
                return Err(withheld(format!("The criteria '{query}' select a {t} that is withheld from this requester; nothing was done")));
            }
        }
    }
    Ok(kept)
}

/// How many resources of a search the requester may see, when there are
/// at most `limit` matches to judge; `None` when there are more.
pub fn visible_count(svc: &Service, conn: &Connection, req: &Request, versions: &[Version]) -> FhirResult<usize> {
    let gate = Gate::new(svc, &req.requester);
    let mut n = 0;
    for v in versions {
        if matches!(gate.judge(Some(conn), &resource_of(v)?)?, Judgement::Shown | Judgement::Released(_)) {
            n += 1;
        }
    }
    Ok(n)
}

/// The patient a history is limited to before it runs: a patient-scoped
/// token's on a type or system history.
pub fn history_patient(req: &Request, scope: &store::HistoryScope) -> Option<String> {
    let r = &*req.requester;
    let t = match scope {
        store::HistoryScope::Instance(..) => return None,
        store::HistoryScope::Type(t) => t.as_str(),
        store::HistoryScope::System => "Resource",
    };
    let grant = r.scopes.grant(t, Permission::Search).max(r.scopes.grant(t, Permission::Read));
    (!r.is_open() && grant == Grant::Compartment).then(|| r.patient.clone()).flatten()
}

/// Limits a search plan to what the requester may see before it runs (a
/// patient-scoped token: its patient's record).
/// Counts are not given to it (in a batch or transaction entry either).
pub fn restrict_plan(req: &Request, plan: &mut super::search::query::Plan) -> FhirResult<()> {
    let r = &*req.requester;
    if r.is_open() {
        return Ok(());
    }
    let t = plan.res_type.clone();
    if r.scopes.grant(&t, Permission::Search).max(r.scopes.grant(&t, Permission::Read)) == Grant::Compartment {
        if plan.summary_count {
            return Err(forbidden("Counts are not given to patient-scoped tokens; search without _summary=count"));
        }
        if let Some(p) = r.patient.as_deref() {
            plan.only_for_patient(p, compartment::is_compartment_type(&t));
        }
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

/// [`visible`] for stored versions (the PRSB view and `$everything` gather
/// versions): the first is the plan itself, and a plan the requester may
/// not see is a 403. References to what is left out are taken out of what
/// is kept (a goal withheld from the requester disappears from the plan's
/// `goal` list), so the view neither fails on them nor reveals their ids.
/// `gate` is the request's own (`Service::execute`), so the request's
/// AuditEvent names every resource shown, withheld or released.
/// What `elsewhere` names (a plan's links into other people's records, left
/// out of it) is taken out the same way and marks the answer too.
pub fn visible_versions(gate: &Gate, versions: Vec<Version>, elsewhere: &BTreeSet<(String, String)>) -> FhirResult<(Vec<Version>, bool)> {
    let mut kept = Vec::with_capacity(versions.len());
    let mut gone: BTreeSet<(String, String)> = elsewhere.clone();
    for (i, v) in versions.into_iter().enumerate() {
        let json = resource_of(&v)?;
        if i == 0 {
            let (t, id) = (v.res_type.clone(), v.id.clone());
            gate.refuse_unless_shown(None, &json, || FhirError::not_found(format!("{t}/{id} does not exist")))?;
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
        // A Consent is shown whole: its references are the person's own
        // choices, and one taken out of a provision would turn "permit my
        // carer" into "permit everyone".
        if v.res_type != "Consent" && unlink(&mut json, &gone) {
            label_redacted(&mut json);
            v.body = Some(serde_json::to_vec(&json).map_err(store::internal)?);
        }
        out.push(v);
    }
    Ok((out, true))
}

/// Puts the REDACTED label on a Bundle with entries left out, or on a
/// resource with parts left out for its reader, so a client (and this
/// server) can tell it from what is stored.
fn label_redacted(value: &mut Value) {
    let meta = value.as_object_mut().map(|o| o.entry("meta").or_insert_with(|| json!({})));
    if let Some(meta) = meta {
        let labels = meta.as_object_mut().map(|m| m.entry("security").or_insert_with(|| json!([])));
        if let Some(Value::Array(l)) = labels {
            if !l.iter().any(|c| c["code"] == REDACTED.1) {
                l.push(json!({"system": REDACTED.0, "code": REDACTED.1, "display": "redacted"}));
            }
        }
    }
}

/// Whether content carries the redaction label: what a reader was shown of
/// a resource, which written back would drop what they were not shown.
fn is_redacted(json: &Value) -> bool {
    json["meta"]["security"].as_array().into_iter().flatten().any(|l| l["system"] == REDACTED.0 && l["code"] == REDACTED.1)
}

/// Takes out of a resource every reference to one of `gone` (and the
/// extensions and repetitions that only said it); whether anything changed.
pub fn unlink(json: &mut Value, gone: &BTreeSet<(String, String)>) -> bool {
    drop_extensions_to(json, gone) | strip_references(json, gone)
}

/// Whether `value` is a Reference to one of `gone`.
fn refers_to(value: &Value, gone: &BTreeSet<(String, String)>) -> bool {
    value.get("reference").and_then(Value::as_str).and_then(super::search::index::parse_reference).is_some_and(|k| gone.contains(&k))
}

/// Takes out of `value` every extension whose value, or the value of one of
/// its parts, is a Reference to one of `gone`: a complex extension that lost
/// a part no longer says what it said (a `goal-relationship` without its
/// `target` stage goal), so it goes whole. Whether anything changed.
fn drop_extensions_to(value: &mut Value, gone: &BTreeSet<(String, String)>) -> bool {
    fn names_gone(extension: &Value, gone: &BTreeSet<(String, String)>) -> bool {
        extension.get("valueReference").is_some_and(|r| refers_to(r, gone)) || extension.get("extension").and_then(Value::as_array).is_some_and(|parts| parts.iter().any(|p| names_gone(p, gone)))
    }
    match value {
        Value::Object(map) => {
            let mut changed = false;
            for key in ["extension", "modifierExtension"] {
                if let Some(Value::Array(list)) = map.get_mut(key) {
                    let before = list.len();
                    list.retain(|e| !names_gone(e, gone));
                    changed |= list.len() != before;
                }
            }
            for v in map.values_mut() {
                changed |= drop_extensions_to(v, gone);
            }
            changed
        }
        Value::Array(items) => items.iter_mut().fold(false, |changed, v| drop_extensions_to(v, gone) | changed),
        _ => false,
    }
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
            // A repetition that is a reference to what is gone goes; so does
            // one whose reference is a part of it (`Patient.link` without its
            // `other`, a Consent actor without its `reference`): it no longer
            // says what it said, and would not read as R4.
            let holds_one = |v: &Value| v.get("resourceType").is_none() && v.as_object().is_some_and(|o| o.values().any(|x| refers_to(x, gone)));
            let before = items.len();
            items.retain(|v| !refers_to(v, gone) && !holds_one(v));
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

/// Whether a search asks for a count only (`_summary=count`, with any modifier).
pub fn asks_count(req: &Request) -> bool {
    req.query.iter().any(|(k, v)| k.split([':', '.']).next() == Some("_summary") && v == "count")
}

/// How chained search parameters are limited for a request's requester
/// (`None`: open mode, or an override that releases what consent withholds).
pub fn chain_guard(req: &Request) -> Option<super::search::query::ChainGuard> {
    let r = &*req.requester;
    if r.is_open() || r.overrides() {
        return None;
    }
    let me = r.fhir_user.as_deref().and_then(|u| u.strip_prefix("Patient/")).or(r.patient.as_deref().filter(|_| patient_scoped(r))).unwrap_or_default();
    Some(super::search::query::ChainGuard { me: me.to_string(), patient_only: patient_scoped(r) })
}

/// A patient-scoped token (not open mode).
pub fn patient_scoped(r: &Requester) -> bool {
    !r.is_open() && r.patient.is_some() && r.scopes.has_patient_context()
}

/// The person an active RelatedPerson represents.
fn represented_by(related: &Value) -> Option<String> {
    if related["active"] == Value::Bool(false) {
        return None;
    }
    let (t, id) = related["patient"]["reference"].as_str().and_then(super::search::index::parse_reference)?;
    (t == "Patient").then_some(id)
}

/// `resource` with the confidentiality labels of `latest` added (labelling
/// a resource restricts every version of it); `None` when none are new.
fn with_labels_of(resource: &Value, latest: &Value) -> Option<Value> {
    let mine = resource["meta"]["security"].as_array().cloned().unwrap_or_default();
    let added: Vec<Value> = latest["meta"]["security"].as_array().into_iter().flatten().filter(|l| !mine.contains(l)).cloned().collect();
    if added.is_empty() {
        return None;
    }
    let mut relabelled = resource.clone();
    relabelled["meta"]["security"] = Value::Array(mine.into_iter().chain(added).collect());
    Some(relabelled)
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
        released: distinct(&report.released),
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
                // An operation judges the resource it is on before it runs, and again in its answer.
                _ => distinct(&report.shown),
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

/// `keys` without repetitions, in their order.
fn distinct(keys: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    keys.iter().filter(|k| seen.insert(k.as_str())).cloned().collect()
}

/// Folds the records of a batch's entries into the batch's record: every
/// resource, person, withheld and released resource they name.
pub fn merge_gathered(rec: &mut audit::Record, gathered: &[audit::Record]) {
    if gathered.is_empty() {
        return;
    }
    let refused = gathered.iter().filter(|g| g.status >= 400).count();
    for g in gathered {
        rec.entities.extend(g.entities.iter().cloned());
        rec.withheld.extend(g.withheld.iter().cloned());
        rec.released.extend(g.released.iter().cloned());
        rec.patients.extend(g.patients.iter().cloned());
        rec.override_used |= g.override_used;
    }
    rec.description = format!("{}; {} entries not written on their own ({refused} refused)", rec.description, gathered.len());
}

/// The audit record of a transaction, written with it: every entry's
/// resource (with its version) and every person its entries concern.
pub fn record_of_transaction(req: &Request, replies: &[Reply]) -> audit::Record {
    let mut report = Report::default();
    for r in replies {
        if let Some(v) = &r.version {
            report.shown.push(format!("{}/{}/_history/{}", v.res_type, v.id, v.version));
        }
        report.patients.extend(r.patients.iter().cloned());
    }
    let mut rec = record_of(&Interaction::Batch, req, &Ok(Reply::body(200, Value::Null)), &report);
    rec.subtype = "transaction".into();
    rec
}

/// The audit record of a single write, written with it.
pub fn record_of_write(interaction: &Interaction, req: &Request, reply: &Reply) -> audit::Record {
    let report = Report { patients: reply.patients.clone(), ..Report::default() };
    record_of(interaction, req, &Ok(reply.clone_without_body()), &report)
}

fn target_of(interaction: &Interaction) -> Option<String> {
    use Interaction as I;
    match interaction {
        I::Read(t, id) | I::Update(t, id) | I::Patch(t, id) | I::Delete(t, id) | I::HistoryInstance(t, id) | I::Vread(t, id, _) | I::ValidateInstance(t, id) => Some(format!("{t}/{id}")),
        I::PrsbView(id) | I::Everything(id) => Some(format!("CarePlan/{id}")),
        _ => None,
    }
}
