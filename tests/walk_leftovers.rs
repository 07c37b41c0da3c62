//! Group R's rules of the reference's instance walk: matchetypes, the
//! must-support hint, discriminator paths of StructureDefinitions and the
//! FHIRPath checker's messages; one test per rule, each on a small
//! resource made for it.

mod common;

use careplan::issue::{Issue, IssueCode, Severity};
use serde_json::{json, Value};

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

// ---------- matchetypes ----------

const MATCHETYPE: &str = "http://hl7.org/fhir/tools/StructureDefinition/matchetype";

fn matchetype_patient(extra: Value) -> Value {
    let mut p = json!({"resourceType": "Patient", "extension": [{"url": MATCHETYPE, "valueCode": "partial"}]});
    for (k, v) in extra.as_object().unwrap() {
        p[k] = v.clone();
    }
    p
}

#[test]
fn matchetype_resources_are_disallowed() {
    // RESOURCE_MATCHETYPE_DISALLOWED: the reference's matchetype status is Disallowed unless its caller changes it.
    let found = issues(&[], &matchetype_patient(json!({})));
    assert_issue(
        &found,
        Severity::Error,
        IssueCode::Invalid,
        "Patient",
        &format!("This resource is not allowed to be a matchetype resource (extension {MATCHETYPE} is true)"),
    );
    none_say(&issues(&[], &json!({"resourceType": "Patient"})), "matchetype resource");
}

#[test]
fn matchetype_pattern_of_another_type_is_suspect() {
    // RESOURCE_MATCHETYPE_SUSPECT_TYPE: a date pattern in a string; the pattern is not read as a value.
    let found = issues(&[], &matchetype_patient(json!({"birthDate": "$string$", "name": [{"family": "$string$", "text": "$date$"}]})));
    assert_issue(
        &found,
        Severity::Warning,
        IssueCode::Invalid,
        "Patient.birthDate",
        "The type 'date' does not appear to match the matchetype pattern value '$string$'",
    );
    assert_issue(
        &found,
        Severity::Warning,
        IssueCode::Invalid,
        "Patient.name[0].text",
        "The type 'string' does not appear to match the matchetype pattern value '$date$'",
    );
    none_say(&found, "'$string$' is not");
    none_say(&found, "The type 'string' does not appear to match the matchetype pattern value '$string$'");
    // Outside a matchetype, a `$` value is a value like any other.
    let plain = issues(&[], &json!({"resourceType": "Patient", "birthDate": "$date$"}));
    none_say(&plain, "matchetype pattern");
    assert!(plain.iter().any(|i| i.severity == Severity::Error && i.expression == "Patient.birthDate"), "{plain:#?}");
}

#[test]
fn matchetype_pattern_unknown() {
    // RESOURCE_MATCHETYPE_UNKNOWN_PATTERN
    let found = issues(&[], &matchetype_patient(json!({"gender": "$gender$", "name": [{"family": "$$", "given": ["$external:given.json"]}]})));
    assert_issue(&found, Severity::Error, IssueCode::Invalid, "Patient.gender", "The matchetype pattern value '$gender$' is not valid");
    none_say(&found, "'$$'");
    none_say(&found, "$external");
}

// ---------- the must-support hint ----------

const BASE: &str = "http://example.org/fhir/StructureDefinition/";
const CORE: &str = "http://hl7.org/fhir/StructureDefinition/";

/// A constraint profile on a core type, as a differential.
fn profile(name: &str, type_name: &str, elements: Value) -> Value {
    json!({"resourceType": "StructureDefinition", "url": format!("{BASE}{name}"), "name": name, "status": "draft",
        "fhirVersion": "4.0.1", "kind": "resource", "abstract": false, "type": type_name, "derivation": "constraint",
        "baseDefinition": format!("{CORE}{type_name}"), "differential": {"element": elements}})
}

fn must_support_issues(hint: bool, resource: &Value) -> Vec<Issue> {
    let p = profile("SupportedPatient", "Patient", json!([
        {"id": "Patient", "path": "Patient"},
        {"id": "Patient.name", "path": "Patient.name", "mustSupport": true},
        {"id": "Patient.name.family", "path": "Patient.name.family", "mustSupport": true},
        {"id": "Patient.active", "path": "Patient.active", "fixedBoolean": true}
    ]));
    let mut ctx = careplan::context::Context::overlay(common::context());
    ctx.add_json(p, "test");
    let options = careplan::validator::Options { profiles: vec![format!("{BASE}SupportedPatient")], hint_about_must_support: hint, ..Default::default() };
    let v = careplan::validator::Validator::new(std::sync::Arc::new(ctx), options);
    v.validate_bytes(resource.to_string().as_bytes(), Some(careplan::tree::Format::Json))
}

