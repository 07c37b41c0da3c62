//! Findings of the thirteenth red-team pass (docs/security/), each
//! reproduced on a real server on loopback and shown fixed.

use super::*;

/// The Goals with a plan-item identifier, as `(id, subject, versionId)`.
fn goals_with_item(admin: &As, item: &str) -> Vec<(String, String, String)> {
    let b = admin.bundle(&format!("Goal?identifier=https://careplan.example/fhir/Id/plan-item|{item}"));
    let mut found: Vec<_> = b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("resource"))
        .filter(|r| r["resourceType"] == "Goal")
        .map(|g| (g["id"].as_str().unwrap().to_owned(), g["subject"]["reference"].as_str().unwrap().to_owned(), g["meta"]["versionId"].as_str().unwrap().to_owned()))
        .collect();
    found.sort();
    found
}

fn patient_id(admin: &As, nhs: &str) -> String {
    let ids = admin.ids(&format!("Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|{nhs}"));
    assert_eq!(ids.len(), 1, "{nhs}: {ids:?}");
    ids[0].clone()
}

/// W1: a plan's items are looked for only in its person's record. Another
/// person's resource with the same plan-item identifier, reached from the
/// plan through a linked GP Condition or through that person's Consent, is
/// theirs: a post of the plan neither writes over it nor moves it.
#[test]
fn w1_a_post_never_writes_over_another_person_s_resource_reached_from_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    let (a_nhs, b_nhs) = ("9990000018", "9990000026");
    let goal = |id: &str, words: &str| json!({"id": id, "freeText": words});

    // B's own plan, under the plan id A's plan will have, holds goal g2.
    let b_plan = json!({"id": "same-id", "person": prsb_person("Bea Other", b_nhs), "goals": [goal("g1", "B's first"), goal("g2", "B's own goal")]});
    assert_eq!(store_plan(&admin, &b_plan).status(), 200);
    let b_goals = goals_with_item(&admin, "same-id/g2");
    assert_eq!(b_goals.len(), 1);
    let (b_goal, b_subject, _) = b_goals[0].clone();
    let b = patient_id(&admin, b_nhs);
    assert_eq!(b_subject, b);

    // A's record reaches B's goal: a GP Condition that A's plan links cites it
    // as evidence, A's Patient is linked to B's, and B's Consent names it.
    let a_plan = json!({"id": "same-id", "person": prsb_person("Ann Person", a_nhs), "goals": [goal("g1", "A's first")]});
    assert_eq!(store_plan(&admin, &a_plan).status(), 200);
    let a = patient_id(&admin, a_nhs);
    put(&admin, &json!({"resourceType": "Condition", "id": "gp-problem-a", "code": {"text": "Diabetes"}, "subject": {"reference": a},
        "evidence": [{"detail": [{"reference": format!("Goal/{b_goal}")}]}]}));
    let mut a_patient = admin.bundle(&a);
    a_patient["link"] = json!([{"other": {"reference": b}, "type": "seealso"}]);
    put(&admin, &a_patient);
    put(&admin, &json!({"resourceType": "Consent", "id": "consent-b", "status": "active", "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}], "patient": {"reference": b}, "policyRule": {"text": "Share with the family"},
        "provision": {"type": "permit", "data": [{"meaning": "instance", "reference": {"reference": format!("Goal/{b_goal}")}}]}}));

    // A's plan links the GP's problem, then gains a goal g2 of its own.
    let mut a_again = a_plan.clone();
    a_again["needs"] = json!([{"id": "n1", "kind": "problem", "fhirReference": "Condition/gp-problem-a"}]);
    assert_eq!(store_plan(&admin, &a_again).status(), 200);
    a_again["goals"] = json!([goal("g1", "A's first"), {"id": "g2", "needIds": ["n1"], "freeText": "A's second goal"}]);
    let r = store_plan(&admin, &a_again);
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    assert_eq!(store_plan(&admin, &a_again).status(), 200, "and again, unchanged");

    let after = goals_with_item(&admin, "same-id/g2");
    assert_eq!(after.len(), 2, "{after:?}");
    let theirs = after.iter().find(|(id, _, _)| *id == b_goal).expect("B's goal is still there");
    assert_eq!((theirs.1.as_str(), theirs.2.as_str()), (b.as_str(), "1"), "B's goal is untouched and still B's");
    let ours = after.iter().find(|(id, _, _)| *id != b_goal).unwrap();
    assert_eq!(ours.1, a, "A's g2 is a goal of A's own");
    let b_goal_now = admin.bundle(&format!("Goal/{b_goal}"));
    assert_eq!(b_goal_now["description"]["text"], "B's own goal");
}

