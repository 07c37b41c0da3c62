//! Findings of the twenty-fourth red-team pass
//! (docs/security/redteam-twenty-fourth-pass-2026-12-06.md): the cost of the
//! terminology resources' rules and of relative canonicals, each shown
//! bounded on inputs of the reported shape. Reads of look-up structures that
//! are built once are asserted directly.

use super::*;
use careplan::issue::Severity;
use careplan::tree::Format;

fn code_system(url: &str, codes: usize, extra: Value) -> Value {
    let concepts: Vec<Value> = (0..codes).map(|i| json!({"code": format!("c{i}"), "display": format!("Code {i}")})).collect();
    let mut cs = json!({"resourceType": "CodeSystem", "url": url, "version": "01", "status": "active", "content": "complete", "caseSensitive": true, "concept": concepts});
    for (k, v) in extra.as_object().unwrap() {
        cs[k] = v.clone();
    }
    cs
}

/// P1: each include naming an unknown `urn:oid:` read every loaded
/// CodeSystem. Identifiers are now indexed once per context.
#[test]
fn p1_oid_systems_are_looked_up_in_an_index() {
    let named = code_system("http://x.test/cs/named", 2, json!({"identifier": [{"system": "urn:ietf:rfc:3986", "value": "urn:oid:1.2.3.4"}]}));
    let v = common::validator_with(&[named]);
    assert_eq!(v.context().code_systems_identified_by("urn:oid:1.2.3.4"), ["http://x.test/cs/named|01"]);
    assert!(v.context().code_systems_identified_by("urn:oid:9.9").is_empty());
    let includes: Vec<Value> = (0..3_000).map(|i| json!({"system": format!("urn:oid:2.16.840.1.9{i}")})).chain([json!({"system": "urn:oid:1.2.3.4"})]).collect();
    let vs = json!({"resourceType": "ValueSet", "url": "http://x.test/vs", "status": "active", "compose": {"include": includes}});
    let found = v.validate_bytes(vs.to_string().as_bytes(), Some(Format::Json));
    assert!(found.iter().any(|i| i.message.contains("It is not valid to refer to a CodeSystem by an identifier like this 'urn:oid:1.2.3.4'")), "{:#?}", &found[..found.len().min(5)]);
}

/// P2: an expansion's unversioned systems were compared pairwise.
#[test]
fn p2_an_expansion_s_systems_are_gathered_once_each() {
    let contains: Vec<Value> = (0..20_000).map(|i| json!({"system": format!("http://x.test/s{i}"), "code": "a"})).collect();
    let vs = json!({"resourceType": "ValueSet", "url": "http://x.test/vs", "status": "active",
        "expansion": {"identifier": "urn:uuid:00000000-0000-0000-0000-000000000001", "timestamp": "2024-01-01T00:00:00Z",
            "parameter": [{"name": "used-codesystem", "valueUri": "http://x.test/s0|1"}], "contains": contains}});
    let found = common::issues_with(&[], &vs);
    let needed = found.iter().filter(|i| i.message.starts_with("Because the expansion uses system")).count();
    assert_eq!(needed, 19_999, "every system but the one listed");
}

/// P3: each code of a map not in a large loaded CodeSystem searched its
/// whole concept tree, twice.
#[test]
fn p3_map_codes_are_found_through_an_index() {
    let cs = code_system("http://x.test/cs/big", 20_000, json!({}));
    let elements: Vec<Value> = (0..5_000).map(|i| json!({"code": format!("missing{i}"), "target": [{"code": "c1", "equivalence": "equivalent"}]})).collect();
    let map = json!({"resourceType": "ConceptMap", "url": "http://x.test/cm", "status": "active",
        "group": [{"source": "http://x.test/cs/big", "target": "http://x.test/cs/big", "element": elements}]});
    let found = common::issues_with(&[cs], &map);
    let invalid = found.iter().filter(|i| i.severity == Severity::Error && i.message.starts_with("The source code 'missing")).count();
    assert_eq!(invalid, 5_000);
}

/// P4: every target of an element copied its source code, of any length,
/// into new strings; messages now quote it short.
#[test]
fn p4_a_long_source_code_is_quoted_short_for_each_target() {
    let code = "k".repeat(100_000);
    let targets: Vec<Value> = (0..2_000).map(|_| json!({"code": "same", "equivalence": "equivalent"})).collect();
    let map = json!({"resourceType": "ConceptMap", "url": "http://x.test/cm", "status": "active",
        "group": [{"source": "http://x.test/unknown-a", "target": "http://x.test/unknown-b", "element": [{"code": code, "target": targets}]}]});
    let found = common::issues_with(&[], &map);
    let duplicates: Vec<_> = found.iter().filter(|i| i.message.contains("relationship has already been defined")).collect();
    assert_eq!(duplicates.len(), 1_999);
    assert!(duplicates.iter().all(|i| i.message.len() < 1_000), "{}", duplicates[0].message.len());
}

/// P5: a code system named by a partial version had its index rebuilt for
/// every concept; the index is now that of the version it resolves to.
#[test]
fn p5_a_partial_version_shares_the_index_of_the_full_one() {
    let cs = code_system("http://x.test/cs/versioned", 10, json!({}));
    let v = common::validator_with(&[cs]);
    let t = v.terminology();
    let partial = t.code_index("http://x.test/cs/versioned|0").expect("a partial version resolves");
    let again = t.code_index("http://x.test/cs/versioned|0").unwrap();
    assert!(std::sync::Arc::ptr_eq(&partial, &again), "built once");
    assert!(std::sync::Arc::ptr_eq(&partial, &t.code_index("http://x.test/cs/versioned|01").unwrap()));
}

/// P6: a relative canonical (`x/y`) read every loaded url on each look-up;
/// urls are now indexed by their last segment.
#[test]
fn p6_relative_canonicals_are_found_through_an_index() {
    let v = common::validator_with(&[]);
    let ctx = v.context();
    assert_eq!(ctx.entry("StructureDefinition/Patient").map(|e| e.url.as_str()), Some("http://hl7.org/fhir/StructureDefinition/Patient"));
    assert!(ctx.entry("nowhere/at-all").is_none());
    let profiles: Vec<String> = (0..20_000).map(|i| format!("x{i}/y")).collect();
    let patient = json!({"resourceType": "Patient", "meta": {"profile": profiles}});
    let found = common::issues_with(&[], &patient);
    assert!(found.iter().any(|i| i.message.contains("x19999/y")), "every profile is reported");
}
