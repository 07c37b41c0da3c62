//! Questionnaire and QuestionnaireResponse rules of the HL7 validator's
//! QuestionnaireValidator, one test per message key: a response's answers
//! against the options its item lists or lacks, limits the answers cannot
//! be read against, required groups, item types, references; a
//! Questionnaire against the Questionnaires it derives from, and binding
//! parameters against its answer value sets.

mod common;

use common::issues_with;
use careplan::context::Context;
use careplan::issue::{Issue, IssueCode, Severity};
use careplan::validator::{Options, Validator};
use serde_json::{json, Value};
use std::sync::Arc;

const Q: &str = "http://example.org/Questionnaire/q";
const BASE: &str = "http://example.org/Questionnaire/base";

fn questionnaire(items: Value) -> Value {
    json!({"resourceType": "Questionnaire", "url": Q, "status": "active", "item": items})
}

fn response(items: Value) -> Value {
    json!({"resourceType": "QuestionnaireResponse", "questionnaire": Q, "status": "completed", "item": items})
}

/// The issues of a response to one item (`q_item`) answered with `answer`.
fn answered(q_item: Value, answer: Value) -> Vec<Issue> {
    let link_id = q_item["linkId"].clone();
    issues_with(&[questionnaire(json!([q_item]))], &response(json!([{"linkId": link_id, "answer": [answer]}])))
}

/// Asserts one issue with exactly this severity, code, expression and message.
fn assert_issue(issues: &[Issue], severity: Severity, code: IssueCode, expression: &str, message: &str) {
    assert!(
        issues.iter().any(|i| i.severity == severity && i.code == code && i.expression == expression && i.message == message),
        "expected {severity:?} {code:?} at {expression}: {message}\ngot {issues:#?}"
    );
}

fn ext(url: &str, value: Value) -> Value {
    let mut e = json!({"url": format!("http://hl7.org/fhir/StructureDefinition/{url}")});
    let (k, v) = value.as_object().unwrap().iter().next().unwrap();
    e[k] = v.clone();
    e
}

const ANSWER: &str = "QuestionnaireResponse.item[0].answer[0]";

// ---------------------------------------------------------------- options

#[test]
fn questionnaire_qr_item_no_options_integer() {
    let item = json!({"linkId": "c", "type": "choice", "answerOption": [{"valueCoding": {"system": "http://example.org/cs", "code": "x"}}]});
    let issues = answered(item, json!({"valueInteger": 1}));
    assert_issue(&issues, Severity::Error, IssueCode::Invariant, ANSWER, "Option list has no option values of type integer");
}

#[test]
fn questionnaire_qr_item_no_options_date() {
    let item = json!({"linkId": "d", "type": "date", "answerOption": [{"valueInteger": 1}]});
    let issues = answered(item, json!({"valueDate": "2021-01-01"}));
    assert_issue(&issues, Severity::Error, IssueCode::Invariant, &format!("{ANSWER}.value.ofType(date)"), "Option list has no option values of type date");
}

#[test]
fn questionnaire_qr_item_no_date() {
    let item = json!({"linkId": "c", "type": "choice", "answerOption": [{"valueDate": "2020-01-01"}]});
    let issues = answered(item, json!({"valueDate": "2021-01-01"}));
    assert_issue(&issues, Severity::Error, IssueCode::Invariant, ANSWER, "The date 2021-01-01 is not in the set of permitted values");
}

#[test]
fn questionnaire_qr_item_no_options_time() {
    let item = json!({"linkId": "c", "type": "choice", "answerOption": [{"valueInteger": 1}]});
    let issues = answered(item, json!({"valueTime": "10:00:00"}));
    assert_issue(&issues, Severity::Error, IssueCode::Invariant, ANSWER, "Option list has no option values of type time");
}

#[test]
fn questionnaire_qr_item_no_options_string() {
    let item = json!({"linkId": "c", "type": "choice", "answerOption": [{"valueInteger": 1}]});
    let issues = answered(item, json!({"valueString": "one"}));
    assert_issue(&issues, Severity::Error, IssueCode::Invariant, ANSWER, "Option list has no option values of type string");
}

