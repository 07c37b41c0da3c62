//! Findings of the second red-team pass (docs/security/), each reproduced
//! on a real server on loopback and shown fixed.

use super::*;

#[test]
fn n1_a_patch_cannot_grow_a_resource_past_the_body_limit() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &["--max-body-bytes", "1000000"]);
    let admin = admin(&srv);
    seed(&admin);
    let alice = alice_app(&srv, "patient/*.cruds");
    put(&admin, &observation("obs-a", "Patient/alice"));
    let mut ops = vec![json!({"op": "add", "path": "/identifier", "value": [{"value": "x".repeat(1000)}]})];
    ops.extend((0..40).map(|_| json!({"op": "copy", "from": "/identifier", "path": "/identifier/-"})));
    let r = alice.req(Method::PATCH, "Observation/obs-a").header("Content-Type", "application/json-patch+json").body(serde_json::to_vec(&ops).unwrap()).send().unwrap();
    let status = r.status();
    let text = r.text().unwrap();
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("--max-body-bytes"), "{text}");
    // The server is unharmed and a small patch still works.
    assert_eq!(admin.get("Observation/obs-a").json::<Value>().unwrap()["meta"]["versionId"], "1");
    let ok = alice.req(Method::PATCH, "Observation/obs-a").header("Content-Type", "application/json-patch+json").body(r#"[{"op":"replace","path":"/status","value":"amended"}]"#).send().unwrap();
    assert_eq!(ok.status(), 200);
}

#[test]
fn n2_a_patient_token_cannot_rewrite_shared_resources() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    put(&admin, &json!({"resourceType": "Location", "id": "bobs-flat", "name": "Bob's flat"}));
    let alice = alice_app(&srv, "patient/*.cruds");
    let mine = json!([{"url": "http://example.org/fhir/StructureDefinition/x", "valueReference": {"reference": "Patient/alice"}}]);
    let gp = json!({"resourceType": "Practitioner", "id": "gp", "name": [{"family": "HIJACKED"}], "extension": mine});
    let r = alice.send(Method::PUT, "Practitioner/gp", &gp);
    assert_eq!(r.status(), 403, "{}", r.text().unwrap());
    let flat = json!({"resourceType": "Location", "id": "bobs-flat", "name": "changed by alice", "extension": mine});
    assert_eq!(alice.send(Method::PUT, "Location/bobs-flat", &flat).status(), 403);
    assert_eq!(admin.get("Practitioner/gp").json::<Value>().unwrap()["name"][0]["family"], "Doctor");
    assert_eq!(admin.get("Location/bobs-flat").json::<Value>().unwrap()["name"], "Bob's flat");
}

#[test]
fn n3_a_representative_cannot_make_itself_anyones_representative() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    put(&admin, &consent_deny_except_gp("bob"));
    let carer = As { srv: &srv, token: token("carer1", "user/*.cruds", json!({"fhirUser": "RelatedPerson/rp-carer"})) };
    assert_eq!(carer.get("CarePlan/pb").status(), 403);
    let me = json!({"resourceType": "RelatedPerson", "id": "rp-carer", "patient": {"reference": "Patient/bob"}, "name": [{"family": "Carer"}]});
    let r = carer.send(Method::PUT, "RelatedPerson/rp-carer", &me);
    assert_eq!(r.status(), 403, "{}", r.text().unwrap());
    let mut grant = consent_deny_except_gp("bob");
    grant["id"] = json!("carer-grant");
    grant["provision"] = json!({"type": "permit", "actor": [{"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "PRCP"}]}, "reference": {"reference": "RelatedPerson/rp-carer"}}]});
    assert_eq!(carer.send(Method::PUT, "Consent/carer-grant", &grant).status(), 403);
    let mut off = consent_deny_except_gp("bob");
    off["status"] = json!("inactive");
    assert_eq!(carer.send(Method::PUT, "Consent/consent-bob", &off).status(), 403);
    assert_eq!(carer.get("CarePlan/pb").status(), 403, "still withheld");
    // Once someone else records the carer as bob's representative, the carer acts for bob.
    put(&admin, &me);
    assert_eq!(carer.get("CarePlan/pb").status(), 200);
    assert_eq!(carer.send(Method::PUT, "Consent/carer-grant", &grant).status(), 201);
}

#[test]
fn n4_the_reads_of_a_transaction_share_the_answer_budget() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &["--max-response-bytes", "200000"]);
    let admin = admin(&srv);
    seed(&admin);
    let alice = alice_app(&srv, "patient/*.cruds");
    let mut big = observation("big", "Patient/alice");
    big["note"] = json!([{"text": "y".repeat(50_000)}]);
    assert_eq!(alice.send(Method::PUT, "Observation/big", &big).status(), 201);
    let entries: Vec<Value> = (0..20).map(|_| json!({"request": {"method": "GET", "url": "Observation/big"}})).collect();
    let r = alice.send(Method::POST, "", &json!({"resourceType": "Bundle", "type": "transaction", "entry": entries}));
    let status = r.status();
    let text = r.text().unwrap();
    assert_eq!(status, 413, "{}", &text[..text.len().min(500)]);
    assert!(text.len() < 10_000 && text.contains("--max-response-bytes"));
    let few: Vec<Value> = (0..2).map(|_| json!({"request": {"method": "GET", "url": "Observation/big"}})).collect();
    assert_eq!(alice.send(Method::POST, "", &json!({"resourceType": "Bundle", "type": "transaction", "entry": few})).status(), 200);
}

#[test]
fn n5_n6_n12_a_write_may_refer_only_to_what_its_writer_may_see() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    put(&admin, &observation("ob-bob", "Patient/bob"));
    put(&admin, &json!({"resourceType": "Location", "id": "bobs-flat", "name": "Bob's flat, 12 Secret Street"}));
    let mut pb = plan("pb", "Patient/bob", "Goal/gb");
    pb["activity"] = json!([{"detail": {"status": "in-progress", "location": {"reference": "Location/bobs-flat"}}}]);
    put(&admin, &pb);
    let alice = alice_app(&srv, "patient/*.cruds");
    // N5: a link to another person's resource, to search through it by chain.
    let mut chain = observation("chain", "Patient/alice");
    chain["hasMember"] = json!([{"reference": "Observation/ob-bob"}]);
    assert_eq!(alice.send(Method::PUT, "Observation/chain", &chain).status(), 403);
    assert_eq!(alice.ids("Observation?has-member:Observation.code:text=Weight"), Vec::<String>::new());
    // N12: a Provenance on another person's resource.
    let prov = json!({"resourceType": "Provenance", "target": [{"reference": "Patient/alice"}, {"reference": "Observation/ob-bob"}], "recorded": "2026-12-06T10:00:00Z",
        "agent": [{"who": {"reference": "Patient/alice"}}]});
    assert_eq!(alice.send(Method::POST, "Provenance", &prov).status(), 403);
    // N6: linking a shared resource from her own record does not make it hers.
    let mut own = plan("pa2", "Patient/alice", "Goal/ga");
    own["activity"] = json!([{"detail": {"status": "in-progress", "location": {"reference": "Location/bobs-flat"}}}]);
    assert_eq!(alice.send(Method::PUT, "CarePlan/pa2", &own).status(), 201);
    assert_eq!(alice.get("Location/bobs-flat").status(), 404);
    assert_eq!(alice.ids("Location"), Vec::<String>::new());
    // A user token and a consent-withheld target: no link either.
    put(&admin, &consent_deny_except_gp("bob"));
    let other = staff(&srv, "other", "user/*.cruds", json!({}));
    let mut o = observation("chain-o", "Patient/alice");
    o["hasMember"] = json!([{"reference": "Observation/ob-bob"}]);
    assert_eq!(other.send(Method::PUT, "Observation/chain-o", &o).status(), 403);
    // The GP, whom bob's consent permits, may.
    assert_eq!(staff(&srv, "gp", "user/*.cruds", json!({})).send(Method::PUT, "Observation/chain-o", &o).status(), 201);
}

