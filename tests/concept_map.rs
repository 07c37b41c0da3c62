//! ConceptMap rules (`src/validator/rules/concept_map.rs`), one test per
//! rule, each on a small ConceptMap made for it (R4: `equivalence`).

mod common;

use common::{has, issues_with};

use careplan::issue::{Issue, Severity};
use serde_json::{json, Value};

fn mentions(issues: &[Issue], fragment: &str) -> bool {
    issues.iter().any(|i| i.message.contains(fragment))
}

const SRC: &str = "http://example.org/CodeSystem/src";
const TGT: &str = "http://example.org/CodeSystem/tgt";

fn system(url: &str, content: &str, codes: &[(&str, &str)]) -> Value {
    let concepts: Vec<Value> = codes.iter().map(|(c, d)| json!({"code": c, "display": d, "designation": [{"language": "fr", "value": format!("{d} (fr)")}]})).collect();
    json!({"resourceType": "CodeSystem", "url": url, "version": "1", "name": "S", "status": "draft", "content": content, "caseSensitive": true, "concept": concepts})
}

fn systems() -> Vec<Value> {
    vec![
        system(SRC, "complete", &[("a", "Alpha"), ("b", "Beta")]),
        system(TGT, "complete", &[("x", "Ex"), ("y", "Why")]),
        json!({"resourceType": "ValueSet", "url": "http://example.org/ValueSet/src-a", "version": "1", "status": "draft",
            "compose": {"include": [{"system": SRC, "concept": [{"code": "a"}]}]}}),
        json!({"resourceType": "ValueSet", "url": "http://example.org/ValueSet/tgt-x", "version": "1", "status": "draft",
            "compose": {"include": [{"system": TGT, "concept": [{"code": "x"}]}]}}),
    ]
}

/// A map from `SRC` to `TGT` with `elements` in its one group, and `overrides` on the group.
fn map(group: Value) -> Value {
    let mut g = json!({"source": SRC, "target": TGT, "element": [{"code": "a", "display": "Alpha", "target": [{"code": "x", "display": "Ex", "equivalence": "equivalent"}]}]});
    for (k, v) in group.as_object().unwrap() {
        if v.is_null() {
            g.as_object_mut().unwrap().remove(k);
        } else {
            g[k] = v.clone();
        }
    }
    json!({"resourceType": "ConceptMap", "url": "http://example.org/ConceptMap/m", "version": "1", "name": "M", "status": "draft", "group": [g]})
}

fn check(group: Value) -> Vec<Issue> {
    issues_with(&systems(), &map(group))
}

const GROUP: &str = "ConceptMap.group[0]";

#[test]
fn a_well_formed_concept_map_raises_no_errors() {
    let mut cm = map(json!({}));
    cm["sourceCanonical"] = json!("http://example.org/ValueSet/src-a");
    cm["targetCanonical"] = json!("http://example.org/ValueSet/tgt-x");
    let found = issues_with(&systems(), &cm);
    assert!(!found.iter().any(|i| i.severity.is_error()), "{found:#?}");
    assert!(!found.iter().any(|i| i.severity == Severity::Warning && !i.message.contains("dom-6")), "{found:#?}");
}

#[test]
fn conceptmap_group_source_missing() {
    let found = check(json!({"source": null}));
    assert!(has(&found, Severity::Warning, GROUP, "No Source Code System, so the source codes cannot be checked"), "{found:#?}");
    assert!(!mentions(&check(json!({})), "No Source Code System"));
}

#[test]
fn conceptmap_group_target_missing() {
    let found = check(json!({"target": null}));
    assert!(has(&found, Severity::Warning, GROUP, "No Target Code System, so the target codes cannot be checked"), "{found:#?}");
}

#[test]
fn conceptmap_group_source_unknown() {
    let found = check(json!({"source": "http://example.org/CodeSystem/nowhere"}));
    assert!(has(&found, Severity::Warning, "ConceptMap.group[0].source", "The Source Code System http://example.org/CodeSystem/nowhere is not fully defined and populated, and no sourceScope is specified"), "{found:#?}");
    assert!(!found.iter().any(|i| i.severity.is_error()), "{found:#?}");
    let mut scoped = map(json!({"source": "http://example.org/CodeSystem/nowhere"}));
    scoped["sourceUri"] = json!("http://example.org/ValueSet/src-a");
    assert!(!mentions(&issues_with(&systems(), &scoped), "no sourceScope is specified"));
}

#[test]
fn conceptmap_group_target_unknown() {
    let found = check(json!({"target": "http://example.org/CodeSystem/nowhere"}));
    assert!(has(&found, Severity::Warning, "ConceptMap.group[0].target", "The Target Code System http://example.org/CodeSystem/nowhere is not fully defined and populated, and no targetScope is specified"), "{found:#?}");
}

