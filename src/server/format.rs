//! The wire: which format a request's body is in and which the answer
//! should be in (`_format`, `Accept`, `Content-Type`), reading a body into
//! the element tree and its JSON, and writing a resource out.

use super::error::{FhirError, FhirResult};
use crate::context::Context;
use crate::issue::{IssueCode, Severity};
use crate::tree::{Document, Format};
use serde_json::Value;

pub const FHIR_JSON: &str = "application/fhir+json";
pub const FHIR_XML: &str = "application/fhir+xml";

/// The `_format` values and media types we answer to, as the CapabilityStatement lists them.
pub const JSON_NAMES: &[&str] = &["json", "application/json", FHIR_JSON, "application/json+fhir"];
pub const XML_NAMES: &[&str] = &["xml", "application/xml", "text/xml", FHIR_XML, "application/xml+fhir"];

fn media_type(value: &str) -> &str {
    value.split(';').next().unwrap_or(value).trim()
}

fn named(value: &str) -> Option<Format> {
    let t = media_type(value).to_ascii_lowercase();
    if JSON_NAMES.contains(&t.as_str()) {
        Some(Format::Json)
    } else if XML_NAMES.contains(&t.as_str()) {
        Some(Format::Xml)
    } else {
        None
    }
}

/// The answer's format: `_format` first, then the first `Accept` entry we
/// can write, then JSON.
pub fn negotiate(format_param: Option<&str>, accept: Option<&str>) -> Format {
    if let Some(f) = format_param.and_then(named) {
        return f;
    }
    accept.and_then(|a| a.split(',').find_map(named)).unwrap_or(Format::Json)
}

/// The body's format from its `Content-Type`; `None` lets the bytes decide.
pub fn body_format(content_type: Option<&str>) -> Option<Format> {
    content_type.and_then(named)
}

pub fn content_type(format: Format) -> &'static str {
    match format {
        Format::Json => "application/fhir+json; charset=utf-8",
        Format::Xml => "application/fhir+xml; charset=utf-8",
    }
}

/// A resource read off the wire: its tree (for validation and indexing) and its JSON (for storing).
pub struct Parsed {
    pub doc: Document,
    pub json: Value,
    pub res_type: String,
}

/// Reads a resource body. A body that cannot be read at all is a 400 with
/// the reader's issues.
pub fn parse_resource(ctx: &Context, bytes: &[u8], format: Option<Format>) -> FhirResult<Parsed> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(FhirError::bad_request("The request has no body; send a FHIR resource in JSON (application/fhir+json) or XML (application/fhir+xml)"));
    }
    let doc = crate::parse::parse(bytes, format);
    let fatal: Vec<_> = doc.issues.iter().filter(|i| i.severity == Severity::Fatal).cloned().collect();
    let Some(root) = doc.root.as_ref().filter(|_| fatal.is_empty()) else {
        let mut issues = fatal;
        if issues.is_empty() {
            issues.push(crate::issue::Issue::error(IssueCode::Structure, "", "The body is not a FHIR resource"));
        }
        return Err(FhirError { status: 400, issues });
    };
    let Some(res_type) = root.resource_type.as_deref().map(str::to_string) else {
        return Err(FhirError::bad_request("The body has no resourceType; a FHIR resource must say what it is"));
    };
    let json = match doc.format {
        Format::Json => serde_json::from_slice(bytes).map_err(|e| FhirError::bad_request(format!("The body is not valid JSON: {e}")))?,
        Format::Xml => crate::convert::resource_to_json(root, ctx),
    };
    Ok(Parsed { doc, json, res_type })
}

/// A resource in the answer's format.
pub fn render(value: &Value, format: Format, ctx: &Context) -> Vec<u8> {
    match format {
        Format::Json => serde_json::to_vec(value).unwrap_or_default(),
        Format::Xml => crate::render::xml::resource_to_xml(value, ctx).into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_parameter_beats_accept_and_json_is_the_default() {
        assert_eq!(negotiate(Some("xml"), Some(FHIR_JSON)), Format::Xml);
        assert_eq!(negotiate(None, Some("text/html, application/fhir+xml;q=0.9")), Format::Xml);
        assert_eq!(negotiate(None, Some("*/*")), Format::Json);
        assert_eq!(body_format(Some("application/fhir+json; charset=utf-8")), Some(Format::Json));
    }
}