#[test]
fn questionnaire_qr_item_no_options_decimal() {
    let item = json!({"linkId": "n", "type": "decimal", "answerOption": [{"valueString": "x"}]});
    let issues = answered(item, json!({"valueDecimal": 1.5}));
    assert_issue(&issues, Severity::Error, IssueCode::Invariant, &format!("{ANSWER}.value.ofType(decimal)"), "Cannot validate decimal answer option because no option list is provided");
}

#[test]
fn questionnaire_qr_item_no_decimal() {
    let item = json!({"linkId": "n", "type": "decimal", "answerOption": [{"valueInteger": 1}, {"valueInteger": 2}]});
    let issues = answered(item.clone(), json!({"valueDecimal": 3}));
    assert_issue(&issues, Severity::Error, IssueCode::Invariant, &format!("{ANSWER}.value.ofType(decimal)"), "The value 3 is not in the set of permitted values");
    assert!(!answered(item, json!({"valueDecimal": 2})).iter().any(|i| i.message.contains("permitted values")));
}

/// A choice item with no answerOption (and no answerValueSet) answered with `answer`.
fn unlisted(answer: Value) -> Vec<Issue> {
    answered(json!({"linkId": "c", "type": "choice"}), answer)
}

#[test]
fn questionnaire_qr_item_int_no_options() {
    assert_issue(&unlisted(json!({"valueInteger": 2})), Severity::Information, IssueCode::Invariant, ANSWER, "Cannot validate integer answer option because no option list is provided");
}

#[test]
fn questionnaire_qr_item_date_no_options() {
    assert_issue(&unlisted(json!({"valueDate": "2020-02-02"})), Severity::Information, IssueCode::Invariant, ANSWER, "Cannot validate date answer option because no option list is provided");
}

#[test]
fn questionnaire_qr_item_time_no_options() {
    assert_issue(&unlisted(json!({"valueTime": "09:30:00"})), Severity::Information, IssueCode::Invariant, ANSWER, "Cannot validate time answer option because no option list is provided");
}

#[test]
fn questionnaire_qr_item_string_no_options() {
    assert_issue(&unlisted(json!({"valueString": "x"})), Severity::Information, IssueCode::Invariant, ANSWER, "Cannot validate string answer option because no option list is provided");
}

#[test]
fn questionnaire_qr_item_no_options() {
    let issues = unlisted(json!({"valueCoding": {"system": "http://example.org/cs", "code": "x"}}));
    assert_issue(&issues, Severity::Information, IssueCode::Invariant, ANSWER, "Cannot validate options because no option or options are provided");
}

// ---------------------------------------------------------------- items

#[test]
fn questionnaire_qr_item_group_required() {
    let q = questionnaire(json!([{"linkId": "g", "type": "group", "required": true, "item": [{"linkId": "s", "type": "string"}]}]));
    let issues = issues_with(&[q.clone()], &response(json!([{"linkId": "g"}])));
    assert_issue(&issues, Severity::Error, IssueCode::Invariant, "QuestionnaireResponse.item[0]", "No sub-items found for required group");
    let filled = issues_with(&[q], &response(json!([{"linkId": "g", "item": [{"linkId": "s", "answer": [{"valueString": "x"}]}]}])));
    assert!(!filled.iter().any(|i| i.message.contains("required group")), "{filled:#?}");
}

#[test]
fn questionnaire_qr_item_no_type() {
    let issues = answered(json!({"linkId": "t", "text": "Untyped"}), json!({"valueString": "x"}));
    assert_issue(&issues, Severity::Error, IssueCode::Required, "QuestionnaireResponse.item[0]", "Definition for item t does not contain a type");
}

#[test]
fn questionnaire_qr_item_vs_bad() {
    let item = json!({"linkId": "s", "type": "string", "answerValueSet": "http://example.org/ValueSet/nowhere"});
    let issues = answered(item, json!({"valueString": "x"}));
    assert_issue(&issues, Severity::Warning, IssueCode::Invariant, &format!("{ANSWER}.value.ofType(string)"), "The value set 'http://example.org/ValueSet/nowhere' could not be found");
}

