//! The for-publication ("shareable") checks of CodeSystem, ValueSet,
//! ConceptMap and Measure (`src/validator/rules/shareable.rs`) and the
//! THO hint on HL7 code systems: one test per message key, each on a small
//! resource made for it, under `--for-publication` only.

mod common;

use careplan::issue::{Issue, IssueCode, Severity};
use careplan::validator::{Options, Validator};
use serde_json::{json, Value};

fn publishing(resource: &Value) -> Vec<Issue> {
    Validator::new(common::context(), Options { for_publication: true, ..Options::default() })
        .validate_bytes(resource.to_string().as_bytes(), Some(careplan::tree::Format::Json))
}

fn not_publishing(resource: &Value) -> Vec<Issue> {
    Validator::new(common::context(), Options::default()).validate_bytes(resource.to_string().as_bytes(), Some(careplan::tree::Format::Json))
}

/// Exactly one issue with this message, of this severity and code, at `expression`.
fn assert_one(issues: &[Issue], severity: Severity, code: IssueCode, expression: &str, message: &str) {
    let found: Vec<&Issue> = issues.iter().filter(|i| i.message == message).collect();
    assert_eq!(found.len(), 1, "wanted once: {message}\n{issues:#?}");
    assert_eq!((found[0].severity, found[0].code, found[0].expression.as_str()), (severity, code, expression), "{message}");
}

fn none_say(issues: &[Issue], fragment: &str) {
    assert!(!issues.iter().any(|i| i.message.contains(fragment)), "{issues:#?}");
}

fn without(mut resource: Value, names: &[&str]) -> Value {
    for n in names {
        resource.as_object_mut().unwrap().remove(*n);
    }
    resource
}

fn code_system(url: &str) -> Value {
    json!({"resourceType": "CodeSystem", "url": url, "version": "1", "name": "Colours", "title": "Colours", "status": "draft",
        "experimental": false, "description": "Colours", "content": "complete", "caseSensitive": true,
        "concept": [{"code": "red", "display": "Red"}]})
}

fn value_set(url: &str) -> Value {
    json!({"resourceType": "ValueSet", "url": url, "version": "1", "name": "Colours", "title": "Colours", "status": "draft",
        "experimental": false, "description": "Colours"})
}

fn concept_map(url: &str) -> Value {
    json!({"resourceType": "ConceptMap", "url": url, "version": "1", "name": "Colours", "title": "Colours", "status": "draft",
        "experimental": false, "description": "Colours"})
}

fn measure(url: &str) -> Value {
    json!({"resourceType": "Measure", "url": url, "version": "1", "name": "Colours", "title": "Colours", "status": "draft",
        "experimental": false, "publisher": "Example", "description": "Colours"})
}

const EXAMPLE: &str = "http://example.org/fhir/Thing/colours";
const HL7: &str = "http://terminology.hl7.org/Thing/colours";

#[test]
fn complete_resources_raise_no_shareable_issue() {
    for r in [code_system(EXAMPLE), value_set(EXAMPLE), concept_map(EXAMPLE), measure(EXAMPLE), code_system(HL7), value_set(HL7)] {
        none_say(&publishing(&r), "profile, which says that the element");
    }
}

#[test]
fn shareable_checks_need_for_publication() {
    none_say(&not_publishing(&without(code_system(EXAMPLE), &["title", "name"])), "profile, which says that the element");
}

#[test]
fn shareable_checks_skip_contained_resources() {
    let holder = json!({"resourceType": "Questionnaire", "status": "draft",
        "contained": [without(value_set(EXAMPLE), &["title", "name", "version"])]});
    none_say(&publishing(&holder), "profile, which says that the element");
}

#[test]
fn codesystem_shareable_missing() {
    let found = publishing(&without(code_system(EXAMPLE), &["title"]));
    assert_one(&found, Severity::Warning, IssueCode::Required, "CodeSystem",
        "Published code systems SHOULD conform to the ShareableCodeSystem profile, which says that the element CodeSystem.title is mandatory, but it is not present");
}

#[test]
fn codesystem_shareable_extra_missing() {
    let found = publishing(&without(code_system(EXAMPLE), &["name"]));
    assert_one(&found, Severity::Warning, IssueCode::Required, "CodeSystem",
        "Published code systems SHOULD conform to the ShareableCodeSystem profile, which says that the element CodeSystem.name should be present, but it is not");
}

#[test]
fn codesystem_shareable_missing_hl7() {
    let found = publishing(&without(code_system(HL7), &["caseSensitive"]));
    assert_one(&found, Severity::Error, IssueCode::Required, "CodeSystem",
        "Code systems published by HL7 SHALL conform to the ShareableCodeSystem profile, which says that the element CodeSystem.caseSensitive is mandatory, but it is not present");
}

#[test]
fn codesystem_shareable_extra_missing_hl7() {
    let found = publishing(&without(code_system(HL7), &["name"]));
    assert_one(&found, Severity::Warning, IssueCode::Required, "CodeSystem",
        "Code systems published by HL7 SHALL conform to the ShareableCodeSystem profile, which says that the element CodeSystem.name should be present, but it is not");
}

