//! Measure and MeasureReport rules: a report against its Measure, and a
//! Measure's own groups and CQL criteria.

mod common;

use common::{has, issues_with};

use base64::Engine;
use careplan::issue::{Issue, IssueCode, Severity};
use serde_json::{json, Value};

/// Errors our rules raise (the base walk's own findings left out).
fn rule_errors(issues: &[Issue]) -> Vec<&Issue> {
    issues.iter().filter(|i| i.severity.is_error()).collect()
}

const POP: &str = "http://terminology.hl7.org/CodeSystem/measure-population";

fn pop(code: &str) -> Value {
    json!({"code": {"coding": [{"system": POP, "code": code}]}, "criteria": {"language": "text/cql", "expression": code}})
}

fn measure(scoring: &str, groups: Value) -> Value {
    json!({"resourceType": "Measure", "url": "http://example.org/Measure/m", "status": "active",
        "scoring": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/measure-scoring", "code": scoring}]},
        "group": groups})
}

fn one_group() -> Value {
    json!([{"population": [pop("initial-population"), pop("numerator")],
            "stratifier": [{"id": "s1", "code": {"text": "age"}, "criteria": {"language": "text/cql", "expression": "L.Age"}}]}])
}

fn report(report_type: &str, groups: Value) -> Value {
    json!({"resourceType": "MeasureReport", "status": "complete", "type": report_type, "measure": "http://example.org/Measure/m",
        "period": {"start": "2020-01-01", "end": "2020-12-31"}, "group": groups})
}

fn rpop(code: &str, count: i64) -> Value {
    json!({"code": {"coding": [{"system": POP, "code": code}]}, "count": count})
}

fn strat(text: &str) -> Value {
    json!({"code": [{"text": text}], "stratum": [{"value": {"text": "x"}, "population": [rpop("initial-population", 1)]}]})
}

#[test]
fn a_report_that_matches_its_measure_has_no_errors() {
    let m = measure("cohort", one_group());
    let r = report("summary", json!([{"population": [rpop("initial-population", 5), rpop("numerator", 2)], "stratifier": [strat("age")]}]));
    let issues = issues_with(&[m], &r);
    assert!(rule_errors(&issues).is_empty(), "{issues:#?}");
}

#[test]
fn populations_must_match_the_measure() {
    let m = measure("cohort", one_group());
    let r = report("summary", json!([{"population": [rpop("initial-population", 5), rpop("denominator", 2)], "stratifier": [strat("age")]}]));
    let issues = issues_with(&[m], &r);
    assert!(has(&issues, Severity::Error, "MeasureReport.group[0].population[1]", "The code for this group population has no match in the measure definition"), "{issues:#?}");
    // MEASURE_MR_GRP_POP_MISSING_BY_CODE
    assert!(has(&issues, Severity::Error, "MeasureReport.group[0]", "The MeasureReport does not include a population for the population with linkId '' and code 'numerator'"), "{issues:#?}");
}

#[test]
fn groups_without_codes_when_there_are_several() {
    let m = measure("cohort", one_group());
    let g = json!({"population": [rpop("initial-population", 5), rpop("numerator", 2)], "stratifier": [strat("age")]});
    let r = report("summary", json!([g.clone(), g]));
    let issues = issues_with(&[m], &r);
    assert!(has(&issues, Severity::Error, "MeasureReport.group[0]", "Group should have a code that matches the group definition in the measure"));
    assert!(has(&issues, Severity::Error, "MeasureReport.group[1]", "Group should have a code that matches the group definition in the measure"));
    assert!(has(&issues, Severity::Error, "MeasureReport", "The MeasureReport does not include a group for the group with code ''"), "{issues:#?}");
}

#[test]
fn stratifiers_must_match_the_measure() {
    let m = measure("cohort", one_group());
    let r = report("summary", json!([{"population": [rpop("initial-population", 5), rpop("numerator", 2)], "stratifier": [{"stratum": [{"value": {"text": "x"}}]}]}]));
    let issues = issues_with(&[m], &r);
    assert!(has(&issues, Severity::Error, "MeasureReport.group[0].stratifier[0]", "matches the group stratifier definition in the measure"), "{issues:#?}");
    assert!(has(&issues, Severity::Error, "MeasureReport.group[0]", "does not include a stratifier for the stratifier with code 'age' (id = 's1')"), "{issues:#?}");
}

