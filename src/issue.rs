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
    /// The reference's `unknown` (R4 IssueType `unknown`): a circular
    /// definition, or a name that refers to nothing known here.
    Unknown,
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
            IssueCode::Unknown => "unknown",
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
    /// Where the XML reader found it, as an XML path (`/f:Observation/f:status`,
    /// `Endpoint/f:connectionType` inside a Bundle): what the reference
    /// validator gives for XML it cannot read into elements.
    pub location: Option<String>,
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
            location: None,
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

    pub fn located(mut self, xml_path: String) -> Issue {
        self.location = Some(xml_path);
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

/// Text of the input as a message quotes it: at most 200 characters (a code,
/// url or display may be a megabyte, and quoted once per issue).
pub fn quoted(text: &str) -> std::borrow::Cow<'_, str> {
    shortened(text, 200, "…")
}

/// At most `limit` characters of `text`, followed by `mark` when it was cut:
/// what messages do with text from the input, which may be of any length.
pub fn shortened<'a>(text: &'a str, limit: usize, mark: &str) -> std::borrow::Cow<'a, str> {
    match text.char_indices().nth(limit) {
        None => std::borrow::Cow::Borrowed(text),
        Some((cut, _)) => std::borrow::Cow::Owned(format!("{}{mark}", &text[..cut])),
    }
}

/// A list of issues whose size is bounded, for everything that reports
/// issues about an input of any size (the readers, the validator's walk):
/// each message and expression is kept to [`IssueList::TEXT_CHARS`]
/// characters (to [`IssueList::LATE_TEXT_CHARS`] once the messages come to
/// [`IssueList::LATE_AFTER_BYTES`]), and past `limit` bytes issues are only
/// counted; [`IssueList::into_issues`] then adds one that says how many, with
/// the gravest severity among them, so no verdict is lost.
#[derive(Debug)]
pub struct IssueList {
    issues: Vec<Issue>,
    limit: usize,
    listed_bytes: usize,
    message_bytes: usize,
    /// Issues only counted: fatal, error, warning, information.
    unlisted: [usize; 4],
}

impl IssueList {
    pub const TEXT_CHARS: usize = 2_000;
    pub const LATE_TEXT_CHARS: usize = 160;
    pub const LATE_AFTER_BYTES: usize = 8 << 20;
    /// What an issue takes beyond its message and expression.
    pub const OVERHEAD: usize = 320;

    pub fn new(limit: usize) -> IssueList {
        IssueList { issues: Vec::new(), limit, listed_bytes: 0, message_bytes: 0, unlisted: [0; 4] }
    }

    /// The most one issue is counted as taking: its message, and its
    /// expression with its location, each up to four bytes a character.
    const LARGEST_ISSUE: usize = 2 * Self::TEXT_CHARS * 4 + Self::OVERHEAD;

    /// Whether what is reported now is only counted: its message and
    /// expression need not be made. Full as soon as the largest issue would
    /// not fit, so that no issue is made only to be refused (the
    /// twenty-seventh pass's S1: long issues were built and dropped by the
    /// hundred thousand while the list still said it had room).
    pub fn is_full(&self) -> bool {
        self.listed_bytes + Self::LARGEST_ISSUE > self.limit
    }

    /// Counts an issue that is not listed.
    pub fn count(&mut self, severity: Severity) {
        let slot = match severity {
            Severity::Fatal => 0,
            Severity::Error => 1,
            Severity::Warning => 2,
            Severity::Information => 3,
        };
        self.unlisted[slot] += 1;
    }

    pub fn push(&mut self, mut issue: Issue) {
        let location = issue.location.as_ref().map_or(0, String::len);
        let size = issue.message.len().min(Self::TEXT_CHARS * 4) + (issue.expression.len() + location).min(Self::TEXT_CHARS * 4) + Self::OVERHEAD;
        if self.listed_bytes + size > self.limit {
            self.count(issue.severity);
            return;
        }
        let chars = if self.message_bytes > Self::LATE_AFTER_BYTES { Self::LATE_TEXT_CHARS } else { Self::TEXT_CHARS };
        for text in [&mut issue.message, &mut issue.expression].into_iter().chain(issue.location.as_mut()) {
            if let Some((cut, _)) = text.char_indices().nth(chars) {
                let more = text[cut..].chars().count();
                *text = shortened(text, chars, &format!("… ({more} characters more)")).into_owned();
            }
        }
        self.message_bytes += issue.message.len();
        self.listed_bytes += issue.message.len() + issue.expression.len() + issue.location.as_ref().map_or(0, String::len) + Self::OVERHEAD;
        self.issues.push(issue);
    }

    pub fn len(&self) -> usize {
        self.issues.len()
    }

    /// Takes back the listed issues `gone` picks (a later, more specific
    /// judgement replaces them).
    pub fn remove_where(&mut self, gone: impl Fn(&Issue) -> bool) {
        let listed_bytes = &mut self.listed_bytes;
        let message_bytes = &mut self.message_bytes;
        self.issues.retain(|i| {
            if !gone(i) {
                return true;
            }
            *message_bytes = message_bytes.saturating_sub(i.message.len());
            *listed_bytes = listed_bytes.saturating_sub(i.message.len() + i.expression.len() + i.location.as_ref().map_or(0, String::len) + Self::OVERHEAD);
            false
        });
    }

    pub fn is_empty(&self) -> bool {
        self.issues.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Issue> {
        self.issues.iter()
    }

    /// The issues listed, and, when some were only counted, one more at
    /// `expression` saying how many (`what` names the list in it).
    pub fn into_issues(self, expression: &str, what: &str) -> Vec<Issue> {
        let mut issues = self.issues;
        let [fatal, error, warning, information] = self.unlisted;
        let all = fatal + error + warning + information;
        if all > 0 {
            // Severities order gravest first.
            let severity = [(fatal, Severity::Fatal), (error, Severity::Error), (warning, Severity::Warning), (information, Severity::Information)]
                .into_iter()
                .find(|(n, _)| *n > 0)
                .map_or(Severity::Information, |(_, s)| s);
            issues.push(Issue::new(
                severity,
                IssueCode::TooCostly,
                expression,
                format!(
                    "{all} more issues ({} errors, {warning} warnings, {information} information) are not listed: {what} stops at {} MiB",
                    fatal + error,
                    self.limit >> 20
                ),
            ));
        }
        issues
    }
}
