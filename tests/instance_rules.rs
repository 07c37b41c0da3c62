//! Rules the reference validator raises in InstanceValidator, one test per
//! rule, each on a small resource made for it.

mod common;

use common::issues_with;

use careplan::issue::{Issue, IssueCode, Severity};
use serde_json::{json, Value};

const BASE: &str = "http://example.org/fhir/StructureDefinition/";
const CORE: &str = "http://hl7.org/fhir/StructureDefinition/";

/// The one issue with this severity, code and expression whose message is `message`.
fn assert_issue(issues: &[Issue], severity: Severity, code: IssueCode, expression: &str, message: &str) {
    let found = issues.iter().filter(|i| i.severity == severity && i.code == code && i.expression == expression && i.message == message).count();
    assert_eq!(found, 1, "wanted {severity:?} {code:?} at {expression}: {message}\n{issues:#?}");
}

fn none_say(issues: &[Issue], fragment: &str) {
    assert!(!issues.iter().any(|i| i.message.contains(fragment)), "{issues:#?}");
}

/// A constraint profile on a core type, as a differential.
fn profile(name: &str, type_name: &str, elements: Value) -> Value {
    json!({"resourceType": "StructureDefinition", "url": format!("{BASE}{name}"), "name": name, "status": "draft",
        "fhirVersion": "4.0.1", "kind": "resource", "abstract": false, "type": type_name, "derivation": "constraint",
        "baseDefinition": format!("{CORE}{type_name}"), "differential": {"element": elements}})
}

fn with_profile(name: &str, mut resource: Value) -> Value {
    resource["meta"] = json!({"profile": [format!("{BASE}{name}")]});
    resource
}

// ---------- integers and decimals ----------

#[test]
fn positive_int_out_of_32_bit_range_is_not_a_valid_integer() {
    // The reference reads integer, unsignedInt and positiveInt all as a 32-bit integer first.
    let issues = issues_with(&[], &json!({"resourceType": "Coverage", "status": "active", "order": 3000000000u64}));
    let i = issues.iter().find(|i| i.expression == "Coverage.order").expect("an issue");
    assert_eq!((i.severity, i.code), (Severity::Error, IssueCode::Invalid));
    assert!(i.message.starts_with("The value '3000000000' is not a valid integer"), "{i:?}");
}

#[test]
fn unsigned_int_below_zero() {
    let issues = issues_with(&[], &json!({"resourceType": "Patient", "photo": [{"contentType": "image/png", "size": -1}]}));
    assert_issue(&issues, Severity::Error, IssueCode::Invalid, "Patient.photo[0].size", "value is less than permitted minimum value of 0");
}

#[test]
fn positive_int_below_one() {
    let issues = issues_with(&[], &json!({"resourceType": "Coverage", "status": "active", "order": 0}));
    assert_issue(&issues, Severity::Error, IssueCode::Invalid, "Coverage.order", "value is less than permitted minimum value of 1");
}

fn limits() -> Value {
    profile(
        "limits",
        "Patient",
        json!([
            {"id": "Patient.multipleBirth[x]", "path": "Patient.multipleBirth[x]", "type": [{"code": "integer"}], "minValueInteger": 1, "maxValueInteger": 9}
        ]),
    )
}

#[test]
fn integer_above_max_value() {
    let issues = issues_with(&[limits()], &with_profile("limits", json!({"resourceType": "Patient", "multipleBirthInteger": 12})));
    assert_issue(&issues, Severity::Error, IssueCode::Invalid, "Patient.multipleBirth.ofType(integer)", "integer value is greater than permitted maximum value of 9");
}

#[test]
fn integer_below_min_value() {
    let issues = issues_with(&[limits()], &with_profile("limits", json!({"resourceType": "Patient", "multipleBirthInteger": 0})));
    assert_issue(&issues, Severity::Error, IssueCode::Invalid, "Patient.multipleBirth.ofType(integer)", "integer value is less than permitted minimum value of 1");
}

fn dose_limits() -> Value {
    profile(
        "dose-limits",
        "Observation",
        json!([
            {"id": "Observation.value[x]", "path": "Observation.value[x]", "type": [{"code": "Quantity"}]},
            {"id": "Observation.value[x].value", "path": "Observation.value[x].value", "minValueDecimal": 0.5, "maxValueDecimal": 2.5}
        ]),
    )
}

fn observation_with_value(v: f64) -> Value {
    with_profile(
        "dose-limits",
        json!({"resourceType": "Observation", "status": "final", "code": {"text": "dose"}, "valueQuantity": {"value": v}}),
    )
}

#[test]
fn decimal_above_max_value() {
    let issues = issues_with(&[dose_limits()], &observation_with_value(3.5));
    assert_issue(&issues, Severity::Error, IssueCode::Invalid, "Observation.value.ofType(Quantity).value", "decimal value is greater than permitted maximum value of 2.5");
}

#[test]
fn decimal_below_min_value() {
    let issues = issues_with(&[dose_limits()], &observation_with_value(0.25));
    assert_issue(&issues, Severity::Error, IssueCode::Invalid, "Observation.value.ofType(Quantity).value", "decimal value is less than permitted minimum value of 0.5");
}

