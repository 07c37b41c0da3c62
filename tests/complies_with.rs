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
    assert!(found.iter().all(|i| !i.message.contains("The type found in the claimed profile")), "{found:#?}");
}

/// A Patient profile (differential) with `elements` after the root, claiming `claims` if given.
fn patient_profile(id: &str, claims: Option<&str>, elements: serde_json::Value) -> serde_json::Value {
    let mut list = vec![json!({"id": "Patient", "path": "Patient"})];
    list.extend(elements.as_array().unwrap().iter().cloned());
    let mut sd = json!({
        "resourceType": "StructureDefinition", "id": id, "url": format!("http://example.org/StructureDefinition/{id}"), "name": id.to_uppercase(),
        "status": "draft", "kind": "resource", "abstract": false, "type": "Patient",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient", "derivation": "constraint",
        "differential": {"element": list}
    });
    if let Some(c) = claims {
        sd["extension"] = json!([{"url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-compliesWithProfile", "valueCanonical": c}]);
    }
    sd
}

/// The claimed profile: identifiers sliced (closed, ordered, by system value), at least one name.
fn authority() -> serde_json::Value {
    patient_profile("authority", None, json!([
        {"id": "Patient.identifier", "path": "Patient.identifier",
         "slicing": {"discriminator": [{"type": "value", "path": "system"}], "ordered": true, "rules": "closed"}},
        {"id": "Patient.identifier:nhs", "path": "Patient.identifier", "sliceName": "nhs", "min": 0, "max": "1"},
        {"id": "Patient.identifier:nhs.system", "path": "Patient.identifier.system", "fixedUri": "https://fhir.nhs.uk/Id/nhs-number"},
        {"id": "Patient.name", "path": "Patient.name", "min": 1},
        {"id": "Patient.gender", "path": "Patient.gender", "binding": {"strength": "required", "valueSet": "http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1"}}
    ]))
}

/// The one refusal of a claim on the authority, with its reasons.
fn refusal(claimee: serde_json::Value) -> String {
    let found = issues_with(&[authority()], &claimee);
    let prefix = "This profile does not comply with claimed profile 'http://example.org/StructureDefinition/authority' because: ";
    let issue = found
        .iter()
        .find(|i| i.severity == Severity::Error && i.code == IssueCode::Invalid && i.expression == "StructureDefinition" && i.message.starts_with(prefix))
        .unwrap_or_else(|| panic!("no refusal in {found:#?}"));
    issue.message[prefix.len()..].to_owned()
}

fn sliced(rules: &str, ordered: bool, discriminator: &str) -> serde_json::Value {
    json!([
        {"id": "Patient.identifier", "path": "Patient.identifier",
         "slicing": {"discriminator": [{"type": discriminator, "path": "system"}], "ordered": ordered, "rules": rules}},
        {"id": "Patient.identifier:nhs", "path": "Patient.identifier", "sliceName": "nhs", "min": 0, "max": "1"},
        {"id": "Patient.identifier:nhs.system", "path": "Patient.identifier.system", "fixedUri": "https://fhir.nhs.uk/Id/nhs-number"},
        {"id": "Patient.name", "path": "Patient.name", "min": 1},
        {"id": "Patient.gender", "path": "Patient.gender", "binding": {"strength": "required", "valueSet": "http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1"}}
    ])
}

const CLAIM: &str = "http://example.org/StructureDefinition/authority";

#[test]
fn a_profile_that_keeps_every_rule_complies() {
    let found = issues_with(&[authority()], &patient_profile("claimee", Some(CLAIM), sliced("closed", true, "value")));
    assert!(found.iter().all(|i| !i.message.contains("comply") && !i.message.contains("complies")), "{found:#?}");
}

#[test]
fn profile_complies_with_not_valid() {
    let why = refusal(patient_profile("claimee", Some(CLAIM), json!([])));
    assert!(why.contains("The min value of '0' on the path Patient.name does not comply with the value '1' from the claimed profile"), "{why}");
}

