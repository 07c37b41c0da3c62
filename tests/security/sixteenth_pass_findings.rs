//! Findings of the sixteenth red-team pass (docs/security/), each
//! reproduced on a real server on loopback and shown fixed.

use super::*;

/// Q1: a carer recorded in another person's record, whom a person's plan
/// consent permits, stays permitted through every view and post of the plan.
#[test]
fn q1_a_consent_naming_someone_in_another_record_survives_views_and_posts() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    put(&admin, &json!({"resourceType": "RelatedPerson", "id": "spouse-of-bob", "patient": {"reference": "Patient/bob"}, "name": [{"text": "Spouse"}]}));
    let plan = json!({"id": "csp-q1", "person": {"name": "Gail Q", "nhsNumber": "9990000174", "birthDate": "1950-03-01"},
        "goals": [{"id": "g1", "freeText": "Walk"}],
        "consentForInformationSharing": {"date": "2026-12-01T10:00:00Z", "consent": "Given: share with the family carer",
            "sharedWith": [{"name": "Spouse (family carer)", "fhirReference": "RelatedPerson/spouse-of-bob"}]}});
    put(&admin, &json!({"resourceType": "Patient", "id": "gail", "name": [{"text": "Gail Q"}], "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000174"}], "birthDate": "1950-03-01"}));
    let r = store_plan(&admin, &plan);
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    let own = As { srv: &srv, token: token("gail-app", "patient/*.cruds", json!({"patient": "gail", "fhirUser": "Patient/gail"})) };
    let care_plan = own.ids("CarePlan?subject=Patient/gail")[0].clone();
    let spouse = As { srv: &srv, token: token("spouse", "user/*.rs", json!({"fhirUser": "RelatedPerson/spouse-of-bob"})) };
    assert_eq!(spouse.get(&care_plan).status(), 200);

    let everything: Value = own.get(&format!("{care_plan}/$everything")).json().unwrap();
    let consent = everything["entry"].as_array().unwrap().iter().filter_map(|e| e.get("resource")).find(|r| r["resourceType"] == "Consent").unwrap().clone();
    assert!(consent["provision"].to_string().contains("RelatedPerson/spouse-of-bob"), "shown whole: {consent}");

    let mut view: Value = own.get(&format!("{care_plan}/$prsb?includeArchived=true")).json().unwrap();
    assert_eq!(view["consentForInformationSharing"]["sharedWith"], plan["consentForInformationSharing"]["sharedWith"]);
    view["goals"][0]["freeText"] = json!("Walk to the shop");
    let r = store_plan(&own, &view);
    let status = r.status();
    let body = r.text().unwrap();
    assert_eq!(status, 200, "{body}\nstored plan as the person reads it: {}\nview posted: {view}", own.get(&care_plan).text().unwrap());
    assert_eq!(spouse.get(&care_plan).status(), 200, "still permitted after the person's own post");
}

/// Q4: a post of a plan keeps what its resources say of other people
/// (a contributor who is a relative), though the plan never reads it.
#[test]
fn q4_a_post_keeps_links_to_other_people_it_does_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let plan = json!({"id": "csp-q4", "person": {"name": "Hana Q", "nhsNumber": "9990000182", "birthDate": "1950-03-01"}, "goals": [{"id": "g1", "freeText": "Walk"}]});
    assert_eq!(store_plan(&admin, &plan).status(), 200);
    let goal = admin.ids("Goal?identifier=https://careplan.example/fhir/Id/plan-item|csp-q4/g1")[0].clone();
    let mut g = admin.bundle(&goal);
    g["expressedBy"] = json!({"reference": "Patient/bob"});
    put(&admin, &g);
    let mut changed = plan.clone();
    changed["goals"][0]["freeText"] = json!("Walk further");
    assert_eq!(store_plan(&admin, &changed).status(), 200);
    let after = admin.bundle(&goal);
    assert_eq!(after["description"]["text"], "Walk further");
    assert_eq!(after["expressedBy"]["reference"], "Patient/bob", "{after}");
}

