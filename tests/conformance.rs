//! Conformance: our own cases must agree exactly; the shared fhir-test-cases
//! R4 set must not crash and must not fall below the measured agreement.
//!
//! Needs the default packages (R4 core, terminology, extensions) in the
//! package cache; they are found there before any registry is asked.

mod common;

use careplan::conformance::{self, Filter, Manifest, Report};
use careplan::context::Context;
use careplan::loader::LoadOptions;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// Verdict agreement on the shared plain cases (options `{}`), in percent,
/// measured and rounded down. Raise it when the validator improves.
const PLAIN_VERDICT_FLOOR: f64 = 99.5;
/// Verdict agreement on all shared cases, in percent.
const ALL_VERDICT_FLOOR: f64 = 98.0;
/// Verdict agreement of the profile module, all its cases, in percent.
const PROFILE_VERDICT_FLOOR: f64 = 94.0;
/// Exact error count agreement on all shared cases, in percent.
const ALL_COUNT_FLOOR: f64 = 95.5;
/// Of the reference's error expressions on all shared cases, the share
/// careplan reports an error at, in percent.
const ALL_RECALL_FLOOR: f64 = 87.0;

fn base() -> Arc<Context> {
    static BASE: OnceLock<Arc<Context>> = OnceLock::new();
    BASE.get_or_init(|| conformance::load_base(&LoadOptions::default()).expect("the default packages load")).clone()
}

fn run(path: &Path) -> Report {
    let manifest = Manifest::read(path).expect("manifest reads");
    conformance::run_manifest(&manifest, base(), &Filter::default())
}

fn describe_disagreements(report: &Report) -> String {
    let mut s = String::new();
    for r in report.runs.iter().filter(|r| !r.count_agrees()) {
        s += &format!("{} ({}): ours {} errors, expected {}", r.case, r.file, r.our_error_count(), r.expected.error_count);
        if let Some(c) = &r.crash {
            s += &format!(", crashed: {c}");
        }
        for m in r.our_errors() {
            s += &format!("\n    ours: {} {}", m.expression, m.text);
        }
        s += "\n";
    }
    s
}

#[test]
fn own_cases_agree_exactly() {
    let report = run(&Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance-tests/manifest.json"));
    let summary = report.summary(false);
    eprintln!("careplan conformance-tests:\n{}", summary.table());
    assert!(summary.total.runs >= 12, "expected at least 12 runs, got {}", summary.total.runs);
    assert_eq!(summary.total.verdict_agree, summary.total.runs, "verdicts differ:\n{}", describe_disagreements(&report));
    assert_eq!(summary.total.count_agree, summary.total.runs, "error counts differ:\n{}", describe_disagreements(&report));
}

#[test]
fn shared_cases_no_crash_and_above_floor() {
    let Some(path) = common::shared("fhir-test-cases-r4/manifest.json", "the fhir-test-cases R4 conformance cases") else { return };
    let report = run(&path);
    let plain = report.summary(true);
    let all = report.summary(false);
    eprintln!("fhir-test-cases R4, plain cases:\n{}", plain.table());
    eprintln!("fhir-test-cases R4, all cases:\n{}", all.table());
    let crashes: Vec<String> = report.runs.iter().filter_map(|r| r.crash.as_ref().map(|c| format!("{} ({}): {c}", r.case, r.file))).collect();
    assert!(crashes.is_empty(), "crashes:\n{}", crashes.join("\n"));
    assert!(
        plain.total.verdict_pct() >= PLAIN_VERDICT_FLOOR,
        "plain verdict agreement {:.1}% fell below {PLAIN_VERDICT_FLOOR}%",
        plain.total.verdict_pct()
    );
    assert!(all.total.verdict_pct() >= ALL_VERDICT_FLOOR, "verdict agreement {:.1}% fell below {ALL_VERDICT_FLOOR}%", all.total.verdict_pct());
    assert!(all.total.count_pct() >= ALL_COUNT_FLOOR, "error count agreement {:.1}% fell below {ALL_COUNT_FLOOR}%", all.total.count_pct());
    assert!(all.total.expression_pct() >= ALL_RECALL_FLOOR, "error expression recall {:.1}% fell below {ALL_RECALL_FLOOR}%", all.total.expression_pct());
    let false_errors: Vec<&str> = report.runs.iter().filter(|r| r.false_positive()).map(|r| r.case.as_str()).collect();
    assert!(false_errors.is_empty(), "errors where the reference finds none: {false_errors:?}");
    let profile = &all.modules["profile"];
    assert!(profile.verdict_pct() >= PROFILE_VERDICT_FLOOR, "profile module verdict agreement {:.1}% fell below {PROFILE_VERDICT_FLOOR}%", profile.verdict_pct());
}
