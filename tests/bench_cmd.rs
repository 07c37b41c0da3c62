//! `careplan bench` end to end, small: checks the report's shape and that the
//! generated Bundle validates without errors (the generator and the
//! validator agree), not any timing.
//!
//! The command installs the default packages on first use, as validate does.

use std::process::Command;

#[test]
fn bench_reports_every_figure_and_the_generated_bundle_is_valid() {
    let out = Command::new(env!("CARGO_BIN_EXE_careplan"))
        .args(["bench", "--entries", "200", "--runs", "1", "--json"])
        .output()
        .expect("careplan runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_str(&stdout).expect("bench --json prints JSON");
    let positive = |p: &str| {
        let v = r.pointer(p).and_then(|v| v.as_f64()).unwrap_or_else(|| panic!("{p} missing in {r:#}"));
        assert!(v > 0.0 && v.is_finite(), "{p} = {v}");
    };
    for p in [
        "/corpus/files",
        "/corpus/bytes",
        "/corpus/serde_json_mb_s",
        "/corpus/parse_mb_s",
        "/corpus/validate_mb_s",
        "/corpus/ratio",
        "/bundle/bytes",
        "/bundle/mb",
        "/bundle/validate_secs",
        "/memory/peak_rss_mb",
        "/process/median_ms",
    ] {
        positive(p);
    }
    for p in ["/corpus/met", "/bundle/met", "/memory/met", "/process/met"] {
        assert!(r.pointer(p).is_some_and(|v| v.is_boolean()), "{p} missing in {r:#}");
    }
    assert!(r["corpus"]["files"].as_u64().unwrap() > 100, "the corpus is the R4 examples");
    assert_eq!(r["bundle"]["entries"], 200);
    assert_eq!(r["bundle"]["errors"], 0, "the generated bundle has errors: {:#}", r["bundle"]["first_errors"]);
    assert_eq!(r["bundle"]["first_errors"].as_array().map(Vec::len), Some(0));
}

#[test]
fn generated_bundle_has_the_entries_asked_for_and_linked_urn_uuids() {
    let bytes = careplan::cli::bench_cmd::generate_bundle(13);
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["type"], "transaction");
    let entries = v["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 13);
    let urls: std::collections::HashSet<&str> = entries.iter().map(|e| e["fullUrl"].as_str().unwrap()).collect();
    assert_eq!(urls.len(), 13, "fullUrls are unique");
    let types: Vec<&str> = entries.iter().map(|e| e["resource"]["resourceType"].as_str().unwrap()).collect();
    assert_eq!(&types[..6], ["Patient", "Condition", "Condition", "Goal", "Goal", "CarePlan"]);
    // Every reference points at an earlier entry of the Bundle.
    let text = String::from_utf8(bytes).unwrap();
    for r in text.split("\"reference\":\"").skip(1) {
        let r = &r[..r.find('"').unwrap()];
        assert!(urls.contains(r), "{r} is not a fullUrl of the bundle");
    }
}

/// The generated Bundle's zero errors mean something: the same Bundle with
/// one wrong code and one dangling reference gets errors.
#[test]
fn a_broken_generated_bundle_gets_errors() {
    use careplan::validator::{Options, Validator};
    let text = String::from_utf8(careplan::cli::bench_cmd::generate_bundle(12)).unwrap();
    let text = text.replacen("\"gender\":\"female\"", "\"gender\":\"woman\"", 1);
    let ctx = careplan::loader::load(&careplan::loader::LoadOptions::default()).expect("definitions in the package cache");
    let v = Validator::new(std::sync::Arc::new(ctx), Options::default());
    let issues = v.validate_bytes(text.as_bytes(), Some(careplan::tree::Format::Json));
    assert!(issues.iter().any(|i| i.severity.is_error() && i.expression.contains("gender")), "{issues:#?}");
}
