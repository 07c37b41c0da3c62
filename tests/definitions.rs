//! Rules on conformance resources themselves: StructureDefinitions against
//! their base and the snapshot generated from them, SearchParameters against
//! what they derive from.

mod common;

use common::{has, issues_with};

use careplan::issue::{Issue, Severity};
use serde_json::{json, Value};

fn issues(resource: &Value) -> Vec<Issue> {
    issues_with(&[], resource)
}

fn none_contain(issues: &[Issue], fragment: &str) -> bool {
    !issues.iter().any(|i| i.message.contains(fragment))
}

fn profile(diff: Value) -> Value {
    json!({
        "resourceType": "StructureDefinition", "url": "http://example.org/StructureDefinition/p", "name": "P", "status": "draft",
        "kind": "resource", "abstract": false, "type": "Patient",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient", "derivation": "constraint",
        "differential": { "element": diff }
    })
}

#[test]
fn differential_elements_out_of_snapshot_order_match_nothing() {
    let bad = issues(&profile(json!([
        {"id": "Patient.birthDate", "path": "Patient.birthDate", "min": 1},
        {"id": "Patient.identifier", "path": "Patient.identifier", "min": 1}
    ])));
    assert!(has(&bad, Severity::Error, "StructureDefinition.differential.element[0]", "No match found for Patient.birthDate in the generated snapshot"), "{bad:#?}");
    assert!(has(&bad, Severity::Error, "StructureDefinition", "has 1 element in the differential (id: Patient.birthDate)"), "{bad:#?}");

    let good = issues(&profile(json!([
        {"id": "Patient.identifier", "path": "Patient.identifier", "min": 1},
        {"id": "Patient.birthDate", "path": "Patient.birthDate", "min": 1}
    ])));
    assert!(none_contain(&good, "No match found"), "{good:#?}");
    assert!(!good.iter().any(|i| i.severity.is_error()), "{good:#?}");
}

#[test]
fn differential_elements_naming_nothing_match_nothing() {
    let bad = issues(&profile(json!([{"id": "Patient.nickname", "path": "Patient.nickname", "min": 1}])));
    assert!(has(&bad, Severity::Error, "StructureDefinition.differential.element[0]", "No match found for Patient.nickname"), "{bad:#?}");
}

#[test]
fn empty_path_names_stop_snapshot_generation() {
    let bad = issues(&profile(json!([{"id": "Patient...active", "path": "Patient...active", "fixedBoolean": true}])));
    assert!(has(&bad, Severity::Error, "StructureDefinition", "name portion missing ('..')"), "{bad:#?}");
    assert!(has(&bad, Severity::Error, "StructureDefinition.differential.element[0]", "eld-19"), "{bad:#?}");
    assert!(has(&bad, Severity::Warning, "StructureDefinition.differential.element[0]", "eld-20"), "{bad:#?}");
    assert!(none_contain(&bad, "No match found"), "{bad:#?}");
}

#[test]
fn types_must_be_unique_by_code() {
    let bad = issues(&profile(json!([{"id": "Patient.generalPractitioner", "path": "Patient.generalPractitioner",
        "type": [{"code": "Reference", "targetProfile": ["http://hl7.org/fhir/StructureDefinition/Practitioner"]},
                 {"code": "Reference", "targetProfile": ["http://hl7.org/fhir/StructureDefinition/Organization"]}]}])));
    assert!(has(&bad, Severity::Error, "StructureDefinition.differential.element[0]", "eld-13"), "{bad:#?}");
    let good = issues(&profile(json!([{"id": "Patient.generalPractitioner", "path": "Patient.generalPractitioner",
        "type": [{"code": "Reference", "targetProfile": ["http://hl7.org/fhir/StructureDefinition/Practitioner", "http://hl7.org/fhir/StructureDefinition/Organization"]}]}])));
    assert!(none_contain(&good, "eld-13"), "{good:#?}");
}

#[test]
fn default_values_only_in_specializations() {
    let bad = issues(&profile(json!([{"id": "Patient.active", "path": "Patient.active", "defaultValueBoolean": true}])));
    assert!(has(&bad, Severity::Error, "StructureDefinition", "sdf-21"), "{bad:#?}");
    let good = issues(&profile(json!([{"id": "Patient.active", "path": "Patient.active", "min": 1}])));
    assert!(none_contain(&good, "sdf-21"), "{good:#?}");
}

