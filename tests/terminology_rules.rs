//! Rules the reference validator raises when it checks codes against
//! bindings and code systems (its `Terminology_TX_*` keys and the value
//! set checker's wordings), one test per rule, each on a small resource
//! made for it.

mod common;

use careplan::context::Context;
use careplan::issue::{Issue, IssueCode, Severity};
use careplan::validator::{Options, Validator};
use serde_json::{json, Value};
use std::sync::Arc;

const BASE: &str = "http://example.org/fhir/StructureDefinition/";
const CORE: &str = "http://hl7.org/fhir/StructureDefinition/";
const COLOURS: &str = "http://example.org/cs/colours";
const WARM: &str = "http://example.org/vs/warm";

fn definitions() -> Vec<Value> {
    vec![
        json!({"resourceType": "CodeSystem", "url": COLOURS, "version": "1", "name": "Colours", "status": "active", "content": "complete", "concept": [
            {"code": "red", "display": "Red", "designation": [{"language": "fr", "value": "Rouge"}]},
            {"code": "green", "display": "Green"},
            {"code": "blue", "display": "Blue"},
            {"code": "old", "display": "Old", "property": [{"code": "status", "valueCode": "retired"}]},
            {"code": "gone", "display": "Gone", "property": [{"code": "inactive", "valueBoolean": true}]},
            {"code": "dep", "display": "Dep", "property": [{"code": "status", "valueCode": "deprecated"}]}
        ]}),
        json!({"resourceType": "ValueSet", "url": WARM, "name": "Warm", "status": "active",
            "compose": {"include": [{"system": COLOURS, "concept": [{"code": "red", "display": "Warm red"}]}]}}),
        json!({"resourceType": "ValueSet", "url": "http://example.org/vs/female-only", "name": "FemaleOnly", "status": "active",
            "compose": {"include": [{"system": "http://hl7.org/fhir/administrative-gender", "concept": [{"code": "female"}]}]}}),
        json!({"resourceType": "CodeSystem", "url": "http://hl7.org/fhir/example-not-present", "name": "NotPresentHl7", "status": "active", "content": "not-present",
            "concept": [{"code": "one", "display": "One"}]}),
        json!({"resourceType": "CodeSystem", "url": "http://example.org/cs/fragment", "version": "2", "name": "Fragment", "status": "active", "content": "fragment",
            "concept": [{"code": "one", "display": "One"}]}),
        json!({"resourceType": "CodeSystem", "url": "http://example.org/cs/not-present", "name": "NotPresent", "status": "active", "content": "not-present"}),
    ]
}

fn profile(name: &str, type_name: &str, elements: Value) -> Value {
    json!({"resourceType": "StructureDefinition", "url": format!("{BASE}{name}"), "name": name, "status": "draft",
        "fhirVersion": "4.0.1", "kind": "resource", "abstract": false, "type": type_name, "derivation": "constraint",
        "baseDefinition": format!("{CORE}{type_name}"), "differential": {"element": elements}})
}

fn bound(name: &str, type_name: &str, path: &str, strength: &str, value_set: &str) -> Value {
    profile(name, type_name, json!([{"id": path, "path": path, "binding": {"strength": strength, "valueSet": value_set}}]))
}

fn with_profile(name: &str, mut resource: Value) -> Value {
    resource["meta"]["profile"] = json!([format!("{BASE}{name}")]);
    resource
}

fn issues(extra: &[Value], resource: &Value) -> Vec<Issue> {
    let mut defs = definitions();
    defs.extend(extra.iter().cloned());
    common::issues_with(&defs, resource)
}

/// The one issue with this severity, code and expression whose message is `message`.
fn assert_issue(issues: &[Issue], severity: Severity, code: IssueCode, expression: &str, message: &str) {
    let found = issues.iter().filter(|i| i.severity == severity && i.code == code && i.expression == expression && i.message == message).count();
    assert_eq!(found, 1, "wanted {severity:?} {code:?} at {expression}: {message}\n{issues:#?}");
}

fn none_say(issues: &[Issue], fragment: &str) {
    assert!(!issues.iter().any(|i| i.message.contains(fragment)), "{issues:#?}");
}

fn tagged(system: &str, code: &str, display: Option<&str>) -> Value {
    let mut tag = json!({"system": system, "code": code});
    if let Some(d) = display {
        tag["display"] = json!(d);
    }
    json!({"resourceType": "Patient", "meta": {"tag": [tag]}})
}

