//! Findings of the fourteenth red-team pass (docs/security/), each
//! reproduced on a real server on loopback and shown fixed.

use super::*;

fn plan_with_ods(id: &str, who: Value) -> Value {
    json!({"id": id, "person": who, "location": {"codedValue": "SH001", "freeText": "Surgery"},
        "careFundingSource": {"codedValue": "SHF1", "freeText": "NHS funded"}, "goals": [{"id": "g1", "freeText": "Walk"}]})
}

/// X1: an organisation, site or professional is no one's record whatever a
/// writer puts in it, so a clinician can neither label it nor put it under
/// a person's consent, and the plans that name it stay postable.
#[test]
fn x1_shared_resources_stay_shared_whatever_patient_they_name() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let gp = staff(&srv, "gp", "user/*.cruds", json!({}));
    let other = staff(&srv, "other", "user/*.cruds", json!({}));
    assert_eq!(store_plan(&gp, &plan_with_ods("csp-x1-a", prsb_person("Ann One", "9990000077"))).status(), 200);
    let site = admin.ids("Location?identifier=https://fhir.nhs.uk/Id/ods-site-code|SH001");
    let funder = admin.ids("Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|SHF1");
    assert_eq!((site.len(), funder.len()), (1, 1));

    let alternate = |patient: &str| json!({"display": "managed", "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/alternate-reference", "valueReference": {"reference": patient}}]});
    let mut labelled = admin.bundle(&site[0]);
    labelled["managingOrganization"] = alternate("Patient/alice");
    labelled["meta"]["security"] = json!([{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]);
    let r = other.send(Method::PUT, &site[0], &labelled);
    assert_eq!(r.status(), 403, "{}", r.text().unwrap());
    let patch = json!([{"op": "add", "path": "/partOf", "value": alternate("Patient/alice")}, {"op": "add", "path": "/meta/security", "value": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]}]);
    let r = other.req(Method::PATCH, &funder[0]).header("Content-Type", "application/json-patch+json").body(patch.to_string()).send().unwrap();
    assert_eq!(r.status(), 403, "{}", r.text().unwrap());

    // Named after a person whose consent withholds her record: still everyone's.
    seed_carol(&admin);
    let mut under_consent = admin.bundle(&funder[0]);
    under_consent["partOf"] = alternate("Patient/carol");
    assert_eq!(admin.send(Method::PUT, &funder[0], &under_consent).status(), 200);
    assert_eq!(other.get(&funder[0]).status(), 200, "an organisation is read by everyone who may read organisations");
    assert_eq!(store_plan(&other, &plan_with_ods("csp-x1-b", prsb_person("Bob Two", "9990000085"))).status(), 200);
}