#[test]
fn bindings_only_on_types_that_take_them() {
    let bad = issues(&profile(json!([{"id": "Patient.birthDate", "path": "Patient.birthDate",
        "binding": {"strength": "required", "valueSet": "http://example.org/ValueSet/x"}}])));
    assert!(has(&bad, Severity::Error, "StructureDefinition.differential.element[0]", "the types [date] do not make this kind of constraint relevant"), "{bad:#?}");
    let good = issues(&profile(json!([{"id": "Patient.maritalStatus", "path": "Patient.maritalStatus",
        "binding": {"strength": "required", "valueSet": "http://hl7.org/fhir/ValueSet/marital-status"}}])));
    assert!(none_contain(&good, "do not make this kind of constraint relevant"), "{good:#?}");
}

#[test]
fn type_profiles_must_be_of_the_type() {
    let mut sd = profile(json!([{"id": "Observation.valueQuantity", "path": "Observation.valueQuantity",
        "type": [{"code": "Quantity", "profile": ["http://hl7.org/fhir/StructureDefinition/Count"]}]}]));
    sd["type"] = json!("Observation");
    sd["baseDefinition"] = json!("http://hl7.org/fhir/StructureDefinition/Observation");
    let bad = issues(&sd);
    assert!(has(&bad, Severity::Error, "StructureDefinition.differential.element[0].type[0].profile[0]", "is for type Count, but the Observation.valueQuantity element has type Quantity"), "{bad:#?}");
    sd["differential"]["element"][0]["type"][0]["profile"] = json!(["http://hl7.org/fhir/StructureDefinition/SimpleQuantity"]);
    let good = issues(&sd);
    assert!(none_contain(&good, "is for type"), "{good:#?}");
}

#[test]
fn slices_of_a_must_support_slicing_should_be_must_support() {
    let diff = |ms: bool| {
        json!([
            {"id": "Patient.identifier", "path": "Patient.identifier", "slicing": {"discriminator": [{"type": "value", "path": "system"}], "rules": "open"}, "mustSupport": true},
            {"id": "Patient.identifier:nhs", "path": "Patient.identifier", "sliceName": "nhs", "mustSupport": ms}
        ])
    };
    let bad = issues(&profile(diff(false)));
    assert!(has(&bad, Severity::Warning, "StructureDefinition.differential", "The slice 'nhs' on path 'Patient.identifier' is not marked as 'must-support'"), "{bad:#?}");
    let good = issues(&profile(diff(true)));
    assert!(none_contain(&good, "must-support"), "{good:#?}");
}

fn foo() -> Value {
    json!({
        "resourceType": "StructureDefinition", "url": "http://example.org/StructureDefinition/Foo", "name": "Foo", "status": "draft",
        "kind": "logical", "abstract": false, "type": "http://example.org/StructureDefinition/Foo",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Base", "derivation": "specialization",
        "differential": {"element": [
            {"id": "Foo", "path": "Foo", "min": 0, "max": "*"},
            {"id": "Foo.a", "path": "Foo.a", "min": 1, "max": "1", "type": [{"code": "string"}]}
        ]}
    })
}

fn boo(type_name: &str, root: &str) -> Value {
    json!({
        "resourceType": "StructureDefinition", "url": "http://example.org/StructureDefinition/Boo", "name": "Boo", "status": "draft",
        "kind": "logical", "abstract": false, "type": type_name,
        "baseDefinition": "http://example.org/StructureDefinition/Foo", "derivation": "specialization",
        "differential": {"element": [
            {"id": root, "path": root},
            {"id": format!("{root}.b"), "path": format!("{root}.b"), "min": 1, "max": "1", "type": [{"code": "string"}]}
        ]}
    })
}