#[test]
fn codesystem_tho_check() {
    let msg = "Most code systems defined in HL7 IGs will need to move to THO later during the process. Consider giving this code system a THO URL now (See https://confluence.hl7.org/display/TSMG/Terminology+Play+Book, and/or talk to TSMG)";
    let found = publishing(&code_system("http://hl7.org/fhir/us/example/CodeSystem/colours"));
    assert_one(&found, Severity::Information, IssueCode::BusinessRule, "CodeSystem", msg);
    none_say(&publishing(&code_system(HL7)), "move to THO");
    none_say(&not_publishing(&code_system("http://hl7.org/fhir/us/example/CodeSystem/colours")), "move to THO");
}

#[test]
fn valueset_shareable_missing() {
    let found = publishing(&without(value_set(EXAMPLE), &["experimental"]));
    assert_one(&found, Severity::Warning, IssueCode::Required, "ValueSet",
        "Published value sets SHOULD conform to the ShareableValueSet profile, which says that the element ValueSet.experimental is mandatory, but it is not present");
}

#[test]
fn valueset_shareable_extra_missing() {
    let found = publishing(&without(value_set(EXAMPLE), &["name"]));
    assert_one(&found, Severity::Warning, IssueCode::Required, "ValueSet",
        "Published value sets SHOULD conform to the ShareableValueSet profile, which says that the element ValueSet.name should be present, but it is not");
}

#[test]
fn valueset_shareable_missing_hl7() {
    let found = publishing(&without(value_set(HL7), &["version"]));
    assert_one(&found, Severity::Error, IssueCode::Required, "ValueSet",
        "Value sets published by HL7 SHALL conform to the ShareableValueSet profile, which says that the element ValueSet.version is mandatory, but it is not present");
}

#[test]
fn valueset_shareable_extra_missing_hl7() {
    let found = publishing(&without(value_set(HL7), &["name"]));
    assert_one(&found, Severity::Warning, IssueCode::Required, "ValueSet",
        "Value sets published by HL7 SHALL conform to the ShareableValueSet profile, which says that the element ValueSet.name should be present, but it is not");
}

#[test]
fn conceptmap_shareable_missing() {
    let found = publishing(&without(concept_map(EXAMPLE), &["description"]));
    assert_one(&found, Severity::Warning, IssueCode::Required, "ConceptMap",
        "Published concept maps SHOULD conform to the ShareableConceptMap profile, which says that the element ConceptMap.description is mandatory, but it is not present");
}

#[test]
fn conceptmap_shareable_extra_missing() {
    let found = publishing(&without(concept_map(EXAMPLE), &["name"]));
    assert_one(&found, Severity::Warning, IssueCode::Required, "ConceptMap",
        "Published concept maps SHOULD conform to the ShareableConceptMap profile, which says that the element ConceptMap.name should be present, but it is not");
}

#[test]
fn conceptmap_shareable_missing_hl7() {
    let found = publishing(&without(concept_map(HL7), &["title"]));
    assert_one(&found, Severity::Error, IssueCode::Required, "ConceptMap",
        "Concept maps published by HL7 SHALL conform to the ShareableConceptMap profile, which says that the element ConceptMap.title is mandatory, but it is not present");
}

#[test]
fn conceptmap_shareable_extra_missing_hl7() {
    let found = publishing(&without(concept_map(HL7), &["name"]));
    assert_one(&found, Severity::Warning, IssueCode::Required, "ConceptMap",
        "Concept maps published by HL7 SHALL conform to the ShareableConceptMap profile, which says that the element ConceptMap.name should be present, but it is not");
}

#[test]
fn measure_shareable_missing() {
    let found = publishing(&without(measure(EXAMPLE), &["publisher"]));
    assert_one(&found, Severity::Warning, IssueCode::Required, "Measure",
        "Published measures SHOULD conform to the ShareableMeasure profile, which says that the element Measure.publisher is mandatory, but it is not present");
}

#[test]
fn measure_shareable_extra_missing() {
    let found = publishing(&without(measure(EXAMPLE), &["name"]));
    assert_one(&found, Severity::Warning, IssueCode::Required, "Measure",
        "Published measures SHOULD conform to the ShareableMeasure profile, which says that the element Measure.name should be present, but it is not");
}

#[test]
fn measure_shareable_missing_hl7() {
    // A missing publisher is an error; a missing title only a warning (as the reference raises them).
    let found = publishing(&without(measure(HL7), &["publisher", "title"]));
    assert_one(&found, Severity::Error, IssueCode::Required, "Measure",
        "Measures published by HL7 SHALL conform to the ShareableMeasure profile, which says that the element Measure.publisher is mandatory, but it is not present");
    assert_one(&found, Severity::Warning, IssueCode::Required, "Measure",
        "Measures published by HL7 SHALL conform to the ShareableMeasure profile, which says that the element Measure.title is mandatory, but it is not present");
}

#[test]
fn measure_shareable_extra_missing_hl7() {
    let found = publishing(&without(measure(HL7), &["name"]));
    assert_one(&found, Severity::Error, IssueCode::Required, "Measure",
        "Measures published by HL7 SHALL conform to the ShareableMeasure profile, which says that the element Measure.name should be present, but it is not");
}
