//! A primitive's value against its type's own pattern (R4's `regex`
//! extension on `X.value` in the type's StructureDefinition), checked, as
//! the reference checks it, only where the value passed the type's other
//! rules; `id`, `base64Binary` and `markdown` are left to those.
//!
//! The patterns are Java's: `\s` and `\S` are ASCII whitespace there, so
//! they are rewritten as explicit classes before the regex crate reads them.

use crate::issue::IssueCode;
use crate::tree::Node;
use crate::validator::element::Walk;

/// Types whose values the reference does not hold to their pattern.
const EXEMPT: &[&str] = &["id", "base64Binary", "markdown", "xhtml"];

/// Java's whitespace (`\s` without UNICODE_CHARACTER_CLASS), as class members.
const JAVA_SPACE: &str = r"\t\n\x0B\x0C\r ";

/// A type's pattern as the reference uses it, compiled once per pattern text.
struct Compiled {
    /// As the reference reports it (after its own fix of R4's `string` pattern).
    published: String,
    regex: Result<std::sync::Arc<regex::Regex>, String>,
}

/// The compiled patterns by the text the type definitions give (few: one a
/// primitive type); looked up without allocating, as the walk does per value.
fn compiled(pattern: &str) -> std::sync::Arc<Compiled> {
    use std::collections::HashMap;
    use std::sync::{Arc, OnceLock, RwLock};
    static CACHE: OnceLock<RwLock<HashMap<String, Arc<Compiled>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| RwLock::new(HashMap::new()));
    if let Some(hit) = cache.read().ok().and_then(|c| c.get(pattern).cloned()) {
        return hit;
    }
    let published = as_published(pattern).to_owned();
    let regex = crate::fhirpath::compiled_regex(&java_whitespace(&published), true);
    let made = Arc::new(Compiled { published, regex });
    if let Ok(mut c) = cache.write() {
        // Bounded: a pattern comes from a type definition, and contexts can carry their own.
        if c.len() > 256 {
            c.clear();
        }
        c.insert(pattern.to_owned(), made.clone());
    }
    made
}

/// A value of type `code` that passed its lexical rules (the path points at it).
pub(crate) fn check(walk: &mut Walk<'_, '_>, node: &Node, code: &str, text: &str) {
    if EXEMPT.contains(&code) {
        return;
    }
    let Some(pattern) = walk.ctx.type_regex(code) else { return };
    let Some(pattern) = pattern.as_deref() else { return };
    let compiled = compiled(pattern);
    match &compiled.regex {
        Ok(re) => {
            if !re.is_match(text) {
                let pattern = &compiled.published;
                // Type_Specific_Checks_DT_Primitive_Regex_Type
                walk.error(node, IssueCode::Invalid, format!("Element value '{text}' does not meet {code} regex '{pattern}'"));
            }
        }
        Err(e) => {
            let pattern = &compiled.published;
            // TYPE_SPECIFIC_CHECKS_DT_PRIMITIVE_REGEX_EXCEPTION
            walk.error(node, IssueCode::Invalid, format!("Exception evaluating regex '{pattern}' on type {code}: {e}"));
        }
    }
}

/// The pattern as the reference uses it: R4's `string` pattern is read as
/// "anything not empty" (it is written so that no value fails it).
fn as_published(pattern: &str) -> &str {
    if pattern == r"[ \r\n\t\S]+" {
        r"^[\s\S]+$"
    } else {
        pattern
    }
}

/// Rewrites `\s` and `\S` as Java reads them (ASCII whitespace), inside and
/// outside character classes; everything else is left as written.
fn java_whitespace(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut in_class = false;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('s') if in_class => out.push_str(JAVA_SPACE),
                Some('s') => {
                    out.push('[');
                    out.push_str(JAVA_SPACE);
                    out.push(']');
                }
                Some('S') => {
                    // A nested class, which the regex crate unites with the one around it.
                    out.push_str("[^");
                    out.push_str(JAVA_SPACE);
                    out.push(']');
                }
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // A leading `^` or `]` belongs to the class's opening.
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap_or('^'));
                }
                if chars.peek() == Some(&']') {
                    out.push(chars.next().unwrap_or(']'));
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{as_published, java_whitespace};

    #[test]
    fn whitespace_classes_are_ascii_as_in_java() {
        let code = crate::fhirpath::compiled_regex(&java_whitespace(r"[^\s]+(\s[^\s]+)*"), true).unwrap();
        assert!(code.is_match("a b"));
        assert!(!code.is_match("a  b"));
        // A no-break space is not whitespace to Java.
        assert!(code.is_match("a\u{a0}b"));
        let uri = crate::fhirpath::compiled_regex(&java_whitespace(r"\S*"), true).unwrap();
        assert!(uri.is_match("http://x/\u{a0}"));
        assert!(!uri.is_match("http://x y"));
    }

    #[test]
    fn the_string_pattern_takes_anything_not_empty() {
        let s = crate::fhirpath::compiled_regex(&java_whitespace(as_published(r"[ \r\n\t\S]+")), true).unwrap();
        assert!(s.is_match("a\u{0B}b\n"));
        assert!(!s.is_match(""));
    }
}
