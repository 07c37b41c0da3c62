//! Snapshot generation against the real R4 definitions: profiles and
//! extensions written as differentials become usable by the validator.

mod common;

use careplan::context::{Context, CORE_SD_BASE};
use careplan::definition::StructureDefinition;
use careplan::issue::Issue;
use careplan::loader::{load, LoadOptions};
use careplan::snapshot::generate;
use careplan::tree::Format;
use careplan::validator::{Options, Validator};
use serde_json::{json, Value};
use std::sync::Arc;

const NHS_PATIENT: &str = "http://example.org/StructureDefinition/nhs-patient";
const NICKNAME_EXT: &str = "http://example.org/StructureDefinition/nickname";

fn nhs_patient() -> Value {
    json!({"resourceType": "StructureDefinition", "url": NHS_PATIENT, "name": "NhsPatient", "status": "draft",
        "type": "Patient", "kind": "resource", "abstract": false, "derivation": "constraint",
        "baseDefinition": format!("{CORE_SD_BASE}Patient"),
        "differential": {"element": [
            {"id": "Patient.identifier", "path": "Patient.identifier", "min": 1,
             "slicing": {"discriminator": [{"type": "value", "path": "system"}], "rules": "open"}},
            {"id": "Patient.identifier:nhs", "path": "Patient.identifier", "sliceName": "nhs", "min": 0, "max": "1"},
            {"id": "Patient.identifier:nhs.system", "path": "Patient.identifier.system", "min": 1, "fixedUri": "https://fhir.nhs.uk/Id/nhs-number"},
            {"id": "Patient.identifier:nhs.value", "path": "Patient.identifier.value", "min": 1}
        ]}})
}

fn nickname_extension() -> Value {
    json!({"resourceType": "StructureDefinition", "url": NICKNAME_EXT, "name": "Nickname", "status": "draft",
        "type": "Extension", "kind": "complex-type", "abstract": false, "derivation": "constraint",
        "context": [{"type": "element", "expression": "Patient"}],
        "baseDefinition": format!("{CORE_SD_BASE}Extension"),
        "differential": {"element": [
            {"id": "Extension", "path": "Extension", "max": "1"},
            {"id": "Extension.extension", "path": "Extension.extension", "max": "0"},
            {"id": "Extension.url", "path": "Extension.url", "fixedUri": NICKNAME_EXT},
            {"id": "Extension.value[x]", "path": "Extension.value[x]", "min": 1, "type": [{"code": "string"}]}
        ]}})
}

fn overlay(defs: &[Value]) -> Arc<Context> {
    let mut ctx = Context::overlay(common::context());
    for d in defs {
        ctx.add_json(d.clone(), "test");
    }
    Arc::new(ctx)
}

fn errors(ctx: &Arc<Context>, profiles: &[&str], json: &str) -> Vec<Issue> {
    let v = Validator::new(ctx.clone(), Options { profiles: profiles.iter().map(|p| p.to_string()).collect(), ..Options::default() });
    v.validate_bytes(json.as_bytes(), Some(Format::Json)).into_iter().filter(|i| i.severity.is_error()).collect()
}

fn sd(v: Value) -> StructureDefinition {
    serde_json::from_value(v).unwrap()
}

#[test]
fn a_patient_profile_gets_its_slice_children_cardinality_and_fixed_value() {
    let out = generate(sd(nhs_patient()), &common::context()).expect("the snapshot generates");
    let elements = &out.snapshot.as_ref().unwrap().element;
    let find = |id: &str| elements.iter().find(|e| e.id.as_deref() == Some(id)).unwrap_or_else(|| panic!("no {id}"));
    assert_eq!(find("Patient.identifier").min, Some(1));
    assert_eq!(find("Patient.identifier:nhs").slice_name.as_deref(), Some("nhs"));
    assert_eq!(find("Patient.identifier:nhs").max.as_deref(), Some("1"));
    let system = find("Patient.identifier:nhs.system");
    assert_eq!(system.min, Some(1));
    assert_eq!(system.other.get("fixedUri"), Some(&json!("https://fhir.nhs.uk/Id/nhs-number")));
    assert!(find("Patient.identifier:nhs.period").types[0].code == "Period");
    // Everything of the core Patient is still there, in order, with the slice after identifier.
    let ids: Vec<&str> = elements.iter().map(|e| e.id.as_deref().unwrap()).collect();
    let ix = ids.iter().position(|i| *i == "Patient.identifier").unwrap();
    assert_eq!(ids[ix + 1], "Patient.identifier:nhs");
    assert!(ids.contains(&"Patient.link.type"));
}

