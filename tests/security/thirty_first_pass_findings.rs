//! Findings of the thirty-first red-team pass
//! (docs/security/redteam-thirty-first-pass-2026-12-06.md), each shown on
//! an input of the reported shape, with the answer still right.

use super::*;

const TEXT_LINK: &str = "http://hl7.org/fhir/StructureDefinition/textLink";

fn text_link(htmlid: &str, data: &str) -> Value {
    json!({"url": TEXT_LINK, "extension": [{"url": "htmlid", "valueString": htmlid}, {"url": "data", "valueUri": data}]})
}

/// W1: each textLink searched the whole narrative for its html id and the
/// whole resource for its data; both are now read once per narrative.
#[test]
fn w1_thousands_of_text_links_are_each_resolved() {
    let n = 6_000;
    let mut links: Vec<Value> = (0..n).map(|_| text_link("h", "#x")).collect();
    links.push(text_link("h", "#nowhere"));
    links.push(text_link("gone", "#x"));
    let obs = json!({"resourceType": "Observation", "status": "final", "code": {"id": "x", "text": "c"},
        "text": {"status": "generated", "extension": links, "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p id=\"h\">c</p></div>"}});
    let found = common::issues_with(&[], &obs);
    let said = |m: &str| found.iter().filter(|i| i.message == m).count();
    assert_eq!(said("The target of the textLink data reference '#nowhere' was not found in the resource"), 1, "{:#?}", &found[..found.len().min(8)]);
    assert_eq!(said("The html id 'gone' was not found in the xhtml"), 1, "{:#?}", &found[..found.len().min(8)]);
    assert_eq!(found.iter().filter(|i| i.message.contains("textLink") || i.message.contains("html id")).count(), 2);
}

/// W2: every link to an anchor name used thousands of times carried the
/// path of every such anchor; the warning now names the first ten.
#[test]
fn w2_a_link_to_a_much_repeated_anchor_names_a_few_of_them() {
    let n = 3_000;
    let div = format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{}{}</div>", "<p id=\"x\">p</p>".repeat(n), "<a href=\"#x\">a</a>".repeat(n));
    let obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "c"}, "text": {"status": "generated", "div": div}});
    let found = common::issues_with(&[], &obs);
    let ambiguous: Vec<_> = found.iter().filter(|i| i.message.contains("and 2990 more")).collect();
    assert!(!ambiguous.is_empty(), "{:#?}", &found[..found.len().min(8)]);
    assert!(found.iter().all(|i| i.message.len() < 4_000), "a message names every anchor");
}

/// W3: each compliesWithProfile claim converted the profile and made its
/// snapshot again; a claim named again is judged once, and the profile's
/// own snapshot is made once.
#[test]
fn w3_a_claim_named_thousands_of_times_is_judged_once() {
    let n = 3_000;
    let claims: Vec<Value> = (0..n)
        .map(|_| json!({"url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-compliesWithProfile", "valueCanonical": "http://hl7.org/fhir/StructureDefinition/Observation"}))
        .collect();
    let sd = json!({"resourceType": "StructureDefinition", "url": "http://x.test/sd", "name": "X", "status": "draft", "kind": "resource", "abstract": false,
        "type": "Patient", "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient", "derivation": "constraint", "extension": claims,
        "differential": {"element": [{"id": "Patient", "path": "Patient"}]}});
    let found = common::issues_with(&[], &sd);
    let wrong_type: Vec<_> = found.iter().filter(|i| i.message.contains("does not comply with claimed profile")).collect();
    assert_eq!(wrong_type.len(), 1, "{:#?}", &found[..found.len().min(8)]);
    assert!(wrong_type[0].message.contains("The type found in the claimed profile is 'Patient' not 'Observation'"), "{:?}", wrong_type[0]);
}

/// W4: the static check of an expression found a repeated warning by
/// comparing it with every earlier one.
#[test]
fn w4_thousands_of_distinct_checker_warnings_are_each_said_once() {
    let n = 4_000;
    let terms: Vec<String> = (0..n).map(|i| format!("name < {i:05}")).collect();
    let sp = |expression: String| {
        json!({"resourceType": "SearchParameter", "url": "http://x.test/sp", "name": "x", "status": "draft", "description": "d",
            "code": "x", "base": ["Patient"], "type": "number", "expression": expression})
    };
    // Joined as a balanced tree, as the pass did, to stay within the parser's depth.
    fn balanced(mut terms: Vec<String>) -> String {
        while terms.len() > 1 {
            terms = terms.chunks(2).map(|p| if p.len() == 2 { format!("({} or {})", p[0], p[1]) } else { p[0].clone() }).collect();
        }
        terms.pop().unwrap_or_default()
    }
    let distinct = common::issues_with(&[], &sp(balanced(terms)));
    let same = common::issues_with(&[], &sp(balanced(vec!["name < 0".to_string(); n])));
    let inherent = |found: &[careplan::issue::Issue]| found.iter().filter(|i| i.message.starts_with("The left side is inherently a collection")).count();
    assert_eq!(inherent(&same), 1, "{:#?}", &same[..same.len().min(8)]);
    assert!(inherent(&distinct) > 100, "{:#?}", &distinct[..distinct.len().min(8)]);
}
