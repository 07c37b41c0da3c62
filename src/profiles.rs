//! Our conformance resources (`profiles/`), embedded in the binary.
//! (Interim: only what the mapper needs until the full set lands.)

pub const BASE: &str = "https://careplan.example/fhir";

/// The text of one file of `profiles/`, by file name.
pub fn file(name: &str) -> Option<&'static str> {
    match name {
        "ConceptMap-prsb-goal-status-to-r4.json" => {
            Some(include_str!("../profiles/ConceptMap-prsb-goal-status-to-r4.json"))
        }
        "ConceptMap-prsb-action-status-to-r4.json" => {
            Some(include_str!("../profiles/ConceptMap-prsb-action-status-to-r4.json"))
        }
        _ => None,
    }
}
