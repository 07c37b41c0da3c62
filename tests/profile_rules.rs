//! Profiles in full, against the real R4 definitions: every discriminator
//! kind and path form, the slicing rules, re-slicing and nested slicing,
//! slices without a discriminator, and each constraint kind a differential
//! can declare. Each case has a profile written as a differential (so the
//! snapshot generator runs first), an instance that meets it and one that
//! does not, and the message that must name what went wrong.

mod common;

use careplan::issue::{Issue, Severity};
use careplan::tree::Format;
use careplan::validator::{Options, Validator};
use serde_json::{json, Value};
use std::sync::Arc;

const BASE: &str = "http://example.org/fhir/StructureDefinition/";
const NHS_NUMBER: &str = "https://fhir.nhs.uk/Id/nhs-number";
const LOCAL_ID: &str = "https://example.org/Id/local";

/// A constraint profile on an R4 resource or data type, as a differential.
fn profile(name: &str, type_name: &str, elements: Value) -> Value {
    let kind = if type_name.starts_with(char::is_lowercase) { "primitive-type" } else if is_data_type(type_name) { "complex-type" } else { "resource" };
    json!({"resourceType": "StructureDefinition", "url": format!("{BASE}{name}"), "name": name, "status": "draft",
        "fhirVersion": "4.0.1", "kind": kind, "abstract": false, "type": type_name, "derivation": "constraint",
        "baseDefinition": format!("http://hl7.org/fhir/StructureDefinition/{type_name}"),
        "differential": {"element": elements}})
}

/// A simple extension with a value of one type, usable on `context`.
fn extension(name: &str, context: &str, value_type: &str) -> Value {
    let mut e = profile(
        name,
        "Extension",
        json!([
            {"id": "Extension.url", "path": "Extension.url", "fixedUri": url(name)},
            {"id": "Extension.value[x]", "path": "Extension.value[x]", "type": [{"code": value_type}]}
        ]),
    );
    e["context"] = json!([{"type": "element", "expression": context}]);
    e
}

fn is_data_type(t: &str) -> bool {
    ["Address", "HumanName", "Identifier", "CodeableConcept", "Coding", "Extension", "Quantity"].contains(&t)
}

fn url(name: &str) -> String {
    format!("{BASE}{name}")
}

struct Case {
    validator: Validator,
}

impl Case {
    /// The default packages with these definitions on top; instances are
    /// validated against the profiles they name in `meta.profile`.
    fn new(definitions: &[Value]) -> Case {
        Case { validator: common::validator_with(definitions) }
    }

    /// The same, and every instance against `profiles` too (`--profile`).
    fn with_profiles(definitions: &[Value], profiles: &[&str]) -> Case {
        let ctx = common::validator_with(definitions).context().clone();
        let options = Options { profiles: profiles.iter().map(|p| p.to_string()).collect(), ..Options::default() };
        Case { validator: Validator::new(Arc::clone(&ctx), options) }
    }

    fn issues(&self, resource: &Value) -> Vec<Issue> {
        self.validator.validate_bytes(resource.to_string().as_bytes(), Some(Format::Json))
    }

    fn errors(&self, resource: &Value) -> Vec<Issue> {
        self.issues(resource).into_iter().filter(|i| i.severity.is_error()).collect()
    }

    fn valid(&self, resource: &Value) {
        let errors = self.errors(resource);
        assert!(errors.is_empty(), "expected no errors for {resource}, got {errors:#?}");
    }

    /// Exactly one error, at `expression`, whose message has each of `fragments`.
    fn invalid(&self, resource: &Value, expression: &str, fragments: &[&str]) -> Issue {
        let errors = self.errors(resource);
        let found: Vec<&Issue> = errors.iter().filter(|i| i.expression == expression && fragments.iter().all(|f| i.message.contains(f))).collect();
        assert!(!found.is_empty(), "expected an error at {expression} containing {fragments:?}, got {errors:#?}");
        assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
        found[0].clone()
    }
}

fn patient(profile: &str, rest: Value) -> Value {
    let mut p = json!({"resourceType": "Patient", "meta": {"profile": [url(profile)]}});
    p.as_object_mut().unwrap().extend(rest.as_object().unwrap().clone());
    p
}

fn observation(profile: &str, rest: Value) -> Value {
    let mut o = json!({"resourceType": "Observation", "meta": {"profile": [url(profile)]}, "status": "final",
        "code": {"text": "finding"}});
    o.as_object_mut().unwrap().extend(rest.as_object().unwrap().clone());
    o
}

fn identifier(system: &str, value: &str) -> Value {
    json!({"system": system, "value": value})
}

// ------------------------------------------------------------ discriminators

/// Patient.identifier sliced by `system`, with an NHS number slice.
fn identifier_slicing(name: &str, rules: &str, extra: Value) -> Value {
    let mut slicing = json!({"discriminator": [{"type": "value", "path": "system"}], "rules": rules});
    slicing.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    profile(
        name,
        "Patient",
        json!([
            {"id": "Patient.identifier", "path": "Patient.identifier", "slicing": slicing},
            {"id": "Patient.identifier:nhs", "path": "Patient.identifier", "sliceName": "nhs", "min": 0, "max": "1"},
            {"id": "Patient.identifier:nhs.system", "path": "Patient.identifier.system", "min": 1, "fixedUri": NHS_NUMBER},
            {"id": "Patient.identifier:nhs.value", "path": "Patient.identifier.value", "min": 1},
            {"id": "Patient.identifier:local", "path": "Patient.identifier", "sliceName": "local", "min": 0, "max": "*"},
            {"id": "Patient.identifier:local.system", "path": "Patient.identifier.system", "min": 1, "fixedUri": LOCAL_ID}
        ]),
    )
}

