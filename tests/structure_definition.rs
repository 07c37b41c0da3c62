//! StructureDefinition rules (`src/validator/rules/structure_definition.rs`),
//! one test per rule, each on a small StructureDefinition made for it.

mod common;

use common::issues_with;

use careplan::issue::{Issue, IssueCode, Severity};
use serde_json::{json, Value};

const PATIENT: &str = "http://hl7.org/fhir/StructureDefinition/Patient";

/// A profile on Patient with `overrides` on top (a null removes a key).
fn profile(overrides: Value) -> Value {
    let mut sd = json!({
        "resourceType": "StructureDefinition", "id": "p", "url": "http://example.org/StructureDefinition/p", "name": "P",
        "status": "draft", "kind": "resource", "abstract": false, "type": "Patient", "baseDefinition": PATIENT,
        "derivation": "constraint", "differential": {"element": [{"id": "Patient", "path": "Patient"}]}
    });
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            sd.as_object_mut().unwrap().remove(k);
        } else {
            sd[k] = v.clone();
        }
    }
    sd
}

/// A profile on Patient whose differential is `elements`.
fn differential(elements: Value) -> Value {
    profile(json!({"differential": {"element": elements}}))
}

/// A profile on Patient whose snapshot is `elements` (beside a root-only differential).
fn snapshot(elements: Value) -> Value {
    profile(json!({"snapshot": {"element": elements}}))
}

/// An extension definition with `overrides` on top.
fn extension(overrides: Value) -> Value {
    let mut sd = json!({
        "resourceType": "StructureDefinition", "id": "ext", "url": "http://example.org/StructureDefinition/ext", "name": "Ext",
        "status": "draft", "kind": "complex-type", "abstract": false, "type": "Extension",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension", "derivation": "constraint",
        "context": [{"type": "element", "expression": "Patient"}],
        "differential": {"element": [
            {"id": "Extension", "path": "Extension"},
            {"id": "Extension.url", "path": "Extension.url", "fixedUri": "http://example.org/StructureDefinition/ext"},
            {"id": "Extension.value[x]", "path": "Extension.value[x]", "type": [{"code": "string"}]}
        ]}
    });
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            sd.as_object_mut().unwrap().remove(k);
        } else {
            sd[k] = v.clone();
        }
    }
    sd
}

fn issues(resource: &Value) -> Vec<Issue> {
    issues_with(&[], resource)
}

/// Whether an issue of this severity and code sits at `expression` with exactly this message.
fn exactly(found: &[Issue], severity: Severity, code: IssueCode, expression: &str, message: &str) -> bool {
    found.iter().any(|i| i.severity == severity && i.code == code && i.expression == expression && i.message == message)
}

fn mentions(found: &[Issue], fragment: &str) -> bool {
    found.iter().any(|i| i.message.contains(fragment))
}

#[test]
fn a_plain_profile_and_extension_raise_none_of_these_rules() {
    for sd in [profile(json!({})), extension(json!({}))] {
        let found = issues(&sd);
        assert!(!found.iter().any(|i| i.severity.is_error()), "{found:#?}");
    }
}

#[test]
fn sd_circular_definition() {
    let a = profile(json!({"url": "http://example.org/StructureDefinition/a", "baseDefinition": "http://example.org/StructureDefinition/b"}));
    let b = profile(json!({"id": "b", "url": "http://example.org/StructureDefinition/b", "baseDefinition": "http://example.org/StructureDefinition/a"}));
    let found = issues_with(&[a.clone(), b], &a);
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Unknown,
            "StructureDefinition",
            "The definition of the Structure is circular - it depends on itself (url = 'http://example.org/StructureDefinition/a', from 'http://example.org/StructureDefinition/b')"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_must_have_derivation() {
    let found = issues(&profile(json!({"derivation": null})));
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::NotFound,
            "StructureDefinition",
            "StructureDefinition http://example.org/StructureDefinition/p must have a derivation, since it has a baseDefinition"
        ),
        "{found:#?}"
    );
    assert!(!mentions(&issues(&profile(json!({}))), "must have a derivation"));
}