// ---------------------------------------------------------------- values that cannot be read

#[test]
fn questionnaire_qr_item_integer_value_exception() {
    let item = json!({"linkId": "n", "type": "integer", "extension": [ext("minValue", json!({"valueDecimal": 1.5}))]});
    let issues = answered(item, json!({"valueInteger": 3}));
    assert_issue(&issues, Severity::Error, IssueCode::Invariant, &format!("{ANSWER}.value.ofType(integer)"), "An error occurred checking the value: the minValue '1.5' is not a valid integer");
}

#[test]
fn questionnaire_qr_item_decimal_value_exception() {
    let item = json!({"linkId": "n", "type": "decimal", "extension": [ext("maxValue", json!({"valueDate": "2020-01-01"}))]});
    let issues = answered(item, json!({"valueDecimal": 3.5}));
    assert_issue(&issues, Severity::Error, IssueCode::Invariant, &format!("{ANSWER}.value.ofType(decimal)"), "An error occurred checking the value: the maxValue '2020-01-01' is not a valid decimal");
}

#[test]
fn questionnaire_qr_item_date_value_exception() {
    let item = json!({"linkId": "d", "type": "date", "extension": [ext("minValue", json!({"valueInteger": 5}))]});
    let issues = answered(item, json!({"valueDate": "2020-01-01"}));
    assert_issue(&issues, Severity::Error, IssueCode::Invariant, &format!("{ANSWER}.value.ofType(date)"), "An error occurred checking the date: the minValue '5' is not a valid date");
}

#[test]
fn questionnaire_qr_item_time_value_exception() {
    let item = json!({"linkId": "t", "type": "time", "extension": [ext("maxValue", json!({"valueDate": "2020-01-01"}))]});
    let issues = answered(item, json!({"valueTime": "10:00:00"}));
    assert_issue(&issues, Severity::Error, IssueCode::Invariant, &format!("{ANSWER}.value.ofType(time)"), "An error occurred checking the time: the maxValue '2020-01-01' is not a valid time");
}

// ---------------------------------------------------------------- references (RESTful references assumed)

fn with_rest_references(q_item: Value, answer: Value) -> Vec<Issue> {
    let mut ctx = Context::overlay(common::context());
    ctx.add_json(questionnaire(json!([q_item.clone()])), "test");
    let v = Validator::new(Arc::new(ctx), Options { assume_valid_rest_references: true, ..Options::default() });
    let qr = response(json!([{"linkId": q_item["linkId"].clone(), "answer": [answer]}]));
    v.validate_bytes(qr.to_string().as_bytes(), Some(careplan::tree::Format::Json))
}

fn reference_item(allowed: &[&str]) -> Value {
    let exts: Vec<Value> = allowed.iter().map(|t| ext("questionnaire-referenceResource", json!({"valueCode": t}))).collect();
    json!({"linkId": "r", "type": "reference", "extension": exts})
}

#[test]
fn questionnaire_qr_item_ref_invalid() {
    let issues = with_rest_references(reference_item(&["Patient"]), json!({"valueReference": {"reference": "Practitioner/1"}}));
    let at = format!("{ANSWER}.value.ofType(Reference)");
    assert_issue(&issues, Severity::Error, IssueCode::Invariant, &at, "The resource type 'Practitioner' in the reference Practitioner/1 is not allowed (allowed = Patient)");
    let fine = with_rest_references(reference_item(&["Patient"]), json!({"valueReference": {"reference": "Patient/1"}}));
    assert!(!fine.iter().any(|i| i.message.contains("is not allowed")), "{fine:#?}");
}

#[test]
fn questionnaire_qr_item_ref_cant() {
    let issues = with_rest_references(reference_item(&["Patient"]), json!({"valueReference": {"reference": "urn:uuid:9d6c8a52-6f0e-4b1a-9b39-5f3a4f1c2d7e"}}));
    assert_issue(&issues, Severity::Error, IssueCode::Invariant, &format!("{ANSWER}.value.ofType(Reference)"), "Unable to determine the resource type, so the resource type can't be checked");
}

