//! ImplementationGuide rules (`src/validator/rules/implementation_guide.rs`),
//! one test per rule, each on a small guide made for it.

mod common;

use std::sync::Arc;

use careplan::context::Context;
use careplan::issue::{Issue, Severity};
use careplan::package::PackageCatalogue;
use careplan::validator::{Options, Validator};
use serde_json::{json, Value};

fn has(issues: &[Issue], severity: Severity, code: &str, expression: &str, message: &str) -> bool {
    issues.iter().any(|i| i.severity == severity && i.code.as_str() == code && i.expression == expression && i.message == message)
}

fn mentions(issues: &[Issue], fragment: &str) -> bool {
    issues.iter().any(|i| i.message.contains(fragment))
}

/// The guide `http://example.org/ImplementationGuide/dep` the dependencies can point to.
fn dependency_guide() -> Value {
    json!({"resourceType": "ImplementationGuide", "url": "http://example.org/ImplementationGuide/dep", "name": "Dep",
        "status": "draft", "packageId": "example.dep", "fhirVersion": ["4.0.1"]})
}

/// A guide (not HL7's) for FHIR 4.0.1 with this dependency.
fn guide(dependency: Value) -> Value {
    json!({"resourceType": "ImplementationGuide", "url": "http://example.org/ImplementationGuide/ig", "name": "Ig",
        "status": "draft", "packageId": "example.ig", "fhirVersion": ["4.0.1"], "dependsOn": [dependency]})
}

/// The package cache the guides are compared with: `example.dep` (two
/// releases, the older one from 2020), a package for FHIR R5, and
/// `hl7.terminology` for R5 alone.
fn catalogue() -> PackageCatalogue {
    PackageCatalogue::from_manifests(&[
        json!({"name": "example.dep", "version": "1.0.0", "canonical": "http://example.org", "fhirVersions": ["4.0.1"], "date": "20200101000000"}),
        json!({"name": "example.dep", "version": "2.0.0", "canonical": "http://example.org", "fhirVersions": ["4.0.1"], "date": "20250101000000"}),
        json!({"name": "example.five", "version": "1.0.0", "canonical": "http://example.org/five", "fhirVersions": ["5.0.0"]}),
        json!({"name": "hl7.terminology", "version": "6.0.0", "canonical": "http://terminology.hl7.org", "fhirVersions": ["5.0.0"]}),
    ])
}

fn issues_with_options(ig: &Value, options: Options) -> Vec<Issue> {
    let mut ctx = Context::overlay(common::context());
    ctx.add_json(dependency_guide(), "test");
    ctx.set_package_catalogue(catalogue());
    Validator::new(Arc::new(ctx), options).validate_bytes(ig.to_string().as_bytes(), Some(careplan::tree::Format::Json))
}

fn issues(ig: &Value) -> Vec<Issue> {
    issues_with_options(ig, Options::default())
}

const DEP: &str = "ImplementationGuide.dependsOn[0]";

#[test]
fn a_consistent_dependency_passes() {
    let found = issues(&guide(json!({"uri": "http://example.org/ImplementationGuide/dep", "packageId": "example.dep", "version": "1.0.0"})));
    assert!(!mentions(&found, "package") && !mentions(&found, "canonical") && !mentions(&found, "URL"), "{found:#?}");
}

#[test]
fn a_guide_without_a_fhir_version_is_warned_about() {
    // IG_NO_VERSION
    let mut ig = guide(json!({"uri": "http://example.org/ImplementationGuide/dep", "packageId": "example.dep", "version": "1.0.0"}));
    ig.as_object_mut().unwrap().remove("fhirVersion");
    let found = issues(&ig);
    assert!(has(&found, Severity::Warning, "business-rule", "ImplementationGuide",
        "No fhir version was specified for the IG so the version consistency can't be checked"), "{found:#?}");
}

#[test]
fn a_canonical_ending_in_a_bar_is_an_error() {
    // IG_DEPENDENCY_CAN_VERSION_NONE
    let found = issues(&guide(json!({"uri": "http://example.org/ImplementationGuide/dep|", "packageId": "example.dep", "version": "1.0.0"})));
    assert!(has(&found, Severity::Error, "business-rule", DEP, "The canonical URL cannot end in '|'"), "{found:#?}");
}

#[test]
fn a_version_only_in_the_canonical_is_an_error() {
    // IG_DEPENDENCY_CAN_VERSION_ALONE
    let found = issues(&guide(json!({"uri": "http://example.org/ImplementationGuide/dep|1.0.0", "packageId": "example.dep"})));
    assert!(has(&found, Severity::Error, "business-rule", DEP,
        "The canonical URL specifies the version '1.0.0', while the dependency does not. If a version is specified, it must be in the explicit version property"), "{found:#?}");
}

