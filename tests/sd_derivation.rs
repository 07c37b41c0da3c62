//! An abstract StructureDefinition against the definitions that derive from
//! it (`SD_DERIVATION_NO_CONCRETE`, `src/validator/rules/structure_definition.rs`
//! through the context's index of base definitions).

mod common;

use careplan::issue::{IssueCode, Severity};
use serde_json::{json, Value};

fn model(abstract_: bool) -> Value {
    json!({
        "resourceType": "StructureDefinition", "id": "m", "url": "http://example.org/StructureDefinition/M", "name": "M", "status": "draft",
        "kind": "logical", "abstract": abstract_, "type": "http://example.org/StructureDefinition/M",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Element", "derivation": "specialization",
        "snapshot": {"element": [{"id": "M", "path": "M", "min": 0, "max": "*"}, {"id": "M.a", "path": "M.a", "min": 0, "max": "1", "type": [{"code": "string"}]}]}
    })
}

fn child() -> Value {
    json!({
        "resourceType": "StructureDefinition", "id": "n", "url": "http://example.org/StructureDefinition/N", "name": "N", "status": "draft",
        "kind": "logical", "abstract": false, "type": "http://example.org/StructureDefinition/N",
        "baseDefinition": "http://example.org/StructureDefinition/M", "derivation": "specialization",
        "snapshot": {"element": [{"id": "N", "path": "N", "min": 0, "max": "*"}, {"id": "N.a", "path": "N.a", "min": 0, "max": "1", "type": [{"code": "string"}]}]}
    })
}

const MESSAGE: &str = "M is labeled as an abstract type, but no concrete descendants were found (check definitions - this is usually an error unless concrete definitions are in some other package)";

#[test]
fn sd_derivation_no_concrete() {
    let found = common::issues_with(&[], &model(true));
    let hits: Vec<_> = found.iter().filter(|i| i.message == MESSAGE).collect();
    assert_eq!(hits.len(), 1, "{found:#?}");
    assert_eq!((hits[0].severity, hits[0].code, hits[0].expression.as_str()), (Severity::Warning, IssueCode::NotFound, "StructureDefinition"));
}

#[test]
fn an_abstract_definition_with_a_loaded_descendant_passes() {
    let found = common::issues_with(&[child()], &model(true));
    assert!(!found.iter().any(|i| i.message.contains("no concrete descendants")), "{found:#?}");
    let concrete = common::issues_with(&[], &model(false));
    assert!(!concrete.iter().any(|i| i.message.contains("no concrete descendants")), "{concrete:#?}");
}

#[test]
fn r4_abstract_types_have_descendants() {
    // Resource, DomainResource, Element and BackboneElement are R4's abstract types.
    let ctx = common::context();
    for t in ["Resource", "DomainResource", "Element", "BackboneElement"] {
        assert!(ctx.is_base_of_any(&format!("http://hl7.org/fhir/StructureDefinition/{t}")), "{t}");
    }
}
