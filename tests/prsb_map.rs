//! PRSB plan ↔ FHIR: the examples and their committed Bundles, the round
//! trip over thousands of generated plans, every PRSB item carried both ways,
//! the archive rules and the active view, and the `map`/`unmap` commands.

mod common;

use std::path::PathBuf;

use careplan::prsb::archive::{self, ArchiveError, GoalActions};
use careplan::prsb::{self, coverage, generate, map, unmap, CarePlan};
use proptest::prelude::*;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn examples() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(root().join("examples/prsb"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            (stem, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

fn bundle_json(plan: &CarePlan) -> String {
    map::to_json(&map::map(plan)).expect("a mapped Bundle serialises")
}

fn unmap_json(json: &str) -> CarePlan {
    let resources = unmap::read_resources(json.as_bytes()).expect("the Bundle reads back");
    unmap::unmap(&resources, None).unwrap_or_else(|e| panic!("unmap failed: {e:#}"))
}

fn as_value(plan: &CarePlan) -> Value {
    serde_json::to_value(plan).unwrap()
}

#[test]
fn examples_map_to_their_committed_bundles_and_back() {
    let examples = examples();
    assert!(examples.len() >= 5);
    let bless = std::env::var_os("CAREPLAN_BLESS").is_some();
    for (name, bytes) in examples {
        let plan = prsb::read(&bytes).unwrap_or_else(|p| panic!("{name}: {p:?}"));
        let json = bundle_json(&plan);
        let committed = root().join("examples/fhir/prsb").join(format!("{name}.bundle.json"));
        if bless {
            std::fs::create_dir_all(committed.parent().unwrap()).unwrap();
            std::fs::write(&committed, &json).unwrap();
        }
        let on_disk = std::fs::read_to_string(&committed).unwrap_or_else(|_| {
            panic!("{} is missing: run `CAREPLAN_BLESS=1 cargo test --test prsb_map` to write it", committed.display())
        });
        assert!(
            on_disk == json,
            "{}: the committed Bundle is out of date with the mapper; review the change and run `CAREPLAN_BLESS=1 cargo test --test prsb_map`",
            committed.display()
        );
        // Back to the plan, equal as JSON to the example file itself.
        let original: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(as_value(&unmap_json(&json)), original, "{name}: unmap(map(plan)) differs from the example");
    }
}

#[test]
fn mapping_is_deterministic() {
    let plan = generate::plan(7, true);
    assert_eq!(bundle_json(&plan), bundle_json(&plan));
}

#[test]
fn generated_plans_are_valid_plans() {
    for seed in 0..400 {
        let plan = generate::plan(seed, seed % 7 == 0);
        let bytes = serde_json::to_vec(&plan).unwrap();
        match prsb::read(&bytes) {
            Ok(back) => assert_eq!(back, plan, "seed {seed}: reading changed the plan"),
            Err(problems) => panic!(
                "seed {seed}: the generator made an invalid plan:\n{}",
                problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n")
            ),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn map_then_unmap_gives_the_plan_back(seed in any::<u64>(), full in any::<bool>()) {
        let plan = generate::plan(seed, full);
        let back = unmap_json(&bundle_json(&plan));
        prop_assert_eq!(as_value(&back), as_value(&plan));
    }
}

/// Every PRSB item of the care plan section (and the linked legal and
/// document items) has a field, the field is filled in a full plan, and the
/// value survives map then unmap.
#[test]
fn every_prsb_item_is_carried_through_map_and_unmap() {
    let plan = generate::plan(42, true);
    let before = as_value(&plan);
    let after = as_value(&unmap_json(&bundle_json(&plan)));
    let mapping_doc = std::fs::read_to_string(root().join("docs/mapping.md")).unwrap().to_lowercase();
    for (item, path) in coverage::CARE_PLAN_ITEMS.iter().chain(coverage::LINKED_ITEMS).chain(coverage::ADDED_ITEMS) {
        let values = at_path(&before, path);
        assert!(!values.is_empty(), "{item} ({path}): the full generated plan has no value there");
        assert_eq!(values, at_path(&after, path), "{item} ({path}): changed by map then unmap");
        let name = item.rsplit(" / ").next().unwrap().to_lowercase();
        assert!(mapping_doc.contains(&name), "{item}: not named in docs/mapping.md");
    }
}

/// The values at a field path (`/a/*/b`, `*` for every array index).
fn at_path<'a>(value: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut current = vec![value];
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        current = current
            .into_iter()
            .flat_map(|v| match (segment, v) {
                ("*", Value::Array(items)) => items.iter().collect::<Vec<_>>(),
                (name, Value::Object(map)) => map.get(name).into_iter().collect(),
                _ => Vec::new(),
            })
            .collect();
    }
    current
}

// ------------------------------------------------------------------ archive

fn plan_from(name: &str) -> CarePlan {
    let bytes = std::fs::read(root().join("examples/prsb").join(name)).unwrap();
    prsb::read(&bytes).unwrap()
}

/// A small plan: one need, two goals, three actions (one done, one under way
/// on goal A only, one serving both goals).
fn small_plan() -> CarePlan {
    let json = serde_json::json!({
        "id": "p",
        "needs": [{ "id": "n1", "kind": "need", "freeText": "Gets lonely" }],
        "goals": [
            { "id": "gA", "needIds": ["n1"], "freeText": "Join the choir" },
            { "id": "gB", "needIds": ["n1"], "freeText": "See friends weekly" }
        ],
        "actions": [
            { "id": "a-done", "goalIds": ["gA"], "what": { "freeText": "Find a choir" }, "status": { "state": "done" } },
            { "id": "a-going", "goalIds": ["gA"], "what": { "freeText": "Go to rehearsals" }, "status": { "state": "inProgress" } },
            { "id": "a-both", "goalIds": ["gA", "gB"], "what": { "freeText": "Book the bus" } }
        ]
    });
    prsb::read(&serde_json::to_vec(&json).unwrap()).unwrap()
}

const AT: &str = "2026-11-25T10:00:00Z";

fn action<'a>(plan: &'a CarePlan, id: &str) -> &'a prsb::Action {
    plan.actions.iter().find(|a| a.id == id).unwrap()
}

#[test]
fn archiving_a_goal_can_archive_its_actions() {
    let mut plan = small_plan();
    let done = archive::archive_goal(&mut plan, "gA", AT, Some("moved away"), GoalActions::Archive).unwrap();
    assert_eq!(done.archived, vec!["gA", "a-done", "a-going"]);
    assert!(plan.goals[0].archived && plan.goals[0].archived_at.as_deref() == Some(AT));
    assert!(action(&plan, "a-done").archived && action(&plan, "a-going").archived);
    // Still serves goal B, so it goes on.
    assert!(!action(&plan, "a-both").archived);
    assert!(prsb::check_links(&plan).is_empty());
}

#[test]
fn archiving_a_goal_can_move_still_valid_actions() {
    let mut plan = small_plan();
    let done = archive::archive_goal(&mut plan, "gA", AT, None, GoalActions::MoveTo("gB".into())).unwrap();
    assert_eq!(done.moved, vec!["a-going"]);
    assert_eq!(action(&plan, "a-going").goal_ids, vec!["gB"]);
    assert!(!action(&plan, "a-going").archived);
    // A finished action is archived rather than moved.
    assert!(action(&plan, "a-done").archived);
    assert_eq!(action(&plan, "a-done").goal_ids, vec!["gA"]);
}

#[test]
fn moving_actions_needs_an_active_goal() {
    let mut plan = small_plan();
    assert_eq!(
        archive::archive_goal(&mut plan, "gA", AT, None, GoalActions::MoveTo("nope".into())),
        Err(ArchiveError::NoSuchGoal("nope".into()))
    );
    archive::archive_goal(&mut plan, "gB", AT, None, GoalActions::Archive).unwrap();
    assert_eq!(
        archive::archive_goal(&mut plan, "gA", AT, None, GoalActions::MoveTo("gB".into())),
        Err(ArchiveError::TargetArchived("gB".into()))
    );
    assert!(!plan.goals[0].archived, "a refused archive changes nothing");
}

#[test]
fn archiving_a_need_asks_for_its_goals_to_be_reviewed() {
    let mut plan = small_plan();
    let done = archive::archive_item(&mut plan, "n1", AT, Some("resolved")).unwrap();
    assert_eq!(done.goals_to_review, vec!["gA", "gB"]);
    assert!(plan.needs[0].archived);
    assert!(plan.goals.iter().all(|g| !g.archived), "goals are reviewed, not archived");
}

#[test]
fn only_a_finished_action_is_archived_on_its_own() {
    let mut plan = small_plan();
    archive::archive_item(&mut plan, "a-done", AT, None).unwrap();
    assert!(action(&plan, "a-done").archived);
    let err = archive::archive_item(&mut plan, "a-going", AT, None).unwrap_err();
    assert!(matches!(err, ArchiveError::ActionNotFinished { .. }), "{err}");
    assert!(err.to_string().contains("in-progress"), "{err}");
    assert_eq!(archive::archive_item(&mut plan, "a-done", AT, None), Err(ArchiveError::AlreadyArchived("a-done".into())));
    assert_eq!(archive::archive_item(&mut plan, "zzz", AT, None), Err(ArchiveError::NoSuchItem("zzz".into())));
}

#[test]
fn the_active_view_leaves_archived_items_out_and_the_whole_plan_keeps_them() {
    let mut plan = small_plan();
    archive::archive_goal(&mut plan, "gA", AT, None, GoalActions::Archive).unwrap();
    let view = archive::active_view(&plan);
    assert_eq!(view.goals.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(), vec!["gB"]);
    assert_eq!(view.actions.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), vec!["a-both"]);
    assert_eq!(action(&view, "a-both").goal_ids, vec!["gB"], "links to archived goals leave the view");
    assert!(prsb::check_links(&view).is_empty(), "the view is itself a valid plan");
    // The whole plan still carries them, through FHIR and back.
    let back = unmap_json(&bundle_json(&plan));
    assert_eq!(back.goals.len(), 2);
    assert!(back.goals[0].archived);
}

