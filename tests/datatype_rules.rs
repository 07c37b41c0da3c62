//! The reference validator's rules on data type content (its
//! `TYPE_SPECIFIC_CHECKS_DT_*`, fixed and pattern parts, element value
//! extensions, bi-di controls, URIs), one test per rule, each on a small
//! resource made for it.

mod common;

use careplan::issue::{Issue, IssueCode, Severity};
use careplan::validator::{Options, Validator};
use serde_json::{json, Value};

const BASE: &str = "http://example.org/fhir/StructureDefinition/";
const CORE: &str = "http://hl7.org/fhir/StructureDefinition/";

fn issues(resource: Value) -> Vec<Issue> {
    common::issues_with(&[], &resource)
}

fn issues_with_options(options: Options, resource: Value) -> Vec<Issue> {
    Validator::new(common::context(), options).validate_bytes(resource.to_string().as_bytes(), Some(careplan::tree::Format::Json))
}

/// The one issue with this severity, code and expression whose message is `message`.
fn assert_issue(issues: &[Issue], severity: Severity, code: IssueCode, expression: &str, message: &str) {
    let found = issues.iter().filter(|i| i.severity == severity && i.code == code && i.expression == expression && i.message == message).count();
    assert_eq!(found, 1, "wanted {severity:?} {code:?} at {expression}: {message}\n{issues:#?}");
}

fn none_say(issues: &[Issue], fragment: &str) {
    assert!(!issues.iter().any(|i| i.message.contains(fragment)), "{issues:#?}");
}

/// A constraint profile on Patient, as a differential.
fn patient_profile(name: &str, elements: Value) -> Value {
    json!({"resourceType": "StructureDefinition", "url": format!("{BASE}{name}"), "name": name, "status": "draft",
        "fhirVersion": "4.0.1", "kind": "resource", "abstract": false, "type": "Patient", "derivation": "constraint",
        "baseDefinition": format!("{CORE}Patient"), "differential": {"element": elements}})
}

fn profiled(name: &str, mut resource: Value) -> Vec<Issue> {
    let elements = resource["_elements"].take();
    resource.as_object_mut().unwrap().remove("_elements");
    resource["meta"] = json!({"profile": [format!("{BASE}{name}")]});
    common::issues_with(&[patient_profile(name, elements)], &resource)
}

// ---------- Identifier ----------

#[test]
fn identifier_ietf_system_wrong_1() {
    let found = issues(json!({"resourceType": "Patient", "identifier": [{"system": "https://tools.ietf.org/html/rfc4122", "value": "abc"}]}));
    assert_issue(&found, Severity::Error, IssueCode::CodeInvalid, "Patient.identifier[0]", "The URL 'https://tools.ietf.org/html/rfc4122' is not correct for the identifier 'abc'");
}

#[test]
fn identifier_ietf_system_wrong_2() {
    let uuid = "3e1f2d3c-7b9a-4c8e-9f0a-1b2c3d4e5f60";
    let found = issues(json!({"resourceType": "Patient", "identifier": [{"system": "https://tools.ietf.org/html/rfc4122", "value": uuid}]}));
    assert_issue(
        &found,
        Severity::Warning,
        IssueCode::CodeInvalid,
        "Patient.identifier[0]",
        &format!("The URL 'https://tools.ietf.org/html/rfc4122' should not be used with the UUID '{uuid}'. Prefix the value with 'urn:uuid:' and use the system value 'urn:ietf:rfc:3986' instead"),
    );
}

#[test]
fn identifier_ietf_system_wrong_3() {
    let value = "urn:uuid:3e1f2d3c-7b9a-4c8e-9f0a-1b2c3d4e5f60";
    let found = issues(json!({"resourceType": "Patient", "identifier": [{"system": "https://tools.ietf.org/html/rfc4122", "value": value}]}));
    assert_issue(
        &found,
        Severity::Warning,
        IssueCode::CodeInvalid,
        "Patient.identifier[0]",
        &format!("The URL 'https://tools.ietf.org/html/rfc4122' should not be used with the UUID '{value}'. Use the system value 'urn:ietf:rfc:3986' instead"),
    );
}