#[test]
fn questionnaire_qr_item_ref_invalid_general() {
    let issues = with_rest_references(reference_item(&[]), json!({"valueReference": {"reference": "Spaceship/1"}}));
    assert_issue(&issues, Severity::Error, IssueCode::Invariant, &format!("{ANSWER}.value.ofType(Reference)"), "The resource type Spaceship in the reference Spaceship/1 is not valid");
    // Without --assume-valid-rest-references the type is not read off the URL.
    let plain = answered(reference_item(&[]), json!({"valueReference": {"reference": "Spaceship/1"}}));
    assert!(!plain.iter().any(|i| i.message.contains("is not valid") && i.message.contains("Spaceship")), "{plain:#?}");
}

// ---------------------------------------------------------------- derivation

const DERIVATION: &str = "http://hl7.org/fhir/StructureDefinition/questionnaire-derivationType";

fn base() -> Value {
    json!({"resourceType": "Questionnaire", "url": BASE, "status": "active", "item": [
        {"linkId": "a", "type": "string", "required": true, "maxLength": 10, "definition": "http://example.org/StructureDefinition/x#X.a"},
        {"linkId": "c", "type": "choice", "answerOption": [{"valueCoding": {"system": "http://example.org/cs", "code": "x"}}]},
        {"linkId": "v", "type": "choice", "answerValueSet": "http://hl7.org/fhir/ValueSet/administrative-gender"},
        {"linkId": "n", "type": "integer"}
    ]})
}

/// A Questionnaire deriving from `base()` (`extends` or `compliesWith`) with these items.
fn derived(how: &str, items: Value) -> Vec<Issue> {
    let q = json!({"resourceType": "Questionnaire", "url": Q, "status": "active", "derivedFrom": [BASE],
        "_derivedFrom": [{"extension": [{"url": DERIVATION, "valueCoding": {"system": "http://hl7.org/fhir/questionnaire-derivationType", "code": how}}]}],
        "item": items});
    issues_with(&[base()], &q)
}

fn same_a() -> Value {
    json!({"linkId": "a", "type": "string", "required": true, "maxLength": 10, "definition": "http://example.org/StructureDefinition/x#X.a"})
}

fn message_at<'a>(issues: &'a [Issue], expression: &str) -> Vec<&'a str> {
    issues.iter().filter(|i| i.expression == expression).map(|i| i.message.as_str()).collect()
}

#[test]
fn a_derived_item_that_keeps_the_rules_is_clean() {
    let issues = derived("extends", json!([same_a(), {"linkId": "new", "type": "string"}]));
    assert!(!issues.iter().any(|i| i.message.contains("found in questionnaire")), "{issues:#?}");
}

#[test]
fn questionnaire_q_unknown_derivation() {
    let q = json!({"resourceType": "Questionnaire", "url": Q, "status": "active", "derivedFrom": ["http://example.org/Questionnaire/nowhere"]});
    let issues = issues_with(&[], &q);
    assert_issue(&issues, Severity::Warning, IssueCode::BusinessRule, "Questionnaire.derivedFrom[0]", "The questionnaire 'http://example.org/Questionnaire/nowhere' referred to in the derivation could not be found");
}

#[test]
fn questionnaire_q_no_derivation_type() {
    let q = json!({"resourceType": "Questionnaire", "url": Q, "status": "active", "derivedFrom": [BASE]});
    let issues = issues_with(&[base()], &q);
    assert_issue(
        &issues,
        Severity::Warning,
        IssueCode::BusinessRule,
        "Questionnaire.derivedFrom[0]",
        "The questionnaire 'http://example.org/Questionnaire/base' has no derivation type specified using the 'http://hl7.org/fhir/StructureDefinition/questionnaire-derivationType' extension, so derivation has not been checked",
    );
}

