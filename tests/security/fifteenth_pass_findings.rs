//! Findings of the fifteenth red-team pass (docs/security/), each
//! reproduced on a real server on loopback and shown fixed.

use super::*;

/// Y1: what another person's record holds is never read as part of a plan,
/// however it is linked from it: a post neither copies it into the plan's
/// person's record nor archives it there.
#[test]
fn y1_a_post_never_copies_another_person_s_items_into_the_plan_s_person_s_record() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    let (a_nhs, c_nhs) = ("9990000131", "9990000158");
    let c_plan = json!({"id": "same-id", "person": prsb_person("Cee Secret", c_nhs),
        "needs": [{"id": "n1", "kind": "need", "freeText": "C need one"}, {"id": "n2", "kind": "problem", "freeText": "C-SECRET-NEED"}],
        "goals": [{"id": "g1", "needIds": ["n1"], "freeText": "C goal"}, {"id": "g2", "needIds": ["n2"], "freeText": "C-SECRET-GOAL"}]});
    assert_eq!(store_plan(&admin, &c_plan).status(), 200);
    let a_plan = json!({"id": "same-id", "person": prsb_person("Ann Other", a_nhs), "needs": [{"id": "n1", "kind": "need", "freeText": "A need"}],
        "goals": [{"id": "g1", "needIds": ["n1"], "freeText": "A goal"}]});
    assert_eq!(store_plan(&admin, &a_plan).status(), 200);
    let c_goal = admin.ids("Goal?identifier=https://careplan.example/fhir/Id/plan-item|same-id/g2");
    let c_need = admin.ids("Condition?identifier=https://careplan.example/fhir/Id/plan-item|same-id/n2");
    assert_eq!((c_goal.len(), c_need.len()), (1, 1));

    // A clinician links C's items into A's plan, by mistake.
    let a = admin.ids(&format!("Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|{a_nhs}"))[0].clone();
    let a_care_plan = admin.ids(&format!("CarePlan?identifier=https://careplan.example/fhir/Id/plan|same-id&subject={a}"))[0].clone();
    let patch = json!([{"op": "add", "path": "/goal/-", "value": {"reference": c_goal[0]}}, {"op": "add", "path": "/addresses/-", "value": {"reference": c_need[0]}}]);
    let r = admin.req(Method::PATCH, &a_care_plan).header("Content-Type", "application/json-patch+json").body(patch.to_string()).send().unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());

    // The importer's routine post of A's plan, and A's view of it.
    assert_eq!(store_plan(&admin, &a_plan).status(), 200);
    let view = admin.bundle(&format!("{a_care_plan}/$prsb?includeArchived=true")).to_string();
    assert!(!view.contains("C-SECRET"), "{view}");
    for (search, original) in [("Goal?_count=100", &c_goal[0]), ("Condition?_count=100", &c_need[0])] {
        let holding: Vec<String> = admin.bundle(search)["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["resource"].to_string().contains("C-SECRET"))
            .map(|e| format!("{}/{}", e["resource"]["resourceType"].as_str().unwrap(), e["resource"]["id"].as_str().unwrap()))
            .collect();
        assert_eq!(holding, vec![original.clone()], "only C's own {search}");
    }
}

/// Y2: a formulary Medication is no one's record whatever it names, so a
/// clinician can neither label it nor put it under a person's consent.
#[test]
fn y2_a_formulary_medication_stays_everyone_s() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    put(&admin, &json!({"resourceType": "Medication", "id": "med-shared", "code": {"coding": [{"system": "http://snomed.info/sct", "code": "322236009"}]}}));
    let other = staff(&srv, "other", "user/*.cruds", json!({}));
    let mut labelled = admin.bundle("Medication/med-shared");
    labelled["manufacturer"] = json!({"display": "x", "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/alternate-reference", "valueReference": {"reference": "Patient/alice"}}]});
    labelled["meta"]["security"] = json!([{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]);
    let r = other.send(Method::PUT, "Medication/med-shared", &labelled);
    assert_eq!(r.status(), 403, "{}", r.text().unwrap());
    let gp = staff(&srv, "gp", "user/*.cruds", json!({}));
    assert_eq!(gp.get("Medication/med-shared").status(), 200);
}

/// Y6: a PRSB plan does not change person by its subject alone.
#[test]
fn y6_a_prsb_plan_is_not_moved_to_another_person_by_its_subject() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let plan = json!({"id": "csp-y6", "person": prsb_person("Eve Six", "9990000166"), "goals": [{"id": "g1", "freeText": "E goal"}]});
    assert_eq!(store_plan(&admin, &plan).status(), 200);
    let e = admin.ids("Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9990000166")[0].clone();
    let care_plan = admin.ids(&format!("CarePlan?subject={e}"))[0].clone();
    let other = staff(&srv, "other", "user/*.cruds", json!({}));
    let patch = json!([{"op": "replace", "path": "/subject", "value": {"reference": "Patient/alice"}}]);
    let r = other.req(Method::PATCH, &care_plan).header("Content-Type", "application/json-patch+json").body(patch.to_string()).send().unwrap();
    assert_eq!(r.status(), 403, "{}", r.text().unwrap());
    // An ordinary edit of it is still anyone's with the scope.
    let patch = json!([{"op": "add", "path": "/description", "value": "Reviewed"}]);
    let r = other.req(Method::PATCH, &care_plan).header("Content-Type", "application/json-patch+json").body(patch.to_string()).send().unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
}