fn period_limits() -> Value {
    profile(
        "period-limits",
        "Encounter",
        json!([
            {"id": "Encounter.period.start", "path": "Encounter.period.start", "minValueDateTime": "2020-01-01", "maxValueDateTime": "2030-01-01"}
        ]),
    )
}

fn encounter_starting(start: &str) -> Value {
    with_profile(
        "period-limits",
        json!({"resourceType": "Encounter", "status": "finished", "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}, "period": {"start": start}}),
    )
}

#[test]
fn date_time_above_max_value() {
    let issues = issues_with(&[period_limits()], &encounter_starting("2031-05-01"));
    assert_issue(&issues, Severity::Error, IssueCode::Invalid, "Encounter.period.start", "date/time value is greater than permitted maximum value of 2030-01-01");
}

#[test]
fn date_time_below_min_value() {
    let issues = issues_with(&[period_limits()], &encounter_starting("2019-05-01"));
    assert_issue(&issues, Severity::Error, IssueCode::Invalid, "Encounter.period.start", "date/time value is less than permitted minimum value of 2020-01-01");
}

// ---------- contained resources ----------

#[test]
fn contained_orphan_names_dom_3() {
    let issues = issues_with(
        &[],
        &json!({"resourceType": "Patient", "contained": [{"resourceType": "Organization", "id": "alone", "name": "Acme"}], "active": true}),
    );
    assert_issue(
        &issues,
        Severity::Error,
        IssueCode::Invalid,
        "Patient.contained[0]",
        "The contained resource 'alone' is not referenced to from elsewhere in the containing resource nor does it refer to the containing resource (dom-3)",
    );
}

// ---------- extensions ----------

const BIRTH_PLACE: &str = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace";
const NATIONALITY: &str = "http://hl7.org/fhir/StructureDefinition/patient-nationality";

#[test]
fn simple_extension_without_a_value() {
    let issues = issues_with(&[], &json!({"resourceType": "Patient", "extension": [{"url": BIRTH_PLACE}]}));
    assert_issue(
        &issues,
        Severity::Error,
        IssueCode::Structure,
        "Patient.extension[0]",
        &format!("The Extension '{BIRTH_PLACE}' definition is for a simple extension, so it must contain a value"),
    );
    let fine = issues_with(&[], &json!({"resourceType": "Patient", "extension": [{"url": BIRTH_PLACE, "valueAddress": {"city": "Leeds"}}]}));
    none_say(&fine, "simple extension");
}

#[test]
fn simple_extension_with_extensions_instead_of_a_value() {
    let issues = issues_with(
        &[],
        &json!({"resourceType": "Patient", "extension": [{"url": BIRTH_PLACE, "extension": [{"url": "city", "valueString": "Leeds"}]}]}),
    );
    assert_issue(
        &issues,
        Severity::Error,
        IssueCode::Structure,
        "Patient.extension[0]",
        &format!("The Extension '{BIRTH_PLACE}' definition is for a simple extension, so it must contain a value, not extensions"),
    );
}

#[test]
fn sub_extension_the_complex_extension_does_not_define() {
    let issues = issues_with(
        &[],
        &json!({"resourceType": "Patient", "extension": [{"url": NATIONALITY, "extension": [
            {"url": "code", "valueCodeableConcept": {"text": "British"}},
            {"url": "colour", "valueString": "red"}
        ]}]}),
    );
    let sd = common::context().structure(NATIONALITY).expect("the nationality extension").versioned_url();
    assert_issue(
        &issues,
        Severity::Error,
        IssueCode::Invalid,
        "Patient.extension[0].extension[1][url='colour']",
        &format!("Sub-extension url 'colour' is not defined by the Extension {sd}"),
    );
    none_say(&issues, "Sub-extension url 'code'");
}

// ---------- references ----------

/// A profile on Observation whose subject must be held as `modes` say.
fn aggregation_profile(name: &str, modes: Value) -> Value {
    profile(
        name,
        "Observation",
        json!([{"id": "Observation.subject", "path": "Observation.subject",
            "type": [{"code": "Reference", "targetProfile": [format!("{CORE}Patient")], "aggregation": modes}]}]),
    )
}

fn observation_about(profile_name: &str, reference: &str, contained: bool) -> Value {
    let mut o = json!({"resourceType": "Observation", "status": "final", "code": {"text": "weight"}, "subject": {"reference": reference}});
    if contained {
        o["contained"] = json!([{"resourceType": "Patient", "id": "p1", "active": true}]);
    }
    with_profile(profile_name, o)
}

#[test]
fn contained_target_where_only_referenced_is_allowed() {
    let issues = issues_with(&[aggregation_profile("ref-only", json!(["referenced"]))], &observation_about("ref-only", "#p1", true));
    assert_issue(
        &issues,
        Severity::Error,
        IssueCode::Structure,
        "Observation.subject",
        "Reference is contained which isn't supported by the specified aggregation mode(s) for the reference (referenced)",
    );
}

#[test]
fn target_not_found_where_only_contained_or_bundled_is_allowed() {
    let issues = issues_with(&[aggregation_profile("held", json!(["contained", "bundled"]))], &observation_about("held", "Patient/p9", false));
    assert_issue(
        &issues,
        Severity::Error,
        IssueCode::Required,
        "Observation.subject",
        "Bundled or contained reference not found within the bundle/resource Patient/p9",
    );
    let fine = issues_with(&[aggregation_profile("held", json!(["contained", "bundled"]))], &observation_about("held", "#p1", true));
    none_say(&fine, "aggregation");
    none_say(&fine, "not found within");
}

#[test]
fn conditional_reference_with_an_invalid_query() {
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [{
        "fullUrl": "urn:uuid:0b6c1a5e-1d1c-4a8e-9a0e-6c1b5d1e2f3a",
        "resource": {"resourceType": "Observation", "status": "final", "code": {"text": "weight"}, "subject": {"reference": "Patient?identifier"}},
        "request": {"method": "POST", "url": "Observation"}}]});
    let issues = issues_with(&[], &bundle);
    assert_issue(
        &issues,
        Severity::Error,
        IssueCode::Invalid,
        "Bundle.entry[0].resource.subject",
        "The query part of the conditional reference is not a valid query string (Patient?identifier)",
    );
    let mut good = bundle.clone();
    good["entry"][0]["resource"]["subject"]["reference"] = json!("Patient?identifier=http://example.org/mrn|123");
    none_say(&issues_with(&[], &good), "conditional reference");
}

