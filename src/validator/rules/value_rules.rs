//! What a profile's element definition asks of a value through its
//! extensions (`regex`, `maxDecimalPlaces`, `maxSize`, and R5's
//! `mustHaveValue` carried in R4 as an extension), as the reference checks
//! them on every primitive of the element.

use crate::issue::IssueCode;
use crate::structure::Element;
use crate::tree::Node;
use crate::validator::element::Walk;

/// A primitive with a value (the path points at it).
pub(crate) fn primitive(walk: &mut Walk<'_, '_>, node: &Node, def: &Element, code: &str, text: &str) {
    let Some(rules) = def.value_rules.as_deref() else { return };
    if let Some(pattern) = rules.regex.as_deref() {
        // A pattern the regex crate cannot compile (Java-only syntax) decides nothing.
        if let Ok(re) = crate::fhirpath::compiled_regex(pattern, true) {
            if !re.is_match(text) {
                // Type_Specific_Checks_DT_Primitive_Regex
                walk.error(node, IssueCode::Invalid, format!("Element value '{text}' does not meet regex '{pattern}'"));
            }
        }
    }
    if code == "decimal" {
        if let Some(limit) = rules.max_decimal_places {
            let places = text.split_once('.').map_or(0, |(_, f)| f.chars().count());
            if places > limit as usize {
                // TYPE_SPECIFIC_CHECKS_DT_DECIMAL_CHARS
                walk.error(node, IssueCode::Structure, format!("Found {places} decimal places which exceeds the stated limit of {limit} digits"));
            }
        }
    }
    if code == "base64Binary" {
        if let Some(limit) = rules.max_size.filter(|_| crate::primitive::base64_shape_ok(text)) {
            let size = super::datatypes::decoded_len(text);
            if size > limit {
                // TYPE_SPECIFIC_CHECKS_DT_BASE64_TOO_LONG
                walk.error(node, IssueCode::Structure, format!("Base64 size is {size} bytes which exceeds the stated limit of {limit} bytes"));
            }
        }
    }
}

/// A primitive with no value, or one of whitespace alone (the path points at it).
pub(crate) fn no_value(walk: &mut Walk<'_, '_>, node: &Node, def: &Element, profile: &str) {
    if def.value_rules.as_deref().is_some_and(|r| r.must_have_value) {
        // PRIMITIVE_MUSTHAVEVALUE_MESSAGE
        walk.error(node, IssueCode::Invalid, format!("The element definition ``{}`` in the profile '{profile}' requires that a value be present in this element", def.id));
    }
}
