//! Every failure of an interaction is a [`FhirError`]: an HTTP status and
//! the issues of the OperationOutcome that explains it.

use crate::issue::{Issue, IssueCode, Severity};

#[derive(Clone, Debug)]
pub struct FhirError {
    pub status: u16,
    pub issues: Vec<Issue>,
}

impl FhirError {
    pub fn new(status: u16, code: IssueCode, message: impl Into<String>) -> FhirError {
        FhirError { status, issues: vec![Issue::error(code, "", message)] }
    }

    pub fn at(mut self, expression: impl Into<String>) -> FhirError {
        if let Some(first) = self.issues.first_mut() {
            first.expression = expression.into();
        }
        self
    }

    pub fn bad_request(message: impl Into<String>) -> FhirError {
        FhirError::new(400, IssueCode::Invalid, message)
    }

    pub fn not_found(message: impl Into<String>) -> FhirError {
        FhirError::new(404, IssueCode::NotFound, message)
    }

    pub fn gone(message: impl Into<String>) -> FhirError {
        FhirError::new(410, IssueCode::NotFound, message)
    }

    pub fn conflict(status: u16, message: impl Into<String>) -> FhirError {
        FhirError::new(status, IssueCode::Conflict, message)
    }

    pub fn not_supported(message: impl Into<String>) -> FhirError {
        FhirError::new(501, IssueCode::NotSupported, message)
    }

    /// A failure of ours (the store), not of the request.
    pub fn internal(message: impl Into<String>) -> FhirError {
        let mut e = FhirError::new(500, IssueCode::Exception, message);
        e.issues[0].severity = Severity::Fatal;
        e
    }

    /// A failure of the store. Its detail (an SQL statement, a path, a
    /// driver message) is for the operator, not the client, and can be
    /// megabytes: it goes to the log, cut short, under a reference the
    /// answer gives.
    pub fn store_failure(detail: impl std::fmt::Display) -> FhirError {
        let reference = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        let detail = detail.to_string();
        tracing::error!(reference = %reference, detail = %cut(&detail, MAX_LOGGED_DETAIL), "store failure");
        FhirError::internal(format!(
            "The store could not complete this request; nothing was changed. Retry it; if it keeps failing, tell the server's operator this reference: {reference}"
        ))
    }

    /// No room left for a write: the disk, or the database's quota.
    pub fn store_full() -> FhirError {
        FhirError::new(
            INSUFFICIENT_STORAGE,
            IssueCode::NoStore,
            "The store is full (its disk, or the quota set with --max-database-bytes), so nothing was written. Tell the server's operator: free disk space or raise --max-database-bytes",
        )
    }

    /// The resource broke the rules it is validated against.
    pub fn unprocessable(issues: Vec<Issue>) -> FhirError {
        FhirError { status: 422, issues }
    }
}

impl std::fmt::Display for FhirError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let first = self.issues.first().map(|i| i.message.as_str()).unwrap_or("");
        write!(f, "{}: {first}", self.status)
    }
}

/// 507 Insufficient Storage.
pub const INSUFFICIENT_STORAGE: u16 = 507;

/// The most of a store failure's detail that goes to the log.
const MAX_LOGGED_DETAIL: usize = 4096;

/// `s` cut to at most `max` bytes (at a character boundary), saying how much was left out.
pub fn cut(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return s.into();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes)", &s[..end], s.len() - end).into()
}

impl From<rusqlite::Error> for FhirError {
    fn from(e: rusqlite::Error) -> FhirError {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
            tracing::error!("store: {}", cut(&e.to_string(), MAX_LOGGED_DETAIL));
            return FhirError::store_full();
        }
        // The search limits (search/query.rs) keep statements below SQLite's
        // own; should one still be too large, it is the request's fault.
        let text = e.to_string();
        if ["too many SQL variables", "Expression tree is too large"].iter().any(|m| text.contains(m)) {
            tracing::warn!("store: a search too large for SQLite: {}", cut(&text, 200));
            return FhirError::new(400, IssueCode::TooCostly, "This search is too large for the store to run; use fewer parameters, values or chains (or a type on chained references, e.g. subject:Patient.name=…)");
        }
        FhirError::store_failure(text)
    }
}

pub type FhirResult<T> = Result<T, FhirError>;

/// An OperationOutcome holding `issues` (or, with none, one saying all is well).
pub fn operation_outcome(issues: &[Issue]) -> serde_json::Value {
    let mut list: Vec<serde_json::Value> = issues.iter().map(crate::outcome::issue_json).collect();
    if list.is_empty() {
        list.push(serde_json::json!({"severity": "information", "code": "informational", "details": {"text": "All OK"}}));
    }
    serde_json::json!({"resourceType": "OperationOutcome", "issue": list})
}
