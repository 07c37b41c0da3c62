//! The for-publication ("shareable") checks of CodeSystem, ValueSet,
//! ConceptMap and Measure: under `--for-publication`, a resource that is not
//! contained is held to its Shareable profile's elements. One whose url
//! mentions HL7 SHALL conform (mostly errors); any other SHOULD (warnings).

use crate::issue::IssueCode;
use crate::tree::Node;
use crate::validator::element::Walk;

/// How strongly one element is asked for.
#[derive(Clone, Copy)]
enum Need {
    /// Mandatory in the Shareable profile (the `..._MISSING` keys).
    Mandatory,
    /// Should be present (the `..._EXTRA_MISSING` keys).
    Extra,
}

/// Whether the reference raises an HL7 resource's check as an error.
#[derive(Clone, Copy)]
enum Hl7Level {
    Error,
    Warning,
}

/// The elements each type's Shareable profile asks for, in the reference's order.
fn elements(type_name: &str, content: Option<&str>) -> Vec<(&'static str, Need, Hl7Level)> {
    use Hl7Level::{Error as E, Warning as W};
    use Need::{Extra as X, Mandatory as M};
    match type_name {
        "CodeSystem" => {
            let mut list = vec![
                ("url", M, E), ("version", M, E), ("title", M, E), ("name", X, W), ("status", M, E), ("experimental", M, E),
                ("description", M, E), ("content", M, E),
            ];
            if content != Some("supplement") {
                list.push(("caseSensitive", M, E));
            }
            list
        }
        "ValueSet" | "ConceptMap" => vec![
            ("url", M, E), ("version", M, E), ("title", M, E), ("name", X, W), ("status", M, E), ("experimental", M, E), ("description", M, E),
        ],
        // The reference raises a missing name as an error and a missing title
        // as a warning for HL7's measures (the keys the other way round).
        "Measure" => vec![
            ("url", M, E), ("version", M, E), ("name", X, E), ("title", M, W), ("status", M, E), ("experimental", M, E),
            ("publisher", M, E), ("description", M, E),
        ],
        _ => Vec::new(),
    }
}

/// CODESYSTEM_SHAREABLE_*, VALUESET_SHAREABLE_*, CONCEPTMAP_SHAREABLE_*, MEASURE_SHAREABLE_*.
pub(super) fn check(walk: &mut Walk<'_, '_>, node: &Node, type_name: &str) {
    if !walk.v.options().for_publication || node.name == "contained" {
        return;
    }
    // The reference's `isHL7`: the url mentions hl7 anywhere.
    let hl7 = node.child_text("url").is_some_and(|u| u.contains("hl7"));
    for (element, need, level) in elements(type_name, node.child_text("content")) {
        if node.child(element).is_some() {
            continue;
        }
        let msg = message(type_name, element, need, hl7);
        match (hl7, level) {
            (true, Hl7Level::Error) => walk.error(node, IssueCode::Required, msg),
            _ => walk.warn(node, IssueCode::Required, msg),
        }
    }
}

fn message(type_name: &str, e: &str, need: Need, hl7: bool) -> String {
    match (type_name, need, hl7) {
        // CODESYSTEM_SHAREABLE_MISSING_HL7
        ("CodeSystem", Need::Mandatory, true) => format!("Code systems published by HL7 SHALL conform to the ShareableCodeSystem profile, which says that the element CodeSystem.{e} is mandatory, but it is not present"),
        // CODESYSTEM_SHAREABLE_EXTRA_MISSING_HL7
        ("CodeSystem", Need::Extra, true) => format!("Code systems published by HL7 SHALL conform to the ShareableCodeSystem profile, which says that the element CodeSystem.{e} should be present, but it is not"),
        // CODESYSTEM_SHAREABLE_MISSING
        ("CodeSystem", Need::Mandatory, false) => format!("Published code systems SHOULD conform to the ShareableCodeSystem profile, which says that the element CodeSystem.{e} is mandatory, but it is not present"),
        // CODESYSTEM_SHAREABLE_EXTRA_MISSING
        ("CodeSystem", Need::Extra, false) => format!("Published code systems SHOULD conform to the ShareableCodeSystem profile, which says that the element CodeSystem.{e} should be present, but it is not"),
        // VALUESET_SHAREABLE_MISSING_HL7
        ("ValueSet", Need::Mandatory, true) => format!("Value sets published by HL7 SHALL conform to the ShareableValueSet profile, which says that the element ValueSet.{e} is mandatory, but it is not present"),
        // VALUESET_SHAREABLE_EXTRA_MISSING_HL7
        ("ValueSet", Need::Extra, true) => format!("Value sets published by HL7 SHALL conform to the ShareableValueSet profile, which says that the element ValueSet.{e} should be present, but it is not"),
        // VALUESET_SHAREABLE_MISSING
        ("ValueSet", Need::Mandatory, false) => format!("Published value sets SHOULD conform to the ShareableValueSet profile, which says that the element ValueSet.{e} is mandatory, but it is not present"),
        // VALUESET_SHAREABLE_EXTRA_MISSING
        ("ValueSet", Need::Extra, false) => format!("Published value sets SHOULD conform to the ShareableValueSet profile, which says that the element ValueSet.{e} should be present, but it is not"),
        // CONCEPTMAP_SHAREABLE_MISSING_HL7
        ("ConceptMap", Need::Mandatory, true) => format!("Concept maps published by HL7 SHALL conform to the ShareableConceptMap profile, which says that the element ConceptMap.{e} is mandatory, but it is not present"),
        // CONCEPTMAP_SHAREABLE_EXTRA_MISSING_HL7
        ("ConceptMap", Need::Extra, true) => format!("Concept maps published by HL7 SHALL conform to the ShareableConceptMap profile, which says that the element ConceptMap.{e} should be present, but it is not"),
        // CONCEPTMAP_SHAREABLE_MISSING
        ("ConceptMap", Need::Mandatory, false) => format!("Published concept maps SHOULD conform to the ShareableConceptMap profile, which says that the element ConceptMap.{e} is mandatory, but it is not present"),
        // CONCEPTMAP_SHAREABLE_EXTRA_MISSING
        ("ConceptMap", Need::Extra, false) => format!("Published concept maps SHOULD conform to the ShareableConceptMap profile, which says that the element ConceptMap.{e} should be present, but it is not"),
        // MEASURE_SHAREABLE_MISSING_HL7
        (_, Need::Mandatory, true) => format!("Measures published by HL7 SHALL conform to the ShareableMeasure profile, which says that the element Measure.{e} is mandatory, but it is not present"),
        // MEASURE_SHAREABLE_EXTRA_MISSING_HL7
        (_, Need::Extra, true) => format!("Measures published by HL7 SHALL conform to the ShareableMeasure profile, which says that the element Measure.{e} should be present, but it is not"),
        // MEASURE_SHAREABLE_MISSING
        (_, Need::Mandatory, false) => format!("Published measures SHOULD conform to the ShareableMeasure profile, which says that the element Measure.{e} is mandatory, but it is not present"),
        // MEASURE_SHAREABLE_EXTRA_MISSING
        (_, Need::Extra, false) => format!("Published measures SHOULD conform to the ShareableMeasure profile, which says that the element Measure.{e} should be present, but it is not"),
    }
}