#[test]
fn sd_constrained_type_no_match() {
    let found = issues(&profile(json!({"type": "Observation", "differential": {"element": [{"id": "Observation", "path": "Observation"}]}})));
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::NotFound,
            "StructureDefinition",
            "The type Observation must be the same as the type in the base structure Patient that is being constrained"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_base_experimental() {
    let base = profile(json!({"id": "b", "url": "http://example.org/StructureDefinition/b", "experimental": true}));
    let derived = profile(json!({"baseDefinition": "http://example.org/StructureDefinition/b"}));
    let found = issues_with(&[base.clone()], &derived);
    assert!(
        exactly(
            &found,
            Severity::Warning,
            IssueCode::BusinessRule,
            "StructureDefinition",
            "The definition builds on 'http://example.org/StructureDefinition/b' which is experimental, but this definition is not labeled as experimental"
        ),
        "{found:#?}"
    );
    let labelled = profile(json!({"baseDefinition": "http://example.org/StructureDefinition/b", "experimental": true}));
    assert!(!mentions(&issues_with(&[base], &labelled), "which is experimental"));
}

#[test]
fn sd_context_should_not_be_element() {
    let found = issues(&extension(json!({"context": [{"type": "element", "expression": "Element"}]})));
    assert!(
        exactly(
            &found,
            Severity::Warning,
            IssueCode::BusinessRule,
            "StructureDefinition.context[0]",
            "Review the extension type for ext: extensions should not have a context of Element unless it's really intended that they can be used anywhere"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_context_should_not_be_fhirpath() {
    let found = issues(&extension(json!({"context": [{"type": "fhirpath", "expression": "Patient.contact"}]})));
    assert!(
        exactly(
            &found,
            Severity::Warning,
            IssueCode::BusinessRule,
            "StructureDefinition.context[0]",
            "Review the extension type for ext: the context of Patient.contact appears to be a simple element, so the context type should be 'element' not 'fhirpath'"
        ),
        "{found:#?}"
    );
    let real = issues(&extension(json!({"context": [{"type": "fhirpath", "expression": "Patient.contact.where(name.exists())"}]})));
    assert!(!mentions(&real, "appears to be a simple element"), "{real:#?}");
}

#[test]
fn sd_context_should_element_not_found() {
    let found = issues(&extension(json!({"context": [{"type": "element", "expression": "Patient.nickname"}]})));
    assert!(
        exactly(&found, Severity::Error, IssueCode::Invalid, "StructureDefinition.context[0]", "The element Patient.nickname is not valid"),
        "{found:#?}"
    );
    // Through a type (HumanName) and into a backbone element, it is found.
    for fine in ["Patient.name.given", "Patient.contact.name", "Observation.value[x]", "CanonicalResource.url"] {
        let found = issues(&extension(json!({"context": [{"type": "element", "expression": fine}]})));
        assert!(!mentions(&found, "is not valid"), "{fine}: {found:#?}");
    }
}

#[test]
fn sd_no_context_when_not_extension() {
    let found = issues(&profile(json!({"context": [{"type": "element", "expression": "Patient"}]})));
    assert!(
        exactly(&found, Severity::Error, IssueCode::Invalid, "StructureDefinition.context[0]", "The type is Patient so an extension context should not be specified"),
        "{found:#?}"
    );
}

#[test]
fn sd_no_context_inv_when_not_extension() {
    let found = issues(&profile(json!({"contextInvariant": ["true"]})));
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Invalid,
            "StructureDefinition.contextInvariant[0]",
            "The type is Patient so an extension context invariants should not be specified"
        ),
        "{found:#?}"
    );
}

#[test]
fn unable_to_determine_type_context_inv() {
    let found = issues(&extension(json!({"context": [{"type": "fhirpath", "expression": "Patient.name.first()"}], "contextInvariant": ["exists()"]})));
    assert!(
        exactly(
            &found,
            Severity::Information,
            IssueCode::Informational,
            "StructureDefinition.contextInvariant[0]",
            "The types could not be determined from the extension context, so the invariant can't be validated (types = fhirpath=Patient.name.first())"
        ),
        "{found:#?}"
    );
}

#[test]
fn ed_context_invariant_expression_error() {
    let found = issues(&extension(json!({"contextInvariant": ["name.where("]})));
    assert!(
        found.iter().any(|i| i.severity == Severity::Error
            && i.code == IssueCode::Invalid
            && i.expression == "StructureDefinition.contextInvariant[0]"
            && i.message.starts_with("Error in constraint 'name.where(': ")),
        "{found:#?}"
    );
}

#[test]
fn sd_extension_url_missing() {
    let found = issues(&extension(json!({"differential": {"element": [
        {"id": "Extension", "path": "Extension"},
        {"id": "Extension.value[x]", "path": "Extension.value[x]", "type": [{"code": "string"}]}
    ]}})));
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Invalid,
            "StructureDefinition",
            "The value of Extension.url is not fixed to the extension URL http://example.org/StructureDefinition/ext"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_extension_url_mismatch() {
    let found = issues(&extension(json!({"url": "http://example.org/StructureDefinition/other"})));
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Invalid,
            "StructureDefinition",
            "The fixed value for the extension URL is http://example.org/StructureDefinition/ext which doesn't match the canonical URL http://example.org/StructureDefinition/other"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_extension_complies_with_unknown() {
    let found = issues(&profile(json!({"extension": [{
        "url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-compliesWithProfile",
        "valueCanonical": "http://example.org/StructureDefinition/nowhere"
    }]})));
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Invalid,
            "StructureDefinition",
            "The profile 'http://example.org/StructureDefinition/nowhere' cannot be found, so the validator cannot check that the profile does comply with it"
        ),
        "{found:#?}"
    );
    let known = issues(&profile(json!({"extension": [{
        "url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-compliesWithProfile", "valueCanonical": PATIENT
    }]})));
    assert!(!mentions(&known, "cannot be found"), "{known:#?}");
}

const OBLIGATION_FLAG: &str = "http://hl7.org/fhir/StructureDefinition/obligation-profile";

fn obligation_profile(elements: Value) -> Value {
    profile(json!({"extension": [{"url": OBLIGATION_FLAG, "valueBoolean": true}], "differential": {"element": elements}}))
}

#[test]
fn sd_obgligation_profile_derivation() {
    let found = issues(&profile(json!({"derivation": "specialization", "extension": [{"url": OBLIGATION_FLAG, "valueBoolean": true}]})));
    assert!(
        exactly(&found, Severity::Error, IssueCode::Invalid, "StructureDefinition", "Only profiles that constrain another profile can be marked as an obligation profile"),
        "{found:#?}"
    );
}

#[test]
fn sd_obgligation_profile_unmatched() {
    let found = issues(&obligation_profile(json!([{"id": "Patient.nickname", "path": "Patient.nickname"}])));
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Invalid,
            "StructureDefinition.differential.element[0]",
            "The element 'Patient.nickname' has no equivalent in the profile 'http://hl7.org/fhir/StructureDefinition/Patient|4.0.1' on which this Obligation Profile is based"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_obgligation_profile_illegal() {
    let found = issues(&obligation_profile(json!([{"id": "Patient.name", "path": "Patient.name", "short": "A name", "mustSupport": true}])));
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Invalid,
            "StructureDefinition.differential.element[0].short",
            "The element 'Patient.name' has a property 'short' which is not allowed in Obligation profiles"
        ),
        "{found:#?}"
    );
    assert!(!mentions(&found, "'mustSupport'"), "{found:#?}");
}

#[test]
fn sd_obgligation_profile_illegal_binding() {
    let found = issues(&obligation_profile(json!([{"id": "Patient.name", "path": "Patient.name",
        "binding": {"strength": "example", "valueSet": "http://hl7.org/fhir/ValueSet/administrative-gender"}}])));
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Invalid,
            "StructureDefinition.differential.element[0].binding",
            "The element 'Patient.name' has a binding when the base element does not, and this is not allowed in Obligation profiles"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_obgligation_profile_path_wrong() {
    let found = issues(&obligation_profile(json!([{"id": "Patient.name", "path": "Patient.telecom"}])));
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Invalid,
            "StructureDefinition.differential.element[0].path",
            "The element 'Patient.name' path value of 'Patient.telecom' doesn't match the base path 'Patient.name'"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_obgligation_profile_invalid_binding_strength_and_illegal_on_binding() {
    let found = issues(&obligation_profile(json!([{"id": "Patient.gender", "path": "Patient.gender",
        "binding": {"strength": "preferred", "valueSet": "http://hl7.org/fhir/ValueSet/administrative-gender"}}])));
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Invalid,
            "StructureDefinition.differential.element[0].binding.strength",
            "The element 'Patient.gender' has a different binding strength ('preferred') from the base ('required') which is not allowed in Obligation profiles"
        ),
        "{found:#?}"
    );
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Invalid,
            "StructureDefinition.differential.element[0].binding.valueSet",
            "The element 'Patient.gender' has a binding property 'valueSet' which is not allowed in Obligation profiles"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_obgligation_profile_invalid_binding_code() {
    let found = issues(&obligation_profile(json!([{"id": "Patient.gender", "path": "Patient.gender", "binding": {"strength": "required", "extension": [{
        "url": "http://hl7.org/fhir/tools/StructureDefinition/additional-binding",
        "extension": [{"url": "purpose", "valueCode": "required"}, {"url": "valueSet", "valueCanonical": "http://hl7.org/fhir/ValueSet/administrative-gender"}]
    }]}}])));
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Invalid,
            "StructureDefinition.differential.element[0].binding.extension[0]",
            "The element 'Patient.gender' has an additional binding purpose of 'required' which is not allowed in Obligation profiles"
        ),
        "{found:#?}"
    );
}

