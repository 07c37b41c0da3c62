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

impl From<rusqlite::Error> for FhirError {
    fn from(e: rusqlite::Error) -> FhirError {
        tracing::error!("store: {e}");
        FhirError::internal(format!("The store failed ({e}); nothing was changed. Retry the request; if it keeps failing, tell the server's operator."))
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
