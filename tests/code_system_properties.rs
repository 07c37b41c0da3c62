//! A CodeSystem property's codes against the value set its
//! `codesystem-property-valueset` extension names
//! (`CODESYSTEM_PROPERTY_BAD_PROPERTY_CODE`, `src/validator/rules/code_system.rs`).

mod common;

use careplan::issue::{IssueCode, Severity};
use serde_json::{json, Value};

fn code_system(value: &str) -> Value {
    json!({
        "resourceType": "CodeSystem", "url": "http://example.org/CodeSystem/animals", "version": "1", "name": "Animals",
        "status": "draft", "content": "complete", "caseSensitive": true,
        "property": [{"code": "gender", "type": "code", "extension": [
            {"url": "http://hl7.org/fhir/StructureDefinition/codesystem-property-valueset", "valueCanonical": "http://hl7.org/fhir/ValueSet/administrative-gender"}]}],
        "concept": [{"code": "cat", "display": "Cat", "property": [{"code": "gender", "valueCode": value}]}]
    })
}

#[test]
fn codesystem_property_bad_property_code() {
    let found = common::issues_with(&[], &code_system("banana"));
    let hits: Vec<_> = found.iter().filter(|i| i.message.starts_with("The code 'banana' is not a valid code in the value set")).collect();
    assert_eq!(hits.len(), 1, "{found:#?}");
    assert_eq!(hits[0].message, "The code 'banana' is not a valid code in the value set 'http://hl7.org/fhir/ValueSet/administrative-gender'");
    assert_eq!((hits[0].severity, hits[0].code, hits[0].expression.as_str()), (Severity::Error, IssueCode::Invalid, "CodeSystem.concept[0].property[0]"));
}

#[test]
fn a_property_code_in_its_value_set_passes() {
    let found = common::issues_with(&[], &code_system("female"));
    assert!(!found.iter().any(|i| i.message.contains("is not a valid code")), "{found:#?}");
}

#[test]
fn codesystem_cs_supp_too_many_codes() {
    // A supplement of a loaded code system with more concepts than the reference checks (1000).
    let concepts: Vec<Value> = (0..1001).map(|i| json!({"code": format!("c{i}"), "designation": [{"value": format!("C{i}")}]})).collect();
    let supplement = json!({
        "resourceType": "CodeSystem", "url": "http://example.org/CodeSystem/gender-supplement", "version": "1", "name": "GenderSupplement",
        "status": "draft", "content": "supplement", "supplements": "http://hl7.org/fhir/administrative-gender", "concept": concepts
    });
    let found = common::issues_with(&[], &supplement);
    let hits: Vec<_> = found.iter().filter(|i| i.message.starts_with("The supplement has too many concepts")).collect();
    assert_eq!(hits.len(), 1, "{found:#?}");
    assert_eq!(
        hits[0].message,
        "The supplement has too many concepts to validate (1001, more than the limit of 1000), so they have not been checked against the base CodeSystem"
    );
    assert_eq!((hits[0].severity, hits[0].code, hits[0].expression.as_str()), (Severity::Information, IssueCode::BusinessRule, "CodeSystem"));
    // Not checked one by one: c0 is no code of administrative-gender, and nothing says so.
    assert!(!found.iter().any(|i| i.message.contains("is not declared in the base CodeSystem")), "{found:#?}");
}