const INHERITS: &str = "http://hl7.org/fhir/StructureDefinition/inherit-obligations";

#[test]
fn sd_obgligation_inherits_profile_no_target_and_not_found() {
    let found = issues(&profile(json!({"extension": [{"url": INHERITS}, {"url": INHERITS, "valueCanonical": "http://example.org/StructureDefinition/none"}]})));
    assert!(exactly(&found, Severity::Error, IssueCode::Invalid, "StructureDefinition.extension[0]", "Unable to read a value from this extension"), "{found:#?}");
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Invalid,
            "StructureDefinition.extension[1]",
            "The profile 'http://example.org/StructureDefinition/none' could not be found"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_obgligation_inherits_profile_not_right_type_and_base() {
    let plain = profile(json!({"id": "plain", "url": "http://example.org/StructureDefinition/plain"}));
    let other_base = profile(json!({"id": "ob", "url": "http://example.org/StructureDefinition/ob", "baseDefinition": "http://example.org/StructureDefinition/plain",
        "extension": [{"url": OBLIGATION_FLAG, "valueBoolean": true}]}));
    let sd = profile(json!({"extension": [
        {"url": INHERITS, "valueCanonical": "http://example.org/StructureDefinition/plain"},
        {"url": INHERITS, "valueCanonical": "http://example.org/StructureDefinition/ob"}
    ]}));
    let found = issues_with(&[plain, other_base], &sd);
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Invalid,
            "StructureDefinition.extension[0]",
            "The profile 'http://example.org/StructureDefinition/plain' is not marked as an obligation profile"
        ),
        "{found:#?}"
    );
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Invalid,
            "StructureDefinition.extension[1]",
            "The profile 'http://example.org/StructureDefinition/ob' has a different base 'http://example.org/StructureDefinition/plain' from that expected 'http://hl7.org/fhir/StructureDefinition/Patient'"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_no_slicing_on_root() {
    let found = issues(&differential(json!([{"id": "Patient", "path": "Patient", "slicing": {"rules": "open"}}])));
    assert!(
        exactly(&found, Severity::Error, IssueCode::Invalid, "StructureDefinition.differential.element[0]", "Slicing is not allowed at the root of a profile"),
        "{found:#?}"
    );
}

