//! The PRSB operations: `$from-prsb` (a plan in the PRSB format in, its
//! transaction Bundle out, or stored as that transaction) and
//! `CarePlan/{id}/$prsb` (the PRSB view of a stored plan: active items only
//! unless asked, and any earlier version by `version` or `_at`).

use rusqlite::Connection;
use serde_json::Value;

use super::access::Gate;
use super::error::{FhirError, FhirResult};
use super::interactions::Reply;
use super::plan_closure::gather;
use super::routing::Request;
use super::search::dates;
use super::store::{self, Version};
use super::Service;

fn flag(req: &Request, name: &str) -> bool {
    req.param(name).is_some_and(|v| v == "true")
}

/// `POST /$from-prsb[?store=true]`.
pub fn from_prsb(svc: &Service, req: &Request) -> FhirResult<Reply> {
    let plan = crate::prsb::read(&req.body)
        .map_err(|problems| FhirError::unprocessable(crate::prsb::problems_as_issues(&req.body, &problems)))?;
    // Bounded before anything is built from it: every item becomes an
    // entry (looked for, merged and validated one by one when stored), and
    // a plan is mapped and compared whole in memory.
    // Everything a plan lists (items, comments, assessments, attorneys, people
    // it is shared with, links, strategies, changes suggested) makes
    // resources or parts of them.
    let items = listed(&serde_json::to_value(&plan).map_err(store::internal)?);
    let most = svc.config.limits.max_bundle_conditionals.min(svc.config.limits.max_bundle_entries);
    if items > most {
        return Err(FhirError::new(
            413,
            crate::issue::IssueCode::TooCostly,
            format!("The plan has {items} items; this server takes plans of at most {most} (--max-bundle-conditionals, --max-bundle-entries): archive what is finished into a plan of its own, or raise the limit"),
        ));
    }
    if flag(req, "store") {
        return super::prsb_post::store_plan(svc, req, plan);
    }
    let bundle = crate::prsb::map::map(&plan);
    let json = crate::prsb::map::to_json(&bundle).map_err(store::internal)?;
    let value: Value = serde_json::from_str(&json).map_err(store::internal)?;
    Ok(Reply::body(200, value))
}

/// How many values the arrays of a JSON value hold, at any depth.
fn listed(value: &Value) -> usize {
    match value {
        Value::Array(items) => items.len() + items.iter().map(listed).sum::<usize>(),
        Value::Object(map) => map.values().map(listed).sum(),
        _ => 0,
    }
}

/// `GET|POST /CarePlan/{id}/$prsb[?includeArchived=true][&version=N | &_at=instant]`.
pub fn view(svc: &Service, gate: &Gate, id: &str, req: &Request) -> FhirResult<Reply> {
    let version = match req.param("version") {
        Some(v) => Some(v.parse::<i64>().map_err(|_| FhirError::bad_request(format!("version={v}: expected a version number")))?),
        None => None,
    };
    let at = match req.param("_at") {
        Some(t) => Some(dates::range(t).map(|(_, hi)| hi).ok_or_else(|| FhirError::bad_request(format!("_at={t}: expected a date or an instant")))?),
        None => None,
    };
    let plan = svc.store.read(|conn| {
        let care_plan = match (version, at) {
            (Some(v), _) => store::version(conn, "CarePlan", id, v)?,
            (None, Some(t)) => store::as_at(conn, "CarePlan", id, t)?,
            (None, None) => store::current(conn, "CarePlan", id)?,
        }
        .ok_or_else(|| FhirError::not_found(format!("CarePlan/{id} has no such version (or did not exist at that time)")))?;
        if care_plan.deleted() {
            return Err(FhirError::gone(format!("CarePlan/{id} was deleted")));
        }
        // An earlier version of the plan shows its items as they were while
        // it was the current version: up to just before the plan's next one
        // (the items of one transaction are stamped one by one, so the
        // plan's own stamp can come before theirs).
        let moment = match (version, at) {
            (_, Some(t)) => Some(t),
            (Some(v), None) => store::version(conn, "CarePlan", id, v + 1)?.map(|next| next.last_updated - 1),
            (None, None) => None,
        };
        read_plan(svc, conn, Some(gate), care_plan, moment, false).map(|(plan, filtered, _)| (plan, filtered))
    })?;
    let (plan, filtered) = plan;
    let plan = if flag(req, "includeArchived") { plan } else { crate::prsb::archive::active_view(&plan) };
    let mut reply = Reply::plain_json(serde_json::to_value(&plan).map_err(store::internal)?);
    reply.filtered = filtered;
    Ok(reply)
}