/// The seventeenth pass's P1: a post of the plan keeps what the person's
/// Consent says beyond the format (a recipient limited to a purpose, a
/// recipient added through FHIR), and removes only what the plan no longer
/// names.
#[test]
fn p1_a_post_keeps_the_consent_rules_the_plan_cannot_say() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    put(&admin, &json!({"resourceType": "Patient", "id": "ida", "name": [{"text": "Ida P"}], "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000190"}], "birthDate": "1950-03-01"}));
    put(&admin, &json!({"resourceType": "Practitioner", "id": "nurse", "name": [{"text": "Nurse"}]}));
    let plan = json!({"id": "csp-p1", "person": {"name": "Ida P", "nhsNumber": "9990000190", "birthDate": "1950-03-01"}, "goals": [{"id": "g1", "freeText": "Walk"}],
        "consentForInformationSharing": {"consent": "Given", "sharedWith": [{"name": "GP", "fhirReference": "Practitioner/gp"}, {"name": "Nurse", "fhirReference": "Practitioner/nurse"}]}});
    assert_eq!(store_plan(&admin, &plan).status(), 200);
    let own = As { srv: &srv, token: token("ida-app", "patient/*.cruds", json!({"patient": "ida", "fhirUser": "Patient/ida"})) };
    let consent_id = own.ids("Consent?patient=Patient/ida")[0].clone();
    let mut consent = own.bundle(&consent_id);
    // The person limits the GP to treatment, and adds a carer through FHIR.
    let provisions = consent["provision"]["provision"].as_array_mut().unwrap();
    let gp = provisions.iter_mut().find(|p| p.to_string().contains("Practitioner/gp")).unwrap();
    gp["purpose"] = json!([{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT"}]);
    provisions.push(json!({"type": "permit", "actor": [{"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]}, "reference": {"reference": "Practitioner/other"}}]}));
    let r = own.send(Method::PUT, &consent_id, &consent);
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());

    // The importer posts the plan again, the nurse no longer shared with.
    let mut again = plan.clone();
    again["consentForInformationSharing"]["sharedWith"] = json!([{"name": "GP", "fhirReference": "Practitioner/gp"}]);
    let r = store_plan(&admin, &again);
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    let after = own.bundle(&consent_id)["provision"].to_string();
    assert!(after.contains("TREAT"), "the GP's limit stays: {after}");
    assert!(after.contains("Practitioner/other"), "the carer added through FHIR stays: {after}");
    assert!(!after.contains("Practitioner/nurse"), "the recipient the plan no longer names goes: {after}");
    // The PRSB view names only whom the plan shares with.
    let care_plan = own.ids("CarePlan?subject=Patient/ida")[0].clone();
    let view = own.bundle(&format!("{care_plan}/$prsb"));
    assert_eq!(view["consentForInformationSharing"]["sharedWith"], again["consentForInformationSharing"]["sharedWith"]);
}

/// The eighteenth pass's K3 and K4: a consent written before provisions were
/// named keeps its limits and its withdrawals through a post, and a person's
/// withdrawal through FHIR is not undone by a post of the same plan.
#[test]
fn k3_k4_a_post_neither_undoes_a_withdrawal_nor_widens_an_older_consent() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    put(&admin, &json!({"resourceType": "Patient", "id": "kay", "name": [{"text": "Kay K"}], "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000204"}], "birthDate": "1950-03-01"}));
    let plan = json!({"id": "csp-k", "person": {"name": "Kay K", "nhsNumber": "9990000204", "birthDate": "1950-03-01"}, "goals": [{"id": "g1", "freeText": "Walk"}],
        "consentForInformationSharing": {"consent": "Given", "sharedWith": [{"name": "GP", "fhirReference": "Practitioner/gp"}]}});
    assert_eq!(store_plan(&admin, &plan).status(), 200);
    let own = As { srv: &srv, token: token("kay-app", "patient/*.cruds", json!({"patient": "kay", "fhirUser": "Patient/kay"})) };
    let gp = staff(&srv, "gp", "user/*.rs", json!({}));
    let care_plan = own.ids("CarePlan?subject=Patient/kay")[0].clone();
    assert_eq!(gp.get(&care_plan).status(), 200);
    let consent_id = own.ids("Consent?patient=Patient/kay")[0].clone();

    // K4: Kay withdraws the GP through FHIR; the importer posts the same plan again.
    let mut consent = own.bundle(&consent_id);
    consent["provision"]["provision"].as_array_mut().unwrap().retain(|p| !p.to_string().contains("Practitioner/gp"));
    if consent["provision"]["provision"].as_array().unwrap().is_empty() {
        consent["provision"].as_object_mut().unwrap().remove("provision");
    }
    let r = own.send(Method::PUT, &consent_id, &consent);
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    assert_ne!(gp.get(&care_plan).status(), 200);
    assert_eq!(store_plan(&admin, &plan).status(), 200);
    assert_ne!(gp.get(&care_plan).status(), 200, "the withdrawal stands");

    // K3: a consent from before provisions were named, limited to treatment.
    let mut older = own.bundle(&consent_id);
    older["meta"].as_object_mut().unwrap().remove("tag");
    older["provision"]["provision"] = json!([{"type": "permit", "purpose": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "ETREAT"}],
        "actor": [{"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]}, "reference": {"reference": "Practitioner/gp"}}]}]);
    assert_eq!(own.send(Method::PUT, &consent_id, &older).status(), 200);
    assert_eq!(store_plan(&admin, &plan).status(), 200);
    let after = own.bundle(&consent_id)["provision"].clone();
    assert_eq!(after.to_string().matches("Practitioner/gp").count(), 1, "one permit for the GP, still limited: {after}");
    assert!(after.to_string().contains("ETREAT"), "{after}");
    // Withdrawn through the plan, it goes.
    let mut without = plan.clone();
    without["consentForInformationSharing"]["sharedWith"] = json!([]);
    assert_eq!(store_plan(&admin, &without).status(), 200);
    assert!(!own.bundle(&consent_id)["provision"].to_string().contains("Practitioner/gp"));
}

/// The eighteenth pass's K5, K6 and K7: a rule the person makes from a copy
/// of a plan-made provision (a deny with its id) is theirs and survives a
/// post; the PRSB view names each recipient once and never from a deny; a
/// Consent the person saved without the plan's profile is not rewritten
/// only to claim it again.
#[test]
fn k5_k6_k7_a_copied_provision_is_the_person_s_and_a_dropped_profile_is_no_change() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    put(&admin, &json!({"resourceType": "Patient", "id": "lea", "name": [{"text": "Lea L"}], "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000212"}], "birthDate": "1950-03-01"}));
    put(&admin, &json!({"resourceType": "Practitioner", "id": "nurse", "name": [{"text": "Nurse"}]}));
    let plan = json!({"id": "csp-k5", "person": {"name": "Lea L", "nhsNumber": "9990000212", "birthDate": "1950-03-01"}, "goals": [{"id": "g1", "freeText": "Walk"}],
        "consentForInformationSharing": {"consent": "Given", "sharedWith": [{"name": "GP", "fhirReference": "Practitioner/gp"}]}});
    assert_eq!(store_plan(&admin, &plan).status(), 200);
    let own = As { srv: &srv, token: token("lea-app", "patient/*.cruds", json!({"patient": "lea", "fhirUser": "Patient/lea"})) };
    let gp = staff(&srv, "gp", "user/*.rs", json!({}));
    let care_plan = own.ids("CarePlan?subject=Patient/lea")[0].clone();
    let consent_id = own.ids("Consent?patient=Patient/lea")[0].clone();
    assert_eq!(gp.get(&care_plan).status(), 200);

    // K5: Lea denies the GP with a copy of the plan's permit, id and all.
    let mut consent = own.bundle(&consent_id);
    let provisions = consent["provision"]["provision"].as_array_mut().unwrap();
    let mut deny = provisions.iter().find(|p| p.to_string().contains("Practitioner/gp")).unwrap().clone();
    assert!(deny["id"].as_str().unwrap().starts_with("prsb-shared-"), "{deny}");
    deny["type"] = json!("deny");
    provisions.push(deny);
    assert_eq!(own.send(Method::PUT, &consent_id, &consent).status(), 200);
    assert_ne!(gp.get(&care_plan).status(), 200);
    // The plan now shares with the nurse too: the provisions are made again.
    let mut wider = plan.clone();
    wider["consentForInformationSharing"]["sharedWith"] = json!([{"name": "GP", "fhirReference": "Practitioner/gp"}, {"name": "Nurse", "fhirReference": "Practitioner/nurse"}]);
    let r = store_plan(&admin, &wider);
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    let after = own.bundle(&consent_id)["provision"].to_string();
    assert!(after.contains("\"deny\""), "the person's deny stays: {after}");
    assert_ne!(gp.get(&care_plan).status(), 200, "and the GP stays denied");
    // K6: the view names the GP once, from the plan's permit.
    let view = own.bundle(&format!("{care_plan}/$prsb"));
    assert_eq!(view["consentForInformationSharing"]["sharedWith"], wider["consentForInformationSharing"]["sharedWith"], "{view}");

    // K7: Lea saves her Consent without the plan's profile; the same plan
    // posted again leaves it on its version.
    let mut consent = own.bundle(&consent_id);
    consent["meta"].as_object_mut().unwrap().remove("profile");
    assert_eq!(own.send(Method::PUT, &consent_id, &consent).status(), 200);
    let version = own.bundle(&consent_id)["meta"]["versionId"].clone();
    assert_eq!(store_plan(&admin, &wider).status(), 200);
    assert_eq!(own.bundle(&consent_id)["meta"]["versionId"], version, "no new version only to claim the profile");
}