#[test]
fn conceptmap_group_source_incomplete() {
    let mut defs = systems();
    defs[0]["content"] = json!("fragment");
    let found = issues_with(&defs, &map(json!({"element": [{"code": "zz", "target": [{"code": "x", "equivalence": "equivalent"}]}]})));
    assert!(has(&found, Severity::Warning, "ConceptMap.group[0].source", &format!("Source Code System {SRC} doesn't have all content (content = fragment), so the source codes cannot be checked")), "{found:#?}");
    assert!(!mentions(&found, "is not valid in the code system"), "{found:#?}");
}

#[test]
fn conceptmap_group_target_incomplete() {
    let mut defs = systems();
    defs[1]["content"] = json!("example");
    let found = issues_with(&defs, &map(json!({})));
    assert!(has(&found, Severity::Warning, "ConceptMap.group[0].target", "(content = example), so the target codes cannot be checked"), "{found:#?}");
}

#[test]
fn conceptmap_group_source_server_side() {
    let mut defs = systems();
    defs.push(json!({"resourceType": "CodeSystem", "url": "http://loinc.org", "status": "active", "content": "not-present"}));
    let found = issues_with(&defs, &map(json!({"source": "http://loinc.org", "element": [{"code": "1234-5", "target": [{"code": "x", "equivalence": "equivalent"}]}]})));
    assert!(has(&found, Severity::Information, "ConceptMap.group[0].source", "Source Code System http://loinc.org is only supported on the terminology server"), "{found:#?}");
}

#[test]
fn conceptmap_group_target_server_side() {
    let mut defs = systems();
    defs.push(json!({"resourceType": "CodeSystem", "url": "http://loinc.org", "status": "active", "content": "not-present"}));
    let found = issues_with(&defs, &map(json!({"target": "http://loinc.org", "element": [{"code": "a", "target": [{"code": "1234-5", "equivalence": "equivalent"}]}]})));
    assert!(has(&found, Severity::Information, "ConceptMap.group[0].target", "Target Code System http://loinc.org is only supported on the terminology server"), "{found:#?}");
}

#[test]
fn conceptmap_group_source_code_invalid() {
    let found = check(json!({"element": [{"code": "zz", "target": [{"code": "x", "equivalence": "equivalent"}]}]}));
    assert!(has(&found, Severity::Error, "ConceptMap.group[0].element[0].code", &format!("The source code 'zz' is not valid in the code system {SRC}|1")), "{found:#?}");
    assert!(!mentions(&check(json!({})), "is not valid in the code system"));
}

#[test]
fn conceptmap_group_target_code_invalid() {
    let found = check(json!({"element": [{"code": "a", "target": [{"code": "zz", "equivalence": "equivalent"}]}]}));
    assert!(has(&found, Severity::Error, "ConceptMap.group[0].element[0].target[0].code", &format!("The target code 'zz' is not valid in the code system {TGT}|1")), "{found:#?}");
}

#[test]
fn conceptmap_group_source_display_invalid() {
    let found = check(json!({"element": [{"code": "a", "display": "Beta", "target": [{"code": "x", "equivalence": "equivalent"}]}]}));
    assert!(has(&found, Severity::Warning, "ConceptMap.group[0].element[0].code", &format!("The source display 'Beta' for the code '{SRC}|1#a' is not valid. Possible displays: 'Alpha', 'Alpha (fr)'")), "{found:#?}");
    let fine = check(json!({"element": [{"code": "a", "display": "alpha (FR)", "target": [{"code": "x", "equivalence": "equivalent"}]}]}));
    assert!(!mentions(&fine, "display"), "{fine:#?}");
}

#[test]
fn conceptmap_group_target_display_invalid() {
    let found = check(json!({"element": [{"code": "a", "target": [{"code": "x", "display": "Why", "equivalence": "equivalent"}]}]}));
    assert!(has(&found, Severity::Warning, "ConceptMap.group[0].element[0].target[0].code", "The target display 'Why' for the code"), "{found:#?}");
}

#[test]
fn conceptmap_group_source_code_invalid_vs() {
    let mut cm = map(json!({"element": [{"code": "b", "target": [{"code": "x", "equivalence": "equivalent"}]}]}));
    cm["sourceCanonical"] = json!("http://example.org/ValueSet/src-a");
    let found = issues_with(&systems(), &cm);
    assert!(has(&found, Severity::Error, "ConceptMap.group[0].element[0].code", "The source code 'b' is not valid in the value set http://example.org/ValueSet/src-a|1"), "{found:#?}");
}

