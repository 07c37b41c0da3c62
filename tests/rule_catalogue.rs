//! `conformance-tests/rules.md`, the catalogue of the HL7 Java validator's
//! message keys (written by `tools/rule_catalogue.py`), against what careplan
//! does: every key of the reference's catalogue has a row, and a row says
//! `implemented` exactly where careplan's own wording is shown to match the
//! key's: in its messages on the shared cases, or in the source file named.

mod common;

use careplan::conformance::{self, Filter, Manifest};
use careplan::loader::LoadOptions;
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// `KEY = wording with {0} placeholders`, as the reference's catalogue has them.
fn read_messages(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().replace("''", "'")))
        .collect()
}

/// The wording as a pattern (placeholders match any text), when it has
/// enough fixed words to tell one rule's message from another's.
fn pattern(wording: &str) -> Option<Regex> {
    let placeholder = Regex::new(r"\{\d+\}").unwrap();
    let parts: Vec<&str> = placeholder.split(wording).collect();
    if parts.iter().map(|p| p.trim().len()).sum::<usize>() < 12 {
        return None;
    }
    let body: Vec<String> = parts.iter().map(|p| regex::escape(p)).collect();
    // careplan may follow the wording with its own detail in parentheses.
    Regex::new(&format!(r"(?s)^{}( \(.+\))?$", body.join("(.+?)"))).ok()
}

/// The string literals of a source file's code (not its test module at the
/// end, as tools/rule_catalogue.py reads it), placeholders (`{x}`) as any text.
fn literals(path: &Path) -> Vec<String> {
    let whole = std::fs::read_to_string(path).unwrap_or_default();
    let text = whole.split("\n#[cfg(test)]").next().unwrap_or_default();
    let placeholder = Regex::new(r"\{[^{}]*\}").unwrap();
    rust_strings(&text).iter().map(|l| placeholder.replace_all(&l.replace("\\'", "'").replace("\\\"", "\""), "X").into_owned()).collect()
}

/// The string literals of Rust source, read token by token: comments,
/// character literals (`'"'`) and raw strings would otherwise pair the
/// wrong quotes and hide every literal after them.
fn rust_strings(src: &str) -> Vec<String> {
    let b = src.as_bytes();
    let (mut out, mut i) = (Vec::new(), 0);
    let char_literal = Regex::new(r"^'(?:\\(?:u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^\\'])'").unwrap();
    let raw_start = Regex::new(r#"^r(#*)""#).unwrap();
    while i < b.len() {
        let rest = &src[i..];
        if rest.starts_with("//") {
            i = rest.find('\n').map_or(b.len(), |j| i + j);
        } else if rest.starts_with("/*") {
            i = rest[2..].find("*/").map_or(b.len(), |j| i + 2 + j + 2);
        } else if b[i] == b'r' && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) && raw_start.is_match(rest) {
            let hashes = raw_start.captures(rest).unwrap()[1].len();
            let end = format!("\"{}", "#".repeat(hashes));
            let start = i + 2 + hashes;
            let stop = src[start..].find(&end).map_or(b.len(), |j| start + j);
            out.push(src[start..stop].to_owned());
            i = stop + end.len();
        } else if b[i] == b'\'' {
            i += char_literal.find(rest).map_or(1, |m| m.len());
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            out.push(src[i + 1..j.min(b.len())].to_owned());
            i = j + 1;
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    out
}

#[test]
fn literals_are_read_past_character_literals_and_raw_strings() {
    let src = r##"let a = '"'; let b = "x\"y"; let c = r#"raw "q" here"#; // "comment"
let d = '\''; let e = "after";"##;
    assert_eq!(rust_strings(src), ["x\\\"y", "raw \"q\" here", "after"]);
}

#[test]
fn every_key_has_a_row_and_implemented_means_shown() {
    let Some(messages) = common::shared("hl7-validator-messages/Messages.properties", "the HL7 validator's message catalogue") else { return };
    let Some(manifest) = common::shared("fhir-test-cases-r4/manifest.json", "the fhir-test-cases R4 conformance cases") else { return };
    let keys = read_messages(&std::fs::read_to_string(messages).unwrap());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let catalogue = std::fs::read_to_string(root.join("conformance-tests/rules.md")).unwrap();
    let row = Regex::new(r"^\| `([^`]+)` \|.*\| ([^|]+) \|$").unwrap();
    let rows: BTreeMap<String, String> = catalogue.lines().filter_map(|l| row.captures(l)).map(|c| (c[1].to_owned(), c[2].trim().to_owned())).collect();
    let listed: BTreeSet<&String> = rows.keys().collect();
    let known: BTreeSet<&String> = keys.keys().collect();
    assert_eq!(listed, known, "conformance-tests/rules.md lists other keys than the catalogue has; run tools/rule_catalogue.py again");

    let base = conformance::load_base(&LoadOptions::default()).expect("the default packages load");
    let report = conformance::run_manifest(&Manifest::read(&manifest).unwrap(), base, &Filter::default());
    let ours: BTreeSet<String> = report.runs.iter().flat_map(|r| r.ours.iter().map(|m| m.text.replace('\n', " "))).collect();
    let mut wrong = Vec::new();
    for (key, wording) in &keys {
        let status = &rows[key];
        let pattern = pattern(wording);
        let seen = pattern.as_ref().is_some_and(|p| ours.iter().any(|m| p.is_match(m)));
        if seen != status.starts_with("implemented (seen on the shared cases)") {
            wrong.push(format!("{key}: careplan's messages on the shared cases {} its wording, but the catalogue says \"{status}\"", if seen { "match" } else { "do not match" }));
        }
        if let Some(file) = status.strip_prefix("implemented (its wording is in `").and_then(|s| s.split('`').next()) {
            let in_code = pattern.as_ref().is_some_and(|p| literals(&root.join(file)).iter().any(|l| p.is_match(l)));
            if !in_code {
                wrong.push(format!("{key}: the catalogue says its wording is in {file}, but no string there matches it"));
            }
        }
    }
    assert!(wrong.is_empty(), "conformance-tests/rules.md is out of date (run tools/rule_catalogue.py again):\n{}", wrong.join("\n"));
}
