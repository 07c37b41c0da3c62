//! The reference validator's messages about profiles, slicing, nested
//! resources' profiles, reference target profiles and extension contexts,
//! one test per rule, each on a small resource and profile made for it.

mod common;

use careplan::context::Context;
use careplan::issue::{Issue, IssueCode, Severity};
use careplan::tree::Format;
use careplan::validator::{Options, Validator};
use serde_json::{json, Value};
use std::sync::Arc;

const BASE: &str = "http://example.org/fhir/StructureDefinition/";
const CORE: &str = "http://hl7.org/fhir/StructureDefinition/";

fn url(name: &str) -> String {
    format!("{BASE}{name}")
}

/// A constraint profile on a core type, as a differential.
fn profile(name: &str, type_name: &str, elements: Value) -> Value {
    let kind = if type_name == "Extension" { "complex-type" } else { "resource" };
    json!({"resourceType": "StructureDefinition", "url": url(name), "name": name, "status": "draft",
        "fhirVersion": "4.0.1", "kind": kind, "abstract": false, "type": type_name, "derivation": "constraint",
        "baseDefinition": format!("{CORE}{type_name}"), "differential": {"element": elements}})
}

/// A simple extension with a string value, usable where `contexts` say.
fn extension(name: &str, contexts: Value) -> Value {
    let mut e = profile(
        name,
        "Extension",
        json!([
            {"id": "Extension.url", "path": "Extension.url", "fixedUri": url(name)},
            {"id": "Extension.value[x]", "path": "Extension.value[x]", "type": [{"code": "string"}]}
        ]),
    );
    e["context"] = contexts;
    e
}

fn with_profile(name: &str, mut resource: Value) -> Value {
    resource["meta"] = json!({"profile": [url(name)]});
    resource
}

fn context_with(definitions: &[Value]) -> Context {
    let mut ctx = Context::overlay(common::context());
    for d in definitions {
        ctx.add_json(d.clone(), "test");
    }
    ctx
}

fn validate(ctx: Context, options: Options, resource: &Value) -> Vec<Issue> {
    Validator::new(Arc::new(ctx), options).validate_bytes(resource.to_string().as_bytes(), Some(Format::Json))
}

fn issues(definitions: &[Value], resource: &Value) -> Vec<Issue> {
    common::issues_with(definitions, resource)
}

/// The one issue with this severity, code and expression whose message is `message`.
fn assert_issue(issues: &[Issue], severity: Severity, code: IssueCode, expression: &str, message: &str) {
    let found = issues.iter().filter(|i| i.severity == severity && i.code == code && i.expression == expression && i.message == message).count();
    assert_eq!(found, 1, "wanted {severity:?} {code:?} at {expression}: {message}\n{issues:#?}");
}

fn none_say(issues: &[Issue], fragment: &str) {
    assert!(!issues.iter().any(|i| i.message.contains(fragment)), "{issues:#?}");
}

fn no_errors(issues: &[Issue]) {
    assert!(!issues.iter().any(|i| i.severity.is_error()), "{issues:#?}");
}

// ---------- which profiles a resource is validated against ----------

#[test]
fn an_unknown_meta_profile_is_not_checked() {
    // Validation_VAL_Profile_Unknown
    let found = issues(&[], &json!({"resourceType": "Patient", "meta": {"profile": ["http://example.org/nowhere"]}}));
    assert_issue(
        &found,
        Severity::Warning,
        IssueCode::Structure,
        "Patient.meta.profile[0]",
        "Profile reference 'http://example.org/nowhere' has not been checked because it could not be found",
    );
}

#[test]
fn a_profile_of_another_fhir_version_is_ignored() {
    // VALIDATION_VAL_PROFILE_OTHER_VERSION
    let found = issues(&[], &json!({"resourceType": "Patient", "meta": {"profile": ["http://hl7.org/fhir/3.0/StructureDefinition/Patient"]}}));
    assert_issue(&found, Severity::Information, IssueCode::Structure, "Patient.meta.profile[0]", "Profile is for a different version of FHIR (3.0) so has been ignored");
    none_say(&found, "has not been checked");
}

#[test]
fn a_profile_named_by_this_versions_url_is_fine() {
    // VALIDATION_VAL_PROFILE_THIS_VERSION_OK
    let found = issues(&[], &json!({"resourceType": "Patient", "meta": {"profile": ["http://hl7.org/fhir/4.0/StructureDefinition/Patient"]}}));
    assert_issue(&found, Severity::Information, IssueCode::Structure, "Patient.meta.profile[0]", "Profile for this version of FHIR - all OK");
}

#[test]
fn a_profile_named_by_this_versions_url_must_be_for_the_resources_type() {
    // VALIDATION_VAL_PROFILE_THIS_VERSION_OTHER
    let found = issues(&[], &json!({"resourceType": "Patient", "meta": {"profile": ["http://hl7.org/fhir/4.0/StructureDefinition/Observation"]}}));
    assert_issue(&found, Severity::Error, IssueCode::Structure, "Patient.meta.profile[0]", "Profile is for this version of FHIR, but is an invalid type Observation");
}

#[test]
fn a_requested_profile_that_cannot_be_found_is_an_error() {
    // Unable_to_locate_the_profile__in_order_to_validate_against_it
    let options = Options { profiles: vec![url("missing")], ..Options::default() };
    let found = validate(context_with(&[]), options, &json!({"resourceType": "Patient"}));
    assert_issue(&found, Severity::Error, IssueCode::NotFound, "Patient", &format!("Unable to locate the profile '{}' in order to validate against it", url("missing")));
}

#[test]
fn a_requested_profile_for_another_type_is_an_error() {
    // Validation_VAL_Profile_WrongType
    let obs = profile("obs", "Observation", json!([{"id": "Observation", "path": "Observation"}]));
    let options = Options { profiles: vec![url("obs")], ..Options::default() };
    let found = validate(context_with(&[obs]), options, &json!({"resourceType": "Patient"}));
    assert_issue(&found, Severity::Error, IssueCode::Invalid, "Patient", &format!("Specified profile type was 'Observation' in profile '{}', but found type 'Patient'", url("obs")));
}

