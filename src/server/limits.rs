//! Limits on what one request may carry, beyond the body size (`http.rs`):
//! nesting depth, string length and the number of Bundle entries. Each
//! breach is refused before anything is validated or stored, with an
//! OperationOutcome that names the limit and the setting that raises it.
//! (The readers have their own hard ceilings: JSON 256 levels, XML 512,
//! and no DOCTYPE.)

use super::error::{FhirError, FhirResult};
use crate::issue::IssueCode;
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of objects and arrays in a resource.
    pub max_depth: usize,
    /// Longest string value, in bytes (base64 `data` of attachments excepted).
    pub max_string_bytes: usize,
    /// Most entries in a batch or transaction Bundle.
    pub max_bundle_entries: usize,
}

pub const DEFAULT_MAX_DEPTH: usize = 100;
/// FHIR's own limit on a string: 1 MB.
pub const DEFAULT_MAX_STRING_BYTES: usize = 1024 * 1024;
pub const DEFAULT_MAX_BUNDLE_ENTRIES: usize = 10_000;

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_depth: DEFAULT_MAX_DEPTH, max_string_bytes: DEFAULT_MAX_STRING_BYTES, max_bundle_entries: DEFAULT_MAX_BUNDLE_ENTRIES }
    }
}

pub fn check_entries(limits: &Limits, n: usize) -> FhirResult<()> {
    if n > limits.max_bundle_entries {
        return Err(FhirError::new(
            413,
            IssueCode::TooCostly,
            format!("The Bundle has {n} entries; this server takes at most {} in one batch or transaction (--max-bundle-entries); split it", limits.max_bundle_entries),
        )
        .at("Bundle.entry"));
    }
    Ok(())
}

/// Checks a resource's JSON against the depth and string limits.
pub fn check_json(limits: &Limits, value: &Value) -> FhirResult<()> {
    walk(limits, value, 0, "")
}

fn walk(limits: &Limits, value: &Value, depth: usize, key: &str) -> FhirResult<()> {
    match value {
        Value::Object(map) => {
            enter(limits, depth)?;
            for (k, v) in map {
                walk(limits, v, depth + 1, k)?;
            }
        }
        Value::Array(items) => {
            enter(limits, depth)?;
            for v in items {
                walk(limits, v, depth + 1, key)?;
            }
        }
        Value::String(s) if s.len() > limits.max_string_bytes && key != "data" => {
            return Err(FhirError::new(
                422,
                IssueCode::TooLong,
                format!("A string in '{key}' is {} bytes long; this server takes strings of at most {} bytes (--max-string-bytes)", s.len(), limits.max_string_bytes),
            ));
        }
        _ => {}
    }
    Ok(())
}

fn enter(limits: &Limits, depth: usize) -> FhirResult<()> {
    if depth >= limits.max_depth {
        return Err(FhirError::new(400, IssueCode::TooCostly, format!("The resource is nested more than {} levels deep; this server does not accept it (--max-depth)", limits.max_depth)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn depth_strings_and_entries_are_limited() {
        let l = Limits { max_depth: 3, max_string_bytes: 5, max_bundle_entries: 2 };
        assert!(check_json(&l, &json!({"a": {"b": "x"}})).is_ok());
        assert!(check_json(&l, &json!({"a": {"b": {"c": 1}}})).is_ok(), "three levels");
        assert_eq!(check_json(&l, &json!({"a": {"b": {"c": {"d": 1}}}})).unwrap_err().status, 400);
        assert_eq!(check_json(&l, &json!({"a": "123456"})).unwrap_err().status, 422);
        assert!(check_json(&l, &json!({"data": "123456"})).is_ok());
        assert_eq!(check_entries(&l, 3).unwrap_err().status, 413);
    }
}
