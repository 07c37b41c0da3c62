//! Our PRSB profiles (`profiles/`, embedded as `careplan::profiles`):
//!
//! - every StructureDefinition gets a snapshot, and the snapshot carries
//!   what its differential declares;
//! - every example in `examples/fhir/profiles/` is valid against the profile
//!   it claims and against the UK Core profile of its type;
//! - every constraint a definition declares is broken once on purpose by a
//!   case in `conformance-tests/profiles/` (a valid example, JSON-patch
//!   edits that break it, and the error expected), and a coverage check
//!   fails when a constrained element has no such case;
//! - the ConceptMaps give every PRSB status an R4 status from the value set
//!   R4 requires;
//! - `careplan validate` loads them unless told not to.

mod common;

use careplan::context::Context;
use careplan::definition::ElementDefinition;
use careplan::issue::Issue;
use careplan::loader::{self, LoadOptions};
use careplan::profiles;
use careplan::terminology::{Membership, Terminology};
use careplan::validator::{Options, Validator};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every embedded resource of one type, parsed.
fn resources(resource_type: &str) -> Vec<(String, Value)> {
    profiles::files()
        .map(|(name, text)| (name.to_string(), serde_json::from_str::<Value>(text).unwrap()))
        .filter(|(_, v)| v["resourceType"] == resource_type)
        .collect()
}

fn errors(issues: Vec<Issue>) -> Vec<Issue> {
    issues.into_iter().filter(|i| i.severity.is_error()).collect()
}

fn validate(ctx: &Arc<Context>, profiles: Vec<String>, resource: &Value) -> Vec<Issue> {
    let validator = Validator::new(ctx.clone(), Options { profiles, ..Options::default() });
    errors(validator.validate_bytes(resource.to_string().as_bytes(), None))
}

fn describe(issues: &[Issue]) -> String {
    issues.iter().map(|i| format!("\n    {} [{}]", i.message, i.expression)).collect()
}

// ---------------------------------------------------------------- snapshots

/// The properties of a differential element that constrain, other than
/// documentation: each must be in the snapshot element it was applied to.
fn assert_applied(sd_url: &str, d: &ElementDefinition, s: &ElementDefinition) {
    let at = format!("{sd_url}: {}", d.id.as_deref().unwrap_or(&d.path));
    if let Some(min) = d.min {
        assert_eq!(s.min, Some(min), "{at}: min");
    }
    if let Some(max) = &d.max {
        assert_eq!(s.max.as_ref(), Some(max), "{at}: max");
    }
    if let Some(b) = &d.binding {
        let sb = s.binding.as_ref().unwrap_or_else(|| panic!("{at}: binding lost"));
        assert_eq!((&sb.strength, &sb.value_set), (&b.strength, &b.value_set), "{at}: binding");
    }
    for c in &d.constraint {
        assert!(s.constraint.iter().any(|sc| sc.key == c.key), "{at}: constraint {} lost", c.key);
    }
    if !d.types.is_empty() {
        let shape = |e: &ElementDefinition| e.types.iter().map(|t| (t.code.clone(), t.profile.clone(), t.target_profile.clone())).collect::<Vec<_>>();
        assert_eq!(shape(s), shape(d), "{at}: types");
    }
    if let Some(ds) = &d.slicing {
        let ss = s.slicing.as_ref().unwrap_or_else(|| panic!("{at}: slicing lost"));
        assert_eq!(ss.rules, ds.rules, "{at}: slicing rules");
    }
    for (key, value) in &d.other {
        if ["fixed", "pattern", "minValue", "maxValue", "maxLength"].iter().any(|p| key.starts_with(p)) {
            assert_eq!(s.other.get(key), Some(value), "{at}: {key}");
        }
    }
}