#[test]
fn subject_lists_against_counts() {
    let m = measure("cohort", json!([{"population": [pop("initial-population")]}]));
    let mut p = rpop("initial-population", 3);
    p["subjectResults"] = json!({"reference": "#l1"});
    let mut listed_report = report("subject-list", json!([{"population": [p.clone()]}]));
    listed_report["contained"] = json!([{"resourceType": "List", "id": "l1", "status": "current", "mode": "snapshot", "entry": [{"item": {"reference": "Patient/1"}}]}]);
    let listed = issues_with(&[m.clone()], &listed_report);
    assert!(has(&listed, Severity::Error, "MeasureReport.group[0].population[0]", "Mismatch between count 3 and number of subjects 1"), "{listed:#?}");
    let summary = issues_with(&[m.clone()], &report("summary", json!([{"population": [p]}])));
    assert!(has(&summary, Severity::Error, "MeasureReport.group[0].population[0]", "Reports where type is not 'subject-list' don't have subjects listed"), "{summary:#?}");
    let no_count = issues_with(&[m], &report("summary", json!([{"population": [{"code": {"coding": [{"system": POP, "code": "initial-population"}]}}]}])));
    assert!(has(&no_count, Severity::Warning, "MeasureReport.group[0].population[0]", "Count should be present"), "{no_count:#?}");
    assert!(rule_errors(&no_count).is_empty(), "{no_count:#?}");
}

#[test]
fn measure_scores_follow_the_scoring() {
    let groups = json!([{"population": [pop("initial-population")]}]);
    let g = |score: Value| json!([{"population": [rpop("initial-population", 3)], "measureScore": score}]);
    let cohort = issues_with(&[measure("cohort", groups.clone())], &report("summary", g(json!({"value": 10}))));
    assert!(has(&cohort, Severity::Error, "MeasureReport.group[0].measureScore", "No measureScore when the scoring of the message is 'cohort'"), "{cohort:#?}");
    let bad = issues_with(&[measure("proportion", groups.clone())], &report("summary", g(json!({"value": 1.5}))));
    assert!(has(&bad, Severity::Error, "MeasureReport.group[0].measureScore.value", "it must be between 0 and 1"), "{bad:#?}");
    let good = issues_with(&[measure("proportion", groups.clone())], &report("summary", g(json!({"value": 0.5}))));
    assert!(rule_errors(&good).is_empty(), "{good:#?}");
    let missing = issues_with(&[measure("proportion", groups)], &report("summary", json!([{"population": [rpop("initial-population", 3)]}])));
    assert!(has(&missing, Severity::Error, "MeasureReport.group[0]", "A measureScore is required when the Measure.scoring=proportion"), "{missing:#?}");
}

#[test]
fn an_unresolved_measure_is_a_warning_and_unknown_scoring_a_hint() {
    let r = report("summary", json!([{"population": [rpop("initial-population", 3)]}]));
    let issues = issues_with(&[], &r);
    assert!(has(&issues, Severity::Warning, "MeasureReport", "could not be resolved"), "{issues:#?}");
    assert!(rule_errors(&issues).is_empty(), "{issues:#?}");
    let mut m = measure("cohort", json!([{"population": [pop("initial-population")]}]));
    m.as_object_mut().unwrap().remove("scoring");
    let issues = issues_with(&[m], &r);
    assert!(has(&issues, Severity::Information, "MeasureReport.measure", "The scoring system in this measure is unknown"), "{issues:#?}");
}

#[test]
fn duplicate_element_ids() {
    let m = measure("cohort", json!([{"population": [pop("initial-population")]}]));
    let r = report("summary", json!([{"id": "g1", "population": [rpop("initial-population", 3)]}, {"id": "g1", "population": [rpop("initial-population", 3)]}]));
    let issues = issues_with(&[m], &r);
    assert!(has(&issues, Severity::Error, "MeasureReport.group[1]", "Duplicate id value 'g1'"), "{issues:#?}");
}

fn library(statements: &[&str]) -> Value {
    let defs: String = statements.iter().map(|s| format!(r#"<def name="{s}"/>"#)).collect();
    let elm = format!(r#"<?xml version="1.0"?><library xmlns="urn:hl7-org:elm:r1"><identifier id="L"/><statements>{defs}</statements></library>"#);
    json!({"resourceType": "Library", "url": "http://example.org/Library/L", "name": "L", "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/library-type", "code": "logic-library"}]},
        "content": [{"contentType": "application/elm+xml", "data": base64::engine::general_purpose::STANDARD.encode(elm)}]})
}