#[test]
fn logical_models_name_their_own_type_in_a_namespace() {
    let good = issues_with(&[foo()], &boo("http://example.org/StructureDefinition/Boo", "Boo"));
    // dom-6 (no narrative) is a warning every definition here gets, and a logical model's type is not
    // one of R4's defined types (an extensible binding on a uri: the reference's Terminology_TX_NoValid_17);
    // nothing else may be raised.
    let expected_warning = |i: &careplan::issue::Issue| i.rule.as_deref() == Some("dom-6") || i.message.starts_with("The value provided ('http://example.org/StructureDefinition/Boo') was not found in the value set 'FHIRDefinedType'");
    assert!(!good.iter().any(|i| i.severity.is_error() || (i.severity == Severity::Warning && !expected_warning(i))), "{good:#?}");

    let unqualified = issues_with(&[foo()], &boo("Boo", "Boo"));
    assert!(has(&unqualified, Severity::Error, "StructureDefinition.type", "The type Boo is not legal"), "{unqualified:#?}");

    let same = issues_with(&[foo()], &boo("http://example.org/StructureDefinition/Foo", "Boo"));
    assert!(has(&same, Severity::Error, "StructureDefinition", "must not be the same as the type in the base structure"), "{same:#?}");
    assert!(has(&same, Severity::Error, "StructureDefinition.differential.element[1]", "The path Boo.b must start with the type of the structure Foo"), "{same:#?}");

    let elsewhere = issues_with(&[foo()], &boo("http://example2.org/Boo", "Boo"));
    assert!(has(&elsewhere, Severity::Warning, "StructureDefinition.type", "SHOULD match the url namespace"), "{elsewhere:#?}");
    assert!(!elsewhere.iter().any(|i| i.severity.is_error()), "{elsewhere:#?}");
}

#[test]
fn a_base_that_cannot_be_found_is_warned() {
    let mut sd = profile(json!([{"id": "Patient.active", "path": "Patient.active", "min": 1}]));
    sd["baseDefinition"] = json!("http://example.org/StructureDefinition/nowhere");
    let out = issues(&sd);
    assert!(has(&out, Severity::Warning, "StructureDefinition", "Unable to find base http://example.org/StructureDefinition/nowhere"), "{out:#?}");
}

fn search_parameter(base: &str, kind: &str, expression: &str) -> Value {
    json!({
        "resourceType": "SearchParameter", "url": "http://example.org/SearchParameter/org-name", "name": "OrgName", "status": "active",
        "description": "d", "code": "name", "derivedFrom": "http://hl7.org/fhir/SearchParameter/Organization-name",
        "base": [base], "type": kind, "expression": expression
    })
}

#[test]
fn derived_search_parameters_keep_type_and_base() {
    let good = issues(&search_parameter("Organization", "string", "Organization.name | Organization.alias"));
    assert!(!good.iter().any(|i| i.severity.is_error()), "{good:#?}");

    let bad_type = issues(&search_parameter("Organization", "token", "Organization.name | Organization.alias"));
    assert!(has(&bad_type, Severity::Error, "SearchParameter", "The type token is different to the type string"), "{bad_type:#?}");

    let bad_base = issues(&search_parameter("Patient", "string", "Organization.name | Organization.alias"));
    assert!(has(&bad_base, Severity::Error, "SearchParameter", "The resource type Patient is not listed as a base"), "{bad_base:#?}");
    assert!(has(&bad_base, Severity::Error, "SearchParameter.expression", "The name 'Organization' is not valid for any of the possible types"), "{bad_base:#?}");
}

#[test]
fn a_search_parameter_code_with_a_restful_character_is_warned_about() {
    // SEARCHPARAMETER_BAD_CHAR
    let mut sp = search_parameter("Organization", "string", "Organization.name | Organization.alias");
    sp["code"] = json!("org.name");
    let out = issues(&sp);
    let bad: Vec<_> = out.iter().filter(|i| i.message.starts_with("The Search Parameter code includes")).collect();
    assert_eq!(bad.len(), 1, "{out:#?}");
    assert_eq!(bad[0].severity, Severity::Warning);
    assert_eq!(bad[0].code.as_str(), "invalid");
    assert_eq!(bad[0].expression, "SearchParameter");
    assert_eq!(bad[0].message, "The Search Parameter code includes 'org.name' which has special meaning in the RESTful API, and so this will be a problem");
    let good = issues(&search_parameter("Organization", "string", "Organization.name | Organization.alias"));
    assert!(none_contain(&good, "The Search Parameter code includes"), "{good:#?}");
}

