//! The reference validator's rules on every canonical resource: status
//! against standards status, experimental content, versions, and the work
//! group and publisher of HL7's own resources. One test per rule.

mod common;

use careplan::issue::{Issue, IssueCode, Severity};
use careplan::validator::{Options, Validator};
use serde_json::{json, Value};

const WG: &str = "http://hl7.org/fhir/StructureDefinition/structuredefinition-wg";
const STATUS: &str = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status";

fn issues_with_options(options: Options, resource: &Value) -> Vec<Issue> {
    Validator::new(common::context(), options).validate_bytes(resource.to_string().as_bytes(), Some(careplan::tree::Format::Json))
}

fn issues(resource: &Value) -> Vec<Issue> {
    issues_with_options(Options::default(), resource)
}

fn assert_issue(issues: &[Issue], severity: Severity, message: &str) {
    let found = issues.iter().filter(|i| i.severity == severity && i.code == IssueCode::BusinessRule && i.expression == "ValueSet" && i.message == message).count();
    assert_eq!(found, 1, "wanted {severity:?} business-rule at ValueSet: {message}\n{issues:#?}");
}

fn none_say(issues: &[Issue], fragment: &str) {
    assert!(!issues.iter().any(|i| i.message.contains(fragment)), "{issues:#?}");
}

/// A ValueSet, with HL7's url unless `url` says otherwise.
fn value_set(extra: Value) -> Value {
    let mut vs = json!({"resourceType": "ValueSet", "id": "v", "url": "http://example.org/ValueSet/v", "name": "V", "status": "active",
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">V</div>"}});
    for (k, v) in extra.as_object().unwrap() {
        vs[k] = v.clone();
    }
    vs
}

fn hl7(extra: Value) -> Value {
    let mut vs = value_set(extra);
    vs["url"] = json!("http://hl7.org/fhir/ValueSet/v");
    vs
}

#[test]
fn status_inconsistent_with_standards_status() {
    let found = issues(&value_set(json!({"status": "retired", "extension": [{"url": STATUS, "valueCode": "normative"}]})));
    assert_issue(&found, Severity::Warning, "The resource status 'retired' and the standards status 'normative' are not consistent");
}

#[test]
fn status_inconsistent_hint() {
    let found = issues(&value_set(json!({"status": "draft", "extension": [{"url": STATUS, "valueCode": "trial-use"}]})));
    assert_issue(&found, Severity::Information, "The resource status 'draft' and the standards status 'trial-use' may not be consistent and should be reviewed");
    none_say(&issues(&value_set(json!({"status": "active", "extension": [{"url": STATUS, "valueCode": "trial-use"}]}))), "standards status");
}

#[test]
fn no_experimental_content() {
    let vs = value_set(json!({"experimental": true}));
    assert_issue(
        &issues_with_options(Options { no_experimental_content: true, ..Options::default() }, &vs),
        Severity::Error,
        "Experimental content is not allowed in this context",
    );
    none_say(&issues(&vs), "Experimental content");
}

#[test]
fn version_with_a_hash() {
    let found = issues(&value_set(json!({"version": "1.0#2"})));
    assert_issue(
        &found,
        Severity::Warning,
        "Version '1.0#2' contains a '#', which is problematic, as this character is used in some URLs to separate the version and the fragment id. Systems will generally wrongly parse these URLs",
    );
}

#[test]
fn hl7_multiple_work_groups() {
    let found = issues(&hl7(json!({"extension": [{"url": WG, "valueCode": "fhir"}, {"url": WG, "valueCode": "oo"}],
        "publisher": "HL7 International / FHIR Infrastructure", "contact": [{"telecom": [{"system": "url", "value": "http://www.hl7.org/Special/committees/fiwg"}]}]})));
    assert_issue(&found, Severity::Error, "This resource has more than one workgroup extension (http://hl7.org/fhir/StructureDefinition/structuredefinition-wg)");
}

#[test]
fn hl7_work_group_needed_for_publication() {
    let vs = hl7(json!({}));
    let found = issues_with_options(Options { for_publication: true, ..Options::default() }, &vs);
    assert_issue(&found, Severity::Error, &format!("When HL7 is publishing a resource, the owning committee must be stated using the {WG} extension"));
    none_say(&issues(&vs), "owning committee");
}

#[test]
fn hl7_work_group_unknown() {
    let found = issues(&hl7(json!({"extension": [{"url": WG, "valueCode": "nope"}]})));
    assert_issue(&found, Severity::Error, "The nominated WG 'nope' is unknown");
}

#[test]
fn hl7_publisher_missing() {
    let found = issues(&hl7(json!({"extension": [{"url": WG, "valueCode": "oo"}]})));
    assert_issue(&found, Severity::Warning, "When HL7 is publishing a resource, the publisher must be provided, and for WG 'oo' it should be 'HL7 International / Orders and Observations'");
}

#[test]
fn hl7_publisher_mismatch() {
    let found = issues(&hl7(json!({"extension": [{"url": WG, "valueCode": "fhir"}], "publisher": "Health Level Seven International (Orders and Observations)"})));
    assert_issue(
        &found,
        Severity::Warning,
        "The nominated WG 'fhir' means that the publisher should be 'HL7 International / FHIR Infrastructure' but 'Health Level Seven International (Orders and Observations)' was found",
    );
    // Written as HL7's are, a wrong one is an error.
    let slash = issues(&hl7(json!({"extension": [{"url": WG, "valueCode": "fhir"}], "publisher": "HL7 International / Patient Care"})));
    assert_issue(&slash, Severity::Error, "The nominated WG 'fhir' means that the publisher should be 'HL7 International / FHIR Infrastructure' but 'HL7 International / Patient Care' was found");
}

#[test]
fn hl7_publisher_mismatch2() {
    let found = issues(&hl7(json!({"extension": [{"url": WG, "valueCode": "vocab"}], "publisher": "HL7"})));
    assert_issue(
        &found,
        Severity::Warning,
        "The nominated WG 'vocab' means that the publisher should be either 'HL7 International / Terminology Infrastructure'or 'HL7 International / Vocabulary' but 'HL7' was found",
    );
    none_say(&issues(&hl7(json!({"extension": [{"url": WG, "valueCode": "vocab"}], "publisher": "HL7 International / Vocabulary"}))), "publisher should be");
}

#[test]
fn hl7_work_group_url() {
    let found = issues(&hl7(json!({"extension": [{"url": WG, "valueCode": "fhir"}], "publisher": "HL7 International / FHIR Infrastructure"})));
    assert_issue(&found, Severity::Warning, "The nominated WG 'fhir' means that the contact url should be 'http://www.hl7.org/Special/committees/fiwg' but it was not found");
    let with_contact = issues(&hl7(json!({"extension": [{"url": WG, "valueCode": "fhir"}], "publisher": "HL7 International / FHIR Infrastructure",
        "contact": [{"telecom": [{"system": "url", "value": "http://www.hl7.org/Special/committees/fiwg"}]}]})));
    none_say(&with_contact, "contact url should be");
}
