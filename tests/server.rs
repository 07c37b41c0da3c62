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
    assert_eq!(h["entry"][0]["request"]["method"], "DELETE");
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
    let srv = Server::start(dir.path(), &["--max-body-bytes", "2000"]);
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
    assert!(srv.log_text().contains("request_id=abc-123"), "the request is logged with its id");
}