#[test]
fn questionnaire_q_no_derivation_type_value() {
    let q = json!({"resourceType": "Questionnaire", "url": Q, "status": "active", "derivedFrom": [BASE], "_derivedFrom": [{"extension": [{"url": DERIVATION}]}]});
    let issues = issues_with(&[base()], &q);
    assert_issue(&issues, Severity::Warning, IssueCode::BusinessRule, "Questionnaire.derivedFrom[0].extension[0]", "The derivation extension has no value");
}

#[test]
fn questionnaire_q_derivation_type_ignored() {
    let issues = derived("inspiredBy", json!([{"linkId": "zz", "type": "boolean"}]));
    assert_issue(
        &issues,
        Severity::Information,
        IssueCode::BusinessRule,
        "Questionnaire.derivedFrom[0].extension[0].value.ofType(Coding)",
        "The derivation type 'http://hl7.org/fhir/questionnaire-derivationType#inspiredBy' means that no derivation checking has been performed against this questionnaire",
    );
    assert!(!issues.iter().any(|i| i.message.contains("No item with linkId")), "{issues:#?}");
}

#[test]
fn questionnaire_q_derivation_type_unknown() {
    let issues = derived("copies", json!([]));
    assert_issue(
        &issues,
        Severity::Warning,
        IssueCode::BusinessRule,
        "Questionnaire.derivedFrom[0].extension[0].value.ofType(Coding)",
        "The derivation type 'http://hl7.org/fhir/questionnaire-derivationType#copies' is unknown, which means that no derivation checking has been performed against this questionnaire",
    );
}

#[test]
fn questionnaire_q_item_not_derived() {
    let issues = derived("compliesWith", json!([same_a(), {"linkId": "new", "type": "string"}]));
    assert_issue(&issues, Severity::Error, IssueCode::NotFound, "Questionnaire.item[1]", "No item with linkId 'new' found in questionnaire 'http://example.org/Questionnaire/base'");
    assert!(message_at(&derived("extends", json!([{"linkId": "new", "type": "string"}])), "Questionnaire.item[0]").is_empty());
}

#[test]
fn questionnaire_q_item_derived_nc_type() {
    let issues = derived("extends", json!([{"linkId": "n", "type": "decimal"}]));
    assert_issue(
        &issues,
        Severity::Error,
        IssueCode::BusinessRule,
        "Questionnaire.item[0].type",
        "The item with linkId 'n' found in questionnaire 'http://example.org/Questionnaire/base' has the type 'integer', and this cannot change to 'decimal'",
    );
}

#[test]
fn questionnaire_q_item_derived_nc_repeats() {
    let issues = derived("extends", json!([{"linkId": "n", "type": "integer", "repeats": true}]));
    assert_issue(
        &issues,
        Severity::Error,
        IssueCode::BusinessRule,
        "Questionnaire.item[0].repeats",
        "The item with linkId 'n' found in questionnaire 'http://example.org/Questionnaire/base' does not repeat, so it cannot repeat here",
    );
}

#[test]
fn questionnaire_q_item_derived_nc_required() {
    let mut a = same_a();
    a["required"] = json!(false);
    let issues = derived("extends", json!([a]));
    assert_issue(
        &issues,
        Severity::Error,
        IssueCode::BusinessRule,
        "Questionnaire.item[0].required",
        "The item with linkId 'a' found in questionnaire 'http://example.org/Questionnaire/base' is required, so it must be required here",
    );
}

#[test]
fn questionnaire_q_item_derived_nc_definition() {
    let mut a = same_a();
    a["definition"] = json!("http://example.org/StructureDefinition/y#Y.a");
    let issues = derived("extends", json!([a]));
    assert_issue(
        &issues,
        Severity::Information,
        IssueCode::BusinessRule,
        "Questionnaire.item[0].definition",
        "The item with linkId 'a' found in questionnaire 'http://example.org/Questionnaire/base' has the definition 'http://example.org/StructureDefinition/x#X.a'. Is it intended to change this?",
    );
}

#[test]
fn questionnaire_q_item_derived_definition() {
    let mut a = same_a();
    a.as_object_mut().unwrap().remove("definition");
    let issues = derived("extends", json!([a]));
    assert_issue(
        &issues,
        Severity::Information,
        IssueCode::BusinessRule,
        "Questionnaire.item[0]",
        "The item with linkId 'a' found in questionnaire 'http://example.org/Questionnaire/base' has the definition 'http://example.org/StructureDefinition/x#X.a', so this should be repeated here",
    );
}