// ---------- Attachment ----------

fn photo(attachment: Value) -> Vec<Issue> {
    issues(json!({"resourceType": "Patient", "photo": [attachment]}))
}

#[test]
fn attachment_base64_that_cannot_be_decoded() {
    // The hash is decoded whatever its lexical form; whitespace in data is R4's
    // warning alone (TYPE_SPECIFIC_CHECKS_DT_BASE64_NO_WS_WARNING).
    none_say(&photo(json!({"contentType": "text/plain", "data": "aGVs bG8="})), "is not valid base64");
    let bad = photo(json!({"contentType": "text/plain", "data": "aGVsbG8=", "hash": "AAAA.AAA"}));
    assert_issue(&bad, Severity::Error, IssueCode::Structure, "Patient.photo[0]", "The base64 content in the hash element is not valid base64: Illegal base64 character 2e");
    let hash = photo(json!({"contentType": "text/plain", "data": "aGVsbG8=", "hash": "qvTGHdzF6KLavt4PO0gs2a6pQ"}));
    assert_issue(&hash, Severity::Error, IssueCode::Structure, "Patient.photo[0]", "The base64 content in the hash element is not valid base64: Last unit does not have enough valid bits");
}

#[test]
fn attachment_hash_mismatch() {
    let found = photo(json!({"contentType": "text/plain", "data": "aGVsbG8=", "hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}));
    assert_issue(
        &found,
        Severity::Error,
        IssueCode::Structure,
        "Patient.photo[0]",
        "The hash of the data did not match the data (stated: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=', actual: 'qvTGHdzF6KLavt4PO0gs2a6pQ00=')",
    );
    // SHA-1 of "hello".
    none_say(&photo(json!({"contentType": "text/plain", "data": "aGVsbG8=", "hash": "qvTGHdzF6KLavt4PO0gs2a6pQ00="})), "hash of the data");
}

#[test]
fn attachment_size_invalid() {
    let found = photo(json!({"contentType": "text/plain", "data": "aGVsbG8=", "size": -5}));
    assert_issue(&found, Severity::Error, IssueCode::Structure, "Patient.photo[0]", "Stated Attachment Size -5 is not valid");
}

#[test]
fn attachment_too_long_for_max_size() {
    let found = profiled(
        "small-photo",
        json!({"resourceType": "Patient", "photo": [{"contentType": "text/plain", "data": "aGVsbG8="}],
            "_elements": [{"id": "Patient.photo", "path": "Patient.photo", "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/maxSize", "valueInteger": 2}]}]}),
    );
    assert_issue(&found, Severity::Error, IssueCode::Structure, "Patient.photo[0]", "Attachment size is 5 bytes which exceeds the stated limit of 2 bytes");
}

// ---------- element value extensions ----------

fn observation_profile(elements: Value) -> Value {
    json!({"resourceType": "StructureDefinition", "url": format!("{BASE}obs-values"), "name": "ObsValues", "status": "draft",
        "fhirVersion": "4.0.1", "kind": "resource", "abstract": false, "type": "Observation", "derivation": "constraint",
        "baseDefinition": format!("{CORE}Observation"), "differential": {"element": elements}})
}

fn observation(extra: Value) -> Value {
    let mut o = json!({"resourceType": "Observation", "meta": {"profile": [format!("{BASE}obs-values")]}, "status": "final",
        "code": {"text": "x"}});
    for (k, v) in extra.as_object().unwrap() {
        o[k] = v.clone();
    }
    o
}

#[test]
fn base64_too_long_for_max_size() {
    let profile = observation_profile(json!([
        {"id": "Observation.value[x]", "path": "Observation.value[x]", "type": [{"code": "Attachment"}]},
        {"id": "Observation.value[x].data", "path": "Observation.value[x].data", "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/maxSize", "valueInteger": 3}]}
    ]));
    let found = common::issues_with(&[profile], &observation(json!({"valueAttachment": {"contentType": "text/plain", "data": "aGVsbG8="}})));
    assert_issue(&found, Severity::Error, IssueCode::Structure, "Observation.value.ofType(Attachment).data", "Base64 size is 5 bytes which exceeds the stated limit of 3 bytes");
}

