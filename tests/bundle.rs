//! A Bundle's references as the reference's Bundle resolution reads them:
//! the entry's fullUrl, the form of relative references, what a relative
//! reference names against the fullUrl's base, and references that name
//! several entries.

mod common;

use common::issues_with;

use careplan::issue::{Issue, IssueCode, Severity};
use serde_json::{json, Value};

/// The one issue with this severity, code and expression whose message is `message`.
fn assert_issue(issues: &[Issue], severity: Severity, code: IssueCode, expression: &str, message: &str) {
    let found = issues.iter().filter(|i| i.severity == severity && i.code == code && i.expression == expression && i.message == message).count();
    assert_eq!(found, 1, "wanted {severity:?} {code:?} at {expression}: {message}\n{issues:#?}");
}

fn none_say(issues: &[Issue], fragment: &str) {
    assert!(!issues.iter().any(|i| i.message.contains(fragment)), "{issues:#?}");
}

fn observation(subject: &str) -> Value {
    json!({"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "weight"}, "subject": {"reference": subject}})
}

fn patient(id: &str) -> Value {
    json!({"resourceType": "Patient", "id": id, "active": true})
}

#[test]
fn relative_reference_from_an_entry_without_a_full_url() {
    // Bundle_BUNDLE_FullUrl_Missing
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": observation("Patient/p1")},
        {"fullUrl": "http://example.org/fhir/Patient/p1", "resource": patient("p1")}]});
    let issues = issues_with(&[], &bundle);
    assert_issue(&issues, Severity::Error, IssueCode::Required, "Bundle.entry[0].resource.subject", "Relative Reference appears inside Bundle whose entry is missing a fullUrl");
    // An absolute reference needs no fullUrl to be read against; a response's entries need none.
    let mut absolute = bundle.clone();
    absolute["entry"][0]["resource"]["subject"]["reference"] = json!("http://example.org/fhir/Patient/p1");
    none_say(&issues_with(&[], &absolute), "Relative Reference appears");
    let mut response = bundle.clone();
    response["type"] = json!("batch-response");
    none_say(&issues_with(&[], &response), "Relative Reference appears");
}

#[test]
fn relative_reference_not_of_the_form_type_and_id() {
    // Reference_REF_Format2
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "http://example.org/fhir/Observation/o1", "resource": observation("Patient/p1/x")}]});
    let issues = issues_with(&[], &bundle);
    assert_issue(&issues, Severity::Error, IssueCode::Invalid, "Bundle.entry[0].resource.subject", "Relative URLs must be of the format [ResourceName]/[id]. Encountered Patient/p1/x");
    let mut fine = bundle.clone();
    fine["entry"][0]["resource"]["subject"]["reference"] = json!("Patient/p1/_history/1");
    none_say(&issues_with(&[], &fine), "Relative URLs must be");
}

#[test]
fn relative_reference_in_a_transaction_may_be_a_search() {
    // Reference_REF_Format1
    let entry = |subject: &str| json!({"fullUrl": "urn:uuid:8f2a7c1e-33b1-4f7e-9d6a-0c9e5b1f2a4d", "resource": observation(subject),
        "request": {"method": "POST", "url": "Observation"}});
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [entry("Patient/p1/x")]});
    let issues = issues_with(&[], &bundle);
    assert_issue(
        &issues,
        Severity::Error,
        IssueCode::Invalid,
        "Bundle.entry[0].resource.subject",
        "Relative URLs must be of the format [ResourceName]/[id], or a search URL is allowed ([type]?parameters. Encountered Patient/p1/x)",
    );
    let search = json!({"resourceType": "Bundle", "type": "transaction", "entry": [entry("Patient?identifier=123")]});
    none_say(&issues_with(&[], &search), "Relative URLs must be");
}

#[test]
fn relative_reference_read_against_a_urn_names_an_entry_of_another_type() {
    // Reference_REF_ResourceType: `Patient/<uuid>` from a `urn:uuid:` entry names `urn:uuid:<uuid>`.
    let target = "5b0f3c52-6a1d-4d3e-8c2b-7f9a1e4d6c30";
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:8f2a7c1e-33b1-4f7e-9d6a-0c9e5b1f2a4d", "resource": observation(&format!("Patient/{target}"))},
        {"fullUrl": format!("urn:uuid:{target}"), "resource": {"resourceType": "Group", "type": "person", "actual": true}}]});
    let issues = issues_with(&[], &bundle);
    assert_issue(
        &issues,
        Severity::Error,
        IssueCode::Required,
        "Bundle.entry[0].resource.subject",
        &format!("Matching reference for reference Patient/{target} has resourceType Group"),
    );
    let mut same_type = bundle.clone();
    same_type["entry"][1]["resource"] = json!({"resourceType": "Patient", "active": true});
    none_say(&issues_with(&[], &same_type), "Matching reference for reference");
}

