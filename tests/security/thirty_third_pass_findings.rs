//! Findings of the thirty-third red-team pass
//! (docs/security/redteam-thirty-third-pass-2026-12-06.md), each shown on
//! an input of the reported shape, with the answer still right.

use super::*;
use base64::Engine as _;

/// Y1: the signature's XML was read with a duplicate-attribute check that
/// compared each attribute with every earlier one; attributes are now
/// checked through a set, and an element may carry 256.
#[test]
fn y1_signed_xml_with_thousands_of_attributes_is_refused_as_invalid() {
    let attributes: String = (0..20_000).map(|i| format!(" a{i}=\"v\"")).collect();
    let xml = format!("<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"{attributes}><SignedInfo/></Signature>");
    let bundle = json!({"resourceType": "Bundle", "type": "collection",
        "signature": {"type": [{"system": "urn:iso-astm:E1762-95:2013", "code": "1.2.840.10065.1.12.1.1"}], "when": "2026-12-06T10:00:00Z",
            "who": {"display": "x"}, "sigFormat": "application/pkcs7-signature", "data": base64::engine::general_purpose::STANDARD.encode(xml)}});
    let found = common::issues_with(&[], &bundle);
    assert!(found.iter().any(|i| i.message.starts_with("The digital signature is invalid XML") && i.message.contains("more than 256 attributes")), "{:#?}", &found[..found.len().min(8)]);
    // A duplicated attribute is still refused, as XML requires.
    let twice = "<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\" a=\"1\" a=\"2\"><SignedInfo/></Signature>";
    let mut dup = bundle.clone();
    dup["signature"]["data"] = json!(base64::engine::general_purpose::STANDARD.encode(twice));
    let found = common::issues_with(&[], &dup);
    assert!(found.iter().any(|i| i.message.contains("is given twice")), "{:#?}", &found[..found.len().min(8)]);
}

/// Y2: each slice's discriminator was looked up by a scan of the snapshot,
/// for each claimed slice; the snapshot is indexed once per comparison.
#[test]
fn y2_a_profile_with_thousands_of_slices_is_compared_with_a_claim() {
    let n = 3_000;
    let mut elements = vec![
        json!({"id": "Observation", "path": "Observation"}),
        json!({"id": "Observation.category", "path": "Observation.category", "slicing": {"discriminator": [{"type": "pattern", "path": "$this"}], "rules": "open"}}),
    ];
    for i in 0..n {
        elements.push(json!({"id": format!("Observation.category:s{i}"), "path": "Observation.category", "sliceName": format!("s{i}"),
            "patternCodeableConcept": {"coding": [{"system": "http://x.test/cs", "code": format!("c{i}")}]}}));
    }
    let sd = json!({"resourceType": "StructureDefinition", "url": "http://x.test/sd", "name": "X", "status": "draft", "kind": "resource", "abstract": false,
        "type": "Observation", "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Observation", "derivation": "constraint",
        "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-compliesWithProfile", "valueCanonical": "http://hl7.org/fhir/StructureDefinition/vitalsigns"}],
        "differential": {"element": elements}});
    let found = common::issues_with(&[], &sd);
    // The claim is judged: vital signs slice category by a fixed coding the claimant's slices do not give.
    assert!(found.iter().any(|i| i.message.contains("vitalsigns")), "{:#?}", &found[..found.len().min(8)]);
}

/// Y3: each dependency was compared with each FHIR version, and each
/// warning listed them all; the versions are read once, listed up to ten.
#[test]
fn y3_an_ig_with_thousands_of_versions_and_dependencies_lists_a_few() {
    let versions: Vec<Value> = (0..2_000).map(|i| json!(format!("3.{i}.0"))).collect();
    let depends: Vec<Value> = (0..500).map(|i| json!({"id": format!("d{i}"), "uri": "http://hl7.org/fhir/ImplementationGuide/hl7.fhir.r4.examples", "packageId": "hl7.fhir.r4.examples", "version": "4.0.1"})).collect();
    let ig = json!({"resourceType": "ImplementationGuide", "url": "http://x.test/ig", "name": "X", "status": "draft", "packageId": "x.test", "fhirVersion": versions, "dependsOn": depends});
    let found = common::issues_with(&[], &ig);
    let mismatch: Vec<_> = found.iter().filter(|i| i.message.contains("but package hl7.fhir.r4.examples#4.0.1 is based on FHIR version")).collect();
    assert_eq!(mismatch.len(), 500, "{:#?}", &found[..found.len().min(8)]);
    assert!(mismatch.iter().all(|i| i.message.contains("and 1990 more") && i.message.len() < 600), "{}", mismatch[0].message);
}

/// Y4: each link copied all the text under it, so nested links copied the
/// narrative's text once per level; a message quotes the start of it.
#[test]
fn y4_nested_links_quote_the_start_of_their_text() {
    let depth = 300;
    let text = "word ".repeat(20_000);
    let div = format!("<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>{}{text}{}</p></div>", "<a href=\"#nowhere\">".repeat(depth), "</a>".repeat(depth));
    let obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "c"}, "text": {"status": "generated", "div": div}});
    let found = common::issues_with(&[], &obs);
    let unresolved: Vec<_> = found.iter().filter(|i| i.message.starts_with("Hyperlink '#nowhere'")).collect();
    assert!(!unresolved.is_empty(), "{:#?}", &found[..found.len().min(8)]);
    assert!(unresolved.iter().all(|i| i.message.len() < 600 && i.message.contains("for 'word word")), "{}", unresolved[0].message);
}
