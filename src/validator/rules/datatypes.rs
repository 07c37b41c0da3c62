//! Rules of data types wherever they appear, beyond their lexical form
//! (`primitive.rs`) and their definitions' constraints, as the reference
//! applies them (its `Type_Specific_Checks_DT_*` keys): whitespace in
//! strings, URIs that are not URIs, unreasonable years, Identifier systems and values, Attachment content
//! and size. Quantities are `quantity.rs`.

use crate::issue::IssueCode;
use crate::tree::Node;
use crate::validator::element::Walk;

/// A primitive value of type `code` (the path points at it).
pub(crate) fn primitive(walk: &mut Walk<'_, '_>, node: &Node, code: &str, text: &str) {
    match code {
        "string" if !text.is_empty() => {
            if text.chars().all(char::is_whitespace) {
                // Type_Specific_Checks_DT_String_WS_ALL
                walk.warn(node, IssueCode::Invalid, format!("value should not be all whitespace '{}'", visible(text)));
            } else if text.trim() != text {
                // Type_Specific_Checks_DT_String_WS
                walk.warn(node, IssueCode::Invalid, format!("value should not start or finish with whitespace '{}'", visible(text)));
            }
        }
        "uri" | "url" | "canonical" | "oid" | "uuid" => {
            if text.starts_with("oid:") {
                // Type_Specific_Checks_DT_URI_OID
                walk.error(node, IssueCode::Invalid, "URI values cannot start with oid:".into());
            }
            if text.starts_with("uuid:") {
                // Type_Specific_Checks_DT_URI_UUID
                walk.error(node, IssueCode::Invalid, "URI values cannot start with uuid:".into());
            }
            if let Some(rest) = text.strip_prefix("urn:uuid:").filter(|_| code != "uuid") {
                let rest = rest.split('#').next().unwrap_or(rest);
                let rest = if code == "canonical" { rest.rsplit_once('|').map_or(rest, |(u, _)| u) } else { rest };
                if !crate::primitive::is_uuid(rest) {
                    // Type_Specific_Checks_DT_UUID_Valid (a uuid's own type checks it already)
                    walk.error(node, IssueCode::Invalid, format!("UUIDs must be valid and lowercase ({rest})"));
                }
            }
            // The reference now also asks canonicals to be absolute
            // (TYPE_SPECIFIC_CHECKS_CANONICAL_ABSOLUTE); R4's own examples
            // write relative ones (`Library/example`) throughout, as R4
            // allowed, so careplan does not.
        }
        "dateTime" | "date" | "instant" if !year_is_reasonable(text) => {
            // Type_Specific_Checks_DT_DateTime_Reasonable
            walk.warn(node, IssueCode::Invalid, format!("The value '{text}' is outside the range of reasonable years - check for data entry error"));
        }
        _ => {}
    }
}

/// A Coding on its own (the path points at it): a system for its code, an
/// absolute one, and `http:` where the system is known by that.
/// Whether a primitive's value is blank as the reference reads it: not
/// empty, and nothing but whitespace (no-break spaces are not whitespace).
pub(crate) fn is_blank(text: &str) -> bool {
    // Java's Character.isWhitespace: the Unicode separators but the no-break
    // ones, and the ASCII controls 9 to 13 and 28 to 31 (not U+0085).
    !text.is_empty() && text.chars().all(|c| matches!(c, '\u{1c}'..='\u{1f}') || (c.is_whitespace() && !matches!(c, '\u{85}' | '\u{a0}' | '\u{2007}' | '\u{202f}')))
}

/// A primitive whose value is only whitespace.
pub(crate) fn blank_primitive(walk: &mut Walk<'_, '_>, node: &Node, def: &crate::structure::Element) {
    if node.children.is_empty() {
        // Type_Specific_Checks_DT_Primitive_WS
        walk.warn(node, IssueCode::Invalid, "Primitive types should not only be whitespace".into());
    }
    if def.binding.as_ref().is_some_and(|b| b.strength == "required") {
        // Terminology_TX_Code_ValueSet_MISSING
        walk.error(node, IssueCode::CodeInvalid, "No code provided, and a code is required from the value set".into());
    }
}

