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
use super::{access, clock, format, prsb_ops, Service};
use crate::issue::{Issue, IssueCode};
use crate::prsb::{self, vocab};

/// `POST /$from-prsb?store=true`.
pub fn store_plan(svc: &Service, req: &Request, mut plan: prsb::CarePlan) -> FhirResult<Reply> {
    let at = clock::instant(clock::now_ms());
    let stored = svc.store.read(|conn| stored_plan(svc, conn, req, &plan.id))?;
    let mut carried = prsb::archive::CarriedOver::default();
    if let Some((earlier, date)) = &stored {
        carried = prsb::archive::carry_over(&mut plan, earlier, &at);
        plan.date_last_updated = date.clone();
        let problems = prsb::check_links(&plan);
        if !problems.is_empty() {
            let issues = problems.iter().map(|p| Issue::error(IssueCode::Invalid, p.pointer.clone(), format!("With the stored plan's items carried over: {}", p.message))).collect();
            return Err(FhirError::unprocessable(issues));
        }
    }
    let bundle = prsb::map::map(&plan);
    let text = prsb::map::to_json(&bundle).map_err(store::internal)?;
    let mut bundle: Value = serde_json::from_str(&text).map_err(store::internal)?;
    svc.store.read(|conn| fit_to_stored(svc, conn, req, &mut bundle))?;
    let transaction = Request {
        method: "POST".to_owned(),
        path: String::new(),
        query: Vec::new(),
        content_type: Some(format::FHIR_JSON.to_owned()),
        body: serde_json::to_vec(&bundle).map_err(store::internal)?,
        ..req.clone()
    };
    let mut reply = svc.execute(&transaction)?;
    for id in &carried.archived {
        reply.issues.push(super::note(format!("Item `{id}` was not in the plan posted and was archived ({})", prsb::archive::left_out_reason(&at))));
    }
    Ok(reply)
}

/// The plan stored under this PRSB id, whole (archived items too), and the
/// date last updated it carries, if the server has it.
fn stored_plan(svc: &Service, conn: &Connection, req: &Request, plan_id: &str) -> FhirResult<Option<(prsb::CarePlan, Option<String>)>> {
    let query = format!("identifier={}|{plan_id}", vocab::identifier_system(vocab::id::PLAN));
    let found = access::matching_for(svc, conn, req, "CarePlan", &query, 2)?;
    let [(_, id)] = found.as_slice() else {
        if found.len() > 1 {
            return Err(FhirError::conflict(412, format!("More than one CarePlan has the plan id `{plan_id}`; the server cannot tell which one this post updates")));
        }
        return Ok(None);
    };
    let Some(care_plan) = store::current(conn, "CarePlan", id)?.filter(|v| !v.deleted()) else { return Ok(None) };
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
    let (plan, filtered) = prsb_ops::read_plan(svc, conn, judged, care_plan, None)?;
    if filtered {
        return Err(FhirError::new(
            403,
            IssueCode::Forbidden,
            format!("Parts of plan `{plan_id}` are withheld from this requester, so a post could not keep them; the plan can be posted by someone who may see all of it"),
        ));
    }
    Ok(Some((plan, date)))
}

/// Where each entry of the mapped Bundle already is on the server: its
/// `Type/id`, and the current version.
fn existing(svc: &Service, conn: &Connection, req: &Request, entry: &Value) -> FhirResult<Option<Version>> {
    let request = &entry["request"];
    let url = request["url"].as_str().unwrap_or_default();
    let found = match (request["method"].as_str(), url.split_once('?'), request["ifNoneExist"].as_str()) {
        (Some("PUT"), Some((t, query)), _) => access::matching_for(svc, conn, req, t, query, 2)?,
        (Some("POST"), None, Some(condition)) => access::matching_for(svc, conn, req, url, interactions::condition_query(condition), 2)?,
        (Some("PUT"), None, _) => match url.split_once('/') {
            Some((t, id)) => vec![(t.to_owned(), id.to_owned())],
            None => Vec::new(),
        },
        _ => Vec::new(),
    };
    let [(t, id)] = found.as_slice() else { return Ok(None) };
    Ok(store::current(conn, t, id)?.filter(|v| !v.deleted()))
}

/// Puts each entry over what the server holds: merged with the stored
/// resource and updated on its version, or, when nothing would change, left
/// out.
fn fit_to_stored(svc: &Service, conn: &Connection, req: &Request, bundle: &mut Value) -> FhirResult<()> {
    let Some(entries) = bundle["entry"].as_array_mut() else { return Ok(()) };
    let mut current: Vec<Option<Version>> = Vec::with_capacity(entries.len());
    let mut ids: HashMap<String, String> = HashMap::new();
    for e in entries.iter() {
        let found = existing(svc, conn, req, e)?;
        if let (Some(v), Some(full_url)) = (&found, e["fullUrl"].as_str()) {
            ids.insert(full_url.to_owned(), format!("{}/{}", v.res_type, v.id));
        }
        current.push(found);
    }
    let mut unchanged = vec![false; entries.len()];
    for ((e, found), same) in entries.iter_mut().zip(current).zip(unchanged.iter_mut()) {
        let Some(stored) = found else {
            rewrite(&mut e["resource"], &ids);
            continue;
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
        rewrite(&mut mapped, &ids);
        let merged = prsb::owned::merge(&interactions::resource_of(&stored)?, &mapped);
        *same = interactions::unchanged(&stored, &merged);
        e["request"]["ifMatch"] = json!(format!("W/\"{}\"", stored.version));
        e["resource"] = merged;
    }
    let mut same = unchanged.into_iter();
    entries.retain(|_| !same.next().unwrap_or(false));
    Ok(())
}

/// References to other entries' fullUrls → the `Type/id` they already have.
fn rewrite(value: &mut Value, ids: &HashMap<String, String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    Value::String(s) if key == "reference" => {
                        if let Some(id) = ids.get(s.as_str()) {
                            *s = id.clone();
                        }
                    }
                    _ => rewrite(v, ids),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite(v, ids)),
        _ => {}
    }
}