#[test]
fn value_discriminator_sorts_repetitions_and_applies_each_slice() {
    let case = Case::new(&[identifier_slicing("ids-open", "open", json!({}))]);
    case.valid(&patient("ids-open", json!({"identifier": [identifier(NHS_NUMBER, "9000000009"), identifier("urn:other", "x")]})));
    // The NHS slice requires a value: the repetition is judged against its slice.
    case.invalid(
        &patient("ids-open", json!({"identifier": [{"system": NHS_NUMBER}]})),
        "Patient.identifier[0]",
        &["Patient.identifier.value: minimum required = 1"],
    );
    // A slice's own maximum.
    let issue = case.invalid(
        &patient("ids-open", json!({"identifier": [identifier(NHS_NUMBER, "9000000009"), identifier(NHS_NUMBER, "9000000017")]})),
        "Patient",
        &["Patient.identifier:nhs: max allowed = 1, but found 2"],
    );
    assert_eq!(issue.source.as_deref(), Some(url("ids-open").as_str()), "the issue names the profile it comes from");
}

#[test]
fn closed_slicing_refuses_what_matches_no_slice() {
    let case = Case::new(&[identifier_slicing("ids-closed", "closed", json!({}))]);
    case.valid(&patient("ids-closed", json!({"identifier": [identifier(LOCAL_ID, "1"), identifier(NHS_NUMBER, "9000000009")]})));
    case.invalid(
        &patient("ids-closed", json!({"identifier": [identifier(NHS_NUMBER, "9000000009"), identifier("urn:other", "x")]})),
        "Patient.identifier[1]",
        &["does not match any known slice", "CLOSED"],
    );
}

#[test]
fn open_slicing_reports_unmatched_repetitions_as_information() {
    let case = Case::new(&[identifier_slicing("ids-open-info", "open", json!({}))]);
    let issues = case.issues(&patient("ids-open-info", json!({"identifier": [identifier("urn:other", "x")]})));
    assert!(issues.iter().all(|i| !i.severity.is_error()), "{issues:#?}");
    assert!(
        issues.iter().any(|i| i.severity == Severity::Information && i.expression == "Patient.identifier[0]" && i.message.contains("does not match any known slice")),
        "{issues:#?}"
    );
}

#[test]
fn open_at_end_slicing_puts_unmatched_repetitions_last() {
    let case = Case::new(&[identifier_slicing("ids-open-at-end", "openAtEnd", json!({}))]);
    case.valid(&patient("ids-open-at-end", json!({"identifier": [identifier(NHS_NUMBER, "9000000009"), identifier("urn:a", "1"), identifier("urn:b", "2")]})));
    case.valid(&patient("ids-open-at-end", json!({"identifier": [identifier("urn:a", "1")]})));
    case.invalid(
        &patient("ids-open-at-end", json!({"identifier": [identifier("urn:a", "1"), identifier(LOCAL_ID, "2")]})),
        "Patient.identifier[0]",
        &["open only at the end"],
    );
}

#[test]
fn ordered_slicing_keeps_the_slices_in_their_order() {
    let case = Case::new(&[identifier_slicing("ids-ordered", "open", json!({"ordered": true}))]);
    case.valid(&patient("ids-ordered", json!({"identifier": [identifier(NHS_NUMBER, "9000000009"), identifier(LOCAL_ID, "1"), identifier(LOCAL_ID, "2")]})));
    case.invalid(
        &patient("ids-ordered", json!({"identifier": [identifier(LOCAL_ID, "1"), identifier(NHS_NUMBER, "9000000009")]})),
        "Patient.identifier[1]",
        &["out of order", "nhs"],
    );
}

#[test]
fn pattern_discriminator_on_a_codeable_concept() {
    let vital_signs = json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]});
    let case = Case::new(&[profile(
        "obs-category",
        "Observation",
        json!([
            {"id": "Observation.category", "path": "Observation.category", "min": 1,
             "slicing": {"discriminator": [{"type": "pattern", "path": "$this"}], "rules": "open"}},
            {"id": "Observation.category:VSCat", "path": "Observation.category", "sliceName": "VSCat", "min": 1, "max": "1",
             "patternCodeableConcept": vital_signs}
        ]),
    )]);
    // A pattern lets the instance carry more than it names.
    let richer = json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs", "display": "Vital Signs"}], "text": "Vital signs"}]);
    case.valid(&observation("obs-category", json!({"category": richer})));
    let survey = json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey"}]}]);
    case.invalid(&observation("obs-category", json!({"category": survey})), "Observation", &["Slice 'Observation.category:VSCat': a matching slice is required"]);
}

#[test]
fn type_discriminator_on_a_choice_element() {
    let case = Case::new(&[profile(
        "obs-ucum",
        "Observation",
        json!([
            {"id": "Observation.value[x]", "path": "Observation.value[x]",
             "slicing": {"discriminator": [{"type": "type", "path": "$this"}], "rules": "open"}},
            {"id": "Observation.value[x]:valueQuantity", "path": "Observation.value[x]", "sliceName": "valueQuantity", "type": [{"code": "Quantity"}]},
            {"id": "Observation.value[x]:valueQuantity.system", "path": "Observation.value[x].system", "min": 1, "fixedUri": "http://unitsofmeasure.org"}
        ]),
    )]);
    case.valid(&observation("obs-ucum", json!({"valueQuantity": {"value": 70, "system": "http://unitsofmeasure.org", "code": "kg"}})));
    case.valid(&observation("obs-ucum", json!({"valueString": "about seventy kilos"})));
    case.invalid(
        &observation("obs-ucum", json!({"valueQuantity": {"value": 70, "system": "http://example.org/units", "code": "kg"}})),
        "Observation.value.ofType(Quantity).system",
        &["fixed to 'http://unitsofmeasure.org'"],
    );
}

