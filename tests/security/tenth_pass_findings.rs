//! Findings of the tenth red-team pass (docs/security/), each reproduced on
//! a real server on loopback and shown fixed.

use super::*;

#[test]
fn s1_every_value_a_plan_lists_counts_against_its_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &["--max-bundle-conditionals", "100"]);
    let admin = admin(&srv);
    let strategies: Vec<String> = (0..101).map(|i| format!("strategy {i}")).collect();
    let plan = json!({"id": "csp-many-strategies", "goals": [{"id": "g1", "freeText": "Walk"}],
        "actions": [{"id": "a1", "goalIds": ["g1"], "what": {"freeText": "Walk daily"}, "suggestedStrategies": strategies}]});
    let r = store_plan(&admin, &plan);
    assert_eq!(r.status(), 413, "{}", r.text().unwrap());
}

#[test]
fn s2_a_user_s_token_with_a_system_scope_is_not_the_data_controller_s_system() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    seed_carol(&admin);
    let other = staff(&srv, "other", "user/*.cruds system/Consent.cu", json!({}));
    let mut permit_all = consent_deny_except_gp("carol");
    permit_all["provision"] = json!({"type": "permit"});
    let r = other.send(Method::PUT, "Consent/consent-carol", &permit_all);
    assert_eq!(r.status(), 403, "{}", r.text().unwrap());
    put(&admin, &json!({"resourceType": "Practitioner", "id": "other", "name": [{"family": "Other"}]}));
    let claimer = staff(&srv, "other", "user/*.cruds system/*.c", json!({}));
    let mut me = claimer.bundle("Practitioner/other");
    me["identifier"] = json!([{"system": "https://careplan.example/fhir/Id/professional-identifier", "value": "NMC 88A1234E"}]);
    assert_eq!(claimer.send(Method::PUT, "Practitioner/other", &me).status(), 403);
    // A backend system (system/ scopes only, writing) still is.
    let importer = As { srv: &srv, token: token("importer", "system/Consent.cru", json!({})) };
    assert_eq!(importer.send(Method::PUT, "Consent/consent-carol", &consent_deny_except_gp("carol")).status(), 200);
}

/// The eleventh pass's U1: a broken plan's problems are told up to a limit,
/// so a large broken plan answers quickly.
#[test]
fn u1_a_broken_plan_of_any_size_answers_with_its_first_problems() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let nobody = As { srv: &srv, token: token("nobody", "openid", json!({})) };
    let strategies: Vec<String> = vec![String::new(); 20_000];
    let plan = json!({"id": "csp-broken", "goals": [{"id": "g1", "freeText": "Walk"}],
        "actions": [{"id": "a1", "goalIds": ["g1"], "what": {"freeText": "Walk daily"}, "suggestedStrategies": strategies}]});
    let r = nobody.req(Method::POST, "$from-prsb").header("Content-Type", "application/json").body(plan.to_string()).send().unwrap();
    assert_eq!(r.status(), 422);
    let outcome: Value = r.json().unwrap();
    let issues = outcome["issue"].as_array().unwrap();
    assert!(issues.len() <= careplan::prsb::MAX_PROBLEMS + 1, "{} issues", issues.len());
    assert!(issues.last().unwrap().to_string().contains("more problems than the first"));
}

/// The twelfth pass's V1: many differently named keys or elements in one
/// object are read in linear time; a duplicate among them is still found.
#[test]
fn v1_an_object_with_very_many_keys_is_read_and_its_duplicates_found() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let nobody = As { srv: &srv, token: token("nobody", "openid", json!({})) };
    let mut text = String::from(r#"{"resourceType":"Observation","status":"final","code":{"text":"x"}"#);
    for i in 0..40_000 {
        text.push_str(&format!(r#","k{i}":1"#));
    }
    text.push_str(r#","k39999":2}"#);
    let r = nobody.req(Method::POST, "Observation/$validate").header("Content-Type", "application/fhir+json").body(text).send().unwrap();
    let status = r.status();
    let outcome = r.text().unwrap();
    assert_eq!(status, 200);
    assert!(outcome.contains("The JSON property 'k39999' is a duplicate"));
    let mut xml = String::from(r#"<Observation xmlns="http://hl7.org/fhir"><status value="final"/>"#);
    for i in 0..20_000 {
        xml.push_str(&format!(r#"<k{i} value="1"/>"#));
    }
    xml.push_str(r#"<k7 value="2"/><code><text value="x"/></code></Observation>"#);
    let r = nobody.req(Method::POST, "Observation/$validate").header("Content-Type", "application/fhir+xml").body(xml).send().unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().unwrap().contains("k19999"), "every unknown element is reported");
}