fn observation(code: Value) -> Value {
    json!({"resourceType": "Observation", "status": "final", "code": code})
}

// ---------- a code against its binding ----------

#[test]
fn code_not_in_extensible_value_set_terminology_tx_novalid_17() {
    let p = bound("gender-ext", "Patient", "Patient.gender", "extensible", "http://example.org/vs/female-only");
    let found = issues(&[p], &with_profile("gender-ext", json!({"resourceType": "Patient", "gender": "male"})));
    assert_issue(&found, Severity::Warning, IssueCode::CodeInvalid, "Patient.gender",
        "The value provided ('male') was not found in the value set 'FemaleOnly' (http://example.org/vs/female-only), and a code should come from this value set unless it has no suitable code (note that the validator cannot judge what is suitable)  (error message = The System URI could not be determined for the code 'male' in the ValueSet 'http://example.org/vs/female-only'; The provided code '#male' was not found in the value set 'http://example.org/vs/female-only')");
}

#[test]
fn code_not_in_preferred_value_set_of_a_profile_terminology_tx_novalid_18() {
    let p = bound("gender-pref", "Patient", "Patient.gender", "preferred", "http://example.org/vs/female-only");
    let found = issues(&[p], &with_profile("gender-pref", json!({"resourceType": "Patient", "gender": "male"})));
    assert_issue(&found, Severity::Information, IssueCode::CodeInvalid, "Patient.gender",
        "The value provided ('male') was not found in the value set 'FemaleOnly' (http://example.org/vs/female-only), and a code is recommended to come from this value set (error message = The System URI could not be determined for the code 'male' in the ValueSet 'http://example.org/vs/female-only'; The provided code '#male' was not found in the value set 'http://example.org/vs/female-only')");
}

#[test]
fn code_not_in_required_value_set_terminology_tx_novalid_16() {
    let found = issues(&[], &json!({"resourceType": "Patient", "gender": "mail"}));
    assert_issue(&found, Severity::Error, IssueCode::CodeInvalid, "Patient.gender",
        "The value provided ('mail') was not found in the value set 'AdministrativeGender' (http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1), and a code is required from this value set  (error message = The System URI could not be determined for the code 'mail' in the ValueSet 'http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1'; The provided code '#mail' was not found in the value set 'http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1')");
}

#[test]
fn preferred_binding_of_the_base_specification_says_nothing() {
    // Resource.language's preferred binding is the base specification's.
    let found = issues(&[], &json!({"resourceType": "Patient", "language": "xx-nowhere"}));
    none_say(&found, "recommended to come from this value set");
}

// ---------- a Coding against its binding ----------

#[test]
fn coding_not_in_required_value_set_terminology_tx_novalid_12() {
    let p = bound("tag-req", "Patient", "Patient.meta.tag", "required", WARM);
    let found = issues(&[p], &with_profile("tag-req", tagged(COLOURS, "green", None)));
    assert_issue(&found, Severity::Error, IssueCode::CodeInvalid, "Patient.meta.tag[0]",
        &format!("The Coding provided ({COLOURS}#green) was not found in the value set 'Warm' ({WARM}), and a code is required from this value set.  (error message = The provided code '{COLOURS}#green' was not found in the value set '{WARM}')"));
}

#[test]
fn coding_not_in_extensible_value_set_terminology_tx_novalid_13() {
    let p = bound("tag-ext", "Patient", "Patient.meta.tag", "extensible", WARM);
    let found = issues(&[p], &with_profile("tag-ext", tagged(COLOURS, "green", None)));
    assert_issue(&found, Severity::Warning, IssueCode::CodeInvalid, "Patient.meta.tag[0]",
        &format!("The Coding provided ({COLOURS}#green) was not found in the value set 'Warm' ({WARM}), and a code should come from this value set unless it has no suitable code (note that the validator cannot judge what is suitable).  (error message = The provided code '{COLOURS}#green' was not found in the value set '{WARM}')"));
}

#[test]
fn coding_not_in_preferred_value_set_terminology_tx_novalid_14() {
    let p = bound("tag-pref", "Patient", "Patient.meta.tag", "preferred", WARM);
    let found = issues(&[p], &with_profile("tag-pref", tagged(COLOURS, "green", None)));
    assert_issue(&found, Severity::Information, IssueCode::CodeInvalid, "Patient.meta.tag[0]",
        &format!("The Coding provided ({COLOURS}#green) was not found in the value set 'Warm' ({WARM}), and a code is recommended to come from this value set.  (error message = The provided code '{COLOURS}#green' was not found in the value set '{WARM}')"));
}