#[test]
fn exists_discriminator_tells_slices_apart_by_presence() {
    let case = Case::new(&[profile(
        "contacts",
        "Patient",
        json!([
            {"id": "Patient.contact", "path": "Patient.contact",
             "slicing": {"discriminator": [{"type": "exists", "path": "organization"}], "rules": "closed"}},
            {"id": "Patient.contact:organisation", "path": "Patient.contact", "sliceName": "organisation", "max": "1"},
            {"id": "Patient.contact:organisation.organization", "path": "Patient.contact.organization", "min": 1},
            {"id": "Patient.contact:person", "path": "Patient.contact", "sliceName": "person"},
            {"id": "Patient.contact:person.organization", "path": "Patient.contact.organization", "max": "0"},
            {"id": "Patient.contact:person.name", "path": "Patient.contact.name", "min": 1}
        ]),
    )]);
    let org = json!({"organization": {"display": "Day centre"}});
    let person = json!({"name": {"family": "Smith"}});
    case.valid(&patient("contacts", json!({"contact": [org, person]})));
    case.invalid(&patient("contacts", json!({"contact": [{"telecom": [{"system": "phone", "value": "01"}]}]})), "Patient.contact[0]", &["Patient.contact.name: minimum required = 1"]);
    case.invalid(&patient("contacts", json!({"contact": [org, org]})), "Patient", &["Patient.contact:organisation: max allowed = 1, but found 2"]);
}

/// A Patient profile that needs a birth date, for `profile` discriminators
/// and target profiles.
fn dated_patient() -> Value {
    profile("dated-patient", "Patient", json!([{"id": "Patient.birthDate", "path": "Patient.birthDate", "min": 1}]))
}

#[test]
fn profile_discriminator_sorts_by_conformance() {
    let case = Case::new(&[
        dated_patient(),
        profile(
            "patient-bundle",
            "Bundle",
            json!([
                {"id": "Bundle.entry", "path": "Bundle.entry",
                 "slicing": {"discriminator": [{"type": "profile", "path": "resource"}], "rules": "open"}},
                {"id": "Bundle.entry:patient", "path": "Bundle.entry", "sliceName": "patient", "min": 1, "max": "1"},
                {"id": "Bundle.entry:patient.resource", "path": "Bundle.entry.resource", "type": [{"code": "Patient", "profile": [url("dated-patient")]}]}
            ]),
        ),
    ]);
    let bundle = |patient: Value| {
        json!({"resourceType": "Bundle", "meta": {"profile": [url("patient-bundle")]}, "type": "collection",
            "entry": [{"fullUrl": "urn:uuid:8d2f5e0e-0000-4000-8000-000000000001", "resource": patient}]})
    };
    case.valid(&bundle(json!({"resourceType": "Patient", "birthDate": "1950-02-01"})));
    case.invalid(&bundle(json!({"resourceType": "Patient"})), "Bundle", &["Slice 'Bundle.entry:patient': a matching slice is required"]);
}

#[test]
fn profile_discriminator_through_resolve_checks_the_referenced_resource() {
    let case = Case::new(&[
        dated_patient(),
        profile(
            "dated-list",
            "List",
            json!([
                {"id": "List.entry", "path": "List.entry",
                 "slicing": {"discriminator": [{"type": "profile", "path": "item.resolve()"}], "rules": "closed"}},
                {"id": "List.entry:dated", "path": "List.entry", "sliceName": "dated", "min": 1},
                {"id": "List.entry:dated.item", "path": "List.entry.item", "type": [{"code": "Reference", "targetProfile": [url("dated-patient")]}]}
            ]),
        ),
    ]);
    let list = |patient: Value| {
        json!({"resourceType": "List", "meta": {"profile": [url("dated-list")]}, "status": "current", "mode": "working",
            "contained": [patient], "entry": [{"item": {"reference": "#p"}}]})
    };
    case.valid(&list(json!({"resourceType": "Patient", "id": "p", "birthDate": "1950-02-01"})));
    let errors = case.errors(&list(json!({"resourceType": "Patient", "id": "p"})));
    assert!(errors.iter().any(|i| i.expression == "List.entry[0]" && i.message.contains("CLOSED")), "{errors:#?}");
    assert!(errors.iter().any(|i| i.message.contains("Slice 'List.entry:dated': a matching slice is required")), "{errors:#?}");
}

#[test]
fn of_type_in_a_discriminator_path_looks_at_one_type_of_a_choice() {
    let case = Case::new(&[profile(
        "weighed-components",
        "Observation",
        json!([
            {"id": "Observation.component", "path": "Observation.component",
             "slicing": {"discriminator": [{"type": "value", "path": "value.ofType(Quantity).code"}], "rules": "open"}},
            {"id": "Observation.component:kg", "path": "Observation.component", "sliceName": "kg", "min": 1, "max": "1"},
            {"id": "Observation.component:kg.value[x]", "path": "Observation.component.value[x]", "type": [{"code": "Quantity"}]},
            {"id": "Observation.component:kg.value[x].code", "path": "Observation.component.value[x].code", "fixedCode": "kg"}
        ]),
    )]);
    let component = |code: &str| json!({"code": {"text": "weight"}, "valueQuantity": {"value": 70, "system": "http://unitsofmeasure.org", "code": code}});
    case.valid(&observation("weighed-components", json!({"component": [component("kg"), {"code": {"text": "note"}, "valueString": "after lunch"}]})));
    case.invalid(&observation("weighed-components", json!({"component": [component("g")]})), "Observation", &["Slice 'Observation.component:kg': a matching slice is required"]);
}

