//! Matchetypes: resources that are patterns for test outcomes (the tools
//! extension `matchetype`), as the reference's instance validator judges
//! them. Its matchetype status is `Disallowed` unless its caller says
//! otherwise (the validator's command line never does), so a resource
//! that says it is a matchetype is refused; and inside one, a primitive
//! whose value is a `$...$` pattern is judged as a pattern, not as a value.

use crate::issue::IssueCode;
use crate::tree::Node;
use crate::validator::element::Walk;

pub(crate) const MATCHETYPE: &str = "http://hl7.org/fhir/tools/StructureDefinition/matchetype";

/// A resource (the walk's path points at it) that carries the matchetype extension.
pub(crate) fn check_resource(walk: &mut Walk<'_, '_>, resource: &Node) {
    if resource.children_named("extension").any(|e| e.child_text("url") == Some(MATCHETYPE)) {
        // RESOURCE_MATCHETYPE_DISALLOWED
        walk.error(
            resource,
            IssueCode::Invalid,
            "This resource is not allowed to be a matchetype resource (extension http://hl7.org/fhir/tools/StructureDefinition/matchetype is true)".to_owned(),
        );
    }
}

/// A primitive's value inside a matchetype: when it is a pattern (`$...`),
/// whether the pattern is known and suits the element's type. Answers
/// whether the value was a pattern (then its lexical checks do not apply).
pub(crate) fn pattern_value(walk: &mut Walk<'_, '_>, node: &Node, type_code: &str, value: &str) -> bool {
    if !value.starts_with('$') || !walk.in_matchetype() {
        return false;
    }
    let suits: &[&str] = match value {
        "$semver$" | "$token$" | "$version$" => &["code"],
        "$url$" => &["url", "uri", "uuid", "oid", "canonical"],
        "$string$" => &["string"],
        "$date$" => &["date", "dateTime"],
        "$id$" => &["id"],
        "$instant$" => &["dateTime", "instant"],
        "$uuid$" => &["url", "uri", "uuid", "canonical"],
        "$$" => return true,
        _ if ["$external:", "$choice:", "$fragments:"].iter().any(|p| value.starts_with(p)) => return true,
        _ => {
            // RESOURCE_MATCHETYPE_UNKNOWN_PATTERN
            walk.error(node, IssueCode::Invalid, format!("The matchetype pattern value '{value}' is not valid"));
            return true;
        }
    };
    if !suits.contains(&type_code) {
        // RESOURCE_MATCHETYPE_SUSPECT_TYPE
        walk.warn(node, IssueCode::Invalid, format!("The type '{type_code}' does not appear to match the matchetype pattern value '{value}'"));
    }
    true
}