#[test]
fn the_validator_uses_a_generated_profile() {
    let ctx = overlay(&[nhs_patient()]);
    let errs = errors(&ctx, &[NHS_PATIENT], r#"{"resourceType":"Patient","active":true}"#);
    assert!(errs.iter().any(|i| i.message.contains("Patient.identifier: minimum required = 1")), "{errs:#?}");
    // A patient with an identifier passes: slices do not add cardinality errors.
    let errs = errors(&ctx, &[NHS_PATIENT], r#"{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9000000009"},{"value":"x"}]}"#);
    assert!(errs.is_empty(), "{errs:#?}");
}

#[test]
fn widening_cardinality_in_a_differential_is_an_error() {
    let mut bad = nhs_patient();
    bad["differential"]["element"] = json!([{"id": "Patient.gender", "path": "Patient.gender", "max": "*"}]);
    let e = generate(sd(bad), &common::context()).unwrap_err();
    assert_eq!(e.element.as_deref(), Some("Patient.gender"));
    assert!(e.to_string().contains("max * is more than the base max 1"), "{e}");
}

#[test]
fn a_differential_extension_validates_its_uses() {
    let ctx = overlay(&[nickname_extension()]);
    let good = format!(r#"{{"resourceType":"Patient","extension":[{{"url":"{NICKNAME_EXT}","valueString":"Bob"}}]}}"#);
    let errs = errors(&ctx, &[], &good);
    assert!(errs.is_empty(), "{errs:#?}");
    let bad = format!(r#"{{"resourceType":"Patient","extension":[{{"url":"{NICKNAME_EXT}","valueBoolean":true}}]}}"#);
    let errs = errors(&ctx, &[], &bad);
    assert!(errs.iter().any(|i| i.expression.contains("extension[0]")), "{errs:#?}");
}

#[test]
fn every_uk_core_structure_definition_gets_a_snapshot() {
    let Some(dir) = common::shared("ukcore/structuredefinitions", "UK Core's StructureDefinitions") else { return };
    common::context();
    let opts = LoadOptions { igs: vec![dir.display().to_string()], offline: true, ..LoadOptions::default() };
    let ctx = load(&opts).expect("UK Core loads");
    let mut urls: Vec<String> = ctx
        .entries()
        .filter(|e| e.resource_type == "StructureDefinition" && e.origin.contains("ukcore"))
        .map(|e| e.url.clone())
        .collect();
    urls.sort();
    assert!(urls.len() > 100, "only {} UK Core definitions", urls.len());
    let mut failures = Vec::new();
    for url in &urls {
        let sd = ctx.structure_definition(url).unwrap_or_else(|| panic!("{url} reads"));
        match generate(sd, &ctx) {
            Ok(out) => assert!(careplan::structure::StructureDef::compile(out).is_some()),
            Err(e) => failures.push(e.to_string()),
        }
    }
    eprintln!("UK Core: {} of {} snapshots generated", urls.len() - failures.len(), urls.len());
    assert!(failures.is_empty(), "{} of {} failed:\n{}", failures.len(), urls.len(), failures.join("\n"));
}

#[test]
fn snapshot_check_says_whether_a_committed_snapshot_follows_from_its_differential() {
    let published = common::examples_dir().join("StructureDefinition-bodyweight.json");
    let out = common::careplan().args(["snapshot", "--offline", "--no-careplan-profiles", "--check"]).arg(&published).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("the snapshot is what the differential gives"), "{stdout}");

    // A snapshot edited by hand no longer follows from the differential.
    let mut sd: Value = serde_json::from_slice(&std::fs::read(&published).unwrap()).unwrap();
    let elements = sd["snapshot"]["element"].as_array_mut().unwrap();
    let unit = elements.iter_mut().find(|e| e["id"] == "Observation.value[x]:valueQuantity.unit").unwrap();
    unit["min"] = json!(0);
    let dir = tempfile::tempdir().unwrap();
    let edited = dir.path().join("bodyweight.json");
    std::fs::write(&edited, sd.to_string()).unwrap();
    let out = common::careplan().args(["snapshot", "--offline", "--no-careplan-profiles", "--check"]).arg(&edited).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("Observation.value[x]:valueQuantity.unit: min: generated 1, in the file 0"), "{stdout}");
}