#[test]
fn every_structure_definition_gets_a_snapshot_with_what_its_differential_declares() {
    let ctx = common::context_with_careplan_profiles();
    let sds = resources("StructureDefinition");
    assert!(sds.len() >= 29, "{} StructureDefinitions", sds.len());
    for (name, v) in sds {
        let url = v["url"].as_str().unwrap();
        assert_eq!(v["fhirVersion"], "4.0.1", "{name}");
        assert!(v["baseDefinition"].as_str().unwrap().starts_with("http://hl7.org/fhir/StructureDefinition/"), "{name}: derives from R4 core");
        assert!(v.get("snapshot").is_none(), "{name}: the snapshot is generated, not committed");
        assert!(v["description"].as_str().is_some_and(|d| d.len() > 40), "{name}: says what it means");
        for e in v["differential"]["element"].as_array().unwrap().iter().filter(|e| constrains(v["type"].as_str().unwrap(), e)) {
            assert!(e["short"].is_string() && e["definition"].is_string(), "{name}: {} constrains without saying what (short, definition)", e["id"]);
        }
        let sd = ctx.structure_definition(url).unwrap();
        let diff = sd.differential.clone().unwrap().element;
        let (generated, matched) = careplan::snapshot::generate_matching(sd, &ctx).unwrap_or_else(|e| panic!("{name}: {e}"));
        let snapshot = generated.snapshot.unwrap().element;
        for (d, m) in diff.iter().zip(&matched) {
            let id = m.as_deref().unwrap_or_else(|| panic!("{name}: {} names no element", d.id.as_deref().unwrap_or(&d.path)));
            let s = snapshot.iter().find(|e| e.id.as_deref() == Some(id)).unwrap();
            assert_applied(url, d, s);
        }
        assert!(ctx.structure(url).is_some(), "{name}: compiles");
    }
}

// ----------------------------------------------------------------- examples

fn examples() -> Vec<(String, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("examples/fhir/profiles")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files.into_iter().map(|f| (f.file_name().unwrap().to_string_lossy().into_owned(), serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap())).collect()
}

#[test]
fn every_example_is_valid_against_our_profile_and_uk_core() {
    let Some(ctx) = common::shared_ukcore_context("the examples against UK Core (they are still checked against our profiles)") else {
        return check_examples(&common::context_with_careplan_profiles(), false);
    };
    check_examples(&ctx, true);
}

fn check_examples(ctx: &Arc<Context>, with_ukcore: bool) {
    let mut claimed = BTreeSet::new();
    let mut against_ukcore = 0;
    for (name, example) in examples() {
        let rt = example["resourceType"].as_str().unwrap();
        let profile = example["meta"]["profile"][0].as_str().unwrap_or_else(|| panic!("{name} claims no profile"));
        assert!(profile.starts_with(profiles::BASE) && ctx.structure(profile).is_some(), "{name}: {profile} is one of ours");
        claimed.insert(profile.to_string());
        let mut extra = Vec::new();
        let uk = format!("https://fhir.hl7.org.uk/StructureDefinition/UKCore-{rt}");
        if with_ukcore && ctx.structure(&uk).is_some() {
            extra.push(uk);
            against_ukcore += 1;
        }
        let found = validate(ctx, extra, &example);
        assert!(found.is_empty(), "{name}:{}", describe(&found));
    }
    // One example per resource profile (prsb-comment, on Annotation, is in several).
    let resource_profiles: BTreeSet<String> =
        resources("StructureDefinition").into_iter().filter(|(_, v)| v["kind"] == "resource").map(|(_, v)| v["url"].as_str().unwrap().to_string()).collect();
    assert_eq!(claimed, resource_profiles, "every resource profile has an example");
    if with_ukcore {
        assert!(against_ukcore >= 12, "{against_ukcore} examples checked against UK Core");
    }
}

// ------------------------------------------------------------ constraint cases

/// One file of `conformance-tests/profiles/`: the cases of one definition.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    /// The StructureDefinition whose differential the cases cover.
    definition: String,
    /// The valid instance every case edits (relative to the crate root).
    instance: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// The differential element (its id) whose constraint the case breaks.
    element: String,
    description: String,
    /// Edits that make a valid instance using the constraint (none: the instance itself).
    #[serde(default)]
    valid: Vec<Edit>,
    /// Edits that break the constraint.
    invalid: Vec<Edit>,
    /// The error the broken instance must get.
    error: ExpectedError,
}