#[test]
fn a_global_profile_that_cannot_be_found_is_not_checked() {
    // VALIDATION_VAL_GLOBAL_PROFILE_UNKNOWN
    let mut ctx = context_with(&[]);
    ctx.add_global_profiles(&json!({"resourceType": "ImplementationGuide", "url": "http://example.org/ig", "version": "1.0",
        "global": [{"type": "Patient", "profile": url("gone")}]}));
    let found = validate(ctx, Options::default(), &json!({"resourceType": "Patient"}));
    assert_issue(
        &found,
        Severity::Warning,
        IssueCode::Structure,
        "Patient",
        &format!("Global Profile reference '{}' from IG http://example.org/ig|1.0 could not be resolved, so has not been checked", url("gone")),
    );
}

fn imposing(name: &str, imposed: &str) -> Value {
    let mut p = profile(name, "Patient", json!([{"id": "Patient", "path": "Patient"}]));
    p["extension"] = json!([{"url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-imposeProfile", "valueCanonical": imposed}]);
    p
}

#[test]
fn an_imposed_profile_that_cannot_be_found_is_reported() {
    // VALIDATION_VAL_PROFILE_DEPENDS_NOT_RESOLVED
    let found = issues(&[imposing("imposer", &url("absent"))], &with_profile("imposer", json!({"resourceType": "Patient"})));
    let msg = format!(
        "Profile {} identifies {} as a dependency (using the extension http://hl7.org/fhir/StructureDefinition/structuredefinition-dependencies), but this profile could not be found",
        url("imposer"),
        url("absent")
    );
    assert_issue(&found, Severity::Warning, IssueCode::BusinessRule, "Patient.meta.profile[0]", &msg);
}

#[test]
fn an_imposed_profile_is_validated_against_too() {
    let gendered = profile("gendered", "Patient", json!([{"id": "Patient.gender", "path": "Patient.gender", "min": 1}]));
    let found = issues(&[gendered, imposing("imposer", &url("gendered"))], &with_profile("imposer", json!({"resourceType": "Patient"})));
    assert!(common::has(&found, Severity::Error, "Patient", "Patient.gender: minimum required = 1"), "{found:#?}");
}

#[test]
fn crumb_trails_say_which_profiles_and_why() {
    // VALIDATION_VAL_PROFILE_SIGNPOST, _META, _GLOBAL and _DEP
    let plain = |n: &str| profile(n, "Patient", json!([{"id": "Patient", "path": "Patient"}]));
    let mut ctx = context_with(&[plain("asked"), plain("global"), plain("imposed"), imposing("claimed", &url("imposed"))]);
    ctx.add_global_profiles(&json!({"resourceType": "ImplementationGuide", "url": "http://example.org/ig", "global": [{"type": "Patient", "profile": url("global")}]}));
    let options = Options { signposts: true, profiles: vec![url("asked")], ..Options::default() };
    let found = validate(ctx, options, &with_profile("claimed", json!({"resourceType": "Patient"})));
    let info = |msg: String| assert_issue(&found, Severity::Information, IssueCode::Informational, "Patient", &msg);
    info(format!("Validate resource against profile {CORE}Patient|4.0.1"));
    info(format!("Validate resource against profile {}", url("asked")));
    info(format!("Validate resource against profile {} (per meta)", url("claimed")));
    info(format!("Validate resource against profile {} - a global profile in http://example.org/ig", url("global")));
    info(format!(
        "Validate resource against profile {} (per http://hl7.org/fhir/StructureDefinition/structuredefinition-dependencies in {})",
        url("imposed"),
        url("claimed")
    ));
    // Without the option, none of them.
    none_say(&issues(&[plain("asked")], &with_profile("asked", json!({"resourceType": "Patient"}))), "Validate resource against profile");
}

// ---------- slicing ----------

const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";
const LOCAL: &str = "https://example.org/Id/local";

/// Patient.identifier sliced by system: `nhs` and `local`.
fn identifier_slicing(name: &str, rules: &str, ordered: bool) -> Value {
    profile(
        name,
        "Patient",
        json!([
            {"id": "Patient.identifier", "path": "Patient.identifier",
             "slicing": {"discriminator": [{"type": "value", "path": "system"}], "rules": rules, "ordered": ordered}},
            {"id": "Patient.identifier:nhs", "path": "Patient.identifier", "sliceName": "nhs", "max": "1"},
            {"id": "Patient.identifier:nhs.system", "path": "Patient.identifier.system", "fixedUri": NHS},
            {"id": "Patient.identifier:local", "path": "Patient.identifier", "sliceName": "local"},
            {"id": "Patient.identifier:local.system", "path": "Patient.identifier.system", "fixedUri": LOCAL}
        ]),
    )
}

fn identifier(system: &str, value: &str) -> Value {
    json!({"system": system, "value": value})
}

#[test]
fn open_slicing_hints_at_an_element_that_matches_no_slice() {
    // This_element_does_not_match_any_known_slice_
    let found = issues(
        &[identifier_slicing("ids-open", "open", false)],
        &with_profile("ids-open", json!({"resourceType": "Patient", "identifier": [identifier("http://other", "1")]})),
    );
    let msg = format!(
        "This element does not match any known slice defined in the profile {} (this may not be a problem, but you should check that it's not intended to match a slice)",
        url("ids-open")
    );
    assert_issue(&found, Severity::Information, IssueCode::Informational, "Patient.identifier[0]", &msg);
}

#[test]
fn closed_slicing_refuses_an_element_that_matches_no_slice_and_says_why() {
    // Validation_VAL_Profile_NotSlice, with Does_not_match_slice_ for each slice
    let found = issues(
        &[identifier_slicing("ids-closed", "closed", false)],
        &with_profile("ids-closed", json!({"resourceType": "Patient", "identifier": [identifier("http://other", "1")]})),
    );
    let msg = format!(
        "This element does not match any known slice defined in the profile {} and slicing is CLOSED: \
         Patient.identifier[0]: Does not match slice 'nhs' (discriminator: system = '{NHS}'), \
         Patient.identifier[0]: Does not match slice 'local' (discriminator: system = '{LOCAL}')",
        url("ids-closed")
    );
    assert_issue(&found, Severity::Error, IssueCode::Invalid, "Patient.identifier[0]", &msg);
}

