//! The PRSB care and support plan format: examples, broken plans, coverage of
//! the PRSB outline, and a serde round trip.

mod common;

use std::path::PathBuf;

use careplan::prsb::{self, coverage, CarePlan, SchemaProblem};
use serde_json::{json, Value};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn example_paths() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("examples/prsb"))
        .expect("examples/prsb exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
}

fn example(name: &str) -> Value {
    let bytes = std::fs::read(root().join("examples/prsb").join(name)).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn read_value(v: &Value) -> Result<CarePlan, Vec<SchemaProblem>> {
    prsb::read(&serde_json::to_vec(v).unwrap())
}

fn problems(v: &Value) -> Vec<SchemaProblem> {
    match read_value(v) {
        Ok(_) => panic!("expected problems, plan was read cleanly"),
        Err(p) => p,
    }
}

fn assert_problem(problems: &[SchemaProblem], pointer: &str, words: &str) {
    assert!(
        problems
            .iter()
            .any(|p| p.pointer == pointer && p.message.contains(words)),
        "expected a problem at {pointer} mentioning {words:?}; got:\n{}",
        problems
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn every_example_reads_cleanly() {
    let paths = example_paths();
    assert!(
        paths.len() >= 5,
        "expected five examples, found {}",
        paths.len()
    );
    let mut archived_plans = 0;
    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        let plan = prsb::read(&bytes).unwrap_or_else(|p| {
            panic!(
                "{}:\n{}",
                path.display(),
                p.iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        // Reading and writing back gives the same JSON.
        let original: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            serde_json::to_value(&plan).unwrap(),
            original,
            "{} does not round-trip",
            path.display()
        );
        if String::from_utf8_lossy(&bytes).contains("\"archived\": true") {
            archived_plans += 1;
        }
    }
    assert!(
        archived_plans >= 2,
        "at least two examples should hold archived items"
    );
}

#[test]
fn goal_linked_to_missing_need() {
    let mut v = example("copd-smoking-cessation.json");
    v["goals"][2]["needIds"] = json!(["n1", "n9"]);
    let p = problems(&v);
    assert_problem(
        &p,
        "/goals/2/needIds/1",
        "no need, concern or problem with that id",
    );
}

#[test]
fn confidence_out_of_range() {
    let mut v = example("copd-smoking-cessation.json");
    v["actions"][1]["confidence"] = json!(11);
    let p = problems(&v);
    assert_problem(&p, "/actions/1/confidence", "above the maximum of 10");
    v["actions"][1]["confidence"] = json!(0);
    assert_problem(
        &problems(&v),
        "/actions/1/confidence",
        "below the minimum of 1",
    );
}

#[test]
fn importance_out_of_range() {
    let mut v = example("frail-older-person-at-home.json");
    v["goals"][2]["goalImportanceScore"] = json!(12);
    assert_problem(
        &problems(&v),
        "/goals/2/goalImportanceScore",
        "above the maximum of 10",
    );
}

#[test]
fn action_pointing_to_missing_goal() {
    let mut v = example("learning-disability-personal-budget.json");
    v["actions"][0]["goalIds"] = json!(["g7"]);
    assert_problem(
        &problems(&v),
        "/actions/0/goalIds/0",
        "no goal with that id",
    );
}

#[test]
fn strength_supporting_a_missing_goal() {
    let mut v = example("learning-disability-personal-budget.json");
    v["strengths"][1]["goalIds"] = json!(["g2", "g9"]);
    assert_problem(&problems(&v), "/strengths/1/goalIds/1", "strength `s2` supports goal `g9`, but the plan has no goal with that id");
    v["strengths"][1]["goalIds"] = json!(["g2", "g2"]);
    assert_problem(&problems(&v), "/strengths/1/goalIds", "lists the same value twice");
}

#[test]
fn the_single_capacity_assessment_of_older_plans_is_named_as_moved() {
    let mut v = example("mental-health-crisis-best-interest.json");
    let first = v["agreement"]["mentalCapacityAssessments"][0].clone();
    let agreement = v["agreement"].as_object_mut().unwrap();
    agreement.remove("mentalCapacityAssessments");
    agreement.insert("mentalCapacityAssessment".into(), first);
    assert_problem(&problems(&v), "/agreement/mentalCapacityAssessment", "is now `mentalCapacityAssessments`: a list, one assessment per decision");
}

#[test]
fn each_capacity_assessment_names_its_decision() {
    let mut v = example("mental-health-crisis-best-interest.json");
    v["agreement"]["mentalCapacityAssessments"][1].as_object_mut().unwrap().remove("decision");
    assert_problem(&problems(&v), "/agreement/mentalCapacityAssessments/1/decision", "required field `decision` is missing");
    let mut v = example("mental-health-crisis-best-interest.json");
    v["agreement"]["mentalCapacityAssessments"][0]["actionsToMaximiseCapacity"] = json!("x".repeat(1001));
    assert_problem(&problems(&v), "/agreement/mentalCapacityAssessments/0/actionsToMaximiseCapacity", "longer than 1000 characters");
}

#[test]
fn weekly_schedules_are_days_and_times() {
    let mut v = example("stroke-recovery-media.json");
    v["actions"][0]["when"]["daysOfWeek"] = json!(["tue", "tuesday"]);
    assert_problem(&problems(&v), "/actions/0/when/daysOfWeek/1", "is not one of the allowed values");
    v["actions"][0]["when"]["daysOfWeek"] = json!(["tue", "tue"]);
    assert_problem(&problems(&v), "/actions/0/when/daysOfWeek", "lists the same value twice");
    v["actions"][0]["when"]["daysOfWeek"] = json!([]);
    assert_problem(&problems(&v), "/actions/0/when/daysOfWeek", "needs at least 1 entry");
    let mut v = example("stroke-recovery-media.json");
    for bad in ["10:30:00", "24:00", "9:30"] {
        v["actions"][0]["when"]["timesOfDay"] = json!([bad]);
        assert_problem(&problems(&v), "/actions/0/when/timesOfDay/0", "a time of day as HH:MM, 24-hour clock");
    }
}

#[test]
fn funding_kind_attorneys_and_suggested_changes_are_checked() {
    let mut v = example("learning-disability-personal-budget.json");
    v["careFundingSource"]["kind"] = json!("personal-budget");
    assert_problem(&problems(&v), "/careFundingSource/kind", "is not one of the allowed values");
    let mut v = example("learning-disability-personal-budget.json");
    v["actions"][1]["suggestedChanges"][0].as_object_mut().unwrap().remove("author");
    assert_problem(&problems(&v), "/actions/1/suggestedChanges/0/author", "required field `author` is missing");
    let mut v = example("frail-older-person-at-home.json");
    v["person"]["lastingPowersOfAttorney"][0]["kind"] = json!("enduringPowerOfAttorney");
    v["person"]["lastingPowersOfAttorney"][1]["registrationDate"] = json!("14/06/2024");
    let p = problems(&v);
    assert_problem(&p, "/person/lastingPowersOfAttorney/0/kind", "is not one of the allowed values");
    assert_problem(&p, "/person/lastingPowersOfAttorney/1/registrationDate", "is not a valid date");
    v["person"]["lastingPowersOfAttorney"][1].as_object_mut().unwrap().remove("name");
    assert_problem(&problems(&v), "/person/lastingPowersOfAttorney/1/name", "required field `name` is missing");
}

#[test]
fn unknown_field() {
    let mut v = example("frail-older-person-at-home.json");
    v["needs"][1]["severity"] = json!("high");
    assert_problem(
        &problems(&v),
        "/needs/1/severity",
        "unknown field `severity`",
    );
}

#[test]
fn missing_required_field() {
    let mut v = example("stroke-recovery-media.json");
    v["comments"][0].as_object_mut().unwrap().remove("dateTime");
    assert_problem(
        &problems(&v),
        "/comments/0/dateTime",
        "required field `dateTime` is missing",
    );
    let mut v = example("stroke-recovery-media.json");
    v["needs"][0].as_object_mut().unwrap().remove("kind");
    assert_problem(
        &problems(&v),
        "/needs/0/kind",
        "required field `kind` is missing",
    );
}

#[test]
fn wrong_enum_and_formats() {
    let mut v = example("frail-older-person-at-home.json");
    v["needs"][0]["kind"] = json!("worry");
    assert_problem(
        &problems(&v),
        "/needs/0/kind",
        "not one of the allowed values",
    );
    let mut v = example("frail-older-person-at-home.json");
    v["comments"][0]["dateTime"] = json!("12/03/2026");
    assert_problem(
        &problems(&v),
        "/comments/0/dateTime",
        "not a valid date-time",
    );
    let mut v = example("frail-older-person-at-home.json");
    v["actions"][0]["reviewDate"] = json!("June 2026");
    assert_problem(
        &problems(&v),
        "/actions/0/reviewDate",
        "not in the expected form",
    );
}

#[test]
fn prsb_length_limits() {
    let mut v = example("frail-older-person-at-home.json");
    v["actions"][0]["who"]["team"] = json!("x".repeat(36));
    assert_problem(
        &problems(&v),
        "/actions/0/who/team",
        "longer than 35 characters",
    );
    let mut v = example("frail-older-person-at-home.json");
    v["performingProfessional"]["speciality"] = json!("4300");
    assert_problem(
        &problems(&v),
        "/performingProfessional/speciality",
        "longer than 3 characters",
    );
}

#[test]
fn duplicate_ids() {
    let mut v = example("frail-older-person-at-home.json");
    v["goals"][1]["id"] = json!("n1");
    assert_problem(&problems(&v), "/goals/1/id", "already used at /needs/0/id");
}

#[test]
fn agreement_not_obtained_needs_a_reason() {
    let mut v = example("mental-health-crisis-best-interest.json");
    v["agreement"]
        .as_object_mut()
        .unwrap()
        .remove("reasonNotObtained");
    assert_problem(
        &problems(&v),
        "/agreement/reasonNotObtained",
        "required field",
    );
}

#[test]
fn attachment_needs_exactly_one_of_url_and_data() {
    let mut v = example("stroke-recovery-media.json");
    v["attachments"][1]["url"] = json!("https://example.org/x.png");
    assert_problem(
        &problems(&v),
        "/attachments/1",
        "exactly one of `url` and `data`",
    );
    let mut v = example("stroke-recovery-media.json");
    v["attachments"][3]["itemIds"] = json!(["nope"]);
    assert_problem(
        &problems(&v),
        "/attachments/3/itemIds/0",
        "no item with that id",
    );
}

#[test]
fn strength_needs_coded_value_or_free_text() {
    let mut v = example("frail-older-person-at-home.json");
    v["strengths"][0]
        .as_object_mut()
        .unwrap()
        .remove("freeText");
    assert_problem(
        &problems(&v),
        "/strengths/0",
        "at least one of `codedValue` and `freeText`",
    );
}

#[test]
fn a_linked_need_is_the_resource_as_it_is() {
    let plan = example("stroke-recovery-media.json");
    let linked = plan["needs"].as_array().unwrap().iter().position(|n| n["fhirReference"].is_string()).expect("the example links a GP problem");
    let at = format!("/needs/{linked}");

    let mut coded = plan.clone();
    coded["needs"][linked]["codedValue"] = json!({"code": "49436004"});
    assert_problem(&problems(&coded), &at, "leave out `codedValue` and `comments`");

    let mut commented = plan.clone();
    commented["needs"][linked]["comments"] = json!([{"id": "c-linked", "text": "Seen by the GP", "dateTime": "2026-03-01T10:00:00Z"}]);
    assert_problem(&problems(&commented), &at, "leave out `codedValue` and `comments`");

    let mut not_a_condition = plan.clone();
    not_a_condition["needs"][linked]["fhirReference"] = json!("Observation/123");
    assert_problem(&problems(&not_a_condition), &format!("{at}/fhirReference"), "expected form");

    let mut nothing = plan.clone();
    let need = nothing["needs"][linked].as_object_mut().unwrap();
    need.remove("fhirReference");
    need.remove("freeText");
    assert_problem(&problems(&nothing), &at, "at least one of `codedValue`, `freeText` and `fhirReference`");
}

#[test]
fn a_linked_professional_brings_no_details_of_their_own() {
    let mut plan = example("stroke-recovery-media.json");
    assert!(plan["personCompletingRecord"]["fhirReference"].is_string(), "the example links the person completing the record");
    plan["personCompletingRecord"]["grade"] = json!("Band 4");
    assert_problem(&problems(&plan), "/personCompletingRecord", "leave out `grade`, `professionalIdentifier` and `contactDetails`");
    let mut plan = example("stroke-recovery-media.json");
    plan["personCompletingRecord"]["fhirReference"] = json!("RelatedPerson/owen");
    assert_problem(&problems(&plan), "/personCompletingRecord/fhirReference", "expected form");
}

#[test]
fn problems_read_plainly() {
    let mut v = example("copd-smoking-cessation.json");
    v["actions"][1]["confidence"] = json!(11);
    v["goals"][0]["needIds"] = json!(["n1", "n8"]);
    v["needs"][0]["severity"] = json!(3);
    // Schema problems stop the read before link checks run.
    let text: Vec<String> = problems(&v).iter().map(|p| p.to_string()).collect();
    println!("{}", text.join("\n"));
    assert_eq!(text.len(), 2, "{text:?}");
    let mut v = example("copd-smoking-cessation.json");
    v["actions"][1]["confidence"] = json!("high");
    v["goals"][0]["id"] = json!("bad id!");
    let text: Vec<String> = problems(&v).iter().map(|p| p.to_string()).collect();
    println!("{}", text.join("\n"));
    assert_problem(
        &problems(&v),
        "/actions/1/confidence",
        "should be an integer",
    );
}

#[test]
fn not_json_is_one_problem() {
    let p = prsb::read(b"{ not json").unwrap_err();
    assert_eq!(p.len(), 1);
    assert!(p[0].message.starts_with("not JSON"));
}

#[test]
fn outline_items_are_all_covered() {
    let Some(outline) = common::shared("prsb/core-information-standard-outline.txt", "the PRSB outline's coverage") else { return };
    let text = std::fs::read_to_string(&outline).unwrap();
    let items = coverage::outline_items(&text, "Care and support plan");
    assert!(
        items.len() > 50,
        "parsed only {} items from the outline",
        items.len()
    );
    let missing: Vec<&String> = items
        .iter()
        .filter(|i| coverage::field_for(i).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "PRSB items with no field in src/prsb/coverage.rs: {missing:#?}"
    );
    // The table holds nothing the outline does not (a renamed PRSB item shows up here).
    let stale: Vec<&str> = coverage::CARE_PLAN_ITEMS
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| !items.iter().any(|i| i == k))
        .collect();
    assert!(
        stale.is_empty(),
        "table entries not in the outline: {stale:#?}"
    );
}

/// The linked items are named as the outline names them, under their
/// section ("Legal information", "Documents …").
#[test]
fn linked_items_are_items_of_the_outline() {
    let Some(outline) = common::shared("prsb/core-information-standard-outline.txt", "the PRSB outline's linked items") else { return };
    let text = std::fs::read_to_string(&outline).unwrap();
    let legal = coverage::outline_items(&text, "Legal information");
    let documents = coverage::outline_items(&text, "Documents (including correspondence, audio and images)");
    assert!(legal.len() > 20 && !documents.is_empty());
    let unknown: Vec<&str> = coverage::LINKED_ITEMS
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| match (k.strip_prefix("Legal information / "), k.strip_prefix("Documents / ")) {
            (Some(item), _) => !legal.iter().any(|i| i == item),
            (_, Some(item)) => !documents.iter().any(|i| i == item),
            _ => true,
        })
        .collect();
    assert!(unknown.is_empty(), "linked items not in the outline: {unknown:#?}");
}

#[test]
fn coverage_paths_exist_in_the_schema() {
    let schema = prsb::schema();
    let bad: Vec<(&str, &str)> = coverage::CARE_PLAN_ITEMS
        .iter()
        .chain(coverage::LINKED_ITEMS)
        .chain(coverage::ADDED_ITEMS)
        .copied()
        .filter(|(_, path)| !coverage::schema_has_path(schema, path))
        .collect();
    assert!(
        bad.is_empty(),
        "field paths missing from the schema: {bad:#?}"
    );
    assert!(!coverage::schema_has_path(schema, "/goals/*/importance"));
}

mod round_trip {
    use super::*;
    use careplan::prsb::model::*;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        "[A-Za-z][A-Za-z ,.'-]{0,30}"
    }
    fn opt_text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(text())
    }
    fn date_time() -> impl Strategy<Value = String> {
        (2020u32..2030, 1u32..13, 1u32..29, 0u32..24, 0u32..60)
            .prop_map(|(y, m, d, h, mi)| format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:00Z"))
    }
    fn coding() -> impl Strategy<Value = Option<Coding>> {
        proptest::option::of(
            ("[1-9][0-9]{5,12}", opt_text()).prop_map(|(code, display)| Coding {
                system: None,
                code,
                display,
            }),
        )
    }
    fn role() -> impl Strategy<Value = Option<Role>> {
        proptest::option::of(text().prop_map(|text| Role { code: None, text }))
    }
    fn comments(prefix: &'static str) -> impl Strategy<Value = Vec<Comment>> {
        proptest::collection::vec((text(), role(), date_time(), text(), any::<bool>()), 0..3)
            .prop_map(move |v| {
                v.into_iter()
                    .enumerate()
                    .map(
                        |(i, (author, author_role, date_time, text, archived))| Comment {
                            id: format!("{prefix}-c{i}"),
                            author,
                            author_role,
                            date_time: date_time.clone(),
                            text,
                            archived,
                            archived_at: archived.then_some(date_time),
                            archived_reason: None,
                        },
                    )
                    .collect()
            })
    }

    fn plan() -> impl Strategy<Value = CarePlan> {
        let needs = proptest::collection::vec(
            (
                prop_oneof![
                    Just(NeedKind::Need),
                    Just(NeedKind::Concern),
                    Just(NeedKind::Problem)
                ],
                coding(),
                text(),
                any::<bool>(),
            ),
            1..4,
        )
        .prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (kind, coded_value, free_text, archived))| Need {
                    id: format!("n{i}"),
                    kind,
                    // The third need, when there is one, is on the GP's record already.
                    coded_value: if i == 2 { None } else { coded_value },
                    free_text: Some(free_text),
                    fhir_reference: (i == 2).then(|| format!("Condition/gp-problem-{i}")),
                    comments: vec![],
                    archived,
                    archived_at: None,
                    archived_reason: archived.then(|| "no longer applies".to_owned()),
                })
                .collect::<Vec<_>>()
        });
        let goals = proptest::collection::vec(
            (
                text(),
                opt_text(),
                proptest::option::of(1u8..=10),
                comments("g"),
                proptest::collection::vec(text(), 0..3),
            ),
            1..4,
        )
        .prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(
                    |(i, (free_text, why_it_matters, goal_importance_score, comments, stages))| {
                        Goal {
                            id: format!("g{i}"),
                            need_ids: vec!["n0".to_owned()],
                            coded_value: None,
                            free_text: Some(free_text),
                            why_it_matters,
                            goal_importance_score,
                            goal_status: Some(GoalStatus {
                                state: GoalState::InProgress,
                                coded_value: None,
                                free_text: None,
                            }),
                            stage_goals: stages
                                .into_iter()
                                .enumerate()
                                .map(|(j, t)| StageGoal {
                                    id: format!("g{i}-sg{j}"),
                                    coded_value: None,
                                    free_text: Some(t.clone()),
                                    goal_status: None,
                                    outcome: Some(StageOutcome {
                                        coded_value: None,
                                        free_text: Some(t),
                                    }),
                                    comments: vec![],
                                    archived: false,
                                    archived_at: None,
                                    archived_reason: None,
                                })
                                .collect(),
                            outcomes: vec![],
                            comments: comments
                                .into_iter()
                                .map(|mut c| {
                                    c.id = format!("g{i}-{}", c.id);
                                    c
                                })
                                .collect(),
                            archived: false,
                            archived_at: None,
                            archived_reason: None,
                        }
                    },
                )
                .collect::<Vec<_>>()
        });
        let actions = proptest::collection::vec(
            (
                text(),
                opt_text(),
                proptest::option::of(1u8..=10),
                proptest::collection::vec(text(), 0..3),
                proptest::option::of(date_time()),
            ),
            0..4,
        )
        .prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(
                    |(i, (what, who, confidence, suggested_strategies, date_last_updated))| {
                        Action {
                            id: format!("a{i}"),
                            goal_ids: vec!["g0".to_owned()],
                            what: What {
                                coded_value: None,
                                free_text: Some(what),
                            },
                            who: who.map(|name| Who {
                                name: Some(name.chars().take(35).collect()),
                                role: None,
                                team: None,
                                contact_details: None,
                            }),
                            when: Some(When {
                                start: Some("2026-05".to_owned()),
                                end: None,
                                description: None,
                                days_of_week: vec![DayOfWeek::Tue, DayOfWeek::Fri],
                                times_of_day: vec!["10:00".to_owned()],
                            }),
                            suggested_strategies,
                            status: Some(ActionStatus {
                                state: ActionState::Planned,
                                coded_value: None,
                                free_text: None,
                            }),
                            confidence,
                            date_last_updated,
                            review_date: Some("2026-06".to_owned()),
                            suggested_changes: vec![],
                            comments: vec![],
                            archived: false,
                            archived_at: None,
                            archived_reason: None,
                        }
                    },
                )
                .collect::<Vec<_>>()
        });
        (
            needs,
            goals,
            actions,
            comments("p"),
            any::<bool>(),
            opt_text(),
        )
            .prop_map(
                |(needs, goals, actions, comments, agreed, funding)| CarePlan {
                    id: "plan".to_owned(),
                    person: Some(Person {
                        name: "Test Person".to_owned(),
                        nhs_number: Some("9990000000".to_owned()),
                        birth_date: None,
                        lasting_powers_of_attorney: vec![],
                    }),
                    date_last_updated: Some("2026-01-01T10:00:00Z".to_owned()),
                    strengths: vec![],
                    needs,
                    goals,
                    actions,
                    comments,
                    attachments: vec![],
                    agreement: Some(Agreement {
                        agreed,
                        agreed_by: agreed.then_some(AgreedBy::Person),
                        person_full_name: None,
                        role: None,
                        date_agreed: None,
                        reason_not_obtained: (!agreed)
                            .then(|| "Person asked for more time".to_owned()),
                        mental_capacity_assessments: vec![],
                        best_interest_decision: None,
                    }),
                    care_funding_source: funding.map(|t| CareFundingSource {
                        coded_value: None,
                        free_text: Some(t),
                        kind: Some(FundingKind::PersonalBudget),
                    }),
                    planned_review_date: Some("2026-07".to_owned()),
                    responsibility_for_review: None,
                    performing_professional: None,
                    person_completing_record: None,
                    location: None,
                    consent_for_information_sharing: None,
                    other_care_planning_documents: vec![],
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn types_json_types(plan in plan()) {
            let json = serde_json::to_value(&plan).unwrap();
            // Generated plans are valid plans: the schema and link checks agree.
            let problems = prsb::check(&json);
            prop_assert!(problems.is_empty(), "{:?}", problems);
            let back = prsb::read(&serde_json::to_vec(&json).unwrap()).unwrap();
            prop_assert_eq!(&back, &plan);
            prop_assert_eq!(serde_json::to_value(&back).unwrap(), json);
        }
    }
}