#[test]
fn elements_not_marked_must_support_are_named() {
    // MustSupport_VAL_MustSupport
    let patient = json!({"resourceType": "Patient", "id": "p", "active": true, "gender": "male",
        "name": [{"family": "Chalmers", "given": ["Peter"]}], "contact": [{"gender": "female"}]});
    let found = must_support_issues(true, &patient);
    let msg = |name: &str, profile: &str| {
        format!("The element {name} is not marked as 'mustSupport' in the profile {CORE}{profile}|4.0.1. Consider not using the element, or marking the element as must-Support in the profile")
    };
    assert_issue(&found, Severity::Information, IssueCode::Informational, "Patient.gender", &msg("gender", "Patient"));
    assert_issue(&found, Severity::Information, IssueCode::Informational, "Patient.contact[0]", &msg("contact", "Patient"));
    assert_issue(&found, Severity::Information, IssueCode::Informational, "Patient.name[0].given[0]", &msg("given", "HumanName"));
    // Must-support elements, the fixed one, the resource's id, and what lies below an unsupported element are not named.
    for quiet in ["element name ", "element family ", "element active ", "element id ", "element gender is not marked as 'mustSupport' in the profile http://hl7.org/fhir/StructureDefinition/Patient.contact"] {
        none_say(&found, quiet);
    }
    assert_eq!(found.iter().filter(|i| i.message.contains("'mustSupport'")).count(), 3, "{found:#?}");
    // Only when asked for.
    none_say(&must_support_issues(false, &patient), "'mustSupport'");
}

// ---------- discriminator paths of a StructureDefinition ----------

fn sliced_profile(path: &str, discriminator_path: &str) -> Value {
    let mut p = profile("SlicedObservation", "Observation", json!([
        {"id": "Observation", "path": "Observation"},
        {"id": "Observation.component", "path": "Observation.component",
         "slicing": {"discriminator": [{"type": "value", "path": discriminator_path}], "rules": "open"}}
    ]));
    p["differential"]["element"][1]["path"] = json!(path);
    p["differential"]["element"][1]["id"] = json!(path);
    p["snapshot"] = json!({"element": [
        {"id": "Observation", "path": "Observation", "min": 0, "max": "*", "base": {"path": "Observation", "min": 0, "max": "*"}},
        {"id": path, "path": path, "min": 0, "max": "*", "base": {"path": path, "min": 0, "max": "*"}, "type": [{"code": "BackboneElement"}],
         "slicing": {"discriminator": [{"type": "value", "path": discriminator_path}], "rules": "open"}}
    ]});
    p
}

#[test]
fn discriminator_path_that_selects_nothing() {
    // SD_PATH_NOT_VALID
    let found = issues(&[], &sliced_profile("Observation.component", "colour"));
    assert_issue(
        &found,
        Severity::Error,
        IssueCode::Invalid,
        "StructureDefinition.snapshot.element[1].slicing.discriminator[0]",
        "The discriminator path 'colour' does not appear to be valid for the element that is being sliced 'Observation.component'",
    );
    let fine = issues(&[], &sliced_profile("Observation.component", "code"));
    none_say(&fine, "discriminator path");
}

#[test]
fn discriminator_path_the_checker_refuses() {
    // SD_PATH_ERROR
    let found = issues(&[], &sliced_profile("Observation.component", "code.colour"));
    assert_issue(
        &found,
        Severity::Error,
        IssueCode::Invalid,
        "StructureDefinition.snapshot.element[1].slicing.discriminator[0]",
        "The discriminator path 'code.colour' does not appear to be valid for the element that is being sliced 'Observation.component': Error evaluating FHIRPath expression: The name 'colour' is not valid for any of the possible types: [http://hl7.org/fhir/StructureDefinition/CodeableConcept]",
    );
}

// ---------- fixed values a discriminator cannot slice by ----------

#[test]
fn a_fixed_value_of_an_unsliceable_type_cannot_slice() {
    // Unsupported_fixed_value_type_for_discriminator_for_slice__
    let p = profile("FixedPeriodContact", "Patient", json!([
        {"id": "Patient.contact", "path": "Patient.contact", "slicing": {"discriminator": [{"type": "value", "path": "period"}], "rules": "open"}},
        {"id": "Patient.contact:early", "path": "Patient.contact", "sliceName": "early"},
        {"id": "Patient.contact:early.period", "path": "Patient.contact.period", "fixedPeriod": {"start": "2020-01-01"}}
    ]));
    let patient = json!({"resourceType": "Patient", "meta": {"profile": [format!("{BASE}FixedPeriodContact")]},
        "contact": [{"name": {"family": "Chalmers"}, "period": {"start": "2020-01-01"}}]});
    let found = issues(&[p], &patient);
    let msg = "Slicing cannot be evaluated: Unsupported fixed value type for discriminator (period) for slice Patient.contact:early: org.hl7.fhir.r5.model.Period";
    assert_issue(&found, Severity::Error, IssueCode::Processing, "Patient.contact[0]", msg);
    // A fixed code is one the reference compares.
    let q = profile("FixedGenderContact", "Patient", json!([
        {"id": "Patient.contact", "path": "Patient.contact", "slicing": {"discriminator": [{"type": "value", "path": "gender"}], "rules": "open"}},
        {"id": "Patient.contact:women", "path": "Patient.contact", "sliceName": "women"},
        {"id": "Patient.contact:women.gender", "path": "Patient.contact.gender", "fixedCode": "female"}
    ]));
    let patient = json!({"resourceType": "Patient", "meta": {"profile": [format!("{BASE}FixedGenderContact")]}, "contact": [{"name": {"family": "Chalmers"}, "gender": "female"}]});
    none_say(&issues(&[q], &patient), "Slicing cannot be evaluated");
}