#[test]
fn conceptmap_group_target_code_invalid_vs() {
    let mut cm = map(json!({"element": [{"code": "a", "target": [{"code": "y", "equivalence": "equivalent"}]}]}));
    cm["targetCanonical"] = json!("http://example.org/ValueSet/tgt-x");
    let found = issues_with(&systems(), &cm);
    // The reference cites the target code system here.
    assert!(has(&found, Severity::Error, "ConceptMap.group[0].element[0].target[0].code", &format!("The target code 'y' is not valid in the value set {TGT}|1")), "{found:#?}");
}

#[test]
fn conceptmap_group_source_code_cant_check() {
    let mut defs = systems();
    // A value set that cannot be expanded here (its compose is not one careplan reads).
    defs.push(json!({"resourceType": "ValueSet", "url": "http://example.org/ValueSet/unreadable", "status": "draft", "compose": {"include": {"system": SRC}}}));
    let mut cm = map(json!({}));
    cm["sourceCanonical"] = json!("http://example.org/ValueSet/unreadable");
    let found = issues_with(&defs, &cm);
    assert!(has(&found, Severity::Warning, "ConceptMap.group[0].element[0].code", &format!("The source code 'a' in the code system {SRC}|1 cannot be checked")), "{found:#?}");
}

#[test]
fn conceptmap_vs_not_a_vs() {
    let mut cm = map(json!({}));
    cm["sourceCanonical"] = json!(SRC);
    let found = issues_with(&systems(), &cm);
    assert!(has(&found, Severity::Error, "ConceptMap.source", "Reference must be to a ValueSet, but found a CodeSystem instead"), "{found:#?}");
}

#[test]
fn conceptmap_vs_invalid_concept_code() {
    let mut cm = map(json!({"source": "http://example.org/CodeSystem/nowhere", "element": [{"code": "q", "target": [{"code": "x", "equivalence": "equivalent"}]}]}));
    cm["sourceCanonical"] = json!("http://example.org/ValueSet/src-a");
    let found = issues_with(&systems(), &cm);
    assert!(has(&found, Severity::Error, "ConceptMap.group[0].element[0].code", "The code 'q' in the system http://example.org/CodeSystem/nowhere is not valid in the value set"), "{found:#?}");
}

#[test]
fn conceptmap_vs_invalid_concept_code_ver() {
    let mut cm = map(json!({"source": "http://example.org/CodeSystem/nowhere", "sourceVersion": "2", "element": [{"code": "q", "target": [{"code": "x", "equivalence": "equivalent"}]}]}));
    cm["sourceCanonical"] = json!("http://example.org/ValueSet/src-a");
    let found = issues_with(&systems(), &cm);
    assert!(has(&found, Severity::Error, "ConceptMap.group[0].element[0].code", "The code 'q' in the system http://example.org/CodeSystem/nowhere version 2 is not valid in the value set"), "{found:#?}");
}

#[test]
fn conceptmap_group_target_duplication() {
    let found = check(json!({"element": [{"code": "a", "target": [{"code": "x", "equivalence": "equivalent"}, {"code": "x", "equivalence": "wider"}]}]}));
    assert!(has(&found, Severity::Warning, "ConceptMap.group[0].element[0].target[1]", "relationship has already been defined from the code a to the code x"), "{found:#?}");
    let fine = check(json!({"element": [{"code": "a", "target": [{"code": "x", "equivalence": "equivalent"}, {"code": "y", "equivalence": "wider"}]}]}));
    assert!(!mentions(&fine, "has already been defined"), "{fine:#?}");
}

#[test]
fn conceptmap_group_target_duplication_different() {
    let found = check(json!({"element": [{"code": "a", "target": [{"equivalence": "unmatched"}, {"code": "x", "equivalence": "equivalent"}]}]}));
    assert!(has(&found, Severity::Warning, "ConceptMap.group[0].element[0].target[1]", "A equivalent relationship has already been defined from the code a to the code x, but this defines a new relationship unmatched"), "{found:#?}");
}

#[test]
fn conceptmap_vs_too_many_codes() {
    let elements: Vec<Value> = (0..1001).map(|i| json!({"code": format!("q{i}"), "target": [{"code": "x", "equivalence": "equivalent"}]})).collect();
    let mut cm = map(json!({"source": "http://example.org/CodeSystem/nowhere", "element": elements}));
    cm["sourceCanonical"] = json!("http://example.org/ValueSet/src-a");
    let found = issues_with(&systems(), &cm);
    assert!(has(&found, Severity::Information, "ConceptMap", "The concept map has too many codes to validate (1001, more than the limit of 1000)"), "{:#?}", &found[..found.len().min(5)]);
    assert!(!mentions(&found, "is not valid in the value set"));
}