#[test]
fn sd_element_not_in_constraint() {
    let found = issues(&differential(json!([{"id": "Patient", "path": "Patient"}, {"id": "Patient.gender", "path": "Patient.gender", "meaningWhenMissing": "unknown"}])));
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::NotFound,
            "StructureDefinition.differential.element[1]",
            "The element definition for Patient.gender has a property meaningWhenMissing which is not allowed in a profile"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_path_no_slicing() {
    let found = issues(&differential(json!([{"id": "Patient", "path": "Patient"},
        {"id": "Patient.gender", "path": "Patient.gender", "slicing": {"discriminator": [{"type": "value", "path": "$this"}], "rules": "open"}}])));
    assert!(
        exactly(&found, Severity::Error, IssueCode::NotFound, "StructureDefinition.differential.element[1].slicing", "Slicing is not allowed at 'Patient.gender'"),
        "{found:#?}"
    );
}

#[test]
fn sd_path_slicing_deprecated() {
    let found = issues(&differential(json!([{"id": "Patient", "path": "Patient"},
        {"id": "Patient.identifier", "path": "Patient.identifier", "slicing": {"discriminator": [{"type": "pattern", "path": "system"}], "rules": "open"}}])));
    assert!(
        exactly(
            &found,
            Severity::Information,
            IssueCode::BusinessRule,
            "StructureDefinition.differential.element[1].slicing.discriminator[0]",
            "The discriminator type 'pattern' is deprecated in R5+. For future compatibility, you could consider using type=value with a pattern[x] instead (if this is not an inherited slicing)"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_no_type_code_on_code() {
    let found = issues(&differential(json!([{"id": "Patient", "path": "Patient"},
        {"id": "Patient.gender", "path": "Patient.gender", "type": [{"_code": {"extension": [{"url": "http://example.org/x", "valueString": "x"}]}}]}])));
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Invalid,
            "StructureDefinition.differential.element[1]",
            "Snapshot for p element Patient.gender has type.code without a value"
        ),
        "{found:#?}"
    );
}

const TYPE_MUST_SUPPORT: &str = "http://hl7.org/fhir/StructureDefinition/elementdefinition-type-must-support";

#[test]
fn sd_nested_must_support_diff() {
    let found = issues(&differential(json!([{"id": "Patient", "path": "Patient"},
        {"id": "Patient.name", "path": "Patient.name", "type": [{"code": "HumanName", "extension": [{"url": TYPE_MUST_SUPPORT, "valueBoolean": true}]}]}])));
    assert!(
        exactly(
            &found,
            Severity::Information,
            IssueCode::Exception,
            "StructureDefinition.differential.element[1]",
            "The element Patient.name has types/profiles/targets that are marked as must support, but the element itself is not marked as must-support. The inner must-supports will be ignored unless the element inherits must-support = true"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_nested_must_support_snapshot() {
    let found = issues(&snapshot(json!([{"id": "Patient", "path": "Patient", "min": 0, "max": "*"},
        {"id": "Patient.name", "path": "Patient.name", "min": 0, "max": "*", "type": [{"code": "HumanName", "extension": [{"url": TYPE_MUST_SUPPORT, "valueBoolean": true}]}]}])));
    assert!(
        exactly(
            &found,
            Severity::Warning,
            IssueCode::Exception,
            "StructureDefinition.snapshot.element[1]",
            "The element Patient.name has types/profiles/targets that are marked as must support, but the element itself is not marked as must-support"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_ed_bind_no_bindable() {
    let found = issues(&snapshot(json!([{"id": "Patient", "path": "Patient", "min": 0, "max": "*"},
        {"id": "Patient.name", "path": "Patient.name", "min": 0, "max": "*", "type": [{"code": "HumanName"}],
         "binding": {"strength": "example", "valueSet": "http://hl7.org/fhir/ValueSet/name-use"}}])));
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::BusinessRule,
            "StructureDefinition.snapshot.element[1].binding",
            "The element Patient.name has a binding, but no bindable types are present [HumanName]"
        ),
        "{found:#?}"
    );
}

fn observation_value_binding(types: Value, binding: Value) -> Value {
    json!({
        "resourceType": "StructureDefinition", "id": "o", "url": "http://example.org/StructureDefinition/o", "name": "O",
        "status": "draft", "kind": "resource", "abstract": false, "type": "Observation",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Observation", "derivation": "constraint",
        "differential": {"element": [{"id": "Observation", "path": "Observation"},
            {"id": "Observation.value[x]", "path": "Observation.value[x]", "type": types, "binding": binding}]}
    })
}

#[test]
fn sd_ed_bind_multiple_types() {
    let found = issues(&observation_value_binding(
        json!([{"code": "string"}, {"code": "CodeableConcept"}]),
        json!({"strength": "example", "valueSet": "http://hl7.org/fhir/ValueSet/observation-codes"}),
    ));
    assert!(
        exactly(
            &found,
            Severity::Information,
            IssueCode::BusinessRule,
            "StructureDefinition.differential.element[1].binding",
            "The element Observation.value[x] has a binding, and has multiple types subject to bindings ([string, CodeableConcept]). The binding will apply to all the types"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_ed_bind_all_loinc_sct_cpt_codes() {
    for (vs, text) in [
        ("http://loinc.org/vs", "This binding is to ALL LOINC codes, which includes part codes and answer list codes. The value set choice should be reviewed"),
        ("http://snomed.info/sct?fhir_vs", "This binding is to ALL SNOMED CT codes, which includes qualifiers etc. The value set choice should be reviewed"),
        ("http://hl7.org/fhir/ValueSet/cpt-all", "This binding is to ALL CPT codes, which includes modifiers and internal metadata codes. The value set choice should be reviewed"),
    ] {
        let found = issues(&observation_value_binding(json!([{"code": "CodeableConcept"}]), json!({"strength": "example", "valueSet": vs})));
        assert!(exactly(&found, Severity::Warning, IssueCode::BusinessRule, "StructureDefinition.differential.element[1].binding", text), "{vs}: {found:#?}");
    }
}

#[test]
fn sd_ed_bind_not_vs() {
    let found = issues(&observation_value_binding(json!([{"code": "CodeableConcept"}]), json!({"strength": "example", "valueSet": PATIENT})));
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::BusinessRule,
            "StructureDefinition.differential.element[1].binding",
            "The valueSet reference http://hl7.org/fhir/StructureDefinition/Patient on element Observation.value[x] points to something that is not a value set (StructureDefinition)"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_ed_experimental_binding() {
    let vs = json!({"resourceType": "ValueSet", "url": "http://example.org/ValueSet/trial", "name": "Trial", "status": "draft", "experimental": true,
        "compose": {"include": [{"system": "http://loinc.org"}]}});
    let sd = observation_value_binding(json!([{"code": "CodeableConcept"}]), json!({"strength": "preferred", "valueSet": "http://example.org/ValueSet/trial"}));
    let found = issues_with(&[vs.clone()], &sd);
    assert!(
        exactly(
            &found,
            Severity::Warning,
            IssueCode::BusinessRule,
            "StructureDefinition.differential.element[1].binding",
            "The definition for the element 'Observation.value[x]' binds to the value set 'http://example.org/ValueSet/trial' which is experimental, but this structure is not labeled as experimental"
        ),
        "{found:#?}"
    );
    let example = observation_value_binding(json!([{"code": "CodeableConcept"}]), json!({"strength": "example", "valueSet": "http://example.org/ValueSet/trial"}));
    assert!(!mentions(&issues_with(&[vs], &example), "which is experimental"));
}

#[test]
fn sd_ed_should_bind_with_vs() {
    let found = issues(&snapshot(json!([{"id": "Patient", "path": "Patient", "min": 0, "max": "*"},
        {"id": "Patient.gender", "path": "Patient.gender", "min": 0, "max": "1", "type": [{"code": "code"}],
         "binding": {"strength": "required", "_valueSet": {"extension": [{"url": "http://example.org/x", "valueString": "x"}]}}}])));
    assert!(
        exactly(
            &found,
            Severity::Warning,
            IssueCode::BusinessRule,
            "StructureDefinition.snapshot.element[1].binding",
            "The element Patient.gender has a type that should have a binding ({1}), but the binding has no value set"
        ),
        "{found:#?}"
    );
}

fn typed_element(path: &str, type_ref: Value) -> Value {
    differential(json!([{"id": "Patient", "path": "Patient"}, {"id": path, "path": path, "type": [type_ref]}]))
}

#[test]
fn sd_ed_type_profile_unknown() {
    let found = issues(&typed_element("Patient.extension", json!({"code": "Extension", "profile": ["http://example.org/StructureDefinition/missing"]})));
    assert!(
        exactly(
            &found,
            Severity::Warning,
            IssueCode::Exception,
            "StructureDefinition.differential.element[1].type[0].profile[0]",
            "Unable to resolve profile http://example.org/StructureDefinition/missing"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_ed_type_profile_notype() {
    let orphan = profile(json!({"id": "orphan", "url": "http://example.org/StructureDefinition/orphan", "baseDefinition": "http://example.org/StructureDefinition/gone",
        "snapshot": {"element": [{"id": "Patient", "path": "Patient", "min": 0, "max": "*"}]}}));
    let sd = differential(json!([{"id": "Patient", "path": "Patient"}, {"id": "Patient.link.other", "path": "Patient.link.other",
        "type": [{"code": "Reference", "targetProfile": ["http://example.org/StructureDefinition/orphan"]}]}]));
    let found = issues_with(&[orphan], &sd);
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Exception,
            "StructureDefinition.differential.element[1].type[0].targetProfile[0]",
            "Found profile http://example.org/StructureDefinition/orphan, but unable to determine the type it applies to"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_ed_type_profile_not_modifier_and_is_modifier() {
    let modifier = extension(json!({"id": "mod", "url": "http://example.org/StructureDefinition/mod", "differential": {"element": [
        {"id": "Extension", "path": "Extension", "isModifier": true, "isModifierReason": "It changes everything"},
        {"id": "Extension.url", "path": "Extension.url", "fixedUri": "http://example.org/StructureDefinition/mod"},
        {"id": "Extension.value[x]", "path": "Extension.value[x]", "type": [{"code": "boolean"}]}
    ]}}));
    let plain = extension(json!({}));
    let on_extension = typed_element("Patient.extension", json!({"code": "Extension", "profile": ["http://example.org/StructureDefinition/mod"]}));
    let found = issues_with(&[modifier.clone(), plain.clone()], &on_extension);
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Exception,
            "StructureDefinition.differential.element[1].type[0].profile[0]",
            "Profile http://example.org/StructureDefinition/mod is for a modifier extension, but the Patient.extension element is not a modifier"
        ),
        "{found:#?}"
    );
    let on_modifier = typed_element("Patient.modifierExtension", json!({"code": "Extension", "profile": ["http://example.org/StructureDefinition/ext"]}));
    let found = issues_with(&[modifier, plain], &on_modifier);
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Exception,
            "StructureDefinition.differential.element[1].type[0].profile[0]",
            "Profile http://example.org/StructureDefinition/ext is for not for a modifier extension, but the Patient.modifierExtension element is a modifier"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_ed_type_profile_wrong_target() {
    let found = issues(&typed_element("Patient.generalPractitioner", json!({"code": "Reference", "targetProfile": ["http://hl7.org/fhir/StructureDefinition/HumanName"]})));
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Exception,
            "StructureDefinition.differential.element[1].type[0].targetProfile[0]",
            "Profile http://hl7.org/fhir/StructureDefinition/HumanName is for type StructureDefinition[http://hl7.org/fhir/StructureDefinition/HumanName|4.0.1], which is not a Resource (which is required because the Patient.generalPractitioner element has the type Reference)"
        ),
        "{found:#?}"
    );
    let canonical = observation_value_binding(json!([{"code": "canonical", "targetProfile": [PATIENT]}]), Value::Null);
    let mut canonical = canonical;
    canonical["differential"]["element"][1].as_object_mut().unwrap().remove("binding");
    let found = issues(&canonical);
    assert!(
        mentions(&found, "which is not a Canonical Resource (which is required because the Observation.value[x] element has the type canonical)"),
        "{found:#?}"
    );
}

#[test]
fn sd_ed_type_no_target_profile() {
    let found = issues(&typed_element("Patient.gender", json!({"code": "code", "targetProfile": [PATIENT]})));
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Exception,
            "StructureDefinition.differential.element[1].type[0].targetProfile[0]",
            "Type code does not allow for target Profiles"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_no_types_or_contentref() {
    let found = issues(&snapshot(json!([{"id": "Patient", "path": "Patient", "min": 0, "max": "*"}, {"id": "Patient.gender", "path": "Patient.gender", "min": 0, "max": "1"}])));
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Exception,
            "StructureDefinition.snapshot.element[1]",
            "The element Patient.gender has no assigned types, and no content reference"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_value_type_iilegal() {
    let found = issues(&snapshot(json!([{"id": "Patient", "path": "Patient", "min": 0, "max": "*"},
        {"id": "Patient.gender", "path": "Patient.gender", "min": 0, "max": "1", "type": [{"code": "code"}], "fixedString": "male"}])));
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Exception,
            "StructureDefinition.snapshot.element[1].fixed.ofType(string)",
            "The element Patient.gender has a fixed of type string, which is not in the list of allowed types ([code])"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_value_type_repeat_hint_and_dotnet_warning() {
    let found = issues(&snapshot(json!([{"id": "Patient", "path": "Patient", "min": 0, "max": "*"},
        {"id": "Patient.name.given", "path": "Patient.name.given", "min": 0, "max": "*", "type": [{"code": "string"}], "patternString": "Jo"}])));
    let at = "StructureDefinition.snapshot.element[1].pattern.ofType(string)";
    assert!(
        exactly(&found, Severity::Information, IssueCode::Exception, at, "The repeating element has a pattern. The pattern will apply to all the repeats (this has not been clear to all users)"),
        "{found:#?}"
    );
    assert!(
        exactly(
            &found,
            Severity::Warning,
            IssueCode::Exception,
            at,
            "The repeating element has a pattern value for a primitive type. The DotNet validator will not apply this to all the repeats - this is an error"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_value_complex_fixed() {
    let found = issues(&snapshot(json!([{"id": "Patient", "path": "Patient", "min": 0, "max": "*"},
        {"id": "Patient.maritalStatus", "path": "Patient.maritalStatus", "min": 0, "max": "1", "type": [{"code": "CodeableConcept"}], "fixedCodeableConcept": {"text": "single"}}])));
    assert!(
        exactly(
            &found,
            Severity::Warning,
            IssueCode::Exception,
            "StructureDefinition.snapshot.element[1].fixed.ofType(CodeableConcept)",
            "For the complex type CodeableConcept, consider using a pattern rather than a fixed value to avoid over-constraining the instance"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_table_prohibited() {
    let found = issues(&snapshot(json!([{"id": "Patient", "path": "Patient", "min": 0, "max": "*", "requirements": "Because"}])));
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Exception,
            "StructureDefinition.snapshot.element[0]",
            "The element requirements is prohibited on the element Patient in the context of a constraint"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_table_required() {
    let model = json!({
        "resourceType": "StructureDefinition", "id": "m", "url": "http://example.org/StructureDefinition/M", "name": "M", "status": "draft",
        "kind": "logical", "abstract": false, "type": "http://example.org/StructureDefinition/M",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Element", "derivation": "specialization",
        "snapshot": {"element": [{"id": "M", "path": "M", "min": 0, "max": "*"}, {"id": "M.a", "path": "M.a", "max": "1", "type": [{"code": "string"}]}]}
    });
    let found = issues(&model);
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Exception,
            "StructureDefinition.snapshot.element[1]",
            "The element min is required on the element M.a in the context of a specialization"
        ),
        "{found:#?}"
    );
}

fn with_constraint(constraint: Value) -> Value {
    differential(json!([{"id": "Patient", "path": "Patient"}, {"id": "Patient.name", "path": "Patient.name", "constraint": [constraint]}]))
}

#[test]
fn ed_invariant_no_key() {
    let found = issues(&with_constraint(json!({"severity": "error", "human": "A name has text", "expression": "text.exists()"})));
    assert!(
        exactly(
            &found,
            Severity::Warning,
            IssueCode::Informational,
            "StructureDefinition.differential.element[1].constraint[0]",
            "The constraint has no key, so the content cannot be validated"
        ),
        "{found:#?}"
    );
}

#[test]
fn ed_invariant_no_expression() {
    let found = issues(&with_constraint(json!({"key": "nm-1", "severity": "error", "human": "A name has text"})));
    assert!(
        exactly(
            &found,
            Severity::Information,
            IssueCode::Informational,
            "StructureDefinition.differential.element[1].constraint[0]",
            "The constraint 'nm-1' has no computable expression, so validators will not be able to check it"
        ),
        "{found:#?}"
    );
}

#[test]
fn ed_invariant_diff_no_source() {
    let found = issues(&with_constraint(json!({"key": "nm-1", "severity": "error", "human": "A name has text", "expression": "text.exists()",
        "source": "http://example.org/StructureDefinition/elsewhere"})));
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Invalid,
            "StructureDefinition.differential.element[1].constraint[0]",
            "The invariant nm-1 defined in the differential must have no source, or the source must be the same as the profile (http://example.org/StructureDefinition/elsewhere vs http://example.org/StructureDefinition/p)"
        ),
        "{found:#?}"
    );
}

#[test]
fn ed_invariant_key_already_used() {
    let found = issues(&with_constraint(json!({"key": "pat-1", "severity": "error", "human": "Something else", "expression": "text.exists()"})));
    assert!(
        found.iter().any(|i| i.severity == Severity::Error
            && i.code == IssueCode::Invalid
            && i.expression == "StructureDefinition.differential.element[1].constraint[0]"
            && i.message.starts_with("The constraint key 'pat-1' already exists at the location 'http://hl7.org/fhir/StructureDefinition/Patient|4.0.1' with a different expression ('")),
        "{found:#?}"
    );
}

fn snapshot_constraints(a: &str, b: &str) -> Value {
    snapshot(json!([{"id": "Patient", "path": "Patient", "min": 0, "max": "*"},
        {"id": "Patient.name", "path": "Patient.name", "min": 0, "max": "*", "type": [{"code": "HumanName"}],
         "constraint": [{"key": "nm-1", "severity": "error", "human": "x", "expression": a}]},
        {"id": "Patient.telecom", "path": "Patient.telecom", "min": 0, "max": "*", "type": [{"code": "ContactPoint"}],
         "constraint": [{"key": "nm-1", "severity": "error", "human": "x", "expression": b}]}]))
}

#[test]
fn ed_invariant_expression_conflict() {
    let found = issues(&snapshot_constraints("text.exists()", "value.exists()"));
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Invalid,
            "StructureDefinition.snapshot.element[2].constraint[0]",
            "The constraint 'nm-1' has an expression 'value.exists()', which differs from the earlier expression provided of 'text.exists()' (invariants are allowed to repeat, but cannot differ)"
        ),
        "{found:#?}"
    );
    assert!(!mentions(&issues(&snapshot_constraints("text.exists()", "text.exists()")), "which differs from"));
}

#[test]
fn ed_invariant_expression_error() {
    let found = issues(&snapshot_constraints("text.exists(", "text.exists("));
    assert!(
        found.iter().any(|i| i.severity == Severity::Error
            && i.code == IssueCode::Invalid
            && i.expression == "StructureDefinition.snapshot.element[1].constraint[0]"
            && i.message.starts_with("Error in constraint 'nm-1' with expression 'text.exists(': ")),
        "{found:#?}"
    );
}

#[test]
fn sd_element_fixed_wrong_type() {
    let base = profile(json!({"id": "b", "url": "http://example.org/StructureDefinition/b",
        "differential": {"element": [{"id": "Patient", "path": "Patient"}, {"id": "Patient.gender", "path": "Patient.gender", "fixedCode": "male"}]}}));
    let derived = profile(json!({"baseDefinition": "http://example.org/StructureDefinition/b",
        "differential": {"element": [{"id": "Patient", "path": "Patient"}, {"id": "Patient.gender", "path": "Patient.gender", "fixedString": "male"}]}}));
    let found = issues_with(&[base], &derived);
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Invalid,
            "StructureDefinition.differential.element[1].fixed.ofType(string)",
            "The base element has a fixed type of 'string', so this element must have a fixed value of the same type, not 'code'"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_element_pattern_no_fixed() {
    let base = profile(json!({"id": "b", "url": "http://example.org/StructureDefinition/b",
        "differential": {"element": [{"id": "Patient", "path": "Patient"}, {"id": "Patient.maritalStatus", "path": "Patient.maritalStatus", "patternCodeableConcept": {"text": "single"}}]}}));
    let derived = profile(json!({"baseDefinition": "http://example.org/StructureDefinition/b",
        "differential": {"element": [{"id": "Patient", "path": "Patient"}, {"id": "Patient.maritalStatus", "path": "Patient.maritalStatus", "patternCodeableConcept": {"text": "single"}}]}}));
    let found = issues_with(&[base], &derived);
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Invalid,
            "StructureDefinition.differential.element[1].pattern.ofType(CodeableConcept)",
            "The base element has a pattern type of 'CodeableConcept', so this element must have a fixed value but it doesn't"
        ),
        "{found:#?}"
    );
}

#[test]
fn sd_element_reason_derived() {
    let base = profile(json!({"id": "b", "url": "http://example.org/StructureDefinition/b",
        "differential": {"element": [{"id": "Patient", "path": "Patient"}, {"id": "Patient.gender", "path": "Patient.gender", "fixedCode": "female"}]}}));
    let derived = profile(json!({"baseDefinition": "http://example.org/StructureDefinition/b",
        "differential": {"element": [{"id": "Patient", "path": "Patient"}, {"id": "Patient.gender", "path": "Patient.gender", "fixedCode": "male"}]}}));
    let found = issues_with(&[base], &derived);
    assert!(
        exactly(
            &found,
            Severity::Error,
            IssueCode::Value,
            "Patient.gender",
            "Value is 'male' but is fixed to 'female' in the profile , because the value must match the fixed value define in 'http://example.org/StructureDefinition/b'"
        ),
        "{found:#?}"
    );
}

#[test]
fn a_kind_other_than_the_bases_is_an_error() {
    // SD_CONSTRAINED_KIND_NO_MATCH
    let out = issues_with(&[], &profile(json!({"kind": "complex-type"})));
    let found: Vec<_> = out.iter().filter(|i| i.message.starts_with("The kind ")).collect();
    assert_eq!(found.len(), 1, "{out:#?}");
    assert_eq!((found[0].severity, found[0].code), (Severity::Error, IssueCode::NotFound));
    assert_eq!(found[0].expression, "StructureDefinition");
    assert_eq!(found[0].message, "The kind complex-type must be the same as the kind resource in the base structure http://hl7.org/fhir/StructureDefinition/Patient (base type = Patient)");
    let fine = issues_with(&[], &profile(json!({})));
    assert!(!fine.iter().any(|i| i.message.starts_with("The kind ")), "{fine:#?}");
}

#[test]
fn a_constraint_with_another_kind_than_it_constrains_is_an_error() {
    // SD_DERIVATION_KIND_MISMATCH
    let out = issues_with(&[], &profile(json!({"kind": "complex-type"})));
    assert!(out.iter().any(|i| i.severity == Severity::Error && i.code == IssueCode::NotFound && i.expression == "StructureDefinition"
        && i.message == "The structure definition constrains a kind of resource, but has a different kind (complex-type)"), "{out:#?}");
    let fine = issues_with(&[], &profile(json!({})));
    assert!(!fine.iter().any(|i| i.message.starts_with("The structure definition constrains a kind")), "{fine:#?}");
}

#[test]
fn a_slice_of_a_type_the_must_support_sliced_element_lacks_is_warned_about() {
    // SD_PATH_SLICE_INCONSISTENT_TYPE
    let sd = differential(json!([
        {"id": "Patient", "path": "Patient"},
        {"id": "Patient.deceased[x]", "path": "Patient.deceased[x]", "mustSupport": true, "type": [{"code": "boolean"}],
         "slicing": {"discriminator": [{"type": "type", "path": "$this"}], "rules": "closed"}},
        {"id": "Patient.deceased[x]:deceasedDateTime", "path": "Patient.deceased[x]", "sliceName": "deceasedDateTime",
         "type": [{"code": "dateTime"}]}
    ]));
    let out = issues_with(&[], &sd);
    let found: Vec<_> = out.iter().filter(|i| i.message.contains("which is not consistent with the element that defines the slicing, which has the type(s)")).collect();
    assert_eq!(found.len(), 1, "{out:#?}");
    assert_eq!((found[0].severity, found[0].code), (Severity::Warning, IssueCode::Invalid));
    assert_eq!(found[0].expression, "StructureDefinition.differential");
    assert_eq!(found[0].message, "The slice 'deceasedDateTime' on path 'Patient.deceased[x]' has type 'dateTime  which is not consistent with the element that defines the slicing, which has the type(s) 'boolean'");
}

#[test]
fn sd_ed_bind_unknown_vs() {
    let found = issues(&differential(json!([{"id": "Patient.maritalStatus", "path": "Patient.maritalStatus",
        "binding": {"strength": "extensible", "valueSet": "http://example.org/ValueSet/nowhere"}}])));
    assert!(
        exactly(
            &found,
            Severity::Warning,
            IssueCode::BusinessRule,
            "StructureDefinition.differential.element[0].binding",
            "The valueSet reference http://example.org/ValueSet/nowhere on element Patient.maritalStatus could not be resolved"
        ),
        "{found:#?}"
    );
    // A known value set, and an implicit SNOMED CT one, are not said to be unknown.
    for vs in ["http://hl7.org/fhir/ValueSet/marital-status", "http://snomed.info/sct?fhir_vs=isa/404684003"] {
        let found = issues(&differential(json!([{"id": "Patient.maritalStatus", "path": "Patient.maritalStatus",
            "binding": {"strength": "extensible", "valueSet": vs}}])));
        assert!(!mentions(&found, "could not be resolved"), "{vs}: {found:#?}");
    }
}

/// A profile whose Patient.maritalStatus has an additional binding used in `context`.
fn additional_binding_usage(context: Value) -> Value {
    differential(json!([{"id": "Patient.maritalStatus", "path": "Patient.maritalStatus",
        "binding": {"strength": "extensible", "valueSet": "http://hl7.org/fhir/ValueSet/marital-status",
            "extension": [{"url": "http://hl7.org/fhir/tools/StructureDefinition/additional-binding", "extension": [
                {"url": "purpose", "valueCode": "extensible"},
                {"url": "valueSet", "valueCanonical": "http://hl7.org/fhir/ValueSet/marital-status"},
                {"url": "usage", "valueUsageContext": context}]}]}}]))
}

const USAGE: &str = "StructureDefinition.differential.element[0].binding.extension[0].extension[2].value.ofType(UsageContext)";

#[test]
fn sd_ed_additional_binding_usage_invalid_element() {
    let profile_url = "http://example.org/StructureDefinition/p";
    let found = issues(&additional_binding_usage(json!({"code": {"system": profile_url, "code": "Patient.nowhere"}, "valueCodeableConcept": {"text": "x"}})));
    let message = format!("The Usage Context {profile_url}{}Patient.nowhere is a reference to an element that does not exist", '#');
    assert!(exactly(&found, Severity::Error, IssueCode::BusinessRule, USAGE, &message), "{found:#?}");
}

#[test]
fn sd_ed_additional_binding_usage_invalid_type() {
    let profile_url = "http://example.org/StructureDefinition/p";
    let found = issues(&additional_binding_usage(json!({"code": {"system": profile_url, "code": "Patient.maritalStatus"}, "valueQuantity": {"value": 1}})));
    assert!(exactly(&found, Severity::Error, IssueCode::BusinessRule, USAGE, "The Usage Context value must be of type CodeableConcept not Quantity"), "{found:#?}");
    let fine = issues(&additional_binding_usage(json!({"code": {"system": profile_url, "code": "Patient.maritalStatus"}, "valueCodeableConcept": {"text": "x"}})));
    assert!(!mentions(&fine, "Usage Context"), "{fine:#?}");
}

#[test]
fn sd_ed_additional_binding_usage_unknown() {
    let system = "http://terminology.hl7.org/CodeSystem/usage-context-type";
    let found = issues(&additional_binding_usage(json!({"code": {"system": system, "code": "focus"}, "valueCodeableConcept": {"text": "x"}})));
    let message = format!("The Usage Context {system}{}focus is not recognized so cannot be validated", '#');
    assert!(exactly(&found, Severity::Information, IssueCode::BusinessRule, USAGE, &message), "{found:#?}");
}

#[test]
fn msg_depends_on_profile() {
    // A type profile that is retired is said to be so, naming it a profile.
    let old_name = json!({"resourceType": "StructureDefinition", "url": "http://example.org/StructureDefinition/old-name", "version": "1.0.0",
        "name": "OldName", "status": "retired", "kind": "complex-type", "abstract": false, "type": "HumanName",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/HumanName", "derivation": "constraint",
        "differential": {"element": [{"id": "HumanName", "path": "HumanName"}]}});
    let sd = differential(json!([{"id": "Patient.name", "path": "Patient.name",
        "type": [{"code": "HumanName", "profile": ["http://example.org/StructureDefinition/old-name"]}]}]));
    let found = issues_with(&[old_name], &sd);
    assert!(
        exactly(&found, Severity::Information, IssueCode::BusinessRule, "StructureDefinition.differential.element[0].type[0].profile[0]",
            "The profile http://example.org/StructureDefinition/old-name|1.0.0 is retired"),
        "{found:#?}"
    );
}
