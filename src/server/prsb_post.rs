//! Storing a PRSB plan (`POST /$from-prsb?store=true`) over the plan the
//! server already keeps, without losing anything:
//!
//! - what the post leaves out is carried over (`prsb::archive::carry_over`):
//!   archived items stay as they were, active ones are archived with the
//!   reason recorded;
//! - each mapped resource is put over the stored one with `prsb::owned::merge`,
//!   so fields, extensions and identifiers others wrote through FHIR stay;
//! - a resource whose content would not change is left out of the
//!   transaction (what refers to it gets its `Type/id`), so an unchanged
//!   re-post makes no new version and "last updated" keeps meaning "last
//!   changed", and a writer is never asked to write what it did not change
//!   (the person's own app and a Provenance of their plan, say);
//! - each changed resource is updated with `If-Match` on the version the merge
//!   read, so a change made through FHIR meanwhile is refused (412), not lost;
//! - the plan's own "date last updated" is set once, from the plan first
//!   posted (a migrated plan keeps its date); later changes show through the
//!   versions' `meta.lastUpdated` (`prsb_ops::date_last_updated`).

use std::collections::HashMap;

use rusqlite::Connection;
use serde_json::{json, Value};

use super::error::{FhirError, FhirResult};
use super::interactions::{self, Reply};
use super::routing::Request;
use super::store::{self, Version};
use super::{access, clock, format, prsb_ops, references, Service};
use crate::issue::{Issue, IssueCode};
use crate::prsb::{self, vocab};

/// The plan as the server holds it, for a post over it.
struct Stored {
    plan: prsb::CarePlan,
    /// The date last updated the stored CarePlan carries (`plan-last-updated`).
    date: Option<String>,
    /// Every resource of the stored plan (`plan_closure::gather`).
    versions: Vec<Version>,
}

/// `POST /$from-prsb?store=true`.
pub fn store_plan(svc: &Service, req: &Request, mut plan: prsb::CarePlan) -> FhirResult<Reply> {
    let at = clock::instant(clock::now_ms());
    let stored = svc.store.read(|conn| stored_plan(svc, conn, req, &plan))?;
    let accepted = stored.as_ref().map(|s| prsb::existing_links(&s.plan)).unwrap_or_default();
    svc.store.read(|conn| check_existing_links(svc, conn, req, &plan, &accepted))?;
    let mut carried = prsb::archive::CarriedOver::default();
    if let Some(stored) = &stored {
        same_kind_of_needs(&plan, &stored.plan)?;
        carried = prsb::archive::carry_over(&mut plan, &stored.plan, &at);
        plan.date_last_updated = stored.date.clone();
        let problems = prsb::check_links(&plan);
        if !problems.is_empty() {
            let issues = problems.iter().map(|p| Issue::error(IssueCode::Invalid, p.pointer.clone(), format!("With the stored plan's items carried over: {}", p.message))).collect();
            return Err(FhirError::unprocessable(issues));
        }
    }
    let bundle = prsb::map::map(&plan);
    let text = prsb::map::to_json(&bundle).map_err(store::internal)?;
    let mut bundle: Value = serde_json::from_str(&text).map_err(store::internal)?;
    let closure = stored.as_ref().map(|s| s.versions.as_slice()).unwrap_or_default();
    svc.store.read(|conn| fit_to_stored(svc, conn, req, closure, &mut bundle))?;
    let transaction = Request {
        method: "POST".to_owned(),
        path: String::new(),
        query: Vec::new(),
        content_type: Some(format::FHIR_JSON.to_owned()),
        body: serde_json::to_vec(&bundle).map_err(store::internal)?,
        via_prsb_store: true,
        ..req.clone()
    };
    let mut reply = svc.execute(&transaction)?;
    for id in &carried.archived {
        reply.issues.push(super::note(format!("Item `{id}` was not in the plan posted and was archived ({})", prsb::archive::left_out_reason(&at))));
    }
    Ok(reply)
}

