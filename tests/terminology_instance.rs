//! Terminology at the instance level, as the reference says it: max value
//! sets and additional bindings read from profiles, a terminology server
//! that fails (`--tx` to a port nobody listens on), running without
//! terminology services (`--tx n/a`), and bindings with no value set. Each
//! test is named after the message key it raises.

mod common;

use careplan::context::Context;
use careplan::issue::{Issue, IssueCode, Severity};
use careplan::validator::{Options, Validator};
use serde_json::{json, Value};
use std::sync::Arc;

const BASE: &str = "http://example.org/fhir/StructureDefinition/";
const CS: &str = "http://example.org/fhir/CodeSystem/letters";
/// A system no package defines: a value set including it whole cannot be listed.
const OPEN_CS: &str = "http://example.org/fhir/CodeSystem/elsewhere";

/// Letters a, b, c; value sets: `only-a` = {a}, `a-or-b` = {a, b} (the max
/// one), `open` = all of a system careplan cannot list.
fn terminology() -> Vec<Value> {
    let vs = |id: &str, title: &str, include: Value| {
        json!({"resourceType": "ValueSet", "url": format!("http://example.org/fhir/ValueSet/{id}"), "version": "1", "title": title, "status": "active", "compose": {"include": [include]}})
    };
    vec![
        json!({"resourceType": "CodeSystem", "url": CS, "version": "1", "status": "active", "content": "complete",
            "concept": [{"code": "a", "display": "A"}, {"code": "b", "display": "B"}, {"code": "c", "display": "C"}]}),
        vs("only-a", "Only A", json!({"system": CS, "concept": [{"code": "a"}]})),
        vs("a-or-b", "A or B", json!({"system": CS, "concept": [{"code": "a"}, {"code": "b"}]})),
        vs("open", "Open", json!({"system": OPEN_CS})),
        vs("open-max", "Open Max", json!({"system": OPEN_CS})),
    ]
}

fn vs(id: &str) -> String {
    format!("http://example.org/fhir/ValueSet/{id}")
}

fn profile(name: &str, type_name: &str, elements: Value) -> Value {
    json!({"resourceType": "StructureDefinition", "url": format!("{BASE}{name}"), "name": name, "status": "draft",
        "fhirVersion": "4.0.1", "kind": "resource", "abstract": false, "type": type_name, "derivation": "constraint",
        "baseDefinition": format!("http://hl7.org/fhir/StructureDefinition/{type_name}"),
        "differential": {"element": elements}})
}

/// A binding of `strength` to `value_set`, with a max value set when given.
fn binding(strength: &str, value_set: &str, max: Option<&str>) -> Value {
    let mut b = json!({"strength": strength, "valueSet": value_set});
    if let Some(m) = max {
        b["extension"] = json!([{"url": "http://hl7.org/fhir/StructureDefinition/elementdefinition-maxValueSet", "valueCanonical": m}]);
    }
    b
}

fn bound(name: &str, type_name: &str, path: &str, binding: Value) -> Value {
    profile(name, type_name, json!([{"id": path, "path": path, "binding": binding}]))
}

/// A validator with the definitions on top of the packages, and `tx` as `--tx`.
fn validator(definitions: &[Value], tx: Option<&str>) -> Validator {
    let mut ctx = Context::overlay(common::context());
    for d in terminology().iter().chain(definitions) {
        ctx.add_json(d.clone(), "test");
    }
    Validator::new(Arc::new(ctx), Options { tx: tx.map(str::to_string), ..Options::default() })
}

fn issues(v: &Validator, resource: &Value) -> Vec<Issue> {
    v.validate_bytes(resource.to_string().as_bytes(), Some(careplan::tree::Format::Json))
}

/// The one issue with exactly this message, checked for severity, issue type and expression.
fn expect(issues: &[Issue], severity: Severity, code: IssueCode, expression: &str, message: &str) {
    let found: Vec<&Issue> = issues.iter().filter(|i| i.message == message).collect();
    assert!(!found.is_empty(), "no issue '{message}' in {issues:#?}");
    let i = found[0];
    assert_eq!((i.severity, i.code, i.expression.as_str()), (severity, code, expression), "{i:#?}");
}