#[test]
fn questionnaire_q_item_derived_nc_maxlength() {
    let mut a = same_a();
    a["maxLength"] = json!(20);
    let issues = derived("extends", json!([a]));
    assert_issue(
        &issues,
        Severity::Error,
        IssueCode::BusinessRule,
        "Questionnaire.item[0].maxLength",
        "The item with linkId 'a' found in questionnaire 'http://example.org/Questionnaire/base' has the maxLength of '10', so the max length cannot be greater than that",
    );
}

#[test]
fn questionnaire_q_item_derived_maxlength() {
    let mut a = same_a();
    a.as_object_mut().unwrap().remove("maxLength");
    let issues = derived("extends", json!([a]));
    assert_issue(
        &issues,
        Severity::Error,
        IssueCode::BusinessRule,
        "Questionnaire.item[0]",
        "The item with linkId 'a' found in questionnaire 'http://example.org/Questionnaire/base' has the definition '10', so this item must also have a max length",
    );
}

#[test]
fn questionnaire_q_item_derived_nc_answer_type() {
    let issues = derived("extends", json!([{"linkId": "c", "type": "choice", "answerValueSet": "http://hl7.org/fhir/ValueSet/administrative-gender"},
        {"linkId": "v", "type": "choice", "answerOption": [{"valueCoding": {"system": "http://hl7.org/fhir/administrative-gender", "code": "male"}}]}]));
    assert_issue(
        &issues,
        Severity::Error,
        IssueCode::BusinessRule,
        "Questionnaire.item[0]",
        "The item with linkId 'c' found in questionnaire 'http://example.org/Questionnaire/base' has answerOption, while this has answerValueSet. This might be valid, but the vaidator can't check that (yet?)",
    );
    assert_issue(
        &issues,
        Severity::Error,
        IssueCode::BusinessRule,
        "Questionnaire.item[1]",
        "The item with linkId 'v' found in questionnaire 'http://example.org/Questionnaire/base' has answerValueSet, while this has answerOption. This might be valid, but the vaidator can't check that (yet?)",
    );
}

#[test]
fn questionnaire_q_item_derived_answer_options() {
    let issues = derived("extends", json!([{"linkId": "c", "type": "choice"}]));
    assert_issue(
        &issues,
        Severity::Error,
        IssueCode::BusinessRule,
        "Questionnaire.item[0]",
        "The item with linkId 'c' found in questionnaire 'http://example.org/Questionnaire/base' has answerOptions, so this item must have some too",
    );
}

#[test]
fn questionnaire_q_item_derived_answer_options_new() {
    let issues = derived("extends", json!([{"linkId": "c", "type": "choice", "answerOption": [
        {"valueCoding": {"system": "http://example.org/cs", "code": "x"}}, {"valueCoding": {"system": "http://example.org/cs", "code": "y"}}]}]));
    assert_issue(
        &issues,
        Severity::Error,
        IssueCode::BusinessRule,
        "Questionnaire.item[0].answerOption[1]",
        "The item with linkId 'c' found in questionnaire 'http://example.org/Questionnaire/base' does not have this answerOption, so it is not valid",
    );
    assert!(message_at(&issues, "Questionnaire.item[0].answerOption[0]").is_empty(), "{issues:#?}");
}

// ---------------------------------------------------------------- binding parameters

const VS: &str = "http://example.org/ValueSet/by-parameter";

fn parameterised_value_set() -> Value {
    json!({"resourceType": "ValueSet", "url": VS, "version": "1.0", "status": "active",
        "extension": [{"url": "http://hl7.org/fhir/tools/StructureDefinition/valueset-parameter", "extension": [{"url": "name", "valueCode": "region"}]}],
        "compose": {"include": [{"system": "http://hl7.org/fhir/administrative-gender"}]}})
}