/// The person a plan is for, as the server knows them: the Patient with
/// the plan's NHS number (as this requester sees Patients).
fn person(svc: &Service, conn: &Connection, req: &Request, plan: &prsb::CarePlan) -> FhirResult<Option<String>> {
    let Some(nhs) = plan.person.as_ref().and_then(|p| p.nhs_number.as_deref()) else { return Ok(None) };
    let query = format!("identifier={}|{nhs}", vocab::NHS_NUMBER);
    Ok(access::matching_for(svc, conn, req, "Patient", &query, 2)?.into_iter().next().map(|(_, id)| id))
}

/// A need or a professional the plan links as an existing resource must be
/// one the server holds, and a need must be about the plan's own person: a
/// plan that pointed at another person's problem would show it as theirs to
/// every reader. What the requester may not see is answered as if it were
/// not there. Whom the plan may be shared with can be named before their
/// record is on the server: the consent then lets them in once it is.
/// A link the stored plan already holds was checked when it was made and
/// is kept as it is, even if what it points at has gone since: posting
/// the stored plan back never loses it.
fn check_existing_links(svc: &Service, conn: &Connection, req: &Request, plan: &prsb::CarePlan, accepted: &[prsb::ExistingLink]) -> FhirResult<()> {
    let links: Vec<prsb::ExistingLink> = prsb::existing_links(plan)
        .into_iter()
        .filter(|l| l.kind != prsb::LinkKind::Recipient && !accepted.iter().any(|a| a.kind == l.kind && a.item == l.item && a.reference == l.reference))
        .collect();
    if links.is_empty() {
        return Ok(());
    }
    let person = person(svc, conn, req, plan)?.map(|id| format!("Patient/{id}"));
    let mut issues = Vec::new();
    for link in links {
        let (t, id) = link.reference.split_once('/').unwrap_or((&link.reference, ""));
        let current = store::current(conn, t, id)?.filter(|v| !v.deleted());
        let visible = match current {
            Some(v) if access::may_see(svc, conn, req, &v)? => Some(interactions::resource_of(&v)?),
            _ => None,
        };
        let reference = &link.reference;
        let Some(resource) = visible else {
            issues.push(Issue::error(IssueCode::NotFound, link.pointer, format!("`{reference}` is not a resource this server holds (or one this requester may see): link one that is, or record it in the plan instead of `fhirReference`")));
            continue;
        };
        if link.kind == prsb::LinkKind::Need && (person.is_none() || resource["subject"]["reference"].as_str() != person.as_deref()) {
            issues.push(Issue::error(IssueCode::BusinessRule, link.pointer, format!("`{reference}` is not about this plan's person (found by the plan's NHS number): a plan links only the person's own problems")));
        }
    }
    if issues.is_empty() { Ok(()) } else { Err(FhirError::unprocessable(issues)) }
}

/// An organisation or a site found by its ODS code: shared by every record
/// that names it, and in no one's.
fn shared_reference_data(entry: &Value) -> bool {
    entry["request"]["method"] == "POST" && entry["request"]["ifNoneExist"].is_string() && matches!(entry["resource"]["resourceType"].as_str(), Some("Organization" | "Location"))
}

/// A need stays what it was when first posted: recorded in the plan (a
/// Condition of its own) or linked to the person's record. Turned from one
/// into the other, the first would be left behind, live, beside the second.
fn same_kind_of_needs(posted: &prsb::CarePlan, stored: &prsb::CarePlan) -> FhirResult<()> {
    let mut issues = Vec::new();
    for (i, need) in posted.needs.iter().enumerate() {
        let Some(was) = stored.needs.iter().find(|n| n.id == need.id) else { continue };
        if was.fhir_reference.is_some() != need.fhir_reference.is_some() {
            let (then, now) = if was.fhir_reference.is_some() { ("links an existing resource", "record it in the plan") } else { ("is recorded in the plan", "link an existing resource") };
            issues.push(Issue::error(
                IssueCode::BusinessRule,
                format!("/needs/{i}"),
                format!("Need `{}` {then}; to {now} instead, archive `{}` and add a new need with its own id", need.id, need.id),
            ));
        }
    }
    if issues.is_empty() { Ok(()) } else { Err(FhirError::unprocessable(issues)) }
}

