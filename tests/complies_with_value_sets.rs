//! A compliesWithProfile claim where the two profiles bind an element to
//! different value sets: both expanded from the loaded definitions and
//! compared (`src/validator/rules/complies_with.rs`).

mod common;

use common::issues_with;

use careplan::issue::{Issue, IssueCode, Severity};
use serde_json::{json, Value};

const AUTHORITY: &str = "http://example.org/StructureDefinition/authority";

fn patient_profile(id: &str, claims: Option<&str>, gender_value_set: &str) -> Value {
    let mut sd = json!({
        "resourceType": "StructureDefinition", "id": id, "url": format!("http://example.org/StructureDefinition/{id}"), "name": id.to_uppercase(),
        "status": "draft", "kind": "resource", "abstract": false, "type": "Patient",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient", "derivation": "constraint",
        "differential": {"element": [
            {"id": "Patient", "path": "Patient"},
            {"id": "Patient.gender", "path": "Patient.gender", "binding": {"strength": "required", "valueSet": gender_value_set}}
        ]}
    });
    if let Some(c) = claims {
        sd["extension"] = json!([{"url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-compliesWithProfile", "valueCanonical": c}]);
    }
    sd
}

/// Two of administrative-gender's four codes.
fn two_genders() -> Value {
    json!({"resourceType": "ValueSet", "url": "http://example.org/ValueSet/two", "version": "1", "name": "Two", "status": "draft",
        "compose": {"include": [{"system": "http://hl7.org/fhir/administrative-gender", "concept": [{"code": "male"}, {"code": "female"}]}]}})
}

/// Every SNOMED CT concept below one: not enumerable without a server.
fn snomed_findings() -> Value {
    json!({"resourceType": "ValueSet", "url": "http://example.org/ValueSet/findings", "version": "1", "name": "Findings", "status": "draft",
        "compose": {"include": [{"system": "http://snomed.info/sct", "filter": [{"property": "concept", "op": "is-a", "value": "404684003"}]}]}})
}

fn claim(claimee_value_set: &str) -> Vec<Issue> {
    let authority = patient_profile("authority", None, "http://example.org/ValueSet/two");
    issues_with(&[authority, two_genders(), snomed_findings()], &patient_profile("claimee", Some(AUTHORITY), claimee_value_set))
}

#[test]
fn profile_complies_with_no_vs_no() {
    let found = claim("http://hl7.org/fhir/ValueSet/administrative-gender");
    let message = "This profile does not comply with claimed profile 'http://example.org/StructureDefinition/authority' because: The valueSet http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1 includes codes not allowed in the claimed profile which has value set http://example.org/ValueSet/two|1 (codes: other, unknown)";
    assert!(
        found.iter().any(|i| i.severity == Severity::Error && i.code == IssueCode::Invalid && i.expression == "StructureDefinition" && i.message == message),
        "{found:#?}"
    );
}

#[test]
fn profile_complies_with_no_vs_exp() {
    let found = claim("http://example.org/ValueSet/findings");
    let message = "The validator cannot confirm that this profile complies with the claimed profile 'http://example.org/StructureDefinition/authority' because: The ValueSet 'http://example.org/ValueSet/findings|1' cannot be expanded so the claim cannot be checked: the codes of http://snomed.info/sct cannot be listed without a terminology server";
    assert!(
        found.iter().any(|i| i.severity == Severity::Warning && i.code == IssueCode::Invalid && i.expression == "StructureDefinition" && i.message == message),
        "{found:#?}"
    );
}

#[test]
fn a_narrower_value_set_complies() {
    let found = issues_with(
        &[patient_profile("authority", None, "http://hl7.org/fhir/ValueSet/administrative-gender"), two_genders()],
        &patient_profile("claimee", Some(AUTHORITY), "http://example.org/ValueSet/two"),
    );
    assert!(!found.iter().any(|i| i.message.contains("comply with claimed profile") || i.message.contains("complies with the claimed")), "{found:#?}");
}