/// A JSON Patch (RFC 6902) operation: add, replace or remove.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct Edit {
    op: String,
    path: String,
    #[serde(default)]
    value: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedError {
    /// The issue's FHIRPath expression, exactly.
    expression: String,
    /// Words the message must contain: what was violated (slice, key, element, limit).
    message: String,
}

fn apply(mut doc: Value, edits: &[Edit]) -> Result<Value, String> {
    for e in edits {
        let (parent, last) = e.path.rsplit_once('/').ok_or_else(|| format!("{}: not a JSON pointer", e.path))?;
        let last = last.replace("~1", "/").replace("~0", "~");
        let target = doc.pointer_mut(parent).ok_or_else(|| format!("{}: no such parent", e.path))?;
        let value = || e.value.clone().ok_or_else(|| format!("{} {}: no value", e.op, e.path));
        match (e.op.as_str(), target) {
            ("add", Value::Array(a)) if last == "-" => a.push(value()?),
            ("add", Value::Array(a)) => a.insert(last.parse().map_err(|_| format!("{}: bad index", e.path))?, value()?),
            ("add" | "replace", Value::Object(o)) => {
                if e.op == "replace" && !o.contains_key(&last) {
                    return Err(format!("replace {}: nothing there", e.path));
                }
                o.insert(last, value()?);
            }
            ("replace", Value::Array(a)) => *a.get_mut(last.parse::<usize>().map_err(|_| format!("{}: bad index", e.path))?).ok_or(format!("{}: no such index", e.path))? = value()?,
            ("remove", Value::Object(o)) => {
                o.remove(&last).ok_or_else(|| format!("remove {}: nothing there", e.path))?;
            }
            ("remove", Value::Array(a)) => {
                let i: usize = last.parse().map_err(|_| format!("{}: bad index", e.path))?;
                if i >= a.len() {
                    return Err(format!("remove {}: no such index", e.path));
                }
                a.remove(i);
            }
            (op, _) => return Err(format!("{op} {}: not supported here", e.path)),
        }
    }
    Ok(doc)
}

fn case_files() -> Vec<(String, CaseFile)> {
    let dir = root().join("conformance-tests/profiles");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect();
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let parsed = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, parsed)
        })
        .collect()
}

