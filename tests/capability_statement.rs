//! CapabilityStatement rules (`src/validator/rules/capability_statement.rs`).

mod common;

use common::issues_with;

use careplan::issue::Severity;
use serde_json::json;

#[test]
fn a_search_parameter_declared_with_another_type_than_its_definition_is_an_error() {
    // CapabalityStatement_CS_SP_WrongType
    let cs = json!({"resourceType": "CapabilityStatement", "status": "draft", "date": "2024-01-01", "kind": "instance",
        "fhirVersion": "4.0.1", "format": ["json"], "implementation": {"description": "test"},
        "rest": [{"mode": "server", "resource": [{"type": "Patient", "searchParam": [
            {"name": "name", "definition": "http://hl7.org/fhir/SearchParameter/Patient-name", "type": "string"},
            {"name": "birthdate", "definition": "http://hl7.org/fhir/SearchParameter/individual-birthdate", "type": "token"}
        ]}]}]});
    let found = issues_with(&[], &cs);
    let wrong: Vec<_> = found.iter().filter(|i| i.message.starts_with("Type mismatch")).collect();
    assert_eq!(wrong.len(), 1, "{found:#?}");
    let i = wrong[0];
    assert_eq!(i.severity, Severity::Error);
    assert_eq!(i.code.as_str(), "invalid");
    assert_eq!(i.expression, "CapabilityStatement.rest[0].resource[0].searchParam[1]");
    assert_eq!(i.message, "Type mismatch - SearchParameter 'http://hl7.org/fhir/SearchParameter/individual-birthdate|4.0.1' type is date, but type here is token");
}
