//! The FHIRPath engine's own rules (the reference's FHIRPathEngine keys):
//! the static check of a profile's invariants against the definitions
//! (`src/fhirpath/check.rs`, raised through the StructureDefinition rules),
//! and the engine's run-time errors, as they reach an instance's invariant.
//! One test per rule, each on a small profile made for it.

mod common;

use common::issues_with;

use careplan::issue::{Issue, IssueCode, Severity};
use serde_json::{json, Value};

/// A profile on Patient whose snapshot root carries the invariant `p-1` with `expression`.
fn profile_with(expression: &str) -> Value {
    json!({
        "resourceType": "StructureDefinition", "id": "p", "url": "http://example.org/StructureDefinition/p", "name": "P",
        "status": "draft", "kind": "resource", "abstract": false, "type": "Patient",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient", "derivation": "constraint",
        "differential": {"element": [{"id": "Patient", "path": "Patient"}]},
        "snapshot": {"element": [
            {"id": "Patient", "path": "Patient", "min": 0, "max": "*",
             "constraint": [{"key": "p-1", "severity": "error", "human": "A rule", "expression": expression}]}
        ]}
    })
}

const AT: &str = "StructureDefinition.snapshot.element[0].constraint[0]";

fn check(expression: &str) -> Vec<Issue> {
    issues_with(&[], &profile_with(expression))
}

/// The one issue at the invariant, with its severity and code.
fn one_at(issues: &[Issue], severity: Severity, code: IssueCode, message: &str) {
    let found: Vec<&Issue> = issues.iter().filter(|i| i.expression == AT).collect();
    assert!(found.iter().any(|i| i.severity == severity && i.code == code && i.message == message), "wanted {severity:?} {code:?} '{message}', found {found:#?}");
}

fn error(expression: &str, problem: &str) {
    let found = check(expression);
    one_at(&found, Severity::Error, IssueCode::Invalid, &format!("Error in constraint 'p-1' with expression '{expression}': {problem}"));
}

fn warning(expression: &str, message: &str) {
    let found = check(expression);
    one_at(&found, Severity::Warning, IssueCode::BusinessRule, &format!("p-1: {message}"));
}

#[test]
fn a_valid_invariant_raises_nothing() {
    let found = check("name.exists() and gender = 'male' and birthDate < today()");
    assert!(found.iter().all(|i| i.expression != AT), "{found:#?}");
}

#[test]
fn fhirpath_unknown_name() {
    error(
        "nickname.exists()",
        "Error evaluating FHIRPath expression: The name 'nickname' is not valid for any of the possible types: [http://hl7.org/fhir/StructureDefinition/Patient]",
    );
}

#[test]
fn fhirpath_collection_status_operation_left() {
    warning(
        "name.given = 'Jo'",
        "The left side is inherently a collection, and so the expression 'name.given = 'Jo'' may fail or return false if there is more than one item in the content being evaluated",
    );
}

#[test]
fn fhirpath_collection_status_operation_right() {
    warning(
        "'Jo' = name.given",
        "The right side is inherently a collection, and so this expression ''Jo' = name.given' may fail or return false if there is more than one item in the content being evaluated",
    );
}

#[test]
fn fhirpath_collection_status_parameter() {
    warning(
        "gender.startsWith(name.family)",
        "Parameter 1 is inherently a collection, and so the expression 'startsWith' may fail, create an error, or return false if there is more than one item in the parameter value (gender.startsWith(name.family))",
    );
}

#[test]
fn fhirpath_collection_status_context() {
    warning(
        "name.iif(true, true, false)",
        "The context is inherently a collection, and so the expression 'iif' may fail, create an error, or return false if there is more than one item in the context ({2})",
    );
}

#[test]
fn fhirpath_not_a_collection() {
    warning(
        "gender.first().exists()",
        "Found a use of a collection operator on something that is not a collection at 'gender.first()' - check that there's no mistakes in the expression syntax",
    );
}

#[test]
fn fhirpath_ordered_only() {
    error("children().first().exists()", "Error evaluating FHIRPath expression: The function first can only be used on ordered collections");
}

#[test]
fn fhirpath_primitive_only() {
    error("name.length() > 1", "Error evaluating FHIRPath expression: The function length can only be used on primitives");
}

