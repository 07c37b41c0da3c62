//! The snapshot generator against the reference tooling: every constraint
//! profile and extension of the R4 packages that comes with both a
//! differential and a published snapshot is generated again from its
//! differential and compared with what was published.

mod common;

use careplan::definition::StructureDefinition;
use careplan::snapshot::{compare, generate};
use std::collections::BTreeMap;

#[test]
fn generated_snapshots_match_the_published_ones() {
    let ctx = common::context();
    let dir = common::examples_dir();
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("StructureDefinition-")).collect();
    files.sort();
    let (mut total, mut same) = (0, 0);
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut report = String::new();
    for f in files {
        let Ok(sd) = serde_json::from_slice::<StructureDefinition>(&std::fs::read(&f).unwrap()) else { continue };
        if sd.derivation.as_deref() != Some("constraint") || sd.differential.is_none() || sd.snapshot.is_none() {
            continue;
        }
        total += 1;
        let published = sd.snapshot.clone().unwrap().element;
        let mut input = sd.clone();
        input.snapshot = None;
        let generated = match generate(input, &ctx) {
            Ok(g) => g.snapshot.unwrap().element,
            Err(e) => {
                report += &format!("{}: cannot generate: {e}\n", sd.url);
                *kinds.entry("cannot generate".into()).or_default() += 1;
                continue;
            }
        };
        let diffs = compare::differences(&generated, &published);
        if diffs.is_empty() {
            same += 1;
        } else {
            report += &format!("{}: {} differences, first {}\n", sd.url, diffs.len(), diffs[0]);
            for d in diffs.iter().skip(1).take(4) {
                report += &format!("    {d}\n");
            }
            for d in &diffs {
                let kind = d.what.split(':').next().unwrap().to_string();
                *kinds.entry(kind).or_default() += 1;
            }
        }
    }
    eprintln!("{report}");
    eprintln!("{same} of {total} snapshots generated as published; differences by kind: {kinds:#?}");
    assert!(total >= 400, "only {total} profiles with a published snapshot were found");
    // Measured: 432 of 439. The seven left are the reference generator's own
    // quirks in old R4 profiles (slices of non-repeating elements that drop
    // the sliced element, a binding and a content reference taken from the
    // wrong slice, extension slices expanded from their definitions, a type
    // profile's constraints copied onto a restated element), listed above.
    assert!(same >= 432, "{same} of {total} generated snapshots match the published ones (was 432):\n{report}");
}