/// A terminology server that is down: a loopback port nobody listens on.
fn server_down() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/fhir")
}

fn observation(profile: &str, code: Value) -> Value {
    json!({"resourceType": "Observation", "meta": {"profile": [format!("{BASE}{profile}")]}, "status": "final", "code": code})
}

fn encounter(profile: &str, class: Value) -> Value {
    json!({"resourceType": "Encounter", "meta": {"profile": [format!("{BASE}{profile}")]}, "status": "finished", "class": class})
}

/// A Group whose `name` (a string) carries the value.
fn group(profile: &str, name: &str) -> Value {
    json!({"resourceType": "Group", "meta": {"profile": [format!("{BASE}{profile}")]}, "type": "person", "actual": true, "name": name})
}

fn letter(code: &str) -> Value {
    json!({"coding": [{"system": CS, "code": code}]})
}

// ------------------------------------------------------------------ max value sets

#[test]
fn terminology_tx_novalid_8_and_binding_max() {
    let v = validator(&[bound("cc-max", "Observation", "Observation.code", binding("extensible", &vs("only-a"), Some(&vs("a-or-b"))))], None);
    let found = issues(&v, &observation("cc-max", letter("c")));
    expect(
        &found,
        Severity::Error,
        IssueCode::CodeInvalid,
        "Observation.code",
        &format!("None of the codes provided are in the maximum value set 'A or B' ({}|1) specified in the max binding, and a code from this value set is required) (codes = {CS}#c)", vs("a-or-b")),
    );
    // Within the max value set, the extensible binding only warns.
    let within = issues(&v, &observation("cc-max", letter("b")));
    assert!(!within.iter().any(|i| i.severity.is_error()), "{within:#?}");
    assert!(within.iter().any(|i| i.severity == Severity::Warning && i.message.starts_with("None of the codings provided are in the value set 'Only A'")), "{within:#?}");
}

#[test]
fn terminology_tx_novalid_10() {
    let v = validator(&[bound("coding-max", "Encounter", "Encounter.class", binding("extensible", &vs("only-a"), Some(&vs("a-or-b"))))], None);
    let found = issues(&v, &encounter("coding-max", json!({"system": CS, "code": "c"})));
    expect(
        &found,
        Severity::Error,
        IssueCode::CodeInvalid,
        "Encounter.class",
        &format!("The code provided is not in the maximum value set 'A or B' ({}|1) specified in the max binding, and a code from this value set is required) (code = {CS}#c)", vs("a-or-b")),
    );
    assert!(!issues(&v, &encounter("coding-max", json!({"system": CS, "code": "b"}))).iter().any(|i| i.severity.is_error()));
}

#[test]
fn terminology_tx_novalid_11() {
    let v = validator(&[bound("string-max", "Group", "Group.name", binding("extensible", &vs("only-a"), Some(&vs("a-or-b"))))], None);
    let found = issues(&v, &group("string-max", "c"));
    let url = vs("a-or-b");
    expect(
        &found,
        Severity::Error,
        IssueCode::CodeInvalid,
        "Group.name",
        &format!("The code provided is not in the maximum value set 'A or B' ({url}|1), and a code from this value set is required) (code = The provided code '#c' was not found in the value set '{url}|1'#{{2}}), error = {{3}})"),
    );
}

#[test]
fn terminology_tx_code_valuesetmax() {
    let v = validator(&[bound("cc-max-text", "Observation", "Observation.code", binding("extensible", &vs("only-a"), Some(&vs("a-or-b"))))], None);
    let found = issues(&v, &observation("cc-max-text", json!({"text": "a letter"})));
    expect(
        &found,
        Severity::Error,
        IssueCode::CodeInvalid,
        "Observation.code",
        &format!("No code provided, and a code must be provided from the value set {} (max value set {}|1)", vs("a-or-b"), vs("only-a")),
    );
}

#[test]
fn terminology_tx_novalid_7() {
    let v = validator(&[bound("cc-max-down", "Observation", "Observation.code", binding("extensible", &vs("open"), Some(&vs("open-max"))))], Some(&server_down()));
    let found = issues(&v, &observation("cc-max-down", json!({"coding": [{"system": OPEN_CS, "code": "x"}]})));
    expect(
        &found,
        Severity::Warning,
        IssueCode::CodeInvalid,
        "Observation.code",
        &format!("None of the codes provided could be validated against the maximum value set 'Open Max' ({}|1) specified in the max binding, (error = {{2}})", vs("open-max")),
    );
}