fn label_r(mut resource: Value) -> Value {
    resource["meta"] = json!({"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]});
    resource
}

/// W2: an ODS code names one Organization (and a site code one Location),
/// whoever writes; a label on such shared data is the data controller's to
/// set; so no clinician can stop the plans that name them from being posted.
#[test]
fn w2_no_writer_can_jam_the_organisation_or_site_an_ods_code_names() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    let plan = prsb_example("copd-smoking-cessation");
    assert_eq!(store_plan(&admin, &plan).status(), 200);
    let funder = plan["careFundingSource"]["codedValue"].as_str().unwrap();
    let site = plan["location"]["codedValue"].as_str().unwrap();
    let other = staff(&srv, "other", "user/*.cruds", json!({}));

    let twin = json!({"resourceType": "Organization", "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": funder}], "name": "Evil twin"});
    let r = other.send(Method::POST, "Organization", &twin);
    assert_eq!(r.status(), 409, "{}", r.text().unwrap());
    let twin_site = json!({"resourceType": "Location", "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-site-code", "value": site}]});
    assert_eq!(other.send(Method::POST, "Location", &twin_site).status(), 409);
    assert_eq!(admin.send(Method::POST, "Location", &twin_site).status(), 409, "one resource per code, whoever writes");

    let shared_site = admin.ids(&format!("Location?identifier=https://fhir.nhs.uk/Id/ods-site-code|{site}"));
    assert_eq!(shared_site.len(), 1);
    let labelled = label_r(admin.bundle(&shared_site[0]));
    let r = other.send(Method::PUT, &shared_site[0], &labelled);
    assert_eq!(r.status(), 403, "{}", r.text().unwrap());
    let unlabelled_organisation = json!({"resourceType": "Organization", "name": "A new practice"});
    assert_eq!(other.send(Method::POST, "Organization", &label_r(unlabelled_organisation.clone())).status(), 403);
    assert_eq!(other.send(Method::POST, "Organization", &unlabelled_organisation).status(), 201);

    // Plans that name them are still posted, the same one again and a new one.
    let r = store_plan(&admin, &plan);
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    let mut changed = plan.clone();
    changed["id"] = json!("csp-another-2026");
    changed["person"] = json!(prsb_person("Walter Other", "9990000034"));
    let r = store_plan(&admin, &changed);
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
}

/// W4: a site code is an ODS code, never search syntax.
#[test]
fn w4_a_site_code_with_search_syntax_in_it_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    for code in ["Q,XY", "X|Y", "N82\\", "a1b"] {
        let plan = json!({"id": "csp-site", "location": {"codedValue": code}, "goals": [{"id": "g1", "freeText": "Walk"}]});
        let r = store_plan(&admin, &plan);
        assert_eq!(r.status(), 422, "{code}");
        assert!(r.text().unwrap().contains("/location/codedValue"));
    }
}

/// W5: our plan-item identifiers are ours wherever they sit, a Reference's
/// identifier included (a linked need is read by it).
#[test]
fn w5_a_plan_item_identifier_on_a_reference_is_given_only_by_a_plan_post() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    let other = staff(&srv, "other", "user/*.cruds", json!({}));
    put(&admin, &json!({"resourceType": "Condition", "id": "cx", "code": {"text": "Falls"}, "subject": {"reference": "Patient/alice"}}));
    let mut care_plan = admin.bundle("CarePlan/pa");
    care_plan["addresses"] = json!([{"reference": "Condition/cx", "identifier": {"system": "https://careplan.example/fhir/Id/plan-item", "value": "csp-a/n9"}, "display": "injected"}]);
    let r = other.send(Method::PUT, "CarePlan/pa", &care_plan);
    let status = r.status();
    let text = r.text().unwrap();
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("plan-item"), "{text}");
}