/// The message for a value beyond its element's minValue or maxValue,
/// worded for the element's type as the reference words it.
pub(crate) fn limit_message(code: Option<&str>, limit_type: &str, below: bool, limit: &str) -> String {
    let decimal = code == Some("decimal") || (code.is_none() && limit_type == "Decimal");
    let integer = matches!(code, Some("integer" | "integer64" | "unsignedInt" | "positiveInt")) || (code.is_none() && limit_type.starts_with("Integer"));
    let temporal = matches!(limit_type, "Date" | "DateTime" | "Instant" | "Time");
    match (below, decimal, integer, temporal) {
        // Type_Specific_Checks_DT_Decimal_LT
        (true, true, _, _) => format!("decimal value is less than permitted minimum value of {limit}"),
        // Type_Specific_Checks_DT_Decimal_GT
        (false, true, _, _) => format!("decimal value is greater than permitted maximum value of {limit}"),
        // Type_Specific_Checks_DT_Integer_LT
        (true, _, true, _) => format!("integer value is less than permitted minimum value of {limit}"),
        // Type_Specific_Checks_DT_Integer_GT
        (false, _, true, _) => format!("integer value is greater than permitted maximum value of {limit}"),
        // TYPE_SPECIFIC_CHECKS_DT_DT_LT
        (true, _, _, true) => format!("date/time value is less than permitted minimum value of {limit}"),
        // TYPE_SPECIFIC_CHECKS_DT_DT_GT
        (false, _, _, true) => format!("date/time value is greater than permitted maximum value of {limit}"),
        (true, _, _, _) => format!("value is less than permitted minimum value of {limit}"),
        (false, _, _, _) => format!("value is greater than permitted maximum value of {limit}"),
    }
}

pub(crate) fn coding(walk: &mut Walk<'_, '_>, node: &Node, def: &crate::structure::Element) {
    super::coding::check(walk, node, def);
    let system = node.child_text("system");
    if system.is_none() && node.child_text("code").is_some() {
        // TERMINOLOGY_TX_SYSTEM_NO_CODE
        walk.warn(node, IssueCode::CodeInvalid, "A code with no system has no defined meaning, and it cannot be validated. A system should be provided".into());
    }
    let Some(system) = system else { return };
    if !(system.starts_with("http:") || system.starts_with("https:") || system.starts_with("urn:")) {
        // Terminology_TX_System_Relative
        walk.error(node, IssueCode::CodeInvalid, "Coding.system must be an absolute reference, not a local reference".into());
    }
    if let Some(rest) = system.strip_prefix("https:").filter(|r| !r.is_empty()) {
        const KNOWN_AS_HTTP: &[&str] = &["https://loinc.org", "https://unitsofmeasure.org", "https://snomed.info/sct", "https://www.nlm.nih.gov/research/umls/rxnorm"];
        if KNOWN_AS_HTTP.contains(&system) || walk.ctx.code_system(&format!("http:{rest}")).is_some() {
            // TERMINOLOGY_TX_SYSTEM_HTTPS
            walk.error(node, IssueCode::CodeInvalid, format!("The system URL '{system}' wrongly starts with https: not http:"));
        }
    }
}

/// An Identifier (the path points at it).
pub(crate) fn identifier(walk: &mut Walk<'_, '_>, node: &Node) {
    let system = node.child_text("system");
    if system.is_some_and(|s| !(s.starts_with("http:") || s.starts_with("https:") || s.starts_with("urn:") || s.starts_with("ldap:"))) {
        // Type_Specific_Checks_DT_Identifier_System
        walk.error(node, IssueCode::CodeInvalid, "Identifier.system must be an absolute reference, not a local reference".into());
    }
    if system == Some("urn:ietf:rfc:3986") {
        if let Some(value) = node.child_text("value").filter(|v| !is_absolute(v)) {
            // TYPE_SPECIFIC_CHECKS_DT_IDENTIFIER_IETF_SYSTEM_VALUE
            walk.error(
                node,
                IssueCode::CodeInvalid,
                format!("if identifier.system is 'urn:ietf:rfc:3986', then the identifier.value must be a full URI (e.g. start with a scheme), not '{value}'"),
            );
        }
    }
}

/// An Attachment (the path points at it): something to show, and a size
/// that is the data's.
pub(crate) fn attachment(walk: &mut Walk<'_, '_>, node: &Node) {
    let has = |name: &str| node.child(name).is_some();
    if !(has("data") || has("url") || has("contentType") || has("language")) {
        // TYPE_SPECIFIC_CHECKS_DT_ATT_NO_CONTENT
        walk.warn(node, IssueCode::Structure, "Attachments have data and/or url, or else SHOULD have either contentType and/or language".into());
    }
    let (Some(size), Some(data)) = (node.child_text("size"), node.child_text("data")) else { return };
    let Ok(stated) = size.trim().parse::<u64>() else { return };
    let actual = decoded_len(data);
    if stated != actual {
        // TYPE_SPECIFIC_CHECKS_DT_ATT_SIZE_CORRECT
        walk.error(node, IssueCode::Structure, format!("Stated Attachment Size {} does not match actual attachment size {}", grouped(stated), grouped(actual)));
    }
}

