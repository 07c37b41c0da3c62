//! The PRSB operations: `$from-prsb` (a plan in the PRSB format in, its
//! transaction Bundle out, or stored as that transaction) and
//! `CarePlan/{id}/$prsb` (the PRSB view of a stored plan: active items only
//! unless asked, and any earlier version by `version` or `_at`).

use serde_json::Value;

use super::error::{FhirError, FhirResult};
use super::format;
use super::interactions::Reply;
use super::routing::Request;
use super::access::Gate;
use super::plan_closure::gather;
use super::search::dates;
use super::store;
use super::Service;

fn flag(req: &Request, name: &str) -> bool {
    req.param(name).is_some_and(|v| v == "true")
}

/// `POST /$from-prsb[?store=true]`.
pub fn from_prsb(svc: &Service, req: &Request) -> FhirResult<Reply> {
    let plan = crate::prsb::read(&req.body)
        .map_err(|problems| FhirError::unprocessable(crate::prsb::problems_as_issues(&req.body, &problems)))?;
    let bundle = crate::prsb::map::map(&plan);
    let json = crate::prsb::map::to_json(&bundle).map_err(store::internal)?;
    if !flag(req, "store") {
        let value: Value = serde_json::from_str(&json).map_err(store::internal)?;
        return Ok(Reply::body(200, value));
    }
    let transaction = Request {
        method: "POST".to_owned(),
        path: String::new(),
        query: Vec::new(),
        content_type: Some(format::FHIR_JSON.to_owned()),
        body: json.into_bytes(),
        ..req.clone()
    };
    svc.execute(&transaction)
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
        let versions = gather(svc, conn, care_plan, moment)?;
        // Only what this requester may see goes into the view (scopes, compartment, consent).
        let (versions, filtered) = super::access::visible_versions(gate, versions)?;
        let resources = versions
            .iter()
            .map(|v| {
                let bytes = v.body.as_deref().unwrap_or_default();
                let resource = fhirbolt::json::from_slice(bytes, None)
                    .map_err(|e| FhirError::bad_request(format!("{}/{} cannot be read as R4: {e}", v.res_type, v.id)))?;
                Ok((Some(format!("{}/{}", v.res_type, v.id)), resource))
            })
            .collect::<FhirResult<Vec<_>>>()?;
        let plan = crate::prsb::unmap::unmap(&resources, Some(id)).map_err(|e| {
            FhirError::unprocessable(vec![crate::issue::Issue::error(
                crate::issue::IssueCode::Processing,
                format!("CarePlan/{id}"),
                format!("This CarePlan cannot be read as a PRSB plan: {e:#}"),
            )])
        })?;
        Ok((plan, filtered))
    })?;
    let (plan, filtered) = plan;
    let plan = if flag(req, "includeArchived") { plan } else { crate::prsb::archive::active_view(&plan) };
    let mut reply = Reply::plain_json(serde_json::to_value(&plan).map_err(store::internal)?);
    reply.filtered = filtered;
    Ok(reply)
}