#[test]
fn code_unknown_in_a_versioned_system_unknown_code_in_version() {
    let p = bound("tag-req2", "Patient", "Patient.meta.tag", "required", WARM);
    let found = issues(&[p], &with_profile("tag-req2", tagged(COLOURS, "purple", None)));
    assert_issue(&found, Severity::Error, IssueCode::CodeInvalid, "Patient.meta.tag[0]", &format!("Unknown code 'purple' in the CodeSystem '{COLOURS}' version '1'"));
}

// ---------- a CodeableConcept against its binding ----------

#[test]
fn codeable_concept_not_in_preferred_value_set_terminology_tx_novalid_3_cc() {
    let p = bound("code-pref", "Observation", "Observation.code", "preferred", WARM);
    let found = issues(&[p], &with_profile("code-pref", observation(json!({"coding": [{"system": COLOURS, "code": "blue"}]}))));
    assert_issue(&found, Severity::Information, IssueCode::CodeInvalid, "Observation.code",
        &format!("None of the codings provided are in the value set 'Warm' ({WARM}), and a coding is recommended to come from this value set (codes = {COLOURS}#blue)"));
}

#[test]
fn coding_without_system_in_bound_codeable_concept_coding_has_no_system() {
    let p = bound("code-ext", "Observation", "Observation.code", "extensible", WARM);
    let found = issues(&[p], &with_profile("code-ext", observation(json!({"coding": [{"code": "red"}]}))));
    assert_issue(&found, Severity::Warning, IssueCode::Invalid, "Observation.code.coding[0]",
        "Coding has no system. A code with no system has no defined meaning, and it cannot be validated. A system should be provided");
    // A code without its system is in no value set.
    assert_issue(&found, Severity::Warning, IssueCode::CodeInvalid, "Observation.code",
        &format!("None of the codings provided are in the value set 'Warm' ({WARM}), and a coding should come from this value set unless it has no suitable code (note that the validator cannot judge what is suitable) (codes = null#red)"));
}

#[test]
fn binding_to_a_value_set_not_loaded_terminology_tx_valueset_notfound() {
    let p = bound("code-missing", "Observation", "Observation.code", "extensible", "http://example.org/vs/missing");
    let found = issues(&[p], &with_profile("code-missing", observation(json!({"coding": [{"system": COLOURS, "code": "blue"}]}))));
    assert_issue(&found, Severity::Warning, IssueCode::CodeInvalid, "Observation.code", "ValueSet 'http://example.org/vs/missing' not found");
}

#[test]
fn binding_to_a_code_system_terminology_tx_valueset_notfound_cs() {
    let p = bound("code-cs", "Observation", "Observation.code", "extensible", COLOURS);
    let found = issues(&[p], &with_profile("code-cs", observation(json!({"coding": [{"system": COLOURS, "code": "blue"}]}))));
    assert_issue(&found, Severity::Error, IssueCode::CodeInvalid, "Observation.code", &format!("Found a reference to a CodeSystem '{COLOURS}' where a ValueSet belongs"));
}

// ---------- a Quantity's unit ----------

#[test]
fn unit_not_in_extensible_value_set_terminology_tx_confirm_5() {
    let p = profile("weighed-ext", "Observation", json!([{"id": "Observation.value[x]", "path": "Observation.value[x]", "type": [{"code": "Quantity"}],
        "binding": {"strength": "extensible", "valueSet": "http://hl7.org/fhir/ValueSet/ucum-bodyweight|4.0.1"}}]));
    let mut o = observation(json!({"text": "weight"}));
    o["valueQuantity"] = json!({"value": 70, "system": "http://unitsofmeasure.org", "code": "mg"});
    let found = issues(&[p], &with_profile("weighed-ext", o));
    assert_issue(&found, Severity::Warning, IssueCode::CodeInvalid, "Observation.value.ofType(Quantity)",
        "The code provided (http://unitsofmeasure.org#mg) is not in the value set 'Body Weight Units' (http://hl7.org/fhir/ValueSet/ucum-bodyweight|4.0.1), and a code should come from this value set unless it has no suitable code (the validator cannot judge what is suitable) (allowed units: [lb_av], g, kg)");
}