/// A stored plan as a PRSB plan, whole (archived items too), as it is now
/// or was at `moment`: with only what `gate`'s requester may see (scopes,
/// compartment, consent; `true` when something was left out), or, with no
/// gate, all of it, for a writer who may write over the whole plan (the data
/// controller's own systems, the person themselves): nothing read that way
/// is answered, and what the write returns is judged.
///
/// What the plan links in other people's records is never part of it: a
/// view (`for_post` false) shows the plan without those links and marked as
/// filtered; a post reads it without them, and `true` then means only that
/// something of the plan itself is withheld from the writer.
pub fn read_plan(svc: &Service, conn: &Connection, gate: Option<&Gate>, care_plan: Version, moment: Option<i64>, for_post: bool) -> FhirResult<(crate::prsb::CarePlan, bool, Vec<Version>)> {
    let id = care_plan.id.clone();
    let first_stored = store::version(conn, "CarePlan", &id, 1)?.map(|v| v.last_updated);
    let closure = gather(svc, conn, care_plan, moment)?;
    // A post reads the plan without what is elsewhere but writes over the
    // stored resources as they are: what links elsewhere (a contributor who
    // is a relative) is not the plan's to read, nor the post's to remove.
    let (versions, reading, filtered) = match (gate, for_post) {
        (Some(gate), false) => {
            let (shown, filtered) = super::access::visible_versions(gate, closure.versions, &closure.elsewhere)?;
            (shown.clone(), shown, filtered)
        }
        (Some(gate), true) => {
            let reading = closure.without_elsewhere()?;
            let (_, withheld) = super::access::visible_versions(gate, closure.versions.clone(), &Default::default())?;
            (closure.versions, reading, withheld)
        }
        (None, _) => (closure.versions.clone(), closure.without_elsewhere()?, false),
    };
    let resources = reading
        .iter()
        .map(|v| {
            let bytes = v.body.as_deref().unwrap_or_default();
            let resource = fhirbolt::json::from_slice(bytes, None)
                .map_err(|e| FhirError::bad_request(format!("{}/{} cannot be read as R4: {e}", v.res_type, v.id)))?;
            Ok((Some(format!("{}/{}", v.res_type, v.id)), resource))
        })
        .collect::<FhirResult<Vec<_>>>()?;
    let mut plan = crate::prsb::unmap::unmap(&resources, Some(&id)).map_err(|e| {
        FhirError::unprocessable(vec![crate::issue::Issue::error(
            crate::issue::IssueCode::Processing,
            format!("CarePlan/{id}"),
            format!("This CarePlan cannot be read as a PRSB plan: {e:#}"),
        )])
    })?;
    plan.date_last_updated = date_last_updated(&versions, plan.date_last_updated.take(), first_stored);
    Ok((plan, filtered, versions))
}

/// PRSB "date last updated", kept automatically: the latest real change to
/// any resource of the plan, whichever way it came (a PRSB post or plain
/// FHIR). A plan that came with its own date (one brought over from another
/// system) keeps it until something changes after it was first stored: the
/// versions written by the transaction that first stored it all carry that
/// one moment and are not a change to the plan.
fn date_last_updated(versions: &[Version], carried: Option<String>, first_stored: Option<i64>) -> Option<String> {
    let carried_ms = carried.as_deref().and_then(dates::range).map(|(lo, _)| lo);
    let after = match carried_ms {
        Some(_) => first_stored.unwrap_or(i64::MIN),
        None => i64::MIN,
    };
    let latest = versions.iter().map(|v| v.last_updated).filter(|&t| t > after).max();
    match (latest, carried_ms) {
        (Some(t), Some(c)) if t > c => Some(super::clock::instant(t)),
        (Some(t), None) => Some(super::clock::instant(t)),
        (_, Some(_)) => carried,
        (None, None) => None,
    }
}
