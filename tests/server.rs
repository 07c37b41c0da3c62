//! `careplan serve` over loopback: the real binary, driven over HTTP.

mod common;
mod server_support;

use reqwest::Method;
use serde_json::{json, Value};
use server_support::{eventually, texts, Server};
use std::time::Duration;

const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";

fn patient(nhs: &str, family: &str) -> Value {
    json!({"resourceType": "Patient", "identifier": [{"system": NHS, "value": nhs}], "name": [{"family": family, "given": ["Ada"]}], "gender": "female", "birthDate": "1950-03-01"})
}

fn goal(subject: &str, status: &str, text: &str) -> Value {
    json!({"resourceType": "Goal", "lifecycleStatus": status, "description": {"text": text}, "subject": {"reference": subject}, "target": [{"dueDate": "2026-12-01"}]})
}

fn care_plan(subject: &str, goals: &[&str]) -> Value {
    json!({"resourceType": "CarePlan", "status": "active", "intent": "plan", "title": "Home support", "subject": {"reference": subject},
           "period": {"start": "2026-01-01"}, "goal": goals.iter().map(|g| json!({"reference": g})).collect::<Vec<_>>()})
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn created(r: reqwest::blocking::Response) -> Value {
    let status = r.status();
    let body: Value = r.json().unwrap();
    assert_eq!(status, 201, "{}", serde_json::to_string_pretty(&body).unwrap());
    body
}

fn header(r: &reqwest::blocking::Response, name: &str) -> String {
    r.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

#[test]
fn create_read_update_with_if_match_history_and_delete() {
    let dir = tempdir();
    let srv = Server::start(dir.path(), &[]);

    let r = srv.post("Goal", &goal("Patient/p1", "active", "Walk to the shops"));
    assert!(header(&r, "location").contains("/Goal/"), "Location: {}", header(&r, "location"));
    assert_eq!(header(&r, "etag"), "W/\"1\"");
    assert!(!header(&r, "last-modified").is_empty());
    assert!(!header(&r, "x-request-id").is_empty());
    let g = created(r);
    let id = g["id"].as_str().unwrap().to_string();
    assert_eq!(g["meta"]["versionId"], "1");
    assert!(g["meta"]["lastUpdated"].as_str().unwrap().ends_with('Z'));

    let r = srv.get(&format!("Goal/{id}"));
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "etag"), "W/\"1\"");
    // A conditional read of the version the client has: 304, no body.
    let r = srv.client.get(srv.url(&format!("Goal/{id}"))).header("If-None-Match", "W/\"1\"").send().unwrap();
    assert_eq!(r.status(), 304);

    // The goal is archived: cancelled, as version 2.
    let mut cancelled = g.clone();
    cancelled["lifecycleStatus"] = json!("cancelled");
    let r = srv.json(Method::PUT, &format!("Goal/{id}"), &cancelled).header("If-Match", "W/\"1\"").send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "etag"), "W/\"2\"");

    // A stale If-Match is a 412 with an OperationOutcome, and nothing changes.
    let r = srv.json(Method::PUT, &format!("Goal/{id}"), &g).header("If-Match", "W/\"1\"").send().unwrap();
    assert_eq!(r.status(), 412);
    let oo: Value = r.json().unwrap();
    assert_eq!(oo["resourceType"], "OperationOutcome");
    assert!(texts(&oo)[0].contains("current version is 2"), "{:?}", texts(&oo));
    assert_eq!(srv.get(&format!("Goal/{id}")).json::<Value>().unwrap()["lifecycleStatus"], "cancelled");

    // Both versions stay readable, and the history lists them newest first.
    assert_eq!(srv.get(&format!("Goal/{id}/_history/1")).json::<Value>().unwrap()["lifecycleStatus"], "active");
    assert_eq!(srv.get(&format!("Goal/{id}/_history/2")).json::<Value>().unwrap()["lifecycleStatus"], "cancelled");
    let h = srv.bundle(&format!("Goal/{id}/_history"));
    assert_eq!(h["type"], "history");
    let statuses: Vec<&str> = h["entry"].as_array().unwrap().iter().map(|e| e["resource"]["lifecycleStatus"].as_str().unwrap()).collect();
    assert_eq!(statuses, vec!["cancelled", "active"]);
    assert_eq!(h["entry"][0]["response"]["etag"], "W/\"2\"");

    // Delete: reads answer 410, versions and history stay.
    let r = srv.client.delete(srv.url(&format!("Goal/{id}"))).send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(srv.get(&format!("Goal/{id}")).status(), 410);
    assert_eq!(srv.get(&format!("Goal/{id}/_history/2")).status(), 200);
    assert_eq!(srv.get(&format!("Goal/{id}/_history/3")).status(), 410);
    let h = srv.bundle(&format!("Goal/{id}/_history"));
    assert_eq!(h["entry"].as_array().unwrap().len(), 3);
    assert_eq!(h["total"], 3);
    assert_eq!(h["entry"][0]["request"]["method"], "DELETE");
    let page = srv.bundle(&format!("Goal/{id}/_history?_count=1"));
    assert_eq!(page["entry"].as_array().unwrap().len(), 1);
    assert!(page["link"].as_array().unwrap().iter().any(|l| l["relation"] == "next"));
    assert_eq!(srv.bundle("_history?_since=2999-01-01T00:00:00Z")["total"], 0);
    assert_eq!(srv.bundle("Goal/_history?_since=2000-01-01T00:00:00Z")["total"], 3);
    assert!(h["entry"][0].get("resource").is_none());

    // Unknown things are 404s with an OperationOutcome.
    let r = srv.get("Goal/no-such-goal");
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().unwrap()["resourceType"], "OperationOutcome");
    assert_eq!(srv.get("Goal/no-such-goal/_history/1").status(), 404);
    assert_eq!(srv.get("NotAType/1").status(), 404);
}

#[test]
fn update_creates_patch_applies_and_prefer_chooses_the_body() {
    let dir = tempdir();
    let srv = Server::start(dir.path(), &[]);
    let mut p = patient("9000000009", "Lovelace");
    p["id"] = json!("ada");
    let r = srv.put("Patient/ada", &p);
    assert_eq!(r.status(), 201, "update as create");

    // The body's id must be the URL's.
    let r = srv.put("Patient/someone-else", &p);
    assert_eq!(r.status(), 400);

    // JSON Patch.
    let patch = json!([{"op": "replace", "path": "/name/0/family", "value": "Byron"}]);
    let r = srv.client.patch(srv.url("Patient/ada")).header("Content-Type", "application/json-patch+json").header("If-Match", "W/\"1\"").body(patch.to_string()).send().unwrap();
    assert_eq!(r.status(), 200);
    let patched: Value = r.json().unwrap();
    assert_eq!(patched["name"][0]["family"], "Byron");
    assert_eq!(patched["meta"]["versionId"], "2");
    // A patch that makes the resource invalid is refused by validation.
    let bad = json!([{"op": "replace", "path": "/gender", "value": "not-a-gender"}]);
    let r = srv.client.patch(srv.url("Patient/ada")).header("Content-Type", "application/json-patch+json").body(bad.to_string()).send().unwrap();
    assert_eq!(r.status(), 422);

    // Prefer: minimal → no body; OperationOutcome → an OperationOutcome.
    let r = srv.json(Method::POST, "Patient", &patient("9000000017", "Minimal")).header("Prefer", "return=minimal").send().unwrap();
    assert_eq!(r.status(), 201);
    assert!(!header(&r, "location").is_empty());
    assert!(r.bytes().unwrap().is_empty());
    let r = srv.json(Method::POST, "Patient", &patient("9000000025", "Outcome")).header("Prefer", "return=OperationOutcome").send().unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.json::<Value>().unwrap()["resourceType"], "OperationOutcome");
}

#[test]
fn invalid_writes_are_refused_with_an_outcome_and_nothing_is_stored() {
    let dir = tempdir();
    let srv = Server::start(dir.path(), &[]);
    let mut bad = goal("Patient/p1", "active", "x");
    bad.as_object_mut().unwrap().remove("lifecycleStatus");
    let r = srv.post("Goal", &bad);
    assert_eq!(r.status(), 422);
    let oo: Value = r.json().unwrap();
    let issue = oo["issue"].as_array().unwrap().iter().find(|i| i["severity"] == "error").expect("an error issue");
    assert!(issue["details"]["text"].as_str().unwrap().contains("lifecycleStatus"), "{issue}");
    assert!(issue["expression"][0].as_str().unwrap().starts_with("Goal"));
    assert_eq!(srv.total("Goal?_summary=count"), 0);
    assert_eq!(srv.bundle("_history").get("entry"), None);

    let r = srv.client.post(srv.url("Goal")).header("Content-Type", "application/fhir+json").body("{\"resourceType\": \"Goal\", ").send().unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().unwrap()["resourceType"], "OperationOutcome");
    let r = srv.post("Goal", &patient("1", "Wrong type"));
    assert_eq!(r.status(), 400);
    assert_eq!(srv.client.delete(srv.url("Patient")).send().unwrap().status(), 405);
}

