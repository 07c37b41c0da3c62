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
    bidi(walk, node, text);
    match code {
        "decimal" if crate::primitive::check("decimal", text).is_ok() && !decimal_in_range(text) => {
            // Type_Specific_Checks_DT_Decimal_Range
            walk.warn(node, IssueCode::Value, format!("The value '{text}' is outside the range of commonly/reasonably supported decimals"));
        }
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

/// A URI's place: a canonical resource's own `url` must be absolute; a
/// reference to a fragment (`#x`) must find its target in the resource.
pub(crate) fn uri_value(walk: &mut Walk<'_, '_>, node: &Node, def: &crate::structure::Element, code: &str, text: &str) {
    if is_defining_url(&def.base_path) {
        if !is_absolute_url(text) {
            if walk.resources.last().is_some_and(|f| f.node.name == "contained") {
                // TYPE_SPECIFIC_CHECKS_CANONICAL_CONTAINED
                walk.error(node, IssueCode::Invalid, format!("Canonical URLs in contained resources must be absolute URLs if present ({text})"));
            } else {
                // TYPE_SPECIFIC_CHECKS_CANONICAL_ABSOLUTE
                walk.error(node, IssueCode::Invalid, format!("Canonical URLs must be absolute URLs if they are not fragment references ({text})"));
            }
        }
        return;
    }
    let Some(fragment) = text.strip_prefix('#') else { return };
    if code == "uuid" || def.base_path == "Bundle.entry.fullUrl" || fragment_targets(walk, fragment) {
        return;
    }
    let for_publication = walk.v.options().for_publication;
    // A textLink's data must resolve (it says what the narrative renders).
    let matters = walk.extension_url() == Some("http://hl7.org/fhir/StructureDefinition/textLink");
    if def.base_path == "Meta.source" && matches!(code, "uri" | "url") && !matters {
        let msg = format!("The URL value '{text}' might be wrong because it appears to point to an internal target, but there is no matching target");
        // TYPE_SPECIFIC_CHECKS_DT_URL_INTERNAL_WARN (a hint: servers write their own fragments here)
        if for_publication {
            walk.warn(node, IssueCode::Invalid, msg);
        } else {
            walk.inform(node, IssueCode::Invalid, msg);
        }
    } else if for_publication || matters || code == "canonical" || matches!(def.base_path.as_str(), "ValueSet.compose.include.system" | "ValueSet.compose.exclude.system") {
        // TYPE_SPECIFIC_CHECKS_DT_URL_INTERNAL
        walk.error(node, IssueCode::Invalid, format!("The URL value '{text}' is invalid because there is no matching target"));
    } else {
        // TYPE_SPECIFIC_CHECKS_DT_URL_INTERNAL_WARN
        walk.warn(node, IssueCode::Invalid, format!("The URL value '{text}' might be wrong because it appears to point to an internal target, but there is no matching target"));
    }
}

/// Whether an element is a canonical resource's own `url` (by its base path).
fn is_defining_url(base_path: &str) -> bool {
    base_path.split_once('.').is_some_and(|(ty, rest)| rest == "url" && (super::canonical_resource::is_canonical_type(ty) || matches!(ty, "CanonicalResource" | "MetadataResource")))
}

/// An absolute URL as the reference takes one: a scheme (lower-case
/// letters, then letters, digits or `_`), then something without a space.
fn is_absolute_url(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else { return false };
    let token = scheme.starts_with(|c: char| c.is_ascii_lowercase()) && scheme.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '[' | ']'));
    token && !rest.is_empty() && !rest.contains(' ')
}

