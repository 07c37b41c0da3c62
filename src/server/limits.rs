//! Limits on what one request may carry, beyond the body size (`http.rs`):
//! nesting depth, string length and the number of Bundle entries; and on
//! what one request may cost: the bytes of resources its answer carries
//! ([`Budget`]) and the searches one Bundle runs. Each breach is refused
//! before the work it would cost is done, with an OperationOutcome that
//! names the limit and the setting that raises it. (The readers have their
//! own hard ceilings: JSON 256 levels, XML 512, and no DOCTYPE.)

use super::error::{FhirError, FhirResult};
use crate::issue::IssueCode;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of objects and arrays in a resource.
    pub max_depth: usize,
    /// Longest string value, in bytes (base64 `data` of attachments excepted).
    pub max_string_bytes: usize,
    /// Most entries in a batch or transaction Bundle.
    pub max_bundle_entries: usize,
    /// Most bytes of resources one answer carries (a batch's entries together).
    pub max_response_bytes: usize,
    /// Most search and history entries in one batch Bundle.
    pub max_bundle_searches: usize,
    /// Most conditional references and conditional entries in one Bundle:
    /// each is a search, run while a transaction holds the store's writer.
    pub max_bundle_conditionals: usize,
}

pub const DEFAULT_MAX_DEPTH: usize = 100;
/// FHIR's own limit on a string: 1 MB.
pub const DEFAULT_MAX_STRING_BYTES: usize = 1024 * 1024;
pub const DEFAULT_MAX_BUNDLE_ENTRIES: usize = 10_000;
/// As large as the largest body a client may send.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
pub const DEFAULT_MAX_BUNDLE_SEARCHES: usize = 100;
/// A PRSB plan of a few hundred items maps to as many conditional entries.
pub const DEFAULT_MAX_BUNDLE_CONDITIONALS: usize = 1_000;

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: DEFAULT_MAX_DEPTH,
            max_string_bytes: DEFAULT_MAX_STRING_BYTES,
            max_bundle_entries: DEFAULT_MAX_BUNDLE_ENTRIES,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_bundle_searches: DEFAULT_MAX_BUNDLE_SEARCHES,
            max_bundle_conditionals: DEFAULT_MAX_BUNDLE_CONDITIONALS,
        }
    }
}

/// What is left of one request's answer: bytes of resources it may still
/// carry. Searches and histories take from it as they load each resource,
/// so an answer stops growing when it is spent instead of being built
/// whole and measured afterwards; the entries of a batch share their
/// Bundle's.
#[derive(Debug)]
pub struct Budget {
    limit: usize,
    spent: AtomicUsize,
}

impl Budget {
    pub fn new(limit: usize) -> Arc<Budget> {
        Arc::new(Budget { limit, spent: AtomicUsize::new(0) })
    }

    /// Takes `bytes` unless the budget is already spent. The resource that
    /// crosses the limit is still taken, so an answer holds at least one
    /// resource and overshoots by at most one.
    pub fn take(&self, bytes: usize) -> bool {
        self.spent.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |spent| (spent < self.limit).then(|| spent.saturating_add(bytes))).is_ok()
    }

    /// What is left of the budget, in bytes.
    pub fn remaining(&self) -> usize {
        self.limit.saturating_sub(self.spent.load(Ordering::Relaxed))
    }

    pub fn spent(&self) -> bool {
        self.spent.load(Ordering::Relaxed) >= self.limit
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Why an answer stops here: for the OperationOutcome of a cut page or a refused entry.
    pub fn message(&self) -> String {
        format!("this answer has reached this server's limit of {} bytes of resources (--max-response-bytes)", self.limit)
    }
}

/// What an entry of a search or history answer costs besides its resource
/// (fullUrl, search or request and response): counted so that many small
/// resources cannot outgrow the budget.
pub const ENTRY_OVERHEAD: usize = 200;

/// Searches and histories are the entries whose work grows with the
/// data, so a batch may hold only so many of them.
pub fn check_searches(limits: &Limits, n: usize) -> FhirResult<()> {
    if n > limits.max_bundle_searches {
        return Err(FhirError::new(
            413,
            IssueCode::TooCostly,
            format!("The Bundle has {n} search or history entries; this server runs at most {} in one batch (--max-bundle-searches); split it", limits.max_bundle_searches),
        )
        .at("Bundle.entry"));
    }
    Ok(())
}

/// Conditional references and entries are searches too, and a transaction
/// runs them under the store's writer: refused past the limit before any runs.
pub fn check_conditionals(limits: &Limits, n: usize) -> FhirResult<()> {
    if n > limits.max_bundle_conditionals {
        return Err(FhirError::new(
            413,
            IssueCode::TooCostly,
            format!("The Bundle has {n} different conditional references and conditional entries; this server resolves at most {} in one Bundle (--max-bundle-conditionals); refer to resources by id, or split it", limits.max_bundle_conditionals),
        )
        .at("Bundle.entry"));
    }
    Ok(())
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

/// The most search index values one resource may make, and their bytes:
/// each is a row written while the store's writer is held, and a value
/// repeated in many rows must not turn a small body into a large store.
pub const MAX_INDEX_ROWS: usize = 250_000;
pub const MAX_INDEX_BYTES: usize = 64 * 1024 * 1024;

pub fn check_index(rows: &[super::search::index::IndexRow]) -> FhirResult<()> {
    let bytes: usize = rows.iter().map(|r| r.size()).sum();
    if rows.len() > MAX_INDEX_ROWS || bytes > MAX_INDEX_BYTES {
        return Err(FhirError::new(
            413,
            IssueCode::TooCostly,
            format!(
                "The resource has too many searchable values (codes, identifiers, references...): this server indexes at most {MAX_INDEX_ROWS} values and {} MiB for one resource; split it",
                MAX_INDEX_BYTES / (1024 * 1024)
            ),
        ));
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

/// The element tree's nesting against `--max-depth`, without recursion:
/// a body read from XML is converted and validated by walks that recurse.
pub fn check_tree_depth(limits: &Limits, root: &crate::tree::Node) -> FhirResult<()> {
    let mut stack = vec![(root, 0usize)];
    while let Some((node, depth)) = stack.pop() {
        enter(limits, depth)?;
        stack.extend(node.children.iter().map(|c| (c, depth + 1)));
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
        let l = Limits { max_depth: 3, max_string_bytes: 5, max_bundle_entries: 2, max_bundle_searches: 1, ..Limits::default() };
        assert!(check_json(&l, &json!({"a": {"b": "x"}})).is_ok());
        assert!(check_json(&l, &json!({"a": {"b": {"c": 1}}})).is_ok(), "three levels");
        assert_eq!(check_json(&l, &json!({"a": {"b": {"c": {"d": 1}}}})).unwrap_err().status, 400);
        assert_eq!(check_json(&l, &json!({"a": "123456"})).unwrap_err().status, 422);
        assert!(check_json(&l, &json!({"data": "123456"})).is_ok());
        assert_eq!(check_entries(&l, 3).unwrap_err().status, 413);
        assert_eq!(check_searches(&l, 2).unwrap_err().status, 413);
        assert!(check_searches(&l, 1).is_ok());
    }

    #[test]
    fn a_budget_holds_at_least_one_resource_and_then_stops() {
        let b = Budget::new(100);
        assert!(b.take(60));
        assert!(!b.spent());
        assert!(b.take(60), "the resource that crosses the limit is taken");
        assert!(b.spent());
        assert!(!b.take(1));
        let one = Budget::new(10);
        assert!(one.take(1000), "a resource larger than the whole budget is still shown alone");
        assert!(!one.take(1));
    }
}