#[test]
fn unit_not_in_required_value_set_terminology_tx_confirm_4a() {
    let p = profile("weighed-req", "Observation", json!([{"id": "Observation.value[x]", "path": "Observation.value[x]", "type": [{"code": "Quantity"}],
        "binding": {"strength": "required", "valueSet": "http://hl7.org/fhir/ValueSet/ucum-bodyweight|4.0.1"}}]));
    let mut o = observation(json!({"text": "weight"}));
    o["valueQuantity"] = json!({"value": 70, "system": "http://unitsofmeasure.org", "code": "mg"});
    let found = issues(&[p], &with_profile("weighed-req", o));
    assert_issue(&found, Severity::Error, IssueCode::CodeInvalid, "Observation.value.ofType(Quantity)",
        "The code provided (http://unitsofmeasure.org#mg) was not found in the value set 'Body Weight Units' (http://hl7.org/fhir/ValueSet/ucum-bodyweight|4.0.1), and a code from this value set is required: The provided code 'http://unitsofmeasure.org#mg' was not found in the value set 'http://hl7.org/fhir/ValueSet/ucum-bodyweight|4.0.1' (allowed units: [lb_av], g, kg)");
}

// ---------- displays ----------

#[test]
fn wrong_display_of_a_coding() {
    let found = issues(&[], &tagged(COLOURS, "red", Some("Crimson")));
    assert_issue(&found, Severity::Error, IssueCode::Invalid, "Patient.meta.tag[0].display",
        &format!("Wrong Display Name 'Crimson' for {COLOURS}#red. Valid display is 'Red' (for the language(s) 'en-US')"));
    // A designation, in any case and spacing, is a valid display.
    none_say(&issues(&[], &tagged(COLOURS, "red", Some("rouge"))), "Wrong Display Name");
}

#[test]
fn wrong_display_in_a_bound_codeable_concept_and_the_value_set_own_display() {
    let p = bound("code-disp", "Observation", "Observation.code", "extensible", WARM);
    let found = issues(&[p.clone()], &with_profile("code-disp", observation(json!({"coding": [{"system": COLOURS, "code": "green", "display": "Verde"}]}))));
    assert_issue(&found, Severity::Error, IssueCode::Invalid, "Observation.code.coding[0].display",
        &format!("Wrong Display Name 'Verde' for {COLOURS}#green. Valid display is 'Green' (for the language(s) 'en-US')"));
    // The display the bound value set gives the code is valid.
    let found = issues(&[p], &with_profile("code-disp", observation(json!({"coding": [{"system": COLOURS, "code": "red", "display": "Warm red"}]}))));
    none_say(&found, "Wrong Display Name");
}

#[test]
fn display_issues_as_warnings() {
    let mut ctx = Context::overlay(common::context());
    for d in definitions() {
        ctx.add_json(d, "test");
    }
    let v = Validator::new(Arc::new(ctx), Options { display_issues_are_warnings: true, ..Options::default() });
    let found = v.validate_bytes(tagged(COLOURS, "red", Some("Crimson")).to_string().as_bytes(), None);
    assert!(found.iter().any(|i| i.severity == Severity::Warning && i.message.starts_with("Wrong Display Name 'Crimson'")), "{found:#?}");
    assert!(!found.iter().any(|i| i.severity == Severity::Error), "{found:#?}");
}

#[test]
fn display_of_a_code_an_hl7_system_lists_without_its_content_terminology_tx_display_wrong() {
    let found = issues(&[], &tagged("http://hl7.org/fhir/example-not-present", "one", Some("Uno")));
    assert_issue(&found, Severity::Warning, IssueCode::CodeInvalid, "Patient.meta.tag[0]", "Display should be 'One'");
}

#[test]
fn wrong_display_in_a_fragment() {
    let found = issues(&[], &tagged("http://example.org/cs/fragment", "one", Some("Uno")));
    assert_issue(&found, Severity::Error, IssueCode::Invalid, "Patient.meta.tag[0].display",
        "Wrong Display Name 'Uno' for http://example.org/cs/fragment#one. Valid display is 'One' (for the language(s) 'en-US')");
}

// ---------- what a loaded system says of a code ----------

#[test]
fn code_missing_from_a_fragment_unknown_code_in_fragment() {
    let found = issues(&[], &tagged("http://example.org/cs/fragment", "zzz", None));
    assert_issue(&found, Severity::Warning, IssueCode::CodeInvalid, "Patient.meta.tag[0]",
        "Unknown Code 'zzz' in the CodeSystem 'http://example.org/cs/fragment' version '2' - note that the code system is labeled as a fragment, so the code may be valid in some other fragment");
}

