//! What the reference's value set checker says when it checks a code
//! against a value set or against its code system alone (the standing of
//! the systems and value sets used, codes in another case), and the ValueSet
//! resource rules that ask it about filter values: one test per message
//! key, each on small definitions made for it.

mod common;

use careplan::context::Context;
use careplan::issue::{Issue, IssueCode, Severity};
use careplan::validator::{Options, Validator};
use serde_json::{json, Value};
use std::sync::Arc;

const STANDARDS_STATUS: &str = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status";

/// A complete code system at `url`, version 1, with `extra` fields on top.
fn code_system(url: &str, extra: Value) -> Value {
    let mut cs = json!({"resourceType": "CodeSystem", "url": url, "version": "1", "name": "Shapes", "status": "active", "content": "complete",
        "concept": [{"code": "circle", "display": "Circle"}, {"code": "square", "display": "Square"},
            {"code": "oval", "display": "Oval", "property": [{"code": "status", "valueCode": "retired"}]}]});
    for (k, v) in extra.as_object().unwrap() {
        cs[k] = v.clone();
    }
    cs
}

fn validate(definitions: &[Value], resource: &Value, options: Options) -> Vec<Issue> {
    let mut ctx = Context::overlay(common::context());
    for d in definitions {
        ctx.add_json(d.clone(), "test");
    }
    Validator::new(Arc::new(ctx), options).validate_bytes(resource.to_string().as_bytes(), Some(careplan::tree::Format::Json))
}

fn issues(definitions: &[Value], resource: &Value) -> Vec<Issue> {
    validate(definitions, resource, Options::default())
}

/// The one issue with this severity, code and expression whose message is `message`.
fn assert_issue(issues: &[Issue], severity: Severity, code: IssueCode, expression: &str, message: &str) {
    let found = issues.iter().filter(|i| i.severity == severity && i.code == code && i.expression == expression && i.message == message).count();
    assert_eq!(found, 1, "wanted {severity:?} {code:?} at {expression}: {message}\n{issues:#?}");
}

fn none_say(issues: &[Issue], fragment: &str) {
    assert!(!issues.iter().any(|i| i.message.contains(fragment)), "{issues:#?}");
}

/// A Basic whose code (an example binding: checked against its systems alone) holds these codings.
fn basic(codings: Value) -> Value {
    json!({"resourceType": "Basic", "code": {"coding": codings}})
}

/// A Patient with one tag (a Coding with an example binding).
fn tagged(system: &str, code: &str) -> Value {
    json!({"resourceType": "Patient", "meta": {"tag": [{"system": system, "code": code}]}})
}

#[test]
fn msg_draft() {
    let cs = "http://example.org/cs/draft-shapes";
    let found = issues(&[code_system(cs, json!({"status": "draft"}))], &basic(json!([{"system": cs, "code": "circle"}, {"system": cs, "code": "square"}])));
    // Said once for the CodeableConcept, whose codings are checked together.
    assert_issue(&found, Severity::Information, IssueCode::BusinessRule, "Basic.code", &format!("Reference to draft CodeSystem {cs}|1"));
    // An active system says nothing.
    let active = "http://example.org/cs/active-shapes";
    none_say(&issues(&[code_system(active, json!({}))], &basic(json!([{"system": active, "code": "circle"}]))), "Reference to");
}

#[test]
fn msg_draft_from_a_value_set_that_is_not_draft() {
    // Patient.maritalStatus has an extensible binding in the base (its own codes decide
    // there); the profile binds it to a value set over a draft system.
    let cs = "http://example.org/cs/draft-shapes";
    let vs = |status: &str| json!({"resourceType": "ValueSet", "url": "http://example.org/vs/shapes", "version": "2", "name": "Shapes", "status": status,
        "compose": {"include": [{"system": cs}]}});
    let profile = json!({"resourceType": "StructureDefinition", "url": "http://example.org/sd/shaped-patient-status", "name": "ShapedPatientStatus", "status": "active",
        "fhirVersion": "4.0.1", "kind": "resource", "abstract": false, "type": "Patient", "derivation": "constraint",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient",
        "differential": {"element": [{"id": "Patient.maritalStatus", "path": "Patient.maritalStatus", "binding": {"strength": "required", "valueSet": "http://example.org/vs/shapes"}}]}});
    let resource = json!({"resourceType": "Patient", "meta": {"profile": ["http://example.org/sd/shaped-patient-status"]},
        "maritalStatus": {"coding": [{"system": cs, "code": "circle"}]}});
    let found = issues(&[code_system(cs, json!({"status": "draft"})), vs("active"), profile.clone()], &resource);
    assert_issue(&found, Severity::Information, IssueCode::BusinessRule, "Patient.maritalStatus", &format!("Reference to draft CodeSystem {cs}|1"));
    // A draft value set may draw on a draft system.
    let found = issues(&[code_system(cs, json!({"status": "draft"})), vs("draft"), profile], &resource);
    none_say(&found, "Reference to draft");
}

