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

/// Whether a read of a Binary whose content type is `own` answers its raw
/// bytes for this `Accept` header: when it names `own` (parameters aside),
/// or names no FHIR format at all (`*/*`, `image/*`, a browser's list).
/// An `Accept` with a FHIR format in it (and not `own`) gets the resource.
pub fn accepts_raw(accept: &str, own: &str) -> bool {
    let own = media_type(own).to_ascii_lowercase();
    let mut fhir = false;
    for entry in accept.split(',') {
        let t = media_type(entry).to_ascii_lowercase();
        if t == own {
            return true;
        }
        fhir |= named(&t).is_some();
    }
    !fhir
}

/// A raw body sent to `POST /Binary` or `PUT /Binary/{id}` with a
/// `Content-Type` that is not a FHIR format: the JSON of the Binary that
/// holds it (`contentType` that type, `data` the body in base64, and
/// `securityContext` from an `X-Security-Context` header). Any other
/// request's body comes back unchanged as the error.
pub fn binary_of_raw_body(method: &str, path: &str, content_type: Option<&str>, security_context: Option<&str>, body: Vec<u8>) -> Result<Vec<u8>, Vec<u8>> {
    use base64::Engine as _;
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let id = match (method, segments.as_slice()) {
        ("POST", ["Binary"]) => None,
        ("PUT", ["Binary", id]) => Some(*id),
        _ => return Err(body),
    };
    let Some(content_type) = content_type.map(str::trim).filter(|c| !c.is_empty() && named(c).is_none()) else { return Err(body) };
    // `code`: no leading, trailing or repeated whitespace.
    let content_type = content_type.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut binary = serde_json::json!({"resourceType": "Binary"});
    if let Some(id) = id {
        binary["id"] = Value::String(id.to_string());
    }
    binary["contentType"] = Value::String(content_type);
    if let Some(reference) = security_context.map(str::trim).filter(|r| !r.is_empty()) {
        binary["securityContext"] = serde_json::json!({"reference": reference});
    }
    if !body.is_empty() {
        binary["data"] = Value::String(base64::engine::general_purpose::STANDARD.encode(&body));
    }
    serde_json::to_vec(&binary).map_err(|_| body)
}

/// A resource read off the wire: its tree (for validation and indexing) and its JSON (for storing).
pub struct Parsed {
    pub doc: Document,
    pub json: Value,
    pub res_type: String,
}

/// Reads a resource body. A body that cannot be read at all is a 400 with
/// the reader's issues.
pub fn parse_resource(ctx: &Context, limits: &super::limits::Limits, bytes: &[u8], format: Option<Format>) -> FhirResult<Parsed> {
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
    // Before anything recurses over the tree (the XML-to-JSON conversion,
    // the validator), on threads whose stacks are small.
    super::limits::check_tree_depth(limits, root)?;
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

    #[test]
    fn binaries_answer_raw_unless_a_fhir_format_is_asked_for() {
        assert!(accepts_raw("image/png", "image/png"));
        assert!(accepts_raw("*/*", "image/png"));
        assert!(accepts_raw("text/html,application/xhtml+xml,*/*;q=0.8", "application/pdf"));
        assert!(accepts_raw("application/json", "application/json; charset=utf-8"), "its own type, even a FHIR name");
        assert!(!accepts_raw("application/fhir+json", "image/png"));
        assert!(!accepts_raw("application/fhir+xml;q=0.9, */*;q=0.1", "image/png"));
    }

    #[test]
    fn raw_binary_bodies_become_binaries_and_nothing_else_does() {
        let json = binary_of_raw_body("PUT", "Binary/b1", Some("text/plain;  charset=utf-8"), Some("DocumentReference/d1"), b"hello".to_vec()).unwrap();
        let v: Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v, serde_json::json!({"resourceType": "Binary", "id": "b1", "contentType": "text/plain; charset=utf-8", "securityContext": {"reference": "DocumentReference/d1"}, "data": "aGVsbG8="}));
        assert!(binary_of_raw_body("POST", "Binary", Some(FHIR_JSON), None, b"{}".to_vec()).is_err());
        assert!(binary_of_raw_body("POST", "Binary", None, None, b"x".to_vec()).is_err());
        assert!(binary_of_raw_body("POST", "Patient", Some("image/png"), None, b"x".to_vec()).is_err());
        assert!(binary_of_raw_body("PATCH", "Binary/b1", Some("image/png"), None, b"x".to_vec()).is_err());
    }
}