#[test]
fn retired_concept_inactive_concept_found_add() {
    let found = issues(&[], &tagged(COLOURS, "old", None));
    assert_issue(&found, Severity::Warning, IssueCode::BusinessRule, "Patient.meta.tag[0]", "The concept 'old' has a status of retired and inactive and its use should be reviewed");
}

#[test]
fn inactive_concept_inactive_concept_found() {
    let found = issues(&[], &tagged(COLOURS, "gone", None));
    assert_issue(&found, Severity::Warning, IssueCode::BusinessRule, "Patient.meta.tag[0]", "The concept 'gone' has a status of inactive and its use should be reviewed");
}

#[test]
fn deprecated_concept_in_a_bound_codeable_concept_deprecated_concept_found() {
    let p = bound("code-dep", "Observation", "Observation.code", "extensible", WARM);
    let found = issues(&[p], &with_profile("code-dep", observation(json!({"coding": [{"system": COLOURS, "code": "dep"}]}))));
    assert_issue(&found, Severity::Warning, IssueCode::BusinessRule, "Observation.code.coding[0]", "The concept 'dep' is deprecated and its use should be reviewed");
}

// ---------- a Coding's system ----------

#[test]
fn code_missing_from_an_hl7_system_without_content_unknown_codesystem() {
    let found = issues(&[], &tagged("http://hl7.org/fhir/example-not-present", "two", None));
    assert_issue(&found, Severity::Warning, IssueCode::CodeInvalid, "Patient.meta.tag[0].system",
        "A definition for CodeSystem 'http://hl7.org/fhir/example-not-present' could not be found, so the code cannot be validated");
}

#[test]
fn system_nothing_defines_unknown_codesystem() {
    let found = issues(&[], &tagged("http://example.com/unknown-system", "x", None));
    assert_issue(&found, Severity::Information, IssueCode::Unknown, "Patient.meta.tag[0].system",
        "A definition for CodeSystem 'http://example.com/unknown-system' could not be found, so the code cannot be validated");
}

#[test]
fn system_on_build_fhir_org_terminology_tx_system_wrong_build() {
    let found = issues(&[], &tagged("http://build.fhir.org/codesystem-administrative-gender.html", "male", None));
    assert_issue(&found, Severity::Error, IssueCode::CodeInvalid, "Patient.meta.tag[0]",
        "The code system reference http://build.fhir.org/codesystem-administrative-gender.html is wrong - the code system reference cannot be a reference to build.fhir.org. This may be the correct reference: http://hl7.org/fhir/administrative-gender");
}

#[test]
fn system_is_an_html_page_terminology_tx_system_wrong_html() {
    let found = issues(&[], &tagged("http://hl7.org/fhir/codesystem-administrative-gender.html", "male", None));
    assert_issue(&found, Severity::Error, IssueCode::CodeInvalid, "Patient.meta.tag[0]",
        "The code system reference http://hl7.org/fhir/codesystem-administrative-gender.html is wrong - the code system reference cannot be to an HTML page. This may be the correct reference: http://hl7.org/fhir/administrative-gender");
}

#[test]
fn hl7_system_no_package_defines_terminology_tx_system_unknown() {
    let found = issues(&[], &tagged("http://hl7.org/fhir/no-such-system", "x", None));
    assert_issue(&found, Severity::Error, IssueCode::CodeInvalid, "Patient.meta.tag[0]", "Unknown Code System 'http://hl7.org/fhir/no-such-system'");
    // HL7's identifiers of external systems are known without a definition.
    none_say(&issues(&[], &tagged("http://hl7.org/fhir/sid/icd-9-cm", "250.0", None)), "Unknown Code System");
}

#[test]
fn misspelt_external_system_terminology_tx_system_invalid() {
    let found = issues(&[], &tagged("http://snomed.info/sct/900000000000207008", "123", None));
    assert_issue(&found, Severity::Error, IssueCode::CodeInvalid, "Patient.meta.tag[0]", "Invalid System URI: http://snomed.info/sct/900000000000207008");
}

#[test]
fn value_set_as_system_terminology_tx_system_valueset2() {
    let found = issues(&[], &tagged(WARM, "red", None));
    assert_issue(&found, Severity::Error, IssueCode::CodeInvalid, "Patient.meta.tag[0]", &format!("The Coding references a value set, not a code system ('{WARM}')"));
}