#[test]
fn cql_stratifier_criteria_against_the_library() {
    let mut m = measure("cohort", one_group());
    m["library"] = json!(["http://example.org/Library/L"]);
    let missing = issues_with(&[library(&["Other"])], &m);
    assert!(
        has(&missing, Severity::Error, "Measure.group[0].stratifier[0].criteria", "The function Age does not exist in the library http://example.org/Library/L"),
        "{missing:#?}"
    );
    let found = issues_with(&[library(&["Age", "Other"])], &m);
    assert!(rule_errors(&found).is_empty(), "{found:#?}");
    let mut wrong_ns = m.clone();
    wrong_ns["group"][0]["stratifier"][0]["criteria"]["expression"] = json!("X.Age");
    let issues = issues_with(&[library(&["Age"])], &wrong_ns);
    assert!(has(&issues, Severity::Error, "Measure.group[0].stratifier[0].criteria", "No matching Library found for the namespace X"), "{issues:#?}");
    let mut no_lib = measure("cohort", one_group());
    no_lib["library"] = json!(["http://example.org/Library/unknown"]);
    let issues = issues_with(&[], &no_lib);
    assert!(has(&issues, Severity::Information, "Measure", "The Library http://example.org/Library/unknown could not be resolved"), "{issues:#?}");
    assert!(has(&issues, Severity::Error, "Measure.group[0].stratifier[0].criteria", "No CQL Libraries found on this Measure"), "{issues:#?}");
}

#[test]
fn measure_groups_and_populations_need_codes_when_there_are_several() {
    let m = measure("cohort", json!([{"population": [{"criteria": {"language": "text/cql", "expression": "a"}}, {"criteria": {"language": "text/cql", "expression": "b"}}]}, {"code": {"text": "g2"}}]));
    let issues = issues_with(&[], &m);
    // MEASURE_M_GROUP_CODE
    assert!(has(&issues, Severity::Warning, "Measure.group[0]", "Groups should have codes when there is more than one group"), "{issues:#?}");
    assert!(has(&issues, Severity::Warning, "Measure.group[0].population[0]", "should have a code when there is more than one population"), "{issues:#?}");
    assert!(has(&issues, Severity::Warning, "Measure.group[1]", "Measure Groups should have at least one population"), "{issues:#?}");
}

/// MEASURE_MR_GRP_UNK_CODE and MEASURE_MR_GRP_STRAT_MISSING_BY_CODE.
#[test]
fn groups_and_stratifiers_named_by_code() {
    let code = |c: &str| json!({"coding": [{"system": "http://example.org/groups", "code": c}]});
    let coded_group = json!([{"code": code("adults"), "population": [pop("initial-population")],
        "stratifier": [{"id": "s1", "code": {"text": "age"}, "criteria": {"language": "text/cql", "expression": "L.Age"}}]},
        {"code": code("elders"), "population": [pop("initial-population")]}]);
    let m = measure("cohort", coded_group);
    let unknown = report("summary", json!([{"code": code("children"), "population": [rpop("initial-population", 5)]}]));
    let found = issues_with(&[m.clone()], &unknown);
    assert!(has(&found, Severity::Error, "MeasureReport.group[0]", "The code 'children' for this group has no match in the measure definition"), "{found:#?}");
    let no_strat = report("summary", json!([{"code": code("adults"), "population": [rpop("initial-population", 5)]}, {"code": code("elders"), "population": [rpop("initial-population", 1)]}]));
    let found = issues_with(&[m], &no_strat);
    assert!(has(&found, Severity::Error, "MeasureReport.group[0]", "The MeasureReport does not include a stratifier for the stratifier with code 'age' (id = 's1')"), "{found:#?}");
}

// ---------------------------------------------------------------- one test per key

fn assert_issue(issues: &[Issue], severity: Severity, code: IssueCode, expression: &str, message: &str) {
    assert!(
        issues.iter().any(|i| i.severity == severity && i.code == code && i.expression == expression && i.message == message),
        "expected {severity:?} {code:?} at {expression}: {message}\ngot {issues:#?}"
    );
}

#[test]
fn measure_m_group_strata_comp_no_code() {
    let crit = json!({"language": "text/cql", "expression": "L.Age"});
    let m = measure("cohort", json!([{"population": [pop("initial-population")],
        "stratifier": [{"code": {"text": "age"}, "component": [{"code": {"text": "band"}, "criteria": crit.clone()}, {"criteria": crit}]}]}]));
    let issues = issues_with(&[], &m);
    assert_issue(&issues, Severity::Warning, IssueCode::Required, "Measure.group[0].stratifier[0].component[1]", "A measure group stratifier component should have a code when there is more than one population");
    assert!(!issues.iter().any(|i| i.expression == "Measure.group[0].stratifier[0].component[0]" && i.message.contains("should have a code")), "{issues:#?}");
}

fn library_with_elm(elm: &str) -> Value {
    let mut l = library(&[]);
    l["content"][0]["data"] = json!(base64::engine::general_purpose::STANDARD.encode(elm));
    l
}

