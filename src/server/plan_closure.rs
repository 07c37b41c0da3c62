//! The resources of one care plan, and `CarePlan/{id}/$everything`.
//!
//! [`gather`] is the one closure of a plan both `CarePlan/{id}/$prsb` (the
//! PRSB view, `prsb_ops`) and `CarePlan/{id}/$everything` answer from, and
//! that `$from-prsb?store=true` posts over: the CarePlan and the plan's own
//! items (those with this plan's plan-item identifier), everything they
//! refer to, and the records that point back at the plan (Provenance
//! targeting it, its person's Consents and their Provenance). What the plan
//! only refers to (its person's Patient, a linked GP Condition, a shared
//! Practitioner, Organization or Location) is in the closure, but what *that*
//! refers to is not: a family link on the Patient or a reference on the GP's
//! record leads out of the plan, into other people's records. What is in
//! another person's record (their compartment) is no part of this person's
//! plan, whatever links to it: it is left out, and the links to it are taken
//! out of what the closure holds, so neither a view nor a post of the plan
//! ever reads it as the plan's. It is bounded
//! by [`MAX_PLAN_RESOURCES`], and the answer of each operation is judged by
//! the access layer resource by resource (`access::visible_versions`), as
//! any read is.

use std::collections::{HashSet, VecDeque};

use rusqlite::Connection;
use serde_json::{json, Value};

use super::access::{self, Gate};
use super::error::{FhirError, FhirResult};
use super::interactions::{resource_of, Reply};
use super::routing::Request;
use super::search::query;
use super::store::{self, Version};
use super::{pages, Service};
use crate::issue::IssueCode;

/// At most this many resources make up one plan; a plan that links to more
/// is refused rather than read without end.
pub const MAX_PLAN_RESOURCES: usize = 10_000;

/// The resources of one plan, and what they link to in other people's
/// records (left out; [`Closure::without_elsewhere`] takes the links out).
pub struct Closure {
    pub versions: Vec<Version>,
    pub elsewhere: std::collections::BTreeSet<(String, String)>,
}

impl Closure {
    /// Copies of the versions with their links to what is elsewhere taken
    /// out, to read the plan from (no reader sees them, so they are not
    /// labelled). A Consent keeps its links: they are the person's choices,
    /// and one taken out of a provision would widen it.
    pub fn without_elsewhere(&self) -> FhirResult<Vec<Version>> {
        let mut versions = self.versions.clone();
        if !self.elsewhere.is_empty() {
            for v in versions.iter_mut().filter(|v| v.res_type != "Consent") {
                let mut json = resource_of(v)?;
                if access::unlink(&mut json, &self.elsewhere) {
                    v.body = Some(serde_json::to_vec(&json).map_err(store::internal)?);
                }
            }
        }
        Ok(versions)
    }
}