#[test]
fn ordered_slicing_refuses_a_slice_out_of_order() {
    // Validation_VAL_Profile_SliceOrder
    let found = issues(
        &[identifier_slicing("ids-ordered", "open", true)],
        &with_profile("ids-ordered", json!({"resourceType": "Patient", "identifier": [identifier(LOCAL, "1"), identifier(NHS, "9000000009")]})),
    );
    let msg = format!(
        "As specified by profile {}, Element 'identifier' is out of order in ordered slice (it matches the slice 'Patient.identifier:nhs', which comes before the slice 'Patient.identifier:local' an earlier element matched)",
        url("ids-ordered")
    );
    assert_issue(&found, Severity::Error, IssueCode::Invalid, "Patient.identifier[1]", &msg);
}

#[test]
fn an_element_may_match_one_slice_only() {
    // Validation_VAL_Profile_MatchMultiple: two slices both fix the same system.
    let twice = profile(
        "ids-twice",
        "Patient",
        json!([
            {"id": "Patient.identifier", "path": "Patient.identifier", "slicing": {"discriminator": [{"type": "value", "path": "system"}], "rules": "open"}},
            {"id": "Patient.identifier:a", "path": "Patient.identifier", "sliceName": "a"},
            {"id": "Patient.identifier:a.system", "path": "Patient.identifier.system", "fixedUri": NHS},
            {"id": "Patient.identifier:b", "path": "Patient.identifier", "sliceName": "b"},
            {"id": "Patient.identifier:b.system", "path": "Patient.identifier.system", "fixedUri": NHS}
        ]),
    );
    let found = issues(&[twice], &with_profile("ids-twice", json!({"resourceType": "Patient", "identifier": [identifier(NHS, "9000000009")]})));
    assert_issue(&found, Severity::Error, IssueCode::Invalid, "Patient.identifier[0]", &format!("Profile {}, Element matches more than one slice - a, b", url("ids-twice")));
    // Distinct slices: no such error.
    let found = issues(
        &[identifier_slicing("ids-open", "open", false)],
        &with_profile("ids-open", json!({"resourceType": "Patient", "identifier": [identifier(NHS, "9000000009")]})),
    );
    none_say(&found, "matches more than one slice");
}

#[test]
fn an_existence_discriminator_needs_a_slice_that_requires_or_forbids() {
    // SLICING_CANNOT_BE_EVALUATED with Discriminator__is_based_on_element_existence_but_slice__neither_sets_min1_or_max0
    let by_existence = profile(
        "ids-exists",
        "Patient",
        json!([
            {"id": "Patient.identifier", "path": "Patient.identifier", "slicing": {"discriminator": [{"type": "exists", "path": "period"}], "rules": "open"}},
            {"id": "Patient.identifier:dated", "path": "Patient.identifier", "sliceName": "dated"}
        ]),
    );
    let found = issues(&[by_existence], &with_profile("ids-exists", json!({"resourceType": "Patient", "identifier": [identifier(NHS, "9000000009")]})));
    assert_issue(
        &found,
        Severity::Error,
        IssueCode::Processing,
        "Patient.identifier[0]",
        "Slicing cannot be evaluated: Discriminator (period) is based on element existence, but slice Patient.identifier:dated neither sets min>=1 or max=0",
    );
}

/// A Basic profile given with its snapshot, whose identifier slice `a` has
/// no types (only a hand-written snapshot can say that).
fn typeless_slice(name: &str, kind: &str) -> Value {
    json!({"resourceType": "StructureDefinition", "url": url(name), "name": name, "status": "draft", "fhirVersion": "4.0.1",
        "kind": "resource", "abstract": false, "type": "Basic", "derivation": "constraint", "baseDefinition": format!("{CORE}Basic"),
        "snapshot": {"element": [
            {"id": "Basic", "path": "Basic", "min": 0, "max": "*", "base": {"path": "Basic", "min": 0, "max": "*"}},
            {"id": "Basic.identifier", "path": "Basic.identifier", "min": 0, "max": "*", "base": {"path": "Basic.identifier", "min": 0, "max": "*"},
             "type": [{"code": "Identifier"}], "slicing": {"discriminator": [{"type": kind, "path": "$this"}], "rules": "open"}},
            {"id": "Basic.identifier:a", "path": "Basic.identifier", "sliceName": "a", "min": 0, "max": "*", "base": {"path": "Basic.identifier", "min": 0, "max": "*"}},
            {"id": "Basic.code", "path": "Basic.code", "min": 1, "max": "1", "base": {"path": "Basic.code", "min": 1, "max": "1"}, "type": [{"code": "CodeableConcept"}]}
        ]}})
}

#[test]
fn a_type_discriminator_needs_slices_with_types() {
    // SLICING_CANNOT_BE_EVALUATED with Discriminator__is_based_on_type_but_slice__in__has_no_types
    let found = issues(&[typeless_slice("typeless", "type")], &with_profile("typeless", json!({"resourceType": "Basic", "code": {"text": "x"}, "identifier": [identifier(NHS, "1")]})));
    let msg = format!("Slicing cannot be evaluated: Discriminator ($this) is based on type, but slice Basic.identifier:a in {} has no types", url("typeless"));
    assert_issue(&found, Severity::Error, IssueCode::Processing, "Basic.identifier[0]", &msg);
}

#[test]
fn a_profile_discriminator_needs_slices_with_types() {
    // SLICING_CANNOT_BE_EVALUATED with Profile_based_discriminators_must_have_a_type__in_profile_
    let found = issues(&[typeless_slice("typeless-p", "profile")], &with_profile("typeless-p", json!({"resourceType": "Basic", "code": {"text": "x"}, "identifier": [identifier(NHS, "1")]})));
    let msg = format!("Slicing cannot be evaluated: Profile based discriminators must have a type (Basic.identifier:a in profile {})", url("typeless-p"));
    assert_issue(&found, Severity::Error, IssueCode::Processing, "Basic.identifier[0]", &msg);
}

// ---------- element order and types ----------

#[test]
fn xml_elements_out_of_order_say_what_they_follow() {
    // Validation_VAL_Profile_OutOfOrder
    let xml = r#"<Patient xmlns="http://hl7.org/fhir"><gender value="male"/><active value="true"/></Patient>"#;
    let found = common::validator().validate_bytes(xml.as_bytes(), Some(Format::Xml));
    assert_issue(&found, Severity::Error, IssueCode::Invalid, "Patient.active", &format!("As specified by profile {CORE}Patient|4.0.1, Element 'active' is out of order (found after gender)"));
}

fn narrowed_value(name: &str, types: Value) -> Value {
    profile(name, "Observation", json!([{"id": "Observation.value[x]", "path": "Observation.value[x]", "type": types}]))
}