#[test]
fn fhirpath_coded_only() {
    error(
        "name.memberOf('http://example.org/ValueSet/names')",
        "Error evaluating FHIRPath expression: The function memberOf can only be used on ordered string, code, uri, Coding, CodeableConcept but found [http://hl7.org/fhir/StructureDefinition/HumanName]",
    );
}

#[test]
fn fhirpath_reference_only() {
    error(
        "name.resolve().exists()",
        "Error evaluating FHIRPath expression: The function resolve can only be used on ordered string, uri, canonical or Reference but found [http://hl7.org/fhir/StructureDefinition/HumanName]",
    );
}

#[test]
fn fhirpath_numerical_only() {
    error(
        "gender.abs() = 1",
        "Error evaluating FHIRPath expression: The function abs can only be used on integer, decimal or Quantity but found [http://hl7.org/fhir/StructureDefinition/code]",
    );
}

#[test]
fn fhirpath_decimal_only() {
    error(
        "gender.floor() = 1",
        "Error evaluating FHIRPath expression: The function floor can only be used on a decimal but found [http://hl7.org/fhir/StructureDefinition/code]",
    );
}

#[test]
fn fhirpath_continuous_only() {
    error(
        "gender.precision() = 1",
        "Error evaluating FHIRPath expression: The function precision can only be used on a decimal or date type but found [http://hl7.org/fhir/StructureDefinition/code]",
    );
}

#[test]
fn fhirpath_wrong_param_type() {
    error(
        "name.where(family).exists()",
        "Error evaluating FHIRPath expression: The parameter type http://hl7.org/fhir/StructureDefinition/string is not legal for where parameter 1. expecting SINGLETON[http://hl7.org/fhirpath/System.Boolean]",
    );
}

#[test]
fn fhirpath_oftype_impossible() {
    warning(
        "deceased.ofType(Quantity).exists().not()",
        "The type specified in ofType() is http://hl7.org/fhir/StructureDefinition/Quantity which is not a possible candidate for the existing types () in the expression deceased.ofType(Quantity). Check the paths and types to be sure this is what is intended",
    );
}

#[test]
fn fhirpath_unknown_extension() {
    warning(
        "extension('http://example.org/StructureDefinition/nowhere').empty()",
        "Reference to an unknown extension - double check that the URL 'http://example.org/StructureDefinition/nowhere' is correct",
    );
}

#[test]
fn fhirpath_arithmetic_plus() {
    error(
        "(birthDate + 1).exists()",
        "Error in date arithmetic: Unable to add type http://hl7.org/fhirpath/System.Integer to http://hl7.org/fhir/StructureDefinition/date",
    );
}

#[test]
fn fhirpath_arithmetic_minus() {
    error(
        "(birthDate - 'a').exists()",
        "Error in date arithmetic: Unable to subtract type http://hl7.org/fhirpath/System.String to http://hl7.org/fhir/StructureDefinition/date",
    );
}

#[test]
fn a_context_invariant_is_checked_against_the_context() {
    let ext = json!({
        "resourceType": "StructureDefinition", "id": "ext", "url": "http://example.org/StructureDefinition/ext", "name": "Ext",
        "status": "draft", "kind": "complex-type", "abstract": false, "type": "Extension",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension", "derivation": "constraint",
        "context": [{"type": "element", "expression": "Patient"}],
        "contextInvariant": ["nickname.exists()"],
        "differential": {"element": [
            {"id": "Extension", "path": "Extension"},
            {"id": "Extension.url", "path": "Extension.url", "fixedUri": "http://example.org/StructureDefinition/ext"},
            {"id": "Extension.value[x]", "path": "Extension.value[x]", "type": [{"code": "string"}]}
        ]}
    });
    let found = issues_with(&[], &ext);
    let message = "Error in constraint 'nickname.exists()': Error evaluating FHIRPath expression: The name 'nickname' is not valid for any of the possible types: [http://hl7.org/fhir/StructureDefinition/Patient]";
    assert!(
        found.iter().any(|i| i.severity == Severity::Error && i.code == IssueCode::Invalid && i.expression == "StructureDefinition.contextInvariant[0]" && i.message == message),
        "{found:#?}"
    );
}

// ------------------------------------------------------------------------
// Run-time errors, as an instance's invariant meets them.