#[test]
fn profile_complies_with_slicing_unsliced() {
    let why = refusal(patient_profile("claimee", Some(CLAIM), json!([{"id": "Patient.name", "path": "Patient.name", "min": 1}])));
    // Closed slicing in the claimed profile: the unsliced element does not keep it.
    assert!(why.contains("Mismatch in slicing at Patient.identifier: no slicing found when the claimed profile has slicing"), "{why}");
}

#[test]
fn profile_complies_with_slicing_rules() {
    let why = refusal(patient_profile("claimee", Some(CLAIM), sliced("open", true, "value")));
    assert_eq!(why, "Mismatch in slicing rules at Patient.identifier: 'open' when the claimed profile has 'closed'");
}

#[test]
fn profile_complies_with_slicing_order() {
    let why = refusal(patient_profile("claimee", Some(CLAIM), sliced("closed", false, "value")));
    assert_eq!(why, "Mismatch in slicing rules at Patient.identifier: not ordered when the claimed profile has ordered");
}

#[test]
fn profile_complies_with_slicing_discriminator() {
    let why = refusal(patient_profile("claimee", Some(CLAIM), sliced("closed", true, "pattern")));
    assert_eq!(why, "Mismatch in slicing rules at Patient.identifier: the discriminator 'Patient.identifier:value' was not found");
}

#[test]
fn profile_complies_with_bad_type_and_missing_element() {
    // vitalsigns allows only some value types and carries vs-2; a bare Observation profile keeps neither.
    let sd = json!({
        "resourceType": "StructureDefinition", "id": "o", "url": "http://example.org/StructureDefinition/o", "name": "O",
        "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-compliesWithProfile",
                       "valueCanonical": "http://hl7.org/fhir/StructureDefinition/vitalsigns"}],
        "status": "draft", "kind": "resource", "abstract": false, "type": "Observation",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Observation", "derivation": "constraint",
        "differential": {"element": [{"id": "Observation", "path": "Observation"}]}
    });
    let found = issues_with(&[], &sd);
    let issue = found.iter().find(|i| i.severity == Severity::Error && i.message.starts_with("This profile does not comply with claimed profile 'http://hl7.org/fhir/StructureDefinition/vitalsigns' because: ")).expect("refused");
    assert!(issue.message.contains("The type 'Timing' is not allowed in the claimed profile"), "{}", issue.message);
    assert!(issue.message.contains("is defined in the claimed profile, but missing"), "{}", issue.message);
    assert!(issue.message.contains("The binding.strength value of 'example' on the path Observation.code does not comply with the value 'extensible' from the claimed profile"), "{}", issue.message);
}

#[test]
fn profile_complies_with_no_vs() {
    let claimee = patient_profile("claimee", Some(CLAIM), json!([
        {"id": "Patient.identifier", "path": "Patient.identifier",
         "slicing": {"discriminator": [{"type": "value", "path": "system"}], "ordered": true, "rules": "closed"}},
        {"id": "Patient.identifier:nhs", "path": "Patient.identifier", "sliceName": "nhs", "min": 0, "max": "1"},
        {"id": "Patient.identifier:nhs.system", "path": "Patient.identifier.system", "fixedUri": "https://fhir.nhs.uk/Id/nhs-number"},
        {"id": "Patient.name", "path": "Patient.name", "min": 1},
        {"id": "Patient.gender", "path": "Patient.gender", "binding": {"strength": "required", "valueSet": "http://example.org/ValueSet/nowhere"}}
    ]));
    let found = issues_with(&[authority()], &claimee);
    let message = "The validator cannot confirm that this profile complies with the claimed profile 'http://example.org/StructureDefinition/authority' because: The ValueSet 'http://example.org/ValueSet/nowhere' cannot be found so the claim cannot be checked";
    assert!(found.iter().any(|i| i.severity == Severity::Warning && i.code == IssueCode::Invalid && i.message == message), "{found:#?}");
}

#[test]
fn profile_complies_with_missing() {
    // A snapshot that leaves out the elements the claimed profile has.
    let mut claimee = patient_profile("claimee", Some(CLAIM), json!([]));
    claimee["snapshot"] = json!({"element": [{"id": "Patient", "path": "Patient", "min": 0, "max": "*"}]});
    let why = refusal(claimee);
    assert!(why.contains("There is no profile entry for the element Patient.name that is found in the claimed profile"), "{why}");
}