#[test]
fn system_without_codes_terminology_tx_system_not_usable() {
    let found = issues(&[], &tagged("http://example.org/cs/not-present", "x", None));
    assert_issue(&found, Severity::Information, IssueCode::Unknown, "Patient.meta.tag[0]",
        "The definition for the Code System with URI 'http://example.org/cs/not-present' from 'test' doesn't provide any codes so the code cannot be validated");
}

// ---------- a required code that is not there ----------

#[test]
fn required_code_given_only_in_a_cross_version_extension_terminology_tx_code_valueset_xver_source() {
    let ext = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.compose.include.filter.op";
    let vs = json!({"resourceType": "ValueSet", "status": "draft", "compose": {"include": [{"system": COLOURS,
        "filter": [{"property": "concept", "_op": {"extension": [{"url": ext, "valueCode": "child-of"}]}, "value": "red"}]}]}});
    let found = issues(&[], &vs);
    assert_issue(&found, Severity::Warning, IssueCode::CodeInvalid, "ValueSet.compose.include[0].filter[0].op",
        &format!("Though a code is required, no code has been provided; instead, an alternative code 'child-of' is provided in the cross-version extension '{ext}'. Many systems will not support this extension, or may not understand or support the alternative code"));
}

#[test]
fn required_code_given_only_as_extensions_terminology_tx_code_valueset_missing() {
    let found = issues(&[], &json!({"resourceType": "Patient", "_gender": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}]}}));
    assert_issue(&found, Severity::Error, IssueCode::CodeInvalid, "Patient.gender", "No code provided, and a code is required from the value set");
}

#[test]
fn supplement_as_system_codesystem_cs_no_supplement() {
    let supplement = json!({"resourceType": "CodeSystem", "url": "http://example.org/cs/colours-fr", "version": "1", "name": "ColoursFr", "status": "active",
        "content": "supplement", "supplements": COLOURS, "concept": [{"code": "red", "designation": [{"language": "fr", "value": "Rouge"}]}]});
    let found = issues(&[supplement], &tagged("http://example.org/cs/colours-fr", "red", None));
    assert_issue(&found, Severity::Error, IssueCode::Invalid, "Patient.meta.tag[0].system",
        "CodeSystem http://example.org/cs/colours-fr|1 is a supplement, so can't be used as a value in Coding.system");
}

#[test]
fn another_resource_as_system_terminology_tx_system_other_resource() {
    // Encounter.class is bound (extensible) in the base specification.
    let found = issues(&[], &json!({"resourceType": "Encounter", "status": "finished", "class": {"system": "http://hl7.org/fhir/StructureDefinition/Patient", "code": "x"}}));
    assert_issue(&found, Severity::Error, IssueCode::Invalid, "Encounter.class.system",
        "The Coding references a StructureDefinition, not a code system ('http://hl7.org/fhir/StructureDefinition/Patient')");
}

// ---------- a ValueSet's includes ----------

fn value_set(include: Value) -> Value {
    json!({"resourceType": "ValueSet", "url": "http://example.org/vs/under-test", "name": "UnderTest", "status": "draft", "compose": {"include": [include]}})
}

#[test]
fn include_of_one_code_of_a_system_nothing_defines_unknown_codesystem() {
    let found = issues(&[], &value_set(json!({"system": "http://terminology.healthcodes.io/unknown", "concept": [{"code": "a"}]})));
    assert_issue(&found, Severity::Information, IssueCode::BusinessRule, "ValueSet.compose.include[0].concept[0]",
        "A definition for CodeSystem 'http://terminology.healthcodes.io/unknown' could not be found, so the code cannot be validated");
}

#[test]
fn include_of_one_code_of_a_version_nothing_defines_unknown_codesystem_version_none() {
    let found = issues(&[], &value_set(json!({"system": "http://terminology.healthcodes.io/unknown", "version": "3", "concept": [{"code": "a"}]})));
    assert_issue(&found, Severity::Information, IssueCode::BusinessRule, "ValueSet.compose.include[0].concept[0]",
        "A definition for CodeSystem 'http://terminology.healthcodes.io/unknown' version '3' could not be found, so the code cannot be validated. No versions of this code system are known");
}

