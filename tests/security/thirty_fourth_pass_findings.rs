//! Findings of the thirty-fourth red-team pass
//! (docs/security/redteam-thirty-fourth-pass-2026-12-06.md), each shown on
//! an input of the reported shape, with the answer still right.

use super::*;

/// Z1: each coding of a draft code system asked whether its standing was
/// already said by scanning every issue so far; a set answers now.
#[test]
fn z1_thousands_of_codings_of_a_draft_system_say_its_standing_once() {
    let codings: Vec<Value> = (0..20_000).map(|_| json!({"system": "http://terminology.hl7.org/CodeSystem/dose-rate-type"})).collect();
    let obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "c"}, "method": {"coding": codings}});
    let found = common::issues_with(&[], &obs);
    let standing = found.iter().filter(|i| i.message.starts_with("Reference to draft CodeSystem http://terminology.hl7.org/CodeSystem/dose-rate-type")).count();
    assert_eq!(standing, 1, "{:#?}", &found[..found.len().min(8)]);
}

/// Z2, Z3: every `$` value and every matchetype extension asked whether the
/// resource is a matchetype by scanning its children; each resource is read once.
#[test]
fn z2_z3_dollar_values_and_matchetype_extensions_ask_once_per_resource() {
    let notes: Vec<Value> = (0..20_000).map(|_| json!({"text": "$"})).collect();
    let extensions: Vec<Value> = (0..3_000).map(|_| json!({"url": "http://hl7.org/fhir/tools/StructureDefinition/matchetype-optional", "valueBoolean": true})).collect();
    let obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "c"}, "note": notes, "extension": extensions});
    let found = common::issues_with(&[], &obs);
    // Not a matchetype: `$` is an ordinary string, and each extension is refused.
    assert!(!found.iter().any(|i| i.message.contains("pattern")), "{:#?}", &found[..found.len().min(8)]);
    let refused = found.iter().filter(|i| i.message.starts_with("This resource is not a matcehtype, so it cannot have the extension")).count();
    assert_eq!(refused, 3_000, "{:#?}", &found[..found.len().min(8)]);
}