/// X2: a Consent is shown whole, and what a reader was shown with parts
/// left out is marked and cannot be written back.
#[test]
fn x2_a_consent_is_never_shown_with_an_actor_left_out_and_redacted_content_is_not_written_back() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    put(&admin, &json!({"resourceType": "RelatedPerson", "id": "carer-of-bob", "patient": {"reference": "Patient/bob"}, "name": [{"text": "Carer"}]}));
    let consent = json!({"resourceType": "Consent", "id": "consent-alice", "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}], "patient": {"reference": "Patient/alice"}, "policyRule": {"text": "Care team and carer"},
        "provision": {"type": "deny", "provision": [
            {"type": "permit", "actor": [{"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "PRCP"}]}, "reference": {"reference": "Practitioner/gp"}}]},
            {"type": "permit", "actor": [{"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "PRCP"}]}, "reference": {"reference": "RelatedPerson/carer-of-bob"}}]}]}});
    let mut plan = admin.bundle("CarePlan/pa");
    plan["contributor"] = json!([{"reference": "RelatedPerson/carer-of-bob"}]);
    put(&admin, &plan);
    put(&admin, &consent);

    let alice = alice_app(&srv, "patient/*.cruds");
    let r = alice.get("CarePlan/pa/$everything");
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-careplan-filtered"), "true", "Bob's carer is withheld from Alice's app");
    let everything: Value = r.json().unwrap();
    let resources: Vec<&Value> = everything["entry"].as_array().unwrap().iter().filter_map(|e| e.get("resource")).collect();
    let shown_consent = resources.iter().find(|r| r["resourceType"] == "Consent").expect("her Consent is in it");
    assert_eq!(shown_consent["provision"], consent["provision"], "shown whole");
    let shown_plan = resources.iter().find(|r| r["resourceType"] == "CarePlan").unwrap();
    let labels = shown_plan["meta"]["security"].to_string();
    assert!(labels.contains("REDACTED"), "the plan lost its contributor for this reader and says so: {labels}");
    let r = alice.send(Method::PUT, "CarePlan/pa", shown_plan);
    assert_eq!(r.status(), 422, "{}", r.text().unwrap());
}

/// X3: naming another person in a plan (a contributor, who expressed a goal)
/// does not take the plan or its items out of the person's record: the next
/// post updates them, it does not make twins.
#[test]
fn x3_a_plan_that_names_another_person_is_still_updated_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let plan = json!({"id": "csp-x3", "person": prsb_person("Eve Three", "9990000093"), "goals": [{"id": "g1", "freeText": "a goal"}]});
    assert_eq!(store_plan(&admin, &plan).status(), 200);
    let care_plan = admin.ids("CarePlan?identifier=https://careplan.example/fhir/Id/plan|csp-x3");
    let mut stored = admin.bundle(&care_plan[0]);
    stored["contributor"] = json!([{"reference": "Patient/bob", "display": "her neighbour helped write it"}]);
    put(&admin, &stored);
    let goal = admin.ids("Goal?identifier=https://careplan.example/fhir/Id/plan-item|csp-x3/g1");
    let mut g = admin.bundle(&goal[0]);
    g["expressedBy"] = json!({"reference": "Patient/bob"});
    put(&admin, &g);

    let mut again = plan.clone();
    again["goals"][0]["freeText"] = json!("goal words changed");
    assert_eq!(store_plan(&admin, &again).status(), 200);
    assert_eq!(admin.ids("CarePlan?identifier=https://careplan.example/fhir/Id/plan|csp-x3"), care_plan);
    assert_eq!(admin.ids("Goal?identifier=https://careplan.example/fhir/Id/plan-item|csp-x3/g1"), goal);
    assert_eq!(store_plan(&admin, &again).status(), 200, "and the next post too");
}

/// X4: the target of a reference that carries a plan-item identifier is part
/// of the claim: pointing a linked need elsewhere through plain FHIR is
/// giving the identifier anew.
#[test]
fn x4_a_linked_need_cannot_be_pointed_elsewhere_through_plain_fhir() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let plan = json!({"id": "csp-x4", "person": prsb_person("Fay Four", "9990000107"), "goals": [{"id": "g1", "freeText": "Walk"}]});
    assert_eq!(store_plan(&admin, &plan).status(), 200);
    let fay = admin.ids("Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9990000107")[0].clone();
    put(&admin, &json!({"resourceType": "Condition", "id": "fay-problem", "code": {"text": "Falls"}, "subject": {"reference": fay}}));
    put(&admin, &json!({"resourceType": "Condition", "id": "bob-problem", "code": {"text": "Falls"}, "subject": {"reference": "Patient/bob"}}));
    let mut linked = plan.clone();
    linked["needs"] = json!([{"id": "n2", "kind": "problem", "fhirReference": "Condition/fay-problem"}]);
    assert_eq!(store_plan(&admin, &linked).status(), 200);

    let other = staff(&srv, "other", "user/*.cruds", json!({}));
    let care_plan = admin.ids("CarePlan?identifier=https://careplan.example/fhir/Id/plan|csp-x4")[0].clone();
    let mut stored = other.bundle(&care_plan);
    let addresses = stored["addresses"].as_array_mut().unwrap();
    let link = addresses.iter_mut().find(|a| a["reference"] == "Condition/fay-problem").unwrap();
    link["reference"] = json!("Condition/bob-problem");
    let r = other.send(Method::PUT, &care_plan, &stored);
    assert_eq!(r.status(), 403, "{}", r.text().unwrap());
}

/// X5: two first posts of one plan at once make one CarePlan; the second
/// is refused, and posting again updates the one there is.
#[test]
fn x5_one_plan_id_names_one_care_plan_of_a_person_even_when_posted_twice_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let plan = json!({"id": "csp-x5", "person": prsb_person("Gus Five", "9990000115"), "goals": [{"id": "g1", "freeText": "Walk"}]});
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let posts: Vec<_> = (0..4).map(|_| s.spawn(|| store_plan(&admin(&srv), &plan).status().as_u16())).collect();
        posts.into_iter().map(|p| p.join().unwrap()).collect()
    });
    assert!(statuses.iter().all(|s| *s == 200 || *s == 409), "{statuses:?}");
    let admin = admin(&srv);
    assert_eq!(admin.ids("CarePlan?identifier=https://careplan.example/fhir/Id/plan|csp-x5").len(), 1, "{statuses:?}");
    assert_eq!(store_plan(&admin, &plan).status(), 200);
}

/// X6: another person's plan under the same plan id, withheld from the
/// requester, neither blocks their post nor tells them it exists.
#[test]
fn x6_another_person_s_withheld_plan_under_the_same_id_is_not_looked_at() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    seed_carol(&admin);
    let carol_plan = json!({"resourceType": "CarePlan", "id": "carol-plan", "status": "active", "intent": "plan", "subject": {"reference": "Patient/carol"},
        "identifier": [{"system": "https://careplan.example/fhir/Id/plan", "value": "csp-x6"}]});
    put(&admin, &carol_plan);
    let other = staff(&srv, "other", "user/*.cruds", json!({}));
    let plan = json!({"id": "csp-x6", "person": prsb_person("Hal Six", "9990000123"), "goals": [{"id": "g1", "freeText": "Walk"}]});
    let r = store_plan(&other, &plan);
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
}