#[test]
fn decimal_places_beyond_max_decimal_places() {
    let profile = observation_profile(json!([
        {"id": "Observation.value[x]", "path": "Observation.value[x]", "type": [{"code": "Quantity"}]},
        {"id": "Observation.value[x].value", "path": "Observation.value[x].value", "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/maxDecimalPlaces", "valueInteger": 2}]}
    ]));
    let found = common::issues_with(&[profile], &observation(json!({"valueQuantity": {"value": 1.2345}})));
    assert_issue(&found, Severity::Error, IssueCode::Structure, "Observation.value.ofType(Quantity).value", "Found 4 decimal places which exceeds the stated limit of 2 digits");
}

#[test]
fn primitive_regex_of_the_element() {
    let found = profiled(
        "gender-regex",
        json!({"resourceType": "Patient", "gender": "other",
            "_elements": [{"id": "Patient.gender", "path": "Patient.gender", "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/regex", "valueString": "male|female"}]}]}),
    );
    assert_issue(&found, Severity::Error, IssueCode::Invalid, "Patient.gender", "Element value 'other' does not meet regex 'male|female'");
}

#[test]
fn primitive_must_have_value() {
    let found = profiled(
        "birth-value",
        json!({"resourceType": "Patient", "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}]},
            "_elements": [{"id": "Patient.birthDate", "path": "Patient.birthDate",
                "extension": [{"url": "http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition.mustHaveValue", "valueBoolean": true}]}]}),
    );
    assert_issue(
        &found,
        Severity::Error,
        IssueCode::Invalid,
        "Patient.birthDate",
        &format!("The element definition ``Patient.birthDate`` in the profile '{BASE}birth-value' requires that a value be present in this element"),
    );
}

// ---------- primitives ----------

#[test]
fn unicode_bidi_controls_unterminated() {
    let found = issues(json!({"resourceType": "Patient", "name": [{"family": "Sm\u{202e}ith"}]}));
    assert_issue(
        &found,
        Severity::Warning,
        IssueCode::Invalid,
        "Patient.name[0].family",
        "The Unicode sequence has unterminated bi-di control characters (see CVE-2021-42574): Unicode Character RLO at index 2 has no terminating match (preceding text = 'Sm')",
    );
    none_say(&issues(json!({"resourceType": "Patient", "name": [{"family": "Sm\u{202e}it\u{202c}h"}]})), "bi-di");
}

#[test]
fn unicode_bidi_controls_disallowed() {
    let options = Options { no_unicode_bidi_control_chars: true, ..Options::default() };
    let found = issues_with_options(options, json!({"resourceType": "Patient", "name": [{"family": "Sm\u{202e}it\u{202c}h"}]}));
    assert_issue(
        &found,
        Severity::Error,
        IssueCode::CodeInvalid,
        "Patient.name[0].family",
        "The Unicode sequence has bi-di control characters which are not allowed in this context: Sm|RLO|it|PDF|h",
    );
}

#[test]
fn decimal_outside_the_supported_range() {
    // Written out, as JSON numbers this long do not survive a round through f64.
    let text = r#"{"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueQuantity": {"value": 1234567890.1234567891}}"#;
    let found = common::validator().validate_bytes(text.as_bytes(), Some(careplan::tree::Format::Json));
    let q = found.iter().find(|i| i.expression == "Observation.value.ofType(Quantity).value" && i.message.contains("commonly/reasonably")).expect("the range warning");
    assert_eq!((q.severity, q.code), (Severity::Warning, IssueCode::Value));
    assert_eq!(q.message, "The value '1234567890.1234567891' is outside the range of commonly/reasonably supported decimals");
}

#[test]
fn id_valid() {
    let found = issues(json!({"resourceType": "ImplementationGuide", "url": "http://example.org/ig", "name": "X", "status": "draft", "packageId": "a_b", "fhirVersion": ["4.0.1"]}));
    assert_issue(&found, Severity::Error, IssueCode::Invalid, "ImplementationGuide.packageId", "id value 'a_b' is not valid (only A-Z, a-z, 0-9, '-' and '.' are allowed, found '_')");
}

