//! Batch and transaction Bundles.
//!
//! A transaction is all or nothing: every entry is parsed and validated
//! first (in parallel), then all of them run in one store transaction, in
//! the order the spec gives (DELETE, POST, PUT/PATCH, GET), with `urn:uuid`
//! and conditional references (`Organization?identifier=…`) rewritten to
//! the ids they resolve to. Any failure rolls everything back and names the
//! entry. A batch runs each entry as a request of its own.

use super::error::{operation_outcome, FhirError, FhirResult};
use super::format;
use super::interactions::{self, new_id, Reply};
use super::routing::{self, Interaction, Request, Return};
use super::search::index::{IndexValue, parse_reference};
use super::auth::concern::Concern;
use super::{access, audit, clock, Prepared, Service};
use crate::issue::Issue;
use base64::Engine as _;
use rayon::prelude::*;
use rusqlite::Connection;
use serde_json::{json, Value};
use std::collections::HashMap;

/// One entry's request, read from the Bundle.
struct Entry {
    index: usize,
    full_url: Option<String>,
    interaction: Interaction,
    request: Request,
    resource: Option<Value>,
}

pub fn process(svc: &Service, req: &Request) -> FhirResult<Reply> {
    let parsed = format::parse_resource(&svc.ctx, &svc.config.limits, &req.body, format::body_format(req.content_type.as_deref()))?;
    if parsed.res_type != "Bundle" {
        return Err(FhirError::bad_request(format!("POST to the server's base takes a batch or transaction Bundle, not a {}", parsed.res_type)));
    }
    let kind = parsed.json.get("type").and_then(Value::as_str).unwrap_or_default().to_string();
    let raw = parsed.json.get("entry").and_then(Value::as_array).cloned().unwrap_or_default();
    super::limits::check_entries(&svc.config.limits, raw.len())?;
    super::limits::check_json(&svc.config.limits, &parsed.json)?;
    match kind.as_str() {
        "transaction" => transaction(svc, req, &raw),
        "batch" => batch(svc, req, &raw),
        other => Err(FhirError::bad_request(format!("Bundle.type is '{other}': POST to the base takes 'transaction' or 'batch'")).at("Bundle.type")),
    }
}

/// Names the entry in every issue of an error: `Bundle.entry[2].resource.status`.
fn in_entry(mut e: FhirError, index: usize, full_url: Option<&str>, res_type: Option<&str>) -> FhirError {
    let label = match full_url {
        // The fullUrl is the sender's, of any length; the index says which entry.
        Some(u) => format!("Bundle.entry[{index}] ({})", crate::issue::quoted(u)),
        None => format!("Bundle.entry[{index}]"),
    };
    for issue in &mut e.issues {
        issue.message = format!("{label}: {}", issue.message);
        let rest = res_type.and_then(|t| issue.expression.strip_prefix(t)).filter(|r| r.is_empty() || r.starts_with('.'));
        issue.expression = match rest {
            Some(r) => format!("Bundle.entry[{index}].resource{r}"),
            None if issue.expression.is_empty() => format!("Bundle.entry[{index}]"),
            None => issue.expression.clone(),
        };
    }
    e
}

fn read_entry(index: usize, raw: &Value, base: &str) -> FhirResult<Entry> {
    let full_url = raw.get("fullUrl").and_then(Value::as_str).map(str::to_string);
    let fail = |m: String| in_entry(FhirError::bad_request(m), index, full_url.as_deref(), None);
    let request = raw.get("request").ok_or_else(|| fail("has no request; every entry of a batch or transaction needs request.method and request.url".into()))?;
    let method = request.get("method").and_then(Value::as_str).ok_or_else(|| fail("has no request.method".into()))?;
    let url = request.get("url").and_then(Value::as_str).ok_or_else(|| fail("has no request.url".into()))?;
    let url = url.strip_prefix(base).unwrap_or(url);
    let mut r = Request::new(method, url, base);
    r.if_match = request.get("ifMatch").and_then(Value::as_str).map(str::to_string);
    r.if_none_exist = request.get("ifNoneExist").and_then(Value::as_str).map(str::to_string);
    let interaction = routing::route(&r.method, &r.path).map_err(|e| in_entry(e, index, full_url.as_deref(), None))?;
    if matches!(interaction, Interaction::Batch | Interaction::Capabilities) {
        return Err(fail(format!("{method} {url} cannot be an entry of a Bundle")));
    }
    let resource = raw.get("resource").cloned();
    if let (Interaction::Patch(..), Some(binary)) = (&interaction, &resource) {
        // A JSON Patch travels in a Binary.
        r.content_type = binary.get("contentType").and_then(Value::as_str).map(str::to_string);
        let data = binary.get("data").and_then(Value::as_str).unwrap_or_default();
        r.body = base64::engine::general_purpose::STANDARD.decode(data).map_err(|e| fail(format!("the patch Binary's data is not base64: {e}")))?;
    } else if let Some(res) = &resource {
        r.content_type = Some(format::FHIR_JSON.to_string());
        r.body = serde_json::to_vec(res).unwrap_or_default();
    }
    if interaction.takes_resource() && resource.is_none() {
        return Err(fail(format!("{method} {url} needs a resource in the entry")));
    }
    Ok(Entry { index, full_url, interaction, request: r, resource })
}

