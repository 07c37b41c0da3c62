//! The reference readers' and narrative rules that careplan checks in the
//! validator's walk (the readers' own are tested in their unit tests): one
//! test per rule, each on a small input made for it.

mod common;

use careplan::issue::{Issue, IssueCode, Severity};
use careplan::tree::Format;

fn issues(text: &str, format: Format) -> Vec<Issue> {
    common::validator().validate_bytes(text.as_bytes(), Some(format))
}

fn find<'a>(issues: &'a [Issue], message: &str) -> &'a Issue {
    issues.iter().find(|i| i.message == message).unwrap_or_else(|| panic!("no issue {message:?} in {issues:#?}"))
}

#[test]
fn error_parsing_json_the_primitive_value_must_be_a_boolean() {
    let got = issues(r#"{"resourceType":"Patient","active":"true"}"#, Format::Json);
    let i = find(&got, "Error parsing JSON: the primitive value must be a boolean");
    assert_eq!((i.severity, i.code, i.expression.as_str()), (Severity::Error, IssueCode::Invalid, "Patient.active"));
}

#[test]
fn error_parsing_json_the_primitive_value_must_be_a_number() {
    let got = issues(r#"{"resourceType":"Patient","multipleBirthInteger":"2"}"#, Format::Json);
    let i = find(&got, "Error parsing JSON: the primitive value must be a number");
    assert_eq!((i.severity, i.code, i.expression.as_str()), (Severity::Error, IssueCode::Invalid, "Patient.multipleBirth.ofType(integer)"));
}

#[test]
fn error_parsing_json_the_primitive_value_must_be_a_string() {
    let got = issues(r#"{"resourceType":"Patient","gender":true}"#, Format::Json);
    let i = find(&got, "Error parsing JSON: the primitive value must be a string");
    assert_eq!((i.severity, i.code, i.expression.as_str()), (Severity::Error, IssueCode::Invalid, "Patient.gender"));
}

#[test]
fn this_does_not_appear_to_be_a_fhir_resource_unknown_name() {
    let got = issues(r#"{"resourceType":"Patientx","id":"a"}"#, Format::Json);
    let i = find(&got, "This content cannot be parsed (unknown or unrecognized resource name 'Patientx')");
    assert_eq!((i.severity, i.code, i.expression.as_str()), (Severity::Fatal, IssueCode::Structure, "Patientx"));
}

#[test]
fn this_does_not_appear_to_be_a_fhir_resource_unknown_namespacename_in_fhir_namespace() {
    let got = issues(r#"<Patientx xmlns="http://hl7.org/fhir"><id value="a"/></Patientx>"#, Format::Xml);
    let i = find(&got, "This content cannot be parsed (unknown or unrecognized XML Root element namespace/name 'http://hl7.org/fhir::Patientx')");
    assert_eq!((i.severity, i.code, i.expression.as_str()), (Severity::Fatal, IssueCode::Structure, "Patientx"));
}

#[test]
fn contained_resource_does_not_appear_to_be_a_fhir_resource_unknown_name() {
    let got = issues(r#"{"resourceType":"Patient","contained":[{"resourceType":"Thing","id":"t"}]}"#, Format::Json);
    let i = find(&got, "Contained resource does not appear to be a FHIR resource (unknown name 'Thing')");
    assert_eq!((i.severity, i.code, i.expression.as_str()), (Severity::Fatal, IssueCode::Invalid, "Patient.contained[0]"));
}