/// The plan stored under this PRSB id *for this person*, whole (archived
/// items too). A plan id alone is not enough: anyone who writes plans could
/// give one of theirs another person's plan id, so the stored plan is the
/// CarePlan with the id whose subject is the plan's person (found by NHS
/// number), or, for a plan without one, whose subject is the plan's own
/// Patient.
fn stored_plan(svc: &Service, conn: &Connection, req: &Request, plan: &prsb::CarePlan) -> FhirResult<Option<Stored>> {
    let plan_id = &plan.id;
    // The plan's person: by NHS number, or without one the plan's own Patient.
    let person = match plan.person.as_ref().and_then(|p| p.nhs_number.as_deref()) {
        Some(_) => person(svc, conn, req, plan)?,
        None => {
            let own_person = format!("{plan_id}/{}", prsb::map::key::PERSON);
            let query = format!("identifier={}", prsb::map::token_query(&vocab::identifier_system(vocab::id::PLAN_ITEM), &own_person));
            access::matching_for(svc, conn, req, "Patient", &query, 2)?.into_iter().next().map(|(_, id)| id)
        }
    };
    let Some(person) = person else { return Ok(None) };
    // Only the person's own plans are looked at: another person's plan under
    // the same id is none of this post's business (nor a sign it exists).
    let query = format!("identifier={}&subject=Patient/{person}", prsb::map::token_query(&vocab::identifier_system(vocab::id::PLAN), plan_id));
    let mut found = None;
    for (_, id) in access::matching_for(svc, conn, req, "CarePlan", &query, 50)? {
        let Some(care_plan) = store::current(conn, "CarePlan", &id)?.filter(|v| !v.deleted()) else { continue };
        let json = interactions::resource_of(&care_plan)?;
        let subject = json["subject"]["reference"].as_str().and_then(super::search::index::parse_reference);
        if subject.is_some_and(|(t, s)| t == "Patient" && s == person) {
            if found.is_some() {
                return Err(FhirError::conflict(412, format!("More than one CarePlan of this person has the plan id `{plan_id}`; the server cannot tell which one this post updates")));
            }
            found = Some(care_plan);
        }
    }
    let Some(care_plan) = found else { return Ok(None) };
    let date = interactions::resource_of(&care_plan)?["extension"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["url"].as_str() == Some(vocab::structure_definition(vocab::ext::PLAN_LAST_UPDATED).as_str()))
        .and_then(|e| e["valueDateTime"].as_str())
        .map(str::to_owned);
    // The data controller's systems (an importer) and the person themselves
    // write over the whole plan, whatever the consent or the compartment's
    // bounds let them read (a Provenance of the plan is not in the person's
    // compartment); anyone else only over what they may see.
    let r = &req.requester;
    let subject = interactions::resource_of(&care_plan)?["subject"]["reference"].as_str().map(str::to_owned);
    let own_plan = access::patient_scoped(r) && r.patient.as_deref().is_some_and(|p| subject.as_deref() == Some(&format!("Patient/{p}")));
    let gate = access::Gate::new(svc, r);
    let judged = if own_plan || access::acts_for_data_controller(r, "CarePlan") { None } else { Some(&gate) };
    let (plan, filtered, versions) = prsb_ops::read_plan(svc, conn, judged, care_plan, None, true)?;
    if filtered {
        return Err(FhirError::new(
            403,
            IssueCode::Forbidden,
            format!("Parts of plan `{plan_id}` are withheld from this requester, so a post could not keep them; the plan can be posted by someone who may see all of it"),
        ));
    }
    Ok(Some(Stored { plan, date, versions }))
}

fn has_identifier(resource: &Value, system: &str, value: &str) -> bool {
    resource["identifier"].as_array().into_iter().flatten().any(|i| i["system"] == system && i["value"] == value)
}

/// Where an entry of the mapped Bundle already is. An item of the plan (a
/// plan-item or plan identifier, a Provenance by id) is looked for only
/// among the stored plan's own resources: an identifier is only a claim,
/// which any writer could have put on a resource of theirs. What is shared
/// beyond the plan (the person by NHS number, a professional by their
/// identifier) is found by the criteria, among what the requester may see.
enum Found {
    /// Not on the server: created with an id of its own.
    New,
    /// This version of a resource of the stored plan.
    InPlan(Version),
    /// Shared, found (or not) by the entry's own criteria.
    Shared(Option<Version>),
}

