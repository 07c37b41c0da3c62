//! Findings of the twenty-sixth red-team pass
//! (docs/security/redteam-twenty-sixth-pass-2026-12-06.md), each shown
//! bounded on an input of the reported shape: at these sizes the old code
//! took minutes (R2's cube, the others' squares), and each test checks
//! what the rule says as well.

use super::*;
use careplan::issue::Issue;

/// R2: whether each contained resource is reached was decided by passes
/// over all of them until nothing changed, one link of a chain per pass.
/// Reaching is now passed on once per resource.
#[test]
fn r2_a_chain_of_contained_resources_is_followed_in_one_walk() {
    let n = 1_500;
    // The container refers to the last; each refers to the one before; the first to nothing.
    let contained: Vec<Value> = (0..n)
        .map(|i| {
            let mut b = json!({"resourceType": "Basic", "id": format!("b{i}"), "code": {"text": "link"}});
            if i > 0 {
                b["subject"] = json!({"reference": format!("#b{}", i - 1)});
            }
            b
        })
        .collect();
    let mut contained = contained;
    contained.push(json!({"resourceType": "Basic", "id": "alone", "code": {"text": "unreferenced"}}));
    let container = json!({"resourceType": "Basic", "code": {"text": "container"}, "subject": {"reference": format!("#b{}", n - 1)}, "contained": contained});
    let found = common::issues_with(&[], &container);
    let orphans: Vec<&str> = found.iter().filter(|i| i.message.contains("is not referenced to from elsewhere")).map(|i| i.message.as_str()).collect();
    assert_eq!(orphans, ["The contained resource 'alone' is not referenced to from elsewhere in the containing resource nor does it refer to the containing resource (dom-3)"]);
}

/// R1: each `#id` include system was compared with every contained resource,
/// a string built per pair. The contained resources are now indexed by id.
#[test]
fn r1_contained_code_systems_are_found_by_id() {
    let n = 4_000;
    let contained: Vec<Value> = (0..n).map(|i| json!({"resourceType": "CodeSystem", "id": format!("cs{i}"), "status": "active", "content": "complete", "concept": [{"code": "a"}]})).collect();
    let mut includes: Vec<Value> = (0..n).map(|i| json!({"system": format!("#cs{i}")})).collect();
    includes.push(json!({"system": "#absent"}));
    let vs = json!({"resourceType": "ValueSet", "url": "http://x.test/vs", "status": "active", "contained": contained, "compose": {"include": includes}});
    let found = common::issues_with(&[], &vs);
    let missing: Vec<&str> = found.iter().filter(|i| i.message.starts_with("No matching contained code system")).map(|i| i.message.as_str()).collect();
    assert_eq!(missing, ["No matching contained code system found for system '#absent'"]);
}

/// R3: a searchset's entries were each checked against the whole `_type`
/// list of its self link, and each wrong-type message quoted all of it.
#[test]
fn r3_searched_types_are_a_set_and_quoted_short() {
    let types = vec!["Observation"; 60_000].join(",");
    let entries: Vec<Value> = (0..3_000).map(|i| json!({"fullUrl": format!("http://x.test/Patient/p{i}"), "resource": {"resourceType": "Patient", "id": format!("p{i}")}})).collect();
    let bundle = json!({"resourceType": "Bundle", "type": "searchset", "link": [{"relation": "self", "url": format!("http://x.test/?_type={types}")}], "entry": entries});
    let found = common::issues_with(&[], &bundle);
    let wrong: Vec<&Issue> = found.iter().filter(|i| i.message.starts_with("This is not a matching resource type for the specified search")).collect();
    assert_eq!(wrong.len(), 3_000);
    assert_eq!(wrong[0].message, "This is not a matching resource type for the specified search (is a search mode needed?) (Patient expecting [Observation])");
}

/// R4: MeasureReport groups were matched pair by pair with the Measure's,
/// and the groups seen kept in a list. Both are now looked up.
#[test]
fn r4_measure_groups_are_looked_up_by_code() {
    let n = 3_000;
    let code = |i: usize| json!({"coding": [{"system": "http://x.test/groups", "code": format!("g{i}")}]});
    let m_groups: Vec<Value> = (0..n).map(|i| json!({"code": code(i)})).collect();
    let measure = json!({"resourceType": "Measure", "url": "http://x.test/Measure/m", "status": "active", "group": m_groups});
    // Every group but the first, in reverse, and the last one twice.
    let mut groups: Vec<Value> = (1..n).rev().map(|i| json!({"code": code(i)})).collect();
    groups.push(json!({"code": code(n - 1)}));
    let report = json!({"resourceType": "MeasureReport", "status": "complete", "type": "summary", "measure": "http://x.test/Measure/m", "period": {"start": "2024-01-01"}, "group": groups});
    let found = common::issues_with(&[measure], &report);
    let duplicated = found.iter().filter(|i| i.message == "The code for this group is duplicated with another group").count();
    let missing: Vec<&str> = found.iter().filter(|i| i.message.starts_with("The MeasureReport does not include a group")).map(|i| i.message.as_str()).collect();
    assert_eq!(duplicated, 1);
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(missing[0].contains("g0"), "{missing:?}");
}

/// R5: a property uri `system#code` walked every concept of the loaded
/// system; the code is now looked up in the system's code index.
#[test]
fn r5_property_uris_look_codes_up_in_the_index() {
    let concepts: Vec<Value> = (0..20_000).map(|i| json!({"code": format!("c{i}")})).collect();
    let big = json!({"resourceType": "CodeSystem", "url": "http://x.test/cs/big", "status": "active", "content": "complete", "concept": concepts});
    let mut properties: Vec<Value> = (0..2_000).map(|i| json!({"code": format!("p{i}"), "uri": format!("http://x.test/cs/big#c{}", 19_999 - i), "type": "string"})).collect();
    properties.push(json!({"code": "lost", "uri": "http://x.test/cs/big#nowhere", "type": "string"}));
    let cs = json!({"resourceType": "CodeSystem", "url": "http://x.test/cs/props", "status": "active", "content": "complete", "property": properties, "concept": [{"code": "a"}]});
    let found = common::issues_with(&[big], &cs);
    let invalid: Vec<&str> = found.iter().filter(|i| i.message.starts_with("The uri '")).map(|i| i.message.as_str()).collect();
    assert_eq!(invalid.len(), 1, "{invalid:?}");
    assert!(invalid[0].contains("'nowhere'"), "{invalid:?}");
}