// ---------- blank primitives ----------

#[test]
fn primitive_of_only_whitespace() {
    let issues = issues_with(&[], &json!({"resourceType": "Patient", "name": [{"family": " \t "}]}));
    assert_issue(&issues, Severity::Warning, IssueCode::Invalid, "Patient.name[0].family", "Primitive types should not only be whitespace");
    none_say(&issues, "value should not be all whitespace");
}

#[test]
fn blank_code_where_a_required_binding_asks_for_one() {
    let issues = issues_with(&[], &json!({"resourceType": "Patient", "gender": "  "}));
    assert_issue(&issues, Severity::Error, IssueCode::CodeInvalid, "Patient.gender", "No code provided, and a code is required from the value set");
    none_say(&issues, "was not found in the value set");
}

// ---------- Bundle entries ----------

#[test]
fn reference_from_an_entry_without_a_full_url() {
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "weight"}, "subject": {"reference": "Patient/p1"}}},
        {"fullUrl": "http://example.org/fhir/Patient/p1", "resource": {"resourceType": "Patient", "id": "p1", "active": true}}
    ]});
    let issues = issues_with(&[], &bundle);
    assert_issue(&issues, Severity::Error, IssueCode::Required, "Bundle.entry[0]", "Bundle entry missing fullUrl");
    let mut response = bundle.clone();
    response["type"] = json!("batch-response");
    none_say(&issues_with(&[], &response), "Bundle entry missing fullUrl");
}

// ---------- fixed values and their extensions ----------

fn fixed_status() -> Value {
    profile("fixed-status", "Observation", json!([{"id": "Observation.status", "path": "Observation.status", "fixedCode": "final"}]))
}

#[test]
fn extension_on_an_element_whose_fixed_value_has_none() {
    let obs = with_profile(
        "fixed-status",
        json!({"resourceType": "Observation", "status": "final", "_status": {"extension": [{"url": "http://example.org/note", "valueString": "checked"}]}, "code": {"text": "weight"}}),
    );
    let issues = issues_with(&[fixed_status()], &obs);
    assert_issue(&issues, Severity::Error, IssueCode::Value, "Observation.status", "No extensions allowed, as the specified fixed value doesn't contain any extensions");
}

fn fixed_code_with_extension() -> Value {
    profile(
        "fixed-code-ext",
        "Observation",
        json!([{"id": "Observation.code", "path": "Observation.code",
            "fixedCodeableConcept": {"extension": [{"url": "http://example.org/origin", "valueString": "lab"}], "text": "weight"}}]),
    )
}

fn observation_code(code: Value) -> Value {
    with_profile("fixed-code-ext", json!({"resourceType": "Observation", "status": "final", "code": code}))
}

#[test]
fn fixed_value_extensions_counted() {
    let issues = issues_with(&[fixed_code_with_extension()], &observation_code(json!({"text": "weight"})));
    assert_issue(&issues, Severity::Error, IssueCode::Value, "Observation.code", "Extensions count mismatch: expected 1 but found 0");
}

#[test]
fn fixed_value_extension_not_found() {
    let code = json!({"extension": [{"url": "http://example.org/source", "valueString": "lab"}], "text": "weight"});
    let issues = issues_with(&[fixed_code_with_extension()], &observation_code(code));
    assert_issue(&issues, Severity::Error, IssueCode::Value, "Observation.code", "Extension count mismatch: unable to find extension: http://example.org/origin");
    let same = json!({"extension": [{"url": "http://example.org/origin", "valueString": "lab"}], "text": "weight"});
    none_say(&issues_with(&[fixed_code_with_extension()], &observation_code(same)), "Extension count mismatch");
}