/// Whether something in the outermost resource has this id: an element, a
/// resource, or an element of its narrative.
fn fragment_targets(walk: &mut Walk<'_, '_>, fragment: &str) -> bool {
    fn gather(node: &Node, out: &mut std::collections::HashSet<String>) {
        // Iterative: the tree may be as deep as the reader allows.
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            if n.name == "id" {
                if let Some(id) = n.text() {
                    out.insert(id.to_string());
                }
            }
            if n.name == "div" {
                if let Some(x) = n.text() {
                    for attr in ["id=", "name="] {
                        for (at, _) in x.match_indices(attr) {
                            let rest = &x[at + attr.len()..];
                            let Some(q) = rest.chars().next().filter(|c| matches!(c, '"' | '\'')) else { continue };
                            if let Some(end) = rest[1..].find(q) {
                                out.insert(rest[1..1 + end].to_string());
                            }
                        }
                    }
                }
            }
            stack.extend(n.children.iter());
        }
    }
    if walk.root_ids.is_none() {
        let mut ids = std::collections::HashSet::new();
        if let Some(f) = walk.resources.first() {
            gather(f.node, &mut ids);
        }
        walk.root_ids = Some(ids);
    }
    walk.root_ids.as_ref().is_some_and(|ids| ids.contains(fragment))
}

/// Unicode bi-directional controls: refused where the options say so, and
/// otherwise each embedding, override or isolate should be closed.
fn bidi(walk: &mut Walk<'_, '_>, node: &Node, text: &str) {
    // A line break counts as one (it ends every open run), as the reference has it.
    if !text.chars().any(is_bidi_control) {
        return;
    }
    if walk.v.options().no_unicode_bidi_control_chars {
        let shown: String = text.chars().map(|c| bidi_name(c).map_or_else(|| c.to_string(), |n| format!("|{n}|"))).collect();
        // UNICODE_BIDI_CONTROLS_CHARS_DISALLOWED
        walk.error(node, IssueCode::CodeInvalid, format!("The Unicode sequence has bi-di control characters which are not allowed in this context: {shown}"));
        return;
    }
    if let Some(problem) = unterminated_bidi(text) {
        // UNICODE_BIDI_CONTROLS_CHARS_MATCH
        walk.warn(node, IssueCode::Invalid, format!("The Unicode sequence has unterminated bi-di control characters (see CVE-2021-42574): {problem}"));
    }
}

fn is_bidi_control(c: char) -> bool {
    bidi_name(c).is_some()
}

fn bidi_name(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{202a}' => "LRE",
        '\u{202b}' => "RLE",
        '\u{202c}' => "PDF",
        '\u{202d}' => "LRO",
        '\u{202e}' => "RLO",
        '\u{2066}' => "LRI",
        '\u{2067}' => "RLI",
        '\u{2068}' => "FSI",
        '\u{2069}' => "PDI",
        '\u{200e}' => "LRM",
        '\u{200f}' => "RLM",
        '\u{061c}' => "ALM",
        '\n' => "PARA",
        _ => return None,
    })
}

/// The first bi-di control left open at the end, described as the reference
/// describes it (positions count UTF-16 units), or `None`.
fn unterminated_bidi(text: &str) -> Option<String> {
    let units: Vec<u16> = text.encode_utf16().collect();
    let mut open: Vec<(char, usize)> = Vec::new();
    let mut at = 0usize;
    let embeddings = |c: char| matches!(c, '\u{202a}' | '\u{202b}' | '\u{202d}' | '\u{202e}' | '\u{200e}' | '\u{200f}' | '\u{061c}');
    let isolates = |c: char| matches!(c, '\u{2066}' | '\u{2067}' | '\u{2068}');
    for c in text.chars() {
        match c {
            '\n' => open.clear(),
            '\u{202d}' | '\u{202e}' | '\u{2066}' | '\u{2067}' | '\u{2068}' | '\u{200e}' | '\u{200f}' | '\u{061c}' => open.push((c, at)),
            // PDF closes the innermost embedding or override.
            '\u{202c}' => {
                if open.last().is_some_and(|(o, _)| embeddings(*o)) {
                    open.pop();
                }
            }
            // PDI closes the innermost isolate, and what was opened inside it.
            '\u{2069}' => {
                if open.iter().any(|(o, _)| isolates(*o)) {
                    while let Some((o, _)) = open.last().copied() {
                        if !(isolates(o) || embeddings(o)) {
                            break;
                        }
                        open.pop();
                        if isolates(o) {
                            break;
                        }
                    }
                }
            }
            _ => {}
        }
        at += c.len_utf16();
    }
    let (c, i) = *open.last()?;
    let preceding = match i {
        0 => String::new(),
        1..=4 => format!(" (preceding text = '{}')", String::from_utf16_lossy(&units[..i])),
        _ => format!(" (preceding text = '{}')", String::from_utf16_lossy(&units[i - 5..i])),
    };
    Some(format!("Unicode Character {} at index {i} has no terminating match{preceding}", bidi_name(c).unwrap_or_default()))
}