#[test]
fn the_active_view_of_an_example_drops_every_archived_item() {
    for (name, bytes) in examples() {
        let plan = prsb::read(&bytes).unwrap();
        let view = archive::active_view(&plan);
        let archived_left: Vec<String> = prsb::check_links(&view)
            .into_iter()
            .map(|p| p.to_string())
            .collect();
        assert!(archived_left.is_empty(), "{name}: {archived_left:?}");
        let text = serde_json::to_string(&view).unwrap();
        assert!(!text.contains("\"archived\":true"), "{name}: an archived item is still in the active view");
    }
    let _ = plan_from;
}

#[test]
fn a_strength_s_link_to_an_archived_goal_leaves_the_view_and_comes_back_on_a_post() {
    let json = serde_json::json!({
        "id": "p",
        "strengths": [{ "id": "s1", "freeText": "Sings well", "goalIds": ["gA", "gB"] }],
        "goals": [{ "id": "gA", "freeText": "Join the choir" }, { "id": "gB", "freeText": "See friends weekly" }]
    });
    let mut plan = prsb::read(&serde_json::to_vec(&json).unwrap()).unwrap();
    archive::archive_goal(&mut plan, "gA", AT, None, GoalActions::Archive).unwrap();
    let view = archive::active_view(&plan);
    assert_eq!(view.strengths[0].goal_ids, vec!["gB"]);
    assert!(prsb::check_links(&view).is_empty());
    // Posting the view back over the stored plan restores the link to the archived goal.
    let mut posted = view.clone();
    archive::carry_over(&mut posted, &plan, AT);
    assert_eq!(posted.strengths[0].goal_ids, vec!["gB", "gA"]);
    assert!(prsb::check_links(&posted).is_empty());
}

