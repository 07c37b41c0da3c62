//! Findings of the seventh red-team pass (docs/security/), each reproduced
//! on a real server on loopback and shown fixed.

use super::*;

fn transaction(entries: Vec<Value>) -> Value {
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

#[test]
fn z1_conditional_criteria_on_a_type_the_token_may_not_search_are_refused_whatever_matches() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let mut bp = observation("bp-bob", "Patient/bob");
    bp["valueQuantity"] = json!({"value": 140, "unit": "mm[Hg]"});
    put(&admin, &bp);
    // A vitals app may create Observations for Alice, and nothing else.
    let app = alice_app(&srv, "patient/Observation.c");
    let answers: Vec<u16> = ["gt139", "gt141"]
        .iter()
        .map(|v| {
            let r = app
                .req(Method::POST, "Observation")
                .header("Content-Type", "application/fhir+json")
                .header("If-None-Exist", format!("subject=Patient/bob&value-quantity={v}"))
                .body(observation("x", "Patient/alice").to_string())
                .send()
                .unwrap();
            r.status().as_u16()
        })
        .collect();
    assert_eq!(answers[0], answers[1], "a match and no match must answer alike: {answers:?}");
    assert_eq!(answers[0], 403);
    // Through a conditional reference, with no write at all.
    let app = alice_app(&srv, "patient/Observation.cruds");
    let statuses: Vec<u16> = ["Condition?subject=Patient/bob", "Condition?subject=Patient/nobody"]
        .iter()
        .map(|criteria| {
            let mut obs = observation("y", "Patient/alice");
            obs["focus"] = json!([{"reference": criteria}]);
            let entry = json!({"fullUrl": "urn:uuid:1", "resource": obs, "request": {"method": "POST", "url": "Observation"}});
            app.send(Method::POST, "", &transaction(vec![entry])).status().as_u16()
        })
        .collect();
    assert_eq!(statuses, [403, 403]);
}

#[test]
fn z2_a_patient_app_cannot_set_an_nhs_number_and_an_nhs_number_names_one_patient() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let alice = alice_app(&srv, "patient/*.cruds");
    let mut me = alice.bundle("Patient/alice");
    me["identifier"] = json!([{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990003033"}]);
    let r = alice.send(Method::PUT, "Patient/alice", &me);
    assert_eq!(r.status(), 403, "{}", r.text().unwrap());
    // Her other fields she may still change.
    let mut me = alice.bundle("Patient/alice");
    me["telecom"] = json!([{"system": "phone", "value": "01632 960000"}]);
    assert_eq!(alice.send(Method::PUT, "Patient/alice", &me).status(), 200);
    // The importer files Brian Walsh's plan under a Patient of his own.
    let plan = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/prsb/copd-smoking-cessation.json")).unwrap();
    let r = admin.req(Method::POST, "$from-prsb?store=true").header("Content-Type", "application/json").body(plan).send().unwrap();
    assert_eq!(r.status(), 200);
    assert!(alice.bundle("Patient/alice").get("identifier").is_none(), "Alice's Patient holds no NHS number");
    let walsh_plan: Value = serde_json::from_slice(&std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/prsb/copd-smoking-cessation.json")).unwrap()).unwrap();
    let query = format!("CarePlan?identifier=https://careplan.example/fhir/Id/plan|{}", walsh_plan["id"].as_str().unwrap());
    assert!(alice.ids(&query).is_empty(), "Alice does not get Brian Walsh's plan");
    // A second Patient with that number is refused, whoever writes it.
    let mut twin = patient("twin", "Walsh");
    twin["identifier"] = json!([{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990003033"}]);
    let r = admin.send(Method::PUT, "Patient/twin", &twin);
    assert_eq!(r.status(), 409, "{}", r.text().unwrap());
    twin["id"] = json!("alice");
    assert_eq!(admin.send(Method::PUT, "Patient/alice", &twin).status(), 409, "the number is held by the Patient the import made, not Alice");
}

#[test]
fn z3_what_a_transaction_stores_concerns_the_people_its_rewritten_references_name() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    seed_carol(&admin);
    let gp = staff(&srv, "gp", "user/*.cruds", json!({}));
    let mut condition = restricted_condition("ignored", "Patient/carol");
    condition.as_object_mut().unwrap().remove("id");
    condition.as_object_mut().unwrap().remove("meta");
    condition["code"] = json!({"text": "SECRET-COND-C2"});
    condition["subject"] = json!({"reference": "urn:uuid:carol"});
    let mut obs = observation("ignored", "Patient/alice");
    obs.as_object_mut().unwrap().remove("id");
    obs["focus"] = json!([{"reference": "urn:uuid:c2"}]);
    let bundle = transaction(vec![
        json!({"fullUrl": "urn:uuid:carol", "resource": patient("ignored", "Carolson"), "request": {"method": "PUT", "url": "Patient/carol"}}),
        json!({"fullUrl": "urn:uuid:c2", "resource": condition, "request": {"method": "POST", "url": "Condition"}}),
        json!({"fullUrl": "urn:uuid:o2", "resource": obs, "request": {"method": "POST", "url": "Observation"}}),
    ]);
    let mut bundle = bundle;
    bundle["entry"][0]["resource"]["id"] = json!("carol");
    let r = gp.send(Method::POST, "", &bundle);
    let status = r.status();
    let response: Value = r.json().unwrap();
    assert_eq!(status, 200, "{response}");
    let location = response["entry"][1]["response"]["location"].as_str().unwrap();
    let condition_id = location.split('/').nth(1).unwrap().to_owned();
    // A chain from Alice's record does not reach into Carol's, which her consent withholds.
    let alice = alice_app(&srv, "patient/*.rs");
    assert_eq!(alice.ids("Observation?focus:Condition.code:text=SECRET-COND-C2"), Vec::<String>::new());
    let other = staff(&srv, "other", "user/*.rs", json!({}));
    assert_eq!(other.ids("Observation?focus:Condition.code:text=SECRET-COND-C2"), Vec::<String>::new());
    // Carol's own app finds the Condition by search, and the write's AuditEvent names her.
    let carol = As { srv: &srv, token: token("carol-app", "patient/*.rs", json!({"patient": "carol", "fhirUser": "Patient/carol"})) };
    assert_eq!(carol.ids("Condition").len(), 1);
    let auditor = As { srv: &srv, token: token("auditor", "user/AuditEvent.rs", json!({})) };
    let events = auditor.bundle(&format!("AuditEvent?entity=Condition/{condition_id}"));
    let written = events["entry"].as_array().unwrap().iter().find(|e| e["resource"]["subtype"].to_string().contains("transaction")).expect("the transaction's AuditEvent");
    assert!(written.to_string().contains("Patient/carol"), "{written}");
}

#[test]
fn z4_conditional_references_are_counted_before_the_writer_is_taken() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &["--max-bundle-conditionals", "50"]);
    let admin = admin(&srv);
    seed(&admin);
    let alice = alice_app(&srv, "patient/*.cruds");
    let mut obs = observation("z4", "Patient/alice");
    obs["focus"] = Value::Array((0..51).map(|i| json!({"reference": format!("Observation?code:text=x&code:not=urn:x|n{i}")})).collect());
    let entry = json!({"resource": obs, "request": {"method": "PUT", "url": "Observation/z4"}});
    let r = alice.send(Method::POST, "", &transaction(vec![entry]));
    assert_eq!(r.status(), 413);
    assert!(r.text().unwrap().contains("--max-bundle-conditionals"));
}
