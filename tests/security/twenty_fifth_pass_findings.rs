//! Findings of the twenty-fifth red-team pass
//! (docs/security/redteam-twenty-fifth-pass-2026-12-06.md), each shown
//! bounded on an input of the reported shape.

use super::*;

fn code_system(url: &str, codes: usize) -> Value {
    let concepts: Vec<Value> = (0..codes).map(|i| json!({"code": format!("c{i}"), "display": format!("Code {i}")})).collect();
    json!({"resourceType": "CodeSystem", "url": url, "version": "1", "status": "active", "content": "complete", "caseSensitive": true, "concept": concepts})
}

/// Q4: a group's source system, of any length, was copied for each of its
/// codes, and the limit on codes counted only after. The codes now share it.
#[test]
fn q4_a_long_group_system_is_shared_by_its_codes() {
    let source = format!("http://x.test/{}", "s".repeat(200_000));
    let vs = json!({"resourceType": "ValueSet", "url": "http://x.test/vs", "status": "active", "compose": {"include": [{"system": source.clone()}]}});
    let elements: Vec<Value> = (0..3_000).map(|i| json!({"code": format!("k{i}"), "target": [{"code": "t", "equivalence": "equivalent"}]})).collect();
    let map = json!({"resourceType": "ConceptMap", "url": "http://x.test/cm", "status": "active", "sourceCanonical": "http://x.test/vs",
        "group": [{"source": source, "element": elements}]});
    let found = common::issues_with(&[vs], &map);
    assert!(found.iter().any(|i| i.message.contains("The concept map has too many codes to validate (3000, more than the limit of 1000)")), "{:#?}", &found[..found.len().min(5)]);
}

/// Q3: the concept index of a large system was built once per group; the
/// groups of a map now share it.
#[test]
fn q3_groups_share_the_concept_index_of_their_system() {
    let cs = code_system("http://x.test/cs/big", 20_000);
    let groups: Vec<Value> = (0..2_000)
        .map(|i| json!({"source": "http://x.test/cs/big", "target": "http://x.test/cs/big", "element": [{"code": format!("missing{i}"), "target": [{"code": "c1", "equivalence": "equivalent"}]}]}))
        .collect();
    let map = json!({"resourceType": "ConceptMap", "url": "http://x.test/cm", "status": "active", "group": groups});
    let found = common::issues_with(&[cs], &map);
    assert_eq!(found.iter().filter(|i| i.message.starts_with("The source code 'missing")).count(), 2_000);
}

/// P4 (left open by the twenty-fourth pass's fix): the source code was
/// hashed once per target; it is now looked up once per element.
#[test]
fn p4_a_long_source_code_is_looked_up_once_per_element() {
    let code = "k".repeat(500_000);
    let targets: Vec<Value> = (0..5_000).map(|i| json!({"code": format!("t{i}"), "equivalence": "equivalent"})).collect();
    let map = json!({"resourceType": "ConceptMap", "url": "http://x.test/cm", "status": "active",
        "group": [{"source": "http://x.test/a", "target": "http://x.test/b", "element": [{"code": code.clone(), "target": targets}, {"code": code, "target": [{"code": "t1", "equivalence": "wider"}]}]}]});
    let found = common::issues_with(&[], &map);
    // The second element maps the same code to t1 again, with another relationship.
    let repeated: Vec<_> = found.iter().filter(|i| i.message.contains("relationship has already been defined")).collect();
    assert_eq!(repeated.len(), 1, "{repeated:#?}");
    assert!(repeated[0].message.len() < 1_000);
}

/// Q1: in a document, every reference to a fullUrl that many entries share
/// linked to each of them; a reference now links to the first.
#[test]
fn q1_shared_full_urls_do_not_multiply_links() {
    let shared = "urn:uuid:00000000-0000-0000-0000-0000000000ff";
    let composition = json!({"resourceType": "Composition", "status": "final", "type": {"text": "t"}, "date": "2024-01-01", "author": [{"display": "a"}], "title": "t",
        "section": [{"title": "s", "entry": [{"reference": shared}]}]});
    let mut entries = vec![json!({"fullUrl": "urn:uuid:00000000-0000-0000-0000-000000000001", "resource": composition})];
    for _ in 0..1_500 {
        entries.push(json!({"fullUrl": shared, "resource": {"resourceType": "Basic", "code": {"text": "b"}}}));
    }
    for i in 0..1_500 {
        entries.push(json!({"fullUrl": format!("urn:uuid:00000000-0000-0000-0001-{i:012}"), "resource": {"resourceType": "Basic", "code": {"text": "r"}, "subject": {"reference": shared}}}));
    }
    let bundle = json!({"resourceType": "Bundle", "type": "document", "timestamp": "2024-01-01T00:00:00Z",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:00000000-0000-0000-0000-0000000000aa"}, "entry": entries});
    let found = common::issues_with(&[], &bundle);
    assert!(found.iter().any(|i| i.message.contains("isn't reachable")), "the entries sharing the fullUrl beyond the first are not reached");
}
