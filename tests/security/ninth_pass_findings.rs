//! Findings of the ninth red-team pass (docs/security/), each reproduced on
//! a real server on loopback and shown fixed.

use super::*;

/// A transaction entry that patches `target` with `ops` (the patch travels in a Binary).
fn patch_entry(target: &str, ops: &Value) -> Value {
    use base64::Engine as _;
    let data = base64::engine::general_purpose::STANDARD.encode(ops.to_string());
    json!({"resource": {"resourceType": "Binary", "contentType": "application/json-patch+json", "data": data}, "request": {"method": "PATCH", "url": target}})
}

#[test]
fn r1_the_data_controller_s_systems_do_not_patch_what_a_consent_withholds_from_them() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    put(&admin, &patient("carol", "Carolson"));
    let mut secret = restricted_condition("cond-carol", "Patient/carol");
    secret["code"] = json!({"text": "SECRET-COND-C"});
    put(&admin, &secret);
    put(&admin, &consent_deny_except_gp("carol"));
    let answers: Vec<(u16, String)> = ["SECRET-COND-C", "something else"]
        .iter()
        .map(|guess| {
            let ops = json!([{"op": "test", "path": "/code/text", "value": guess}, {"op": "copy", "from": "/code/text", "path": "/recordedDate"}]);
            let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [patch_entry("Condition/cond-carol", &ops)]});
            let r = admin.send(Method::POST, "", &bundle);
            (r.status().as_u16(), r.text().unwrap())
        })
        .collect();
    assert_eq!(answers[0].0, answers[1].0, "a right guess and a wrong one answer alike: {answers:?}");
    assert_eq!(answers[0].0, 403);
    assert!(answers.iter().all(|(_, text)| !text.contains("SECRET")), "{answers:?}");
}

#[test]
fn r2_everything_a_plan_lists_counts_against_its_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &["--max-bundle-conditionals", "100"]);
    let admin = admin(&srv);
    let attorneys: Vec<Value> = (0..101).map(|i| json!({"kind": "lpaHealthAndWelfare", "name": format!("Attorney {i}")})).collect();
    let plan = json!({"id": "csp-many-attorneys", "person": {"name": "Test Person", "lastingPowersOfAttorney": attorneys}});
    let r = store_plan(&admin, &plan);
    assert_eq!(r.status(), 413, "{}", r.text().unwrap());
}

#[test]
fn r3_a_read_only_system_scope_makes_no_one_the_data_controller() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), &[]);
    let admin = admin(&srv);
    seed(&admin);
    seed_carol(&admin);
    let other = staff(&srv, "other", "user/*.cruds system/Consent.r", json!({}));
    let mut permit_all = consent_deny_except_gp("carol");
    permit_all["provision"] = json!({"type": "permit"});
    let r = other.send(Method::PUT, "Consent/consent-carol", &permit_all);
    assert_eq!(r.status(), 403, "{}", r.text().unwrap());
}