fn find(svc: &Service, conn: &Connection, req: &Request, closure: &[(&Version, Value)], entry: &Value) -> FhirResult<Found> {
    let request = &entry["request"];
    let url = request["url"].as_str().unwrap_or_default();
    let ours = |system: &str| system == vocab::identifier_system(vocab::id::PLAN_ITEM) || system == vocab::identifier_system(vocab::id::PLAN);
    let in_plan = |t: &str, test: &dyn Fn(&Value) -> bool| -> FhirResult<Found> {
        Ok(closure
            .iter()
            .find(|(v, resource)| v.res_type == t && test(resource))
            .map_or(Found::New, |(v, _)| Found::InPlan((*v).clone())))
    };
    let shared = |t: &str, query: &str| -> FhirResult<Found> {
        let found = access::matching_for(svc, conn, req, t, query, 2)?;
        let [(t, id)] = found.as_slice() else { return Ok(Found::Shared(None)) };
        Ok(Found::Shared(store::current(conn, t, id)?.filter(|v| !v.deleted())))
    };
    match (request["method"].as_str(), url.split_once('?'), request["ifNoneExist"].as_str()) {
        (Some("PUT"), Some((t, query)), _) => {
            let criteria: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
            match criteria.as_slice() {
                [(name, token)] if name == "identifier" => match token.split_once('|') {
                    Some((system, value)) if ours(system) => in_plan(t, &|r| has_identifier(r, system, value)),
                    _ => shared(t, query),
                },
                _ => shared(t, query),
            }
        }
        (Some("POST"), None, Some(condition)) => shared(url, interactions::condition_query(condition)),
        (Some("PUT"), None, _) => match url.split_once('/') {
            Some((t, id)) => in_plan(t, &|r| r["id"] == id),
            None => Ok(Found::New),
        },
        _ => Ok(Found::New),
    }
}

