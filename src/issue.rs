//! What a check found: one `Issue` per problem, in the shape of an
//! OperationOutcome issue, so that every producer (parsers, validator,
//! mapper, server) reports the same way.

use crate::tree::Pos;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Fatal,
    Error,
    Warning,
    Information,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Fatal => "fatal",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Information => "information",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "fatal" => Severity::Fatal,
            "error" => Severity::Error,
            "warning" => Severity::Warning,
            "information" | "info" => Severity::Information,
            _ => return None,
        })
    }

    /// Fatal and error both fail validation.
    pub fn is_error(self) -> bool {
        matches!(self, Severity::Fatal | Severity::Error)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The FHIR `IssueType` codes we emit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IssueCode {
    Invalid,
    Structure,
    Required,
    Value,
    Invariant,
    Security,
    Processing,
    NotSupported,
    Duplicate,
    NotFound,
    TooLong,
    CodeInvalid,
    Extension,
    BusinessRule,
    Conflict,
    Exception,
    Informational,
    Forbidden,
    TooCostly,
    /// The store cannot take (or record) anything more: a full disk or quota.
    NoStore,
    Timeout,
}

impl IssueCode {
    pub fn as_str(self) -> &'static str {
        match self {
            IssueCode::Invalid => "invalid",
            IssueCode::Structure => "structure",
            IssueCode::Required => "required",
            IssueCode::Value => "value",
            IssueCode::Invariant => "invariant",
            IssueCode::Security => "security",
            IssueCode::Processing => "processing",
            IssueCode::NotSupported => "not-supported",
            IssueCode::Duplicate => "duplicate",
            IssueCode::NotFound => "not-found",
            IssueCode::TooLong => "too-long",
            IssueCode::CodeInvalid => "code-invalid",
            IssueCode::Extension => "extension",
            IssueCode::BusinessRule => "business-rule",
            IssueCode::Conflict => "conflict",
            IssueCode::Exception => "exception",
            IssueCode::Informational => "informational",
            IssueCode::Forbidden => "forbidden",
            IssueCode::TooCostly => "too-costly",
            IssueCode::NoStore => "no-store",
            IssueCode::Timeout => "timeout",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Issue {
    pub severity: Severity,
    pub code: IssueCode,
    pub message: String,
    /// FHIRPath from the resource root, with indices on repeating elements.
    pub expression: String,
    pub pos: Option<Pos>,
    /// The profile (canonical URL) whose rule raised this issue, if any.
    pub source: Option<String>,
    /// A stable identifier of the rule (an invariant key, or our own id).
    pub rule: Option<String>,
}

impl Issue {
    pub fn new(severity: Severity, code: IssueCode, expression: impl Into<String>, message: impl Into<String>) -> Issue {
        Issue {
            severity,
            code,
            message: message.into(),
            expression: expression.into(),
            pos: None,
            source: None,
            rule: None,
        }
    }

    pub fn error(code: IssueCode, expression: impl Into<String>, message: impl Into<String>) -> Issue {
        Issue::new(Severity::Error, code, expression, message)
    }

    pub fn warning(code: IssueCode, expression: impl Into<String>, message: impl Into<String>) -> Issue {
        Issue::new(Severity::Warning, code, expression, message)
    }

    pub fn info(code: IssueCode, expression: impl Into<String>, message: impl Into<String>) -> Issue {
        Issue::new(Severity::Information, code, expression, message)
    }

    pub fn at(mut self, pos: Pos) -> Issue {
        self.pos = Some(pos);
        self
    }

    pub fn from_profile(mut self, url: impl Into<String>) -> Issue {
        self.source = Some(url.into());
        self
    }

    pub fn rule(mut self, rule: impl Into<String>) -> Issue {
        self.rule = Some(rule.into());
        self
    }
}

/// Counts by severity, the way the reference validator summarises a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub errors: usize,
    pub warnings: usize,
    pub information: usize,
}

impl Tally {
    pub fn of(issues: &[Issue]) -> Tally {
        let mut t = Tally::default();
        for i in issues {
            match i.severity {
                Severity::Fatal | Severity::Error => t.errors += 1,
                Severity::Warning => t.warnings += 1,
                Severity::Information => t.information += 1,
            }
        }
        t
    }
}

/// At most `limit` characters of `text`, followed by `mark` when it was cut:
/// what messages do with text from the input, which may be of any length.
pub fn shortened<'a>(text: &'a str, limit: usize, mark: &str) -> std::borrow::Cow<'a, str> {
    match text.char_indices().nth(limit) {
        None => std::borrow::Cow::Borrowed(text),
        Some((cut, _)) => std::borrow::Cow::Owned(format!("{}{mark}", &text[..cut])),
    }
}