// ---------- the resource id rule ----------

fn id_rule_issues(rule: careplan::validator::IdRule, resource: &Value) -> Vec<Issue> {
    let options = careplan::validator::Options { resource_id_rule: rule, ..Default::default() };
    careplan::validator::Validator::new(common::context(), options).validate_bytes(resource.to_string().as_bytes(), Some(careplan::tree::Format::Json))
}

#[test]
fn an_id_where_none_is_allowed() {
    // Resource_RES_ID_Prohibited
    use careplan::validator::IdRule;
    let with_id = json!({"resourceType": "Patient", "id": "p1", "contained": [{"resourceType": "Organization", "id": "o", "name": "x"}],
        "managingOrganization": {"reference": "#o"}});
    let found = id_rule_issues(IdRule::Prohibited, &with_id);
    assert_issue(&found, Severity::Error, IssueCode::Invalid, "Patient", "Resource has an id, but none is allowed");
    // Only the resource validated: its contained resources keep their ids.
    assert_eq!(found.iter().filter(|i| i.message.contains("none is allowed")).count(), 1, "{found:#?}");
    none_say(&id_rule_issues(IdRule::Optional, &with_id), "none is allowed");
    let without = json!({"resourceType": "Patient"});
    assert_issue(&id_rule_issues(IdRule::Required, &without), Severity::Error, IssueCode::Invalid, "Patient", "Resource requires an id, but none is present");
}

// ---------- the FHIRPath checker ----------

#[test]
fn fhirpath_unknown_type() {
    // FHIRPATH_UNKNOWN_TYPE: a child of a type no definition names, in a profile's invariant.
    let expression = "deceased.ofType(Nonesuch).value.exists()";
    let p = json!({"resourceType": "StructureDefinition", "url": format!("{BASE}Invariant"), "name": "Invariant", "status": "draft",
        "kind": "resource", "abstract": false, "type": "Patient", "derivation": "constraint", "baseDefinition": format!("{CORE}Patient"),
        "snapshot": {"element": [{"id": "Patient", "path": "Patient", "min": 0, "max": "*", "base": {"path": "Patient", "min": 0, "max": "*"},
            "constraint": [{"key": "p-1", "severity": "error", "human": "A rule", "expression": expression}]}]}});
    let found = issues(&[], &p);
    assert_issue(
        &found,
        Severity::Error,
        IssueCode::Invalid,
        "StructureDefinition.snapshot.element[0].constraint[0]",
        &format!("Error in constraint 'p-1' with expression '{expression}': Error evaluating FHIRPath expression: The type 'http://hl7.org/fhir/StructureDefinition/Nonesuch' is unknown or not supported at getChildTypesByName#1"),
    );
}

// ---------- extension contexts for some FHIR versions only ----------

fn modifier_extension(name: &str, contexts: Value) -> Value {
    let mut e = profile(name, "Extension", json!([
        {"id": "Extension", "path": "Extension", "isModifier": true, "isModifierReason": "It reverses the meaning"},
        {"id": "Extension.url", "path": "Extension.url", "fixedUri": format!("{BASE}{name}")},
        {"id": "Extension.value[x]", "path": "Extension.value[x]", "type": [{"code": "boolean"}]}
    ]));
    e["version"] = json!("1.0");
    e["context"] = contexts;
    e
}

