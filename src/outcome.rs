//! Issues as users see them: a FHIR OperationOutcome (JSON), compiler-style
//! text lines, or JUnit XML for CI dashboards.

use crate::issue::{Issue, Severity, Tally};
use serde_json::{json, Value};

pub const LINE_EXT: &str = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line";
pub const COL_EXT: &str = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-col";
pub const SOURCE_EXT: &str = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-source";

/// One validated input and what was found.
#[derive(Clone, Debug)]
pub struct Report {
    /// The file name (or `-`), as text output and JUnit cite it.
    pub input: String,
    pub issues: Vec<Issue>,
}

impl Report {
    pub fn tally(&self) -> Tally {
        Tally::of(&self.issues)
    }

    pub fn has_errors(&self) -> bool {
        self.issues.iter().any(|i| i.severity.is_error())
    }

    /// Keeps issues at `level` or more severe.
    pub fn filter(&mut self, level: Severity) {
        self.issues.retain(|i| i.severity <= level);
    }
}

pub fn issue_json(i: &Issue) -> Value {
    let mut issue = serde_json::Map::new();
    let mut ext = Vec::new();
    if let Some(p) = i.pos {
        ext.push(json!({"url": LINE_EXT, "valueInteger": p.line}));
        ext.push(json!({"url": COL_EXT, "valueInteger": p.col}));
    }
    if let Some(src) = &i.source {
        ext.push(json!({"url": SOURCE_EXT, "valueString": src}));
    }
    if !ext.is_empty() {
        issue.insert("extension".into(), Value::Array(ext));
    }
    issue.insert("severity".into(), json!(i.severity.as_str()));
    issue.insert("code".into(), json!(i.code.as_str()));
    issue.insert("details".into(), json!({"text": i.message}));
    if let Some(rule) = &i.rule {
        issue.insert("diagnostics".into(), json!(format!("rule: {rule}")));
    }
    if !i.expression.is_empty() {
        issue.insert("expression".into(), json!([i.expression]));
    }
    if let Some(location) = &i.location {
        issue.insert("location".into(), json!([location]));
    }
    Value::Object(issue)
}

/// An OperationOutcome for one input. With no issues it says so, since an
/// OperationOutcome must hold at least one.
pub fn operation_outcome(report: &Report) -> Value {
    let mut issues: Vec<Value> = report.issues.iter().map(issue_json).collect();
    if issues.is_empty() {
        issues.push(json!({"severity": "information", "code": "informational", "details": {"text": "No issues detected during validation"}}));
    }
    json!({
        "resourceType": "OperationOutcome",
        "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/operationoutcome-file", "valueString": report.input}],
        "issue": issues,
    })
}

/// One OperationOutcome for one input; a collection Bundle of them for several.
pub fn json_output(reports: &[Report]) -> Value {
    if reports.len() == 1 {
        return operation_outcome(&reports[0]);
    }
    json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": reports.iter().map(|r| json!({"resource": operation_outcome(r)})).collect::<Vec<_>>(),
    })
}

/// `1 error`, `2 errors`: a count with its noun.
pub fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `file:line:col: severity: message [expression]`, one line per issue, and a summary line per input.
pub fn text_output(reports: &[Report]) -> String {
    let mut out = String::new();
    for r in reports {
        for i in &r.issues {
            let pos = i.pos.map(|p| format!(":{}:{}", p.line, p.col)).unwrap_or_default();
            let expr = if i.expression.is_empty() { String::new() } else { format!(" [{}]", i.expression) };
            // Which profile raised it, unless the message already says.
            let source = match &i.source {
                Some(src) if !i.message.contains(src.split('|').next().unwrap_or(src)) => format!(" (profile {src})"),
                _ => String::new(),
            };
            out.push_str(&format!("{}{}: {}: {}{}{}\n", r.input, pos, i.severity, i.message, expr, source));
        }
        let t = r.tally();
        let verdict = if r.has_errors() { "FAILED" } else { "ok" };
        out.push_str(&format!(
            "{}: {verdict}: {}, {}, {} information\n",
            r.input,
            counted(t.errors, "error", "errors"),
            counted(t.warnings, "warning", "warnings"),
            t.information
        ));
    }
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// JUnit XML: one test case per input, failed when it has errors.
pub fn junit_output(reports: &[Report]) -> String {
    let failures = reports.iter().filter(|r| r.has_errors()).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!("<testsuites>\n<testsuite name=\"careplan validate\" tests=\"{}\" failures=\"{failures}\">\n", reports.len()));
    for r in reports {
        out.push_str(&format!("  <testcase classname=\"validate\" name=\"{}\">\n", xml_escape(&r.input)));
        let lines: Vec<String> = r
            .issues
            .iter()
            .map(|i| {
                let pos = i.pos.map(|p| format!("{}:{}", p.line, p.col)).unwrap_or_default();
                format!("{} {} {} {}", i.severity, pos, i.expression, i.message)
            })
            .collect();
        if r.has_errors() {
            let t = r.tally();
            out.push_str(&format!("    <failure message=\"{}\">{}</failure>\n", counted(t.errors, "error", "errors"), xml_escape(&lines.join("\n"))));
        } else if !lines.is_empty() {
            out.push_str(&format!("    <system-out>{}</system-out>\n", xml_escape(&lines.join("\n"))));
        }
        out.push_str("  </testcase>\n");
    }
    out.push_str("</testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::issue::{Issue, IssueCode};
    use crate::tree::Pos;

    fn report() -> Report {
        Report { input: "a.json".into(), issues: vec![Issue::error(IssueCode::Structure, "Patient.name[0]", "bad <name>").at(Pos::new(3, 7))] }
    }

    #[test]
    fn outcome_carries_position_expression_and_text() {
        let oo = operation_outcome(&report());
        let issue = &oo["issue"][0];
        assert_eq!(issue["severity"], "error");
        assert_eq!(issue["code"], "structure");
        assert_eq!(issue["expression"][0], "Patient.name[0]");
        assert_eq!(issue["extension"][0]["valueInteger"], 3);
        assert_eq!(issue["extension"][1]["valueInteger"], 7);
    }

    #[test]
    fn several_inputs_give_a_bundle_and_text_reads_like_a_compiler() {
        let reports = vec![report(), Report { input: "b.json".into(), issues: vec![] }];
        assert_eq!(json_output(&reports)["resourceType"], "Bundle");
        let text = text_output(&reports);
        assert!(text.starts_with("a.json:3:7: error: bad <name> [Patient.name[0]]\n"), "{text}");
        assert!(text.contains("b.json: ok: 0 errors"));
        let junit = junit_output(&reports);
        assert!(junit.contains("failures=\"1\"") && junit.contains("bad &lt;name&gt;"));
    }

    #[test]
    fn text_names_the_profile_an_issue_comes_from_unless_the_message_does() {
        let mut from_profile = Issue::error(IssueCode::Invariant, "Patient", "Constraint failed: p-1: 'x'");
        from_profile.source = Some("http://example.org/sd/p|1.0".into());
        let mut says_so = Issue::error(IssueCode::Structure, "Patient", "Patient.name: minimum required = 1, but only found 0 (from http://example.org/sd/p|1.0)");
        says_so.source = from_profile.source.clone();
        let text = text_output(&[Report { input: "a.json".into(), issues: vec![from_profile, says_so] }]);
        assert!(text.contains("'x' [Patient] (profile http://example.org/sd/p|1.0)\n"), "{text}");
        assert!(text.contains("(from http://example.org/sd/p|1.0) [Patient]\n"), "{text}");
    }
}