#[test]
fn versioned_reference_to_an_entry_without_meta() {
    // Bundle_BUNDLE_FullUrl_NeedVersion
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "http://example.org/fhir/Observation/o1", "resource": observation("Patient/p1/_history/2")},
        {"fullUrl": "http://example.org/fhir/Patient/p1", "resource": patient("p1")}]});
    let issues = issues_with(&[], &bundle);
    assert_issue(
        &issues,
        Severity::Warning,
        IssueCode::Required,
        "Bundle.entry[0].resource.subject",
        "Entries matching fullURL http://example.org/fhir/Patient/p1 should declare meta/versionId because there are version-specific references",
    );
    let mut versioned = bundle.clone();
    versioned["entry"][1]["resource"]["meta"] = json!({"versionId": "2"});
    none_say(&issues_with(&[], &versioned), "should declare meta/versionId");
}

#[test]
fn document_reference_naming_several_entries() {
    // BUNDLE_BUNDLE_ENTRY_FOUND_MULTIPLE
    let composition = json!({"resourceType": "Composition", "id": "c1", "status": "final", "type": {"text": "doc"}, "date": "2024-01-01",
        "subject": {"reference": "http://example.org/fhir/Patient/p1"}, "author": [{"display": "me"}], "title": "Doc"});
    let bundle = json!({"resourceType": "Bundle", "id": "d1", "identifier": {"system": "http://example.org", "value": "1"}, "type": "document",
        "timestamp": "2024-01-01T00:00:00Z", "entry": [
        {"fullUrl": "http://example.org/fhir/Composition/c1", "resource": composition},
        {"fullUrl": "http://example.org/fhir/Patient/p1", "resource": patient("p1")},
        {"fullUrl": "http://example.org/fhir/Patient/p1", "resource": patient("p1")}]});
    let issues = issues_with(&[], &bundle);
    assert_issue(
        &issues,
        Severity::Error,
        IssueCode::Invalid,
        "Bundle.entry[0].resource.subject",
        "Found 2 matches for 'http://example.org/fhir/Patient/p1' in the bundle (Composition.subject)",
    );
    let mut collection = bundle.clone();
    collection["type"] = json!("collection");
    none_say(&issues_with(&[], &collection), "matches for 'http");
}

#[test]
fn document_stylesheet_that_is_not_a_link() {
    // BUNDLE_LINK_STYELSHEET_LINKABLE (beside BUNDLE_LINK_STYELSHEET_EXTERNAL)
    let composition = json!({"resourceType": "Composition", "id": "c1", "status": "final", "type": {"text": "doc"}, "date": "2024-01-01",
        "author": [{"display": "me"}], "title": "Doc"});
    let bundle = |css: &str| json!({"resourceType": "Bundle", "id": "d1", "identifier": {"system": "http://example.org", "value": "1"}, "type": "document",
        "timestamp": "2024-01-01T00:00:00Z", "link": [{"relation": "stylesheet", "url": css}],
        "entry": [{"fullUrl": "http://example.org/fhir/Composition/c1", "resource": composition.clone()}]});
    let issues = issues_with(&[], &bundle("urn:uuid:3c1d6f2a-9b0e-4d7c-8a5f-2e6b1c9d0a47"));
    assert_issue(&issues, Severity::Warning, IssueCode::BusinessRule, "Bundle.link[0].url", "The stylesheet reference is not a resolvable link");
    assert_issue(&issues, Severity::Warning, IssueCode::BusinessRule, "Bundle.link[0].url", "External Stylesheets other than https://hl7.org/fhir/fhir.css SHOULD not be used");
    none_say(&issues, "could not be resolved in this bundle");
    none_say(&issues_with(&[], &bundle("https://example.org/site.css")), "not a resolvable link");
}

#[test]
fn document_reference_to_a_fragment_found_several_times() {
    // BUNDLE_BUNDLE_ENTRY_FOUND_MULTIPLE_FRAGMENT
    let composition = json!({"resourceType": "Composition", "id": "c1", "status": "final", "type": {"text": "doc"}, "date": "2024-01-01",
        "subject": {"reference": "http://example.org/fhir/Patient/p1#n1"}, "author": [{"display": "me"}], "title": "Doc"});
    let patient = |second: &str| json!({"resourceType": "Patient", "id": "p1", "name": [{"id": "n1", "family": "A"}, {"id": second, "family": "B"}]});
    let bundle = |second: &str| json!({"resourceType": "Bundle", "id": "d1", "identifier": {"system": "http://example.org", "value": "1"}, "type": "document",
        "timestamp": "2024-01-01T00:00:00Z", "entry": [
        {"fullUrl": "http://example.org/fhir/Composition/c1", "resource": composition.clone()},
        {"fullUrl": "http://example.org/fhir/Patient/p1", "resource": patient(second)}]});
    let issues = issues_with(&[], &bundle("n1"));
    assert_issue(
        &issues,
        Severity::Error,
        IssueCode::Invalid,
        "Bundle.entry[0].resource.subject",
        "Found 2 matches for fragment n1 in resource 'http://example.org/fhir/Patient/p1' in the bundle (Composition.subject)",
    );
    let once = issues_with(&[], &bundle("n2"));
    none_say(&once, "matches for fragment");
    none_say(&once, "Can't find");
}