#[test]
fn extension_url_in_a_discriminator_path() {
    let kind_url = url("contact-kind");
    let kind = extension("contact-kind", "Patient.contact", "code");
    let case = Case::new(&[
        kind,
        profile(
            "kinds-of-contact",
            "Patient",
            json!([
                {"id": "Patient.contact", "path": "Patient.contact",
                 "slicing": {"discriminator": [{"type": "value", "path": format!("extension('{kind_url}').value")}], "rules": "open"}},
                {"id": "Patient.contact:carer", "path": "Patient.contact", "sliceName": "carer", "min": 1, "max": "1"},
                {"id": "Patient.contact:carer.extension", "path": "Patient.contact.extension",
                 "slicing": {"discriminator": [{"type": "value", "path": "url"}], "rules": "open"}},
                {"id": "Patient.contact:carer.extension:kind", "path": "Patient.contact.extension", "sliceName": "kind", "min": 1, "max": "1",
                 "type": [{"code": "Extension", "profile": [kind_url]}]},
                {"id": "Patient.contact:carer.extension:kind.value[x]", "path": "Patient.contact.extension.value[x]", "fixedCode": "carer"},
                {"id": "Patient.contact:carer.name", "path": "Patient.contact.name", "min": 1}
            ]),
        ),
    ]);
    let contact = |kind: &str, name: Option<&str>| {
        let mut c = json!({"extension": [{"url": kind_url, "valueCode": kind}], "telecom": [{"system": "phone", "value": "0113 496 0000"}]});
        if let Some(n) = name {
            c["name"] = json!({"family": n});
        }
        c
    };
    case.valid(&patient("kinds-of-contact", json!({"contact": [contact("carer", Some("Jones")), contact("neighbour", None)]})));
    case.invalid(&patient("kinds-of-contact", json!({"contact": [contact("carer", None)]})), "Patient.contact[0]", &["Patient.contact.name: minimum required = 1"]);
    case.invalid(&patient("kinds-of-contact", json!({"contact": [contact("neighbour", Some("Jones"))]})), "Patient", &["Slice 'Patient.contact:carer'"]);
}

// ------------------------------------------- re-slicing, nesting, no discriminator

#[test]
fn a_slice_can_be_sliced_again() {
    let case = Case::new(&[profile(
        "resliced",
        "Patient",
        json!([
            {"id": "Patient.identifier", "path": "Patient.identifier",
             "slicing": {"discriminator": [{"type": "value", "path": "use"}], "rules": "open"}},
            {"id": "Patient.identifier:official", "path": "Patient.identifier", "sliceName": "official", "min": 0, "max": "*",
             "slicing": {"discriminator": [{"type": "value", "path": "system"}], "rules": "open"}},
            {"id": "Patient.identifier:official.use", "path": "Patient.identifier.use", "min": 1, "fixedCode": "official"},
            {"id": "Patient.identifier:official/nhs", "path": "Patient.identifier", "sliceName": "official/nhs", "min": 1, "max": "1"},
            {"id": "Patient.identifier:official/nhs.system", "path": "Patient.identifier.system", "min": 1, "fixedUri": NHS_NUMBER},
            {"id": "Patient.identifier:official/nhs.value", "path": "Patient.identifier.value", "min": 1}
        ]),
    )]);
    let id = |use_: &str, system: &str, value: Option<&str>| {
        let mut i = json!({"use": use_, "system": system});
        if let Some(v) = value {
            i["value"] = json!(v);
        }
        i
    };
    case.valid(&patient("resliced", json!({"identifier": [id("official", NHS_NUMBER, Some("9000000009")), id("usual", LOCAL_ID, Some("1"))]})));
    case.invalid(
        &patient("resliced", json!({"identifier": [id("official", LOCAL_ID, Some("1"))]})),
        "Patient",
        &["Slice 'Patient.identifier:official/nhs': a matching slice is required"],
    );
    // The re-slice's own rules apply to what it matches.
    case.invalid(
        &patient("resliced", json!({"identifier": [id("official", NHS_NUMBER, None)]})),
        "Patient.identifier[0]",
        &["Patient.identifier.value: minimum required = 1"],
    );
}

#[test]
fn slicing_nested_inside_a_slice() {
    let loinc_bmi = json!({"coding": [{"system": "http://loinc.org", "code": "39156-5"}]});
    let case = Case::new(&[profile(
        "nested",
        "Observation",
        json!([
            {"id": "Observation.component", "path": "Observation.component",
             "slicing": {"discriminator": [{"type": "pattern", "path": "code"}], "rules": "open"}},
            {"id": "Observation.component:bmi", "path": "Observation.component", "sliceName": "bmi", "min": 0, "max": "1"},
            {"id": "Observation.component:bmi.code", "path": "Observation.component.code", "patternCodeableConcept": loinc_bmi},
            {"id": "Observation.component:bmi.code.coding", "path": "Observation.component.code.coding",
             "slicing": {"discriminator": [{"type": "value", "path": "system"}], "rules": "open"}},
            {"id": "Observation.component:bmi.code.coding:snomed", "path": "Observation.component.code.coding", "sliceName": "snomed", "min": 1, "max": "1"},
            {"id": "Observation.component:bmi.code.coding:snomed.system", "path": "Observation.component.code.coding.system", "min": 1, "fixedUri": "http://snomed.info/sct"}
        ]),
    )]);
    let with_snomed = json!({"code": {"coding": [{"system": "http://loinc.org", "code": "39156-5"}, {"system": "http://snomed.info/sct", "code": "60621009"}]}, "valueQuantity": {"value": 24}});
    case.valid(&observation("nested", json!({"component": [with_snomed]})));
    let loinc_only = json!({"code": loinc_bmi, "valueQuantity": {"value": 24}});
    case.invalid(
        &observation("nested", json!({"component": [loinc_only]})),
        "Observation.component[0].code",
        &["Slice 'Observation.component:bmi.code.coding:snomed': a matching slice is required"],
    );
}