/// Records which (schema definition, property) pairs an instance uses.
fn used_properties(
    root: &Value,
    node: &Value,
    def: &str,
    instance: &Value,
    used: &mut std::collections::BTreeSet<(String, String)>,
) {
    let (node, def) = match node["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        Some(name) => (&root["$defs"][name], name.to_owned()),
        None => (node, def.to_owned()),
    };
    if let Some(all) = node["allOf"].as_array() {
        for sub in all {
            used_properties(root, sub, &def, instance, used);
        }
    }
    match instance {
        Value::Object(map) => {
            for (key, value) in map {
                if let Some(sub) = node["properties"].get(key) {
                    used.insert((def.clone(), key.clone()));
                    used_properties(root, sub, &def, value, used);
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = node.get("items") {
                for item in items {
                    used_properties(root, sub, &def, item, used);
                }
            }
        }
        _ => {}
    }
}

#[test]
fn examples_use_every_schema_field() {
    // The examples pass both the schema and the serde types (which reject unknown
    // fields), so a field the examples use is known to both. Requiring every
    // schema field to appear somewhere keeps schema and types in step.
    let schema = prsb::schema();
    let mut used = std::collections::BTreeSet::new();
    for path in example_paths() {
        let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        used_properties(schema, schema, "", &v, &mut used);
    }
    let mut all = std::collections::BTreeSet::new();
    for key in schema["properties"].as_object().unwrap().keys() {
        all.insert((String::new(), key.clone()));
    }
    for (name, def) in schema["$defs"].as_object().unwrap() {
        if let Some(props) = def["properties"].as_object() {
            for key in props.keys() {
                all.insert((name.clone(), key.clone()));
            }
        }
    }
    let unused: Vec<_> = all.difference(&used).collect();
    assert!(
        unused.is_empty(),
        "schema fields no example uses (definition, field): {unused:#?}"
    );
}