/// Where each item issue 17 added lands in FHIR (docs/mapping.md), read off
/// the committed Bundles of the examples.
#[test]
fn issue_17_items_land_in_their_fhir_homes() {
    let bundle = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(root().join("examples/fhir/prsb").join(format!("{name}.bundle.json"))).unwrap()).unwrap()
    };
    let resources = |b: &Value, t: &str| -> Vec<Value> {
        b["entry"].as_array().unwrap().iter().filter(|e| e["resource"]["resourceType"] == t).map(|e| e["resource"].clone()).collect()
    };
    let full_url_of = |b: &Value, key: &str| -> String {
        b["entry"].as_array().unwrap().iter().find(|e| e["request"]["url"].as_str().unwrap().ends_with(key)).unwrap()["fullUrl"].as_str().unwrap().to_owned()
    };

    // A strength's goals: one resource-pertainsToGoal per goal, to the Goal's entry.
    let ld = bundle("learning-disability-personal-budget");
    let strength = resources(&ld, "Observation").into_iter().find(|o| o["identifier"][0]["value"] == "csp-okafor-2026/s2").unwrap();
    let goals: Vec<&str> = strength["extension"].as_array().unwrap().iter()
        .filter(|e| e["url"] == "http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal")
        .map(|e| e["valueReference"]["reference"].as_str().unwrap()).collect();
    assert_eq!(goals, [full_url_of(&ld, "csp-okafor-2026/g2"), full_url_of(&ld, "csp-okafor-2026/g3")]);
    // The kind of funding: Coverage.type.
    let coverage = &resources(&ld, "Coverage")[0];
    assert_eq!(coverage["type"]["coding"][0]["system"], "https://careplan.example/fhir/CodeSystem/prsb-funding-source");
    assert_eq!(coverage["type"]["coding"][0]["code"], "direct-payment");
    // A weekly schedule and suggested changes, on the activity.
    let care_plan = &resources(&ld, "CarePlan")[0];
    let repeat = &care_plan["activity"][0]["detail"]["scheduledTiming"]["repeat"];
    assert_eq!(repeat["dayOfWeek"], serde_json::json!(["tue"]));
    assert_eq!(repeat["timeOfDay"], serde_json::json!(["10:00:00"]));
    let changes: Vec<&Value> = care_plan["activity"][1]["extension"].as_array().unwrap().iter()
        .filter(|e| e["url"] == "https://careplan.example/fhir/StructureDefinition/action-suggested-change").collect();
    assert_eq!(changes.len(), 2);
    let parts: Vec<&str> = changes[1]["extension"].as_array().unwrap().iter().map(|p| p["url"].as_str().unwrap()).collect();
    assert_eq!(parts, ["text", "author", "authorRole", "date"]);

    // One Observation per capacity assessment, each with its own key and decision, in order.
    let mh = bundle("mental-health-crisis-best-interest");
    let agreement = resources(&mh, "CarePlan")[0]["extension"].as_array().unwrap().iter()
        .find(|e| e["url"] == "https://careplan.example/fhir/StructureDefinition/plan-agreement").unwrap().clone();
    let listed: Vec<&str> = agreement["extension"].as_array().unwrap().iter()
        .filter(|e| e["url"] == "mentalCapacityAssessment").map(|e| e["valueReference"]["reference"].as_str().unwrap()).collect();
    let first = full_url_of(&mh, "csp-brennan-crisis-2026/@mental-capacity-assessment");
    let second = full_url_of(&mh, "csp-brennan-crisis-2026/@mental-capacity-assessment-2");
    assert_eq!(listed, [first.as_str(), second.as_str()]);
    let decision = |o: &Value| -> Vec<String> {
        o["component"].as_array().unwrap().iter().map(|c| c["code"]["coding"][0]["code"].as_str().unwrap().to_owned()).collect()
    };
    let assessments: Vec<Value> = resources(&mh, "Observation").into_iter().filter(|o| o["code"]["coding"][0]["code"] == "mental-capacity-assessment").collect();
    assert_eq!(assessments.len(), 2);
    for o in &assessments {
        assert_eq!(decision(o), ["capacity-decision", "has-capacity", "actions-to-maximise-capacity"]);
    }
    assert_eq!(assessments[1]["component"][0]["valueString"], "Sharing her care plan with her GP and her brother");

    // Attorneys: RelatedPersons in supportingInfo, with the kind, the registration and the date.
    let fo = bundle("frail-older-person-at-home");
    let attorneys = resources(&fo, "RelatedPerson");
    let attorneys: Vec<&Value> = attorneys.iter().filter(|p| p["meta"]["profile"][0].as_str().unwrap().ends_with("prsb-lasting-power-of-attorney")).collect();
    assert_eq!(attorneys.len(), 2);
    assert_eq!(attorneys[0]["relationship"][0]["coding"][0]["code"], "lpa-health-and-welfare");
    assert_eq!(attorneys[0]["relationship"][0]["coding"][1]["code"], "Agent");
    assert_eq!(attorneys[0]["identifier"][1], serde_json::json!({"system": "https://careplan.example/fhir/Id/opg-registration", "value": "7000-1234-5678"}));
    assert_eq!(attorneys[0]["period"]["start"], "2024-06-14");
    let fo_plan = resources(&fo, "CarePlan");
    let supporting: Vec<&str> = fo_plan[0]["supportingInfo"].as_array().unwrap().iter().map(|r| r["reference"].as_str().unwrap()).collect();
    let last_two = &supporting[supporting.len() - 2..];
    assert_eq!(last_two, [full_url_of(&fo, "@lasting-power-of-attorney-1"), full_url_of(&fo, "@lasting-power-of-attorney-2")]);
}

