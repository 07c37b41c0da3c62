//! The XML reader on the third-party corpora: the fhir-test-cases files
//! (many deliberately broken) never make it panic, and the UK Core examples
//! read without a single issue.

mod common;

use careplan::parse::xml::parse_xml;
use std::path::{Path, PathBuf};

fn xml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "xml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn shared_test_cases_parse_without_panic() {
    let Some(dir) = common::shared("fhir-test-cases-r4/files", "the XML reader on the fhir-test-cases files") else { return };
    let files = xml_files(&dir);
    assert!(files.len() > 50, "only {} XML files in {}", files.len(), dir.display());
    for p in files {
        let bytes = std::fs::read(&p).unwrap();
        let _ = parse_xml(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn uk_core_examples_parse_cleanly() {
    let Some(dir) = common::shared("ukcore/examples", "the XML reader on the UK Core examples") else { return };
    let files = xml_files(&dir);
    assert!(files.len() > 100, "only {} XML files in {}", files.len(), dir.display());
    let mut bad = Vec::new();
    for p in &files {
        let text = std::fs::read_to_string(p).unwrap();
        let d = parse_xml(text.trim_start_matches('\u{feff}'));
        if d.root.is_none() || !d.issues.is_empty() {
            bad.push(format!("{}: {:?}", p.display(), d.issues.first()));
        }
    }
    assert!(bad.is_empty(), "{} of {} files with issues:\n{}", bad.len(), files.len(), bad.join("\n"));
}

/// `cargo test --test xml_corpora -- --ignored --nocapture`: what the reader
/// reports on the fhir-test-cases files, for eyeballing.
#[test]
#[ignore]
fn survey_shared_test_cases() {
    let Some(dir) = common::shared("fhir-test-cases-r4/files", "the survey of the fhir-test-cases XML files") else { return };
    for p in xml_files(&dir) {
        let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
        let d = parse_xml(&text);
        for i in &d.issues {
            println!("{}: {} {:?} {} @{}", p.file_name().unwrap().to_string_lossy(), i.severity, i.pos, i.message, i.expression);
        }
    }
}
