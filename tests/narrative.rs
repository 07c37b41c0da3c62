//! Narrative rules beyond XHTML syntax: language sections, a profile's
//! language and source controls, internal hyperlinks; and the stylesheet
//! links of documents.

mod common;

use careplan::issue::{Issue, Severity};
use careplan::tree::Format;
use careplan::validator::Validator;

fn issues_with(v: &Validator, json: &str) -> Vec<Issue> {
    v.validate_bytes(json.as_bytes(), Some(Format::Json))
}

fn issues(json: &str) -> Vec<Issue> {
    issues_with(&common::validator(), json)
}

fn has(issues: &[Issue], severity: Severity, expression: &str, fragment: &str) -> bool {
    issues.iter().any(|i| i.severity == severity && i.expression == expression && i.message.contains(fragment))
}

fn none_containing(issues: &[Issue], fragment: &str) -> bool {
    !issues.iter().any(|i| i.message.contains(fragment))
}

fn patient(lang: Option<&str>, div: &str) -> String {
    let lang = lang.map(|l| format!(r#""language":"{l}","#)).unwrap_or_default();
    let div = div.replace('"', "\\\"");
    format!(r#"{{"resourceType":"Patient","id":"p1",{lang}"text":{{"status":"additional","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">{div}</div>"}}}}"#)
}

const EN_DE: &str = r#"<div lang="en" xml:lang="en">Hello</div><div lang="de" xml:lang="de">Hallo</div>"#;
const PT_DE: &str = r#"<div lang="pt" xml:lang="pt">Ola</div><div lang="de" xml:lang="de">Hallo</div>"#;

#[test]
fn narrative_in_another_language_than_the_resource_is_a_warning() {
    let found = issues(&patient(Some("en"), PT_DE));
    assert!(has(&found, Severity::Warning, "Patient", "Resource has a language (en), and the XHTML has a lang (pt), but they differ"), "{found:#?}");
    assert!(none_containing(&issues(&patient(Some("en"), EN_DE)), "but they differ"));
    assert!(none_containing(&issues(&patient(Some("en"), "Plain text")), "but they differ"));
}

#[test]
fn content_outside_language_sections_is_a_warning() {
    let found = issues(&patient(None, r#"Loose text<div xml:lang="en">In English</div>"#));
    assert!(has(&found, Severity::Warning, "Patient.text.div", "The xhtml has some language sections (en), and also has content that is not in a language section"), "{found:#?}");
    assert!(none_containing(&issues(&patient(None, EN_DE)), "not in a language section"));
}

fn profile_with(extension_url: &str, code: &str) -> Validator {
    let profile = serde_json::json!({
        "resourceType": "StructureDefinition", "url": "http://example.org/sd/narr", "name": "Narr", "status": "draft",
        "kind": "resource", "abstract": false, "type": "Patient", "derivation": "constraint",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient",
        "differential": {"element": [
            {"id": "Patient.text", "path": "Patient.text", "extension": [{"url": extension_url, "valueCode": code}]}
        ]}
    });
    common::validator_with(&[profile])
}

fn profiled(lang: Option<&str>, div: &str) -> String {
    patient(lang, div).replacen(r#""id":"p1","#, r#""id":"p1","meta":{"profile":["http://example.org/sd/narr"]},"#, 1)
}

const LANG_CONTROL: &str = "http://hl7.org/fhir/StructureDefinition/narrative-language-control";
const SOURCE_CONTROL: &str = "http://hl7.org/fhir/StructureDefinition/narrative-source-control";

#[test]
fn profiles_can_prohibit_language_sections() {
    let v = profile_with(LANG_CONTROL, "_no");
    let found = issues_with(&v, &profiled(Some("en"), EN_DE));
    assert!(
        has(&found, Severity::Error, "Patient.text", "The xhtml has some language sections (de, en), but language sections are prohibited in this context by the profile StructureDefinition[http://example.org/sd/narr]"),
        "{found:#?}"
    );
    assert!(none_containing(&issues_with(&v, &profiled(Some("en"), "Just text")), "prohibited"));
}

#[test]
fn profiles_can_require_a_section_in_the_resource_language() {
    let v = profile_with(LANG_CONTROL, "_resource");
    let found = issues_with(&v, &profiled(Some("en"), PT_DE));
    assert!(
        has(&found, Severity::Error, "Patient.text", "requires a section in the narrative for the resource language (en), but it was not found (found de, pt)"),
        "{found:#?}"
    );
    assert!(none_containing(&issues_with(&v, &profiled(Some("en"), EN_DE)), "requires a section"));
}

#[test]
fn profiles_can_require_text_to_say_its_source() {
    let v = profile_with(SOURCE_CONTROL, "warning");
    let div = r#"Loose<h1 class="boilerplate">Heading</h1><p>Unlabelled</p><p class="generated">From data</p><p class="original">Typed</p>"#;
    let found = issues_with(&v, &profiled(None, div));
    let source: Vec<&Issue> = found.iter().filter(|i| i.message.contains("does not have a class attribute to indicate its source")).collect();
    assert_eq!(source.len(), 2, "{found:#?}");
    assert!(has(&found, Severity::Error, "Patient.text", "The xhtml node at 'Loose' does not have a class attribute"));
    assert!(has(&found, Severity::Error, "Patient.text", "The xhtml node at 'Unlabelled' does not have a class attribute"));
    let labelled = r#"<p class="generated">All <b>of it</b></p>"#;
    assert!(none_containing(&issues_with(&v, &profiled(None, labelled)), "class attribute"));
}

#[test]
fn internal_hyperlinks_must_resolve() {
    let good = r##"<a name="top"> </a><p id="para">x</p><a href="#top">up</a><a href="#para">p</a><a href="#dev">device</a>"##;
    let json = patient(None, good).replacen(r#""id":"p1","#, r#""id":"p1","contained":[{"resourceType":"Device","id":"dev"}],"#, 1);
    let found = issues(&json);
    assert!(none_containing(&found, "Hyperlink"), "{found:#?}");

    // A fragment that cannot be an id never resolves: an error.
    let found = issues(&patient(None, r##"<a name="hcX"> </a><a href="#hcX/Other">Other</a>"##));
    assert!(has(&found, Severity::Error, "Patient.text.div", "Hyperlink '#hcX/Other' at 'div/a' for 'Other' does not resolve"), "{found:#?}");
    // A well-formed one that misses is a warning (it may point into content rendered alongside).
    let found = issues(&patient(None, r##"<table><tr><td><a href="#NAV">NAV</a></td></tr></table>"##));
    assert!(has(&found, Severity::Warning, "Patient.text.div", "Hyperlink '#NAV' at 'div/table/tr/td/a' for 'NAV' does not resolve"), "{found:#?}");
}

fn document(links: &[&str]) -> String {
    let links: Vec<String> = links.iter().map(|u| format!(r#"{{"relation":"stylesheet","url":"{u}"}}"#)).collect();
    format!(
        r#"{{"resourceType":"Bundle","id":"d1","identifier":{{"system":"http://example.org","value":"1"}},"type":"document","timestamp":"2024-01-01T00:00:00Z",
        "link":[{}],
        "entry":[
          {{"fullUrl":"http://example.org/fhir/Composition/c1","resource":{{"resourceType":"Composition","id":"c1","status":"final","type":{{"text":"doc"}},
             "date":"2024-01-01","author":[{{"display":"me"}}],"title":"Doc"}}}},
          {{"fullUrl":"http://example.org/fhir/Binary/css","resource":{{"resourceType":"Binary","id":"css","contentType":"text/css","data":"aSB7fQ=="}}}}
        ]}}"#,
        links.join(",")
    )
}

#[test]
fn document_stylesheets_resolve_in_the_bundle_or_are_the_fhir_one() {
    let found = issues(&document(&["Binary/css", "https://hl7.org/fhir/fhir.css"]));
    assert!(!found.iter().any(|i| i.severity.is_error()), "{found:#?}");
    assert!(none_containing(&found, "tylesheet"), "{found:#?}");

    let found = issues(&document(&["Binary/css", "Binary/missing", "http://example.org/site.css"]));
    assert!(has(&found, Severity::Error, "Bundle.link[1].url", "The stylesheet reference could not be resolved in this bundle"), "{found:#?}");
    assert!(has(&found, Severity::Warning, "Bundle.link[2].url", "External Stylesheets other than https://hl7.org/fhir/fhir.css SHOULD not be used"));
    assert!(has(&found, Severity::Warning, "Bundle.link[2].url", "The stylesheet reference is not secure"));

    // Without a link to it, the stylesheet's entry is unreachable from the Composition.
    let found = issues(&document(&[]));
    assert!(has(&found, Severity::Error, "Bundle.entry[1]", "isn't reachable by traversing links"), "{found:#?}");
}

/// Language_XHTML_Lang_Missing1/2/3 and Language_XHTML_Lang_Different2: a
/// resource with a language asks its narrative for both `lang` and
/// `xml:lang`, on the root `div` (or on its first language section when it
/// holds nothing else).
fn with_root(lang: &str, attributes: &str) -> String {
    format!(
        r#"{{"resourceType":"Patient","id":"p1","language":"{lang}","text":{{"status":"additional","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"{attributes}>Hello</div>"}}}}"#
    )
}

#[test]
fn language_xhtml_lang_missing_and_different() {
    let none = issues(&with_root("en", ""));
    assert!(has(&none, Severity::Warning, "Patient", "the XHTML does not have an lang or an xml:lang tag (needs both"), "{none:#?}");
    let no_lang = issues(&with_root("en", r#" xml:lang=\"en\""#));
    assert!(has(&no_lang, Severity::Warning, "Patient", "the XHTML does not have a lang tag (needs both lang and xml:lang"), "{no_lang:#?}");
    let no_xml_lang = issues(&with_root("en", r#" lang=\"en\""#));
    assert!(has(&no_xml_lang, Severity::Warning, "Patient", "the XHTML does not have an xml:lang tag (needs both lang and xml:lang"), "{no_xml_lang:#?}");
    let differs = issues(&with_root("en", r#" lang=\"en\" xml:lang=\"fr\""#));
    assert!(has(&differs, Severity::Warning, "Patient", "Resource has a language (en), and the XHTML has an xml:lang (fr), but they differ"), "{differs:#?}");
    let both = issues(&with_root("en", r#" lang=\"en\" xml:lang=\"en\""#));
    assert!(none_containing(&both, "XHTML"), "{both:#?}");
    // Sections only: the first one is asked.
    assert!(none_containing(&issues(&patient(Some("en"), EN_DE)), "does not have"));
}

// ---------- language control, one rule each ----------

const NARR: &str = "StructureDefinition[http://example.org/sd/narr]";

#[test]
fn xhtml_control_langs_required() {
    let v = profile_with(LANG_CONTROL, "_yes");
    let found = issues_with(&v, &profiled(Some("en"), "Just text"));
    let msg = format!("The xhtml has no language sections, but language sections are required in this context by the profile {NARR}");
    assert!(has(&found, Severity::Error, "Patient.text", &msg), "{found:#?}");
}

#[test]
fn xhtml_control_langs_none() {
    let v = profile_with(LANG_CONTROL, "_resource");
    let found = issues_with(&v, &profiled(Some("en"), "Just text"));
    let msg = format!("The profile {NARR} requires a section in the narrative for the resource language en, but there is no sections");
    assert!(has(&found, Severity::Warning, "Patient.text", &msg), "{found:#?}");
}

#[test]
fn xhtml_control_langs_none_no_default() {
    let v = profile_with(LANG_CONTROL, "_resource");
    let found = issues_with(&v, &profiled(None, "Just text"));
    let msg = format!("The profile {NARR} requires a section in the narrative for the resource language, but there is no sections and no resource language");
    assert!(has(&found, Severity::Warning, "Patient.text", &msg), "{found:#?}");
}

#[test]
fn xhtml_control_langs_no_default() {
    let v = profile_with(LANG_CONTROL, "_resource");
    let found = issues_with(&v, &profiled(None, EN_DE));
    let msg = format!("The profile {NARR} requires a section in the narrative for the resource language, but there is no language");
    assert!(has(&found, Severity::Warning, "Patient.text", &msg), "{found:#?}");
}

#[test]
fn xhtml_control_langs_none2() {
    let v = profile_with(LANG_CONTROL, "fr");
    let found = issues_with(&v, &profiled(None, "Just text"));
    let msg = format!("The profile {NARR} requires a section in the narrative for the language fr, but there is no sections");
    assert!(has(&found, Severity::Warning, "Patient.text", &msg), "{found:#?}");
}

#[test]
fn xhtml_control_langs_required_lang() {
    let v = profile_with(LANG_CONTROL, "fr");
    let found = issues_with(&v, &profiled(None, EN_DE));
    let msg = format!("The profile {NARR} requires a section in the narrative for the language 'fr', but it was not found (found de, en)");
    assert!(has(&found, Severity::Error, "Patient.text", &msg), "{found:#?}");
}

// ---------- the resource's language against the narrative's ----------

const SEE: &str = "see https://www.w3.org/TR/i18n-html-tech-lang/#langvalues";

#[test]
fn language_xhtml_lang_missing1() {
    let found = issues(&patient(Some("en"), "<p>Hello</p>"));
    let msg = format!("Resource has a language, but the XHTML does not have an lang or an xml:lang tag (needs both - {SEE})");
    assert!(found.iter().any(|i| i.severity == Severity::Warning && i.expression == "Patient" && i.message == msg), "{found:#?}");
}

fn patient_root_lang(attrs: &str) -> String {
    format!(r#"{{"resourceType":"Patient","id":"p1","language":"en","text":{{"status":"additional","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\" {attrs}>Hello</div>"}}}}"#)
}

#[test]
fn language_xhtml_lang_missing2() {
    let found = issues(&patient_root_lang(r#"xml:lang=\"en\""#));
    let msg = format!("Resource has a language, but the XHTML does not have a lang tag (needs both lang and xml:lang - {SEE})");
    assert!(found.iter().any(|i| i.severity == Severity::Warning && i.expression == "Patient" && i.message == msg), "{found:#?}");
}

#[test]
fn language_xhtml_lang_missing3() {
    let found = issues(&patient_root_lang(r#"lang=\"en\""#));
    let msg = format!("Resource has a language, but the XHTML does not have an xml:lang tag (needs both lang and xml:lang - {SEE})");
    assert!(found.iter().any(|i| i.severity == Severity::Warning && i.expression == "Patient" && i.message == msg), "{found:#?}");
}

// ---------- hyperlinks and images ----------

fn one(found: &[Issue], severity: Severity, message: &str) {
    let n = found.iter().filter(|i| i.severity == severity && i.code == careplan::issue::IssueCode::Invalid && i.expression == "Patient.text.div" && i.message == message).count();
    assert_eq!(n, 1, "wanted {severity:?} {message}\n{found:#?}");
}

#[test]
fn xhtml_empty_href() {
    one(&issues(&patient(None, r#"<a href="">here</a>"#)), Severity::Error, "Hyperlink at 'div/a' for 'here' is empty");
}

#[test]
fn xhtml_active_href() {
    one(
        &issues(&patient(None, r#"<p><a href="vbscript:run()">run</a></p>"#)),
        Severity::Error,
        "Hyperlink scheme 'vbscript' in 'vbscript:run()' at 'div/p/a' for 'run' has active content, which is a security risk and not allowed",
    );
}

#[test]
fn xhtml_literal_href() {
    one(
        &issues(&patient(None, r#"<a href="urn:oid:1.2.3">oid</a>"#)),
        Severity::Error,
        "Hyperlink scheme 'urn' in 'urn:oid:1.2.3' at 'div/a' for 'oid' is not a valid hyperlinkable scheme",
    );
}

#[test]
fn xhtml_unknown_href() {
    one(
        &issues(&patient(None, r#"<a href="ftp://example.org/f">file</a>"#)),
        Severity::Information,
        "Hyperlink scheme 'ftp' in 'ftp://example.org/f' at 'div/a' for 'file' is not a widely supported protocol and should be checked",
    );
    assert!(none_containing(&issues(&patient(None, r#"<a href="https://example.org/">web</a><a href="mailto:a@example.org">mail</a>"#)), "Hyperlink scheme"));
}

#[test]
fn xhtml_multiple_matches() {
    let found = issues(&patient(None, r##"<p id="a">x</p><p id="a">y</p><a href="#a">dup</a>"##));
    let i = found.iter().find(|i| i.message.starts_with("Hyperlink '#a' at 'div/a' for 'dup' resolves to multiple targets (")).expect("the warning");
    assert_eq!((i.severity, i.code, i.expression.as_str()), (Severity::Warning, careplan::issue::IssueCode::Invalid, "Patient.text.div"));
}

#[test]
fn xhtml_image_source_does_not_resolve() {
    one(&issues(&patient(None, r##"<p>x</p><img src="#missing"/>"##)), Severity::Error, "Image source '#missing' at 'div/img' does not resolve");
    assert!(none_containing(&issues(&patient(None, r##"<p>x</p><img src="#p1"/>"##)), "Image source"));
}

// ---------- textLink extensions ----------

const TEXT_LINK: &str = "http://hl7.org/fhir/StructureDefinition/textLink";

fn linked(div: Option<&str>, links: serde_json::Value) -> Vec<Issue> {
    let mut text = serde_json::json!({"status": "generated", "extension": links});
    if let Some(d) = div {
        text["div"] = serde_json::json!(format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{d}</div>"));
    }
    let patient = serde_json::json!({"resourceType": "Patient", "id": "p", "name": [{"id": "n1", "family": "X"}],
        "telecom": [{"id": "t", "system": "phone", "value": "1"}, {"id": "t", "system": "phone", "value": "2"}], "text": text});
    issues(&patient.to_string())
}

fn link(parts: serde_json::Value) -> serde_json::Value {
    serde_json::json!([{"url": TEXT_LINK, "extension": parts}])
}

fn text_error(found: &[Issue], code: careplan::issue::IssueCode, message: &str) {
    let n = found.iter().filter(|i| i.severity == Severity::Error && i.code == code && i.expression == "Patient.text" && i.message == message).count();
    assert_eq!(n, 1, "wanted {message}\n{found:#?}");
}

const DIV: &str = r#"<p id="h1">X</p>"#;

#[test]
fn text_link_no_div() {
    let found = linked(None, link(serde_json::json!([{"url": "htmlid", "valueString": "h1"}, {"url": "data", "valueUri": "#n1"}])));
    text_error(&found, careplan::issue::IssueCode::Structure, "A textLink extension was found, but there was no xhtml element present for that targets of the html references");
}

#[test]
fn text_link_no_id() {
    let found = linked(Some(DIV), link(serde_json::json!([{"url": "htmlid", "valueString": "nope"}, {"url": "data", "valueUri": "#n1"}])));
    text_error(&found, careplan::issue::IssueCode::Structure, "The html id 'nope' was not found in the xhtml");
}

#[test]
fn text_link_no_data() {
    let found = linked(Some(DIV), link(serde_json::json!([{"url": "htmlid", "valueString": "h1"}])));
    text_error(&found, careplan::issue::IssueCode::Structure, "No data element was found in the textLink extension");
}

#[test]
fn text_link_data_not_found() {
    let found = linked(Some(DIV), link(serde_json::json!([{"url": "htmlid", "valueString": "h1"}, {"url": "data", "valueUri": "#zz"}])));
    text_error(&found, careplan::issue::IssueCode::NotFound, "The target of the textLink data reference '#zz' was not found in the resource");
    let fine = linked(Some(DIV), link(serde_json::json!([{"url": "htmlid", "valueString": "h1"}, {"url": "data", "valueUri": "#n1"}])));
    assert!(none_containing(&fine, "textLink"), "{fine:#?}");
}

#[test]
fn text_link_data_multiple_matches() {
    let found = linked(Some(DIV), link(serde_json::json!([{"url": "htmlid", "valueString": "h1"}, {"url": "data", "valueUri": "#t"}])));
    text_error(&found, careplan::issue::IssueCode::Invalid, "Multiple matching targets for the textLink data reference '#t' were found in the resource");
}

#[test]
fn text_link_selector_invalid() {
    let found = linked(Some(DIV), link(serde_json::json!([{"url": "htmlid", "valueString": "h1"}, {"url": "data", "valueUri": "#n1"}, {"url": "selector", "valueString": "name.("}])));
    let i = found.iter().find(|i| i.message.starts_with("The textLink selector 'name.(' is invalid: ")).expect("the selector error");
    assert_eq!((i.severity, i.code, i.expression.as_str()), (Severity::Error, careplan::issue::IssueCode::Invalid, "Patient.text"));
}

/// A data reference by URL names a resource of the Bundle around: alone, a
/// resource cannot say it is missing (this is how a Bundle's slices check
/// each entry against its profile), inside a Bundle that lacks it, it can.
#[test]
fn text_link_data_by_url_is_looked_for_in_the_bundle_around() {
    let parts = serde_json::json!([{"url": "htmlid", "valueString": "h1"}, {"url": "data", "valueUri": "https://x.test/fhir/Condition/c1"}]);
    let alone = linked(Some(DIV), link(parts.clone()));
    assert!(none_containing(&alone, "textLink"), "{alone:#?}");
    let text = serde_json::json!({"status": "generated", "extension": link(parts), "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{DIV}</div>")});
    let patient = serde_json::json!({"resourceType": "Patient", "id": "p", "text": text});
    let condition = |id: &str| serde_json::json!({"resourceType": "Condition", "id": id, "subject": {"reference": "Patient/p"}});
    let bundle = |id: &str| serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "https://x.test/fhir/Patient/p", "resource": patient},
        {"fullUrl": format!("https://x.test/fhir/Condition/{id}"), "resource": condition(id)}]});
    let missing = issues(&bundle("c2").to_string());
    let not_found: Vec<&Issue> = missing.iter().filter(|i| i.message == "The target of the textLink data reference 'https://x.test/fhir/Condition/c1' was not found in the resource").collect();
    assert_eq!(not_found.len(), 1, "{missing:#?}");
    assert_eq!((not_found[0].severity, not_found[0].expression.as_str()), (Severity::Error, "Bundle.entry[0].resource.text"));
    let found = issues(&bundle("c1").to_string());
    assert!(none_containing(&found, "textLink"), "{found:#?}");
}
