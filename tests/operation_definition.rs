//! OperationDefinition rules (`src/validator/rules/operation_definition.rs`),
//! one test per rule, each on a small OperationDefinition made for it.

mod common;

use common::issues_with;

use careplan::issue::{Issue, Severity};
use serde_json::{json, Value};

const PROFILE: &str = "http://example.org/StructureDefinition/op-in";

/// Whether an issue of this severity and issue type sits at `expression`
/// with exactly this message.
fn has(issues: &[Issue], severity: Severity, code: &str, expression: &str, message: &str) -> bool {
    issues.iter().any(|i| i.severity == severity && i.code.as_str() == code && i.expression == expression && i.message == message)
}

fn mentions(issues: &[Issue], fragment: &str) -> bool {
    issues.iter().any(|i| i.message.contains(fragment))
}

/// A Parameters profile (with its snapshot written out) with one slice
/// `p1` of `parameter`: name fixed to `p1`, 1..1, a value of type
/// Reference(Patient profile `target`), no resource or parts.
fn profile() -> Value {
    json!({
        "resourceType": "StructureDefinition", "url": PROFILE, "version": "1.0", "name": "OpIn", "status": "draft",
        "kind": "resource", "abstract": false, "type": "Parameters", "derivation": "constraint",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Parameters",
        "snapshot": {"element": [
            {"id": "Parameters", "path": "Parameters", "min": 0, "max": "*"},
            {"id": "Parameters.parameter", "path": "Parameters.parameter", "min": 0, "max": "*",
             "slicing": {"discriminator": [{"type": "value", "path": "name"}], "rules": "open"}},
            {"id": "Parameters.parameter:p1", "path": "Parameters.parameter", "sliceName": "p1", "min": 1, "max": "1"},
            {"id": "Parameters.parameter:p1.name", "path": "Parameters.parameter.name", "min": 1, "max": "1",
             "type": [{"code": "string"}], "fixedString": "p1"},
            {"id": "Parameters.parameter:p1.value[x]", "path": "Parameters.parameter.value[x]", "min": 0, "max": "1",
             "type": [{"code": "Reference", "targetProfile": ["http://example.org/StructureDefinition/target"]}]},
            {"id": "Parameters.parameter:p1.resource", "path": "Parameters.parameter.resource", "min": 0, "max": "0",
             "type": [{"code": "Resource"}]},
            {"id": "Parameters.parameter:p1.part", "path": "Parameters.parameter.part", "min": 0, "max": "0"}
        ]}
    })
}

/// An operation with these parameters whose input profile is `input`.
fn operation(input: &str, parameters: Value) -> Value {
    json!({
        "resourceType": "OperationDefinition", "url": "http://example.org/OperationDefinition/op", "name": "Op",
        "status": "draft", "kind": "operation", "code": "op", "system": true, "type": false, "instance": false,
        "inputProfile": input, "parameter": parameters
    })
}

/// The parameter `p1` as the profile has it.
fn p1() -> Value {
    json!({"name": "p1", "use": "in", "min": 1, "max": "1", "type": "Reference",
           "targetProfile": ["http://example.org/StructureDefinition/target"]})
}

fn issues(op: &Value) -> Vec<Issue> {
    issues_with(&[profile()], op)
}

#[test]
fn a_parameter_list_that_matches_the_profile_passes() {
    let found = issues(&operation(PROFILE, json!([p1()])));
    assert!(!mentions(&found, "profile"), "{found:#?}");
}

#[test]
fn a_definition_whose_base_chain_comes_back_to_it_is_circular() {
    // OPDEF_CIRCULAR_DEFINITION
    let a = json!({"resourceType": "OperationDefinition", "url": "http://example.org/OperationDefinition/a", "name": "A",
        "status": "draft", "kind": "operation", "code": "a", "system": true, "type": false, "instance": false,
        "base": "http://example.org/OperationDefinition/b"});
    let b = json!({"resourceType": "OperationDefinition", "url": "http://example.org/OperationDefinition/b", "name": "B",
        "status": "draft", "kind": "operation", "code": "b", "system": true, "type": false, "instance": false,
        "base": "http://example.org/OperationDefinition/a"});
    let found = issues_with(&[a.clone(), b], &a);
    assert!(has(&found, Severity::Error, "unknown", "OperationDefinition",
        "The definition of the Operation is circular - it depends on itself (url = 'http://example.org/OperationDefinition/a', from 'http://example.org/OperationDefinition/b')"), "{found:#?}");
}

#[test]
fn an_input_profile_that_cannot_be_found_is_an_error() {
    // OPDEF_PROFILE_NOT_FOUND
    let found = issues(&operation("http://example.org/StructureDefinition/nowhere", json!([p1()])));
    assert!(has(&found, Severity::Error, "unknown", "OperationDefinition.inputProfile",
        "The 'in' profile 'http://example.org/StructureDefinition/nowhere' can not be resolved"), "{found:#?}");
}

#[test]
fn an_input_profile_on_another_resource_is_an_error() {
    // OPDEF_PROFILE_NOT_PARAMETERS
    let found = issues(&operation("http://hl7.org/fhir/StructureDefinition/Patient", json!([p1()])));
    assert!(has(&found, Severity::Error, "invalid", "OperationDefinition.inputProfile",
        "The 'in' profile 'http://hl7.org/fhir/StructureDefinition/Patient' is not a profile on the 'Parameters' resource"), "{found:#?}");
}