/// A capacity assessment stored before assessments named their decision (no
/// `capacity-decision` component) reads back with its words as the decision,
/// so the plan can be posted again.
#[test]
fn a_capacity_assessment_from_before_decisions_reads_back() {
    let plan = plan_from("mental-health-crisis-best-interest.json");
    let mut bundle: Value = serde_json::from_str(&bundle_json(&plan)).unwrap();
    for e in bundle["entry"].as_array_mut().unwrap() {
        if e["resource"]["code"]["coding"][0]["code"] == "mental-capacity-assessment" {
            e["resource"]["component"].as_array_mut().unwrap().retain(|c| c["code"]["coding"][0]["code"] == "has-capacity");
        }
    }
    let back = unmap_json(&bundle.to_string());
    let assessments = &back.agreement.as_ref().unwrap().mental_capacity_assessments;
    assert_eq!(assessments.len(), 2);
    for a in assessments {
        assert_eq!(a.decision, a.mental_capacity_assessment);
        assert_eq!(a.actions_to_maximise_capacity, None);
        assert_eq!(a.has_capacity, Some(false));
    }
    assert!(prsb::read(&serde_json::to_vec(&back).unwrap()).is_ok(), "the plan read back is a valid plan");
}

#[test]
fn unmap_refuses_a_strength_linked_to_something_that_is_not_a_goal() {
    let plan = plan_from("learning-disability-personal-budget.json");
    let mut bundle: Value = serde_json::from_str(&bundle_json(&plan)).unwrap();
    let need = bundle["entry"].as_array().unwrap().iter().find(|e| e["resource"]["resourceType"] == "Condition").unwrap()["fullUrl"].clone();
    for e in bundle["entry"].as_array_mut().unwrap() {
        if e["resource"]["identifier"][0]["value"] == "csp-okafor-2026/s1" {
            e["resource"]["extension"][0]["valueReference"]["reference"] = need.clone();
        }
    }
    let resources = unmap::read_resources(bundle.to_string().as_bytes()).unwrap();
    let err = format!("{:#}", unmap::unmap(&resources, None).unwrap_err());
    assert!(err.contains("extension:pertainsToGoal[0]") && err.contains("is not a Goal"), "{err}");
}

