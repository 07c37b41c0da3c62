//! Findings of the thirty-second red-team pass
//! (docs/security/redteam-thirty-second-pass-2026-12-06.md), each shown on
//! an input of the reported shape, with the answer still right.

use super::*;

fn search_parameter(expression: &str) -> Value {
    json!({"resourceType": "SearchParameter", "url": "http://x.test/sp", "name": "x", "status": "draft", "description": "d",
        "code": "x", "base": ["Patient"], "type": "string", "expression": expression})
}

/// X1: nested operator chains made a tree tens of thousands deep, and the
/// walks after parsing recursed into it until the stack ran out. The tree's
/// depth is now measured, without recursion, before anything walks it.
#[test]
fn x1_an_expression_nested_past_the_limit_is_refused_not_walked() {
    let chain = |n: usize| std::iter::repeat_n("'a'", n).collect::<Vec<_>>().join(" + ");
    // Two 999-operator chains nested: the shape that aborted the server.
    let deep = format!("({}) + ({})", chain(999), chain(999));
    let refused = careplan::fhirpath::parse(&deep).expect_err("a tree deeper than the limit is refused");
    assert!(refused.message.contains("nested too deeply"), "{refused:?}");
    let found = common::issues_with(&[], &search_parameter(&deep));
    assert!(found.iter().any(|i| i.message.contains("nested too deeply")), "{:#?}", &found[..found.len().min(8)]);
    // Within the limit, the same shape parses and evaluates.
    let within = careplan::fhirpath::parse(&chain(200)).expect("200 operators in a chain parse");
    drop(within);
    let dir = tempfile::tempdir().unwrap();
    let patient = dir.path().join("p.json");
    std::fs::write(&patient, r#"{"resourceType": "Patient"}"#).unwrap();
    let value = common::careplan().args(["fhirpath", &format!("({}).length()", chain(200))]).arg(&patient).output().unwrap();
    assert!(value.status.success(), "{}", String::from_utf8_lossy(&value.stderr));
    assert!(String::from_utf8_lossy(&value.stdout).contains("200"), "{}", String::from_utf8_lossy(&value.stdout));
}

/// X2: each operator node the static check judged rendered its whole
/// subtree (a 1 MB literal each time); what a message quotes is now bounded.
#[test]
fn x2_a_checker_message_quotes_a_bounded_part_of_a_long_expression() {
    let literal = "a".repeat(200_000);
    let tail = std::iter::repeat_n("'b'", 150).collect::<Vec<_>>().join(" & ");
    let found = common::issues_with(&[], &search_parameter(&format!("Patient.name.given & '{literal}' & {tail}")));
    let quoted: Vec<_> = found.iter().filter(|i| i.message.contains("Patient.name.given & 'aaa")).collect();
    assert!(!quoted.is_empty(), "the collection warning is still given: {:#?}", &found[..found.len().min(8)]);
    assert!(quoted.iter().all(|i| i.message.len() < 1_000 && i.message.contains("...")), "{:?}", quoted[0].message.len());
}

/// X3: each textLink naming a Bundle entry collected every entry sharing
/// its fullUrl; now the first and whether there is a second are enough.
#[test]
fn x3_text_links_to_a_fullurl_shared_by_thousands_of_entries_are_each_judged() {
    let (links, entries) = (2_000, 2_000);
    let text_links: Vec<Value> = (0..links)
        .map(|_| json!({"url": "http://hl7.org/fhir/StructureDefinition/textLink", "extension": [{"url": "htmlid", "valueString": "h"}, {"url": "data", "valueUri": "urn:uuid:6c7f3c6e-0e1c-4f7e-9a57-1c4b8a1d2e3f"}]}))
        .collect();
    let mut all = vec![json!({"fullUrl": "urn:uuid:0b5e5c0e-7c55-4c1e-8f0c-2f4d3c2a1b00", "resource": {"resourceType": "Observation", "status": "final", "code": {"text": "c"},
        "text": {"status": "generated", "extension": text_links, "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p id=\"h\">c</p></div>"}}})];
    all.extend((0..entries).map(|_| json!({"fullUrl": "urn:uuid:6c7f3c6e-0e1c-4f7e-9a57-1c4b8a1d2e3f", "resource": {"resourceType": "Basic", "code": {"text": "b"}}})));
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": all});
    let found = common::issues_with(&[], &bundle);
    let multiple = found.iter().filter(|i| i.message.starts_with("Multiple matching targets for the textLink data reference")).count();
    assert!(multiple >= 1, "{:#?}", &found[..found.len().min(8)]);
    assert!(!found.iter().any(|i| i.message.contains("textLink data reference") && i.message.contains("was not found")));
}

/// X4: every link to an ambiguous anchor held ten paths as long as the
/// narrative is deep; a path a message quotes is now its last part.
#[test]
fn x4_deep_anchors_are_quoted_by_the_end_of_their_paths() {
    let depth = 400;
    let anchors = format!("{}<a name=\"x\">1</a><a name=\"x\">2</a>{}", "<span>".repeat(depth), "</span>".repeat(depth));
    let links = "<a href=\"#x\">x</a>".repeat(2_000);
    let div = format!("<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>{anchors}</p><p>{links}</p></div>");
    let obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "c"}, "text": {"status": "generated", "div": div}});
    let found = common::issues_with(&[], &obs);
    let ambiguous: Vec<_> = found.iter().filter(|i| i.message.contains("resolves to multiple targets")).collect();
    assert!(!ambiguous.is_empty(), "{:#?}", &found[..found.len().min(8)]);
    assert!(ambiguous.iter().all(|i| i.message.len() < 1_000), "{}", ambiguous[0].message.len());
    assert!(ambiguous[0].message.contains("(.../span/") && ambiguous[0].message.contains("/a/@name"), "{}", ambiguous[0].message);
}
