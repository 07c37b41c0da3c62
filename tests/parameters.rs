//! Parameters: a parameter named like one of the core operations'
//! parameters, against what that parameter carries there.

mod common;

use common::issues_with;

use careplan::issue::{Issue, IssueCode, Severity};
use serde_json::{json, Value};

fn parameters(parameter: Value) -> Vec<Issue> {
    issues_with(&[], &json!({"resourceType": "Parameters", "parameter": [parameter]}))
}

fn the_one(issues: &[Issue], starts: &str) -> Issue {
    let found: Vec<&Issue> = issues.iter().filter(|i| i.message.starts_with(starts)).collect();
    assert_eq!(found.len(), 1, "{issues:#?}");
    found[0].clone()
}

#[test]
fn a_core_value_parameter_without_a_value() {
    // PARAMETERS_STD_NO_VALUE
    let issues = parameters(json!({"name": "url", "part": [{"name": "x", "valueString": "y"}]}));
    let i = the_one(&issues, "The parameter 'url' has the same name");
    assert_eq!((i.severity, i.code, i.expression.as_str()), (Severity::Information, IssueCode::BusinessRule, "Parameters.parameter[0]"));
    assert_eq!(
        i.message,
        "The parameter 'url' has the same name as a parameter for at least one operation in the core specification. In the base specification, the parameter must have a value, but this parameter does not. Check that this is correct"
    );
    assert!(!parameters(json!({"name": "url", "valueUri": "http://example.org"})).iter().any(|i| i.message.contains("same name as a parameter")));
}

#[test]
fn a_core_resource_parameter_with_a_value() {
    // PARAMETERS_STD_NO_RESOURCE
    let issues = parameters(json!({"name": "valueSet", "valueUri": "http://example.org/ValueSet/x"}));
    let i = the_one(&issues, "The parameter 'valueSet' has the same name");
    assert_eq!((i.severity, i.code, i.expression.as_str()), (Severity::Information, IssueCode::BusinessRule, "Parameters.parameter[0]"));
    assert_eq!(
        i.message,
        "The parameter 'valueSet' has the same name as a parameter for at least one operation in the core specification. In the base specification, the parameter must have a resource, but this parameter instead has a value of type uri. Check that this is correct"
    );
    let vs = json!({"name": "valueSet", "resource": {"resourceType": "ValueSet", "status": "draft"}});
    assert!(!parameters(vs).iter().any(|i| i.message.contains("same name as a parameter")));
}

#[test]
fn a_core_parameter_of_another_type() {
    // PARAMETERS_STD_WRONG_TYPE_other and PARAMETERS_STD_RES_WRONG_TYPE_one
    let issues = parameters(json!({"name": "code", "valueInteger": 3}));
    let i = the_one(&issues, "The parameter 'code' has the same name");
    assert_eq!(i.severity, Severity::Information);
    assert!(i.message.contains("the parameter has the types code, string or Coding, but this parameter instead has a value of type integer"), "{i:?}");
    let issues = parameters(json!({"name": "valueSet", "resource": {"resourceType": "CodeSystem", "status": "draft", "content": "complete"}}));
    let i = the_one(&issues, "The parameter 'valueSet' has the same name");
    assert!(i.message.contains("the parameter has the resource type or ValueSet, but this parameter instead has a resource of type CodeSystem"), "{i:?}");
}