#[test]
fn xml_in_and_out() {
    let dir = tempdir();
    let srv = Server::start(dir.path(), &[]);
    let xml = r#"<Patient xmlns="http://hl7.org/fhir"><identifier><system value="https://fhir.nhs.uk/Id/nhs-number"/><value value="9000000033"/></identifier><name><family value="Xml"/><given value="Ada"/></name><gender value="female"/><birthDate value="1950-03-01"/></Patient>"#;
    let r = srv.client.post(srv.url("Patient")).header("Content-Type", "application/fhir+xml").header("Accept", "application/fhir+xml").body(xml).send().unwrap();
    assert_eq!(r.status(), 201);
    assert!(header(&r, "content-type").starts_with("application/fhir+xml"));
    let location = header(&r, "location");
    let text = r.text().unwrap();
    assert!(text.contains("<family value=\"Xml\"/>"), "{text}");
    let id = location.split("/Patient/").nth(1).unwrap().split('/').next().unwrap().to_string();
    // The same resource as JSON, with JSON's types (arrays, strings).
    let json: Value = srv.get(&format!("Patient/{id}")).json().unwrap();
    assert_eq!(json["name"][0]["given"][0], "Ada");
    // _format beats Accept.
    let r = srv.client.get(srv.url(&format!("Patient/{id}?_format=xml"))).header("Accept", "application/fhir+json").send().unwrap();
    assert!(header(&r, "content-type").starts_with("application/fhir+xml"));
    let back = r.text().unwrap();
    assert!(back.starts_with("<?xml") && back.contains("<versionId value=\"1\"/>"), "{back}");
    // JSON properties in any order come out as XML in definition order, which validates when sent back.
    let shuffled = json!({"resourceType": "Patient", "birthDate": "1950-03-01", "gender": "female", "name": [{"given": ["Ada"], "family": "Order"}],
                          "identifier": [{"value": "9000000147", "system": NHS}], "meta": {"tag": [{"code": "x", "system": "http://x/t"}]}});
    let id2 = created(srv.post("Patient", &shuffled))["id"].as_str().unwrap().to_string();
    let xml_back = srv.get(&format!("Patient/{id2}?_format=xml")).text().unwrap();
    let order: Vec<usize> = ["<meta>", "<identifier>", "<name>", "<gender", "<birthDate"].iter().map(|t| xml_back.find(t).unwrap()).collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{xml_back}");
    assert!(xml_back.contains("<family value=\"Order\"/><given value=\"Ada\"/>"), "{xml_back}");
    let r = srv.client.put(srv.url(&format!("Patient/{id2}"))).header("Content-Type", "application/fhir+xml").body(xml_back).send().unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    // Errors come in the format asked for, too.
    let r = srv.client.get(srv.url("Patient/missing?_format=xml")).send().unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().unwrap().contains("<OperationOutcome"));
}

#[test]
fn conditional_create_and_update() {
    let dir = tempdir();
    let srv = Server::start(dir.path(), &[]);
    let condition = format!("identifier={NHS}|9000000041");
    let first = srv.json(Method::POST, "Patient", &patient("9000000041", "Once")).header("If-None-Exist", &condition).send().unwrap();
    let first = created(first);
    let again = srv.json(Method::POST, "Patient", &patient("9000000041", "Once")).header("If-None-Exist", &condition).send().unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().unwrap()["id"], first["id"]);
    assert_eq!(srv.total("Patient?_summary=count"), 1);

    // Conditional update: creates when nothing matches, updates the one that does.
    let path = format!("Patient?identifier={NHS}|9000000058");
    let r = srv.put(&path, &patient("9000000058", "Conditional"));
    assert_eq!(r.status(), 201);
    let r = srv.put(&path, &patient("9000000058", "Conditional-2"));
    assert_eq!(r.status(), 200);
    let body: Value = r.json().unwrap();
    assert_eq!(body["meta"]["versionId"], "2");
    assert_eq!(srv.total(&format!("Patient?identifier={NHS}|9000000058")), 1);
}

#[test]
fn request_ids_health_and_body_limit() {
    let dir = tempdir();
    let srv = Server::start_on(&dir.path().join("careplan.db"), "127.0.0.1:0", &["--max-body-bytes", "2000"], &[("CAREPLAN_LOG_FORMAT", "json")]);
    let r = srv.client.get(srv.url("healthz")).header("X-Request-Id", "abc-123").send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-request-id"), "abc-123");
    let r = srv.get("readyz");
    assert_eq!(r.status(), 200);
    assert!(!header(&r, "x-request-id").is_empty());
    let r = srv.get("Nope/1/2/3/4");
    assert!(!header(&r, "x-request-id").is_empty());
    let mut big = patient("9000000066", "Big");
    big["name"][0]["given"] = json!(vec!["Long"; 500]);
    let r = srv.post("Patient", &big);
    assert_eq!(r.status(), 413);
    assert_eq!(r.json::<Value>().unwrap()["resourceType"], "OperationOutcome");
    // Structured logs: one JSON object per event, the request with its id, status and time.
    let log = srv.log_text();
    let logged: Vec<Value> = log.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let line = logged.iter().find(|l| l["fields"]["request_id"] == "abc-123").unwrap_or_else(|| panic!("the request is logged with its id: {log}"));
    assert_eq!(line["fields"]["status"], 200);
    assert_eq!(line["fields"]["path"], "/healthz");
    assert!(logged.iter().any(|l| l["fields"]["status"] == 413));
}

fn entry(full_url: &str, resource: Value, method: &str, url: &str) -> Value {
    json!({"fullUrl": full_url, "resource": resource, "request": {"method": method, "url": url}})
}

/// A care plan transaction: a patient, two goals and a plan, linked by
/// `urn:uuid`, the plan's author a conditional reference to an organisation.
fn plan_transaction(nhs: &str) -> Value {
    let pat = "urn:uuid:3f1c9a3e-0000-4000-8000-000000000001";
    let g1 = "urn:uuid:3f1c9a3e-0000-4000-8000-000000000002";
    let g2 = "urn:uuid:3f1c9a3e-0000-4000-8000-000000000003";
    let mut plan = care_plan(pat, &[g1, g2]);
    plan["author"] = json!({"reference": "Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|RX1"});
    json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        entry("urn:uuid:3f1c9a3e-0000-4000-8000-000000000004", plan, "POST", "CarePlan"),
        entry(pat, patient(nhs, "Transaction"), "POST", "Patient"),
        entry(g1, goal(pat, "active", "Walk to the shops"), "POST", "Goal"),
        entry(g2, goal(pat, "proposed", "Cook a meal"), "POST", "Goal"),
    ]})
}

fn organisation() -> Value {
    json!({"resourceType": "Organization", "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "RX1"}], "name": "Home Care Ltd"})
}

#[test]
fn transactions_rewrite_references_and_are_all_or_nothing() {
    let dir = tempdir();
    let srv = Server::start(dir.path(), &[]);
    created(srv.post("Organization", &organisation()));

    let r = srv.post("", &plan_transaction("9000000074"));
    let status = r.status();
    let reply: Value = r.json().unwrap();
    assert_eq!(status, 200, "{}", serde_json::to_string_pretty(&reply).unwrap());
    assert_eq!(reply["type"], "transaction-response");
    let entries = reply["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 4);
    for e in entries {
        assert_eq!(e["response"]["status"], "201 Created", "{e}");
        assert!(e["response"]["location"].as_str().unwrap().contains("/_history/1"));
        assert_eq!(e["response"]["etag"], "W/\"1\"");
    }
    // The plan (entry 0) points at the stored patient, goals and organisation.
    let plan = &entries[0]["resource"];
    let patient_ref = format!("Patient/{}", entries[1]["resource"]["id"].as_str().unwrap());
    assert_eq!(plan["subject"]["reference"], patient_ref);
    assert_eq!(plan["goal"][0]["reference"], format!("Goal/{}", entries[2]["resource"]["id"].as_str().unwrap()));
    assert!(plan["author"]["reference"].as_str().unwrap().starts_with("Organization/"));
    assert_eq!(entries[2]["resource"]["subject"]["reference"], patient_ref);
    // Index rows follow the rewritten references.
    assert_eq!(srv.total(&format!("Goal?subject={patient_ref}")), 2);

    // One invalid entry: the whole transaction is refused, naming it, and the store is unchanged.
    let before = srv.bundle("_history?_count=1000")["entry"].as_array().unwrap().len();
    let mut bad = plan_transaction("9000000082");
    bad["entry"][2]["resource"]["lifecycleStatus"] = json!("not-a-status");
    let r = srv.post("", &bad);
    assert_eq!(r.status(), 422);
    let oo: Value = r.json().unwrap();
    let all = texts(&oo).join("\n");
    assert!(all.contains("Bundle.entry[2]"), "{all}");
    assert_eq!(srv.bundle("_history?_count=1000")["entry"].as_array().unwrap().len(), before);

    // A conditional reference that matches nothing fails at the store: rolled back whole.
    let mut unresolved = plan_transaction("9000000090");
    unresolved["entry"][0]["resource"]["author"]["reference"] = json!("Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|NOPE");
    let r = srv.post("", &unresolved);
    assert_eq!(r.status(), 412);
    assert!(texts(&r.json::<Value>().unwrap()).join(" ").contains("Bundle.entry[0]"));
    assert_eq!(srv.bundle("_history?_count=1000")["entry"].as_array().unwrap().len(), before);
    assert_eq!(srv.total(&format!("Patient?identifier={NHS}|9000000090")), 0);

    // ifNoneExist, and entries processed DELETE, POST, PUT, GET whatever their order.
    let pid = entries[1]["resource"]["id"].as_str().unwrap();
    let mut updated = entries[1]["resource"].clone();
    updated["name"][0]["family"] = json!("Renamed");
    let mixed = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "GET", "url": format!("Patient/{pid}")}},
        entry(&format!("Patient/{pid}"), updated, "PUT", &format!("Patient/{pid}")),
        {"fullUrl": "urn:uuid:3f1c9a3e-0000-4000-8000-00000000000a", "resource": organisation(), "request": {"method": "POST", "url": "Organization", "ifNoneExist": "identifier=https://fhir.nhs.uk/Id/ods-organization-code|RX1"}},
    ]});
    let r = srv.post("", &mixed);
    assert_eq!(r.status(), 200);
    let reply: Value = r.json().unwrap();
    assert_eq!(reply["entry"][0]["resource"]["name"][0]["family"], "Renamed", "GET runs after PUT");
    assert_eq!(reply["entry"][1]["response"]["status"], "200 OK");
    assert_eq!(reply["entry"][2]["response"]["status"], "200 OK", "the organisation already exists");
    assert_eq!(srv.total("Organization?_summary=count"), 1);
}

#[test]
fn batches_process_entries_independently() {
    let dir = tempdir();
    let srv = Server::start(dir.path(), &[]);
    let mut bad = goal("Patient/p1", "active", "x");
    bad["lifecycleStatus"] = json!("nonsense");
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": patient("9000000104", "Batch"), "request": {"method": "POST", "url": "Patient"}},
        {"resource": bad, "request": {"method": "POST", "url": "Goal"}},
        {"request": {"method": "GET", "url": "Patient/missing"}},
    ]});
    let r = srv.post("", &batch);
    assert_eq!(r.status(), 200);
    let reply: Value = r.json().unwrap();
    assert_eq!(reply["type"], "batch-response");
    assert_eq!(reply["entry"][0]["response"]["status"], "201 Created");
    assert!(reply["entry"][1]["response"]["status"].as_str().unwrap().starts_with("422"));
    assert_eq!(reply["entry"][1]["response"]["outcome"]["resourceType"], "OperationOutcome");
    assert!(reply["entry"][2]["response"]["status"].as_str().unwrap().starts_with("404"));
    assert_eq!(srv.total("Patient?_summary=count"), 1);
    assert_eq!(srv.total("Goal?_summary=count"), 0);
}