#[test]
fn a_canonical_version_that_differs_from_the_version_is_an_error() {
    // IG_DEPENDENCY_CAN_VERSION_ERROR (raised, as by the reference, for a URL that is not an ImplementationGuide's)
    let found = issues(&guide(json!({"uri": "http://example.org/dep|1.0.0", "packageId": "example.dep", "version": "2.0.0"})));
    assert!(has(&found, Severity::Error, "business-rule", DEP,
        "The canonical URL specifies the version '1.0.0', while the dependency has version '2.0.0'. If a version is specified, it must be the same as in the explicit version property"), "{found:#?}");
}

#[test]
fn a_url_that_is_not_an_implementation_guides_is_an_error() {
    // IG_DEPENDENCY_DIRECT
    let found = issues(&guide(json!({"uri": "http://example.org/dep", "packageId": "example.dep", "version": "1.0.0"})));
    assert!(has(&found, Severity::Error, "business-rule", DEP,
        "The URL should refer directly to the ImplementationGuide resource (e.g. include '/ImplementationGuide/')"), "{found:#?}");
}

#[test]
fn a_malformed_package_id_is_an_error() {
    // IG_DEPENDENCY_INVALID_PACKAGEID
    let found = issues(&guide(json!({"uri": "http://example.org/ImplementationGuide/dep", "packageId": "1dep", "version": "1.0.0"})));
    assert!(has(&found, Severity::Error, "business-rule", DEP, "The packageId 1dep is not valid"), "{found:#?}");
}

#[test]
fn a_canonical_that_finds_no_guide_is_warned_about() {
    // IG_DEPENDENCY_INVALID_URL
    let found = issues(&guide(json!({"uri": "http://example.org/ImplementationGuide/nowhere", "packageId": "example.dep", "version": "1.0.0"})));
    assert!(has(&found, Severity::Warning, "business-rule", DEP,
        "The canonical URL http://example.org/ImplementationGuide/nowhere doesn't point to an actual ImplementationGuide resource"), "{found:#?}");
}

#[test]
fn a_package_without_a_version_is_warned_about() {
    // IG_DEPENDENCY_NO_VERSION
    let found = issues(&guide(json!({"uri": "http://example.org/ImplementationGuide/dep", "packageId": "example.dep"})));
    assert!(has(&found, Severity::Warning, "business-rule", DEP,
        "No version was specified for the package so the version consistency can't be checked"), "{found:#?}");
}

#[test]
fn a_malformed_package_version_is_an_error() {
    // IG_DEPENDENCY_INVALID_PACKAGE_VERSION
    let found = issues(&guide(json!({"uri": "http://example.org/ImplementationGuide/dep", "packageId": "example.dep", "version": "1..0"})));
    assert!(has(&found, Severity::Error, "business-rule", DEP, "The version 1..0 is not a valid NPM package version"), "{found:#?}");
}

#[test]
fn an_hl7_guide_must_state_status_work_group_and_maturity() {
    // IG_HL7_STANDARDS_STATUS_REQUIRED, IG_HL7_WG_REQUIRED, IG_HL7_FMM_SHOULD
    let mut ig = guide(json!({"uri": "http://example.org/ImplementationGuide/dep", "packageId": "example.dep", "version": "1.0.0"}));
    ig["url"] = json!("http://hl7.org/fhir/example/ImplementationGuide/ig");
    let found = issues(&ig);
    assert!(has(&found, Severity::Error, "business-rule", "ImplementationGuide",
        "HL7 Implementation Guides must state their status explicitly using the extension http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status"), "{found:#?}");
    assert!(has(&found, Severity::Error, "business-rule", "ImplementationGuide",
        "HL7 Implementation Guides must state their owning workgroup explicitly using the extension http://hl7.org/fhir/StructureDefinition/structuredefinition-wg"), "{found:#?}");
    assert!(has(&found, Severity::Warning, "business-rule", "ImplementationGuide",
        "HL7 Implementation Guides should state their maturity explicitly using the extension http://hl7.org/fhir/StructureDefinition/structuredefinition-fmm"), "{found:#?}");
}