fn binding(names: &[&str]) -> Vec<Issue> {
    let params: Vec<Value> = names
        .iter()
        .map(|n| json!({"url": "http://hl7.org/fhir/tools/StructureDefinition/binding-parameter", "extension": [{"url": "name", "valueCode": n}, {"url": "value", "valueString": "x"}]}))
        .collect();
    let q = questionnaire(json!([{"linkId": "c", "type": "choice", "answerValueSet": VS, "_answerValueSet": {"extension": params}}]));
    issues_with(&[parameterised_value_set()], &q)
}

#[test]
fn valueset_parameter_missing_binding_parameter() {
    let issues = binding(&["count"]);
    assert_issue(&issues, Severity::Error, IssueCode::BusinessRule, "Questionnaire.item[0]", "The ValueSet 'http://example.org/ValueSet/by-parameter|1.0' has a parameter 'region' but there is no matching binding parameter");
    assert!(!binding(&["region"]).iter().any(|i| i.message.contains("binding parameter")), "{:#?}", binding(&["region"]));
}

#[test]
fn valueset_parameter_unrecognised_binding_parameter() {
    let issues = binding(&["region", "colour"]);
    assert_issue(
        &issues,
        Severity::Warning,
        IssueCode::BusinessRule,
        "Questionnaire.item[0]",
        "The binding parameter 'colour' is not recognised as a standard parameter or a parameter on the ValueSet 'http://example.org/ValueSet/by-parameter|1.0'",
    );
    assert!(!issues.iter().any(|i| i.message.contains("'region'")), "{issues:#?}");
}

#[test]
fn questionnaire_qr_item_badoption_cs() {
    // The options value set takes a whole code system that no loaded package holds.
    let vs = json!({"resourceType": "ValueSet", "url": "http://example.org/ValueSet/open", "name": "OpenOptions", "status": "active",
        "compose": {"include": [{"system": "http://example.org/CodeSystem/elsewhere"}]}});
    let q = questionnaire(json!([{"linkId": "v", "type": "choice", "answerValueSet": "http://example.org/ValueSet/open"}]));
    let answer = |system: &str| response(json!([{"linkId": "v", "answer": [{"valueCoding": {"system": system, "code": "a"}}]}]));
    let issues = issues_with(&[vs.clone(), q.clone()], &answer("http://example.org/CodeSystem/elsewhere"));
    let found: Vec<&Issue> = issues.iter().filter(|i| i.message.starts_with("The code provided a cannot be validated")).collect();
    assert_eq!(found.len(), 1, "{issues:#?}");
    assert_eq!((found[0].severity, found[0].code), (Severity::Warning, IssueCode::CodeInvalid));
    assert!(found[0].expression.starts_with(ANSWER), "{:?}", found[0]);
    assert_eq!(
        found[0].message,
        "The code provided a cannot be validated in the options value set (OpenOptions) in the questionnaire because the system http://example.org/CodeSystem/elsewhere could not be found"
    );
    // A code of a system the value set does not take is simply not in it.
    let other = issues_with(&[vs, q], &answer("http://example.org/CodeSystem/other"));
    assert!(!other.iter().any(|i| i.message.starts_with("The code provided")), "{other:#?}");
}

#[test]
fn reference_ref_wrongtarget_load() {
    // The response names a contained resource that is not a Questionnaire.
    let qr = json!({"resourceType": "QuestionnaireResponse", "questionnaire": "#q1", "status": "completed",
        "contained": [{"resourceType": "ValueSet", "id": "q1", "status": "active"}]});
    let issues = issues_with(&[], &qr);
    assert_issue(
        &issues,
        Severity::Error,
        IssueCode::Invalid,
        "QuestionnaireResponse",
        "The type 'ValueSet' is not a valid Target for the element q1 (must be class org.hl7.fhir.r5.model.Questionnaire)",
    );
    let fine = json!({"resourceType": "QuestionnaireResponse", "questionnaire": "#q1", "status": "completed",
        "contained": [{"resourceType": "Questionnaire", "id": "q1", "status": "active"}]});
    assert!(!issues_with(&[], &fine).iter().any(|i| i.message.contains("is not a valid Target")));
}