#[test]
fn instant_format() {
    let found = issues(json!({"resourceType": "Patient", "meta": {"lastUpdated": "2020-01-01"}}));
    let i = found.iter().find(|i| i.expression == "Patient.meta.lastUpdated").expect("an issue");
    assert_eq!((i.severity, i.code), (Severity::Error, IssueCode::Invalid));
    assert!(i.message.starts_with("Not a valid instant format: '2020-01-01'"), "{i:?}");
}

#[test]
fn illegal_property_value_of_a_primitive() {
    let found = issues(json!({"resourceType": "Patient", "active": true, "_active": {"value": false}}));
    assert_issue(&found, Severity::Error, IssueCode::Invalid, "Patient.active", "The property 'value' is invalid");
}

// ---------- URIs ----------

#[test]
fn canonical_absolute() {
    let found = issues(json!({"resourceType": "ValueSet", "url": "vs1", "status": "draft"}));
    assert_issue(&found, Severity::Error, IssueCode::Invalid, "ValueSet.url", "Canonical URLs must be absolute URLs if they are not fragment references (vs1)");
}

#[test]
fn canonical_contained() {
    let found = issues(json!({"resourceType": "Patient", "contained": [{"resourceType": "ValueSet", "id": "v", "url": "local-vs", "status": "draft"}],
        "maritalStatus": {"extension": [{"url": "http://example.org/vs", "valueCanonical": "#v"}]}}));
    assert_issue(&found, Severity::Error, IssueCode::Invalid, "Patient.contained[0].url", "Canonical URLs in contained resources must be absolute URLs if present (local-vs)");
}

#[test]
fn url_internal() {
    let found = issues(json!({"resourceType": "ValueSet", "url": "http://example.org/vs", "status": "draft", "compose": {"include": [{"system": "#cs"}]}}));
    assert_issue(&found, Severity::Error, IssueCode::Invalid, "ValueSet.compose.include[0].system", "The URL value '#cs' is invalid because there is no matching target");
}

#[test]
fn url_internal_warn() {
    let found = issues(json!({"resourceType": "Patient", "id": "p", "meta": {"source": "#nope"}, "implicitRules": "#x"}));
    let msg = |v: &str| format!("The URL value '{v}' might be wrong because it appears to point to an internal target, but there is no matching target");
    assert_issue(&found, Severity::Information, IssueCode::Invalid, "Patient.meta.source", &msg("#nope"));
    assert_issue(&found, Severity::Warning, IssueCode::Invalid, "Patient.implicitRules", &msg("#x"));
    none_say(&issues(json!({"resourceType": "Patient", "id": "p", "implicitRules": "#p"})), "internal target");
}

// ---------- extensions ----------

#[test]
fn extension_url_misleading() {
    let ext = json!({"resourceType": "StructureDefinition", "url": "http://example.org/ext|odd", "name": "PipeExt", "status": "draft", "fhirVersion": "4.0.1",
        "kind": "complex-type", "abstract": false, "context": [{"type": "element", "expression": "Patient"}], "type": "Extension",
        "baseDefinition": format!("{CORE}Extension"), "derivation": "constraint",
        "differential": {"element": [{"id": "Extension", "path": "Extension", "max": "1"},
            {"id": "Extension.url", "path": "Extension.url", "fixedUri": "http://example.org/ext|odd"},
            {"id": "Extension.value[x]", "path": "Extension.value[x]", "type": [{"code": "string"}]}]}});
    let found = common::issues_with(&[ext], &json!({"resourceType": "Patient", "extension": [{"url": "http://example.org/ext|odd", "valueString": "x"}]}));
    assert_issue(
        &found,
        Severity::Warning,
        IssueCode::Invalid,
        "Patient.extension[0][url='http://example.org/ext|odd']",
        "The extension URL contains a '|' which makes it look like a versioned URL, but it's not, and this is confusing for implementers",
    );
}

// ---------- fixed and pattern values, part by part ----------

const MARITAL: &str = "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus";