#[test]
fn terminology_tx_novalid_9() {
    let v = validator(&[bound("coding-max-down", "Encounter", "Encounter.class", binding("extensible", &vs("open"), Some(&vs("open-max"))))], Some(&server_down()));
    let found = issues(&v, &encounter("coding-max-down", json!({"system": OPEN_CS, "code": "x"})));
    let prefix = format!("The code provided ({OPEN_CS}#x) could not be validated against the maximum value set 'Open Max' ({}|1) specified in the max binding, (error = ", vs("open-max"));
    let i = found.iter().find(|i| i.message.starts_with(&prefix)).unwrap_or_else(|| panic!("{found:#?}"));
    assert_eq!((i.severity, i.code, i.expression.as_str()), (Severity::Warning, IssueCode::CodeInvalid, "Encounter.class"));
}

// --------------------------------------------------------- a server that fails

fn confirm_cc(strength: &str) -> Vec<Issue> {
    let name = format!("cc-{strength}-down");
    let v = validator(&[bound(&name, "Observation", "Observation.code", binding(strength, &vs("open"), None))], Some(&server_down()));
    issues(&v, &observation(&name, json!({"coding": [{"system": OPEN_CS, "code": "x"}]})))
}

#[test]
fn terminology_tx_confirm_1_cc() {
    expect(
        &confirm_cc("required"),
        Severity::Warning,
        IssueCode::CodeInvalid,
        "Observation.code",
        &format!("Could not confirm that the codings provided are in the value set {} and a coding from this value set is required (class = SERVER_ERROR)", vs("open")),
    );
}

#[test]
fn terminology_tx_confirm_2_cc() {
    expect(
        &confirm_cc("extensible"),
        Severity::Warning,
        IssueCode::CodeInvalid,
        "Observation.code",
        &format!("Could not confirm that the codings provided are in the value set {} and a coding should come from this value set unless it has no suitable code (the validator cannot judge what is suitable) (class = SERVER_ERROR)", vs("open")),
    );
}

#[test]
fn terminology_tx_confirm_3_cc() {
    expect(
        &confirm_cc("preferred"),
        Severity::Information,
        IssueCode::CodeInvalid,
        "Observation.code",
        &format!("Could not confirm that the codings provided are in the value set {} and a coding is recommended to come from this value set (class = SERVER_ERROR)", vs("open")),
    );
}

// ------------------------------------------------- without terminology services

#[test]
fn terminology_tx_nosvc_bound_req() {
    let v = validator(&[bound("cc-req-nosvc", "Observation", "Observation.code", binding("required", &vs("open"), None))], Some("n/a"));
    let found = issues(&v, &observation("cc-req-nosvc", json!({"coding": [{"system": OPEN_CS, "code": "x"}]})));
    expect(
        &found,
        Severity::Information,
        IssueCode::CodeInvalid,
        "Observation.code",
        &format!("Could not confirm that the codes provided are from the required value set {} because there is no terminology service", vs("open")),
    );
}

#[test]
fn terminology_tx_nosvc_bound_ext() {
    let v = validator(&[bound("cc-ext-nosvc", "Observation", "Observation.code", binding("extensible", &vs("open"), None))], Some("n/a"));
    let found = issues(&v, &observation("cc-ext-nosvc", json!({"coding": [{"system": OPEN_CS, "code": "x"}]})));
    expect(
        &found,
        Severity::Information,
        IssueCode::CodeInvalid,
        "Observation.code",
        &format!("Could not confirm that the codes provided are from the extensible value set {} because there is no terminology service", vs("open")),
    );
}

#[test]
fn terminology_tx_binding_noserver() {
    let v = validator(&[bound("coding-nosvc", "Encounter", "Encounter.class", binding("required", &vs("open"), None))], Some("n/a"));
    let found = issues(&v, &encounter("coding-nosvc", json!({"system": OPEN_CS, "code": "x"})));
    expect(&found, Severity::Information, IssueCode::CodeInvalid, "Encounter.class", &format!("The value provided ([{OPEN_CS}#x]) could not be validated in the absence of a terminology server"));
}