#[test]
fn include_of_one_code_of_an_unloaded_version_unknown_codesystem_version() {
    let found = issues(&[], &value_set(json!({"system": COLOURS, "version": "9", "concept": [{"code": "red"}]})));
    assert!(!found.iter().any(|i| i.message.contains("could not be found")), "a loaded system is judged by the version check, not as unknown: {found:#?}");
}

#[test]
fn include_of_codes_of_a_system_nothing_defines_valueset_inc_cs_no_support() {
    let found = issues(&[], &value_set(json!({"system": "http://terminology.healthcodes.io/unknown", "concept": [{"code": "a"}, {"code": "b"}]})));
    assert_issue(&found, Severity::Information, IssueCode::BusinessRule, "ValueSet.compose.include[0]",
        "The concepts in the value set include have not been validated because the code system 'http://terminology.healthcodes.io/unknown' is not known, and no terminology service supports it");
}

#[test]
fn include_concept_display_differs_valueset_code_concept_hint() {
    let found = issues(&[], &value_set(json!({"system": COLOURS, "concept": [{"code": "green", "display": "Grass"}]})));
    assert_issue(&found, Severity::Information, IssueCode::Informational, "ValueSet.compose.include[0].concept[0]",
        &format!("Wrong Display Name 'Grass' for {COLOURS}#green. Valid display is 'Green' (for the language(s) 'en-US'). Note that the display in the ValueSet does not have to match; this check exists to help check that it's not accidentally the wrong code"));
}

// ---------- a ValueSet's parameters ----------

fn parameterised(name: &str, documented: bool, expression: &str) -> Value {
    let mut parts = vec![json!({"url": "name", "valueCode": name})];
    if documented {
        parts.push(json!({"url": "documentation", "valueMarkdown": "what it is"}));
    }
    json!({"resourceType": "ValueSet", "url": "http://example.org/vs/param", "name": "Param", "status": "draft",
        "extension": [{"url": "http://hl7.org/fhir/tools/StructureDefinition/valueset-parameter", "extension": parts}],
        "compose": {"include": [{"system": COLOURS, "filter": [{"property": "concept", "op": "is-a",
            "_value": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/cqf-expression",
                "valueExpression": {"language": "text/fhirpath", "expression": expression}}]}}]}]}})
}

#[test]
fn parameter_without_documentation_valueset_parameter_no_doco() {
    let found = issues(&[], &parameterised("colour", false, "%colour"));
    assert_issue(&found, Severity::Warning, IssueCode::BusinessRule, "ValueSet.extension[0]",
        "Without documentation, users likely won't be able to use the valueset parameter 'colour' correctly");
}

#[test]
fn parameter_name_without_p_prefix_valueset_parameter_name_warning() {
    let found = issues(&[], &parameterised("colour", true, "%colour"));
    assert_issue(&found, Severity::Information, IssueCode::BusinessRule, "ValueSet.extension[0]", "ValueSet parameter names are recommended to start with 'p-' but this is 'colour'");
    none_say(&issues(&[], &parameterised("p-colour", true, "%`p-colour`")), "recommended to start with 'p-'");
}

#[test]
fn parameter_no_filter_uses_valueset_parameter_not_used() {
    let found = issues(&[], &parameterised("p-colour", true, "'red'"));
    assert_issue(&found, Severity::Warning, IssueCode::BusinessRule, "ValueSet.extension[0]", "The value set parameter 'p-colour' is not used");
}

#[test]
fn filter_uses_an_undeclared_parameter_valueset_bad_filter_expr_param_name() {
    let found = issues(&[], &parameterised("p-colour", true, "%`p-colour` | %shade"));
    assert_issue(&found, Severity::Error, IssueCode::Exception, "ValueSet.compose.include[0].filter[0].value.extension[0]",
        "The filter parameter expression '%`p-colour` | %shade' refers to the unknown parameter 'shade'");
    none_say(&found, "is not used");
}

#[test]
fn versioned_include_concept_display_differs_valueset_code_concept_hint_ver() {
    let found = issues(&[], &value_set(json!({"system": COLOURS, "version": "1", "concept": [{"code": "green", "display": "Grass"}]})));
    assert_issue(&found, Severity::Information, IssueCode::Informational, "ValueSet.compose.include[0].concept[0]",
        &format!("Wrong Display Name 'Grass' for {COLOURS}#green. Valid display is 'Green' (for the language(s) 'en-US'). Note that the display in the ValueSet does not have to match; this check exists to help check that it's not accidentally the wrong code"));
}
