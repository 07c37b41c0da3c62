//! The International Patient Summary 2.0.0 (`hl7.fhir.uv.ips`, as the npm
//! registry publishes it): its examples validate with no errors and every
//! slicing checked, IPS slicing `Bundle.entry` by type and profile and
//! Composition sections' entries by the profile of what they resolve to;
//! and a Bundle broken as a sender might break one is caught where the
//! reference validator catches it.
//!
//! The package is read from its archive (`--ig hl7.fhir.uv.ips-2.0.0.tgz`):
//! the npm registry does not carry the IPA guide it names as a dependency,
//! and none of IPS's profiles build on it.

mod common;

use careplan::issue::{Issue, Severity};
use careplan::loader::{self, LoadOptions};
use careplan::validator::{Options, Validator};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

const NAME: &str = "hl7.fhir.uv.ips";
const VERSION: &str = "2.0.0";

/// The package archive, fetched alone from the registries once per target
/// folder (`careplan package fetch`), checked against their checksum.
fn archive() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(format!("{NAME}-{VERSION}.tgz"));
    if path.is_file() {
        return path;
    }
    let cache = careplan::package::PackageCache::new(careplan::package::PackageCache::default_root());
    let r = format!("{NAME}#{VERSION}").parse().unwrap();
    let fetched = cache.fetch_archive(&r, &careplan::package::Registries::default_list(), dir, false).unwrap_or_else(|e| panic!("the IPS tests need {NAME}#{VERSION} from a registry: {e}"));
    assert_eq!(fetched, path);
    path
}

/// The default packages with IPS on top, and IPS's example folder.
fn ips() -> &'static (Arc<careplan::context::Context>, PathBuf) {
    static IPS: OnceLock<(Arc<careplan::context::Context>, PathBuf)> = OnceLock::new();
    IPS.get_or_init(|| {
        common::context();
        let tgz = archive();
        let ctx = loader::load(&LoadOptions { igs: vec![tgz.display().to_string()], ..LoadOptions::default() }).expect("IPS loads from its archive");
        let cache = careplan::package::PackageCache::new(careplan::package::PackageCache::default_root());
        let sha1 = sha1_smol::Sha1::from(std::fs::read(&tgz).unwrap()).digest().to_string();
        let examples = cache.archives_dir().join(sha1).join("package").join("example");
        assert!(examples.is_dir(), "the archive is unpacked at {}", examples.display());
        (Arc::new(ctx), examples)
    })
}

/// The issues of a resource against IPS's profile of its type (if any).
fn validate(resource: &Value) -> Vec<Issue> {
    let (ctx, _) = ips();
    let type_name = resource["resourceType"].as_str().unwrap_or_default();
    let profile = format!("http://hl7.org/fhir/uv/ips/StructureDefinition/{type_name}-uv-ips");
    let profiles = if ctx.structure(&profile).is_some() { vec![profile] } else { Vec::new() };
    Validator::new(ctx.clone(), Options { profiles, ..Options::default() }).validate_bytes(resource.to_string().as_bytes(), None)
}

fn example(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(ips().1.join(name)).unwrap()).unwrap()
}

fn errors(issues: &[Issue]) -> Vec<&Issue> {
    issues.iter().filter(|i| i.severity.is_error()).collect()
}

#[test]
fn the_examples_validate_with_their_slicing_checked() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(&ips().1).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect();
    files.sort();
    assert!(files.len() > 30, "{} examples", files.len());
    let bundles = files.iter().filter(|f| f.file_name().unwrap().to_string_lossy().starts_with("Bundle-")).count();
    assert!(bundles >= 5, "{bundles} Bundles");
    for f in &files {
        let resource: Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        let issues = validate(&resource);
        let name = f.file_name().unwrap().to_string_lossy();
        assert!(errors(&issues).is_empty(), "{name}: {:#?}", errors(&issues));
        let unchecked: Vec<&Issue> = issues.iter().filter(|i| i.message.contains("was not checked")).collect();
        assert!(unchecked.is_empty(), "{name}: {unchecked:#?}");
    }
}

#[test]
fn a_bundle_without_its_composition_or_patient_fails() {
    let minimal = example("Bundle-bundle-minimal.json");
    assert!(errors(&validate(&minimal)).is_empty());

    let mut no_composition = minimal.clone();
    no_composition["entry"].as_array_mut().unwrap().retain(|e| e["resource"]["resourceType"] != "Composition");
    let issues = validate(&no_composition);
    assert!(
        errors(&issues).iter().any(|i| i.expression == "Bundle" && i.message.starts_with("Slice 'Bundle.entry:composition': a matching slice is required, but not found")),
        "{:#?}",
        errors(&issues)
    );

    // A Patient without the name IPS requires is no IPS Patient: the
    // Bundle then lacks the one its patient slice requires, and each
    // reference to it misses its target profile.
    let mut nameless = minimal.clone();
    for e in nameless["entry"].as_array_mut().unwrap() {
        if e["resource"]["resourceType"] == "Patient" {
            e["resource"].as_object_mut().unwrap().remove("name");
        }
    }
    let issues = validate(&nameless);
    assert!(errors(&issues).iter().any(|i| i.message.starts_with("Slice 'Bundle.entry:patient': a matching slice is required")), "{:#?}", errors(&issues));
    assert!(
        issues.iter().any(|i| i.severity == Severity::Information && i.message.contains("Patient-uv-ips does not match for Bundle.entry[1].resource") && i.message.contains("Patient.name: minimum required = 1")),
        "{issues:#?}"
    );
}

#[test]
fn an_entry_that_misses_its_slice_profile_is_told_why() {
    // A MedicationStatement without the effective[x] IPS requires belongs to
    // no slice (slicing is open, so the reference validator does not fail
    // the Bundle); careplan says which profile it missed and why.
    let mut bundle = example("Bundle-bundle-minimal.json");
    let at = bundle["entry"].as_array().unwrap().iter().position(|e| e["resource"]["resourceType"] == "MedicationStatement").unwrap();
    let statement = bundle["entry"][at]["resource"].as_object_mut().unwrap();
    statement.retain(|k, _| !k.starts_with("effective"));
    let issues = validate(&bundle);
    assert!(errors(&issues).is_empty(), "{:#?}", errors(&issues));
    let entry = format!("Bundle.entry[{at}]");
    assert!(issues.iter().any(|i| i.expression == entry && i.message.starts_with("This element does not match any known slice")), "{issues:#?}");
    assert!(
        issues.iter().any(|i| i.expression == entry
            && i.message.starts_with(&format!("Profile http://hl7.org/fhir/uv/ips/StructureDefinition/MedicationStatement-uv-ips does not match for {entry}.resource"))
            && i.message.contains("MedicationStatement.effective[x]: minimum required = 1, but only found 0")),
        "{issues:#?}"
    );
}