fn observation(name: &str, value: Value) -> Value {
    let mut o = with_profile(name, json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}}));
    o.as_object_mut().unwrap().extend(value.as_object().unwrap().clone());
    o
}

#[test]
fn a_profile_allowing_one_type_refuses_another() {
    // Extension_PROF_Type
    let found = issues(&[narrowed_value("one-type", json!([{"code": "Quantity"}]))], &observation("one-type", json!({"valueString": "high"})));
    let msg = format!("The Profile '{}' definition allows for the type Quantity but found type string", url("one-type"));
    assert_issue(&found, Severity::Error, IssueCode::Structure, "Observation.value.ofType(string)", &msg);
}

#[test]
fn a_profile_allowing_some_types_cannot_type_another() {
    // Validation_VAL_Profile_NoType
    let found = issues(&[narrowed_value("two-types", json!([{"code": "Quantity"}, {"code": "CodeableConcept"}]))], &observation("two-types", json!({"valueString": "high"})));
    let msg = "The type of element valueString is not known - it could not be determined from the information available. Valid types at this point are Quantity, CodeableConcept";
    assert_issue(&found, Severity::Error, IssueCode::Structure, "Observation.value.ofType(string)", msg);
}

// ---------- nested resources and their profiles ----------

fn gendered() -> Value {
    profile("gendered", "Patient", json!([{"id": "Patient.gender", "path": "Patient.gender", "min": 1}]))
}

fn dated() -> Value {
    profile("dated", "Patient", json!([{"id": "Patient.birthDate", "path": "Patient.birthDate", "min": 1}]))
}

/// A Bundle profile whose entries' resources are of these types.
fn entries_of(name: &str, types: Value) -> Value {
    profile(name, "Bundle", json!([{"id": "Bundle.entry.resource", "path": "Bundle.entry.resource", "type": types}]))
}

fn bundle_of(name: &str, resource: Value) -> Value {
    with_profile(name, json!({"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "urn:uuid:1d0d3f6c-7d5b-4a8e-9a55-2f9c9d4b8e01", "resource": resource}]}))
}

const ENTRY: &str = "Bundle.entry[0].resource";

#[test]
fn a_nested_resource_of_a_type_the_profile_leaves_out_is_refused() {
    // Bundle_BUNDLE_Entry_Type
    let found = issues(&[entries_of("patients", json!([{"code": "Patient"}]))], &bundle_of("patients", json!({"resourceType": "Basic", "code": {"text": "x"}})));
    assert_issue(&found, Severity::Error, IssueCode::Informational, ENTRY, "The type 'Basic' is not valid - no resources allowed here (allowed = Patient)");
}

#[test]
fn a_nested_resource_must_be_of_its_profiles_type() {
    // Bundle_BUNDLE_Entry_Type2
    let defs = [gendered(), entries_of("gendered-entries", json!([{"code": "Resource", "profile": [url("gendered")]}]))];
    let found = issues(&defs, &bundle_of("gendered-entries", json!({"resourceType": "Basic", "code": {"text": "x"}})));
    assert_issue(&found, Severity::Error, IssueCode::Informational, ENTRY, &format!("The type 'Basic' is not valid - must be Patient (allowed = {})", url("gendered")));
}

#[test]
fn a_nested_resources_one_profile_must_be_known() {
    // Bundle_BUNDLE_Entry_NoProfile_EXPL
    let found = issues(&[entries_of("absent-entries", json!([{"code": "Resource", "profile": [url("absent")]}]))], &bundle_of("absent-entries", json!({"resourceType": "Patient"})));
    assert_issue(&found, Severity::Error, IssueCode::Invalid, ENTRY, &format!("Specified profile {} not found for entry resource of type 'entry'", url("absent")));
}

#[test]
fn a_nested_resources_profiles_must_be_known() {
    // Bundle_BUNDLE_Entry_NoProfile_TYPE
    let defs = [gendered(), entries_of("some-absent", json!([{"code": "Resource", "profile": [url("absent"), url("gendered")]}]))];
    let found = issues(&defs, &bundle_of("some-absent", json!({"resourceType": "Patient", "gender": "male"})));
    assert_issue(&found, Severity::Error, IssueCode::Invalid, ENTRY, &format!("No profile found for entry resource of type '{}'", url("absent")));
}

fn either_profile() -> Vec<Value> {
    vec![gendered(), dated(), entries_of("either", json!([{"code": "Resource", "profile": [url("gendered"), url("dated")]}]))]
}

#[test]
fn a_nested_resource_must_match_one_of_its_profiles() {
    // BUNDLE_BUNDLE_ENTRY_MULTIPLE_PROFILES_NO_MATCH and _NO_MATCH_REASON
    let found = issues(&either_profile(), &bundle_of("either", json!({"resourceType": "Patient"})));
    let msg = format!("The entry resource did not match any of the allowed profiles (Type Resource: {}, {})", url("gendered"), url("dated"));
    assert_issue(&found, Severity::Error, IssueCode::Invalid, ENTRY, &msg);
    let because = |p: &str, why: &str| {
        assert!(
            found.iter().any(|i| i.severity == Severity::Information
                && i.code == IssueCode::Invalid
                && i.expression == ENTRY
                && i.message.starts_with(&format!("The entry resource did not match the profile {} because: {why}", url(p)))),
            "{found:#?}"
        )
    };
    because("gendered", "Patient.gender: minimum required = 1");
    because("dated", "Patient.birthDate: minimum required = 1");
    // One match: nothing said.
    let found = issues(&either_profile(), &bundle_of("either", json!({"resourceType": "Patient", "gender": "male"})));
    none_say(&found, "allowed profiles");
    no_errors(&found);
}

#[test]
fn a_nested_resource_matching_several_profiles_is_told_so() {
    // BUNDLE_BUNDLE_ENTRY_MULTIPLE_PROFILES_MULTIPLE_MATCHES
    let found = issues(&either_profile(), &bundle_of("either", json!({"resourceType": "Patient", "gender": "male", "birthDate": "1950-01-01"})));
    let msg = format!("The entry resource matched more than one of the allowed profiles ({}, {})", url("gendered"), url("dated"));
    assert_issue(&found, Severity::Information, IssueCode::Invalid, ENTRY, &msg);
}

// ---------- reference target profiles ----------

fn subject_of_either() -> Vec<Value> {
    let obs = profile(
        "obs-subject",
        "Observation",
        json!([{"id": "Observation.subject", "path": "Observation.subject", "type": [{"code": "Reference", "targetProfile": [url("gendered"), url("dated")]}]}]),
    );
    vec![gendered(), dated(), obs]
}

const PATIENT_URN: &str = "urn:uuid:7a3c2b1e-4f5d-4c6b-8a9e-0b1c2d3e4f50";

fn observation_about(patient: Value) -> Value {
    let obs = with_profile("obs-subject", json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "subject": {"reference": PATIENT_URN}}));
    json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:0f9e8d7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f", "resource": obs},
        {"fullUrl": PATIENT_URN, "resource": patient}
    ]})
}

