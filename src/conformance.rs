//! The conformance harness: runs the cases of a fhir-test-cases style
//! manifest and compares what we report with what the reference (HL7 Java)
//! validator reported.
//!
//! A manifest is a JSON object with `cases`; paths in it are relative to the
//! manifest's folder. Each case validates `file` once plainly (the base run)
//! and, when it names `profiles` and has an `expected.profile`, once more
//! against the url(s) of those profiles (the profile run). Supporting
//! definitions of a case go into an overlay on top of the shared packages,
//! so the packages are loaded once for the whole manifest.
//!
//! A panic in a case is caught and counted as a crash (and a disagreement);
//! it never ends the run.

use crate::context::Context;
use crate::issue::{Issue, Severity};
use crate::loader::{self, LoadOptions};
use crate::package::PackageCache;
use crate::parse;
use crate::validator::{Options, Validator};
use anyhow::{Context as _, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A manifest as read from disk.
#[derive(Clone, Debug, Deserialize)]
pub struct Manifest {
    pub cases: Vec<Case>,
    /// The folder the manifest's paths are relative to.
    #[serde(skip)]
    pub dir: PathBuf,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Case {
    pub name: String,
    pub file: String,
    #[serde(default)]
    pub module: String,
    #[serde(default)]
    pub supporting: Vec<String>,
    #[serde(default)]
    pub extra_files: Vec<String>,
    #[serde(default)]
    pub packages_in_repo: Vec<String>,
    #[serde(default)]
    pub profiles: Vec<String>,
    #[serde(default)]
    pub profile_supporting: Vec<String>,
    #[serde(default)]
    pub options: serde_json::Map<String, Value>,
    pub expected: ExpectedRuns,
}

impl Case {
    /// Whether the reference run used no switches.
    pub fn is_plain(&self) -> bool {
        self.options.is_empty()
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ExpectedRuns {
    #[serde(default)]
    pub base: Option<Expected>,
    #[serde(default)]
    pub profile: Option<Expected>,
}

/// What the reference validator reported for one run.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Expected {
    #[serde(default, deserialize_with = "null_as_default")]
    pub error_count: usize,
    #[serde(default, deserialize_with = "null_as_default")]
    pub warning_count: usize,
    #[serde(default, deserialize_with = "null_as_default")]
    pub messages: Vec<ExpectedMessage>,
}

/// `null` reads as the default (some reference outcomes leave counts out).
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ExpectedMessage {
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub expression: Option<Value>,
    #[serde(default)]
    pub text: Option<String>,
}

impl ExpectedMessage {
    pub fn is_error(&self) -> bool {
        Severity::parse(&self.severity).is_some_and(Severity::is_error)
    }

    /// The message's expressions, normalised (a string or a list of them).
    pub fn expressions(&self) -> Vec<String> {
        match &self.expression {
            Some(Value::String(s)) => vec![normalise_expression(s)],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(normalise_expression).collect(),
            _ => Vec::new(),
        }
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect()
    }
}

/// Strips `/*...*/` comments (the Java validator annotates slices that way) and whitespace.
pub fn normalise_expression(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        match rest[start + 2..].find("*/") {
            Some(end) => rest = &rest[start + 2 + end + 2..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.split_whitespace().collect()
}

impl Manifest {
    pub fn read(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut m: Manifest = serde_json::from_str(&text).with_context(|| format!("{} is not a conformance manifest", path.display()))?;
        m.dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if m.dir.as_os_str().is_empty() {
            m.dir = PathBuf::from(".");
        }
        Ok(m)
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    Base,
    Profile,
}

/// One issue we reported, reduced to what the comparison needs.
#[derive(Clone, Debug, Serialize)]
pub struct OurMessage {
    pub severity: String,
    pub code: String,
    pub expression: String,
    /// The XML reader's path, where it gives one (see `Issue::location`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    pub text: String,
}

impl From<&Issue> for OurMessage {
    fn from(i: &Issue) -> OurMessage {
        OurMessage { severity: i.severity.as_str().into(), code: i.code.as_str().into(), expression: i.expression.clone(), location: i.location.clone(), text: i.message.clone() }
    }
}

impl OurMessage {
    /// Where the issue is, normalised: its FHIRPath, and its XML path if it
    /// has one (the reference names XML it cannot read by its XML path).
    fn places(&self) -> impl Iterator<Item = String> + '_ {
        std::iter::once(normalise_expression(&self.expression)).chain(self.location.as_deref().map(normalise_expression))
    }
}

/// The outcome of one run (base or profile) of one case.
#[derive(Clone, Debug, Serialize)]
pub struct RunOutcome {
    pub case: String,
    pub module: String,
    pub file: String,
    pub kind: RunKind,
    pub plain: bool,
    pub expected: Expected,
    /// Our issues, errors and fatals first.
    pub ours: Vec<OurMessage>,
    /// Problems loading the case's own files (not counted as crashes).
    pub load_issues: Vec<String>,
    /// The panic message, if the run panicked.
    pub crash: Option<String>,
}

impl RunOutcome {
    pub fn our_errors(&self) -> impl Iterator<Item = &OurMessage> {
        self.ours.iter().filter(|m| Severity::parse(&m.severity).is_some_and(Severity::is_error))
    }

    pub fn our_error_count(&self) -> usize {
        self.our_errors().count()
    }

    pub fn verdict_agrees(&self) -> bool {
        self.crash.is_none() && (self.our_error_count() > 0) == (self.expected.error_count > 0)
    }

    pub fn count_agrees(&self) -> bool {
        self.crash.is_none() && self.our_error_count() == self.expected.error_count
    }

    pub fn false_positive(&self) -> bool {
        self.crash.is_none() && self.our_error_count() > 0 && self.expected.error_count == 0
    }

    pub fn false_negative(&self) -> bool {
        self.crash.is_none() && self.our_error_count() == 0 && self.expected.error_count > 0
    }

    /// (expected error expressions, of which we report) for this run.
    pub fn expressions(&self) -> (usize, usize) {
        let ours: HashSet<String> = self.our_errors().flat_map(OurMessage::places).collect();
        let mut expected = 0;
        let mut found = 0;
        for m in self.expected.messages.iter().filter(|m| m.is_error()) {
            for e in m.expressions() {
                expected += 1;
                if self.crash.is_none() && ours.contains(&e) {
                    found += 1;
                }
            }
        }
        (expected, found)
    }

    /// A short label of where we differ first: our first error Java does not
    /// have, or Java's first error we do not have (by expression).
    pub fn first_difference(&self) -> Option<String> {
        if let Some(c) = &self.crash {
            return Some(format!("crash: {c}"));
        }
        if self.count_agrees() {
            return None;
        }
        let java: HashSet<String> = self.expected.messages.iter().filter(|m| m.is_error()).flat_map(|m| m.expressions()).collect();
        if let Some(m) = self.our_errors().find(|m| !m.places().any(|p| java.contains(&p))) {
            return Some(format!("ours: {}", m.text));
        }
        let ours: HashSet<String> = self.our_errors().flat_map(OurMessage::places).collect();
        if let Some(m) = self.expected.messages.iter().filter(|m| m.is_error()).find(|m| !m.expressions().iter().any(|e| ours.contains(e))) {
            return Some(format!("java: {}", m.text.clone().unwrap_or_default()));
        }
        Some(format!("count: ours {} vs java {}", self.our_error_count(), self.expected.error_count))
    }
}

/// Agreement figures over a set of runs.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Stats {
    pub runs: usize,
    pub verdict_agree: usize,
    pub count_agree: usize,
    pub expressions_expected: usize,
    pub expressions_found: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub crashes: usize,
}

impl Stats {
    pub fn add(&mut self, r: &RunOutcome) {
        self.runs += 1;
        self.verdict_agree += r.verdict_agrees() as usize;
        self.count_agree += r.count_agrees() as usize;
        let (e, f) = r.expressions();
        self.expressions_expected += e;
        self.expressions_found += f;
        self.false_positives += r.false_positive() as usize;
        self.false_negatives += r.false_negative() as usize;
        self.crashes += r.crash.is_some() as usize;
    }

    fn pct(n: usize, d: usize) -> f64 {
        if d == 0 {
            100.0
        } else {
            100.0 * n as f64 / d as f64
        }
    }

    pub fn verdict_pct(&self) -> f64 {
        Self::pct(self.verdict_agree, self.runs)
    }

    pub fn count_pct(&self) -> f64 {
        Self::pct(self.count_agree, self.runs)
    }

    pub fn expression_pct(&self) -> f64 {
        Self::pct(self.expressions_found, self.expressions_expected)
    }
}

/// Figures per module and in total.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub modules: BTreeMap<String, Stats>,
    pub total: Stats,
}

impl Summary {
    /// A fixed-width table: one row per module, then the total.
    pub fn table(&self) -> String {
        let width = self.modules.keys().map(String::len).max().unwrap_or(0).max(6);
        let mut s = format!("{:<width$} {:>5} {:>8} {:>8} {:>8} {:>4} {:>4} {:>7}\n", "module", "runs", "verdict", "count", "expr", "FP", "FN", "crashes");
        let row = |name: &str, st: &Stats| {
            format!(
                "{:<width$} {:>5} {:>7.1}% {:>7.1}% {:>7.1}% {:>4} {:>4} {:>7}\n",
                name,
                st.runs,
                st.verdict_pct(),
                st.count_pct(),
                st.expression_pct(),
                st.false_positives,
                st.false_negatives,
                st.crashes
            )
        };
        for (m, st) in &self.modules {
            s += &row(m, st);
        }
        s += &row("TOTAL", &self.total);
        s
    }
}

/// Every run of a manifest.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub runs: Vec<RunOutcome>,
}

impl Report {
    /// Figures over the plain runs only (`plain_only`), or over all of them.
    pub fn summary(&self, plain_only: bool) -> Summary {
        let mut s = Summary::default();
        for r in self.runs.iter().filter(|r| r.plain || !plain_only) {
            s.modules.entry(r.module.clone()).or_default().add(r);
            s.total.add(r);
        }
        s
    }

    /// Disagreeing runs grouped by their first difference, largest group first.
    pub fn disagreement_groups(&self, plain_only: bool) -> Vec<(String, Vec<&RunOutcome>)> {
        let mut groups: BTreeMap<String, Vec<&RunOutcome>> = BTreeMap::new();
        for r in self.runs.iter().filter(|r| r.plain || !plain_only) {
            if let Some(k) = r.first_difference() {
                groups.entry(k).or_default().push(r);
            }
        }
        let mut v: Vec<_> = groups.into_iter().collect();
        v.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
        v
    }
}

/// Which cases to run.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only cases whose reference run used no options.
    pub plain_only: bool,
    /// Only cases of this module.
    pub module: Option<String>,
}

impl Filter {
    pub fn accepts(&self, c: &Case) -> bool {
        (!self.plain_only || c.is_plain()) && self.module.as_ref().is_none_or(|m| &c.module == m)
    }
}

/// Loads the default packages (R4 core, terminology, extensions) once.
pub fn load_base(opts: &LoadOptions) -> Result<Arc<Context>> {
    Ok(Arc::new(loader::load(opts)?))
}

/// Runs the accepted cases of a manifest on top of `base`.
pub fn run_manifest(manifest: &Manifest, base: Arc<Context>, filter: &Filter) -> Report {
    let cases: Vec<&Case> = manifest.cases.iter().filter(|c| filter.accepts(c)).collect();
    // Deep definitions and resources recurse: give the workers room.
    let pool = rayon::ThreadPoolBuilder::new().stack_size(64 << 20).build();
    let run_all = || cases.par_iter().flat_map_iter(|c| run_case(manifest, c, &base)).collect::<Vec<_>>();
    let runs = match pool {
        Ok(p) => p.install(run_all),
        Err(_) => run_all(),
    };
    Report { runs }
}

/// The base run and, if the case has one, the profile run.
pub fn run_case(manifest: &Manifest, case: &Case, base: &Arc<Context>) -> Vec<RunOutcome> {
    let mut out = Vec::new();
    if let Some(expected) = &case.expected.base {
        out.push(run_one(manifest, case, base, RunKind::Base, expected));
    }
    if !case.profiles.is_empty() {
        if let Some(expected) = &case.expected.profile {
            out.push(run_one(manifest, case, base, RunKind::Profile, expected));
        }
    }
    out
}

fn run_one(manifest: &Manifest, case: &Case, base: &Arc<Context>, kind: RunKind, expected: &Expected) -> RunOutcome {
    let mut outcome = RunOutcome {
        case: case.name.clone(),
        module: case.module.clone(),
        file: case.file.clone(),
        kind,
        plain: case.is_plain(),
        expected: expected.clone(),
        ours: Vec::new(),
        load_issues: Vec::new(),
        crash: None,
    };
    // Packages of the case go into a private cache, so runs never replace
    // each other's (or the user's) package folders.
    let scratch = std::env::temp_dir().join(format!("careplan-conformance-{}-{}", std::process::id(), unique()));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut load_issues = Vec::new();
        let ctx = case_context(manifest, case, base, kind, &scratch, &mut load_issues);
        let profiles = if kind == RunKind::Profile { profile_urls(manifest, case, &mut load_issues) } else { Vec::new() };
        let assume_valid_rest_references = case.options.get("assumeValidRestReferences").is_some_and(|v| v.as_bool() != Some(false));
        let security_checks = case.options.contains_key("security-checks");
        let html_in_markdown = if case.options.contains_key("noHtmlInMarkdown") { crate::validator::HtmlInMarkdown::Error } else { Default::default() };
        let validate_nested_resources = case.options.get("validateContains").and_then(Value::as_str) != Some("IGNORE");
        let display_issues_are_warnings = case.options.get("wrong-displays").and_then(Value::as_str) == Some("warning");
        let for_publication = case.options.contains_key("for-publication");
        let validator = Validator::new(
            Arc::new(ctx),
            Options { profiles, assume_valid_rest_references, security_checks, html_in_markdown, validate_nested_resources, display_issues_are_warnings, for_publication, ..Options::default() },
        );
        let path = manifest.path(&case.file);
        let issues = match std::fs::read(&path) {
            Ok(bytes) => validator.validate_bytes(&bytes, crate::parse::format_of_name(&case.file)),
            Err(e) => vec![Issue::new(Severity::Fatal, crate::issue::IssueCode::Exception, "", format!("cannot read {}: {e}", path.display()))],
        };
        (issues, load_issues)
    }));
    let _ = std::fs::remove_dir_all(&scratch);
    match result {
        Ok((mut issues, load_issues)) => {
            issues.sort_by_key(|i| !i.severity.is_error());
            outcome.ours = issues.iter().map(OurMessage::from).collect();
            outcome.load_issues = load_issues;
        }
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            outcome.crash = Some(msg);
        }
    }
    outcome
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// The shared packages plus the case's own definitions for this run.
fn case_context(manifest: &Manifest, case: &Case, base: &Arc<Context>, kind: RunKind, scratch: &Path, issues: &mut Vec<String>) -> Context {
    let mut ctx = Context::overlay(base.clone());
    let cache = PackageCache::new(scratch.to_path_buf());
    let opts = LoadOptions { packages: Vec::new(), cache: scratch.to_path_buf(), ..LoadOptions::default() };
    let mut loaded = Vec::new();
    let mut sources: Vec<&String> = case.packages_in_repo.iter().chain(&case.supporting).chain(&case.extra_files).collect();
    if kind == RunKind::Profile {
        sources.extend(case.profile_supporting.iter().chain(&case.profiles));
    }
    let mut seen = HashSet::new();
    for rel in sources {
        if !seen.insert(rel.as_str()) {
            continue;
        }
        let path = manifest.path(rel);
        let p = path.to_string_lossy();
        if let Err(e) = loader::add_source(&mut ctx, &cache, &p, &opts, &mut loaded) {
            issues.push(format!("{rel}: {e:#}"));
        }
    }
    ctx
}

/// The canonical urls of the case's profiles (each file's `url`).
fn profile_urls(manifest: &Manifest, case: &Case, issues: &mut Vec<String>) -> Vec<String> {
    let mut urls = Vec::new();
    for rel in &case.profiles {
        match canonical_url(&manifest.path(rel)) {
            Some(u) => urls.push(u),
            None => issues.push(format!("{rel}: no url found for the profile")),
        }
    }
    urls
}

fn canonical_url(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    let doc = parse::parse(&bytes, crate::parse::format_of_name(&path.to_string_lossy()));
    doc.root?.child_text("url").map(str::to_string)
}

