//! Bytes into the element tree: JSON and XML readers and the choice between them.

pub mod json;
pub mod xml;

use crate::issue::{Issue, IssueCode, Severity};
use crate::tree::{Document, Format};

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
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let issue = Issue::new(Severity::Fatal, IssueCode::Invalid, "", format!("The input is not valid UTF-8 (at byte {}): FHIR JSON and XML must be UTF-8", e.valid_up_to()));
            return Document { format: format.unwrap_or(Format::Json), root: None, issues: vec![issue] };
        }
    };
    match format.or_else(|| sniff(text)) {
        Some(Format::Json) => json::parse_json(text),
        Some(Format::Xml) => xml::parse_xml(text),
        None => Document {
            format: Format::Json,
            root: None,
            issues: vec![Issue::new(Severity::Fatal, IssueCode::Invalid, "", "The input is neither JSON (starting with '{') nor XML (starting with '<')")],
        },
    }
}
