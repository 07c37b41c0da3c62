//! ConceptMap codes whose system (or that version of it) is not loaded,
//! against the map's value set (`src/validator/rules/concept_map.rs`).

mod common;

use common::issues_with;

use careplan::issue::{Issue, IssueCode, Severity};
use serde_json::{json, Value};

const SRC: &str = "http://example.org/CodeSystem/src";
const NOWHERE: &str = "http://example.org/CodeSystem/nowhere";

fn definitions() -> Vec<Value> {
    vec![
        json!({"resourceType": "CodeSystem", "url": SRC, "version": "1", "name": "Src", "status": "draft", "content": "complete",
            "caseSensitive": true, "concept": [{"code": "a", "display": "Alpha"}]}),
        json!({"resourceType": "ValueSet", "url": "http://example.org/ValueSet/nowhere-all", "version": "1", "status": "draft",
            "compose": {"include": [{"system": NOWHERE}]}}),
        json!({"resourceType": "ValueSet", "url": "http://example.org/ValueSet/src-v9", "version": "1", "status": "draft",
            "compose": {"include": [{"system": SRC, "version": "9"}]}}),
    ]
}

fn map(source_value_set: &str, group: Value) -> Value {
    let mut g = json!({"element": [{"code": "q", "target": [{"equivalence": "unmatched"}]}]});
    for (k, v) in group.as_object().unwrap() {
        g[k] = v.clone();
    }
    json!({"resourceType": "ConceptMap", "url": "http://example.org/ConceptMap/m", "version": "1", "name": "M", "status": "draft",
        "sourceCanonical": source_value_set, "group": [g]})
}

fn the_warning<'a>(found: &'a [Issue], starts: &str) -> &'a Issue {
    let hits: Vec<&Issue> = found.iter().filter(|i| i.message.starts_with(starts)).collect();
    assert_eq!(hits.len(), 1, "{found:#?}");
    assert_eq!((hits[0].severity, hits[0].code), (Severity::Warning, IssueCode::BusinessRule), "{:?}", hits[0]);
    assert!(hits[0].expression.starts_with("ConceptMap.group[0].element[0]"), "{:?}", hits[0]);
    hits[0]
}

#[test]
fn conceptmap_vs_concept_code_unknown_system() {
    let found = issues_with(&definitions(), &map("http://example.org/ValueSet/nowhere-all", json!({"source": NOWHERE})));
    let i = the_warning(&found, "The code 'q' comes from the system");
    assert_eq!(
        i.message,
        "The code 'q' comes from the system http://example.org/CodeSystem/nowhere which could not be found, so it's not known whether it's valid in the value set 'null'"
    );
}

#[test]
fn conceptmap_vs_concept_code_unknown_system_version() {
    let found = issues_with(&definitions(), &map("http://example.org/ValueSet/src-v9", json!({"source": SRC, "sourceVersion": "9"})));
    let i = the_warning(&found, "The code 'q' comes from the system");
    assert_eq!(
        i.message,
        "The code 'q' comes from the system http://example.org/CodeSystem/src version 9 which could not be found, so it's not known whether it's valid in the value set 'null'"
    );
}