#[test]
fn every_case_is_valid_before_and_fails_as_expected_after_its_edits() {
    let ctx = common::context_with_careplan_profiles();
    let mut failures = Vec::new();
    let mut count = 0;
    for (file, cases) in case_files() {
        let instance: Value = serde_json::from_slice(&std::fs::read(root().join(&cases.instance)).unwrap()).unwrap();
        for case in &cases.cases {
            count += 1;
            let at = format!("{file}: {} ({})", case.element, case.description);
            let valid = match apply(instance.clone(), &case.valid) {
                Ok(v) => v,
                Err(e) => {
                    failures.push(format!("{at}: valid edits: {e}"));
                    continue;
                }
            };
            let found = validate(&ctx, Vec::new(), &valid);
            if !found.is_empty() {
                failures.push(format!("{at}: the valid instance has errors:{}", describe(&found)));
            }
            let invalid = match apply(valid, &case.invalid) {
                Ok(v) => v,
                Err(e) => {
                    failures.push(format!("{at}: invalid edits: {e}"));
                    continue;
                }
            };
            let found = validate(&ctx, Vec::new(), &invalid);
            if !found.iter().any(|i| i.expression == case.error.expression && i.message.contains(&case.error.message)) {
                failures.push(format!("{at}: expected an error at {} containing '{}', got:{}", case.error.expression, case.error.message, describe(&found)));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {count} cases fail:\n{}", failures.len(), failures.join("\n"));
    assert!(count >= 150, "{count} cases");
}

/// Whether a differential element constrains anything an instance can break.
/// Not counted: documentation only (short, definition), open slicing (the
/// slices are), and an extension's `url` (it names the extension or slice,
/// so another url is another extension; a wrong sub-extension url breaks the
/// closed slicing of `extension`, which has its own case).
fn constrains(sd_type: &str, e: &Value) -> bool {
    let path = e["path"].as_str().unwrap();
    if sd_type == "Extension" && path.ends_with(".url") {
        return false;
    }
    let obj = e.as_object().unwrap();
    obj.keys().any(|k| {
        matches!(k.as_str(), "min" | "max" | "binding" | "constraint" | "type" | "sliceName" | "maxLength")
            || ["fixed", "pattern", "minValue", "maxValue"].iter().any(|p| k.starts_with(p))
    }) || e["slicing"]["rules"] == "closed"
}

#[test]
fn every_constrained_element_of_every_definition_has_a_case() {
    let mut covered: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, cases) in case_files() {
        for c in cases.cases {
            covered.entry(cases.definition.clone()).or_default().insert(c.element.clone());
        }
        assert!(!cases.instance.is_empty(), "{file}: names its instance");
    }
    let mut missing = Vec::new();
    let mut unknown = Vec::new();
    let mut constrained = 0;
    for (_, sd) in resources("StructureDefinition") {
        let url = sd["url"].as_str().unwrap();
        let ty = sd["type"].as_str().unwrap();
        let elements = sd["differential"]["element"].as_array().unwrap();
        let ids: BTreeSet<&str> = elements.iter().map(|e| e["id"].as_str().unwrap()).collect();
        let have = covered.remove(url).unwrap_or_default();
        for e in elements.iter().filter(|e| constrains(ty, e)) {
            constrained += 1;
            let id = e["id"].as_str().unwrap();
            if !have.contains(id) {
                missing.push(format!("{url}: {id}"));
            }
        }
        unknown.extend(have.iter().filter(|id| !ids.contains(id.as_str())).map(|id| format!("{url}: {id}")));
    }
    unknown.extend(covered.keys().map(|url| format!("{url}: not one of ours")));
    assert!(unknown.is_empty(), "cases name elements no differential has:\n{}", unknown.join("\n"));
    assert!(missing.is_empty(), "{} of {constrained} constrained elements have no invalid case:\n{}", missing.len(), missing.join("\n"));
}

// ------------------------------------------------------------- concept maps

#[test]
fn concept_maps_give_every_prsb_status_a_code_of_the_r4_value_set_the_element_requires() {
    let ctx = common::context_with_careplan_profiles();
    let terminology = Terminology::new(ctx.clone());
    // The R4 element each map feeds, whose required binding the target value set must be.
    let fed = [("prsb-goal-status-to-r4", "Goal", "Goal.lifecycleStatus"), ("prsb-action-status-to-r4", "CarePlan", "CarePlan.activity.detail.status")];
    for (id, ty, path) in fed {
        let map: Value = serde_json::from_str(profiles::file(&format!("ConceptMap-{id}.json")).unwrap()).unwrap();
        let core = ctx.structure_definition(&format!("http://hl7.org/fhir/StructureDefinition/{ty}")).unwrap();
        let element = core.snapshot.unwrap().element.into_iter().find(|e| e.path == path).unwrap();
        let binding = element.binding.unwrap();
        assert_eq!(binding.strength, "required");
        let required = binding.value_set.unwrap();
        let required = required.split('|').next().unwrap();
        assert_eq!(map["targetCanonical"], required, "{id} targets the value set {path} requires");
        let group = &map["group"][0];
        let source = ctx.code_system(group["source"].as_str().unwrap()).unwrap();
        let (_, source_json) = resources("CodeSystem").into_iter().find(|(_, v)| v["url"] == group["source"]).unwrap();
        assert_eq!(map["sourceCanonical"], source_json["valueSet"], "{id}: the source value set is the whole code system");
        let elements = group["element"].as_array().unwrap();
        assert_eq!(elements.len(), source.concept.len(), "{id}: one element per source code");
        for concept in &source.concept {
            let mapped = elements.iter().find(|e| e["code"] == concept.code.as_str()).unwrap_or_else(|| panic!("{id}: {} is not mapped", concept.code));
            let targets = mapped["target"].as_array().unwrap();
            assert_eq!(targets.len(), 1, "{id}: {} maps to exactly one code", concept.code);
            let target = targets[0]["code"].as_str().unwrap();
            let membership = terminology.member(required, group["target"].as_str(), target);
            assert!(matches!(membership, Membership::In), "{id}: {} → {target} is not in {required}", concept.code);
        }
    }
}

// ------------------------------------------------------------------ loading

#[test]
fn our_profiles_load_only_when_asked() {
    common::context();
    let goal = profiles::url("StructureDefinition", "prsb-goal");
    let plain = loader::load(&LoadOptions { offline: true, ..LoadOptions::default() }).unwrap();
    assert!(!plain.knows(&goal), "the conformance harness and library users get them only when they ask");
    let ours = loader::load(&LoadOptions { offline: true, careplan_profiles: true, ..LoadOptions::default() }).unwrap();
    assert!(ours.knows(&goal));
}

#[test]
fn careplan_validate_uses_them_unless_told_not_to() {
    let mut broken: Value = serde_json::from_slice(&std::fs::read(root().join("examples/fhir/profiles/Goal-prsb-goal.json")).unwrap()).unwrap();
    broken["extension"][1]["valueInteger"] = 11.into();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("goal.json");
    std::fs::write(&file, broken.to_string()).unwrap();
    let run = |extra: &[&str]| {
        let out = common::careplan().args(["validate", "--offline"]).args(extra).arg(&file).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, text) = run(&[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("maximum value of 10 [Goal.extension[1].value.ofType(integer)]"), "{text}");
    let (code, text) = run(&["--no-careplan-profiles"]);
    assert!(!text.contains("maximum value of 10"), "{text}");
    assert!(text.contains("Profile reference 'https://careplan.example/fhir/StructureDefinition/prsb-goal' has not been checked because it could not be found"), "{text}");
    assert_eq!(code, Some(1), "our extensions are unknown without our profiles: {text}");
}

// ------------------------------------------------------------------ bundles

/// The examples as the mapper sends them: one transaction Bundle, with the
/// Patient and Location they point to, every reference resolving inside it.
fn examples_bundle() -> Value {
    let server = "https://fhir.example.org/R4";
    let patient = serde_json::json!({"resourceType": "Patient", "id": "margaret-smith", "name": [{"text": "Margaret Smith"}],
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9000000009"}], "birthDate": "1938-04-12"});
    let location = serde_json::json!({"resourceType": "Location", "id": "home", "name": "Home"});
    let entries: Vec<Value> = [patient, location]
        .into_iter()
        .chain(examples().into_iter().map(|(_, v)| v).filter(|r| r["resourceType"] != "Bundle"))
        .map(|r| {
            let (rt, id) = (r["resourceType"].as_str().unwrap().to_string(), r["id"].as_str().unwrap().to_string());
            serde_json::json!({"fullUrl": format!("{server}/{rt}/{id}"), "resource": r, "request": {"method": "PUT", "url": format!("{rt}/{id}")}})
        })
        .collect();
    serde_json::json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

#[test]
fn the_examples_together_are_a_valid_bundle_and_resolved_targets_are_checked() {
    let ctx = common::context_with_careplan_profiles();
    let mut bundle = examples_bundle();
    let found = validate(&ctx, Vec::new(), &bundle);
    assert!(found.is_empty(), "{}", describe(&found));
    // Resolved inside the Bundle, a goal that addresses a strength is refused.
    let entries = bundle["entry"].as_array_mut().unwrap();
    let goal = entries.iter().position(|e| e["resource"]["resourceType"] == "Goal").unwrap();
    entries[goal]["resource"]["addresses"][0]["reference"] = "Observation/strength-gardening".into();
    let found = validate(&ctx, Vec::new(), &bundle);
    let expected = format!("Bundle.entry[{goal}].resource.addresses[0]");
    assert!(found.iter().any(|i| i.expression == expected && i.message.contains("Invalid Resource target type. Found Observation")), "{}", describe(&found));
}