/// `50200200` → `50,200,200`, as the reference writes sizes.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The number of bytes base64 text decodes to (whitespace ignored).
pub(super) fn decoded_len(data: &str) -> u64 {
    let chars = data.bytes().filter(|b| !b.is_ascii_whitespace()).count();
    let padding = data.bytes().rev().filter(|b| !b.is_ascii_whitespace()).take_while(|b| *b == b'=').count();
    ((chars - padding.min(chars)) * 3 / 4) as u64
}

/// Whether a URI has a scheme (`http:`, `urn:`...).
fn is_absolute(uri: &str) -> bool {
    uri.split_once(':').is_some_and(|(scheme, _)| !scheme.is_empty() && scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)))
}

/// A year from 1800 to 80 years from now, as the reference takes it.
fn year_is_reasonable(text: &str) -> bool {
    static THIS_YEAR: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let Some(year) = text.get(..4).and_then(|y| y.parse::<i64>().ok()) else { return true };
    // Worked out once per process: this runs for every date in every resource.
    let this_year = *THIS_YEAR.get_or_init(|| crate::primitive::now_rfc3339()[..4].parse().unwrap_or(2026));
    (1800..=this_year + 80).contains(&year)
}

/// Whitespace shown as escapes.
fn visible(text: &str) -> String {
    text.replace('\n', "\\n").replace('\r', "\\r").replace('\t', "\\t")
}

#[cfg(test)]
mod tests {
    use crate::issue::{IssueCode, Severity};
    use crate::loader::{load, LoadOptions};
    use crate::tree::Format;
    use crate::validator::{Options, Validator};
    use serde_json::{json, Value};
    use std::sync::{Arc, OnceLock};

    fn issues(resource: Value) -> Vec<(Severity, IssueCode, String, String)> {
        static V: OnceLock<Validator> = OnceLock::new();
        let v = V.get_or_init(|| Validator::new(Arc::new(load(&LoadOptions::default()).expect("the default packages load")), Options::default()));
        v.validate_bytes(resource.to_string().as_bytes(), Some(Format::Json)).into_iter().map(|i| (i.severity, i.code, i.expression, i.message)).collect()
    }

    fn has(resource: Value, severity: Severity, expression: &str, message: &str) {
        let all = issues(resource);
        assert!(all.iter().any(|(s, _, e, m)| *s == severity && e == expression && m == message), "expected {severity:?} at {expression}: {message:?}, got {all:#?}");
    }

    #[test]
    fn strings_uris_canonicals_and_years() {
        has(json!({"resourceType": "Patient", "name": [{"family": " Smith"}]}), Severity::Warning, "Patient.name[0].family", "value should not start or finish with whitespace ' Smith'");
        // Only what the reference does not read as blank (no-break spaces) gets this far.
        has(json!({"resourceType": "Patient", "name": [{"family": " \u{a0}\n"}]}), Severity::Warning, "Patient.name[0].family", "value should not be all whitespace ' \u{a0}\\n'");
        has(json!({"resourceType": "Patient", "implicitRules": "oid:1.2.3"}), Severity::Error, "Patient.implicitRules", "URI values cannot start with oid:");
        has(json!({"resourceType": "Patient", "implicitRules": "uuid:1234"}), Severity::Error, "Patient.implicitRules", "URI values cannot start with uuid:");
        has(json!({"resourceType": "Patient", "implicitRules": "urn:uuid:C757873D-EC9A-4326-A141-556F43239520"}), Severity::Error, "Patient.implicitRules", "UUIDs must be valid and lowercase (C757873D-EC9A-4326-A141-556F43239520)");
        has(json!({"resourceType": "Patient", "implicitRules": "urn:uuid:c757873d-ec9a-4326-a141-556f43239520asdf"}), Severity::Error, "Patient.implicitRules", "UUIDs must be valid and lowercase (c757873d-ec9a-4326-a141-556f43239520asdf)");
        let uuid_fine = issues(json!({"resourceType": "Patient", "implicitRules": "urn:uuid:c757873d-ec9a-4326-a141-556f43239520#part"}));
        assert!(!uuid_fine.iter().any(|(_, _, e, _)| e == "Patient.implicitRules"), "{uuid_fine:#?}");
        has(json!({"resourceType": "Patient", "birthDate": "1492-10-12"}), Severity::Warning, "Patient.birthDate", "The value '1492-10-12' is outside the range of reasonable years - check for data entry error");
        let clean = issues(json!({"resourceType": "Patient", "birthDate": "1950-01-01", "name": [{"family": "Smith"}]}));
        assert!(clean.iter().all(|(s, ..)| *s != Severity::Error), "{clean:#?}");
    }