#[test]
fn an_hl7_guide_with_the_three_extensions_passes() {
    let mut ig = guide(json!({"uri": "http://example.org/ImplementationGuide/dep", "packageId": "example.dep", "version": "1.0.0"}));
    ig["url"] = json!("http://hl7.org/fhir/example/ImplementationGuide/ig");
    ig["extension"] = json!([
        {"url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status", "valueCode": "trial-use"},
        {"url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-wg", "valueCode": "fhir"},
        {"url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-fmm", "valueInteger": 1}
    ]);
    let found = issues(&ig);
    assert!(!mentions(&found, "HL7 Implementation Guides"), "{found:#?}");
}

#[test]
fn a_canonical_that_is_another_packages_is_an_error() {
    // IG_DEPENDENCY_CLASH_PACKAGEID
    let found = issues(&guide(json!({"uri": "http://example.org/five", "packageId": "example.dep", "version": "1.0.0"})));
    assert!(has(&found, Severity::Error, "business-rule", DEP,
        "The canonical URL http://example.org/five points to the package example.five which is inconsistent with the stated packageId of example.dep"), "{found:#?}");
}

#[test]
fn a_package_whose_canonical_differs_is_an_error() {
    // IG_DEPENDENCY_CLASH_CANONICAL
    let found = issues(&guide(json!({"uri": "http://example.org/ImplementationGuide/dep", "packageId": "example.five", "version": "1.0.0"})));
    assert!(has(&found, Severity::Error, "business-rule", DEP,
        "The packageId example.five points to the canonical http://example.org/five which is inconsistent with the stated canonical of http://example.org/ImplementationGuide/dep"), "{found:#?}");
}

#[test]
fn a_dependency_whose_package_cannot_be_found_is_warned_about() {
    // IG_DEPENDENCY_NO_PACKAGE: no package id, and no installed package has the canonical.
    let found = issues(&guide(json!({"uri": "http://example.org/ImplementationGuide/dep", "version": "1.0.0"})));
    assert!(has(&found, Severity::Warning, "business-rule", DEP, "No NPM package id could be determined so the version consistency can't be checked"), "{found:#?}");
}

#[test]
fn a_package_that_is_not_installed_is_warned_about() {
    // IG_DEPENDENCY_PACKAGE_UNKNOWN
    let found = issues(&guide(json!({"uri": "http://example.org/ImplementationGuide/dep", "packageId": "example.dep", "version": "3.0.0"})));
    assert!(has(&found, Severity::Warning, "business-rule", DEP, "The package example.dep#3.0.0 could not be found so the version consistency can't be checked"), "{found:#?}");
}

#[test]
fn a_package_for_another_fhir_version_is_warned_about() {
    // IG_DEPENDENCY_VERSION_WARNING
    let found = issues(&guide(json!({"uri": "http://example.org/five/ImplementationGuide/five", "packageId": "example.five", "version": "1.0.0"})));
    assert!(has(&found, Severity::Warning, "business-rule", DEP,
        "The ImplementationGuide is based on FHIR version 4.0.1 but package example.five#1.0.0 is based on FHIR version 5.0.0. In general, this version mismatch should be avoided - some tools will try to make this work with variable degrees of success, but others will not even try"), "{found:#?}");
}

#[test]
fn a_version_neutral_hl7_package_for_another_fhir_version_is_an_error() {
    // IG_DEPENDENCY_VERSION_ERROR
    let found = issues(&guide(json!({"uri": "http://terminology.hl7.org/ImplementationGuide/hl7.terminology", "packageId": "hl7.terminology", "version": "6.0.0"})));
    assert!(has(&found, Severity::Error, "business-rule", DEP,
        "The ImplementationGuide is based on FHIR version 4.0.1 but package hl7.terminology#6.0.0 is based on FHIR version 5.0.0. Use the package hl7.terminology.r4 instead"), "{found:#?}");
}

#[test]
fn an_old_release_of_a_package_is_warned_about_for_publication() {
    // IG_DEPENDENCY_VERSION_WARNING_OLD
    let dep = guide(json!({"uri": "http://example.org/ImplementationGuide/dep", "packageId": "example.dep", "version": "1.0.0"}));
    let found = issues_with_options(&dep, Options { for_publication: true, ..Options::default() });
    assert!(has(&found, Severity::Warning, "business-rule", DEP,
        "The ImplementationGuide uses package example.dep#1.0.0 released on 2020-01-01, but the most recent appropriate version is 2.0.0. This reference is getting old and the more recent version should be considered"), "{found:#?}");
    assert!(!mentions(&issues(&dep), "getting old"));
    let newest = guide(json!({"uri": "http://example.org/ImplementationGuide/dep", "packageId": "example.dep", "version": "2.0.0"}));
    assert!(!mentions(&issues_with_options(&newest, Options { for_publication: true, ..Options::default() }), "getting old"));
}