/// A Patient profile (differential only) with invariant `r-1` and a Patient claiming it.
fn run(expression: &str, patient: Value) -> Vec<Issue> {
    let profile = json!({
        "resourceType": "StructureDefinition", "id": "r", "url": "http://example.org/StructureDefinition/r", "name": "R",
        "status": "draft", "kind": "resource", "abstract": false, "type": "Patient",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient", "derivation": "constraint",
        "differential": {"element": [{"id": "Patient", "path": "Patient",
            "constraint": [{"key": "r-1", "severity": "error", "human": "A rule", "expression": expression,
                            "source": "http://example.org/StructureDefinition/r"}]}]}
    });
    let mut patient = patient;
    patient["resourceType"] = json!("Patient");
    patient["meta"] = json!({"profile": ["http://example.org/StructureDefinition/r"]});
    issues_with(&[profile], &patient)
}

fn unchecked(found: &[Issue], problem: &str) {
    let message = format!("The constraint r-1 could not be checked: {problem}");
    assert!(
        found.iter().any(|i| i.severity == Severity::Warning && i.code == IssueCode::Processing && i.expression == "Patient" && i.message == message),
        "wanted '{message}', found {found:#?}"
    );
}

#[test]
fn fhirpath_left_value_wrong_type() {
    let found = run("(name + 1).exists()", json!({"name": [{"family": "Chalmers"}]}));
    unchecked(&found, "Error evaluating FHIRPath expression: left operand to + has the wrong type HumanName");
}

#[test]
fn fhirpath_right_value_wrong_type() {
    let found = run("(1 * name).exists()", json!({"name": [{"family": "Chalmers"}]}));
    unchecked(&found, "Error evaluating FHIRPath expression: right operand to * has the wrong type HumanName");
}

#[test]
fn fhirpath_mutiple_values_in_sort() {
    let found = run("name.sort(given).exists()", json!({"name": [{"given": ["A", "B"]}, {"given": ["C"]}]}));
    unchecked(&found, "Multiple values found in return from sort expression 'given'");
}

#[test]
fn fhirpath_mutiple_sort_type_problem() {
    let found = run("(1 | 'a').sort($this).exists()", json!({"gender": "male"}));
    unchecked(&found, "Cannot sort the list because the sort expression return both a 'string' and a 'integer' (expression = '$this')");
}

#[test]
fn fhirpath_mutiple_sort_type_problem_natural() {
    let found = run("(1 | 'a').sort().exists()", json!({"gender": "male"}));
    unchecked(&found, "Cannot sort a list that contains both a 'string' and a 'integer' using natural sort order");
}

#[test]
fn fhirpath_invalid_type() {
    let found = run("name.ofType(Nonesuch).exists()", json!({"name": [{"family": "Chalmers"}]}));
    unchecked(&found, "The type FHIR.Nonesuch is not valid");
}

#[test]
fn fhirpath_cannot_use() {
    let ctx = common::context();
    let env = careplan::fhirpath::EvalContext::new(&ctx);
    let expr = careplan::fhirpath::parse("%resource.id").unwrap();
    let problem = careplan::fhirpath::evaluate_item(&expr, None, &env).expect_err("no resource to use");
    assert_eq!(problem.message, "Error evaluating FHIRPath expression: Cannot use %resource in this context because no focus resource");
    let expr = careplan::fhirpath::parse("%rootResource").unwrap();
    let problem = careplan::fhirpath::evaluate_item(&expr, None, &env).expect_err("no resource to use");
    assert_eq!(problem.message, "Error evaluating FHIRPath expression: Cannot use %rootResource in this context because no focus rootResource");
}

#[test]
fn a_name_inside_repeat_need_not_exist_on_every_type_it_meets() {
    let found = check("repeat(contact | communication).exists()");
    assert!(found.iter().all(|i| i.expression != AT), "{found:#?}");
}

#[test]
fn fhirpath_unable_boolean() {
    let found = run("name.where(given).exists()", json!({"name": [{"given": ["Ann", "Bea"]}]}));
    unchecked(&found, "Unable to evaluate as a boolean: AnnBea");
}

#[test]
fn fhirpath_check_failed() {
    let found = run("check(gender.exists(), 'a gender is needed').exists()", json!({"name": [{"family": "Chalmers"}]}));
    unchecked(&found, "Error evaluating FHIRPath expression: Check failed with message 'a gender is needed'");
}

