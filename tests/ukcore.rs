//! UK Core: the implementation guide loads from its XML differentials, every
//! profile gets a snapshot, and its examples validate against the profiles
//! they claim and the UK Core profile of their resource type, except the few
//! with real errors listed in conformance-tests/ukcore-known-errors.txt.

mod common;

use careplan::loader::{self, LoadOptions};
use careplan::validator::{Options, Validator};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

#[test]
fn uk_core_examples_validate_against_their_profiles() {
    let Some(ukcore) = common::shared("ukcore", "UK Core's profiles and examples") else { return };
    common::context();
    let opts = LoadOptions { igs: vec![ukcore.display().to_string()], ..LoadOptions::default() };
    let ctx = Arc::new(loader::load(&opts).unwrap());
    let known: BTreeSet<String> = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance-tests/ukcore-known-errors.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    let mut failing = BTreeSet::new();
    let mut profiled = 0;
    let mut files: Vec<_> = std::fs::read_dir(ukcore.join("examples")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let doc = careplan::parse::parse(&bytes, None);
        let type_name = doc.root.as_ref().and_then(|r| r.resource_type.clone()).unwrap_or_default();
        let uk_profile = format!("https://fhir.hl7.org.uk/StructureDefinition/UKCore-{type_name}");
        let profiles = if ctx.structure(&uk_profile).is_some() {
            profiled += 1;
            vec![uk_profile]
        } else {
            Vec::new()
        };
        let validator = Validator::new(ctx.clone(), Options { profiles, ..Options::default() });
        let errors: Vec<_> = validator.validate_bytes(&bytes, None).into_iter().filter(|i| i.severity.is_error()).collect();
        if !errors.is_empty() {
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            if !known.contains(&name) {
                eprintln!("{name}: {errors:#?}");
            }
            failing.insert(name);
        }
    }
    assert!(files.len() > 100 && profiled > 100, "{} examples, {profiled} with a UK Core profile of their type", files.len());
    assert_eq!(failing, known, "the examples with errors are not the ones known to be wrong");
}