const SUBJECT: &str = "Bundle.entry[0].resource.subject";

#[test]
fn a_reference_target_matching_several_profiles_is_a_warning() {
    // Reference_REF_MultipleMatches
    let found = issues(&subject_of_either(), &observation_about(json!({"resourceType": "Patient", "gender": "male", "birthDate": "1950-01-01"})));
    let msg = format!("Found multiple matching profiles for {PATIENT_URN} among choices: {}, {}", url("dated"), url("gendered"));
    assert_issue(&found, Severity::Warning, IssueCode::Structure, SUBJECT, &msg);
}

#[test]
fn a_reference_target_matching_no_profile_says_which_it_was_matched_against() {
    // Details_for__matching_against_Profile_, beside REFERENCE_REF_CANTMATCHCHOICE
    let found = issues(&subject_of_either(), &observation_about(json!({"resourceType": "Patient"})));
    assert!(common::has(&found, Severity::Error, SUBJECT, "Unable to find a profile match for"), "{found:#?}");
    for p in ["gendered", "dated"] {
        assert_issue(&found, Severity::Information, IssueCode::Structure, SUBJECT, &format!("Details for {PATIENT_URN} matching against profile {}", url(p)));
    }
    // One match: neither.
    let found = issues(&subject_of_either(), &observation_about(json!({"resourceType": "Patient", "gender": "male"})));
    none_say(&found, "matching against profile");
    none_say(&found, "multiple matching profiles");
}

// ---------- extensions ----------

fn patient_with(ext: &str) -> Value {
    json!({"resourceType": "Patient", "extension": [{"url": url(ext), "valueString": "x"}]})
}

#[test]
fn an_extension_context_in_an_unknown_profile_is_an_error() {
    // EXTENSION_CONTEXT_UNABLE_TO_FIND_PROFILE
    let ext = extension("in-nowhere", json!([{"type": "element", "expression": format!("{}#Patient", url("nowhere"))}]));
    let found = issues(&[ext], &patient_with("in-nowhere"));
    let msg = format!("The extension {} specifies a context of {}#Patient but the validator cannot find that profile", url("in-nowhere"), url("nowhere"));
    assert_issue(&found, Severity::Error, IssueCode::Unknown, "Patient", &msg);
}

#[test]
fn an_extension_context_in_a_profile_of_another_type_is_not_checked() {
    // EXTENSION_CONTEXT_UNABLE_TO_CHECK_PROFILE
    let obs = profile("obs", "Observation", json!([{"id": "Observation", "path": "Observation"}]));
    let ext = extension("in-obs", json!([{"type": "element", "expression": format!("{}#Patient", url("obs"))}]));
    let found = issues(&[obs, ext], &patient_with("in-obs"));
    let msg = format!(
        "The extension {} specifies a context of {}#Patient but the validator cannot check whether the profile is valid or not at this time",
        url("in-obs"),
        url("obs")
    );
    assert_issue(&found, Severity::Warning, IssueCode::Unknown, "Patient", &msg);
}

#[test]
fn an_extension_context_in_a_profile_holds_where_the_resource_meets_it() {
    let ext = extension("in-gendered", json!([{"type": "element", "expression": format!("{}#Patient", url("gendered"))}]));
    let defs = [gendered(), ext];
    let mut met = patient_with("in-gendered");
    met["gender"] = json!("female");
    no_errors(&issues(&defs, &met));
    let found = issues(&defs, &patient_with("in-gendered"));
    assert!(common::has(&found, Severity::Error, "Patient", "is not allowed to be used at this point"), "{found:#?}");
}

fn version_limited(name: &str, part: &str, version: &str) -> Value {
    let mut ext = extension(name, json!([{"type": "element", "expression": "Patient"}]));
    ext["extension"] = json!([{"url": "http://hl7.org/fhir/StructureDefinition/version-specific-use", "extension": [{"url": part, "valueCode": version}]}]);
    ext
}

#[test]
fn an_extension_for_later_fhir_versions_is_refused_in_r4() {
    // EXTENSION_FHIR_VERSION_EARLIEST
    let found = issues(&[version_limited("r5-on", "startFhirVersion", "5.0")], &patient_with("r5-on"));
    let msg = format!("The definition of the extension '{}' specifies that the earliest version it can be used with is R5 (v5.0), but this context of use is version R4 (v4.0.1)", url("r5-on"));
    assert_issue(&found, Severity::Error, IssueCode::BusinessRule, "Patient", &msg);
    no_errors(&issues(&[version_limited("r4-on", "startFhirVersion", "4.0")], &patient_with("r4-on")));
}

#[test]
fn an_extension_for_earlier_fhir_versions_is_refused_in_r4() {
    // EXTENSION_FHIR_VERSION_LATEST
    let found = issues(&[version_limited("up-to-r3", "endFhirVersion", "3.0")], &patient_with("up-to-r3"));
    let msg = format!("The definition of the extension '{}' specifies that the latest version it can be used with is R3 (v3.0), but this context of use is version R4 (v4.0.1)", url("up-to-r3"));
    assert_issue(&found, Severity::Error, IssueCode::BusinessRule, "Patient", &msg);
    no_errors(&issues(&[version_limited("up-to-r4", "endFhirVersion", "4.0.1")], &patient_with("up-to-r4")));
}

/// A modifier extension usable on Basic.
fn modifier(name: &str) -> Value {
    let mut ext = extension(name, json!([{"type": "element", "expression": "Basic"}]));
    ext["differential"]["element"]
        .as_array_mut()
        .unwrap()
        .insert(0, json!({"id": "Extension", "path": "Extension", "isModifier": true, "isModifierReason": "test"}));
    ext
}