/// Whether a decimal has at most 18 digits of mantissa and 4 of exponent,
/// the range the reference takes as commonly supported.
fn decimal_in_range(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, ""),
    };
    let digits = |s: &str| s.bytes().filter(u8::is_ascii_digit).count();
    digits(mantissa) <= 18 && digits(exponent) <= 4
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

/// A CodeableConcept's coding, which no binding of its own decides: with
/// `--tx n/a`, what could not be checked.
pub(crate) fn codeable_concept_coding(walk: &mut Walk<'_, '_>, node: &Node) {
    super::coding::without_service(walk, node);
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
    if system == Some("https://tools.ietf.org/html/rfc4122") {
        if let Some(value) = node.child_text("value") {
            if value.starts_with("urn:uuid:") {
                // TYPE_SPECIFIC_CHECKS_DT_IDENTIFIER_IETF_SYSTEM_WRONG_3
                walk.warn(
                    node,
                    IssueCode::CodeInvalid,
                    format!("The URL 'https://tools.ietf.org/html/rfc4122' should not be used with the UUID '{value}'. Use the system value 'urn:ietf:rfc:3986' instead"),
                );
            } else if crate::primitive::is_uuid(value) {
                // TYPE_SPECIFIC_CHECKS_DT_IDENTIFIER_IETF_SYSTEM_WRONG_2
                walk.warn(
                    node,
                    IssueCode::CodeInvalid,
                    format!("The URL 'https://tools.ietf.org/html/rfc4122' should not be used with the UUID '{value}'. Prefix the value with 'urn:uuid:' and use the system value 'urn:ietf:rfc:3986' instead"),
                );
            } else {
                // TYPE_SPECIFIC_CHECKS_DT_IDENTIFIER_IETF_SYSTEM_WRONG_1
                walk.error(node, IssueCode::CodeInvalid, format!("The URL 'https://tools.ietf.org/html/rfc4122' is not correct for the identifier '{value}'"));
            }
        }
    }
}

/// An Attachment (the path points at it): something to show, a size that
/// is the data's and within the element's `maxSize`, and a hash that is the data's.
pub(crate) fn attachment(walk: &mut Walk<'_, '_>, node: &Node, def: &crate::structure::Element) {
    let max_size = def.value_rules.as_deref().and_then(|r| r.max_size);
    if walk.in_profile() {
        // The profile's own limit; the rest the base walk has said.
        if let (Some(max), Some(data)) = (max_size, node.child_text("data").filter(|d| crate::primitive::base64_shape_ok(d))) {
            let compact: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            if let Ok(content) = strict_base64(&compact) {
                too_long(walk, node, content.len(), max);
            }
        }
        return;
    }
    let has = |name: &str| node.child(name).is_some();
    let mut stated = None;
    if let Some(size) = node.child_text("size") {
        match size.trim().parse::<i64>() {
            Ok(n) if n >= 0 => stated = Some(n as u64),
            // TYPE_SPECIFIC_CHECKS_DT_ATT_SIZE_INVALID
            _ => walk.error(node, IssueCode::Structure, format!("Stated Attachment Size {size} is not valid")),
        }
    }
    let hash = node.child_text("hash").and_then(|h| decoded(walk, node, "hash", h));
    // Data the lexical check refused has had its error.
    let content = node.child_text("data").filter(|d| crate::primitive::base64_shape_ok(d)).and_then(|d| decoded(walk, node, "data", d));
    if !(has("data") || has("url") || has("contentType") || has("language")) {
        // TYPE_SPECIFIC_CHECKS_DT_ATT_NO_CONTENT
        walk.warn(node, IssueCode::Structure, "Attachments have data and/or url, or else SHOULD have either contentType and/or language".into());
    }
    let Some(content) = content else { return };
    if let Some(max) = max_size {
        too_long(walk, node, content.len(), max);
    }
    let actual = content.len() as u64;
    if let Some(stated) = stated.filter(|s| *s != actual) {
        // TYPE_SPECIFIC_CHECKS_DT_ATT_SIZE_CORRECT
        walk.error(node, IssueCode::Structure, format!("Stated Attachment Size {} does not match actual attachment size {}", grouped(stated), grouped(actual)));
    }
    if let Some(hash) = hash {
        let digest = sha1_smol::Sha1::from(&content).digest().bytes();
        if digest[..] != hash[..] {
            use base64::Engine;
            let stated = node.child_text("hash").unwrap_or_default();
            let actual = base64::engine::general_purpose::STANDARD.encode(digest);
            // TYPE_SPECIFIC_CHECKS_DT_ATT_HASH_MISMATCH
            walk.error(node, IssueCode::Structure, format!("The hash of the data did not match the data (stated: '{stated}', actual: '{actual}')"));
        }
    }
}

