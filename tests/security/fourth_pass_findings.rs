//! Findings of the fourth red-team pass (docs/security/), each reproduced
//! on a real server on loopback and shown fixed.

use super::*;

fn store_bytes(srv: &Server) -> u64 {
    let size = |suffix: &str| std::fs::metadata(format!("{}{suffix}", srv.database.display())).map_or(0, |m| m.len());
    size("") + size("-wal")
}

#[test]
fn w1_a_long_concept_text_is_indexed_once_not_once_per_coding() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let alice = alice_app(&srv, "patient/*.cruds");
    let before = store_bytes(&srv);
    let mut obs = observation("long-text", "Patient/alice");
    // 2,000 codings and a 100 KB text: copied into every coding's rows, this made gigabytes.
    obs["code"] = json!({"text": "t".repeat(100_000), "coding": (0..2_000).map(|i| json!({"code": format!("c{i}")})).collect::<Vec<_>>()});
    assert_eq!(alice.send(Method::PUT, "Observation/long-text", &obs).status(), 201);
    let grown = store_bytes(&srv) - before;
    assert!(grown < 20_000_000, "the store grew {grown} bytes for a {} byte resource", obs.to_string().len());
    // Still found by a coding and by its text.
    assert_eq!(alice.ids("Observation?code=c1999"), vec!["Observation/long-text"]);
    assert_eq!(alice.ids("Observation?code:text=tttt"), vec!["Observation/long-text"]);
}

#[test]
fn w2_references_to_many_contained_resources_are_resolved_through_a_map() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let alice = alice_app(&srv, "patient/*.cruds");
    let n = 8_000;
    let mut obs = observation("contained", "Patient/alice");
    obs["contained"] = Value::Array((0..n).map(|i| json!({"resourceType": "Observation", "id": format!("m{i}"), "status": "final", "code": {"text": "x"}})).collect());
    obs["hasMember"] = Value::Array((0..n).map(|i| json!({"reference": format!("#m{i}")})).collect());
    // The client waits at most 120 s; resolving each reference by a scan took minutes at this size.
    let r = alice.send(Method::PUT, "Observation/contained", &obs);
    assert!(r.status().is_success() || r.status().as_u16() == 422, "{}", r.status());
}

#[test]
fn w3_chained_searches_do_not_look_into_records_the_searcher_may_not_see() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let mut ob = observation("ob-bob", "Patient/bob");
    ob["code"] = json!({"text": "SECRET-B"});
    put(&admin, &ob);
    put(&admin, &patient("carol", "Carolson"));
    let mut oc = observation("ob-carol", "Patient/carol");
    oc["code"] = json!({"text": "SECRET-C"});
    put(&admin, &oc);
    put(&admin, &consent_deny_except_gp("carol"));
    // Someone who may see both ends links Alice's observation to Bob's and Carol's.
    let mut link = observation("link", "Patient/alice");
    link["hasMember"] = json!([{"reference": "Observation/ob-bob"}, {"reference": "Observation/ob-carol"}]);
    put(&admin, &link);
    let alice = alice_app(&srv, "patient/*.rs");
    assert_eq!(alice.ids("Observation?_id=link"), vec!["Observation/link"]);
    assert_eq!(alice.ids("Observation?_id=link&has-member:Observation.code:text=SECRET-B"), Vec::<String>::new());
    let other = staff(&srv, "other", "user/*.rs", json!({}));
    assert_eq!(other.ids("Observation?_id=link&has-member:Observation.code:text=SECRET-C"), Vec::<String>::new());
    // Open to a clinician where nobody's consent or label is in the way.
    assert_eq!(other.ids("Observation?_id=link&has-member:Observation.code:text=SECRET-B"), vec!["Observation/link"]);
}

#[test]
fn w4_a_batch_of_writes_that_store_nothing_writes_one_audit_event() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let before = audit_count(&srv);
    let alice = alice_app(&srv, "patient/*.cruds");
    let entries: Vec<Value> = (0..300).map(|i| json!({"request": {"method": "DELETE", "url": format!("Observation/missing-{i}")}})).collect();
    assert_eq!(alice.send(Method::POST, "", &json!({"resourceType": "Bundle", "type": "batch", "entry": entries})).status(), 200);
    let after = audit_count(&srv);
    assert!(after - before <= 2, "{before} → {after}");
}

#[test]
fn w5_a_consent_stays_small_enough_to_evaluate_for_every_resource() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let alice = As { srv: &srv, token: token("alice", "patient/Consent.cruds", json!({"patient": "alice", "fhirUser": "Patient/alice"})) };
    let mut big = consent_deny_except_gp("alice");
    big["id"] = json!("big");
    big["provision"] = json!({"type": "deny", "provision": (0..200).map(|i| json!({"type": "permit", "actor": [{"reference": {"reference": format!("Practitioner/p{i}")}}]})).collect::<Vec<_>>()});
    let r = alice.send(Method::PUT, "Consent/big", &big);
    assert_eq!(r.status(), 422, "{}", r.text().unwrap());
    // Fifth pass, X2: one provision made heavy with criteria is as costly to walk.
    let mut heavy = consent_deny_except_gp("alice");
    heavy["id"] = json!("heavy");
    heavy["provision"]["action"] = Value::Array((0..20_000).map(|_| json!({"text": "a"})).collect());
    let r = alice.send(Method::PUT, "Consent/heavy", &heavy);
    assert_eq!(r.status(), 422, "{}", r.text().unwrap());
    for i in 0..20 {
        let mut c = consent_deny_except_gp("alice");
        c["id"] = json!(format!("c{i}"));
        assert_eq!(alice.send(Method::PUT, &format!("Consent/c{i}"), &c).status(), 201, "consent {i}");
    }
    let mut one_more = consent_deny_except_gp("alice");
    one_more["id"] = json!("c20");
    assert_eq!(alice.send(Method::PUT, "Consent/c20", &one_more).status(), 409);
}