fn status_line(code: u16) -> String {
    let reason = actix_web::http::StatusCode::from_u16(code).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
    format!("{code} {reason}").trim_end().to_string()
}

/// An entry of the response Bundle for one reply.
fn response_entry(base: &str, reply: &Reply, prefer: Return) -> Value {
    entry_of(base, reply.clone(), prefer)
}

/// As [`response_entry`], taking the reply: its body moves into the entry
/// instead of being copied, so an answer is held once, not twice.
fn entry_of(base: &str, mut reply: Reply, prefer: Return) -> Value {
    let mut response = json!({"status": status_line(reply.status)});
    let mut entry = serde_json::Map::new();
    if let Some(v) = &reply.version {
        entry.insert("fullUrl".into(), json!(format!("{base}/{}/{}", v.res_type, v.id)));
        if reply.write {
            response["location"] = json!(format!("{}/{}/_history/{}", v.res_type, v.id, v.version));
        }
        response["etag"] = json!(v.etag());
        response["lastModified"] = json!(clock::instant(v.last_updated));
    }
    if !reply.issues.is_empty() {
        response["outcome"] = operation_outcome(&reply.issues);
    }
    let show = !reply.write || prefer == Return::Representation;
    if let (Some(body), true) = (reply.body.take(), show) {
        entry.insert("resource".into(), body);
    }
    entry.insert("response".into(), response);
    Value::Object(entry)
}

fn error_entry(e: &FhirError) -> Value {
    json!({"response": {"status": status_line(e.status), "outcome": operation_outcome(&e.issues)}})
}

/// About what an OperationOutcome of these issues takes in an answer.
fn outcome_bytes(issues: &[crate::issue::Issue]) -> usize {
    issues.iter().map(|i| i.message.len() + i.expression.len() + 320).sum()
}

/// An entry's issues as its outcome may carry them: whole while they fit
/// what is left of the answer budget, abridged otherwise.
fn within_budget(issues: Vec<crate::issue::Issue>, budget: &super::limits::Budget) -> Vec<crate::issue::Issue> {
    let bytes = outcome_bytes(&issues);
    if bytes <= budget.remaining() {
        budget.take(bytes);
        return issues;
    }
    let kept = abridged(&issues, &budget.message());
    budget.take(outcome_bytes(&kept));
    kept
}

/// An outcome past the answer budget: its gravest issue, and one saying
/// how many were left out and why (the status, so the verdict, stands).
fn abridged(issues: &[crate::issue::Issue], why: &str) -> Vec<crate::issue::Issue> {
    use crate::issue::{Issue, IssueCode};
    // Severities order gravest first.
    let Some(gravest) = issues.iter().min_by_key(|i| i.severity) else { return Vec::new() };
    let mut kept = vec![gravest.clone()];
    if issues.len() > 1 {
        kept.push(Issue::new(gravest.severity, IssueCode::TooCostly, "", format!("{} more issues are not listed: {why}; send this entry on its own to see them", issues.len() - 1)));
    }
    kept
}