#[test]
fn slices_without_a_discriminator_are_matched_by_full_validation() {
    let relationship = |code: &str| json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": code}]});
    let case = Case::new(&[profile(
        "no-discriminator",
        "Patient",
        json!([
            {"id": "Patient.contact", "path": "Patient.contact", "slicing": {"rules": "closed"}},
            {"id": "Patient.contact:nextOfKin", "path": "Patient.contact", "sliceName": "nextOfKin", "min": 1, "max": "1"},
            {"id": "Patient.contact:nextOfKin.relationship", "path": "Patient.contact.relationship", "min": 1, "max": "1", "patternCodeableConcept": relationship("N")},
            {"id": "Patient.contact:emergency", "path": "Patient.contact", "sliceName": "emergency", "min": 0, "max": "*"},
            {"id": "Patient.contact:emergency.relationship", "path": "Patient.contact.relationship", "min": 1, "max": "1", "patternCodeableConcept": relationship("C")}
        ]),
    )]);
    let contact = |code: &str| json!({"relationship": [relationship(code)], "name": {"family": "Smith"}});
    case.valid(&patient("no-discriminator", json!({"contact": [contact("C"), contact("N")]})));
    let errors = case.errors(&patient("no-discriminator", json!({"contact": [contact("C"), contact("E")]})));
    assert!(errors.iter().any(|i| i.expression == "Patient.contact[1]" && i.message.contains("CLOSED")), "{errors:#?}");
    assert!(errors.iter().any(|i| i.expression == "Patient" && i.message.contains("Slice 'Patient.contact:nextOfKin'")), "{errors:#?}");
    assert_eq!(errors.len(), 2, "{errors:#?}");
}

// ----------------------------------------------------------- constraint kinds

#[test]
fn fixed_values_must_be_exactly_equal() {
    let case = Case::new(&[profile("female", "Patient", json!([{"id": "Patient.gender", "path": "Patient.gender", "min": 1, "fixedCode": "female"}]))]);
    case.valid(&patient("female", json!({"gender": "female"})));
    case.invalid(&patient("female", json!({"gender": "male"})), "Patient.gender", &["Value is 'male' but is fixed to 'female'"]);
}

#[test]
fn patterns_on_codeable_concept_coding_and_identifier() {
    let problem = json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item"}]});
    let case = Case::new(&[
        profile("problem", "Condition", json!([{"id": "Condition.category", "path": "Condition.category", "min": 1, "max": "1", "patternCodeableConcept": problem}])),
        profile(
            "coded-nhs",
            "Patient",
            json!([
                {"id": "Patient.identifier", "path": "Patient.identifier", "max": "1", "patternIdentifier": {"system": NHS_NUMBER}},
                {"id": "Patient.maritalStatus.coding", "path": "Patient.maritalStatus.coding", "max": "1",
                 "patternCoding": {"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"}}
            ]),
        ),
    ]);
    let condition = |category: Value| {
        json!({"resourceType": "Condition", "meta": {"profile": [url("problem")]}, "subject": {"reference": "Patient/p"}, "category": [category],
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}})
    };
    let mut with_display = problem.clone();
    with_display["coding"][0]["display"] = json!("Problem List Item");
    case.valid(&condition(with_display));
    let diagnosis = json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "encounter-diagnosis"}]});
    case.invalid(&condition(diagnosis), "Condition.category[0]", &["pattern", "problem-list-item"]);

    let married = json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M"}]});
    case.valid(&patient("coded-nhs", json!({"identifier": [identifier(NHS_NUMBER, "9000000009")], "maritalStatus": married})));
    // As the reference checks a pattern: property by property, at the one that differs.
    case.invalid(&patient("coded-nhs", json!({"identifier": [identifier(LOCAL_ID, "1")]})), "Patient.identifier[0].system", &[NHS_NUMBER]);
    let other_system = json!({"coding": [{"system": "http://example.org/marital", "code": "M"}]});
    case.invalid(&patient("coded-nhs", json!({"maritalStatus": other_system})), "Patient.maritalStatus.coding[0].system", &["v3-MaritalStatus"]);
}

#[test]
fn min_and_max_values_and_max_length() {
    let case = Case::new(&[profile(
        "limits",
        "Patient",
        json!([
            {"id": "Patient.multipleBirth[x]", "path": "Patient.multipleBirth[x]", "type": [{"code": "integer"}], "minValueInteger": 1, "maxValueInteger": 9},
            {"id": "Patient.name.family", "path": "Patient.name.family", "maxLength": 10}
        ]),
    )]);
    case.valid(&patient("limits", json!({"multipleBirthInteger": 2, "name": [{"family": "Smith"}]})));
    case.invalid(&patient("limits", json!({"multipleBirthInteger": 0})), "Patient.multipleBirth.ofType(integer)", &["less than permitted minimum value of 1"]);
    case.invalid(&patient("limits", json!({"multipleBirthInteger": 12})), "Patient.multipleBirth.ofType(integer)", &["greater than permitted maximum value of 9"]);
    case.invalid(&patient("limits", json!({"name": [{"family": "Featherstonehaugh"}]})), "Patient.name[0].family", &["longer than permitted maximum length of 10"]);
    // The choice was narrowed to integer.
    case.invalid(&patient("limits", json!({"multipleBirthBoolean": true})), "Patient.multipleBirth.ofType(boolean)", &["allows for the type integer but found type boolean"]);
}

#[test]
fn type_profiles_apply_to_the_element() {
    let case = Case::new(&[
        profile("postal-address", "Address", json!([{"id": "Address.postalCode", "path": "Address.postalCode", "min": 1}])),
        profile("addressed", "Patient", json!([{"id": "Patient.address", "path": "Patient.address", "type": [{"code": "Address", "profile": [url("postal-address")]}]}])),
    ]);
    case.valid(&patient("addressed", json!({"address": [{"city": "Leeds", "postalCode": "LS1 4AP"}]})));
    case.invalid(&patient("addressed", json!({"address": [{"city": "Leeds"}]})), "Patient.address[0]", &["Address.postalCode: minimum required = 1"]);
}