#[test]
fn terminology_tx_novalid_15() {
    let v = validator(&[bound("string-nosvc", "Group", "Group.name", binding("required", &vs("open"), None))], Some("n/a"));
    let found = issues(&v, &group("string-nosvc", "x"));
    expect(&found, Severity::Information, IssueCode::CodeInvalid, "Group.name", "The value provided ('x') could not be validated in the absence of a terminology server");
}

#[test]
fn error_validating_code_running_without_terminology_services() {
    let resource = json!({"resourceType": "Observation", "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0"}]}});
    let found = issues(&validator(&[], Some("n/a")), &resource);
    expect(
        &found,
        Severity::Warning,
        IssueCode::BusinessRule,
        "Observation.code.coding[0]",
        "Unable to validate code '2339-0' in system 'http://loinc.org' because the validator is running without terminology services",
    );
    // With no `--tx` at all, careplan says nothing of codes it cannot decide.
    assert!(!issues(&validator(&[], None), &resource).iter().any(|i| i.message.contains("without terminology services")));
}

// ------------------------------------------------------------- additional bindings

/// Observation.code with an example binding and an additional binding (the
/// R4 tools extension) of `purpose` to `only-a`, limited by `usage` when given.
fn additional(name: &str, purpose: &str, usage: Option<Value>) -> Value {
    let mut parts = vec![json!({"url": "purpose", "valueCode": purpose}), json!({"url": "valueSet", "valueCanonical": vs("only-a")})];
    if let Some(u) = usage {
        parts.push(json!({"url": "usage", "valueUsageContext": u}));
    }
    let b = json!({"strength": "example", "valueSet": "http://hl7.org/fhir/ValueSet/observation-codes",
        "extension": [{"url": "http://hl7.org/fhir/tools/StructureDefinition/additional-binding", "extension": parts}]});
    bound(name, "Observation", "Observation.code", b)
}

#[test]
fn binding_additional_d() {
    let v = validator(&[additional("additional-d", "required", None)], None);
    let found = issues(&v, &observation("additional-d", letter("c")));
    expect(
        &found,
        Severity::Error,
        IssueCode::CodeInvalid,
        "Observation.code",
        &format!("None of the codings provided are in the value set 'Only A' ({}|1) specified in an additional binding, and a coding from this value set is required) (codes = {CS}#c)", vs("only-a")),
    );
}

/// The usage context names a path of the profile's own content
/// (`Observation.category`) and the value that makes the binding apply.
fn vital_signs_usage() -> Value {
    json!({"code": {"system": format!("{BASE}additional-uc"), "code": "Observation.category"},
        "valueCodeableConcept": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}})
}

#[test]
fn binding_additional_uc_and_usage() {
    let v = validator(&[additional("additional-uc", "required", Some(vital_signs_usage()))], None);
    let mut o = observation("additional-uc", letter("c"));
    o["category"] = json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}]);
    let found = issues(&v, &o);
    expect(
        &found,
        Severity::Error,
        IssueCode::CodeInvalid,
        "Observation.code",
        &format!(
            "None of the codings provided are in the value set 'Only A' ({}|1) specified in an additional binding which applies because Observation.category = vital-signs, and a coding from this value set is required) (codes = {CS}#c)",
            vs("only-a")
        ),
    );
    // Another category: the binding does not apply.
    o["category"] = json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}]);
    let other = issues(&v, &o);
    assert!(!other.iter().any(|i| i.message.contains("additional binding")), "{other:#?}");
}

// ------------------------------------------------------- bindings with no value set

#[test]
fn terminology_tx_binding_nosource() {
    let found = issues(&validator(&[], None), &json!({"resourceType": "Group", "type": "person", "actual": true, "code": {"text": "a group"}}));
    expect(
        &found,
        Severity::Information,
        IssueCode::CodeInvalid,
        "Group.code",
        "Binding for path Group.code in profile StructureDefinition[http://hl7.org/fhir/StructureDefinition/Group|4.0.1] has no source, so can't be checked",
    );
}