#[test]
fn msg_retired() {
    let cs = "http://example.org/cs/retired-shapes";
    let found = issues(&[code_system(cs, json!({"status": "retired"}))], &tagged(cs, "circle"));
    assert_issue(&found, Severity::Information, IssueCode::BusinessRule, "Patient.meta.tag[0]", &format!("Reference to retired CodeSystem {cs}|1"));
}

#[test]
fn msg_retired_value_set() {
    let cs = "http://example.org/cs/active-shapes";
    let vs = json!({"resourceType": "ValueSet", "url": "http://example.org/vs/old-shapes", "version": "3", "name": "OldShapes", "status": "retired",
        "compose": {"include": [{"system": cs}]}});
    let profile = json!({"resourceType": "StructureDefinition", "url": "http://example.org/sd/old-shaped-basic", "name": "OldShapedBasic", "status": "active",
        "fhirVersion": "4.0.1", "kind": "resource", "abstract": false, "type": "Basic", "derivation": "constraint",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Basic",
        "differential": {"element": [{"id": "Basic.code", "path": "Basic.code", "binding": {"strength": "extensible", "valueSet": "http://example.org/vs/old-shapes"}}]}});
    let mut resource = basic(json!([{"system": cs, "code": "circle"}]));
    resource["meta"] = json!({"profile": ["http://example.org/sd/old-shaped-basic"]});
    let found = issues(&[code_system(cs, json!({})), vs, profile], &resource);
    assert_issue(&found, Severity::Information, IssueCode::BusinessRule, "Basic.code", "Reference to retired ValueSet http://example.org/vs/old-shapes|3");
}

#[test]
fn msg_deprecated() {
    let cs = "http://example.org/cs/deprecated-shapes";
    let found = issues(&[code_system(cs, json!({"extension": [{"url": STANDARDS_STATUS, "valueCode": "deprecated"}]}))], &tagged(cs, "square"));
    assert_issue(&found, Severity::Information, IssueCode::BusinessRule, "Patient.meta.tag[0]", &format!("Reference to deprecated CodeSystem {cs}|1"));
}

#[test]
fn msg_withdrawn() {
    let cs = "http://example.org/cs/withdrawn-shapes";
    let found = issues(&[code_system(cs, json!({"extension": [{"url": STANDARDS_STATUS, "valueCode": "withdrawn"}]}))], &basic(json!([{"system": cs, "code": "square"}])));
    assert_issue(&found, Severity::Information, IssueCode::BusinessRule, "Basic.code", &format!("Reference to withdrawn CodeSystem {cs}|1"));
}

#[test]
fn msg_experimental() {
    let cs = "http://example.org/cs/experimental-shapes";
    let defs = [code_system(cs, json!({"experimental": true}))];
    // Said for publication only, as the reference's instance validator does.
    let found = validate(&defs, &tagged(cs, "circle"), Options { for_publication: true, ..Options::default() });
    assert_issue(&found, Severity::Information, IssueCode::BusinessRule, "Patient.meta.tag[0]", &format!("Reference to experimental CodeSystem {cs}|1"));
    none_say(&issues(&defs, &tagged(cs, "circle")), "Reference to experimental");
}

#[test]
fn code_case_difference() {
    let cs = "http://example.org/cs/loose-shapes";
    let defs = [code_system(cs, json!({"caseSensitive": false}))];
    let found = issues(&defs, &basic(json!([{"system": cs, "code": "Circle"}])));
    assert_issue(
        &found,
        Severity::Information,
        IssueCode::BusinessRule,
        "Basic.code.coding[0].code",
        &format!("The code 'Circle' differs from the correct code 'circle' by case. Although the code system '{cs}|1' is case insensitive, implementers are strongly encouraged to use the correct case anyway"),
    );
    none_say(&issues(&defs, &basic(json!([{"system": cs, "code": "circle"}]))), "differs from the correct code");
}

