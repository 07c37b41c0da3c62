//! A profile's compliesWithProfile claims (the reference's CompliesWithChecker,
//! raised through the StructureDefinition rules).

mod common;

use common::issues_with;

use careplan::issue::{IssueCode, Severity};
use serde_json::json;

#[test]
fn profile_complies_with_wrong_type() {
    let sd = json!({
        "resourceType": "StructureDefinition", "id": "p", "url": "http://example.org/StructureDefinition/p", "name": "P",
        "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-compliesWithProfile",
                       "valueCanonical": "http://hl7.org/fhir/StructureDefinition/bmi"}],
        "status": "draft", "kind": "resource", "abstract": false, "type": "Patient",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient", "derivation": "constraint",
        "differential": {"element": [{"id": "Patient", "path": "Patient"}]}
    });
    let found = issues_with(&[], &sd);
    let message = "This profile does not comply with claimed profile 'http://hl7.org/fhir/StructureDefinition/bmi' because: The type found in the claimed profile is 'Patient' not 'Observation'";
    assert!(
        found.iter().any(|i| i.severity == Severity::Error && i.code == IssueCode::Invalid && i.expression == "StructureDefinition" && i.message == message),
        "{found:#?}"
    );
}

#[test]
fn a_claim_on_a_profile_of_the_same_type_is_not_refused_for_its_type() {
    let sd = json!({
        "resourceType": "StructureDefinition", "id": "p", "url": "http://example.org/StructureDefinition/p", "name": "P",
        "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-compliesWithProfile",
                       "valueCanonical": "http://hl7.org/fhir/StructureDefinition/vitalsigns"}],
        "status": "draft", "kind": "resource", "abstract": false, "type": "Observation",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Observation", "derivation": "constraint",
        "differential": {"element": [{"id": "Observation", "path": "Observation"}]}
    });
    let found = issues_with(&[], &sd);
    assert!(found.iter().all(|i| !i.message.contains("does not comply with claimed profile")), "{found:#?}");
}
