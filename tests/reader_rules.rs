//! The reference readers' and narrative rules that careplan checks in the
//! validator's walk (the readers' own are tested in their unit tests): one
//! test per rule, each on a small input made for it.

mod common;

use careplan::issue::{Issue, IssueCode, Severity};
use careplan::tree::Format;

fn issues(text: &str, format: Format) -> Vec<Issue> {
    common::validator().validate_bytes(text.as_bytes(), Some(format))
}

fn find<'a>(issues: &'a [Issue], message: &str) -> &'a Issue {
    issues.iter().find(|i| i.message == message).unwrap_or_else(|| panic!("no issue {message:?} in {issues:#?}"))
}

#[test]
fn error_parsing_json_the_primitive_value_must_be_a_boolean() {
    let got = issues(r#"{"resourceType":"Patient","active":"true"}"#, Format::Json);
    let i = find(&got, "Error parsing JSON: the primitive value must be a boolean");
    assert_eq!((i.severity, i.code, i.expression.as_str()), (Severity::Error, IssueCode::Invalid, "Patient.active"));
}

#[test]
fn error_parsing_json_the_primitive_value_must_be_a_number() {
    let got = issues(r#"{"resourceType":"Patient","multipleBirthInteger":"2"}"#, Format::Json);
    let i = find(&got, "Error parsing JSON: the primitive value must be a number");
    assert_eq!((i.severity, i.code, i.expression.as_str()), (Severity::Error, IssueCode::Invalid, "Patient.multipleBirth.ofType(integer)"));
}

#[test]
fn error_parsing_json_the_primitive_value_must_be_a_string() {
    let got = issues(r#"{"resourceType":"Patient","gender":true}"#, Format::Json);
    let i = find(&got, "Error parsing JSON: the primitive value must be a string");
    assert_eq!((i.severity, i.code, i.expression.as_str()), (Severity::Error, IssueCode::Invalid, "Patient.gender"));
}

#[test]
fn this_does_not_appear_to_be_a_fhir_resource_unknown_name() {
    let got = issues(r#"{"resourceType":"Patientx","id":"a"}"#, Format::Json);
    let i = find(&got, "This content cannot be parsed (unknown or unrecognized resource name 'Patientx')");
    assert_eq!((i.severity, i.code, i.expression.as_str()), (Severity::Fatal, IssueCode::Structure, "Patientx"));
}

#[test]
fn this_does_not_appear_to_be_a_fhir_resource_unknown_namespacename_in_fhir_namespace() {
    let got = issues(r#"<Patientx xmlns="http://hl7.org/fhir"><id value="a"/></Patientx>"#, Format::Xml);
    let i = find(&got, "This content cannot be parsed (unknown or unrecognized XML Root element namespace/name 'http://hl7.org/fhir::Patientx')");
    assert_eq!((i.severity, i.code, i.expression.as_str()), (Severity::Fatal, IssueCode::Structure, "Patientx"));
}

#[test]
fn contained_resource_does_not_appear_to_be_a_fhir_resource_unknown_name() {
    let got = issues(r#"{"resourceType":"Patient","contained":[{"resourceType":"Thing","id":"t"}]}"#, Format::Json);
    let i = find(&got, "Contained resource does not appear to be a FHIR resource (unknown name 'Thing')");
    assert_eq!((i.severity, i.code, i.expression.as_str()), (Severity::Fatal, IssueCode::Invalid, "Patient.contained[0]"));
}

/// The issues on a Basic resource whose narrative is `div` (its content).
fn narrative(content: &str) -> Vec<Issue> {
    let div = format!(r#"<div xmlns=\"http://www.w3.org/1999/xhtml\">{content}</div>"#);
    issues(&format!(r#"{{"resourceType":"Basic","text":{{"status":"generated","div":"{div}"}},"code":{{"text":"x"}}}}"#), Format::Json)
}

fn assert_narrative(content: &str, severity: Severity, code: IssueCode, message: &str) {
    let got = narrative(content);
    let i = find(&got, message);
    assert_eq!((i.severity, i.code, i.expression.as_str()), (severity, code, "Basic.text.div"), "{i:?}");
}

#[test]
fn xhtml_xhtml_element_illegal_in_para() {
    assert_narrative("<p>a<ul><li>b</li></ul></p>", Severity::Error, IssueCode::Invalid, "Invalid element name inside a paragraph in the XHTML ('ul')");
}

#[test]
fn xhtml_xhtml_block_in_para() {
    assert_narrative("<span>a<table><tr><td>b</td></tr></table></span>", Severity::Error, IssueCode::Structure, "Found block structures inside a paragraph/text element span at div/span: span/table");
}

#[test]
fn xhtml_xhtml_no_recursion() {
    assert_narrative("<p><b>a<i><b>c</b></i></b></p>", Severity::Error, IssueCode::Structure, "Elements of type b at div/p/b cannot contain nested b at b/i/b");
}

#[test]
fn xhtml_xhtml_no_children() {
    assert_narrative("<p>a<br>b</br></p>", Severity::Error, IssueCode::Structure, "Elements of type br cannot have children");
}

#[test]
fn xhtml_xhtml_out_of_place() {
    assert_narrative("<p>a</p><li>b</li>", Severity::Error, IssueCode::Structure, "Elements of type li must be in a ul|ol, not a div at div/li");
}

#[test]
fn xhtml_xhtml_illegal_children() {
    assert_narrative("<ul>a<li>b</li><p>c</p></ul>", Severity::Error, IssueCode::Structure, "Elements of type ul at div/ul cannot have the following children: @text,p");
}

#[test]
fn xhtml_xhtml_bad_element_type() {
    assert_narrative("<p>a<?pi x?></p>", Severity::Error, IssueCode::Structure, "Elements of type [@instruction] cannot appear at div/p");
}

#[test]
fn xhtml_xhtml_duplicate_ids() {
    assert_narrative(
        "<p id='x'>a</p><p id='x'>b</p><a name='y'>c</a><a name='y'>d</a>",
        Severity::Warning,
        IssueCode::BusinessRule,
        "The XHTML  the resource contains more than one node for each of the following node ids and anchor names: x (2x), y (2x)",
    );
}

#[test]
fn xhtml_xhtml_attribute_xml_space() {
    assert_narrative(
        "<pre xml:space='preserve'>a</pre>",
        Severity::Information,
        IssueCode::Invalid,
        "The attribute 'xml:space' is legal but has a fixed value of 'preserve'. Its use is discouraged",
    );
}

#[test]
fn xhtml_xhtml_doctype_illegal() {
    let got = issues(
        r#"{"resourceType":"Basic","text":{"status":"generated","div":"<!DOCTYPE div><div xmlns=\"http://www.w3.org/1999/xhtml\">a</div>"},"code":{"text":"x"}}"#,
        Format::Json,
    );
    let i = find(&got, "Malformed XHTML: Found a DocType declaration, and these are not allowed (XXE security vulnerability protection)");
    assert_eq!((i.severity, i.code, i.expression.as_str()), (Severity::Error, IssueCode::Invalid, "Basic.text.div"));
}

#[test]
fn xhtml_url_empty() {
    assert_narrative("<p><a href=''>a</a></p>", Severity::Error, IssueCode::Invalid, "The URL is not valid because '(URL is empty)': ");
}

#[test]
fn xhtml_url_invalid_characters() {
    assert_narrative("<p><a href='http://x.org/a b{'>a</a></p>", Severity::Error, IssueCode::Invalid, "The URL is not valid because '(URL contains 2 Invalid Characters: ' ','{')': http://x.org/a b{");
    assert_narrative("<p><a href='http://x.org/a b'>a</a></p>", Severity::Error, IssueCode::Invalid, "The URL is not valid because '(URL contains Invalid Character: ' ')': http://x.org/a b");
}

#[test]
fn xhtml_url_data_no_data() {
    assert_narrative("<p><img src='data:image/png'/></p>", Severity::Error, IssueCode::Invalid, "The URL is not valid because '(No data found in data: URL)': data:image/png");
}

#[test]
fn xhtml_url_data_data_invalid_comma() {
    assert_narrative(
        "<p><img src='data:image/png;base64,AAAA,BBBB'/></p>",
        Severity::Error,
        IssueCode::Invalid,
        "The URL is not valid because '(Comma found in data portion of data URL: data:image/png;base64,AAAA,BBBB)': data:image/png;base64,AAAA,BBBB",
    );
}

#[test]
fn xhtml_url_data_data_invalid() {
    assert_narrative(
        "<p><img src='data:image/png;base64,AAA'/></p>",
        Severity::Error,
        IssueCode::Invalid,
        "The URL is not valid because '(The data should be valid base64 content for a data: URL: data:image/png;base64,AAA)': data:image/png;base64,AAA",
    );
}

#[test]
fn xhtml_url_data_mimetype() {
    assert_narrative(
        "<p><img src='data:image png;base64,AAAA'/></p>",
        Severity::Error,
        IssueCode::Invalid,
        "The URL is not valid because '(The mimetype portion of the data: URL is not valid (Mime type invalid) in URL: data:image png;base64,AAAA)': data:image png;base64,AAAA",
    );
    let fine = narrative("<p><img src='data:image/png;base64,AAAA'/><a href='http://x.org/a?b=c#d'>x</a></p>");
    assert!(!fine.iter().any(|i| i.message.starts_with("The URL is not valid")), "{fine:#?}");
}

/// A simple string extension on Patient with the given status and extensions.
fn extension_definition(url: &str, status: &str, extension: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"resourceType": "StructureDefinition", "url": url, "version": "1.0.0", "name": "Note", "status": status,
        "extension": extension,
        "type": "Extension", "kind": "complex-type", "abstract": false, "derivation": "constraint",
        "context": [{"type": "element", "expression": "Patient"}],
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension",
        "differential": {"element": [
            {"id": "Extension", "path": "Extension", "max": "1"},
            {"id": "Extension.extension", "path": "Extension.extension", "max": "0"},
            {"id": "Extension.url", "path": "Extension.url", "fixedUri": url},
            {"id": "Extension.value[x]", "path": "Extension.value[x]", "min": 1, "type": [{"code": "string"}]}
        ]}})
}

fn extension_status_issues(status: &str, extension: serde_json::Value) -> Vec<Issue> {
    let url = "http://example.org/StructureDefinition/note";
    let resource = serde_json::json!({"resourceType": "Patient", "extension": [{"url": url, "valueString": "a"}, {"url": url, "valueString": "b"}]});
    common::issues_with(&[extension_definition(url, status, extension)], &resource)
}

fn assert_status_hint(got: &[Issue], message: &str) {
    let hits: Vec<&Issue> = got.iter().filter(|i| i.message == message).collect();
    assert_eq!(hits.len(), 1, "once per definition: {got:#?}");
    assert_eq!((hits[0].severity, hits[0].code, hits[0].expression.as_str()), (Severity::Information, IssueCode::BusinessRule, "Patient.extension[0]"));
}

const STANDARDS_STATUS: &str = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status";

#[test]
fn msg_depends_on_retired() {
    let got = extension_status_issues("retired", serde_json::json!([]));
    assert_status_hint(&got, "The extension http://example.org/StructureDefinition/note|1.0.0 is retired");
}

#[test]
fn msg_depends_on_deprecated() {
    let got = extension_status_issues("active", serde_json::json!([{"url": STANDARDS_STATUS, "valueCode": "deprecated"}]));
    assert_status_hint(&got, "The extension http://example.org/StructureDefinition/note|1.0.0 is deprecated");
}

#[test]
fn msg_depends_on_deprecated_note() {
    let reason = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status-reason";
    let got = extension_status_issues(
        "active",
        serde_json::json!([{"url": STANDARDS_STATUS, "valueCode": "deprecated", "_valueCode": {"extension": [{"url": reason, "valueMarkdown": "Use another"}]}}]),
    );
    assert_status_hint(&got, "The extension http://example.org/StructureDefinition/note|1.0.0 is deprecated with the note: 'Use another'");
}

#[test]
fn msg_depends_on_withdrawn() {
    let got = extension_status_issues("active", serde_json::json!([{"url": STANDARDS_STATUS, "valueCode": "withdrawn"}]));
    assert_status_hint(&got, "The extension http://example.org/StructureDefinition/note|1.0.0 is withdrawn");
    assert!(!extension_status_issues("active", serde_json::json!([])).iter().any(|i| i.message.starts_with("The extension http://example.org")));
}

#[test]
fn error_parsing_xhtml() {
    let got = issues(r#"{"resourceType":"Basic","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>a</div>"},"code":{"text":"x"}}"#, Format::Json);
    let i = got.iter().find(|i| i.message.starts_with("Error parsing XHTML: ")).unwrap_or_else(|| panic!("{got:#?}"));
    assert_eq!((i.severity, i.code, i.expression.as_str()), (Severity::Error, IssueCode::Invalid, "Basic.text.div"));
}

#[test]
fn resourcedefinition_property_unknown() {
    let got = issues(r#"{"resourceType":"Basic","resourceDefinition":"http://example.org/StructureDefinition/nothing","code":{"text":"x"}}"#, Format::Json);
    let i = find(&got, "The 'resourceDefinition' is 'http://example.org/StructureDefinition/nothing', but no additional resource is known for that reference");
    assert_eq!((i.severity, i.code, i.expression.as_str()), (Severity::Error, IssueCode::Invalid, "Basic"));
    assert!(!got.iter().any(|i| i.message.contains("Unrecognized property")), "{got:#?}");
    let known = issues(r#"{"resourceType":"Basic","resourceDefinition":"http://hl7.org/fhir/StructureDefinition/Basic","code":{"text":"x"}}"#, Format::Json);
    assert!(!known.iter().any(|i| i.message.contains("resourceDefinition") || i.message.contains("Unrecognized")), "{known:#?}");
}

#[test]
fn ndjson_empty_line_warning() {
    let dir = std::env::temp_dir().join(format!("careplan-reader-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("two.ndjson");
    let line = r#"{"resourceType":"Basic","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},"code":{"text":"x"}}"#;
    std::fs::write(&file, format!("{line}\n\n{line}\n")).unwrap();
    let out = common::careplan().args(["validate", "--offline"]).arg(&file).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    std::fs::remove_dir_all(&dir).ok();
    assert!(stdout.contains("two.ndjson:2:1: warning: The NDJSON source contains an empty line. This may not be accepted by some processors"), "{stdout}");
    assert_eq!(stdout.matches("empty line").count(), 1, "the final line break ends the last line: {stdout}");
}

#[test]
fn deeply_nested_narrative_reports_few_short_messages() {
    // 400 nested <b> and misplaced <li>, within the 512 levels a narrative
    // is read to: every element breaks a rule against each of its
    // ancestors, and the messages stay few and short.
    let n = 200;
    let content = format!("<p>{}{}{}{}</p>", "<b>".repeat(n), "<li>".repeat(n), "</li>".repeat(n), "</b>".repeat(n));
    let got = narrative(&content);
    let shape: Vec<&Issue> = got.iter().filter(|i| i.message.starts_with("Elements of type")).collect();
    assert!(!shape.is_empty() && shape.len() <= 50, "{}", shape.len());
    assert!(got.iter().map(|i| i.message.len()).max().unwrap_or(0) < 10_000);
    // Deeper than that, the narrative is refused, not read (the twenty-ninth pass's U1).
    let n = 100_000;
    let content = format!("<p>{}{}{}{}</p>", "<b>".repeat(n), "<li>".repeat(n), "</li>".repeat(n), "</b>".repeat(n));
    let got = narrative(&content);
    assert!(got.iter().any(|i| i.message == "The narrative XHTML is nested more than 512 elements deep; it is not read further"), "{got:#?}");
}

/// A collection whose Observation refers to `Patient/p1`, with the Patients
/// given (fullUrl, or none) as its other entries.
fn bundle_with_patients(patients: &[Option<&str>]) -> Vec<Issue> {
    let mut entries = vec![serde_json::json!({"fullUrl": "http://x.org/fhir/Observation/o1",
        "resource": {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/p1"}}})];
    for fu in patients {
        let mut e = serde_json::json!({"resource": {"resourceType": "Patient", "id": "p1"}});
        if let Some(fu) = fu {
            e["fullUrl"] = serde_json::json!(fu);
        }
        entries.push(e);
    }
    let bundle = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": entries});
    issues(&bundle.to_string(), Format::Json)
}

fn assert_bundle_warning(got: &[Issue], message: &str) {
    let i = find(got, message);
    assert_eq!((i.severity, i.code), (Severity::Warning, IssueCode::Required), "{i:?}");
    assert!(i.expression.starts_with("Bundle.entry[0]") && i.expression.ends_with("subject"), "{i:?}");
}

#[test]
fn bundle_bundle_possible_match_wrong_fu() {
    let got = bundle_with_patients(&[Some("http://y.org/fhir/Patient/p1")]);
    assert_bundle_warning(
        &got,
        "Entry 1 matches the reference Patient/p1 by type and id but its fullUrl http://y.org/fhir/Patient/p1 does not match the full target URL http://x.org/fhir/Patient/p1 by Bundle resolution rules",
    );
}

#[test]
fn bundle_bundle_possible_match_no_fu() {
    let got = bundle_with_patients(&[None]);
    assert_bundle_warning(&got, "Entry 1 matches the reference Patient/p1 by type and id but it does not match the full target URL http://x.org/fhir/Patient/p1 by Bundle resolution rules");
}

#[test]
fn bundle_posssible_matches() {
    let got = bundle_with_patients(&[Some("http://y.org/fhir/Patient/p1"), Some("http://z.org/fhir/Patient/p1")]);
    assert_bundle_warning(
        &got,
        "The bundle contains no match for http://x.org/fhir/Patient/p1 by the rules of Bundle reference resolution, but it has multiple resources that match Patient/p1 by resource type and id",
    );
    let resolved = bundle_with_patients(&[Some("http://x.org/fhir/Patient/p1")]);
    assert!(!resolved.iter().any(|i| i.message.contains("by type and id")), "{resolved:#?}");
}

const XSI_PATIENT: &str = r#"<Patient xmlns="http://hl7.org/fhir" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><active value="true" something="1"/><gender xsi:type="code" value="male"/><birthDate xsi:type="string" value="2000-01-01"/></Patient>"#;

#[test]
fn undefined_attribute_on_for_type() {
    let got = issues(XSI_PATIENT, Format::Xml);
    let i = find(&got, "Undefined attribute '@something' on active for type boolean");
    assert_eq!((i.severity, i.code, i.expression.as_str()), (Severity::Error, IssueCode::Structure, "Patient.active"));
}

#[test]
fn xsi_type_unnecessary() {
    let got = issues(XSI_PATIENT, Format::Xml);
    let i = find(&got, "xsi:type is unnecessary at this point");
    assert_eq!((i.severity, i.code, i.expression.as_str()), (Severity::Information, IssueCode::Invalid, "Patient.gender"));
}

#[test]
fn xsi_type_wrong() {
    let got = issues(XSI_PATIENT, Format::Xml);
    let i = find(&got, "The xsi:type value 'string' is wrong (should be 'date'). Note that xsi:type is unnecessary at this point");
    assert_eq!((i.severity, i.code, i.expression.as_str()), (Severity::Error, IssueCode::Invalid, "Patient.birthDate"));
}