#[test]
fn a_profile_parameter_missing_from_the_operation_is_a_warning() {
    // OPDEF_PROFILE_NOT_IN_PARAM
    let found = issues(&operation(PROFILE, json!([])));
    assert!(has(&found, Severity::Warning, "unknown", "OperationDefinition.inputProfile",
        "The 'in' profile http://example.org/StructureDefinition/op-in|1.0 defines a parameter 'p1' but this is not in the parameters list in the operation definition"), "{found:#?}");
}

#[test]
fn an_operation_parameter_missing_from_the_profile_is_a_warning() {
    // OPDEF_PROFILE_NOT_IN_PROFILE
    let found = issues(&operation(PROFILE, json!([p1(), {"name": "extra", "use": "in", "min": 0, "max": "1", "type": "string"}])));
    assert!(has(&found, Severity::Warning, "unknown", "OperationDefinition.inputProfile.parameter[1]",
        "The 'in' profile does not have a parameter 'extra' but it is in the parameters list in the operation definition"), "{found:#?}");
}

#[test]
fn a_cardinality_that_differs_from_the_profile_is_an_error() {
    // OPDEF_PROFILE_NOT_VALUE_MISMATCH
    let mut p = p1();
    p["min"] = json!(0);
    p["max"] = json!("*");
    let found = issues(&operation(PROFILE, json!([p])));
    assert!(has(&found, Severity::Error, "unknown", "OperationDefinition.inputProfile.parameter[0]",
        "The parameter 'p1' has a value for 'min' of '1' in the 'in' profile 1 that is different to '0' which is the value in the parameter definition in the operation definition"), "{found:#?}");
    assert!(has(&found, Severity::Error, "unknown", "OperationDefinition.inputProfile.parameter[0]",
        "The parameter 'p1' has a value for 'max' of '1' in the 'in' profile 1 that is different to '*' which is the value in the parameter definition in the operation definition"), "{found:#?}");
}

#[test]
fn a_type_the_profile_allows_but_the_operation_does_not_is_an_error() {
    // OPDEF_PROFILE_TYPE_NOT_IN_PARAMS
    let mut p = p1();
    p["type"] = json!("canonical");
    let found = issues(&operation(PROFILE, json!([p])));
    assert!(has(&found, Severity::Error, "invalid", "OperationDefinition.inputProfile.parameter[0]",
        "The type 'Reference' is allowed for the parameter 'p1' in the 'in' profile http://example.org/StructureDefinition/op-in|1.0 but is not in the list of allowed types for the parameter in the operation definition: canonical"), "{found:#?}");
}

#[test]
fn a_type_the_operation_allows_but_the_profile_does_not_is_an_error() {
    // OPDEF_PROFILE_TYPE_NOT_IN_PROFILE
    let mut p = p1();
    p["type"] = json!("canonical");
    let found = issues(&operation(PROFILE, json!([p])));
    assert!(has(&found, Severity::Error, "invalid", "OperationDefinition.inputProfile.parameter[0]",
        "The type 'canonical' is not allowed for the parameter 'p1' in the 'in' profile http://example.org/StructureDefinition/op-in|1.0 but is in the list of allowed types for the parameter in the operation definition (allowed types = Reference)"), "{found:#?}");
}

#[test]
fn a_target_profile_only_the_operation_names_is_an_error() {
    // OPDEF_PROFILE_PROFILE_NOT_IN_PROFILE
    let mut p = p1();
    p["targetProfile"] = json!(["http://example.org/StructureDefinition/target", "http://example.org/StructureDefinition/other"]);
    let found = issues(&operation(PROFILE, json!([p])));
    assert!(has(&found, Severity::Error, "invalid", "OperationDefinition.inputProfile.parameter[0]",
        "The target profile 'http://example.org/StructureDefinition/other' is not allowed for the parameter 'p1' in the 'in' profile but is in the list of target profiles for the parameter in the operation definition (profile target profiles = http://example.org/StructureDefinition/target)"), "{found:#?}");
}

#[test]
fn a_target_profile_only_the_profile_names_is_an_error() {
    // OPDEF_PROFILE_PROFILE_NOT_IN_PARAMS
    let mut p = p1();
    p.as_object_mut().unwrap().remove("targetProfile");
    let found = issues(&operation(PROFILE, json!([p])));
    assert!(has(&found, Severity::Error, "invalid", "OperationDefinition.inputProfile.parameter[0]",
        "The target profile 'http://example.org/StructureDefinition/target' is allowed for the parameter 'p1' in the 'in' profile http://example.org/StructureDefinition/op-in|1.0 but is not in the list of target profiles for the parameter in the operation definition: (none)"), "{found:#?}");
}

#[test]
fn a_profile_slice_without_a_name_element_is_an_error() {
    // OPDEF_PROFILE_NO_SLICE
    let mut prof = profile();
    let elements = prof["snapshot"]["element"].as_array_mut().unwrap();
    elements.retain(|e| e["id"] != "Parameters.parameter:p1.name");
    let found = issues_with(&[prof], &operation(PROFILE, json!([p1()])));
    assert!(has(&found, Severity::Error, "unknown", "OperationDefinition.inputProfile",
        "The slice 'p1' in the in profile does not have a sub-slice for the parameter name"), "{found:#?}");
}