#[test]
fn measure_m_criteria_cql_elm_not_valid() {
    let mut m = measure("cohort", one_group());
    m["library"] = json!(["http://example.org/Library/L"]);
    let issues = issues_with(&[library_with_elm(r#"<library xmlns="urn:example:not-elm"/>"#)], &m);
    assert_issue(&issues, Severity::Error, IssueCode::Invalid, "Measure.group[0].stratifier[0].criteria", "= Error in http://example.org/Library/L: Compiled version of CQL is not valid");
}

#[test]
fn measure_m_criteria_cql_error() {
    let mut m = measure("cohort", one_group());
    m["library"] = json!(["http://example.org/Library/L"]);
    let issues = issues_with(&[library_with_elm(r#"<library xmlns="urn:hl7-org:elm:r1"><statements>"#)], &m);
    let found = issues.iter().find(|i| i.expression == "Measure.group[0].stratifier[0].criteria" && i.message.starts_with("Error in http://example.org/Library/L: '"));
    let found = found.unwrap_or_else(|| panic!("{issues:#?}"));
    assert_eq!((found.severity, found.code), (Severity::Error, IssueCode::Invalid));
    assert!(found.message.ends_with('\''), "{found:#?}");
}

#[test]
fn measure_mr_grp_no_wrong_code() {
    let code = |c: &str| json!({"coding": [{"system": "http://example.org/groups", "code": c}]});
    let m = measure("cohort", json!([{"code": code("adults"), "population": [pop("initial-population")]}]));
    let r = report("summary", json!([{"code": code("children"), "population": [rpop("initial-population", 5)]}]));
    let issues = issues_with(&[m], &r);
    assert_issue(
        &issues,
        Severity::Error,
        IssueCode::BusinessRule,
        "MeasureReport.group[0]",
        "The code provided (children) does not match the code specified in the measure report (adults)",
    );
}

#[test]
fn canonical_multiple_versions_known() {
    let mut m = measure("cohort", json!([{"population": [pop("initial-population")]}]));
    m["version"] = json!("1.0");
    let mut r = report("summary", json!([{"population": [rpop("initial-population", 3)]}]));
    r["measure"] = json!("http://example.org/Measure/m|2.0");
    let issues = issues_with(&[m], &r);
    assert_issue(&issues, Severity::Information, IssueCode::Informational, "MeasureReport", "The version 2.0 for the Measure http://example.org/Measure/m|2.0 is not known. These versions are known: 1.0");
}

/// A subject-list report whose one population states `count` and lists `subjects`.
fn subject_list(count: i64, subjects: Value, contained: Value) -> Vec<Issue> {
    let m = measure("cohort", json!([{"population": [pop("initial-population")]}]));
    let mut p = rpop("initial-population", count);
    p["subjectResults"] = subjects;
    let mut r = report("subject-list", json!([{"population": [p]}]));
    r["contained"] = contained;
    issues_with(&[m], &r)
}

const POP0: &str = "MeasureReport.group[0].population[0]";

#[test]
fn measure_mr_grp_pop_count_cant_check() {
    let issues = subject_list(2, json!({"reference": "List/elsewhere"}), json!([]));
    assert_issue(
        &issues,
        Severity::Information,
        IssueCode::BusinessRule,
        POP0,
        "Unable to check the stated count 2 because the subject list cannot be fully processed (Subject reference List/elsewhere could not be resolved, and the apparent type is List which could not be processed)",
    );
    assert!(!issues.iter().any(|i| i.message.starts_with("Mismatch between count")), "{issues:#?}");
}

#[test]
fn measure_mr_grp_pop_count_unresolved() {
    let issues = subject_list(1, json!({"reference": "Group/g9"}), json!([]));
    assert!(issues.iter().any(|i| i.expression == POP0 && i.message.contains("(Subject reference Group/g9 could not be resolved, and the apparent type is Group which could not be processed)")), "{issues:#?}");
}

#[test]
fn measure_mr_grp_pop_count_no_ref() {
    let issues = subject_list(1, json!({"display": "the cohort"}), json!([]));
    assert!(issues.iter().any(|i| i.expression == POP0 && i.message.ends_with("(Subject reference has no actual reference)")), "{issues:#?}");
}

#[test]
fn measure_mr_grp_pop_count_no_ref_res() {
    let issues = subject_list(1, json!({"reference": "http://example.org/cohorts/7"}), json!([]));
    assert!(
        issues.iter().any(|i| i.expression == POP0 && i.message.ends_with("(Subject reference http://example.org/cohorts/7 could not be resolved, and so could not be processed)")),
        "{issues:#?}"
    );
}

#[test]
fn measure_mr_grp_pop_count_ref_unprocessible() {
    let group = json!([{"resourceType": "Group", "id": "g1", "type": "person", "actual": true}]);
    let issues = subject_list(1, json!({"reference": "#g1"}), group);
    assert!(issues.iter().any(|i| i.expression == POP0 && i.message.ends_with("(Subject reference #g1 resolved to a Group, which could not be processed)")), "{issues:#?}");
}