#[test]
fn a_modifier_extension_element_a_profile_says_is_no_modifier() {
    // Extension_EXT_Modifier_MismatchY. A differential cannot take
    // isModifier away, so the profile comes with its (wrong) snapshot.
    let p = json!({"resourceType": "StructureDefinition", "url": url("unmodified"), "name": "unmodified", "status": "draft", "fhirVersion": "4.0.1",
        "kind": "resource", "abstract": false, "type": "Basic", "derivation": "constraint", "baseDefinition": format!("{CORE}Basic"),
        "snapshot": {"element": [
            {"id": "Basic", "path": "Basic", "min": 0, "max": "*", "base": {"path": "Basic", "min": 0, "max": "*"}},
            {"id": "Basic.modifierExtension", "path": "Basic.modifierExtension", "min": 0, "max": "*", "isModifier": false,
             "base": {"path": "DomainResource.modifierExtension", "min": 0, "max": "*"}, "type": [{"code": "Extension"}]},
            {"id": "Basic.code", "path": "Basic.code", "min": 1, "max": "1", "base": {"path": "Basic.code", "min": 1, "max": "1"}, "type": [{"code": "CodeableConcept"}]}
        ]}});
    let basic = with_profile("unmodified", json!({"resourceType": "Basic", "code": {"text": "x"}, "modifierExtension": [{"url": url("mod"), "valueString": "x"}]}));
    let found = issues(&[modifier("mod"), p], &basic);
    let at = format!("Basic.modifierExtension[0][url='{}']", url("mod"));
    assert_issue(&found, Severity::Error, IssueCode::Structure, &at, "Extension modifier mismatch: the extension element is labelled as a modifier, but the underlying extension is not");
}

#[test]
fn an_extension_element_a_profile_says_is_a_modifier() {
    // Extension_EXT_Modifier_MismatchN
    let p = profile(
        "modified",
        "Patient",
        json!([
            {"id": "Patient.extension", "path": "Patient.extension", "slicing": {"discriminator": [{"type": "value", "path": "url"}], "rules": "open"}},
            {"id": "Patient.extension:e", "path": "Patient.extension", "sliceName": "e", "isModifier": true, "isModifierReason": "test",
             "type": [{"code": "Extension", "profile": [url("plain")]}]}
        ]),
    );
    let ext = extension("plain", json!([{"type": "element", "expression": "Patient"}]));
    let found = issues(&[ext, p], &with_profile("modified", patient_with("plain")));
    let at = format!("Patient.extension[0][url='{}']", url("plain"));
    assert_issue(&found, Severity::Error, IssueCode::Structure, &at, "Extension modifier mismatch: the extension element is not labelled as a modifier, but the underlying extension is");
}

// ---------- fixed values, property by property ----------

fn fixed_identifier(name: &str, how: &str, value: Value) -> Value {
    let mut el = json!({"id": "Patient.identifier", "path": "Patient.identifier", "max": "1"});
    el[how] = value;
    profile(name, "Patient", json!([el]))
}

#[test]
fn a_fixed_value_property_the_instance_lacks_is_missing() {
    // Profile_VAL_MissingElement
    let found = issues(
        &[fixed_identifier("fixed-id", "patternIdentifier", json!({"system": NHS}))],
        &with_profile("fixed-id", json!({"resourceType": "Patient", "identifier": [{"value": "9000000009"}]})),
    );
    let msg = format!("Missing element 'system' - required by fixed value assigned in profile {}", url("fixed-id"));
    assert_issue(&found, Severity::Error, IssueCode::Value, "Patient.identifier[0].system", &msg);
}

#[test]
fn a_property_a_fixed_value_does_not_have_is_not_allowed() {
    // Profile_VAL_NotAllowed
    let found = issues(
        &[fixed_identifier("exact-id", "fixedIdentifier", json!({"system": NHS, "value": "9000000009"}))],
        &with_profile("exact-id", json!({"resourceType": "Patient", "identifier": [{"system": NHS, "value": "9000000009", "use": "official"}]})),
    );
    let msg = "The element use is present in the instance but not allowed in the applicable fixed value specified in profile";
    assert_issue(&found, Severity::Error, IssueCode::Value, "Patient.identifier[0].use", msg);
    // A pattern allows more.
    let found = issues(
        &[fixed_identifier("pattern-id", "patternIdentifier", json!({"system": NHS}))],
        &with_profile("pattern-id", json!({"resourceType": "Patient", "identifier": [{"system": NHS, "value": "9000000009", "use": "official"}]})),
    );
    no_errors(&found);
}

#[test]
fn a_fixed_timing_needs_as_many_events() {
    // Bundle_MSG_Event_Count
    let p = profile(
        "twice",
        "MedicationRequest",
        json!([{"id": "MedicationRequest.dosageInstruction.timing", "path": "MedicationRequest.dosageInstruction.timing",
                "patternTiming": {"event": ["2020-01-01T08:00:00Z", "2020-01-01T20:00:00Z"]}}]),
    );
    let request = with_profile(
        "twice",
        json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order", "medicationCodeableConcept": {"text": "x"},
            "subject": {"display": "someone"}, "dosageInstruction": [{"timing": {"event": ["2020-01-01T08:00:00Z"]}}]}),
    );
    let found = issues(&[p], &request);
    assert_issue(&found, Severity::Error, IssueCode::Value, "MedicationRequest.dosageInstruction[0].timing", "Expected 2 but found 1 event elements");
}

/// A Basic profile given with its snapshot: `code` of type `code_type`, and
/// nothing else of Basic's (no `created`).
fn short_basic(name: &str, code_type: &str) -> Value {
    json!({"resourceType": "StructureDefinition", "url": url(name), "name": name, "status": "draft", "fhirVersion": "4.0.1",
        "kind": "resource", "abstract": false, "type": "Basic", "derivation": "constraint", "baseDefinition": format!("{CORE}Basic"),
        "snapshot": {"element": [
            {"id": "Basic", "path": "Basic", "min": 0, "max": "*", "base": {"path": "Basic", "min": 0, "max": "*"}},
            {"id": "Basic.code", "path": "Basic.code", "min": 1, "max": "1", "base": {"path": "Basic.code", "min": 1, "max": "1"}, "type": [{"code": code_type}]}
        ]}})
}

