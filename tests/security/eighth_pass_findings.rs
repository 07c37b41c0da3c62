//! Findings of the eighth red-team pass (docs/security/), each reproduced
//! on a real server on loopback and shown fixed.

use super::*;

#[test]
fn n1_plan_identifiers_are_given_only_by_storing_a_plan_and_a_plan_is_found_only_in_its_person_s_record() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    put(&admin, &json!({"resourceType": "RelatedPerson", "id": "spouse", "patient": {"reference": "Patient/alice"}, "name": [{"text": "Spouse of Alice"}]}));
    // Alice's app may not put a plan-item identifier on a resource of hers.
    let alice = alice_app(&srv, "patient/*.cruds");
    let mut spouse = alice.bundle("RelatedPerson/spouse");
    spouse["identifier"] = json!([{"system": "https://careplan.example/fhir/Id/plan-item", "value": "csp-pemberton-2026/@agreed-with"}]);
    let r = alice.send(Method::PUT, "RelatedPerson/spouse", &spouse);
    assert_eq!(r.status(), 403, "{}", r.text().unwrap());
    // Nor through a plan of her own with someone else's plan id: it stays her plan, and
    // the importer's plan for Margaret Holroyd is another one, with nothing of Alice's in it.
    let mut alice_admin_patient = alice.bundle("Patient/alice");
    alice_admin_patient["identifier"] = json!([{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990009999"}]);
    put(&admin, &alice_admin_patient);
    let mut squat = prsb_example("frail-older-person-at-home");
    squat["person"] = json!({"name": "Alice Alison", "nhsNumber": "9990009999"});
    for field in ["performingProfessional", "personCompletingRecord", "location", "consentForInformationSharing", "agreement", "careFundingSource", "responsibilityForReview"] {
        squat.as_object_mut().unwrap().remove(field);
    }
    squat["goals"].as_array_mut().unwrap().push(json!({"id": "g9", "freeText": "INJECTED: stop all medication"}));
    let r = store_plan(&alice, &squat);
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    let r = store_plan(&admin, &prsb_example("frail-older-person-at-home"));
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    let rao = resources_of(&admin, "Practitioner?identifier=https://careplan.example/fhir/Id/professional-identifier|GMC%207123456");
    let rao = As { srv: &srv, token: token("rao", "user/*.rs", json!({"fhirUser": format!("Practitioner/{}", rao[0]["id"].as_str().unwrap())})) };
    // Two plans have that plan id now, Alice's and Margaret's, each in its person's record.
    let plans = resources_of(&rao, "CarePlan?identifier=https://careplan.example/fhir/Id/plan|csp-holroyd-2026");
    assert_eq!(plans.len(), 2);
    let views: Vec<Value> = plans.iter().map(|p| rao.get(&format!("CarePlan/{}/$prsb?includeArchived=true", p["id"].as_str().unwrap())).json().unwrap()).collect();
    let margaret: Vec<&Value> = views.iter().filter(|v| v["person"]["name"] == "Margaret Holroyd").collect();
    assert_eq!(margaret.len(), 1);
    assert!(!margaret[0].to_string().contains("INJECTED"), "{}", margaret[0]);
    assert!(alice.bundle("Goal?_count=100").to_string().contains("INJECTED"), "Alice's plan is still hers");
}

fn resources_of(who: &As, path: &str) -> Vec<Value> {
    who.bundle(path)["entry"].as_array().into_iter().flatten().map(|e| e["resource"].clone()).filter(|r| r["resourceType"] != "OperationOutcome").collect()
}

#[test]
fn n2_a_clinician_cannot_claim_a_professional_identifier() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    put(&admin, &json!({"resourceType": "Practitioner", "id": "other", "name": [{"family": "Other"}]}));
    let other = staff(&srv, "other", "user/*.cruds", json!({}));
    let mut me = other.bundle("Practitioner/other");
    me["identifier"] = json!([{"system": "https://careplan.example/fhir/Id/professional-identifier", "value": "GMC 7012345"}]);
    let r = other.send(Method::PUT, "Practitioner/other", &me);
    assert_eq!(r.status(), 403, "{}", r.text().unwrap());
    // The importer gives it, as the data controller's system.
    let r = store_plan(&admin, &prsb_example("mental-health-crisis-best-interest"));
    assert_eq!(r.status(), 200);
    assert!(other.get("CarePlan?identifier=https://careplan.example/fhir/Id/plan|csp-brennan-crisis-2026").text().unwrap().contains("\"total\":0") || !other.get("CarePlan?identifier=https://careplan.example/fhir/Id/plan|csp-brennan-crisis-2026").text().unwrap().contains("Chloe"));
}

#[test]
fn n3_a_binary_stays_protected_when_what_it_belongs_to_is_deleted_and_a_deleted_id_stays_its_person_s() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    seed_carol(&admin);
    put(&admin, &json!({"resourceType": "DocumentReference", "id": "doc-carol", "status": "current", "subject": {"reference": "Patient/carol"},
        "content": [{"attachment": {"contentType": "text/plain", "title": "Letter"}}]}));
    let letter = json!({"resourceType": "Binary", "id": "bin-carol", "contentType": "text/plain", "securityContext": {"reference": "DocumentReference/doc-carol"}, "data": "U0VDUkVULUxFVFRFUi1D"});
    put(&admin, &letter);
    let other = staff(&srv, "other", "user/*.cruds", json!({}));
    assert_ne!(other.get("Binary/bin-carol").status(), 200);
    let gp = staff(&srv, "gp", "user/*.cruds", json!({}));
    assert_eq!(gp.req(Method::DELETE, "DocumentReference/doc-carol").send().unwrap().status(), 200);
    let r = other.get("Binary/bin-carol");
    assert_ne!(r.status(), 200, "still Carol's letter after its DocumentReference is deleted");
    assert!(!r.text().unwrap().contains("U0VDUkVU"));
    // Alice's app cannot take the deleted id over to reach the letter through it.
    let alice = alice_app(&srv, "patient/*.cruds");
    let mine = json!({"resourceType": "DocumentReference", "id": "doc-carol", "status": "current", "subject": {"reference": "Patient/alice"},
        "content": [{"attachment": {"contentType": "text/plain", "title": "Mine"}}]});
    let r = alice.send(Method::PUT, "DocumentReference/doc-carol", &mine);
    assert!(r.status() == 403 || r.status() == 404, "{}", r.status());
    assert_ne!(alice.get("Binary/bin-carol").status(), 200);
}

#[test]
fn n4_a_plan_is_bounded_before_it_is_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &["--max-bundle-conditionals", "100"]);
    let admin = admin(&srv);
    seed(&admin);
    let needs: Vec<Value> = (0..101).map(|i| json!({"id": format!("n{i}"), "kind": "concern", "freeText": format!("concern {i}")})).collect();
    let plan = json!({"id": "csp-big", "needs": needs});
    for path in ["$from-prsb?store=true", "$from-prsb"] {
        let r = admin.req(Method::POST, path).header("Content-Type", "application/json").body(plan.to_string()).send().unwrap();
        assert_eq!(r.status(), 413, "{path}");
        assert!(r.text().unwrap().contains("at most 100"));
    }
}

#[test]
fn the_importer_posts_over_a_plan_whose_consent_withholds_it_from_the_importer() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    let mut plan = prsb_example("frail-older-person-at-home");
    assert_eq!(store_plan(&admin, &plan).status(), 200);
    plan["goals"][2]["whyItMatters"] = json!("Church is where I see my friends.");
    let r = store_plan(&admin, &plan);
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
}