/// Puts each entry over what the server holds: merged with the stored
/// resource and updated on its version, or, when nothing would change, left
/// out; a plan item the stored plan does not hold is created anew.
fn fit_to_stored(svc: &Service, conn: &Connection, req: &Request, closure: &[Version], bundle: &mut Value) -> FhirResult<()> {
    let Some(entries) = bundle["entry"].as_array_mut() else { return Ok(()) };
    // Each stored resource read once, however many entries look among them;
    // only what is in the plan's person's record (or no one's) is the
    // plan's to write over: another person's resource that carries the
    // same plan-item identifier (they stored a plan under the same id, and
    // something links to it) is theirs, and an item not found is created.
    let person = closure
        .first()
        .and_then(|cp| interactions::resource_of(cp).ok())
        .and_then(|cp| cp["subject"]["reference"].as_str().and_then(super::search::index::parse_reference))
        .filter(|(t, _)| t == "Patient")
        .map(|(_, id)| id);
    let mut own = Vec::with_capacity(closure.len());
    for (i, v) in closure.iter().enumerate() {
        // The CarePlan is the one the stored plan was found as, whoever it names.
        if i == 0 || !store::in_another_record(conn, &v.res_type, &v.id, person.as_deref())? {
            own.push((v, interactions::resource_of(v)?));
        }
    }
    let closure = own;
    let mut found: Vec<Found> = Vec::with_capacity(entries.len());
    let mut ids: HashMap<String, String> = HashMap::new();
    for e in entries.iter() {
        let f = find(svc, conn, req, &closure, e)?;
        if let (Found::InPlan(v) | Found::Shared(Some(v)), Some(full_url)) = (&f, e["fullUrl"].as_str()) {
            ids.insert(full_url.to_owned(), format!("{}/{}", v.res_type, v.id));
        }
        found.push(f);
    }
    // A Provenance has no identifier in R4: the plan's own is the one of the
    // stored plan that records the same target.
    for (e, f) in entries.iter().zip(found.iter_mut()) {
        if matches!(f, Found::New) && e["resource"]["resourceType"] == "Provenance" {
            let mut target = e["resource"]["target"].clone();
            references::rename(&mut target, &ids);
            if let Some((v, _)) = closure.iter().find(|(v, resource)| v.res_type == "Provenance" && resource["target"] == target) {
                *f = Found::InPlan((*v).clone());
            }
        }
    }
    let mut unchanged = vec![false; entries.len()];
    let mut not_created: Vec<String> = Vec::new();
    let patient_scoped = access::patient_scoped(&req.requester);
    for ((e, f), same) in entries.iter_mut().zip(found).zip(unchanged.iter_mut()) {
        let stored = match f {
            Found::New => {
                // Created under an id of its own, never by criteria that
                // something else could be made to match meanwhile.
                let t = e["resource"]["resourceType"].as_str().unwrap_or_default().to_owned();
                if e["request"]["method"] == "PUT" {
                    e["request"] = json!({"method": "POST", "url": t});
                    e["resource"].as_object_mut().map(|r| r.shift_remove("id"));
                }
                references::rename(&mut e["resource"], &ids);
                continue;
            }
            Found::Shared(None) if patient_scoped && shared_reference_data(e) => {
                // A person's own app writes only into their record: an
                // organisation or site it cannot find stays as the plan
                // recorded it, on the references (code and words).
                not_created.extend(e["fullUrl"].as_str().map(str::to_owned));
                *same = true;
                continue;
            }
            Found::Shared(None) => {
                references::rename(&mut e["resource"], &ids);
                continue;
            }
            Found::InPlan(v) | Found::Shared(Some(v)) => v,
        };
        if e["request"]["method"] == "POST" {
            // Found by a conditional create (the person, by NHS number): used
            // as it is, once it is plainly the same person.
            let found = interactions::resource_of(&stored)?;
            let (was, now) = (&found["birthDate"], &e["resource"]["birthDate"]);
            if was.is_string() && now.is_string() && was != now {
                return Err(FhirError::unprocessable(vec![Issue::error(
                    IssueCode::BusinessRule,
                    "/person/birthDate",
                    format!("The Patient with this plan's NHS number was born on {}, not {}: check the NHS number and the date of birth before the plan is filed under that person", was.as_str().unwrap_or_default(), now.as_str().unwrap_or_default()),
                )]));
            }
            *same = true;
            continue;
        }
        let mut mapped = e["resource"].take();
        references::rename(&mut mapped, &ids);
        let found = interactions::resource_of(&stored)?;
        let merged = prsb::owned::merge(&found, &mapped);
        *same = interactions::unchanged(&stored, &merged) || interactions::unchanged(&stored, &with_profiles_of(&found, &merged));
        // The very resource found, on the very version the merge read.
        e["request"] = json!({"method": "PUT", "url": format!("{}/{}", stored.res_type, stored.id), "ifMatch": format!("W/\"{}\"", stored.version)});
        e["resource"] = merged;
    }
    let mut same = unchanged.into_iter();
    entries.retain(|_| !same.next().unwrap_or(false));
    for e in entries.iter_mut() {
        references::forget(&mut e["resource"], &not_created);
    }
    Ok(())
}

/// `merged` with the profiles `stored` claims. A resource that differs from
/// what is stored only by the mapping's profile claims is left as it is:
/// whoever wrote it without them (a person's app, say) decided so, and
/// claiming them again is no reason for a new version, nor for refusing a
/// post whose poster may not write that resource (the eighteenth pass's K7).
fn with_profiles_of(stored: &Value, merged: &Value) -> Value {
    let mut out = merged.clone();
    match (stored["meta"].get("profile"), out.get_mut("meta").and_then(Value::as_object_mut)) {
        (Some(profiles), Some(meta)) => {
            meta.insert("profile".into(), profiles.clone());
        }
        (None, Some(meta)) => {
            meta.shift_remove("profile");
            if meta.is_empty() {
                out.as_object_mut().map(|o| o.shift_remove("meta"));
            }
        }
        _ => {}
    }
    out
}