fn too_long(walk: &mut Walk<'_, '_>, node: &Node, size: usize, max: u64) {
    if size as u64 > max {
        // TYPE_SPECIFIC_CHECKS_DT_ATT_TOO_LONG
        walk.error(node, IssueCode::Structure, format!("Attachment size is {size} bytes which exceeds the stated limit of {max} bytes"));
    }
}

/// An Attachment's `data` or `hash` decoded as the reference decodes it,
/// or the error that it cannot be. Whitespace is left out first: R4 lets
/// readers accept it (its own warning says so), where the reference's
/// strict decoder would refuse HL7's own examples for their line breaks.
fn decoded(walk: &mut Walk<'_, '_>, node: &Node, name: &str, text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    match strict_base64(&compact) {
        Ok(bytes) => Some(bytes),
        Err(why) => {
            // TYPE_SPECIFIC_CHECKS_DT_ATT_B64_DECODE_FAIL
            walk.error(node, IssueCode::Structure, format!("The base64 content in the {name} element is not valid base64: {why}"));
            None
        }
    }
}

/// Base64 decoded strictly (RFC 4648 basic alphabet, no whitespace, padding
/// only at the end), failing with the reasons Java's basic decoder gives,
/// which the reference's messages quote.
pub(super) fn strict_base64(text: &str) -> Result<Vec<u8>, String> {
    // As Java reads a String into bytes: characters past Latin-1 become '?'.
    let src: Vec<u8> = text.chars().map(|c| if (c as u32) < 256 { c as u32 as u8 } else { b'?' }).collect();
    if src.len() == 1 {
        return Err("Input byte[] should at least have 2 bytes for base64 bytes".into());
    }
    let value = |b: u8| -> Option<u32> {
        Some(match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let (mut bits, mut shift, mut i) = (0u32, 18i32, 0usize);
    while i < src.len() {
        let b = src[i];
        i += 1;
        let Some(v) = value(b) else {
            if b == b'=' {
                // `=` where a whole unit is expected, or one `=` of two missing.
                if shift == 6 && (i == src.len() || { i += 1; src[i - 1] != b'=' }) || shift == 18 {
                    return Err("Input byte array has wrong 4-byte ending unit".into());
                }
                break;
            }
            // Java prints the (signed) byte in hex.
            return Err(format!("Illegal base64 character {}", if b < 128 { format!("{b:x}") } else { format!("-{:x}", 256 - b as u32) }));
        };
        bits |= v << shift;
        shift -= 6;
        if shift < 0 {
            out.extend_from_slice(&[(bits >> 16) as u8, (bits >> 8) as u8, bits as u8]);
            (bits, shift) = (0, 18);
        }
    }
    match shift {
        6 => out.push((bits >> 16) as u8),
        0 => out.extend_from_slice(&[(bits >> 16) as u8, (bits >> 8) as u8]),
        12 => return Err("Last unit does not have enough valid bits".into()),
        _ => {}
    }
    if i < src.len() {
        return Err(format!("Input byte array has incorrect ending byte at {i}"));
    }
    Ok(out)
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
