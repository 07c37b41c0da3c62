//! The resources of one care plan, and `CarePlan/{id}/$everything`.
//!
//! [`gather`] is the one closure of a plan both `CarePlan/{id}/$prsb` (the
//! PRSB view, `prsb_ops`) and `CarePlan/{id}/$everything` answer from: the
//! CarePlan, every resource it refers to and, transitively, what those
//! refer to; then the records that point back at it (Provenance targeting
//! the plan, the person's Consents and their Provenance) and what they
//! refer to. It is bounded by [`MAX_PLAN_RESOURCES`], and the answer of
//! each operation is judged by the access layer resource by resource
//! (`access::visible_versions`), as any read is.

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

/// The CarePlan and every resource of the plan: what it references, what
/// those reference, and the Provenance and Consent records that point back
/// at it; as they are now, or as they were at `moment`. The plan comes
/// first, then the rest in the order they were reached.
pub fn gather(svc: &Service, conn: &Connection, care_plan: Version, moment: Option<i64>) -> FhirResult<Vec<Version>> {
    let fetch = |t: &str, id: &str| -> FhirResult<Option<Version>> {
        let found = match moment {
            Some(m) => store::as_at(conn, t, id, m)?,
            None => store::current(conn, t, id)?,
        };
        Ok(found.filter(|v| !v.deleted()))
    };
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut queue: VecDeque<Version> = VecDeque::new();
    let mut out = Vec::new();
    seen.insert(("CarePlan".to_owned(), care_plan.id.clone()));
    queue.push_back(care_plan);
    let mut back_links_done = false;
    loop {
        while let Some(v) = queue.pop_front() {
            let json: Value = serde_json::from_slice(v.body.as_deref().unwrap_or_default()).map_err(store::internal)?;
            let mut targets = Vec::new();
            references(&json, &mut targets);
            for (t, id) in targets {
                if seen.insert((t.clone(), id.clone())) {
                    if let Some(found) = fetch(&t, &id)? {
                        queue.push_back(found);
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
        // Records that point at the plan: who prepared it (Provenance), the
        // person's consent for information sharing and who took it.
        let plan_id = &out[0].id;
        let patients: Vec<String> = out.iter().filter(|v| v.res_type == "Patient").map(|v| v.id.clone()).collect();
        let mut back: Vec<(String, String)> = query::matching(conn, &svc.registry, "Provenance", &format!("target=CarePlan/{plan_id}"), 100, None)?;
        for patient in &patients {
            for consent in query::matching(conn, &svc.registry, "Consent", &format!("patient=Patient/{patient}"), 100, None)? {
                back.extend(query::matching(conn, &svc.registry, "Provenance", &format!("target=Consent/{}", consent.1), 100, None)?);
                back.push(consent);
            }
        }
        for (t, id) in back {
            if seen.insert((t.clone(), id.clone())) {
                if let Some(found) = fetch(&t, &id)? {
                    queue.push_back(found);
                }
            }
        }
    }
    Ok(out)
}

/// Every relative reference (`Type/id`, possibly versioned) in a resource.
fn references(value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v.as_str()) {
                    ("reference", Some(text)) => out.extend(super::search::index::parse_reference(text)),
                    // Not a reference's text: an element that is itself a Reference
                    // named `reference` (Consent.provision.actor.reference) holds one.
                    _ => references(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
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
    let versions = svc.store.read(|conn| {
        let care_plan = store::current(conn, "CarePlan", id)?.ok_or_else(|| FhirError::not_found(format!("CarePlan/{id} does not exist")))?;
        if care_plan.deleted() {
            return Err(FhirError::gone(format!("CarePlan/{id} was deleted")));
        }
        gather(svc, conn, care_plan, None)
    })?;
    let gathered = versions.len();
    let (versions, filtered) = access::visible_versions(gate, versions)?;
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