#[test]
fn an_element_the_profile_leaves_out_is_not_allowed() {
    // Validation_VAL_Profile_NotAllowed
    let found = issues(&[short_basic("short", "CodeableConcept")], &with_profile("short", json!({"resourceType": "Basic", "code": {"text": "x"}, "created": "2020-01-01"})));
    assert_issue(&found, Severity::Error, IssueCode::NotSupported, "Basic.created", &format!("This element is not allowed by the profile {}", url("short")));
}

#[test]
fn an_element_of_an_unknown_type_is_reported() {
    // Validation_VAL_NoType
    let found = issues(&[short_basic("strange", "Strange")], &with_profile("strange", json!({"resourceType": "Basic", "code": {"text": "x"}})));
    assert_issue(&found, Severity::Error, IssueCode::Structure, "Basic.code", "Unknown type Strange (not defined by the loaded packages)");
}

// ---------- patterns the reference cannot slice by ----------

/// Observation.category sliced by pattern, its one slice `cat` patterned so.
fn category_slicing(name: &str, pattern_kind: &str, pattern: Value) -> Value {
    let mut slice = json!({"id": "Observation.category:cat", "path": "Observation.category", "sliceName": "cat"});
    slice[pattern_kind] = pattern;
    profile(
        name,
        "Observation",
        json!([
            {"id": "Observation.category", "path": "Observation.category", "slicing": {"discriminator": [{"type": "pattern", "path": "$this"}], "rules": "open"}},
            slice
        ]),
    )
}

fn categorised(name: &str) -> Value {
    with_profile(name, json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "category": [{"text": "vital"}]}))
}

fn cannot_slice(name: &str, pattern_kind: &str, pattern: Value, why: &str) {
    let found = issues(&[category_slicing(name, pattern_kind, pattern)], &categorised(name));
    assert_issue(&found, Severity::Error, IssueCode::Processing, "Observation.category[0]", &format!("Slicing cannot be evaluated: {why}"));
}

#[test]
fn a_codeable_concept_pattern_with_text_cannot_slice() {
    // Unsupported_CodeableConcept_pattern__using_text__for_discriminator_for_slice_
    cannot_slice("cc-text", "patternCodeableConcept", json!({"text": "vital"}), "Unsupported CodeableConcept pattern - using text - for discriminator ($this) for slice Observation.category:cat");
}

#[test]
fn a_codeable_concept_pattern_without_codings_cannot_slice() {
    // Unsupported_CodeableConcept_pattern__must_have_at_least_one_coding__for_discriminator_for_slice_
    let pattern = json!({"extension": [{"url": "http://example.org/x", "valueString": "y"}]});
    cannot_slice("cc-none", "patternCodeableConcept", pattern, "Unsupported CodeableConcept pattern - must have at least one coding - for discriminator ($this) for slice Observation.category:cat");
}

#[test]
fn a_codeable_concept_pattern_with_extensions_cannot_slice() {
    // Unsupported_CodeableConcept_pattern__extensions_are_not_allowed__for_discriminator_for_slice_
    let pattern = json!({"coding": [{"system": "http://s", "code": "c", "extension": [{"url": "http://example.org/x", "valueString": "y"}]}]});
    cannot_slice("cc-ext", "patternCodeableConcept", pattern, "Unsupported CodeableConcept pattern - extensions are not allowed - for discriminator ($this) for slice Observation.category:cat");
}

#[test]
fn a_codeable_concept_pattern_with_an_empty_coding_cannot_slice() {
    // UNSUPPORTED_IDENTIFIER_PATTERN_NO_PROPERTY_NOT_SUPPORTED_FOR_DISCRIMINATOR_FOR_SLICE
    let pattern = json!({"coding": [{"userSelected": true}]});
    cannot_slice("cc-empty", "patternCodeableConcept", pattern, "Unsupported: no properties with values found on type CodeableConcept for pattern for discriminator ($this) for slice Observation.category:cat");
}

/// Patient.identifier or Patient.name sliced by a pattern on the slice itself.
fn patient_slicing(name: &str, element: &str, pattern_kind: &str, pattern: Value) -> Value {
    let mut slice = json!({"id": format!("Patient.{element}:s"), "path": format!("Patient.{element}"), "sliceName": "s"});
    slice[pattern_kind] = pattern;
    profile(
        name,
        "Patient",
        json!([{"id": format!("Patient.{element}"), "path": format!("Patient.{element}"), "slicing": {"discriminator": [{"type": "pattern", "path": "$this"}], "rules": "open"}}, slice]),
    )
}

#[test]
fn an_identifier_pattern_with_extensions_cannot_slice() {
    // Unsupported_Identifier_pattern__extensions_are_not_allowed__for_discriminator_for_slice_
    let p = patient_slicing("id-ext", "identifier", "patternIdentifier", json!({"system": NHS, "extension": [{"url": "http://example.org/x", "valueString": "y"}]}));
    let found = issues(&[p], &with_profile("id-ext", json!({"resourceType": "Patient", "identifier": [identifier(NHS, "1")]})));
    let msg = "Slicing cannot be evaluated: Unsupported Identifier pattern - extensions are not allowed - for discriminator ($this) for slice Patient.identifier:s";
    assert_issue(&found, Severity::Error, IssueCode::Processing, "Patient.identifier[0]", msg);
}

#[test]
fn a_human_name_pattern_on_given_names_cannot_slice() {
    // UNSUPPORTED_IDENTIFIER_PATTERN_PROPERTY_NOT_SUPPORTED_FOR_DISCRIMINATOR_FOR_SLICE
    let p = patient_slicing("name-given", "name", "patternHumanName", json!({"given": ["Ann"]}));
    let found = issues(&[p], &with_profile("name-given", json!({"resourceType": "Patient", "name": [{"given": ["Ann"]}]})));
    let msg = "Slicing cannot be evaluated: Unsupported property given on type HumanName for pattern for discriminator ($this) for slice Patient.name:s";
    assert_issue(&found, Severity::Error, IssueCode::Processing, "Patient.name[0]", msg);
}

#[test]
fn a_pattern_of_an_unsliceable_type_cannot_slice() {
    // Unsupported_fixed_pattern_type_for_discriminator_for_slice__
    let p = patient_slicing("contact-period", "telecom", "patternContactPoint", json!({"system": "phone"}));
    let found = issues(&[p], &with_profile("contact-period", json!({"resourceType": "Patient", "telecom": [{"system": "phone", "value": "1"}]})));
    let msg = "Slicing cannot be evaluated: Unsupported fixed pattern type for discriminator ($this) for slice Patient.telecom:s: ContactPoint";
    assert_issue(&found, Severity::Error, IssueCode::Processing, "Patient.telecom[0]", msg);
}

