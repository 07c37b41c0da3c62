//! Searchset and history Bundles, with their paging links.

use super::error::{FhirError, FhirResult};
use super::interactions::{new_id, resource_of, Reply};
use super::routing::Request;
use super::search::{dates, query::Plan};
use super::store::{self, HistoryScope, Version};
use super::subset::Subset;
use super::{clock, Service};
use rusqlite::Connection;
use serde_json::{json, Value};

pub const DEFAULT_HISTORY_COUNT: usize = 100;
/// The most matches judged one by one to count what a requester may see.
pub const MAX_JUDGED_TOTAL: usize = 1000;

fn link(relation: &str, url: String) -> Value {
    json!({"relation": relation, "url": url})
}

/// `base/path?query&_offset=N`.
fn page_url(req: &Request, offset: Option<usize>) -> String {
    let mut query = req.query_string();
    if let Some(o) = offset {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&format!("_offset={o}"));
    }
    let path = if req.method == "POST" { req.path.trim_end_matches("/_search").to_string() } else { req.path.clone() };
    if query.is_empty() {
        format!("{}/{path}", req.base)
    } else {
        format!("{}/{path}?{query}", req.base)
    }
}

/// `shown`: how many the page holds, fewer than `count` when the answer's
/// budget cut it short; the next page starts after them.
fn paging_links(req: &Request, offset: usize, count: usize, shown: usize, has_next: bool) -> Vec<Value> {
    let mut links = vec![link("self", page_url(req, (offset > 0).then_some(offset)))];
    if has_next {
        links.push(link("next", page_url(req, Some(offset + shown))));
    }
    if offset > 0 {
        links.push(link("previous", page_url(req, Some(offset.saturating_sub(count)))));
    }
    links
}

pub fn full_url(base: &str, v: &Version) -> String {
    format!("{base}/{}/{}", v.res_type, v.id)
}

/// A Bundle of `kind` (searchset, history) with its links and entries.
pub fn bundle(kind: &str, total: Option<usize>, links: Vec<Value>, entries: Vec<Value>) -> Value {
    let mut b = json!({"resourceType": "Bundle", "id": new_id(), "meta": {"lastUpdated": clock::instant(clock::now_ms())}, "type": kind});
    if let Some(t) = total {
        b["total"] = json!(t);
    }
    b["link"] = Value::Array(links);
    if !entries.is_empty() {
        b["entry"] = Value::Array(entries);
    }
    b
}

