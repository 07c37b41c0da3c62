//! Findings of the twenty-eighth red-team pass
//! (docs/security/redteam-twenty-eighth-pass-2026-12-06.md), each shown
//! bounded on an input of the reported shape, with what is still said.

use super::*;
use careplan::tree::Format;

/// T1: every `derivedFrom` was a derivation of its own, each checked
/// against every item; the same questionnaire named again is now one.
#[test]
fn t1_a_questionnaire_named_again_in_derived_from_is_one_derivation() {
    let base = json!({"resourceType": "Questionnaire", "url": "http://x.test/Questionnaire/base", "status": "active", "item": [{"linkId": "a", "type": "string"}]});
    let derived_from: Vec<Value> = (0..2_000)
        .map(|_| json!({"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/questionnaire-derivationType",
            "valueCoding": {"system": "http://hl7.org/fhir/questionnaire-derivationType", "code": "compliesWith"}}]}))
        .collect();
    let items: Vec<Value> = (0..2_000).map(|i| json!({"linkId": format!("new{i}"), "type": "string"})).collect();
    let q = json!({"resourceType": "Questionnaire", "status": "active", "derivedFrom": vec![json!("http://x.test/Questionnaire/base"); 2_000],
        "_derivedFrom": derived_from, "item": items});
    let found = common::issues_with(&[base], &q);
    let not_derived = found.iter().filter(|i| i.message.starts_with("No item with linkId 'new")).count();
    assert_eq!(not_derived, 2_000);
}

/// T2: a differential of thousands of slices made the snapshot generator
/// place each slice after all before it; past 2,000 elements the
/// differential is not generated against its base, and that is said.
#[test]
fn t2_a_very_large_differential_is_not_generated_and_says_so() {
    let mut diff = vec![json!({"id": "Patient.identifier", "path": "Patient.identifier", "slicing": {"discriminator": [{"type": "value", "path": "system"}], "rules": "open"}})];
    diff.extend((0..2_500).map(|i| json!({"id": format!("Patient.identifier:s{i}"), "path": "Patient.identifier", "sliceName": format!("s{i}"), "max": "1"})));
    let sd = json!({"resourceType": "StructureDefinition", "url": "http://x.test/sd", "name": "X", "status": "draft", "kind": "resource", "abstract": false,
        "type": "Patient", "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient", "derivation": "constraint", "differential": {"element": diff}});
    let found = common::issues_with(&[], &sd);
    assert!(found.iter().any(|i| i.message == "The differential has 2501 elements, more than careplan generates a snapshot for to check it against (2000); it was not checked against its base"), "{:#?}", &found[..found.len().min(5)]);
}

/// T3: each unquoted JSON value wrote its whole path before the reader's
/// list was asked whether it had room.
#[test]
fn t3_unquoted_values_past_the_list_are_only_counted() {
    let depth = 100;
    let mut json = String::from(r#"{"resourceType":"Basic","code":{"text":"x"},"#);
    for _ in 0..depth {
        json.push_str(r#""extension":[{"url":"http://x.test/e","#);
    }
    json.push_str(r#""x":["#);
    json.push_str(&vec!["a"; 200_000].join(","));
    json.push(']');
    for _ in 0..depth {
        json.push_str("}]");
    }
    json.push('}');
    let doc = careplan::parse::parse(json.as_bytes(), Some(Format::Json));
    let listed = doc.issues.iter().filter(|i| i.message.contains("has no quotes around the value")).count();
    assert!(listed > 100 && listed < 200_000, "{listed}");
    assert!(doc.issues.last().is_some_and(|i| i.message.contains("more issues")), "{:?}", doc.issues.last());
}