/// The CarePlan and every resource of the plan (see the module's comment),
/// as they are now, or as they were at `moment`. The plan comes first, then
/// the rest in the order they were reached.
pub fn gather(svc: &Service, conn: &Connection, care_plan: Version, moment: Option<i64>) -> FhirResult<Closure> {
    let fetch = |t: &str, id: &str| -> FhirResult<Option<Version>> {
        let found = match moment {
            Some(m) => store::as_at(conn, t, id, m)?,
            None => store::current(conn, t, id)?,
        };
        Ok(found.filter(|v| !v.deleted()))
    };
    let plan_json = resource_of(&care_plan)?;
    let item_prefix = plan_json["identifier"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["system"].as_str() == Some(crate::prsb::vocab::identifier_system(crate::prsb::vocab::id::PLAN).as_str()))
        .and_then(|i| i["value"].as_str())
        .map(|plan| format!("{plan}/"));
    let item_system = crate::prsb::vocab::identifier_system(crate::prsb::vocab::id::PLAN_ITEM);
    let own_item = |json: &Value| {
        item_prefix.as_deref().is_some_and(|prefix| {
            json["identifier"].as_array().into_iter().flatten().any(|i| {
                i["system"].as_str() == Some(item_system.as_str()) && i["value"].as_str().is_some_and(|v| v.starts_with(prefix))
            })
        })
    };
    let person = plan_json["subject"]["reference"].as_str().and_then(super::search::index::parse_reference).filter(|(t, _)| t == "Patient").map(|(_, id)| id);

    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut elsewhere: std::collections::BTreeSet<(String, String)> = std::collections::BTreeSet::new();
    // Each with its content when what it refers to is part of the plan too
    // (read once: for whether it is the plan's own, and then to follow it).
    let mut queue: VecDeque<(Version, Option<Value>)> = VecDeque::new();
    let mut out = Vec::new();
    seen.insert(("CarePlan".to_owned(), care_plan.id.clone()));
    queue.push_back((care_plan, Some(plan_json.clone())));
    let mut back_links_done = false;
    loop {
        while let Some((v, followed)) = queue.pop_front() {
            if let Some(json) = followed {
                let mut targets = Vec::new();
                references(&json, &mut targets);
                for (t, id) in targets {
                    if seen.insert((t.clone(), id.clone())) {
                        if let Some(found) = fetch(&t, &id)? {
                            if store::in_another_record(conn, &t, &id, person.as_deref())? {
                                elsewhere.insert((t, id));
                                continue;
                            }
                            let json = resource_of(&found)?;
                            let followed = own_item(&json).then_some(json);
                            queue.push_back((found, followed));
                        }
                    }
                }
            }
            out.push(v);
            if out.len() > MAX_PLAN_RESOURCES {
                return Err(FhirError::bad_request(format!("The plan links to more than {MAX_PLAN_RESOURCES} resources")));
            }
        }
        if back_links_done {
            break;
        }
        back_links_done = true;
        // Records that point at the plan: who prepared it (Provenance), its
        // person's consent for information sharing and who took it.
        let plan_id = &out[0].id;
        let mut back: Vec<(String, String)> = query::matching(conn, &svc.registry, "Provenance", &format!("target=CarePlan/{plan_id}"), 100, None)?;
        if let Some(patient) = &person {
            for consent in query::matching(conn, &svc.registry, "Consent", &format!("patient=Patient/{patient}"), 100, None)? {
                back.extend(query::matching(conn, &svc.registry, "Provenance", &format!("target=Consent/{}", consent.1), 100, None)?);
                back.push(consent);
            }
        }
        for (t, id) in back {
            if seen.insert((t.clone(), id.clone())) {
                if let Some(found) = fetch(&t, &id)? {
                    let json = resource_of(&found)?;
                    queue.push_back((found, Some(json)));
                }
            }
        }
    }
    Ok(Closure { versions: out, elsewhere })
}

/// Every relative reference (`Type/id`, possibly versioned) in a resource.
fn references(value: &Value, out: &mut Vec<(String, String)>) {
    super::references::each(value, &mut |text| out.extend(super::search::index::parse_reference(text)));
}

/// `GET|POST /CarePlan/{id}/$everything`: a searchset Bundle of the plan
/// (`search.mode` match) and every resource of [`gather`] (include), as
/// they are now. What the requester may not see is left out, references to
/// it are taken out of what is shown, and the answer is marked (as the
/// PRSB view is): `gate` is the request's own, so its AuditEvent names
/// every resource disclosed. Bounded by [`MAX_PLAN_RESOURCES`] and by the
/// request's answer budget (`--max-response-bytes`).
pub fn everything(svc: &Service, gate: &Gate, id: &str, req: &Request) -> FhirResult<Reply> {
    if let Some((name, _)) = req.query.iter().find(|(k, _)| k != "_format" && k != "_pretty") {
        return Err(FhirError::bad_request(format!("CarePlan/$everything takes no parameter '{name}': it answers the whole plan as it is now")));
    }
    let closure = svc.store.read(|conn| {
        let care_plan = store::current(conn, "CarePlan", id)?.ok_or_else(|| FhirError::not_found(format!("CarePlan/{id} does not exist")))?;
        if care_plan.deleted() {
            return Err(FhirError::gone(format!("CarePlan/{id} was deleted")));
        }
        gather(svc, conn, care_plan, None)
    })?;
    let gathered = closure.versions.len() + closure.elsewhere.len();
    let (versions, filtered) = access::visible_versions(gate, closure.versions, &closure.elsewhere)?;
    let mut entries = Vec::with_capacity(versions.len());
    for (i, v) in versions.iter().enumerate() {
        let bytes = v.body.as_ref().map_or(0, Vec::len);
        if !req.budget.take(bytes + super::limits::ENTRY_OVERHEAD) {
            return Err(FhirError::new(413, IssueCode::TooCostly, format!("CarePlan/{id} and what it links to are larger than one answer may carry: {}", req.budget.message())));
        }
        let mode = if i == 0 { "match" } else { "include" };
        entries.push(json!({"fullUrl": pages::full_url(&req.base, v), "resource": resource_of(v)?, "search": {"mode": mode}}));
    }
    let self_link = json!({"relation": "self", "url": format!("{}/{}", req.base, req.path)});
    let mut bundle = pages::bundle("searchset", Some(1), vec![self_link], entries);
    if filtered {
        access::mark_redacted(&mut bundle, gathered - versions.len());
    }
    let mut reply = Reply::body(200, bundle);
    reply.filtered = filtered;
    Ok(reply)
}