#[test]
fn n7_a_resource_moved_into_a_restricted_record_takes_its_history_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    put(&admin, &consent_deny_except_gp("bob"));
    let gp = staff(&srv, "gp", "user/*.cruds", json!({}));
    let mut misfiled = observation("misfiled", "Patient/alice");
    misfiled["code"] = json!({"text": "SECRET result filed to the wrong person"});
    assert_eq!(gp.send(Method::PUT, "Observation/misfiled", &misfiled).status(), 201);
    misfiled["subject"] = json!({"reference": "Patient/bob"});
    assert_eq!(gp.send(Method::PUT, "Observation/misfiled", &misfiled).status(), 200);
    let other = staff(&srv, "other", "user/*.rs", json!({}));
    assert_eq!(other.get("Observation/misfiled").status(), 403);
    assert_eq!(other.get("Observation/misfiled/_history/1").status(), 403);
    assert!(!other.get("Observation/misfiled/_history").text().unwrap().contains("SECRET"));
    assert_eq!(alice_app(&srv, "patient/*.rs").get("Observation/misfiled/_history/1").status(), 404, "no longer in her record");
    assert_eq!(gp.get("Observation/misfiled/_history/1").status(), 200);
}

#[test]
fn n9_refusals_of_a_token_without_scopes_are_recorded_once_per_interval() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let before = audit_count(&srv);
    let nobody = As { srv: &srv, token: token(&format!("no-scope-{}", "x".repeat(900)), "", json!({})) };
    for i in 0..50 {
        assert_eq!(nobody.get(&format!("Patient/{}?q={i}", "A".repeat(60))).status(), 403);
    }
    let after = audit_count(&srv);
    // The counting reads themselves are audited (one each), the refusals once.
    assert!(after - before <= 4, "{before} → {after}");
}

#[test]
fn n11_links_are_not_built_from_headers_the_client_sets() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    for (name, value) in [("Forwarded", "host=evil.example;proto=https"), ("X-Forwarded-Host", "evil.example")] {
        let r = admin.req(Method::GET, "CarePlan?_count=1").header(name, value).send().unwrap();
        assert!(!r.text().unwrap().contains("evil.example"), "{name}");
    }
    let dir2 = tempfile::tempdir().unwrap();
    let configured = start(dir2.path(), &["--base-url", "https://fhir.example.org/fhir"]);
    let b = super::admin(&configured).bundle("CarePlan");
    assert_eq!(b["link"][0]["url"], "https://fhir.example.org/fhir/CarePlan");
}

#[test]
fn n13_scopes_are_read_as_a_gateway_reads_them_and_counts_stay_refused() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let both = As { srv: &srv, token: token("x", "patient/Goal.rs", json!({"scp": "user/*.rs", "patient": "alice"})) };
    assert_eq!(both.get("CarePlan/pb").status(), 403, "scp does not add to scope");
    let tab = As { srv: &srv, token: token("y", "patient/Goal.rs\tuser/*.rs", json!({"patient": "alice"})) };
    assert_eq!(tab.get("CarePlan/pb").status(), 403, "a tab separates nothing");
    let alice = alice_app(&srv, "patient/*.rs");
    assert_eq!(alice.get("CarePlan?_summary=true&_summary=count").status(), 403);
}