#[test]
fn composite_search_parameters_need_two_components() {
    let mut sp = search_parameter("DocumentReference", "composite", "DocumentReference.relatesTo");
    sp.as_object_mut().unwrap().remove("derivedFrom");
    let bad = issues(&sp);
    assert!(has(&bad, Severity::Error, "SearchParameter", "must define two or more components"), "{bad:#?}");
    sp["component"] = json!([
        {"definition": "http://hl7.org/fhir/SearchParameter/DocumentReference-relation", "expression": "relation"},
        {"definition": "http://hl7.org/fhir/SearchParameter/DocumentReference-relatesto", "expression": "target"}
    ]);
    let good = issues(&sp);
    assert!(none_contain(&good, "two or more components"), "{good:#?}");
}

#[test]
fn a_profile_keeps_its_base_fixed_values_and_does_not_restate_its_patterns() {
    let base = profile(json!([
        {"id": "Patient.gender", "path": "Patient.gender", "fixedCode": "female"},
        {"id": "Patient.maritalStatus", "path": "Patient.maritalStatus",
         "patternCodeableConcept": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"}]}}
    ]));
    let derived = |diff: Value| {
        let mut d = profile(diff);
        d["url"] = json!("http://example.org/StructureDefinition/derived");
        d["baseDefinition"] = json!("http://example.org/StructureDefinition/p");
        d
    };
    let narrowing = derived(json!([
        {"id": "Patient.gender", "path": "Patient.gender", "min": 1, "fixedCode": "female"},
        {"id": "Patient.maritalStatus", "path": "Patient.maritalStatus",
         "patternCodeableConcept": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M"}]}}
    ]));
    let found = issues_with(&[base.clone()], &narrowing);
    // The reference (SD_ELEMENT_PATTERN_NO_FIXED) takes a pattern over the
    // base's pattern, narrowing or not, as an error; the fixed value is fine.
    let errors: Vec<&str> = found.iter().filter(|i| i.severity.is_error()).map(|i| i.message.as_str()).collect();
    assert_eq!(
        errors,
        ["The base element has a pattern type of 'CodeableConcept', so this element must have a fixed value but it doesn't"],
        "{found:#?}"
    );
    let changing = derived(json!([
        {"id": "Patient.gender", "path": "Patient.gender", "fixedCode": "male"},
        {"id": "Patient.maritalStatus", "path": "Patient.maritalStatus",
         "patternCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "87915002"}]}}
    ]));
    let found = issues_with(&[base], &changing);
    // The reference reports a changed fixed value at the element's path.
    assert!(has(&found, Severity::Error, "Patient.gender", "Value is 'male' but is fixed to 'female' in the profile , because the value must match"), "{found:#?}");
    assert!(
        has(&found, Severity::Error, "StructureDefinition.differential.element[1].pattern.ofType(CodeableConcept)", "so this element must have a fixed value"),
        "{found:#?}"
    );
}

#[test]
fn a_derived_expression_that_is_not_the_parents_is_warned_about() {
    // SEARCHPARAMETER_EXP_WRONG: Organization-name's expression is `Organization.name | Organization.alias`.
    let out = issues(&search_parameter("Organization", "string", "Organization.name"));
    let found: Vec<_> = out.iter().filter(|i| i.message.starts_with("The expression 'Organization.name' is not compatible")).collect();
    assert_eq!(found.len(), 1, "{out:#?}");
    assert_eq!((found[0].severity, found[0].code.as_str(), found[0].expression.as_str()), (Severity::Warning, "business-rule", "SearchParameter"));
    assert_eq!(
        found[0].message,
        "The expression 'Organization.name' is not compatible with the expression 'Organization.name | Organization.alias' in the derivedFrom SearchParameter http://hl7.org/fhir/SearchParameter/Organization-name, and this likely indicates that the derivation relationship is not valid"
    );
    // The same paths in another order, spacing, or with paths of types that are not bases, are the same expression.
    for same in ["Organization.alias | Organization.name", "Organization.alias|Organization.name | Patient.name"] {
        let out = issues(&search_parameter("Organization", "string", same));
        assert!(none_contain(&out, "is not compatible with the expression"), "{same}: {out:#?}");
    }
}