#[test]
fn search_by_the_loaded_search_parameters() {
    let dir = tempdir();
    let srv = Server::start(dir.path(), &[]);
    created(srv.post("Organization", &organisation()));
    let reply: Value = srv.post("", &plan_transaction("9000000112")).json().unwrap();
    let pid = reply["entry"][1]["resource"]["id"].as_str().unwrap().to_string();
    let plan_id = reply["entry"][0]["resource"]["id"].as_str().unwrap().to_string();
    let mut other = patient("9000000120", "Other");
    other["name"][0]["given"] = json!(["Zoë"]);
    other["birthDate"] = json!("1990-07-15");
    other["meta"] = json!({"tag": [{"system": "http://x/tags", "code": "vip"}], "profile": ["http://hl7.org/fhir/StructureDefinition/Patient"]});
    let other = created(srv.post("Patient", &other));
    let other_id = other["id"].as_str().unwrap();

    // token
    assert_eq!(srv.total(&format!("Patient?identifier={NHS}|9000000112")), 1);
    assert_eq!(srv.total("Patient?identifier=9000000120"), 1);
    assert_eq!(srv.total("Patient?gender=female"), 2);
    assert_eq!(srv.total("Goal?lifecycle-status=active,proposed"), 2);
    assert_eq!(srv.total("Goal?lifecycle-status:not=active"), 1);
    // string: starts-with, case-insensitive; :exact; :contains
    assert_eq!(srv.total("Patient?family=trans"), 1);
    assert_eq!(srv.total("Patient?family:exact=transaction"), 0);
    assert_eq!(srv.total("Patient?family:exact=Transaction"), 1);
    assert_eq!(srv.total("Patient?name:contains=ther"), 1);
    // date with prefixes
    assert_eq!(srv.total("Patient?birthdate=1950"), 1);
    assert_eq!(srv.total("Patient?birthdate=gt1960-01-01"), 1);
    assert_eq!(srv.total("Patient?birthdate=le1990-07-15"), 2);
    assert_eq!(srv.total("Patient?birthdate=lt1950-03-01"), 0);
    assert_eq!(srv.total("CarePlan?date=ge2026-01"), 1);
    assert_eq!(srv.get("Patient?birthdate=yesterday").status(), 400);
    // reference, with and without the type
    assert_eq!(srv.total(&format!("CarePlan?subject=Patient/{pid}")), 1);
    assert_eq!(srv.total(&format!("CarePlan?patient={pid}")), 1);
    assert_eq!(srv.total(&format!("Goal?subject:Patient={pid}")), 2);
    // :missing
    assert_eq!(srv.total("CarePlan?author:missing=false"), 1);
    assert_eq!(srv.total("Patient?death-date:missing=true"), 2);
    // chaining one level
    assert_eq!(srv.total("CarePlan?subject:Patient.family=transaction"), 1);
    assert_eq!(srv.total("CarePlan?patient.identifier=9000000112"), 1);
    assert_eq!(srv.total("CarePlan?patient.identifier=9000000120"), 0);
    // common parameters
    assert_eq!(srv.total(&format!("Patient?_id={other_id}")), 1);
    assert_eq!(srv.total("Patient?_tag=http://x/tags|vip"), 1);
    assert_eq!(srv.total("Patient?_profile=http://hl7.org/fhir/StructureDefinition/Patient"), 1);
    assert_eq!(srv.total("Patient?_security:missing=true"), 2);
    assert_eq!(srv.total("Patient?_lastUpdated=gt2000-01-01"), 2);
    assert_eq!(srv.total("Patient?_lastUpdated=lt2000-01-01"), 0);

    // _include and _revinclude
    let b = srv.bundle(&format!("CarePlan?patient={pid}&_include=CarePlan:goal&_include=CarePlan:subject"));
    let modes: Vec<(String, String)> = b["entry"].as_array().unwrap().iter().map(|e| (e["resource"]["resourceType"].as_str().unwrap().to_string(), e["search"]["mode"].as_str().unwrap().to_string())).collect();
    assert_eq!(b["total"], 1);
    assert_eq!(modes.iter().filter(|(t, m)| t == "Goal" && m == "include").count(), 2, "{modes:?}");
    assert_eq!(modes.iter().filter(|(t, m)| t == "Patient" && m == "include").count(), 1, "{modes:?}");
    let b = srv.bundle(&format!("Patient?_id={pid}&_revinclude=CarePlan:subject"));
    assert!(b["entry"].as_array().unwrap().iter().any(|e| e["resource"]["id"] == plan_id.as_str() && e["search"]["mode"] == "include"));

    // _count, paging links, _sort, _summary=count
    let b = srv.bundle("Patient?_count=1&_sort=birthdate");
    assert_eq!(b["total"], 2);
    assert_eq!(b["entry"].as_array().unwrap().len(), 1);
    assert_eq!(b["entry"][0]["resource"]["birthDate"], "1950-03-01");
    let next = b["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next").expect("a next link")["url"].as_str().unwrap().to_string();
    let page2: Value = srv.client.get(&next).send().unwrap().json().unwrap();
    assert_eq!(page2["entry"][0]["resource"]["birthDate"], "1990-07-15");
    assert!(page2["link"].as_array().unwrap().iter().all(|l| l["relation"] != "next"));
    let b = srv.bundle("Patient?_sort=-birthdate");
    assert_eq!(b["entry"][0]["resource"]["birthDate"], "1990-07-15");
    let b = srv.bundle("Patient?_summary=count");
    assert_eq!(b["total"], 2);
    assert!(b.get("entry").is_none());

    // Unknown parameters are ignored, and the searchset says so; unless the client asks for strict handling.
    let b = srv.bundle("Patient?not-a-param=1");
    assert_eq!(b["total"], 2);
    assert!(b["entry"].as_array().unwrap().iter().any(|e| e["search"]["mode"] == "outcome"));
    let r = srv.client.get(srv.url("Patient?not-a-param=1")).header("Prefer", "handling=strict").send().unwrap();
    assert_eq!(r.status(), 400);
    // token :text searches the display text.
    let condition = json!({"resourceType": "Condition", "subject": {"reference": format!("Patient/{pid}")},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006", "display": "Diabetes mellitus type 2"}]}});
    created(srv.post("Condition", &condition));
    assert_eq!(srv.total("Condition?code:text=diabetes"), 1);
    assert_eq!(srv.total("Condition?code:text=asthma"), 0);
    // POST _search takes the same parameters.
    let r = srv.client.post(srv.url("Patient/_search?family=other")).send().unwrap();
    assert_eq!(r.json::<Value>().unwrap()["total"], 1);
    let r = srv.client.post(srv.url("Patient/_search")).header("Content-Type", "application/x-www-form-urlencoded").body("family=other&gender=female").send().unwrap();
    assert_eq!(r.json::<Value>().unwrap()["total"], 1);
    let b = srv.bundle("Patient?_count=0");
    assert_eq!(b["total"], 2);
    assert!(b["link"].as_array().unwrap().iter().all(|l| l["relation"] != "next"), "no endless paging");
}

#[test]
fn quantity_and_uri_parameters() {
    let dir = tempdir();
    let srv = Server::start(dir.path(), &[]);
    let obs = |value: f64| {
        json!({"resourceType": "Observation", "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0"}]},
               "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2026-11-20T10:00:00Z",
               "valueQuantity": {"value": value, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"}})
    };
    created(srv.post("Observation", &obs(72.5)));
    created(srv.post("Observation", &obs(80.0)));
    assert_eq!(srv.total("Observation?value-quantity=gt75"), 1);
    assert_eq!(srv.total("Observation?value-quantity=72.5|http://unitsofmeasure.org|mg/dL"), 1);
    assert_eq!(srv.total("Observation?value-quantity=le80|http://unitsofmeasure.org|mg/dL"), 2);
    assert_eq!(srv.total("Observation?code=http://loinc.org|2339-0&date=2026-11-20"), 2);
    assert_eq!(srv.total("Observation?date=gt2026-11-20T10:00:00Z"), 0);
    // Composite parameters match their parts on the same element.
    assert_eq!(srv.total("Observation?code-value-quantity=http://loinc.org|2339-0$gt75"), 1);
    assert_eq!(srv.total("Observation?code-value-quantity=http://loinc.org|2339-0$lt70"), 0);
    assert_eq!(srv.total("Observation?code-value-quantity=http://loinc.org|9999-9$gt75"), 0);
    let panel = json!({"resourceType": "Observation", "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "55284-4"}]},
        "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2026-11-20T10:00:00Z", "component": [
            {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "valueQuantity": {"value": 140, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
            {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]}, "valueQuantity": {"value": 90, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}]});
    created(srv.post("Observation", &panel));
    assert_eq!(srv.total("Observation?component-code-value-quantity=http://loinc.org|8480-6$gt130"), 1);
    assert_eq!(srv.total("Observation?component-code-value-quantity=http://loinc.org|8462-4$gt130"), 0, "140 is the systolic's, not the diastolic's");
    assert_eq!(srv.total("Observation?component-code-value-quantity=http://loinc.org|8462-4$lt100,http://loinc.org|8480-6$gt200"), 1);
    assert_eq!(srv.total("Observation?combo-code-value-quantity=http://loinc.org|8462-4$90"), 1);
    assert_eq!(srv.total("Observation?component-code-value-quantity:missing=true"), 2);
    assert_eq!(srv.get("Observation?code-value-quantity=http://loinc.org|2339-0").status(), 400);
    let doc = json!({"resourceType": "DocumentReference", "status": "current", "content": [{"attachment": {"contentType": "application/pdf", "url": "http://docs.example/plan.pdf"}}], "subject": {"reference": "Patient/p1"}});
    created(srv.post("DocumentReference", &doc));
    // DocumentReference's 'location' is a uri parameter on content.attachment.url.
    assert_eq!(srv.total("DocumentReference?location=http://docs.example/plan.pdf"), 1);
    assert_eq!(srv.total("DocumentReference?location:below=http://docs.example/"), 1);
    assert_eq!(srv.total("DocumentReference?location=http://docs.example/"), 0);
}

#[test]
fn validate_operation_at_every_level() {
    let dir = tempdir();
    let srv = Server::start(dir.path(), &[]);
    let good = goal("Patient/p1", "active", "Walk");
    let mut bad = good.clone();
    bad["lifecycleStatus"] = json!("nonsense");

    let errors = |oo: &Value| oo["issue"].as_array().unwrap().iter().filter(|i| i["severity"] == "error").count();
    let r = srv.post("$validate", &bad);
    assert_eq!(r.status(), 200, "the operation worked; the resource did not");
    let oo: Value = r.json().unwrap();
    assert_eq!(oo["resourceType"], "OperationOutcome");
    assert!(errors(&oo) >= 1, "{:?}", texts(&oo));
    let oo: Value = srv.post("Goal/$validate", &good).json().unwrap();
    assert_eq!(errors(&oo), 0, "{:?}", texts(&oo));
    assert_eq!(srv.post("Patient/$validate", &good).status(), 400, "a Goal is not a Patient");

    // Parameters with resource, profile and mode; nothing is stored.
    let params = json!({"resourceType": "Parameters", "parameter": [
        {"name": "resource", "resource": good},
        {"name": "profile", "valueUri": "http://hl7.org/fhir/StructureDefinition/Goal"},
        {"name": "mode", "valueCode": "create"}]});
    let oo: Value = srv.post("Goal/$validate", &params).json().unwrap();
    assert_eq!(errors(&oo), 0, "{:?}", texts(&oo));
    let unknown_profile = srv.post("Goal/$validate?profile=http://example.org/no-such-profile", &good);
    assert_eq!(unknown_profile.status(), 400);
    assert_eq!(srv.total("Goal?_summary=count"), 0);

    // Instance level: the stored resource, or a candidate update; mode=delete.
    let stored = created(srv.post("Goal", &good));
    let id = stored["id"].as_str().unwrap();
    let oo: Value = srv.client.post(srv.url(&format!("Goal/{id}/$validate"))).send().unwrap().json().unwrap();
    assert_eq!(errors(&oo), 0, "{:?}", texts(&oo));
    let mut candidate = stored.clone();
    candidate["lifecycleStatus"] = json!("nonsense");
    let oo: Value = srv.post(&format!("Goal/{id}/$validate?mode=update"), &candidate).json().unwrap();
    assert!(errors(&oo) >= 1);
    assert_eq!(srv.client.post(srv.url(&format!("Goal/{id}/$validate?mode=delete"))).send().unwrap().status(), 200);
    assert_eq!(srv.client.post(srv.url("Goal/nope/$validate?mode=delete")).send().unwrap().status(), 404);

    // The PRSB operations refuse what is not theirs with an OperationOutcome.
    assert_eq!(srv.client.post(srv.url("$from-prsb")).send().unwrap().status(), 422);
    assert_eq!(srv.get("CarePlan/nope/$prsb").status(), 404);
}

/// The CapabilityStatement served is the one in the repository, and it
/// says what the server does: the statement built from the code and the
/// loaded SearchParameters is the same, and every interaction, search
/// parameter, operation and format it lists works over HTTP.
#[test]
fn capability_statement_matches_what_the_server_does() {
    use careplan::server::metadata;
    // The server loads careplan's own definitions (with its SearchParameters) beside the packages.
    let registry = careplan::server::search::Registry::load(&common::context_with_careplan_profiles());
    let file: Value = serde_json::from_str(include_str!("../CapabilityStatement.json")).unwrap();
    let mut described = metadata::describe(&registry, env!("CARGO_PKG_VERSION"), file["date"].as_str().unwrap_or("2026-11-25"));
    if std::env::var_os("CAREPLAN_BLESS").is_some() {
        std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/CapabilityStatement.json"), serde_json::to_string_pretty(&described).unwrap() + "\n").unwrap();
        described = serde_json::from_str(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/CapabilityStatement.json")).unwrap()).unwrap();
    }
    if file != described {
        let (a, b) = (serde_json::to_string_pretty(&file).unwrap(), serde_json::to_string_pretty(&described).unwrap());
        let at = a.lines().zip(b.lines()).position(|(x, y)| x != y).unwrap_or(a.lines().count().min(b.lines().count()));
        panic!(
            "CapabilityStatement.json has drifted from what the server does, from line {}: file has {:?}, server {:?}. Regenerate it with CAREPLAN_BLESS=1 cargo test --test server capability and review the diff",
            at + 1,
            a.lines().nth(at),
            b.lines().nth(at)
        );
    }

    let dir = tempdir();
    let srv = Server::start(dir.path(), &[]);
    let mut served: Value = srv.get("metadata").json().unwrap();
    // This server runs in open mode (tests/server_support), and /metadata says so loudly.
    assert_eq!(served["rest"][0]["security"]["description"], metadata::OPEN_MODE);
    served["rest"][0]["security"]["description"] = file["rest"][0]["security"]["description"].clone();
    assert_eq!(served, file, "/metadata answers the statement in the repository");
    for (format, media) in [("json", "application/fhir+json"), ("xml", "application/fhir+xml")] {
        assert!(file["format"].as_array().unwrap().contains(&json!(format)));
        let r = srv.get(&format!("metadata?_format={format}"));
        assert!(header(&r, "content-type").starts_with(media));
    }

    for resource in file["rest"][0]["resource"].as_array().unwrap() {
        let t = resource["type"].as_str().unwrap();
        let codes: Vec<&str> = resource["interaction"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap()).collect();
        assert_eq!(codes, metadata::TYPE_INTERACTIONS);
        // Every listed search parameter is searched, not ignored.
        for p in resource["searchParam"].as_array().unwrap() {
            let name = p["name"].as_str().unwrap();
            let b = srv.bundle(&format!("{t}?{name}:missing=true"));
            assert!(b["entry"].as_array().is_none_or(|e| e.iter().all(|e| e["search"]["mode"] != "outcome")), "{t}?{name} is listed but ignored");
        }
        for p in file["rest"][0]["searchParam"].as_array().unwrap() {
            let name = p["name"].as_str().unwrap();
            let value = if name == "_lastUpdated" { "gt2000-01-01" } else { "x" };
            assert_eq!(srv.get(&format!("{t}?{name}={value}")).status(), 200, "{t}?{name}");
        }
        for inc in resource["searchInclude"].as_array().unwrap() {
            assert_eq!(srv.get(&format!("{t}?_include={}", inc.as_str().unwrap())).status(), 200);
        }
        // And every listed interaction answers (with a 404 for an id that does not exist, never 405/501).
        for code in codes {
            let status = match code {
                "read" => srv.get(&format!("{t}/none")).status(),
                "vread" => srv.get(&format!("{t}/none/_history/1")).status(),
                "history-instance" => srv.get(&format!("{t}/none/_history")).status(),
                "history-type" => srv.get(&format!("{t}/_history")).status(),
                "search-type" => srv.get(t).status(),
                "create" => srv.post(t, &json!({"resourceType": t, "bogus": true})).status(),
                "update" => srv.put(&format!("{t}/none"), &json!({"resourceType": t, "id": "none", "bogus": true})).status(),
                "patch" => srv.client.patch(srv.url(&format!("{t}/none"))).header("Content-Type", "application/json-patch+json").body("[]").send().unwrap().status(),
                "delete" => srv.client.delete(srv.url(&format!("{t}/none"))).send().unwrap().status(),
                other => panic!("an interaction the test does not know: {other}"),
            };
            assert!(![405u16, 501].contains(&status.as_u16()), "{t} {code}: {status}");
        }
        let validate = srv.post(&format!("{t}/$validate"), &json!({"resourceType": t}));
        assert_eq!(validate.status(), 200, "{t}/$validate");
    }
    let system: Vec<&str> = file["rest"][0]["interaction"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap()).collect();
    assert_eq!(system, metadata::SYSTEM_INTERACTIONS);
    assert_eq!(srv.get("_history").status(), 200);
    for kind in ["batch", "transaction"] {
        let r = srv.post("", &json!({"resourceType": "Bundle", "type": kind, "entry": []}));
        assert_eq!(r.status(), 200, "{kind}");
    }
    assert_eq!(srv.post("$validate", &json!({"resourceType": "Basic", "code": {"text": "x"}})).status(), 200);
}

fn outbox_rows(database: &std::path::Path) -> Vec<Value> {
    let out = common::careplan().args(["outbox", "list", "--json", "--limit", "1000", "--database"]).arg(database).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn statuses(rows: &[Value]) -> Vec<String> {
    rows.iter().map(|r| r["status"].as_str().unwrap().to_string()).collect()
}

#[test]
fn forwarding_survives_upstream_outages_and_restarts() {
    let dir = tempdir();
    let upstream_address = format!("127.0.0.1:{}", server_support::free_port());
    let forward = format!("http://{upstream_address}");
    let (up_db, down_db) = (dir.path().join("upstream.db"), dir.path().join("downstream.db"));
    let mut down = Server::start_on(&down_db, "127.0.0.1:0", &["--forward", &forward], &[]);

    // The upstream is not there yet: writes are accepted and wait in the outbox.
    let pid = created(down.post("Patient", &patient("9000000139", "Forwarded")))["id"].as_str().unwrap().to_string();
    let subject = format!("Patient/{pid}");
    let gid = created(down.post("Goal", &goal(&subject, "active", "Walk")))["id"].as_str().unwrap().to_string();
    // Strictly in order: the oldest write is retried, the next waits behind it.
    assert!(
        eventually(Duration::from_secs(30), || outbox_rows(&down_db).iter().any(|r| r["attempts"].as_i64().unwrap() >= 2 && r["last_error"].as_str().unwrap_or("").contains("unreachable"))),
        "the forwarder tried, and tries again"
    );
    assert_eq!(statuses(&outbox_rows(&down_db)), vec!["pending", "pending"]);

    // It comes up (started later): everything arrives, with the same ids.
    let mut up = Server::start_on(&up_db, &upstream_address, &[], &[]);
    assert!(eventually(Duration::from_secs(60), || up.get(&format!("Goal/{gid}")).status() == 200), "the goal reached the upstream");
    assert_eq!(up.get(&format!("Patient/{pid}")).status(), 200);
    assert!(eventually(Duration::from_secs(30), || statuses(&outbox_rows(&down_db)).iter().all(|s| s == "sent")));

    // The upstream goes down; writes go on; then our server restarts too.
    assert!(up.stop().success());
    let mut cancelled: Value = down.get(&format!("Goal/{gid}")).json().unwrap();
    cancelled["lifecycleStatus"] = json!("cancelled");
    assert_eq!(down.put(&format!("Goal/{gid}"), &cancelled).status(), 200);
    assert_eq!(down.client.delete(down.url(&format!("Patient/{pid}"))).send().unwrap().status(), 200);
    assert!(down.stop().success(), "a clean shutdown");
    let down = Server::start_on(&down_db, "127.0.0.1:0", &["--forward", &forward], &[]);
    let g2 = created(down.post("Goal", &goal(&subject, "proposed", "Cook")))["id"].as_str().unwrap().to_string();
    let waiting = statuses(&outbox_rows(&down_db)).iter().filter(|s| *s == "pending").count();
    assert_eq!(waiting, 3, "the update, the deletion and the new goal wait");

    // The upstream is back: nothing was lost, and it all arrived in order.
    let up = Server::start_on(&up_db, &upstream_address, &[], &[]);
    assert!(eventually(Duration::from_secs(60), || up.get(&format!("Goal/{g2}")).status() == 200), "the new goal reached the upstream");
    assert_eq!(up.get(&format!("Goal/{gid}")).json::<Value>().unwrap()["lifecycleStatus"], "cancelled");
    assert_eq!(up.get(&format!("Patient/{pid}")).status(), 410);
    assert!(eventually(Duration::from_secs(30), || statuses(&outbox_rows(&down_db)).iter().all(|s| s == "sent")));
    // The upstream keeps the history too: the archived goal is its second version.
    let h = up.bundle(&format!("Goal/{gid}/_history"));
    assert_eq!(h["entry"][0]["resource"]["lifecycleStatus"], "cancelled");
    assert_eq!(h["entry"][1]["resource"]["lifecycleStatus"], "active");
}

#[test]
fn writes_the_upstream_refuses_are_kept_and_can_be_retried() {
    let dir = tempdir();
    let up = Server::start(dir.path(), &[]);
    let down_db = dir.path().join("lenient.db");
    let down = Server::start_on(&down_db, "127.0.0.1:0", &["--validation", "off", "--forward", &up.base], &[]);
    let mut bad = goal("Patient/p1", "active", "x");
    bad["lifecycleStatus"] = json!("nonsense");
    created(down.post("Goal", &bad));
    let good = created(down.post("Goal", &goal("Patient/p1", "active", "y")));
    assert!(eventually(Duration::from_secs(30), || up.get(&format!("Goal/{}", good["id"].as_str().unwrap())).status() == 200), "a refused write does not hold up the next");
    let rows = outbox_rows(&down_db);
    let refused = rows.iter().find(|r| r["status"] == "rejected").expect("a rejected row");
    assert!(refused["last_error"].as_str().unwrap().contains("422"), "{refused}");
    let out = common::careplan().args(["outbox", "retry", "--database"]).arg(&down_db).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("1 writes"), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(eventually(Duration::from_secs(30), || outbox_rows(&down_db).iter().any(|r| r["status"] == "rejected" && r["attempts"].as_i64().unwrap() >= 2)), "retried, and refused again");
    let listed = common::careplan().args(["outbox", "list", "--database"]).arg(&down_db).output().unwrap();
    let table = String::from_utf8_lossy(&listed.stdout);
    assert!(table.contains("rejected: 1") && table.contains("sent: 1"), "{table}");
}

#[test]
fn shutdown_finishes_the_transaction_in_flight() {
    let dir = tempdir();
    let db = dir.path().join("careplan.db");
    let mut srv = Server::start_on(&db, "127.0.0.1:0", &[], &[]);
    let entries: Vec<Value> = (0..1500).map(|i| entry(&format!("urn:uuid:00000000-0000-4000-8000-{i:012}"), patient(&format!("{}", 9100000000u64 + i), "Bulk"), "POST", "Patient")).collect();
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
    let (client, url) = (srv.client.clone(), srv.url(""));
    let sender = std::thread::spawn(move || client.post(url).header("Content-Type", "application/fhir+json").body(serde_json::to_vec(&bundle).unwrap()).send().map(|r| r.status().as_u16()));
    std::thread::sleep(Duration::from_millis(300));
    assert!(srv.stop().success(), "the server stops cleanly");
    let answered = sender.join().unwrap();
    let srv = Server::start_on(&db, "127.0.0.1:0", &[], &[]);
    let stored = srv.total("Patient?_summary=count");
    assert!(stored == 0 || stored == 1500, "all or nothing, not {stored}");
    if answered.as_ref().ok() == Some(&200) {
        assert_eq!(stored, 1500, "an answered transaction is stored");
    }
}

#[test]
fn settings_come_from_flags_then_environment_then_the_config_file() {
    let dir = tempdir();
    let config = dir.path().join("careplan.toml");
    std::fs::write(&config, "validation = \"off\"\nmax-body-bytes = 1000000\n").unwrap();
    let mut bad = goal("Patient/p1", "active", "x");
    bad["lifecycleStatus"] = json!("nonsense");
    let cfg = config.to_str().unwrap();

    let srv = Server::start_on(&dir.path().join("a.db"), "127.0.0.1:0", &["--config", cfg], &[]);
    assert_eq!(srv.post("Goal", &bad).status(), 201, "the file turns validation off");
    let srv = Server::start_on(&dir.path().join("b.db"), "127.0.0.1:0", &["--config", cfg], &[("CAREPLAN_VALIDATION", "warn")]);
    let r = srv.json(Method::POST, "Goal", &bad).header("Prefer", "return=OperationOutcome").send().unwrap();
    assert_eq!(r.status(), 201, "warn stores it");
    let oo: Value = r.json().unwrap();
    assert!(oo["issue"].as_array().unwrap().iter().any(|i| i["severity"] == "error"), "and tells what is wrong: {:?}", texts(&oo));
    let srv = Server::start_on(&dir.path().join("c.db"), "127.0.0.1:0", &["--config", cfg, "--validation", "reject"], &[("CAREPLAN_VALIDATION", "warn")]);
    assert_eq!(srv.post("Goal", &bad).status(), 422, "the flag wins");

    std::fs::write(&config, "adress = \"typo\"\n").unwrap();
    let out = common::careplan().args(["serve", "--offline", "--config", cfg]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("adress"));
}

/// Bad input of every kind gets a 4xx with an OperationOutcome that says
/// what to do: never a 5xx, never a dropped connection.
#[test]
fn bad_requests_get_an_outcome_never_a_server_error() {
    let dir = tempdir();
    let srv = Server::start(dir.path(), &[]);
    let id = created(srv.post("Patient", &patient("9000000155", "Robust")))["id"].as_str().unwrap().to_string();
    let gets = [
        "Patient?birthdate=ge",
        "Patient?birthdate=2026-13-45",
        "Patient?_count=lots",
        "Patient?_offset=-1",
        "Patient?_sort=no-such-param",
        "Patient?_sort=_content",
        "Patient?name.family=x",
        "Patient?organization.nope=x",
        "Patient?_include=garbage",
        "Patient?_id:above=1",
        "Patient?gender:exact=female",
        "Patient?family:below=x",
        "Patient?general-practitioner:identifier=x",
        "Observation?value-quantity=abc",
        "Observation?code-value-quantity=x$1",
        "Patient?_since=yesterday",
        "Patient/_history?_since=yesterday",
        "Patient/_history?_count=x",
        "Patient?identifier=|",
        "Patient?identifier=%E2%9C%93%F0%9F%98%80",
        "Patient?name=%27%3B%20DROP%20TABLE%20resource_version%3B--",
        "Patient/not%20an%20id",
        "Patient/x/_history/not-a-number",
        "patient/x",
        "Patient/x/y/z/w",
        "$from-prsb",
    ];
    for path in gets {
        let r = srv.get(path);
        let status = r.status().as_u16();
        let body = r.text().unwrap();
        assert!((200..500).contains(&status), "GET {path}: {status} {body}");
        if status >= 400 {
            let oo: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("GET {path}: not JSON: {body}"));
            assert_eq!(oo["resourceType"], "OperationOutcome", "GET {path}");
            assert!(!oo["issue"][0]["details"]["text"].as_str().unwrap_or("").is_empty(), "GET {path}: a message");
        }
    }
    assert_eq!(srv.total("Patient?_summary=count"), 1, "the store is still there");

    let own = format!("Patient/{id}");
    let own = own.as_str();
    let posts: Vec<(&str, &str, String)> = vec![
        ("POST", "Patient", "".into()),
        ("POST", "Patient", "null".into()),
        ("POST", "Patient", "[1,2,3]".into()),
        ("POST", "Patient", "<Patient xmlns=\"http://hl7.org/fhir\"><gender value=\"female\"".into()),
        ("POST", "Patient", format!("{}{}", "{\"resourceType\":\"Patient\",\"extension\":[".repeat(2000), "")),
        ("POST", "Patient", "{\"resourceType\":\"Patient\",\"birthDate\":\"not a date\"}".into()),
        ("POST", "Patient", "\u{feff}{\"resourceType\":\"NotAType\"}".into()),
        ("POST", "", "{\"resourceType\":\"Bundle\",\"type\":\"document\"}".into()),
        ("POST", "", "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{\"resource\":{\"resourceType\":\"Patient\"}}]}".into()),
        ("POST", "", "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}}]}".into()),
        ("POST", "", "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{\"request\":{\"method\":\"TRACE\",\"url\":\"Patient\"}}]}".into()),
        ("POST", "", "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{\"request\":{\"method\":\"POST\",\"url\":\"\"},\"resource\":{\"resourceType\":\"Bundle\",\"type\":\"batch\"}}]}".into()),
        ("POST", "", "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{\"request\":{\"method\":\"PATCH\",\"url\":\"Patient/x\"},\"resource\":{\"resourceType\":\"Binary\",\"contentType\":\"application/json-patch+json\",\"data\":\"!!!\"}}]}".into()),
        ("PUT", own, "{\"resourceType\":\"Patient\"}".into()),
        ("PUT", "Patient?", "{\"resourceType\":\"Patient\"}".into()),
        ("PUT", "Patient?nope=1", "{\"resourceType\":\"Patient\"}".into()),
        ("PATCH", own, "not json".into()),
        ("PATCH", own, "[{\"op\":\"remove\",\"path\":\"/nothing/here\"}]".into()),
        ("PATCH", own, "[{\"op\":\"replace\",\"path\":\"/id\",\"value\":\"other\"}]".into()),
        ("POST", "Patient/$validate", "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"resource\"}]}".into()),
        ("POST", "Patient/$validate?mode=sideways", "{\"resourceType\":\"Patient\"}".into()),
        ("DELETE", "Patient", "".into()),
        ("OPTIONS", "Patient/x", "".into()),
    ];
    for (method, path, body) in posts {
        let content_type = if method == "PATCH" { "application/json-patch+json" } else { "application/fhir+json" };
        let r = srv
            .client
            .request(Method::from_bytes(method.as_bytes()).unwrap(), srv.url(path))
            .header("Content-Type", content_type)
            .header("If-None-Exist", if path == "Patient" { "identifier=x|y" } else { "" })
            .body(body.clone())
            .send()
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().unwrap();
        assert!((400..500).contains(&status), "{method} {path} {:.80}: {status} {text:.300}", body);
        let oo: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text:.300}"));
        assert_eq!(oo["resourceType"], "OperationOutcome", "{method} {path}");
    }
    let r = srv.json(Method::PUT, &format!("Patient/{id}"), &patient("9000000155", "Robust")).header("If-Match", "garbage").send().unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(srv.total("Patient?_summary=count"), 1);
    assert_eq!(srv.get("readyz").status(), 200);
}

#[test]
fn summary_and_elements_send_part_of_each_resource() {
    let dir = tempdir();
    let srv = Server::start(dir.path(), &[]);
    let mut p = patient("9000000163", "Summary");
    p["text"] = json!({"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Ada Summary</div>"});
    p["maritalStatus"] = json!({"text": "Widowed"});
    p["multipleBirthBoolean"] = json!(false);
    let id = created(srv.post("Patient", &p))["id"].as_str().unwrap().to_string();
    let subsetted = |r: &Value| r["meta"]["tag"].as_array().is_some_and(|t| t.iter().any(|t| t["code"] == "SUBSETTED"));

    let whole: Value = srv.get(&format!("Patient/{id}")).json().unwrap();
    assert!(whole.get("maritalStatus").is_some() && !subsetted(&whole));
    let summary: Value = srv.get(&format!("Patient/{id}?_summary=true")).json().unwrap();
    assert!(summary.get("name").is_some() && summary.get("birthDate").is_some(), "{summary}");
    assert!(summary.get("maritalStatus").is_none() && summary.get("multipleBirthBoolean").is_none() && summary.get("text").is_none(), "{summary}");
    assert!(subsetted(&summary));
    let data: Value = srv.get(&format!("Patient/{id}?_summary=data")).json().unwrap();
    assert!(data.get("text").is_none() && data.get("maritalStatus").is_some());
    let text: Value = srv.get(&format!("Patient/{id}?_summary=text")).json().unwrap();
    assert!(text.get("text").is_some() && text.get("name").is_none());
    let b = srv.bundle("Patient?_elements=name,multipleBirth");
    let r = &b["entry"][0]["resource"];
    assert!(r.get("name").is_some() && r.get("multipleBirthBoolean").is_some() && r.get("gender").is_none() && r["id"] == id.as_str(), "{r}");
    assert!(subsetted(r));
    assert_eq!(srv.get("Patient?_summary=maybe").status(), 400);
}

#[test]
fn enforced_profiles_apply_to_their_resource_type_only() {
    let dir = tempdir();
    let lab = json!({"resourceType": "Observation", "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0"}]},
                     "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2026-11-20T10:00:00Z",
                     "valueQuantity": {"value": 5.4, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"}});
    let plain = Server::start_on(&dir.path().join("plain.db"), "127.0.0.1:0", &[], &[]);
    assert_eq!(plain.post("Observation", &lab).status(), 201);
    let strict = Server::start_on(&dir.path().join("strict.db"), "127.0.0.1:0", &[], &[("CAREPLAN_PROFILES", "http://hl7.org/fhir/StructureDefinition/vitalsigns")]);
    let r = strict.post("Observation", &lab);
    assert_eq!(r.status(), 422, "a lab result is not a vital sign");
    let oo: Value = r.json().unwrap();
    assert!(oo["issue"].as_array().unwrap().iter().any(|i| i["severity"] == "error" && i.to_string().contains("vitalsigns")), "{:?}", texts(&oo));
    assert_eq!(strict.post("Patient", &patient("9000000171", "Unaffected")).status(), 201);

    let out = common::careplan().args(["serve", "--offline", "--open", "--address", "127.0.0.1:0", "--profile", "http://example.org/StructureDefinition/missing", "--database"]).arg(dir.path().join("x.db")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("http://example.org/StructureDefinition/missing"));
}

/// What the PRSB mapper makes of a plan is a transaction the server takes
/// whole, validated against careplan's own profiles on the way in.
#[test]
fn mapped_prsb_plans_are_accepted_as_transactions() {
    let dir = tempdir();
    let srv = Server::start(dir.path(), &[]);
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/prsb");
    let mut plans: Vec<_> = std::fs::read_dir(&examples).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect();
    plans.sort();
    assert!(!plans.is_empty());
    for plan in plans {
        let out = common::careplan().args(["map", "--offline"]).arg(&plan).output().unwrap();
        assert!(out.status.success(), "{}: {}", plan.display(), String::from_utf8_lossy(&out.stderr));
        let bundle: Value = serde_json::from_slice(&out.stdout).unwrap();
        let r = srv.post("", &bundle);
        let status = r.status();
        let reply: Value = r.json().unwrap();
        assert_eq!(status, 200, "{}: {:?}", plan.display(), texts(&reply));
        let entries = reply["entry"].as_array().unwrap();
        assert_eq!(entries.len(), bundle["entry"].as_array().unwrap().len());
        assert!(entries.iter().all(|e| e["response"]["status"].as_str().unwrap().starts_with("20")), "{}", plan.display());
    }
    assert!(srv.total("CarePlan?_summary=count") >= 1);
}

#[test]
fn update_create_can_be_turned_off_and_the_statement_says_so() {
    let dir = tempdir();
    let srv = Server::start(dir.path(), &["--no-update-create"]);
    let mut p = patient("9000000198", "NoCreate");
    p["id"] = json!("new-one");
    let r = srv.put("Patient/new-one", &p);
    assert_eq!(r.status(), 405);
    assert!(texts(&r.json::<Value>().unwrap())[0].contains("POST it to /Patient"));
    let statement: Value = srv.get("metadata").json().unwrap();
    assert!(statement["rest"][0]["resource"].as_array().unwrap().iter().all(|r| r["updateCreate"] == false));
    // Updating what exists still works.
    let id = created(srv.post("Patient", &patient("9000000198", "NoCreate")))["id"].as_str().unwrap().to_string();
    let mut existing: Value = srv.get(&format!("Patient/{id}")).json().unwrap();
    existing["gender"] = json!("male");
    assert_eq!(srv.put(&format!("Patient/{id}"), &existing).status(), 200);
}

/// `$from-prsb` maps a plan (and stores it on request); `CarePlan/{id}/$prsb`
/// gives it back in the PRSB format: the active view, the whole plan, and
/// each earlier version, so an archived goal leaves the view but stays in
/// the history.
#[test]
fn prsb_operations_map_store_and_view_every_version() {
    use careplan::prsb::{self, archive};
    let dir = tempdir();
    let srv = Server::start(dir.path(), &[]);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let plan_bytes = std::fs::read(root.join("examples/prsb/frail-older-person-at-home.json")).unwrap();
    let send = |path: &str, body: &[u8]| srv.client.post(srv.url(path)).header("Content-Type", "application/json").body(body.to_vec()).send().unwrap();

    // Mapping only: the same Bundle as `careplan map`.
    let r = send("$from-prsb", &plan_bytes);
    assert_eq!(r.status(), 200);
    let bundle: Value = r.json().unwrap();
    let committed: Value = serde_json::from_str(&std::fs::read_to_string(root.join("examples/fhir/prsb/frail-older-person-at-home.bundle.json")).unwrap()).unwrap();
    assert_eq!(bundle, committed);
    assert_eq!(srv.total("CarePlan?_summary=count"), 0, "mapping alone stores nothing");

    // A broken plan: 422, the field by JSON pointer, with its line.
    let broken = String::from_utf8(plan_bytes.clone()).unwrap().replacen("\"confidence\": 8", "\"confidence\": 11", 1);
    assert_ne!(broken.as_bytes(), &plan_bytes[..], "the example has a confidence of 8 to break");
    let r = send("$from-prsb?store=true", broken.as_bytes());
    assert_eq!(r.status(), 422);
    let oo: Value = r.json().unwrap();
    let issue = oo["issue"].as_array().unwrap().iter().find(|i| i["expression"][0].as_str().is_some_and(|e| e.ends_with("/confidence"))).expect("the confidence is named");
    assert!(issue["extension"].as_array().is_some_and(|x| x.iter().any(|e| e["url"].as_str().unwrap().ends_with("issue-line"))));
    assert_eq!(srv.total("CarePlan?_summary=count"), 0);

    // Stored: a transaction response, then the PRSB view of what was stored.
    let r = send("$from-prsb?store=true", &plan_bytes);
    assert_eq!(r.status(), 200);
    let reply: Value = r.json().unwrap();
    assert_eq!(reply["type"], "transaction-response");
    let plan = prsb::read(&plan_bytes).unwrap();
    let found = srv.bundle(&format!("CarePlan?identifier=https://careplan.example/fhir/Id/plan|{}", plan.id));
    let id = found["entry"][0]["resource"]["id"].as_str().unwrap().to_owned();
    let view = |query: &str| -> prsb::CarePlan {
        let r = srv.get(&format!("CarePlan/{id}/$prsb{query}"));
        assert_eq!(r.status(), 200, "{query}");
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
        r.json().unwrap()
    };
    // The server stamps the date last updated (PRSB: "automatic").
    let without_date = |mut p: prsb::CarePlan| {
        assert!(p.date_last_updated.is_some());
        p.date_last_updated = None;
        serde_json::to_value(p).unwrap()
    };
    let mut expected = plan.clone();
    expected.date_last_updated = None;
    assert_eq!(without_date(view("?includeArchived=true")), serde_json::to_value(&expected).unwrap());
    assert_eq!(without_date(view("")), serde_json::to_value(archive::active_view(&expected)).unwrap());

    // Archive an active goal with its actions, post the plan again: new versions.
    let goal_id = plan.goals.iter().find(|g| !g.archived).unwrap().id.clone();
    let mut next = plan.clone();
    archive::archive_goal(&mut next, &goal_id, "2026-11-25T12:00:00Z", Some("reached"), archive::GoalActions::Archive).unwrap();
    let r = send("$from-prsb?store=true", &serde_json::to_vec(&next).unwrap());
    assert_eq!(r.status(), 200);
    let active = view("");
    assert!(active.goals.iter().all(|g| g.id != goal_id), "the archived goal left the active view");
    let whole = view("?includeArchived=true");
    assert!(whole.goals.iter().any(|g| g.id == goal_id && g.archived));
    // The first version of the plan shows the goal as it was: not archived.
    let first = view("?version=1");
    assert!(first.goals.iter().any(|g| g.id == goal_id && !g.archived), "version 1 shows the goal active");
    // And the Goal's own history has both versions.
    let goals = srv.bundle(&format!("Goal?identifier=https://careplan.example/fhir/Id/plan-item|{}/{goal_id}", plan.id));
    let goal_resource_id = goals["entry"][0]["resource"]["id"].as_str().unwrap();
    assert_eq!(srv.total(&format!("Goal/{goal_resource_id}/_history")), 2);
    // Unknown versions and bad parameters are refused clearly.
    assert_eq!(srv.get(&format!("CarePlan/{id}/$prsb?version=99")).status(), 404);
    assert_eq!(srv.get(&format!("CarePlan/{id}/$prsb?_at=yesterday")).status(), 400);
}

/// The five PRSB examples, each stored through `$from-prsb?store=true`:
/// (the plan file, the stored CarePlan's id, every `Type/id` the
/// transaction stored).
fn store_prsb_examples(srv: &Server) -> Vec<(std::path::PathBuf, String, std::collections::BTreeSet<String>)> {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/prsb");
    let mut plans: Vec<_> = std::fs::read_dir(&examples).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect();
    plans.sort();
    assert_eq!(plans.len(), 5, "the five PRSB examples");
    let mut out = Vec::new();
    for plan in plans {
        srv.seed_links(&serde_json::from_slice(&std::fs::read(&plan).unwrap()).unwrap());
        let r = srv.client.post(srv.url("$from-prsb?store=true")).header("Content-Type", "application/json").body(std::fs::read(&plan).unwrap()).send().unwrap();
        let status = r.status();
        let reply: Value = r.json().unwrap();
        assert_eq!(status, 200, "{}: {:?}", plan.display(), texts(&reply));
        let stored: std::collections::BTreeSet<String> = reply["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["response"]["location"].as_str().unwrap().split("/_history").next().unwrap().to_string())
            .collect();
        let id = stored.iter().find_map(|k| k.strip_prefix("CarePlan/")).unwrap().to_string();
        out.push((plan, id, stored));
    }
    out
}

/// `Type/id` of the resources of a Bundle, by search mode (outcome entries apart).
fn keys_by_mode(b: &Value, mode: &str) -> std::collections::BTreeSet<String> {
    b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == mode)
        .map(|e| format!("{}/{}", e["resource"]["resourceType"].as_str().unwrap(), e["resource"]["id"].as_str().unwrap()))
        .collect()
}

/// `CarePlan/{id}/$everything`: the plan and every resource it links to, the
/// same resources the PRSB view is read from, so `careplan unmap` reads the
/// Bundle back into the plan `$prsb` answers; audited resource by resource.
#[test]
fn everything_answers_the_whole_plan_and_unmap_reads_it_back() {
    let dir = tempdir();
    let srv = Server::start(dir.path(), &[]);
    for (plan, id, stored) in store_prsb_examples(&srv) {
        let name = plan.file_name().unwrap().to_string_lossy().to_string();
        let r = srv.get(&format!("CarePlan/{id}/$everything"));
        assert_eq!(r.status(), 200, "{name}");
        assert!(header(&r, "content-type").starts_with("application/fhir+json"));
        assert_eq!(header(&r, "x-careplan-filtered"), "", "{name}: nothing is withheld in open mode");
        let b: Value = r.json().unwrap();
        assert_eq!(b["type"], "searchset");
        assert_eq!(b["total"], 1, "one match: the plan");
        assert_eq!(b["entry"][0]["resource"]["id"], json!(id), "the plan comes first");
        assert_eq!(keys_by_mode(&b, "match"), [format!("CarePlan/{id}")].into_iter().collect());
        let mut all = keys_by_mode(&b, "include");
        all.insert(format!("CarePlan/{id}"));
        // What the plan links as existing (a GP's problem, a known professional) is part of it too.
        let read = careplan::prsb::read(&std::fs::read(&plan).unwrap()).unwrap();
        let linked = careplan::prsb::existing_links(&read).into_iter().filter(|l| l.kind != careplan::prsb::LinkKind::Recipient).map(|l| l.reference);
        // And so is its person, who may have been on the server before it.
        let person = b["entry"].as_array().unwrap().iter().filter_map(|e| e["resource"]["subject"]["reference"].as_str()).next().unwrap().to_owned();
        let expected: std::collections::BTreeSet<String> = stored.iter().cloned().chain(linked).chain([person]).collect();
        assert_eq!(all, expected, "{name}: every resource the plan's transaction stored and every one it links, and nothing else");
        assert!(b["entry"].as_array().unwrap().iter().all(|e| e["fullUrl"].as_str().unwrap().starts_with(&srv.base)));
        // POST answers the same.
        let posted: Value = srv.client.post(srv.url(&format!("CarePlan/{id}/$everything"))).send().unwrap().json().unwrap();
        assert_eq!(keys_by_mode(&posted, "include"), keys_by_mode(&b, "include"));

        // `careplan unmap` reads the Bundle back into the plan the PRSB view answers.
        let file = dir.path().join(format!("{name}.everything.json"));
        std::fs::write(&file, serde_json::to_vec(&b).unwrap()).unwrap();
        let out = common::careplan().args(["unmap", "--plan", &id]).arg(&file).output().unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let unmapped: Value = serde_json::from_slice(&out.stdout).unwrap();
        let viewed: Value = srv.get(&format!("CarePlan/{id}/$prsb?includeArchived=true")).json().unwrap();
        assert_eq!(unmapped, viewed, "{name}");
        let original: Value = serde_json::from_slice(&std::fs::read(&plan).unwrap()).unwrap();
        assert_eq!(unmapped["id"], original["id"]);
    }
    // What is not a stored plan, and parameters it does not take.
    assert_eq!(srv.get("CarePlan/nope/$everything").status(), 404);
    assert_eq!(srv.get("Goal/nope/$everything").status(), 404);
    let id = srv.bundle("CarePlan?_count=1")["entry"][0]["resource"]["id"].as_str().unwrap().to_string();
    let r = srv.get(&format!("CarePlan/{id}/$everything?_since=2026-01-01"));
    assert_eq!(r.status(), 400);
    assert!(texts(&r.json().unwrap())[0].contains("_since"));
    // A deleted plan is gone.
    let plan: Value = srv.get(&format!("CarePlan/{id}")).json().unwrap();
    assert_eq!(srv.client.delete(srv.url(&format!("CarePlan/{id}"))).send().unwrap().status(), 200);
    assert_eq!(srv.get(&format!("CarePlan/{id}/$everything")).status(), 410);
    assert!(plan["goal"].is_array());
}

/// careplan's own SearchParameters (profiles/SearchParameter-*.json) reach
/// the links R4 does not index: a plan's supporting information and the
/// needs a goal addresses, on the five PRSB examples as stored.
#[test]
fn our_search_parameters_include_supporting_info_and_goal_addresses() {
    let dir = tempdir();
    let srv = Server::start(dir.path(), &[]);
    let reference_keys = |list: &Value| -> std::collections::BTreeSet<String> { list.as_array().into_iter().flatten().map(|r| r["reference"].as_str().unwrap().to_string()).collect() };
    let mut goals_addressing = 0;
    for (plan, id, _) in store_prsb_examples(&srv) {
        let name = plan.file_name().unwrap().to_string_lossy().to_string();
        let stored: Value = srv.get(&format!("CarePlan/{id}")).json().unwrap();
        let supporting = reference_keys(&stored["supportingInfo"]);
        assert!(!supporting.is_empty(), "{name} has supporting information");
        let b = srv.bundle(&format!("CarePlan?_id={id}&_include=CarePlan:supporting-info"));
        assert_eq!(keys_by_mode(&b, "match"), [format!("CarePlan/{id}")].into_iter().collect());
        assert_eq!(keys_by_mode(&b, "include"), supporting, "{name}: every supporting resource is included");
        assert!(b["entry"].as_array().unwrap().iter().all(|e| e["search"]["mode"] != "outcome"), "{name}: the parameter is known: {b}");
        // With a target type, only those.
        let consents = srv.bundle(&format!("CarePlan?_id={id}&_include=CarePlan:supporting-info:Consent"));
        assert_eq!(keys_by_mode(&consents, "include"), supporting.iter().filter(|k| k.starts_with("Consent/")).cloned().collect());
        // Searched by value, the plan is found from what supports it.
        let first = supporting.iter().next().unwrap();
        assert!(keys_by_mode(&srv.bundle(&format!("CarePlan?supporting-info={first}")), "match").contains(&format!("CarePlan/{id}")));

        // Goal.addresses: the goals of a need, and the needs of a goal.
        let subject = stored["subject"]["reference"].as_str().unwrap();
        let goals = srv.bundle(&format!("Goal?subject={subject}&addresses:missing=false&_count=100"));
        let with_addresses: Vec<Value> = goals["entry"].as_array().unwrap().iter().filter(|e| e["search"]["mode"] == "match").map(|e| e["resource"].clone()).collect();
        assert!(!with_addresses.is_empty(), "{name} has goals that address needs");
        for goal in &with_addresses {
            let gid = format!("Goal/{}", goal["id"].as_str().unwrap());
            let addressed = reference_keys(&goal["addresses"]);
            assert!(!addressed.is_empty());
            for condition in &addressed {
                let found = keys_by_mode(&srv.bundle(&format!("Goal?addresses={condition}")), "match");
                assert!(found.contains(&gid), "{name}: Goal?addresses={condition} finds {gid}");
            }
            let b = srv.bundle(&format!("Goal?_id={}&_include=Goal:addresses", goal["id"].as_str().unwrap()));
            assert_eq!(keys_by_mode(&b, "include"), addressed, "{name}: {gid} includes what it addresses");
        }
        goals_addressing += with_addresses.len();
    }
    assert_eq!(srv.total("Goal?addresses:missing=false&_summary=count"), goals_addressing as u64);
    assert_eq!(goals_addressing, 12, "3 + 2 + 3 + 2 + 2 goals of the examples address a need");
    // The CapabilityStatement lists them, with their definitions.
    let statement: Value = srv.get("metadata").json().unwrap();
    let resource = |t: &str| statement["rest"][0]["resource"].as_array().unwrap().iter().find(|r| r["type"] == t).unwrap().clone();
    let (care_plan, goal) = (resource("CarePlan"), resource("Goal"));
    assert!(care_plan["searchParam"].as_array().unwrap().iter().any(|p| p["name"] == "supporting-info" && p["definition"] == "https://careplan.example/fhir/SearchParameter/CarePlan-supporting-info"));
    assert!(care_plan["searchInclude"].as_array().unwrap().contains(&json!("CarePlan:supporting-info")));
    assert!(goal["searchParam"].as_array().unwrap().iter().any(|p| p["name"] == "addresses" && p["definition"] == "https://careplan.example/fhir/SearchParameter/Goal-addresses"));
    assert!(goal["searchInclude"].as_array().unwrap().contains(&json!("Goal:addresses")));
    assert!(care_plan["operation"].as_array().unwrap().iter().any(|o| o["name"] == "everything"));
}

/// A Binary is stored from a raw body of any non-FHIR Content-Type, and
/// read back as those bytes when `Accept` asks for its content type or for
/// no FHIR format; as a FHIR resource when a FHIR format is asked for.
#[test]
fn binaries_are_stored_from_raw_bodies_and_served_raw() {
    let dir = tempdir();
    let srv = Server::start(dir.path(), &[]);
    let png: Vec<u8> = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe, 0x80].into_iter().chain((0..=255u8).rev()).collect();
    let raw = |method: Method, path: &str, content_type: &str, body: &[u8]| srv.client.request(method, srv.url(path)).header("Content-Type", content_type).body(body.to_vec()).send().unwrap();
    let accept = |path: &str, accept: &str| srv.client.get(srv.url(path)).header("Accept", accept).send().unwrap();

    // POST /Binary with the bytes: a Binary of that content type.
    let r = raw(Method::POST, "Binary", "image/png", &png);
    assert_eq!(r.status(), 201);
    let location = header(&r, "location");
    let created: Value = r.json().unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert!(location.ends_with(&format!("Binary/{id}/_history/1")));
    assert_eq!(created["contentType"], "image/png");
    use base64::Engine as _;
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(created["data"].as_str().unwrap()).unwrap(), png);

    // Read as its own type, or as anything that is not FHIR: the bytes.
    for asked in ["image/png", "*/*", "text/html,application/xhtml+xml,image/*;q=0.9,*/*;q=0.8"] {
        let r = accept(&format!("Binary/{id}"), asked);
        assert_eq!(r.status(), 200, "{asked}");
        assert_eq!(header(&r, "content-type"), "image/png", "{asked}");
        assert_eq!(header(&r, "x-content-type-options"), "nosniff");
        assert!(header(&r, "content-security-policy").contains("sandbox"));
        assert_eq!(header(&r, "etag"), "W/\"1\"");
        assert_eq!(r.bytes().unwrap().to_vec(), png, "{asked}");
    }
    // Asked for FHIR (Accept or _format): the resource.
    let r = accept(&format!("Binary/{id}"), "application/fhir+json");
    assert!(header(&r, "content-type").starts_with("application/fhir+json"));
    assert_eq!(r.json::<Value>().unwrap()["contentType"], "image/png");
    let r = accept(&format!("Binary/{id}?_format=xml"), "image/png");
    assert!(header(&r, "content-type").starts_with("application/fhir+xml"));
    assert!(r.text().unwrap().contains("<Binary"));
    // With no Accept header at all (reqwest always sends one: this is by hand): the resource, as before.
    let head = {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(srv.base.trim_start_matches("http://")).unwrap();
        write!(stream, "GET /Binary/{id} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", srv.base.trim_start_matches("http://")).unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer.split("\r\n\r\n").next().unwrap().to_ascii_lowercase()
    };
    assert!(head.starts_with("http/1.1 200") && head.contains("content-type: application/fhir+json"), "{head}");

    // PUT /Binary/{id} with bytes: created, then a new version; vread answers each raw.
    let r = raw(Method::PUT, "Binary/letter", "text/plain; charset=utf-8", "Dear Ada,\nsee you on Tuesday.".as_bytes());
    assert_eq!(r.status(), 201);
    let r = srv.client.put(srv.url("Binary/letter")).header("Content-Type", "text/plain; charset=utf-8").header("X-Security-Context", "Patient/ada").body("Dear Ada,\nsee you on Wednesday.").send().unwrap();
    assert_eq!(r.status(), 200);
    let second: Value = r.json().unwrap();
    assert_eq!(second["securityContext"]["reference"], "Patient/ada", "X-Security-Context sets securityContext");
    let r = accept("Binary/letter", "text/plain");
    assert_eq!(header(&r, "content-type"), "text/plain; charset=utf-8");
    assert_eq!(header(&r, "x-security-context"), "Patient/ada");
    assert_eq!(r.text().unwrap(), "Dear Ada,\nsee you on Wednesday.");
    assert_eq!(accept("Binary/letter/_history/1", "text/plain").text().unwrap(), "Dear Ada,\nsee you on Tuesday.");
    // A Binary of application/json asked for as application/json: its own bytes.
    let body = br#"{"not": "a FHIR resource"}"#;
    let r = srv.post("Binary", &json!({"resourceType": "Binary", "contentType": "application/json", "data": base64::engine::general_purpose::STANDARD.encode(body)}));
    let jid = created_id(r);
    assert_eq!(accept(&format!("Binary/{jid}"), "application/json").bytes().unwrap().to_vec(), body.to_vec());

    // FHIR bodies are still FHIR; a raw body elsewhere is still refused.
    let r = srv.post("Binary", &json!({"resourceType": "Binary", "contentType": "text/csv", "data": "YSxiCg=="}));
    assert_eq!(r.status(), 201);
    assert_eq!(accept(&format!("Binary/{}", created_id(r)), "text/csv").text().unwrap(), "a,b\n");
    assert_eq!(raw(Method::POST, "Patient", "image/png", &png).status(), 400);
    // An empty raw body is a Binary with no data; read raw, it is empty.
    let r = raw(Method::POST, "Binary", "application/pdf", b"");
    let eid = created_id(r);
    let r = accept(&format!("Binary/{eid}"), "application/pdf");
    assert_eq!(r.status(), 200);
    assert!(r.bytes().unwrap().is_empty());
    // A missing Binary is a 404 OperationOutcome whatever was accepted.
    let r = accept("Binary/none", "image/png");
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().unwrap()["resourceType"], "OperationOutcome");
}