#[test]
fn several_type_profiles_are_alternatives() {
    let case = Case::new(&[
        profile("postal-address", "Address", json!([{"id": "Address.postalCode", "path": "Address.postalCode", "min": 1}])),
        profile("lined-address", "Address", json!([{"id": "Address.line", "path": "Address.line", "min": 1}])),
        profile(
            "either-address",
            "Patient",
            json!([{"id": "Patient.address", "path": "Patient.address", "type": [{"code": "Address", "profile": [url("postal-address"), url("lined-address")]}]}]),
        ),
    ]);
    case.valid(&patient("either-address", json!({"address": [{"postalCode": "LS1 4AP"}, {"line": ["1 Park Row"]}]})));
    let errors = case.errors(&patient("either-address", json!({"address": [{"city": "Leeds"}]})));
    let choices = format!("Unable to find a match for the specified profile among choices: {}, {}", url("postal-address"), url("lined-address"));
    assert!(errors.iter().any(|i| i.expression == "Patient.address[0]" && i.message == choices), "{errors:#?}");
    // Then why, profile by profile.
    for (name, missing) in [("postal-address", "Address.postalCode"), ("lined-address", "Address.line")] {
        assert!(errors.iter().any(|i| i.message.contains(&format!("{missing}: minimum required = 1")) && i.source.as_deref() == Some(url(name).as_str())), "{errors:#?}");
    }
    assert_eq!(errors.len(), 3, "{errors:#?}");
}

#[test]
fn target_profiles_apply_to_resolvable_references() {
    let case = Case::new(&[
        dated_patient(),
        profile(
            "dated-subject",
            "Observation",
            json!([{"id": "Observation.subject", "path": "Observation.subject", "type": [{"code": "Reference", "targetProfile": [url("dated-patient")]}]}]),
        ),
    ]);
    let obs = |patient: Value| observation("dated-subject", json!({"contained": [patient], "subject": {"reference": "#p"}}));
    case.valid(&obs(json!({"resourceType": "Patient", "id": "p", "birthDate": "1950-02-01"})));
    let errors = case.errors(&obs(json!({"resourceType": "Patient", "id": "p"})));
    assert!(
        errors.iter().any(|i| i.expression == "Observation.subject" && i.message.contains(&format!("Unable to find a profile match for #p among choices: {}", url("dated-patient")))),
        "{errors:#?}"
    );
    // A reference to another type is refused by type.
    let errors = case.errors(&obs(json!({"resourceType": "Group", "id": "p", "type": "person", "actual": true})));
    assert!(errors.iter().any(|i| i.expression == "Observation.subject"), "{errors:#?}");
}

#[test]
fn reference_ref_cantresolveprofile_and_badtargettype_on_a_resolved_reference() {
    let case = Case::new(&[profile(
        "unknown-target",
        "Observation",
        json!([{"id": "Observation.subject", "path": "Observation.subject", "type": [{"code": "Reference", "targetProfile": ["http://example.org/nowhere/StructureDefinition/gone"]}]}]),
    )]);
    let obs = observation("unknown-target", json!({"contained": [{"resourceType": "Patient", "id": "p"}], "subject": {"reference": "#p"}}));
    let errors = case.errors(&obs);
    assert!(
        errors.iter().any(|i| i.expression == "Observation.subject" && i.message == "Unable to resolve the profile reference 'http://example.org/nowhere/StructureDefinition/gone'"),
        "{errors:#?}"
    );
    assert!(errors.iter().any(|i| i.expression == "Observation.subject" && i.message == "Invalid Resource target type. Found Patient, but expected one of ([])"), "{errors:#?}");
    // Unresolved, nothing is known of the target: no profile is needed.
    let elsewhere = observation("unknown-target", json!({"subject": {"reference": "Patient/p"}}));
    case.valid(&elsewhere);
}

#[test]
fn reference_ref_wrongtarget_and_a_declared_type_against_the_target() {
    let case = Case::new(&[profile(
        "patient-subject",
        "Observation",
        json!([{"id": "Observation.subject", "path": "Observation.subject", "type": [{"code": "Reference", "targetProfile": ["http://hl7.org/fhir/StructureDefinition/Patient"]}]}]),
    )]);
    case.valid(&observation("patient-subject", json!({"subject": {"reference": "Patient/p", "type": "Patient"}})));
    case.invalid(
        &observation("patient-subject", json!({"subject": {"reference": "Group/g", "type": "Group"}})),
        "Observation.subject",
        &["The type 'Group' is not a valid Target for this element (must be one of [http://hl7.org/fhir/StructureDefinition/Patient])"],
    );
    case.invalid(&observation("patient-subject", json!({"subject": {"reference": "Patient/ p"}})), "Observation.subject", &["The reference 'Patient/ p' is not a valid reference"]);
    let errors = case.errors(&observation("patient-subject", json!({"subject": {"reference": "Patient/p", "type": "Group"}})));
    assert!(errors.iter().any(|i| i.message == "Invalid Resource target type. Found Group, but expected one of (Patient)"), "{errors:#?}");
}

#[test]
fn must_support_is_information_for_authors_not_a_rule() {
    let case = Case::new(&[profile("supported", "Patient", json!([{"id": "Patient.birthDate", "path": "Patient.birthDate", "mustSupport": true}]))]);
    let issues = case.issues(&patient("supported", json!({"gender": "unknown"})));
    assert!(issues.iter().all(|i| !i.severity.is_error() && !i.message.contains("birthDate")), "{issues:#?}");
}

#[test]
fn extension_contexts_and_context_invariants() {
    let ext_url = url("pregnancy-note");
    let mut ext = extension("pregnancy-note", "Patient", "string");
    ext["contextInvariant"] = json!(["gender = 'female'"]);
    let case = Case::new(&[ext]);
    let note = json!([{"url": ext_url, "valueString": "due in May"}]);
    case.valid(&json!({"resourceType": "Patient", "gender": "female", "extension": note}));
    // The extension is fine; its place is not: the issue is its host's, as the reference validator has it.
    case.invalid(&json!({"resourceType": "Patient", "gender": "male", "extension": note}), "Patient", &["context invariant 'gender = 'female''"]);
    let errors = case.errors(&json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "extension": note}));
    assert!(errors.iter().any(|i| i.expression == "Observation" && i.message.contains("not allowed to be used at this point")), "{errors:#?}");
}

