//! The standing of a code system or value set a code is checked with, as
//! the reference's value set checker reports it (its `checkCanonical`):
//! deprecated or withdrawn (standards-status extension) and retired always;
//! experimental and draft only when the value set that asked is not
//! experimental or draft itself (with no value set, always).

use crate::definition::Publication;

const STANDARDS_STATUS: &str = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status";

fn standards_status<'a>(p: &Publication<'a>) -> Option<&'a str> {
    p.extension.iter().find(|e| e.get("url").and_then(|u| u.as_str()) == Some(STANDARDS_STATUS)).and_then(|e| e.get("valueCode")).and_then(|v| v.as_str())
}

fn is_draft(p: &Publication) -> bool {
    p.status == Some("draft") || standards_status(p) == Some("draft")
}

/// The information message for a reference to `resource` (a `resource_type`
/// named by `versioned`, its `url|version`), from the `source` value set
/// when one asked; `None` when its standing says nothing. The instance
/// validator says an experimental one only for publication
/// (`experimental_said`).
pub fn standing_message(resource_type: &str, versioned: &str, resource: &Publication, source: Option<&Publication>, experimental_said: bool) -> Option<String> {
    let standing = match (standards_status(resource), resource.status) {
        // MSG_DEPRECATED
        (Some("deprecated"), _) => "deprecated",
        // MSG_WITHDRAWN
        (Some("withdrawn"), _) => "withdrawn",
        // MSG_RETIRED
        (_, Some("retired")) => "retired",
        _ => {
            let experimental = resource.experimental;
            match source {
                // MSG_EXPERIMENTAL
                Some(s) if experimental && !s.experimental => "experimental",
                // MSG_DRAFT
                Some(s) if is_draft(resource) && !is_draft(s) => "draft",
                Some(_) => return None,
                None if experimental => "experimental",
                None if is_draft(resource) => "draft",
                None => return None,
            }
        }
    };
    if standing == "experimental" && !experimental_said {
        return None;
    }
    // Each standing's wording as the reference's catalogue has it.
    Some(match standing {
        "draft" => format!("Reference to draft {resource_type} {versioned}"),
        "experimental" => format!("Reference to experimental {resource_type} {versioned}"),
        "retired" => format!("Reference to retired {resource_type} {versioned}"),
        "deprecated" => format!("Reference to deprecated {resource_type} {versioned}"),
        "withdrawn" => format!("Reference to withdrawn {resource_type} {versioned}"),
        other => format!("Reference to {other} {resource_type} {versioned}"),
    })
}

/// `url|version`, or the url alone.
pub fn versioned_url(url: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("{url}|{v}"),
        None => url.to_string(),
    }
}
