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