    #[test]
    fn terminology_tx_system_relative() {
        has(
            json!({"resourceType": "Patient", "meta": {"tag": [{"system": "local-tags", "code": "t"}]}}),
            Severity::Error,
            "Patient.meta.tag[0]",
            "Coding.system must be an absolute reference, not a local reference",
        );
        let fine = issues(json!({"resourceType": "Patient", "meta": {"tag": [{"system": "urn:oid:1.2.3", "code": "t"}]}}));
        assert!(!fine.iter().any(|(_, _, e, _)| e == "Patient.meta.tag[0]"), "{fine:#?}");
    }

    #[test]
    fn terminology_tx_system_https_and_no_code() {
        has(
            json!({"resourceType": "Patient", "meta": {"tag": [{"system": "https://loinc.org", "code": "1-8"}]}}),
            Severity::Error,
            "Patient.meta.tag[0]",
            "The system URL 'https://loinc.org' wrongly starts with https: not http:",
        );
        has(
            json!({"resourceType": "Patient", "meta": {"tag": [{"system": "https://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "x"}]}}),
            Severity::Error,
            "Patient.meta.tag[0]",
            "The system URL 'https://terminology.hl7.org/CodeSystem/v3-ActCode' wrongly starts with https: not http:",
        );
        let unknown = issues(json!({"resourceType": "Patient", "meta": {"tag": [{"system": "https://example.org/tags", "code": "x"}]}}));
        assert!(!unknown.iter().any(|(_, _, _, m)| m.contains("wrongly starts with https")), "{unknown:#?}");
        has(
            json!({"resourceType": "Patient", "meta": {"tag": [{"code": "x"}]}}),
            Severity::Warning,
            "Patient.meta.tag[0]",
            "A code with no system has no defined meaning, and it cannot be validated. A system should be provided",
        );
    }

    #[test]
    fn identifiers_have_absolute_systems() {
        has(
            json!({"resourceType": "Patient", "identifier": [{"system": "local-mrn", "value": "1"}]}),
            Severity::Error,
            "Patient.identifier[0]",
            "Identifier.system must be an absolute reference, not a local reference",
        );
        has(
            json!({"resourceType": "Patient", "identifier": [{"system": "urn:ietf:rfc:3986", "value": "1234"}]}),
            Severity::Error,
            "Patient.identifier[0]",
            "if identifier.system is 'urn:ietf:rfc:3986', then the identifier.value must be a full URI (e.g. start with a scheme), not '1234'",
        );
        let fine = issues(json!({"resourceType": "Patient", "identifier": [{"system": "urn:ietf:rfc:3986", "value": "urn:uuid:3e1f2d3c-7b9a-4c8e-9f0a-1b2c3d4e5f60"}]}));
        assert!(!fine.iter().any(|(_, _, e, _)| e == "Patient.identifier[0]"), "{fine:#?}");
    }

    #[test]
    fn attachments_say_what_they_hold_and_how_big_it_is() {
        let photo = |attachment: Value| json!({"resourceType": "Patient", "photo": [attachment]});
        has(photo(json!({"title": "me"})), Severity::Warning, "Patient.photo[0]", "Attachments have data and/or url, or else SHOULD have either contentType and/or language");
        has(photo(json!({"contentType": "text/plain", "data": "aGVsbG8=", "size": 6})), Severity::Error, "Patient.photo[0]", "Stated Attachment Size 6 does not match actual attachment size 5");
        has(photo(json!({"contentType": "text/plain", "data": "aGVsbG8=", "size": 1234567})), Severity::Error, "Patient.photo[0]", "Stated Attachment Size 1,234,567 does not match actual attachment size 5");
        let right = issues(photo(json!({"contentType": "text/plain", "data": "aGVsbG8=", "size": 5})));
        assert!(!right.iter().any(|(_, _, e, _)| e == "Patient.photo[0]"), "{right:#?}");
    }
}