/// W6: a need stays recorded or linked; a link the stored plan holds is kept
/// even when its target has gone; a person's own app stores a plan that names
/// an organisation and a site by ODS code.
#[test]
fn w6_linked_needs_and_ods_codes_keep_every_plan_postable_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    let nhs = "9990000042";
    let plan = json!({"id": "csp-w6", "person": prsb_person("Ann Person", nhs), "needs": [{"id": "n1", "kind": "problem", "freeText": "Falls"}], "goals": [{"id": "g1", "needIds": ["n1"], "freeText": "Walk"}]});
    assert_eq!(store_plan(&admin, &plan).status(), 200);
    let a = patient_id(&admin, nhs);
    put(&admin, &json!({"resourceType": "Condition", "id": "gp-w6", "code": {"text": "Falls"}, "subject": {"reference": a}}));

    let mut linked = plan.clone();
    linked["needs"][0] = json!({"id": "n1", "kind": "problem", "fhirReference": "Condition/gp-w6"});
    let r = store_plan(&admin, &linked);
    assert_eq!(r.status(), 422);
    assert!(r.text().unwrap().contains("archive `n1` and add a new need"));

    linked["needs"] = json!([{"id": "n1", "kind": "problem", "freeText": "Falls"}, {"id": "n2", "kind": "problem", "fhirReference": "Condition/gp-w6"}]);
    assert_eq!(store_plan(&admin, &linked).status(), 200);
    assert_eq!(admin.send(Method::DELETE, "Condition/gp-w6", &json!({})).status(), 200);
    let care_plan = admin.ids("CarePlan?identifier=https://careplan.example/fhir/Id/plan|csp-w6");
    let whole = admin.bundle(&format!("{}/$prsb?includeArchived=true", care_plan[0]));
    let r = store_plan(&admin, &whole);
    assert_eq!(r.status(), 200, "the stored plan posts back: {}", r.text().unwrap());

    // The person's own app, with a funder and a site no one has named yet.
    let own = As { srv: &srv, token: token("ann-app", "patient/*.cruds", json!({"patient": a.trim_start_matches("Patient/"), "fhirUser": a})) };
    let mut mine = whole.clone();
    mine["careFundingSource"] = json!({"codedValue": "ZZQ99", "freeText": "Continuing healthcare"});
    mine["location"] = json!({"codedValue": "ZQ001", "freeText": "Day centre"});
    let r = store_plan(&own, &mine);
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    let back = own.bundle(&format!("{}/$prsb?includeArchived=true", care_plan[0]));
    assert_eq!(back["careFundingSource"], mine["careFundingSource"]);
    assert_eq!(back["location"], mine["location"]);
}

/// W7: a family link to someone the person may not see does not take the
/// person's own plan view away.
#[test]
fn w7_a_link_to_another_person_leaves_the_person_s_own_view_readable() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    let nhs = "9990000050";
    let plan = json!({"id": "csp-w7", "person": prsb_person("Ann Person", nhs), "goals": [{"id": "g1", "freeText": "Walk"}]});
    assert_eq!(store_plan(&admin, &plan).status(), 200);
    let a = patient_id(&admin, nhs);
    put(&admin, &patient("bob", "Bobson"));
    let mut me = admin.bundle(&a);
    me["link"] = json!([{"other": {"reference": "Patient/bob"}, "type": "seealso"}]);
    put(&admin, &me);
    let own = As { srv: &srv, token: token("ann-app", "patient/*.rs", json!({"patient": a.trim_start_matches("Patient/"), "fhirUser": a})) };
    let care_plan = admin.ids("CarePlan?identifier=https://careplan.example/fhir/Id/plan|csp-w7");
    let r = own.get(&format!("{}/$prsb", care_plan[0]));
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
}

/// W3: a plan's words for a site or a funder are kept only in the person's
/// record (on its references), never in a Location or Organization, which
/// concern no one and which every clinician reads.
#[test]
fn w3_a_plan_s_words_for_its_sites_and_funder_stay_in_the_person_s_record() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    let plan = json!({"id": "csp-w3", "person": prsb_person("Chloe Person", "9990000069"),
        "location": {"freeText": "Chloe's flat on Easton Road"},
        "careFundingSource": {"codedValue": "RXX", "freeText": "Section 117 aftercare"},
        "consentForInformationSharing": {"consent": "Shared with her care team", "location": {"codedValue": "RXX01", "freeText": "Secure unit, ward 3"},
            "sharedWith": [{"name": "Dr Reader", "fhirReference": "Practitioner/reader"}]},
        "goals": [{"id": "g1", "freeText": "Walk"}]});
    let r = store_plan(&admin, &plan);
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    let other = staff(&srv, "other", "user/*.cruds", json!({}));
    for search in ["Location", "Organization"] {
        let everything = other.bundle(search).to_string();
        for words in ["Chloe", "Secure unit", "Section 117"] {
            assert!(!everything.contains(words), "{search} holds {words}: {everything}");
        }
    }
    // Whom she shares the plan with reads them back as written.
    let own = staff(&srv, "reader", "user/*.rs", json!({}));
    let care_plan = own.ids("CarePlan?identifier=https://careplan.example/fhir/Id/plan|csp-w3");
    let back = own.bundle(&format!("{}/$prsb", care_plan[0]));
    assert_eq!(back["location"], plan["location"]);
    assert_eq!(back["careFundingSource"], plan["careFundingSource"]);
    assert_eq!(back["consentForInformationSharing"]["location"], plan["consentForInformationSharing"]["location"]);
}