#[test]
fn modifier_extension_whose_context_is_for_another_version() {
    // Extension_EXTM_Context_Wrong_VER: the Patient context is for R5 on; only the Observation one is for R4.
    let later = json!([{"url": "http://hl7.org/fhir/StructureDefinition/version-specific-use",
        "extension": [{"url": "startFhirVersion", "valueCode": "5.0"}]}]);
    let ext = modifier_extension("later-modifier", json!([
        {"type": "element", "expression": "Patient", "extension": later},
        {"type": "element", "expression": "Observation"}
    ]));
    let patient = json!({"resourceType": "Patient", "modifierExtension": [{"url": format!("{BASE}later-modifier"), "valueBoolean": true}]});
    let found = issues(&[ext], &patient);
    assert_issue(
        &found,
        Severity::Error,
        IssueCode::Structure,
        "Patient",
        &format!("The modifier extension {BASE}later-modifier|1.0 is not allowed to be used at this point (this element is [Patient, Patient]; allowed for this version = e:Observation)"),
    );
    // A context for R4 on holds.
    let r4_on = json!([{"url": "http://hl7.org/fhir/StructureDefinition/version-specific-use",
        "extension": [{"url": "startFhirVersion", "valueCode": "4.0"}]}]);
    let ext = modifier_extension("later-modifier", json!([{"type": "element", "expression": "Patient", "extension": r4_on}]));
    none_say(&issues(&[ext], &patient), "is not allowed to be used at this point");
}

// ---------- the flags, as `careplan validate` takes them ----------

#[test]
fn the_flags_reach_the_rules_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile("SupportedName", "Patient", json!([{"id": "Patient.name", "path": "Patient.name", "mustSupport": true}]));
    let profile_file = dir.path().join("profile.json");
    std::fs::write(&profile_file, p.to_string()).unwrap();
    let patient = dir.path().join("p.json");
    std::fs::write(&patient, r#"{"resourceType":"Patient","id":"p1","gender":"female","name":[{"family":"Chalmers"}]}"#).unwrap();
    let out = common::careplan()
        .args(["validate", "--offline", "--hint-about-must-support", "--resource-id-rule", "prohibited", "--profile", &format!("{BASE}SupportedName")])
        .arg("--ig")
        .arg(&profile_file)
        .arg(&patient)
        .output()
        .expect("careplan runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("The element gender is not marked as 'mustSupport' in the profile http://hl7.org/fhir/StructureDefinition/Patient|4.0.1"), "{stdout}");
    assert!(!stdout.contains("The element name is not marked"), "{stdout}");
    assert!(stdout.contains("Resource has an id, but none is allowed"), "{stdout}");
}

#[test]
fn extension_context_element_missing_in_one_of_its_versions() {
    // SD_CONTEXT_SHOULD_ELEMENT_NOT_FOUND_VER: a context for R4 to R5 names an element R4 lacks.
    let span = |start: &str, end: &str| json!([{"url": "http://hl7.org/fhir/StructureDefinition/version-specific-use",
        "extension": [{"url": "startFhirVersion", "valueCode": start}, {"url": "endFhirVersion", "valueCode": end}]}]);
    let mut ext = profile("SpanningExtension", "Extension", json!([
        {"id": "Extension.url", "path": "Extension.url", "fixedUri": format!("{BASE}SpanningExtension")},
        {"id": "Extension.value[x]", "path": "Extension.value[x]", "type": [{"code": "string"}]}
    ]));
    ext["context"] = json!([
        {"type": "element", "expression": "Patient.nickname", "extension": span("4.0", "5.0")},
        {"type": "element", "expression": "Patient.nickname"},
        {"type": "element", "expression": "Patient.nickname", "extension": span("5.0", "5.0")}
    ]);
    let found = issues(&[], &ext);
    assert_issue(&found, Severity::Error, IssueCode::Invalid, "StructureDefinition.context[0]", "The element Patient.nickname is not valid in version 4.0.1");
    assert_issue(&found, Severity::Error, IssueCode::Invalid, "StructureDefinition.context[1]", "The element Patient.nickname is not valid");
    // For R5 alone: R4's definitions do not decide it.
    assert!(!found.iter().any(|i| i.expression == "StructureDefinition.context[2]" && i.message.contains("is not valid")), "{found:#?}");
}

// ---------- the most messages an input may report ----------

#[test]
fn validation_stops_at_the_most_messages_asked_for() {
    // VALIDATION_MAX_MESSAGES_EXCEEDED
    let patient = json!({"resourceType": "Patient", "gender": "mail", "birthDate": "yesterday", "active": "yes", "deceasedBoolean": "no"});
    let run = |max: Option<usize>| {
        let options = careplan::validator::Options { max_messages: max, ..Default::default() };
        careplan::validator::Validator::new(common::context(), options).validate_bytes(patient.to_string().as_bytes(), Some(careplan::tree::Format::Json))
    };
    let all = run(None);
    assert!(all.len() > 3, "{all:#?}");
    let found = run(Some(3));
    assert_eq!(found.len(), 3, "{found:#?}");
    assert_eq!(found[..2], all[..2]);
    assert_issue(
        &found,
        Severity::Warning,
        IssueCode::Processing,
        "Patient",
        "Validation process produced more than maximum of 3 messages, set by CLI option -max-validation-messages. Returned validation messages may be incomplete or inaccurate.",
    );
    none_say(&run(Some(all.len())), "maximum of");
}