// ------------------------------------------------------------ several profiles

#[test]
fn several_profiles_at_once_each_issue_names_its_profile() {
    let case = Case::with_profiles(
        &[
            dated_patient(),
            profile("gendered", "Patient", json!([{"id": "Patient.gender", "path": "Patient.gender", "min": 1}])),
        ],
        &[&url("gendered")],
    );
    case.valid(&patient("dated-patient", json!({"birthDate": "1950-02-01", "gender": "female"})));
    let errors = case.errors(&patient("dated-patient", json!({})));
    let source_of = |fragment: &str| errors.iter().find(|i| i.message.contains(fragment)).and_then(|i| i.source.clone());
    assert_eq!(source_of("Patient.birthDate: minimum required = 1").as_deref(), Some(url("dated-patient").as_str()), "{errors:#?}");
    assert_eq!(source_of("Patient.gender: minimum required = 1").as_deref(), Some(url("gendered").as_str()), "{errors:#?}");
    assert_eq!(errors.len(), 2, "{errors:#?}");
}

#[test]
fn global_profiles_of_a_loaded_guide_apply_to_every_resource_of_their_type() {
    let dir = tempfile::tempdir().unwrap();
    let guide = json!({"resourceType": "ImplementationGuide", "url": "http://example.org/fhir/ImplementationGuide/dated", "name": "Dated",
        "status": "draft", "packageId": "example.dated", "fhirVersion": ["4.0.1"],
        "global": [{"type": "Patient", "profile": url("dated-patient")}]});
    std::fs::write(dir.path().join("ImplementationGuide-dated.json"), guide.to_string()).unwrap();
    std::fs::write(dir.path().join("StructureDefinition-dated-patient.json"), dated_patient().to_string()).unwrap();
    let mut ctx = careplan::context::Context::overlay(common::context());
    let opts = careplan::loader::LoadOptions::default();
    let cache = careplan::package::PackageCache::new(opts.cache.clone());
    careplan::loader::add_source(&mut ctx, &cache, &dir.path().display().to_string(), &opts, &mut Vec::new()).unwrap();
    let case = Case { validator: Validator::new(Arc::new(ctx), Options::default()) };
    // No meta.profile, no --profile: the guide's global profile applies.
    case.valid(&json!({"resourceType": "Patient", "birthDate": "1950-02-01"}));
    let issue = case.invalid(&json!({"resourceType": "Patient"}), "Patient", &["Patient.birthDate: minimum required = 1"]);
    assert_eq!(issue.source.as_deref(), Some(url("dated-patient").as_str()));
    // Other types are not touched, and the example guides of the core packages are never read as globals.
    case.valid(&json!({"resourceType": "Basic", "code": {"text": "x"}}));
    assert!(common::context().global_profiles("Patient").is_empty());
}

#[test]
fn extension_slices_need_no_declared_slicing() {
    // The differential slices Patient.extension without saying how: as the
    // reference generator, careplan slices extensions by url.
    let ext_url = url("religion-note");
    let ext = extension("religion-note", "Patient", "string");
    let case = Case::new(&[
        ext,
        profile(
            "noted",
            "Patient",
            json!([{"id": "Patient.extension:note", "path": "Patient.extension", "sliceName": "note", "min": 1, "max": "1",
                    "type": [{"code": "Extension", "profile": [ext_url]}]}]),
        ),
    ]);
    case.valid(&patient("noted", json!({"extension": [{"url": ext_url, "valueString": "prefers a female carer"}]})));
    case.invalid(&patient("noted", json!({})), "Patient", &["Slice 'Patient.extension:note': a matching slice is required"]);
}

#[test]
fn a_renamed_choice_is_its_type_slice() {
    // `Observation.valueQuantity` in a differential: the reference generator's
    // type slice `value[x]:valueQuantity`, required here.
    let case = Case::new(&[profile(
        "measured",
        "Observation",
        json!([
            {"id": "Observation.valueQuantity", "path": "Observation.valueQuantity", "min": 1},
            {"id": "Observation.valueQuantity.unit", "path": "Observation.valueQuantity.unit", "min": 1}
        ]),
    )]);
    case.valid(&observation("measured", json!({"valueQuantity": {"value": 70, "unit": "kg"}})));
    case.invalid(&observation("measured", json!({"valueQuantity": {"value": 70}})), "Observation.value.ofType(Quantity)", &["unit: minimum required = 1"]);
    let errors = case.errors(&observation("measured", json!({})));
    assert!(errors.iter().any(|i| i.message.contains("Observation.value[x]:valueQuantity")), "{errors:#?}");
}

#[test]
fn value_discriminators_can_look_through_resolve() {
    let smoking = json!({"coding": [{"system": "http://loinc.org", "code": "72166-2"}]});
    let case = Case::new(&[
        profile("smoking-finding", "Observation", json!([{"id": "Observation.code", "path": "Observation.code", "patternCodeableConcept": smoking}])),
        profile(
            "smoking-list",
            "List",
            json!([
                {"id": "List.entry", "path": "List.entry",
                 "slicing": {"discriminator": [{"type": "pattern", "path": "item.resolve().code"}], "rules": "open"}},
                {"id": "List.entry:smoking", "path": "List.entry", "sliceName": "smoking", "min": 1, "max": "1"},
                {"id": "List.entry:smoking.item", "path": "List.entry.item", "type": [{"code": "Reference", "targetProfile": [url("smoking-finding")]}]}
            ]),
        ),
    ]);
    let list = |code: &str| {
        json!({"resourceType": "List", "meta": {"profile": [url("smoking-list")]}, "status": "current", "mode": "working",
            "contained": [{"resourceType": "Observation", "id": "o", "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": code}]}}],
            "entry": [{"item": {"reference": "#o"}}]})
    };
    case.valid(&list("72166-2"));
    case.invalid(&list("11331-6"), "List", &["Slice 'List.entry:smoking': a matching slice is required"]);
}