fn created_id(r: reqwest::blocking::Response) -> String {
    created(r)["id"].as_str().unwrap().to_string()
}

/// `CAREPLAN_OFFLINE=1` (as the README documents) is `--offline` for
/// `careplan serve`; `CAREPLAN_OFFLINE=0` is not, even over a config file
/// that says `offline = true` (environment over file).
#[test]
fn careplan_offline_in_the_environment_is_serve_s_offline() {
    let dir = tempdir();
    let serve = |env: &[(&str, &str)], more: &[&str]| {
        let mut cmd = common::careplan();
        cmd.args(["serve", "--open", "--address", "127.0.0.1:0", "--database"]).arg(dir.path().join("offline.db")).args(more);
        cmd.env_remove("CAREPLAN_OFFLINE").env("CAREPLAN_REGISTRIES", "http://127.0.0.1:9");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    };
    // With the packages in the cache, it starts and serves.
    let mut child = serve(&[("CAREPLAN_OFFLINE", "1")], &[]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    let started = line.trim().strip_prefix("careplan serve: listening on ").map(str::to_string);
    if started.is_none() {
        let _ = child.wait();
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        panic!("CAREPLAN_OFFLINE=1 serve did not start: {line}{err}");
    }
    let base = started.unwrap();
    assert_eq!(reqwest::blocking::get(format!("{base}/metadata")).unwrap().status(), 200);
    let _ = child.kill();
    let _ = child.wait();

    // With an empty cache it asks no registry: it says it is offline and what to run.
    let empty = dir.path().join("empty-cache");
    std::fs::create_dir_all(&empty).unwrap();
    let cache = empty.to_str().unwrap();
    for on in ["1", "true", "yes"] {
        let out = serve(&[("CAREPLAN_OFFLINE", on)], &["--cache", cache]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "CAREPLAN_OFFLINE={on}: {err}");
        assert!(err.contains("careplan is offline"), "CAREPLAN_OFFLINE={on}: {err}");
        assert!(err.contains(&format!("`careplan package install --cache {cache}`")), "{err}");
    }
    // 0 is not offline, and wins over the config file: the (unreachable) registry is asked.
    let config = dir.path().join("offline.toml");
    std::fs::write(&config, "offline = true\n").unwrap();
    let out = serve(&[("CAREPLAN_OFFLINE", "0")], &["--cache", cache, "--config", config.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("careplan is offline") && err.contains("127.0.0.1:9"), "the registry was asked: {err}");
    // The file alone, and the flag, still make it offline.
    let out = serve(&[], &["--cache", cache, "--config", config.to_str().unwrap()]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("careplan is offline"));
    let out = serve(&[("CAREPLAN_OFFLINE", "0")], &["--cache", cache, "--offline"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("careplan is offline"), "the flag wins over the environment");
    // A value that is not a yes or a no is refused, naming the variable's flag.
    let out = serve(&[("CAREPLAN_OFFLINE", "maybe")], &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--offline"), "{}", String::from_utf8_lossy(&out.stderr));
}