#[test]
fn pattern_codeable_concept() {
    let found = profiled(
        "married",
        json!({"resourceType": "Patient", "maritalStatus": {"coding": [{"system": MARITAL, "code": "S"}]},
            "_elements": [{"id": "Patient.maritalStatus", "path": "Patient.maritalStatus", "patternCodeableConcept": {"coding": [{"system": MARITAL, "code": "M"}]}}]}),
    );
    assert_issue(
        &found,
        Severity::Error,
        IssueCode::Value,
        "Patient.maritalStatus",
        &format!("The pattern [system {MARITAL}, code M, and display 'null'] defined in the profile {BASE}married not found. Issues: [system {MARITAL}, code S]"),
    );
}

#[test]
fn pattern_codeable_concept_user_selected() {
    let found = profiled(
        "married-selected",
        json!({"resourceType": "Patient", "maritalStatus": {"coding": [{"system": MARITAL, "code": "M"}]},
            "_elements": [{"id": "Patient.maritalStatus", "path": "Patient.maritalStatus",
                "patternCodeableConcept": {"coding": [{"system": MARITAL, "code": "M", "userSelected": true}]}}]}),
    );
    assert_issue(
        &found,
        Severity::Error,
        IssueCode::Value,
        "Patient.maritalStatus",
        &format!("The pattern [system {MARITAL}, code M, display 'null' and userSelected true] defined in the profile {BASE}married-selected not found. Issues: [system {MARITAL}, code M]"),
    );
}

fn name_issues(name: &str, pattern: Value, instance: Value) -> Vec<Issue> {
    profiled(
        name,
        json!({"resourceType": "Patient", "name": [instance],
            "_elements": [{"id": "Patient.name", "path": "Patient.name", "max": "1", "patternHumanName": pattern}]}),
    )
}

#[test]
fn fixed_type_checks_name_family() {
    let found = name_issues("family-needed", json!({"family": "Smith"}), json!({"given": ["A"]}));
    assert_issue(&found, Severity::Error, IssueCode::Value, "Patient.name[0]", "Expected 1 but found 0 family elements");
}

#[test]
fn fixed_type_checks_name_given() {
    let found = name_issues("two-given", json!({"given": ["A", "B"]}), json!({"given": ["A"]}));
    assert_issue(&found, Severity::Error, IssueCode::Value, "Patient.name[0]", "Expected 2 but found 1 given elements");
}

#[test]
fn fixed_type_checks_name_prefix() {
    let found = name_issues("one-prefix", json!({"prefix": ["Dr"]}), json!({"prefix": ["Dr", "Prof"]}));
    assert_issue(&found, Severity::Error, IssueCode::Value, "Patient.name[0]", "Expected 1 but found 2 prefix elements");
}

#[test]
fn fixed_type_checks_name_suffix() {
    let found = name_issues("one-suffix", json!({"suffix": ["Jr"]}), json!({"family": "X"}));
    assert_issue(&found, Severity::Error, IssueCode::Value, "Patient.name[0]", "Expected 1 but found 0 suffix elements");
}

fn address_issues(name: &str, pattern: Value, instance: Value) -> Vec<Issue> {
    profiled(
        name,
        json!({"resourceType": "Patient", "address": [instance],
            "_elements": [{"id": "Patient.address", "path": "Patient.address", "max": "1", "patternAddress": pattern}]}),
    )
}

#[test]
fn fixed_type_checks_address_line() {
    let found = address_issues("two-lines", json!({"line": ["1", "2"]}), json!({"line": ["1"]}));
    assert_issue(&found, Severity::Error, IssueCode::Value, "Patient.address[0]", "Expected 2 but found 1 line elements");
}

#[test]
fn pattern_check_string() {
    let found = address_issues("main-street", json!({"line": ["1 Main St"]}), json!({"line": ["2 Side St"]}));
    assert_issue(
        &found,
        Severity::Error,
        IssueCode::Value,
        "Patient.address[0]",
        &format!("The pattern [1 Main St] defined in the profile {BASE}main-street not found. Issues: [found '2 Side St']"),
    );
}
