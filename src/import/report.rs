//! What an import found: problems by input, row and column; how many people
//! lack each PRSB item; the columns no table reads; what was written or sent.
//! Printed as text for a person, or as JSON for a script.

use super::spool::Origin;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Problems kept in full; past this, only counted.
const KEPT: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, Serialize)]
pub struct Problem {
    pub severity: Severity,
    pub input: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The plan and item it concerns (`csp-123 /goals/2/goalImportanceScore`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    pub message: String,
}

impl Problem {
    pub fn error(origin: &Origin, column: Option<String>, message: String) -> Problem {
        Problem { severity: Severity::Error, input: origin.input.clone(), row: Some(origin.row), column, item: None, message }
    }

    pub fn warning(origin: &Origin, column: Option<String>, message: String) -> Problem {
        Problem { severity: Severity::Warning, ..Problem::error(origin, column, message) }
    }
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub rows: u64,
    /// Rows read into a plan (a row two tables take counts twice).
    pub imported: u64,
    pub people: usize,
    /// Plans that read as PRSB plans (and, with `--to fhir`, whose Bundles validate).
    pub plans_valid: usize,
    pub written: Vec<String>,
    pub posted: Vec<String>,
    /// Items an earlier import had and this export does not: archived, not deleted.
    pub archived: Vec<String>,
    pub errors: usize,
    pub warnings: usize,
    pub problems: Vec<Problem>,
    /// PRSB item (`section:path`) → how many people have no value for it.
    pub empty: BTreeMap<String, usize>,
    /// The PRSB items the mapping fills (`section:path`).
    #[serde(skip)]
    pub mapped: Vec<String>,
    /// Input → its columns that no table reads.
    pub unused_columns: BTreeMap<String, Vec<String>>,
}

impl Report {
    pub fn add(&mut self, p: Problem) {
        match p.severity {
            Severity::Error => self.errors += 1,
            Severity::Warning => self.warnings += 1,
        }
        if self.problems.len() < KEPT {
            self.problems.push(p);
        }
    }

    pub fn has_errors(&self) -> bool {
        self.errors > 0
    }

    pub fn text(&self) -> String {
        let mut t = String::new();
        for p in &self.problems {
            let at = match (&p.row, &p.column) {
                (Some(r), Some(c)) => format!("{}:{r} [{c}]", p.input),
                (Some(r), None) => format!("{}:{r}", p.input),
                (None, _) => p.input.clone(),
            };
            let item = p.item.as_deref().map(|i| format!(" ({i})")).unwrap_or_default();
            let sev = match p.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let _ = writeln!(t, "{at}: {sev}: {}{item}", p.message);
        }
        let shown = self.problems.len();
        if self.errors + self.warnings > shown {
            let _ = writeln!(t, "... and {} more problems", self.errors + self.warnings - shown);
        }
        let partly: Vec<_> = self.empty.iter().filter(|(_, n)| **n > 0 && **n < self.people).collect();
        if !partly.is_empty() {
            let _ = writeln!(t, "PRSB items empty for some people:");
            for (k, n) in partly {
                let _ = writeln!(t, "  {k}: {n} of {}", self.people);
            }
        }
        // Items empty for everyone are listed where the mapping fills a neighbour (`agreement.role.text`
        // beside a mapped `agreement.agreed`); the rest are counted (`--json` lists them all).
        let group = |k: &str| k.split_once(':').map(|(s, p)| format!("{s}:{}", p.split('.').next().unwrap_or(p))).unwrap_or_default();
        let groups: std::collections::HashSet<String> = self.mapped.iter().map(|m| group(m)).collect();
        let wholly: Vec<&str> = self.empty.iter().filter(|(_, n)| **n == self.people && self.people > 0).map(|(k, _)| k.as_str()).collect();
        let (near, far): (Vec<&str>, Vec<&str>) = wholly.iter().partition(|k| groups.contains(&group(k)));
        if !near.is_empty() {
            let _ = writeln!(t, "PRSB items empty for everyone, beside items the mapping fills: {}", near.join(", "));
        }
        if !far.is_empty() {
            let _ = writeln!(t, "{} more PRSB items are empty for everyone (--json lists them)", far.len());
        }
        for (input, cols) in &self.unused_columns {
            if !cols.is_empty() {
                let _ = writeln!(t, "{input}: columns no table reads: {}", cols.join(", "));
            }
        }
        let _ = writeln!(
            t,
            "{} rows ({} read into plans), {} people, {} plans valid; {} written, {} sent, {} items archived; {} errors, {} warnings",
            self.rows,
            self.imported,
            self.people,
            self.plans_valid,
            self.written.len(),
            self.posted.len(),
            self.archived.len(),
            self.errors,
            self.warnings
        );
        t
    }
}
