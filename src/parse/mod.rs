//! Bytes into the element tree: JSON and XML readers and the choice between them.

pub mod json;
pub mod xml;

use std::collections::HashMap;
use crate::issue::{Issue, IssueCode, Severity};
use crate::tree::{Document, Format};

/// The format a file name's extension says (`.json`, `.xml`), if any.
pub fn format_of_name(name: &str) -> Option<Format> {
    if name.ends_with(".xml") {
        Some(Format::Xml)
    } else if name.ends_with(".json") {
        Some(Format::Json)
    } else {
        None
    }
}

/// Guesses the format from the first significant character.
pub fn sniff(text: &str) -> Option<Format> {
    match text.trim_start_matches('\u{feff}').trim_start().as_bytes().first() {
        Some(b'{') => Some(Format::Json),
        Some(b'<') => Some(Format::Xml),
        _ => None,
    }
}

/// Parses bytes in the given format (or the sniffed one).
pub fn parse(bytes: &[u8], format: Option<Format>) -> Document {
    let mut doc = parse_raw(bytes, format);
    normalize_expressions(&mut doc);
    doc
}

/// The readers write paths as they go, before they know the resource type
/// or whether an element repeats. Once the tree is whole, each parser issue's
/// path is made a proper FHIRPath from the resource root, with indices only
/// on elements that repeat.
fn normalize_expressions(doc: &mut Document) {
    let Some(root) = &doc.root else { return };
    let type_name = root.resource_type.as_deref().unwrap_or(root.name.as_str());
    // Each node's children by name, gathered once: a reader's issues may be
    // many, about the children of one wide element.
    let mut children: HashMap<(*const crate::tree::Node, String), Vec<&crate::tree::Node>> = HashMap::new();
    for issue in &mut doc.issues {
        if issue.expression.is_empty() {
            issue.expression = type_name.to_string();
            continue;
        }
        let rest = match issue.expression.strip_prefix(type_name) {
            Some(r) if r.is_empty() || r.starts_with('.') => r.trim_start_matches('.').to_string(),
            _ => issue.expression.clone(),
        };
        let mut out = type_name.to_string();
        let mut node = Some(root);
        for seg in rest.split('.').filter(|s| !s.is_empty()) {
            let (name, index) = match seg.split_once('[') {
                Some((n, i)) => (n, i.trim_end_matches(']').parse::<usize>().ok()),
                None => (seg, None),
            };
            let name = name.strip_prefix('_').unwrap_or(name);
            let siblings: &[&crate::tree::Node] = match node {
                Some(n) => children.entry((n as *const _, name.to_string())).or_insert_with(|| n.children.iter().filter(|c| c.name == name).collect()),
                None => &[],
            };
            let repeats = siblings.len() > 1 || siblings.first().is_some_and(|c| c.in_array);
            out.push('.');
            out.push_str(name);
            match index {
                Some(i) if repeats => out.push_str(&format!("[{i}]")),
                _ => {}
            }
            node = siblings.get(index.unwrap_or(0)).copied();
        }
        issue.expression = out;
    }
}

fn parse_raw(bytes: &[u8], format: Option<Format>) -> Document {
    // SIMD validation for the common, valid case; the standard library's
    // for the position of the first bad byte.
    let text = match simdutf8::basic::from_utf8(bytes).map_err(|_| std::str::from_utf8(bytes).unwrap_err()) {
        Ok(t) => t,
        Err(e) => {
            let issue = Issue::new(Severity::Fatal, IssueCode::Invalid, "", format!("The input is not valid UTF-8 (at byte {}): FHIR JSON and XML must be UTF-8", e.valid_up_to()));
            return Document { format: format.unwrap_or(Format::Json), root: None, issues: vec![issue], xsi_types: Vec::new() };
        }
    };
    match format.or_else(|| sniff(text)) {
        Some(Format::Json) => json::parse_json(text),
        Some(Format::Xml) => xml::parse_xml(text),
        None => Document {
            format: Format::Json,
            root: None,
            issues: vec![Issue::new(Severity::Fatal, IssueCode::Invalid, "", "The input is neither JSON (starting with '{') nor XML (starting with '<')")],
            xsi_types: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_one_fatal_issue_naming_the_byte() {
        let d = parse(b"{\"resourceType\":\"Patient\",\"id\":\"a\xff\"}", None);
        assert!(d.root.is_none());
        assert_eq!(d.issues.len(), 1);
        assert!(d.issues[0].message.contains("at byte 33"), "{}", d.issues[0].message);
    }

    #[test]
    fn parser_issue_paths_start_at_the_resource_and_index_only_what_repeats() {
        let d = parse(br#"{"resourceType":"Patient","name":[{"given":["A",null]}],"gender":null}"#, None);
        let exprs: Vec<&str> = d.issues.iter().map(|i| i.expression.as_str()).collect();
        assert!(exprs.contains(&"Patient.name[0].given[1]"), "{exprs:?}");
        assert!(exprs.contains(&"Patient.gender"), "{exprs:?}");
        let d = parse(br#"<Observation xmlns="http://hl7.org/fhir"><status value="final" something="x"/><code><coding bogus="1"/><coding/></code></Observation>"#, None);
        let exprs: Vec<&str> = d.issues.iter().map(|i| i.expression.as_str()).collect();
        assert!(exprs.contains(&"Observation.status"), "{exprs:?}");
        assert!(exprs.contains(&"Observation.code.coding[0]"), "{exprs:?}");
    }
}
