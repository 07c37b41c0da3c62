//! Findings of the third red-team pass (docs/security/), each reproduced
//! on a real server on loopback and shown fixed.

use super::*;

#[test]
fn v1_references_past_the_checked_number_are_refused_and_persons_are_never_cut() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    put(&admin, &observation("ob-bob", "Patient/bob"));
    let alice = alice_app(&srv, "patient/*.cruds");
    let mut hidden = observation("many", "Patient/alice");
    hidden["basedOn"] = Value::Array((0..10_001).map(|i| json!({"reference": format!("ServiceRequest/dummy-{i}")})).collect());
    hidden["hasMember"] = json!([{"reference": "Observation/ob-bob"}]);
    let r = alice.send(Method::PUT, "Observation/many", &hidden);
    assert_eq!(r.status(), 413, "{}", r.text().unwrap());
    assert_eq!(alice.ids("Observation?has-member:Observation.code:text=Weight"), Vec::<String>::new());
    // However many references come first, the person a resource is about is found.
    put(&admin, &consent_deny_except_gp("bob"));
    let mut task = json!({"resourceType": "Task", "id": "late-person", "status": "requested", "intent": "order", "description": "SECRET"});
    task["input"] = Value::Array((0..10_001).map(|i| json!({"type": {"text": "x"}, "valueReference": {"reference": format!("DocumentReference/d{i}")}})).collect());
    task["for"] = json!({"reference": "Patient/bob"});
    put(&admin, &task);
    assert_eq!(staff(&srv, "other", "user/*.rs", json!({})).get("Task/late-person").status(), 403);
}

#[test]
fn v2_many_codings_are_indexed_in_linear_time_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let alice = alice_app(&srv, "patient/*.cruds");
    // Quadratic indexing took minutes for this; the client waits at most 120 s.
    let mut obs = observation("codings", "Patient/alice");
    obs["code"] = json!({"text": "many", "coding": (0..20_000).map(|i| json!({"code": format!("c{i}")})).collect::<Vec<_>>()});
    assert_eq!(alice.send(Method::PUT, "Observation/codings", &obs).status(), 201);
    assert_eq!(alice.ids("Observation?code=c19999"), vec!["Observation/codings"]);
    // Past the number of values one resource may index: refused before the store is touched.
    obs["code"]["coding"] = Value::Array((0..60_000).map(|i| json!({"code": format!("c{i}")})).collect());
    let r = alice.send(Method::PUT, "Observation/codings", &obs);
    assert_eq!(r.status(), 413);
    assert!(r.text().unwrap().contains("searchable values"));
}

#[test]
fn v3_a_batch_writes_one_audit_event_for_its_reads() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let before = audit_count(&srv);
    let alice = alice_app(&srv, "patient/*.cruds");
    let entries: Vec<Value> = (0..500).map(|i| json!({"request": {"method": "GET", "url": format!("Observation/missing-{i}")}})).chain([json!({"request": {"method": "GET", "url": "CarePlan/pa"}})]).collect();
    let r = alice.send(Method::POST, "", &json!({"resourceType": "Bundle", "type": "batch", "entry": entries}));
    assert_eq!(r.status(), 200);
    let after = audit_count(&srv);
    assert!(after - before <= 2, "{before} → {after}: the batch and the count itself");
    // The one event still names what the batch read and whose it was.
    let auditor = As { srv: &srv, token: token("auditor", "user/AuditEvent.rs", json!({})) };
    assert!(!auditor.ids("AuditEvent?entity=CarePlan/pa&patient=Patient/alice&subtype=batch").is_empty());
    // A write in a batch keeps its own event, written with it.
    let w = json!({"resourceType": "Bundle", "type": "batch", "entry": [{"resource": observation("in-batch", "Patient/alice"), "request": {"method": "PUT", "url": "Observation/in-batch"}}]});
    assert_eq!(alice.send(Method::POST, "", &w).status(), 200);
    assert!(!auditor.ids("AuditEvent?entity=Observation/in-batch").is_empty());
}

#[test]
fn v4_array_scopes_are_single_and_counts_stay_refused_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let array = As { srv: &srv, token: token("z", "", json!({"scope": ["patient/Goal.rs user/*.rs"], "patient": "alice"})) };
    assert_eq!(array.get("CarePlan/pb").status(), 403);
    let alice = alice_app(&srv, "patient/*.rs");
    assert_eq!(alice.get("Condition?_summary:text=count").status(), 403);
    let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [{"request": {"method": "GET", "url": "Condition?_summary=count"}}]});
    assert_eq!(alice.send(Method::POST, "", &tx).status(), 403);
}