pub fn search(svc: &Service, conn: &Connection, t: &str, req: &Request) -> FhirResult<Reply> {
    svc.check_type(t)?;
    let mut plan = Plan::guarded(&svc.registry, t, &req.query, super::access::chain_guard(req))?;
    if req.strict && !plan.ignored.is_empty() {
        return Err(FhirError::bad_request(format!(
            "{} {} not a search parameter of {t} that this server searches (Prefer: handling=strict); see GET /metadata for those it does",
            plan.ignored.join(", "),
            if plan.ignored.len() == 1 { "is" } else { "are" }
        )));
    }
    let wanted = Subset::of(req.param("_summary"), req.param("_elements"))?;
    super::access::restrict_plan(req, &mut plan)?;
    let found = plan.run_within(conn, &req.budget)?;
    // A count says only what the requester may see: under consent the
    // matches are judged one by one, as far as that is affordable.
    let total = if req.requester.is_open() {
        Some(found.total)
    } else if found.total <= MAX_JUDGED_TOTAL {
        Some(super::access::visible_count(svc, conn, req, &plan.every_match(conn)?)?)
    } else if plan.summary_count {
        return Err(FhirError::new(
            403,
            crate::issue::IssueCode::TooCostly,
            format!("This search matches more than {MAX_JUDGED_TOTAL} resources, too many to count for a requester whose view depends on consent; narrow it, or search without _summary=count"),
        ));
    } else {
        None
    };
    let mut entries = Vec::new();
    for (mode, versions) in [("match", &found.matches), ("include", &found.included)] {
        for v in versions {
            let resource = svc.summaries.apply(&svc.ctx, &wanted, resource_of(v)?);
            entries.push(json!({"fullUrl": full_url(&req.base, v), "resource": resource, "search": {"mode": mode}}));
        }
    }
    if !plan.ignored.is_empty() {
        let message = format!("Ignored search parameters that {t} does not have or this server does not search (composite and special ones): {}; see GET /metadata for those it does", plan.ignored.join(", "));
        entries.push(json!({"resource": {"resourceType": "OperationOutcome", "issue": [{"severity": "warning", "code": "not-supported", "details": {"text": message}}]}, "search": {"mode": "outcome"}}));
    }
    if found.cut {
        entries.push(outcome_entry("information", "too-costly", &format!("This page holds fewer matches than _count because {}; the next link continues after them", req.budget.message())));
    }
    if let Some(why) = &found.included_cut {
        entries.push(outcome_entry("warning", "too-costly", why));
    }
    let has_next = !plan.summary_count && plan.count > 0 && plan.offset + found.matches.len() < found.total;
    let links = paging_links(req, plan.offset, plan.count, found.matches.len(), has_next);
    let mut reply = Reply::body(200, bundle("searchset", total, links, entries));
    // Fewer shown than matched: the answer says something was withheld (as
    // a read would, so a requester may ask for an override), never what.
    if total.is_some_and(|t| t < found.total) {
        reply.filtered = true;
        if let Some(b) = reply.body.as_mut() {
            b["meta"]["security"] = json!([{"system": super::access::REDACTED.0, "code": super::access::REDACTED.1, "display": "redacted"}]);
        }
    }
    Ok(reply)
}

pub fn history(conn: &Connection, scope: &HistoryScope, req: &Request) -> FhirResult<Reply> {
    let since = match req.param("_since") {
        Some(s) => Some(dates::range(s).ok_or_else(|| FhirError::bad_request(format!("_since={s}: expected an instant, e.g. 2026-11-25T10:00:00Z")))?.0),
        None => None,
    };
    let number = |name: &str, default: usize| req.param(name).map_or(Ok(default), |v| super::search::query::number(name, v));
    let count = number("_count", DEFAULT_HISTORY_COUNT)?.clamp(1, super::search::query::MAX_COUNT);
    let offset = number("_offset", 0)?;
    let total = store::history_count(conn, scope, since)?;
    let only = super::access::history_patient(req, scope);
    let (versions, has_next) = store::history(conn, scope, since, count, offset, &req.budget, only.as_deref())?;
    let mut entries = Vec::with_capacity(versions.len());
    for v in &versions {
        entries.push(history_entry(&req.base, v)?);
    }
    Ok(Reply::body(200, bundle("history", Some(total), paging_links(req, offset, count, versions.len(), has_next), entries)))
}

fn outcome_entry(severity: &str, code: &str, text: &str) -> Value {
    json!({"resource": {"resourceType": "OperationOutcome", "issue": [{"severity": severity, "code": code, "details": {"text": text}}]}, "search": {"mode": "outcome"}})
}

fn history_entry(base: &str, v: &Version) -> FhirResult<Value> {
    let (status, url) = match v.method.as_str() {
        "POST" => ("201 Created", v.res_type.clone()),
        "DELETE" => ("204 No Content", format!("{}/{}", v.res_type, v.id)),
        _ if v.version == 1 => ("201 Created", format!("{}/{}", v.res_type, v.id)),
        _ => ("200 OK", format!("{}/{}", v.res_type, v.id)),
    };
    let mut entry = json!({
        "fullUrl": full_url(base, v),
        "request": {"method": v.method, "url": url},
        "response": {"status": status, "etag": v.etag(), "lastModified": clock::instant(v.last_updated)},
    });
    if !v.deleted() {
        entry["resource"] = resource_of(v)?;
    }
    Ok(entry)
}