/// A ValueSet over the shapes system with one filter.
fn filtered(cs: &str, property: &str, op: &str, value: &str) -> Value {
    json!({"resourceType": "ValueSet", "url": "http://example.org/vs/filtered", "version": "1", "name": "Filtered", "status": "draft",
        "compose": {"include": [{"system": cs, "filter": [{"property": property, "op": op, "value": value}]}]}})
}

const FILTER: &str = "ValueSet.compose.include[0].filter[0]";

#[test]
fn valueset_bad_filter_value_valid_code_inactive() {
    let cs = "http://example.org/cs/shapes";
    let defs = [code_system(cs, json!({"hierarchyMeaning": "is-a"}))];
    let found = issues(&defs, &filtered(cs, "concept", "is-a", "oval"));
    assert_issue(&found, Severity::Warning, IssueCode::Invalid, FILTER, "The code for the filter 'concept' is inactive ('oval')");
    none_say(&issues(&defs, &filtered(cs, "concept", "is-a", "circle")), "is inactive");
}

#[test]
fn valueset_bad_filter_value_coded_invalid() {
    let cs = "http://example.org/cs/shapes";
    let defs = [code_system(cs, json!({"property": [{"code": "like", "type": "Coding"}]}))];
    let value = format!("{cs}#triangle");
    let found = issues(&defs, &filtered(cs, "like", "=", &value));
    assert_issue(
        &found,
        Severity::Error,
        IssueCode::Invalid,
        FILTER,
        &format!("The value for a filter based on property 'like' is '{value}' which is not a valid code (Unknown code 'triangle' in the CodeSystem '{cs}' version '1')"),
    );
    none_say(&issues(&defs, &filtered(cs, "like", "=", &format!("{cs}#square"))), "which is not a valid code");
}

/// A profile binding Patient.gender (a bare code) to `vs`, required.
fn gender_bound_to(vs: &str) -> Value {
    json!({"resourceType": "StructureDefinition", "url": "http://example.org/sd/shaped-patient", "name": "ShapedPatient", "status": "active",
        "fhirVersion": "4.0.1", "kind": "resource", "abstract": false, "type": "Patient", "derivation": "constraint",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient",
        "differential": {"element": [{"id": "Patient.gender", "path": "Patient.gender", "binding": {"strength": "required", "valueSet": vs}}]}})
}

fn shaped_patient(gender: &str) -> Value {
    json!({"resourceType": "Patient", "meta": {"profile": ["http://example.org/sd/shaped-patient"]}, "gender": gender})
}

#[test]
fn unable_to_resolve_system_value_set_has_multiple_matches() {
    let (a, b) = ("http://example.org/cs/shapes-a", "http://example.org/cs/shapes-b");
    let vs = json!({"resourceType": "ValueSet", "url": "http://example.org/vs/two", "version": "1", "name": "Two", "status": "active",
        "compose": {"include": [{"system": b}, {"system": a}]}});
    let defs = [code_system(a, json!({})), code_system(b, json!({"concept": [{"code": "circle"}, {"code": "star"}]})), vs, gender_bound_to("http://example.org/vs/two")];
    let found = issues(&defs, &shaped_patient("circle"));
    let problem = format!("The System URI could not be determined for the code 'circle' in the ValueSet 'http://example.org/vs/two|1': value set expansion has multiple matches: {a}, {b}");
    assert_issue(&found, Severity::Error, IssueCode::NotFound, "Patient.gender", &problem);
    assert_issue(
        &found,
        Severity::Error,
        IssueCode::CodeInvalid,
        "Patient.gender",
        &format!("The value provided ('circle') was not found in the value set 'Two' (http://example.org/vs/two|1), and a code is required from this value set  (error message = {problem}; The provided code '#circle' was not found in the value set 'http://example.org/vs/two|1')"),
    );
    // A code only one system holds is found.
    none_say(&issues(&defs, &shaped_patient("star")), "multiple matches");
}

#[test]
fn unable_to_resolve_system_value_set_has_include_with_no_system() {
    let vs = json!({"resourceType": "ValueSet", "url": "http://example.org/vs/nosys", "version": "1", "name": "NoSys", "status": "active",
        "compose": {"include": [{"concept": [{"code": "circle"}]}]}});
    let found = issues(&[vs, gender_bound_to("http://example.org/vs/nosys")], &shaped_patient("circle"));
    assert_issue(&found, Severity::Error, IssueCode::NotFound, "Patient.gender", "Unable to resolve system - value set circle include #http://example.org/vs/nosys|1 has no system");
}