// ------------------------------------------------------------------------
// A SearchParameter's expression, checked against its bases.

fn search_parameter(base: &str, expression: &str) -> Value {
    json!({
        "resourceType": "SearchParameter", "id": "sp", "url": "http://example.org/SearchParameter/sp", "name": "sp",
        "status": "draft", "description": "A search", "code": "sp", "base": [base], "type": "token", "expression": expression
    })
}

#[test]
fn fhirpath_unknown_context() {
    let found = issues_with(&[], &search_parameter("Nonesuch", "Nonesuch.name"));
    let message = "Error in search expression 'Nonesuch.name': Unknown context evaluating FHIRPath expression: Nonesuch";
    assert!(
        found.iter().any(|i| i.severity == Severity::Error && i.code == IssueCode::Invalid && i.expression == "SearchParameter.expression" && i.message == message),
        "{found:#?}"
    );
}

#[test]
fn a_search_expression_is_checked_by_the_engine() {
    let found = issues_with(&[], &search_parameter("Patient", "Patient.name.given.floor()"));
    let message = "Error in search expression 'Patient.name.given.floor()': Error evaluating FHIRPath expression: The function floor can only be used on a decimal but found [http://hl7.org/fhir/StructureDefinition/string]";
    assert!(found.iter().any(|i| i.severity == Severity::Error && i.expression == "SearchParameter.expression" && i.message == message), "{found:#?}");
    let found = issues_with(&[], &search_parameter("Patient", "Patient.deceased as boolean"));
    assert!(found.iter().all(|i| i.expression != "SearchParameter.expression"), "{found:#?}");
    let found = issues_with(&[], &search_parameter("Patient", "Patient.name.family as string"));
    let message = "The left side is inherently a collection, and so the expression 'Patient.name.family as string' may fail or return false if there is more than one item in the content being evaluated";
    assert!(
        found.iter().any(|i| i.severity == Severity::Warning && i.code == IssueCode::BusinessRule && i.expression == "SearchParameter.expression" && i.message == message),
        "{found:#?}"
    );
}

#[test]
fn fhirpath_param_wrong() {
    let found = run("gender.is('code')", json!({"gender": "male"}));
    unchecked(&found, "Error evaluating FHIRPath expression: The expression type Constant is not supported for parameter 0 on function is");
}

// ------------------------------------------------------------------------
// Discriminators the engine cannot follow through the definitions.

fn sliced_by(path: &str) -> Vec<Issue> {
    let profile = json!({
        "resourceType": "StructureDefinition", "id": "s", "url": "http://example.org/StructureDefinition/s", "name": "S",
        "status": "draft", "kind": "resource", "abstract": false, "type": "Patient",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient", "derivation": "constraint",
        "differential": {"element": [
            {"id": "Patient", "path": "Patient"},
            {"id": "Patient.identifier", "path": "Patient.identifier", "slicing": {"discriminator": [{"type": "value", "path": path}], "rules": "open"}},
            {"id": "Patient.identifier:nhs", "path": "Patient.identifier", "sliceName": "nhs", "min": 0, "max": "1"}
        ]}
    });
    let patient = json!({"resourceType": "Patient", "meta": {"profile": ["http://example.org/StructureDefinition/s"]},
                         "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9000000009"}]});
    issues_with(&[profile], &patient)
}

fn cannot_be_evaluated(found: &[Issue], problem: &str) {
    let message = format!("Slicing cannot be evaluated: {problem}");
    assert!(
        found.iter().any(|i| i.severity == Severity::Error && i.code == IssueCode::Processing && i.expression == "Patient.identifier[0]" && i.message == message),
        "wanted '{message}', found {found:#?}"
    );
}

#[test]
fn fhirpath_discriminator_bad_syntax_const() {
    cannot_be_evaluated(&sliced_by("'system'"), "Invalid expression syntax in discriminator (const)");
}

#[test]
fn fhirpath_discriminator_bad_syntax_group() {
    cannot_be_evaluated(&sliced_by("(system)"), "Invalid expression syntax in discriminator (group '(system)')");
}

#[test]
fn fhirpath_discriminator_bad_name() {
    cannot_be_evaluated(&sliced_by("children().system"), "Invalid function name children() in discriminator");
}