/// An invariant whose `memberOf()` names a value set no loaded package has
/// is not decided by the content: it could not be evaluated (a warning),
/// it did not fail; with a value set that is there, it is decided.
#[test]
fn an_invariant_on_a_value_set_that_is_not_loaded_could_not_be_evaluated() {
    let constrained = |name: &str, value_set: &str| {
        profile(
            name,
            "Patient",
            json!([{"id": "Patient", "path": "Patient", "constraint": [{"key": "gen-1", "severity": "error", "human": "The gender is from the value set",
                "expression": format!("gender.exists() implies gender.where(memberOf('{value_set}')).exists()")}]}]),
        )
    };
    let known = constrained("gender-known", "http://hl7.org/fhir/ValueSet/administrative-gender");
    let wrong = constrained("gender-wrong", "http://hl7.org/fhir/ValueSet/marital-status");
    let unknown = constrained("gender-unknown", "http://example.org/fhir/ValueSet/nowhere");
    let case = Case::new(&[known, wrong, unknown]);
    case.valid(&patient("gender-known", json!({"gender": "female"})));
    case.invalid(&patient("gender-wrong", json!({"gender": "female"})), "Patient", &["Constraint failed: gen-1"]);
    let issues = case.issues(&patient("gender-unknown", json!({"gender": "female"})));
    assert!(issues.iter().all(|i| !i.severity.is_error()), "{issues:#?}");
    assert!(issues.iter().any(|i| i.message.contains("gen-1 could not be checked") && i.message.contains("memberOf('http://example.org/fhir/ValueSet/nowhere') could not be evaluated")), "{issues:#?}");
}

// ------------------------------------------------------- additional bindings

/// Observation.code with an example binding and an additional binding
/// (R5's, through the cross-version extension) of `purpose` to a value set
/// of one LOINC code; `usage` limits it to a context when given.
fn additional_binding_profile(name: &str, purpose: &str, usage: Option<Value>) -> Vec<Value> {
    let mut parts = vec![json!({"url": "purpose", "valueCode": purpose}), json!({"url": "valueSet", "valueCanonical": "http://example.org/ValueSet/one-loinc"})];
    if let Some(u) = usage {
        parts.push(json!({"url": "usage", "valueUsageContext": u}));
    }
    let binding = json!({"strength": "example", "valueSet": "http://hl7.org/fhir/ValueSet/observation-codes",
        "extension": [{"url": "http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition.binding.additional", "extension": parts}]});
    let vs = json!({"resourceType": "ValueSet", "url": "http://example.org/ValueSet/one-loinc", "title": "One LOINC", "version": "1", "status": "active",
        "compose": {"include": [{"system": "http://loinc.org", "concept": [{"code": "2339-0"}]}]}});
    vec![profile(name, "Observation", json!([{"id": "Observation.code", "path": "Observation.code", "binding": binding}])), vs]
}

#[test]
fn binding_additional_required_is_checked_like_a_required_binding() {
    let case = Case::new(&additional_binding_profile("additional-required", "required", None));
    case.valid(&observation("additional-required", json!({"code": {"coding": [{"system": "http://loinc.org", "code": "2339-0"}]}})));
    let e = case.invalid(
        &observation("additional-required", json!({"code": {"coding": [{"system": "http://loinc.org", "code": "100066-0"}]}})),
        "Observation.code",
        &["None of the codings provided are in the value set 'One LOINC' (http://example.org/ValueSet/one-loinc|1) specified in an additional binding, and a coding from this value set is required) (codes = http://loinc.org#100066-0)"],
    );
    assert_eq!(e.code, careplan::issue::IssueCode::CodeInvalid);
}

#[test]
fn binding_additional_extensible_warns_and_usage_limited_ones_are_left_alone() {
    let case = Case::new(&additional_binding_profile("additional-extensible", "extensible", None));
    let issues = case.issues(&observation("additional-extensible", json!({"code": {"coding": [{"system": "http://loinc.org", "code": "100066-0"}]}})));
    assert!(!issues.iter().any(|i| i.severity.is_error()), "{issues:#?}");
    assert!(issues.iter().any(|i| i.severity == Severity::Warning && i.message.contains("specified in an additional binding, and a coding should come from this value set")), "{issues:#?}");

    let usage = json!({"code": {"system": "http://terminology.hl7.org/CodeSystem/usage-context-type", "code": "focus"}, "valueCodeableConcept": {"text": "x"}});
    let limited = Case::new(&additional_binding_profile("additional-usage", "required", Some(usage)));
    limited.valid(&observation("additional-usage", json!({"code": {"coding": [{"system": "http://loinc.org", "code": "100066-0"}]}})));
}

#[test]
fn definitions_with_booleans_written_as_text_still_load() {
    let mut p = profile("text-boolean", "Patient", json!([{"id": "Patient.birthDate", "path": "Patient.birthDate", "min": 1}]));
    p["abstract"] = json!("false");
    let case = Case::new(&[p]);
    case.invalid(&patient("text-boolean", json!({})), "Patient", &["Patient.birthDate: minimum required = 1, but only found 0"]);
}

/// Extension_EXT_Type: a value of a type the extension's definition does not
/// allow is one error on the extension, not an unknown property and a
/// missing value.
#[test]
fn extension_ext_type() {
    let case = Case::new(&[extension("shoe-size", "Patient", "integer")]);
    case.valid(&json!({"resourceType": "Patient", "extension": [{"url": url("shoe-size"), "valueInteger": 9}]}));
    let e = case.invalid(
        &json!({"resourceType": "Patient", "extension": [{"url": url("shoe-size"), "valueString": "nine"}]}),
        "Patient.extension[0]",
        &[&format!("The Extension '{}' definition allows for the types [integer] but found type string", url("shoe-size"))],
    );
    assert_eq!(e.code, careplan::issue::IssueCode::Structure);
}