#[test]
fn supported_patterns_slice_as_usual() {
    let p = patient_slicing("id-ok", "identifier", "patternIdentifier", json!({"system": NHS}));
    let found = issues(&[p], &with_profile("id-ok", json!({"resourceType": "Patient", "identifier": [identifier(NHS, "1")]})));
    none_say(&found, "Slicing cannot be evaluated");
}

// ---------- definitions the walk cannot use ----------

#[test]
fn an_extension_context_of_an_unknown_kind_is_reported() {
    // Unrecognised_extension_context_
    let ext = extension("odd-context", json!([{"type": "datatype", "expression": "Patient"}]));
    let found = issues(&[ext], &patient_with("odd-context"));
    assert_issue(&found, Severity::Error, IssueCode::Processing, "Patient", "Unrecognized extension context datatype");
}

#[test]
fn a_content_reference_to_no_element_is_reported() {
    // Unable_to_find_element_with_id_
    let mut p = short_basic("dangling", "CodeableConcept");
    p["snapshot"]["element"][1] = json!({"id": "Basic.code", "path": "Basic.code", "min": 1, "max": "1", "base": {"path": "Basic.code", "min": 1, "max": "1"}, "contentReference": "#Basic.nothing"});
    let found = issues(&[p], &with_profile("dangling", json!({"resourceType": "Basic", "code": {"text": "x"}})));
    assert!(
        found.iter().any(|i| i.severity == Severity::Error && i.code == IssueCode::Processing && i.expression == "Basic.code" && i.message.starts_with("Unable to find element with id 'Basic.nothing'")),
        "{found:#?}"
    );
}

#[test]
fn matchetype_extensions_belong_in_matchetypes_only() {
    // RESOURCE_NOT_MATCHETYPE_EXTENSION
    let optional = "http://hl7.org/fhir/tools/StructureDefinition/matchetype-optional";
    let found = issues(&[], &json!({"resourceType": "Patient", "extension": [{"url": optional, "valueBoolean": true}]}));
    assert_issue(
        &found,
        Severity::Error,
        IssueCode::Invalid,
        &format!("Patient.extension[0][url='{optional}']"),
        &format!("This resource is not a matcehtype, so it cannot have the extension {optional}"),
    );
    let matchetype = json!({"resourceType": "Patient", "extension": [
        {"url": "http://hl7.org/fhir/tools/StructureDefinition/matchetype", "valueCode": "partial"},
        {"url": optional, "valueBoolean": true}]});
    none_say(&issues(&[], &matchetype), "not a matcehtype");
}

#[test]
fn a_vital_sign_needs_its_magic_loinc_code() {
    // VALIDATION_VAL_PROFILE_MINIMUM_MAGIC: a SNOMED CT heart rate brings in the heart rate profile, which requires LOINC 8867-4.
    let obs = json!({"resourceType": "Observation", "status": "final", "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "364075005"}]}, "subject": {"display": "someone"}, "effectiveDateTime": "2020-01-01",
        "valueQuantity": {"value": 60, "unit": "beats/minute", "system": "http://unitsofmeasure.org", "code": "/min"}});
    let found = issues(&[], &obs);
    assert!(
        found.iter().any(|i| i.severity == Severity::Error
            && i.code == IssueCode::Structure
            && i.expression == "Observation.code"
            && i.message.ends_with(": magic LOINC code 8867-4 required, but not found (from http://hl7.org/fhir/StructureDefinition/heartrate|4.0.1). Note that other Observation codes are allowed in addition to this required magic code")),
        "{found:#?}"
    );
}

// ---------- StructureDefinition.type ----------

fn definition_of(type_value: Value, kind: &str, derivation: &str) -> Value {
    let mut sd = json!({"resourceType": "StructureDefinition", "url": "http://example.org/fhir/StructureDefinition/Thing", "name": "Thing", "status": "draft",
        "kind": kind, "abstract": false, "derivation": derivation, "baseDefinition": format!("{CORE}DomainResource")});
    match type_value {
        Value::String(_) => sd["type"] = type_value,
        other => sd["_type"] = other,
    }
    sd
}

#[test]
fn a_namespaced_type_belongs_to_a_logical_model() {
    // SD_TYPE_NOT_LOGICAL
    let found = issues(&[], &definition_of(json!("http://example.org/fhir/StructureDefinition/Thing"), "resource", "specialization"));
    assert_issue(&found, Severity::Error, IssueCode::Invalid, "StructureDefinition.type", "The type http://example.org/fhir/StructureDefinition/Thing can only be defined if the kind is 'logical' not resource");
}

#[test]
fn a_fhir_type_is_only_constrained_by_others() {
    // SD_TYPE_NOT_DERIVED
    let found = issues(&[], &definition_of(json!("Patient"), "resource", "specialization"));
    assert_issue(&found, Severity::Error, IssueCode::Invalid, "StructureDefinition.type", "The type Patient can only be used as a type when constraining the base definition of the type");
}

#[test]
fn a_definition_needs_a_type_value() {
    // SD_TYPE_MISSING
    let found = issues(&[], &definition_of(json!({"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}]}), "logical", "specialization"));
    assert_issue(&found, Severity::Error, IssueCode::Invalid, "StructureDefinition.type", "No type found");
}

#[test]
fn a_discriminator_path_that_is_not_fhirpath_cannot_slice() {
    // SLICING_CANNOT_BE_EVALUATED with DISCRIMINATOR_BAD_PATH
    let bad = profile(
        "bad-path",
        "Patient",
        json!([
            {"id": "Patient.identifier", "path": "Patient.identifier", "slicing": {"discriminator": [{"type": "value", "path": "system.("}], "rules": "open"}},
            {"id": "Patient.identifier:a", "path": "Patient.identifier", "sliceName": "a"}
        ]),
    );
    let found = issues(&[bad], &with_profile("bad-path", json!({"resourceType": "Patient", "identifier": [identifier(NHS, "1")]})));
    assert!(
        found.iter().any(|i| i.severity == Severity::Error
            && i.code == IssueCode::Processing
            && i.expression == "Patient.identifier[0]"
            && i.message.starts_with("Slicing cannot be evaluated: Error processing path expression for discriminator: ")
            && i.message.ends_with(" (src = 'system.(')")),
        "{found:#?}"
    );
}