/// How many entries are searches or histories: those whose work and answer grow with the data.
fn searches(raw: &[Value], base: &str) -> usize {
    let method_url = |r: &Value| Some((r.get("request")?.get("method")?.as_str()?.to_ascii_uppercase(), r["request"].get("url")?.as_str()?.to_string()));
    raw.iter()
        .filter_map(method_url)
        .filter(|(method, url)| {
            let url = url.strip_prefix(base).unwrap_or(url);
            routing::route(method, url.split('?').next().unwrap_or(url)).is_ok_and(|i| grows_with_data(&i))
        })
        .count()
}

/// How many searches the conditional parts of a Bundle ask for: each
/// different conditional reference (`Type?criteria`), and each entry with
/// `ifNoneExist` or a conditional URL.
fn conditionals(raw: &[Value]) -> usize {
    fn walk<'a>(v: &'a Value, out: &mut std::collections::HashSet<&'a str>) {
        match v {
            Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v.as_str()) {
                        ("reference", Some(r)) if r.contains('?') => {
                            out.insert(r);
                        }
                        _ => walk(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut references = std::collections::HashSet::new();
    let mut entries = 0;
    for e in raw {
        if let Some(resource) = e.get("resource") {
            walk(resource, &mut references);
        }
        let request = &e["request"];
        if request.get("ifNoneExist").is_some() || request["url"].as_str().is_some_and(|u| u.contains('?') && request["method"] != "GET") {
            entries += 1;
        }
    }
    references.len() + entries
}

fn grows_with_data(i: &Interaction) -> bool {
    matches!(i, Interaction::Search(_) | Interaction::HistoryType(_) | Interaction::HistoryInstance(..) | Interaction::HistorySystem)
}

/// Each entry runs as a request of its own, and all of them share the
/// batch's answer budget: once it is spent, the entries that would only
/// add to the answer are refused without being run.
fn batch(svc: &Service, req: &Request, raw: &[Value]) -> FhirResult<Reply> {
    super::limits::check_searches(&svc.config.limits, searches(raw, &req.base))?;
    super::limits::check_conditionals(&svc.config.limits, conditionals(raw))?;
    let mut entries = Vec::with_capacity(raw.len());
    let gathered = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
    for (i, r) in raw.iter().enumerate() {
        let result = read_entry(i, r, &req.base).and_then(|mut e| {
            e.request.gathered_audit = Some(gathered.clone());
            if req.budget.spent() && !e.interaction.writes() {
                let why = format!("not run: {}; send the entries refused for this reason in another batch (split the batch)", req.budget.message());
                return Err(in_entry(FhirError::new(413, crate::issue::IssueCode::TooCostly, why), i, e.full_url.as_deref(), None));
            }
            e.request.prefer = req.prefer;
            e.request.requester = req.requester.clone();
            e.request.budget = req.budget.clone();
            let reply = svc.execute(&e.request).map_err(|err| in_entry(err, i, e.full_url.as_deref(), e.resource.as_ref().and_then(|r| r.get("resourceType")).and_then(Value::as_str)))?;
            // Searches and histories took from the budget as they loaded; a single resource is counted here.
            if !grows_with_data(&e.interaction) {
                req.budget.take(reply.version.as_ref().and_then(|v| v.body.as_ref()).map_or(0, Vec::len));
            }
            Ok(reply)
        });
        // Each entry's outcome counts against the batch's answer budget as
        // its resource does: every entry's validation may list up to its
        // own limit of issues (the twenty-second pass's N5). Past the
        // budget, an outcome keeps its gravest issue and says how many more.
        let entry = match result {
            Ok(mut reply) => {
                reply.issues = within_budget(std::mem::take(&mut reply.issues), &req.budget);
                entry_of(&req.base, reply, req.prefer)
            }
            Err(mut e) => {
                e.issues = within_budget(std::mem::take(&mut e.issues), &req.budget);
                error_entry(&e)
            }
        };
        entries.push(entry);
    }
    let gathered = std::mem::take(&mut *gathered.lock());
    Ok(Reply { gathered, ..Reply::body(200, json!({"resourceType": "Bundle", "id": new_id(), "type": "batch-response", "entry": entries})) })
}

/// Processing order within a transaction.
fn rank(i: &Interaction) -> u8 {
    match i {
        Interaction::Delete(..) => 0,
        Interaction::Create(_) => 1,
        Interaction::Update(..) | Interaction::ConditionalUpdate(_) | Interaction::Patch(..) => 2,
        _ => 3,
    }
}

fn transaction(svc: &Service, req: &Request, raw: &[Value]) -> FhirResult<Reply> {
    super::limits::check_searches(&svc.config.limits, searches(raw, &req.base))?;
    super::limits::check_conditionals(&svc.config.limits, conditionals(raw))?;
    let mut entries: Vec<Entry> = raw.iter().enumerate().map(|(i, r)| read_entry(i, r, &req.base)).collect::<FhirResult<_>>()?;
    for e in &mut entries {
        e.request.requester = req.requester.clone();
        e.request.moment = req.moment;
        e.request.via_prsb_store = req.via_prsb_store;
        // One answer budget for the whole transaction, as for a batch.
        e.request.budget = req.budget.clone();
    }
    // Validate everything before touching the store; report every invalid entry at once.
    let prepared: Vec<Result<Option<Prepared>, FhirError>> = entries
        .par_iter()
        .map(|e| match (&e.resource, e.interaction.takes_resource()) {
            (Some(res), true) => svc
                .prepare_json(res)
                .map(Some)
                .map_err(|err| in_entry(err, e.index, e.full_url.as_deref(), res.get("resourceType").and_then(Value::as_str))),
            _ => Ok(None),
        })
        .collect();
    let failures: Vec<FhirError> = prepared.iter().filter_map(|p| p.as_ref().err().cloned()).collect();
    if let Some(first) = failures.first() {
        let status = if failures.iter().any(|f| f.status == 422) { 422 } else { first.status };
        // Each failing entry's issues share the answer budget, as a batch's outcomes do.
        let mut issues: Vec<Issue> = failures.into_iter().flat_map(|f| within_budget(f.issues, &req.budget)).collect();
        issues.insert(0, Issue::error(crate::issue::IssueCode::Processing, "Bundle", "The transaction was rejected whole and nothing was stored: fix the entries below and send it again"));
        return Err(FhirError { status, issues });
    }
    let mut prepared: Vec<Option<Prepared>> = prepared.into_iter().map(|p| p.ok().flatten()).collect();
    let replies = svc.store.write(|conn| {
        let mut entries = entries;
        // One instant for the whole transaction, taken under the writer lock
        // so that versions stay in time order across transactions.
        let moment = req.moment.unwrap_or_else(clock::now_ms);
        for e in &mut entries {
            e.request.moment = Some(moment);
        }
        let ids = assign_ids(svc, conn, &mut entries, &prepared)?;
        let mut conditional: HashMap<String, String> = HashMap::new();
        for (e, p) in entries.iter().zip(prepared.iter_mut()) {
            if let Some(p) = p {
                let before = p.json.clone();
                rewrite_references(svc, conn, &e.request, &mut p.json, &ids, &mut conditional).map_err(|err| in_entry(err, e.index, e.full_url.as_deref(), Some(&p.res_type)))?;
                if p.json != before {
                    // Whom it concerns and what it links to follow the references as stored,
                    // not as sent (`urn:uuid:` and conditional references name no one).
                    p.concern = Concern::of(&svc.ctx, &svc.registry, &p.json);
                }
                for row in &mut p.index {
                    if let IndexValue::Reference { target_type, target_id, url } = &mut row.value {
                        if let Some(new) = ids.get(url.as_str()).or_else(|| conditional.get(url.as_str())) {
                            *url = new.clone();
                            if let Some((t, id)) = parse_reference(new) {
                                *target_type = Some(t);
                                *target_id = Some(id);
                            }
                        }
                    }
                }
            }
        }
        let mut order: Vec<usize> = (0..entries.len()).collect();
        order.sort_by_key(|&i| rank(&entries[i].interaction));
        let mut replies: Vec<Option<Reply>> = vec![None; entries.len()];
        for i in order {
            let e = &entries[i];
            let res_type = prepared[i].as_ref().map(|p| p.res_type.clone());
            let reply = interactions::apply(svc, conn, &e.interaction, &e.request, prepared[i].take()).map_err(|err| in_entry(err, e.index, e.full_url.as_deref(), res_type.as_deref()))?;
            // A read's resource is charged to the request's answer budget
            // (searches and histories charge theirs as they load): past it,
            // the transaction is refused whole rather than answered without end.
            if matches!(e.interaction, Interaction::Read(..) | Interaction::Vread(..)) && !req.budget.take(reply.version.as_ref().and_then(|v| v.body.as_ref()).map_or(0, Vec::len)) {
                let why = format!("{}; send fewer reads in one transaction", req.budget.message());
                return Err(in_entry(FhirError::new(413, crate::issue::IssueCode::TooCostly, why), e.index, e.full_url.as_deref(), None));
            }
            replies[i] = Some(reply);
        }
        let replies = replies.into_iter().flatten().collect::<Vec<Reply>>();
        // The AuditEvent names every resource written, read or deleted and
        // every person concerned, whatever the response shows, and commits
        // with the transaction.
        let rec = access::record_of_transaction(req, &replies);
        audit::store_in(conn, &audit::prepare(svc, Some(&req.requester), req.requester.address.as_deref(), &rec)?)?;
        Ok(replies)
    })?;
    svc.outbox_signal.notify();
    let entries: Vec<Value> = replies.iter().map(|r| response_entry(&req.base, r, req.prefer)).collect();
    Ok(Reply { audited: true, ..Reply::body(200, json!({"resourceType": "Bundle", "id": new_id(), "type": "transaction-response", "entry": entries})) })
}

/// Gives each created entry its id before anything runs, so references to
/// its `fullUrl` can be rewritten; returns fullUrl → `Type/id`.
fn assign_ids(svc: &Service, conn: &Connection, entries: &mut [Entry], prepared: &[Option<Prepared>]) -> FhirResult<HashMap<String, String>> {
    let mut ids = HashMap::new();
    for (e, p) in entries.iter_mut().zip(prepared) {
        let target = match &e.interaction {
            Interaction::Create(t) => {
                let existing = match &e.request.if_none_exist {
                    Some(cond) => access::matching_for(svc, conn, &e.request, t, interactions::condition_query(cond), 2).map_err(|err| in_entry(err, e.index, e.full_url.as_deref(), None))?,
                    None => Vec::new(),
                };
                let id = match existing.as_slice() {
                    [(_, id)] => id.clone(),
                    _ => new_id(),
                };
                e.request.assigned_id = Some(id.clone());
                Some(format!("{t}/{id}"))
            }
            Interaction::Update(t, id) => Some(format!("{t}/{id}")),
            Interaction::ConditionalUpdate(t) => {
                let found = access::matching_for(svc, conn, &e.request, t, &e.request.query_string(), 2).map_err(|err| in_entry(err, e.index, e.full_url.as_deref(), None))?;
                let id = match found.as_slice() {
                    [(_, id)] => id.clone(),
                    _ => p.as_ref().and_then(|p| p.json.get("id")).and_then(Value::as_str).map(str::to_string).unwrap_or_else(new_id),
                };
                e.request.assigned_id = Some(id.clone());
                Some(format!("{t}/{id}"))
            }
            _ => None,
        };
        if let (Some(full_url), Some(target)) = (&e.full_url, target) {
            ids.insert(full_url.clone(), target);
        }
    }
    Ok(ids)
}

/// Rewrites `reference` values: a `fullUrl` of another entry becomes its
/// `Type/id`; a conditional reference becomes the one resource it matches.
fn rewrite_references(svc: &Service, conn: &Connection, req: &Request, value: &mut Value, ids: &HashMap<String, String>, conditional: &mut HashMap<String, String>) -> FhirResult<()> {
    super::references::each_mut(value, &mut |s| {
        if let Some(new) = ids.get(s.as_str()) {
            *s = new.clone();
        } else if let Some((t, query)) = s.split_once('?') {
            let resolved = match conditional.get(s.as_str()) {
                Some(r) => r.clone(),
                None => {
                    // Among what the requester may see: a conditional reference is no way to learn another person's ids.
                    let found = access::matching_for(svc, conn, req, t, query, 2)?;
                    let [(rt, id)] = found.as_slice() else {
                        return Err(FhirError::conflict(
                            412,
                            format!("The conditional reference '{s}' matches {} resources; it must match exactly one", if found.is_empty() { "no" } else { "several" }),
                        ));
                    };
                    let r = format!("{rt}/{id}");
                    conditional.insert(s.clone(), r.clone());
                    r
                }
            };
            *s = resolved;
        }
        Ok(())
    })
}