#[test]
fn no_code_provided_version() {
    let cs = "http://example.org/cs/shapes";
    let found = issues(&[code_system(cs, json!({}))], &basic(json!([{"system": cs, "display": "Circle"}])));
    assert_issue(&found, Severity::Warning, IssueCode::Value, "Basic.code.coding[0].code", &format!("No code provided for CodeSystem '{cs}' version '1'"));
}

#[test]
fn no_code_provided() {
    let cs = "http://example.org/cs/shapes";
    let mut unversioned = code_system(cs, json!({}));
    unversioned.as_object_mut().unwrap().remove("version");
    let found = issues(&[unversioned], &basic(json!([{"system": cs, "display": "Circle"}])));
    assert_issue(&found, Severity::Warning, IssueCode::Value, "Basic.code.coding[0].code", &format!("No code provided for CodeSystem '{cs}'"));
    none_say(&issues(&[code_system(cs, json!({}))], &basic(json!([{"system": cs, "code": "circle"}]))), "No code provided");
}

#[test]
fn unable_to_resolve_system_value_set_has_no_includes_or_expansion() {
    let vs = json!({"resourceType": "ValueSet", "url": "http://example.org/vs/empty", "version": "1", "name": "Empty", "status": "active", "compose": {"include": []}});
    let found = issues(&[vs, gender_bound_to("http://example.org/vs/empty")], &shaped_patient("circle"));
    let first = "The System URI could not be determined for the code 'circle' in the ValueSet 'http://example.org/vs/empty|1': value set has no includes or expansion";
    let second = "The System URI could not be determined for the code 'circle' in the ValueSet 'http://example.org/vs/empty|1'";
    assert_issue(&found, Severity::Error, IssueCode::Unknown, "Patient.gender", first);
    assert_issue(&found, Severity::Error, IssueCode::Unknown, "Patient.gender", second);
    assert_issue(
        &found,
        Severity::Error,
        IssueCode::CodeInvalid,
        "Patient.gender",
        &format!("The value provided ('circle') was not found in the value set 'Empty' (http://example.org/vs/empty|1), and a code is required from this value set  (error message = {first}; {second})"),
    );
}

#[test]
fn concept_deprecated_in_valueset() {
    let cs = "http://example.org/cs/shapes";
    let vs = json!({"resourceType": "ValueSet", "url": "http://example.org/vs/listed", "version": "4", "name": "Listed", "status": "active",
        "compose": {"include": [{"system": cs, "concept": [
            {"code": "circle", "extension": [{"url": STANDARDS_STATUS, "valueCode": "withdrawn"}]},
            {"code": "square", "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/valueset-deprecated", "valueBoolean": true}]}
        ]}]}});
    let profile = json!({"resourceType": "StructureDefinition", "url": "http://example.org/sd/listed-patient-status", "name": "ListedPatientStatus", "status": "active",
        "fhirVersion": "4.0.1", "kind": "resource", "abstract": false, "type": "Patient", "derivation": "constraint",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient",
        "differential": {"element": [{"id": "Patient.maritalStatus", "path": "Patient.maritalStatus", "binding": {"strength": "required", "valueSet": "http://example.org/vs/listed"}}]}});
    let resource = json!({"resourceType": "Patient", "meta": {"profile": ["http://example.org/sd/listed-patient-status"]},
        "maritalStatus": {"coding": [{"system": cs, "code": "circle"}, {"system": cs, "code": "square"}]}});
    let found = issues(&[code_system(cs, json!({})), vs, profile], &resource);
    assert_issue(
        &found,
        Severity::Warning,
        IssueCode::BusinessRule,
        "Patient.maritalStatus.coding[0].code",
        &format!("The presence of the concept 'circle' in the system '{cs}' in the value set http://example.org/vs/listed|4 is marked with a status of withdrawn and its use should be reviewed"),
    );
    assert_issue(
        &found,
        Severity::Warning,
        IssueCode::BusinessRule,
        "Patient.maritalStatus.coding[1].code",
        &format!("The presence of the concept 'square' in the system '{cs}' in the value set http://example.org/vs/listed|4 is marked with a status of deprecated and its use should be reviewed"),
    );
}
