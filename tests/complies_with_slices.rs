//! A compliesWithProfile claim on a sliced element: the claimee's slices
//! matched to the claimed profile's by the values its discriminators give
//! (`src/validator/rules/complies_with.rs`).

mod common;

use common::issues_with;

use careplan::issue::{Issue, IssueCode, Severity};
use serde_json::{json, Value};

const CLAIM: &str = "http://example.org/StructureDefinition/authority";
const PREFIX_ERROR: &str = "This profile does not comply with claimed profile 'http://example.org/StructureDefinition/authority' because: ";
const PREFIX_WARNING: &str = "The validator cannot confirm that this profile complies with the claimed profile 'http://example.org/StructureDefinition/authority' because: ";

/// A Patient profile whose identifiers are sliced (closed, by the value of
/// `system`) into one slice, `name`, with `system` constrained by `system`.
fn profile(id: &str, claims: bool, name: &str, system: Value) -> Value {
    let mut system_element = json!({"id": format!("Patient.identifier:{name}.system"), "path": "Patient.identifier.system"});
    for (k, v) in system.as_object().unwrap() {
        system_element[k] = v.clone();
    }
    let mut sd = json!({
        "resourceType": "StructureDefinition", "id": id, "url": format!("http://example.org/StructureDefinition/{id}"), "name": id.to_uppercase(),
        "status": "draft", "kind": "resource", "abstract": false, "type": "Patient",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient", "derivation": "constraint",
        "differential": {"element": [
            {"id": "Patient", "path": "Patient"},
            {"id": "Patient.identifier", "path": "Patient.identifier",
             "slicing": {"discriminator": [{"type": "value", "path": "system"}], "ordered": false, "rules": "closed"}},
            {"id": format!("Patient.identifier:{name}"), "path": "Patient.identifier", "sliceName": name, "min": 0, "max": "1"},
            system_element
        ]}
    });
    if claims {
        sd["extension"] = json!([{"url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-compliesWithProfile", "valueCanonical": CLAIM}]);
    }
    sd
}

fn snomed_findings() -> Value {
    json!({"resourceType": "ValueSet", "url": "http://example.org/ValueSet/findings", "version": "1", "name": "Findings", "status": "draft",
        "compose": {"include": [{"system": "http://snomed.info/sct", "filter": [{"property": "concept", "op": "is-a", "value": "404684003"}]}]}})
}

fn claim(authority_system: Value, name: &str, claimee_system: Value) -> Vec<Issue> {
    issues_with(&[profile("authority", false, "nhs", authority_system), snomed_findings()], &profile("claimee", true, name, claimee_system))
}

/// The reasons of the one refusal (error) or doubt (warning) of the claim.
fn reasons(found: &[Issue], severity: Severity) -> String {
    let prefix = if severity == Severity::Error { PREFIX_ERROR } else { PREFIX_WARNING };
    let issue = found
        .iter()
        .find(|i| i.severity == severity && i.code == IssueCode::Invalid && i.expression == "StructureDefinition" && i.message.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {severity:?} about the claim in {found:#?}"));
    issue.message[prefix.len()..].to_owned()
}

const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";

#[test]
fn slices_with_the_same_discriminator_values_comply() {
    let found = claim(json!({"fixedUri": NHS}), "nhsNumber", json!({"fixedUri": NHS}));
    assert!(!found.iter().any(|i| i.message.contains("comply with claimed") || i.message.contains("complies with the claimed")), "{found:#?}");
}

#[test]
fn profile_complies_with_slicing_no_slice() {
    let why = reasons(&claim(json!({"fixedUri": NHS}), "other", json!({"fixedUri": "http://example.org/other"})), Severity::Error);
    assert!(
        why.contains(&format!("Mismatch in slicing at Patient.identifier:nhs: no slice found for the discriminator value:system with the values UriType[{NHS}]")),
        "{why}"
    );
}

#[test]
fn profile_complies_with_slicing_extra_slice() {
    let why = reasons(&claim(json!({"fixedUri": NHS}), "other", json!({"fixedUri": "http://example.org/other"})), Severity::Error);
    assert!(why.contains("Mismatch in slicing at Patient.identifier: extra slice 'other' not found in the claimed profile"), "{why}");
}

#[test]
fn profile_complies_with_slicing_no_value() {
    let why = reasons(&claim(json!({"min": 1}), "nhs", json!({"min": 1})), Severity::Error);
    assert!(why.contains("No fixed or pattern value or required binding was found, so the claim cannot be checked"), "{why}");
}

#[test]
fn profile_complies_with_slicing_no_expand() {
    let bound = json!({"binding": {"strength": "required", "valueSet": "http://example.org/ValueSet/findings"}});
    let why = reasons(&claim(bound.clone(), "nhs", bound), Severity::Warning);
    assert!(
        why.contains("The ValueSet 'http://example.org/ValueSet/findings' cannot be expanded so the claim cannot be checked ('the codes of http://snomed.info/sct cannot be listed without a terminology server')"),
        "{why}"
    );
}