// ------------------------------------------------------------------ commands

#[test]
fn map_and_unmap_commands_round_trip_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b.json");
    let plan_path = root().join("examples/prsb/mental-health-crisis-best-interest.json");
    let out = common::careplan()
        .args(["map", "--offline", "-o"])
        .arg(&bundle)
        .arg(&plan_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = common::careplan().arg("unmap").arg(&bundle).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let back: Value = serde_json::from_slice(&out.stdout).unwrap();
    let original: Value = serde_json::from_slice(&std::fs::read(&plan_path).unwrap()).unwrap();
    assert_eq!(back, original);

    let out = common::careplan().args(["unmap", "--active"]).arg(&bundle).output().unwrap();
    assert!(out.status.success());
    let active: CarePlan = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(as_value(&active), as_value(&archive::active_view(&serde_json::from_value(original).unwrap())));
}

#[test]
fn map_refuses_a_broken_plan_with_positions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    std::fs::write(
        &path,
        r#"{
  "id": "p",
  "goals": [ { "id": "g1", "needIds": ["missing-need"], "freeText": "x" } ],
  "actions": [ { "id": "a1", "goalIds": ["g9"], "what": { "freeText": "y" }, "confidence": 11 } ]
}
"#,
    )
    .unwrap();
    let out = common::careplan().args(["map", "--output", "json"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no Bundle for a broken plan");
    let oo: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(oo["resourceType"], "OperationOutcome");
    let issues = oo["issue"].as_array().unwrap();
    let confidence = issues
        .iter()
        .find(|i| i["expression"][0] == "/actions/0/confidence")
        .expect("the confidence of 11 is reported");
    assert_eq!(confidence["severity"], "error");
    assert!(confidence["details"]["text"].as_str().unwrap().contains("maximum of 10"));
    let line = confidence["extension"].as_array().unwrap().iter().find(|e| e["url"].as_str().unwrap().ends_with("issue-line")).unwrap();
    assert_eq!(line["valueInteger"], 4);
    // The schema passes before the links are checked, so fix the score and look again.
    std::fs::write(&path, std::fs::read_to_string(&path).unwrap().replace("11", "9")).unwrap();
    let out = common::careplan().args(["map"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains(":3:") && text.contains("no need, concern or problem with that id"), "{text}");
    assert!(text.contains(":4:") && text.contains("no goal with that id"), "{text}");
}

#[test]
fn unmap_explains_what_it_cannot_read() {
    let plan = generate::plan(3, true);
    let json = bundle_json(&plan);
    // Drop every Goal: the plan's goal references no longer resolve.
    let mut bundle: Value = serde_json::from_str(&json).unwrap();
    bundle["entry"].as_array_mut().unwrap().retain(|e| e["resource"]["resourceType"] != "Goal");
    let resources = unmap::read_resources(serde_json::to_string(&bundle).unwrap().as_bytes()).unwrap();
    let err = unmap::unmap(&resources, None).unwrap_err().to_string();
    // The first goal is named in CarePlan.goal, or in an archived-item extension when it is archived.
    assert!((err.contains("CarePlan.goal[0]") || err.contains("archived-item[")) && err.contains("not among the resources"), "{err}");
    let err = unmap::unmap(&[], None).unwrap_err().to_string();
    assert!(err.contains("no CarePlan"), "{err}");
}

// ------------------------------------------------------------------ validation

fn errors_of(validator: &careplan::validator::Validator, json: &str) -> Vec<String> {
    validator
        .validate_bytes(json.as_bytes(), Some(careplan::tree::Format::Json))
        .into_iter()
        .filter(|i| i.severity.is_error())
        .map(|i| format!("{} [{}]", i.message, i.expression))
        .collect()
}

fn profile_validator() -> careplan::validator::Validator {
    careplan::validator::Validator::new(common::context_with_careplan_profiles(), careplan::validator::Options::default())
}

/// Each mapped Bundle is valid against our profiles (named in meta.profile),
/// and each resource also against the UK Core profile of its type.
#[test]
fn mapped_bundles_have_no_errors_against_our_profiles_and_uk_core() {
    let validator = profile_validator();
    let mut bundles: Vec<(String, String)> = examples()
        .into_iter()
        .map(|(name, bytes)| (name, bundle_json(&prsb::read(&bytes).unwrap())))
        .collect();
    bundles.extend((0..24).map(|seed| (format!("generated plan {seed}"), bundle_json(&generate::plan(seed, seed % 3 == 0)))));
    for (name, json) in &bundles {
        let errors = errors_of(&validator, json);
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
    // Against UK Core, resource by resource (a profile per resource type).
    let Some(ukcore) = common::shared_ukcore_context("the mapped Bundles against UK Core (they are still checked against our profiles)") else { return };
    let uk_core_profile = |resource_type: &str| match resource_type {
        "CarePlan" | "Condition" | "Observation" | "Consent" | "DocumentReference" | "Patient" | "Practitioner"
        | "PractitionerRole" | "RelatedPerson" | "Location" | "Provenance" => {
            Some(format!("https://fhir.hl7.org.uk/StructureDefinition/UKCore-{resource_type}"))
        }
        _ => None,
    };
    let mut checked = std::collections::BTreeSet::new();
    for (name, json) in &bundles {
        let bundle: Value = serde_json::from_str(json).unwrap();
        for entry in bundle["entry"].as_array().unwrap() {
            let resource = &entry["resource"];
            let resource_type = resource["resourceType"].as_str().unwrap();
            let Some(profile) = uk_core_profile(resource_type) else { continue };
            let options = careplan::validator::Options { profiles: vec![profile.clone()], ..Default::default() };
            let validator = careplan::validator::Validator::new(ukcore.clone(), options);
            let errors = errors_of(&validator, &resource.to_string());
            assert!(errors.is_empty(), "{name}: {resource_type} against {profile}: {errors:#?}");
            checked.insert(resource_type.to_owned());
        }
    }
    for required in ["CarePlan", "Condition", "Observation", "Consent", "DocumentReference", "Patient", "Practitioner"] {
        assert!(checked.contains(required), "no {required} was checked against UK Core");
    }
}

fn edit(json: &str, f: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(json).unwrap();
    f(&mut v);
    v.to_string()
}

fn entry_of<'a>(bundle: &'a mut Value, resource_type: &str) -> &'a mut Value {
    bundle["entry"].as_array_mut().unwrap().iter_mut().find(|e| e["resource"]["resourceType"] == resource_type).unwrap()
}

/// The broken plans the schema refuses are refused by the profiles too when
/// someone builds the FHIR by hand.
#[test]
fn broken_bundles_get_clear_profile_errors() {
    let validator = profile_validator();
    let plan = prsb::read(&std::fs::read(root().join("examples/prsb/copd-smoking-cessation.json")).unwrap()).unwrap();
    let json = bundle_json(&plan);
    assert!(errors_of(&validator, &json).is_empty());

    // A confidence of 11.
    let broken = edit(&json, |b| {
        let care_plan = &mut entry_of(b, "CarePlan")["resource"];
        let activity = care_plan["activity"].as_array_mut().unwrap().iter_mut().find(|a| a["extension"].as_array().is_some_and(|x| x.iter().any(|e| e["url"].as_str().unwrap().ends_with("action-confidence")))).expect("an action with a confidence");
        for e in activity["extension"].as_array_mut().unwrap() {
            if e["url"].as_str().unwrap().ends_with("action-confidence") {
                e["valueInteger"] = 11.into();
            }
        }
    });
    let errors = errors_of(&validator, &broken);
    assert!(errors.iter().any(|e| e.contains("maximum value of 10") && e.contains("activity[0].extension")), "{errors:#?}");

    // An action pointing to no goal at all, and one pointing to a goal that is not there.
    let broken = edit(&json, |b| {
        let care_plan = &mut entry_of(b, "CarePlan")["resource"];
        care_plan["activity"][0]["detail"].as_object_mut().unwrap().remove("goal");
        care_plan["activity"][1]["detail"]["goal"][0]["reference"] = "urn:uuid:00000000-0000-0000-0000-000000000000".into();
    });
    let errors = errors_of(&validator, &broken);
    assert!(errors.iter().any(|e| e.contains("activity[0].detail")), "{errors:#?}");
    assert!(errors.iter().any(|e| e.contains("prsb-bdl-1")), "{errors:#?}");

    // A goal whose need is not in the Bundle.
    let broken = edit(&json, |b| {
        b["entry"].as_array_mut().unwrap().retain(|e| e["resource"]["resourceType"] != "Condition");
        entry_of(b, "CarePlan")["resource"].as_object_mut().unwrap().remove("addresses");
    });
    let errors = errors_of(&validator, &broken);
    assert!(errors.iter().any(|e| e.contains("prsb-bdl-1") && e.contains("need")), "{errors:#?}");
}

#[test]
fn archive_command_moves_actions_and_names_goals_to_review() {
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    std::fs::write(&plan_path, serde_json::to_vec_pretty(&small_plan()).unwrap()).unwrap();
    let out = common::careplan()
        .args(["archive", "--item", "gA", "--move-actions-to", "gB", "--at", AT, "--reason", "choir closed"])
        .arg(&plan_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let plan: CarePlan = serde_json::from_slice(&out.stdout).unwrap();
    assert!(plan.goals[0].archived && plan.goals[0].archived_reason.as_deref() == Some("choir closed"));
    assert_eq!(action(&plan, "a-going").goal_ids, vec!["gB"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("moved to gB: a-going"), "{stderr}");

    let out = common::careplan().args(["archive", "--item", "n1", "--at", AT]).arg(&plan_path).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("review these goals, which address the archived need: gA, gB"));

    let out = common::careplan().args(["archive", "--item", "a-going"]).arg(&plan_path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("finish or cancel it first"));
}
