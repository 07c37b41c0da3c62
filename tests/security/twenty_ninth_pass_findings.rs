//! Findings of the twenty-ninth red-team pass
//! (docs/security/redteam-twenty-ninth-pass-2026-12-06.md), each shown on
//! an input of the reported shape: the answer is still right, and it comes
//! without the crash or the pairwise scan.

use super::*;
use careplan::issue::Severity;

/// U1: a narrative nested thousands of elements deep overflowed the stack
/// of the thread that walked it (its language and link rules recurse) and
/// took the server down. Past the XML reader's depth it is not read on.
#[test]
fn u1_a_narrative_nested_past_the_limit_is_refused_not_walked() {
    let depth = 8_000;
    let div = format!(r#"<div xmlns="http://www.w3.org/1999/xhtml" lang="en">{}x{}</div>"#, "<span>".repeat(depth), "</span>".repeat(depth));
    let patient = json!({"resourceType": "Patient", "text": {"status": "generated", "div": div}});
    let found = common::issues_with(&[], &patient);
    let refused: Vec<_> = found.iter().filter(|i| i.message == "The narrative XHTML is nested more than 512 elements deep; it is not read further").collect();
    assert_eq!(refused.len(), 1, "{:#?}", &found[..found.len().min(5)]);
    assert_eq!((refused[0].severity, refused[0].expression.as_str()), (Severity::Error, "Patient.text.div"));
    // What lies below was not read, so it is not said to be empty.
    assert!(!found.iter().any(|i| i.message.contains("txt-2")), "{found:#?}");

    // Within the limit, the structure rules still run (an anchor to nowhere).
    let div = format!(r##"<div xmlns="http://www.w3.org/1999/xhtml">{}<a href="#nowhere">x</a>{}</div>"##, "<span>".repeat(400), "</span>".repeat(400));
    let found = common::issues_with(&[], &json!({"resourceType": "Patient", "text": {"status": "generated", "div": div}}));
    assert!(found.iter().any(|i| i.message.contains("nowhere")), "{found:#?}");
    assert!(!found.iter().any(|i| i.message.contains("nested more than")), "{found:#?}");
}

fn coding(code: String) -> Value {
    json!({"system": "http://x.test/cs", "code": code})
}

/// U2: `obs-7` intersects each component's codings with the Observation's
/// own, and `intersect()` compared every pair. Codings are now found by a
/// hash of their content, and the shared side is indexed once.
#[test]
fn u2_obs7_over_thousands_of_codings_finds_the_one_shared_code() {
    let n = 5_000;
    let codes: Vec<Value> = (0..n).map(|i| coding(format!("c{i}"))).collect();
    let mut components: Vec<Value> = (0..n).map(|i| json!({"code": {"coding": [coding(format!("other{i}"))]}, "valueString": "v"})).collect();
    let obs = |components: &[Value]| {
        json!({"resourceType": "Observation", "status": "final", "code": {"coding": codes}, "valueString": "v", "component": components})
    };
    let clean = common::issues_with(&[], &obs(&components));
    assert!(!clean.iter().any(|i| i.message.contains("obs-7")), "{:#?}", &clean[..clean.len().min(5)]);
    // One component coded as the Observation is: obs-7 fails, once.
    components[n - 1] = json!({"code": {"coding": [coding(format!("c{}", n / 2))]}, "valueString": "v"});
    let shared = common::issues_with(&[], &obs(&components));
    assert_eq!(shared.iter().filter(|i| i.message.contains("obs-7")).count(), 1, "{:#?}", &shared[..shared.len().min(5)]);
}

/// U3: `in` and `contains` against a collection fixed for the whole
/// evaluation (`%context.grouping.id contains $this` in ig-1) scanned it
/// for every item; it is now indexed once.
#[test]
fn u3_membership_in_a_shared_collection_is_indexed_once() {
    let n = 5_000;
    let guide = |last: &str| {
        let groupings: Vec<Value> = (0..n).map(|i| json!({"id": format!("gr{i}"), "name": format!("Group {i}")})).collect();
        let resources: Vec<Value> = (0..n)
            .map(|i| json!({"reference": {"reference": format!("Basic/b{i}")}, "groupingId": if i == n - 1 { last.to_string() } else { format!("gr{i}") }}))
            .collect();
        json!({"resourceType": "ImplementationGuide", "url": "http://x.test/ImplementationGuide/g", "name": "G", "status": "draft",
            "packageId": "x.test.g", "fhirVersion": ["4.0.1"], "definition": {"grouping": groupings, "resource": resources}})
    };
    let fine = common::issues_with(&[], &guide(&format!("gr{}", n - 1)));
    assert!(!fine.iter().any(|i| i.message.contains("ig-1")), "{:#?}", &fine[..fine.len().min(5)]);
    let other = common::issues_with(&[], &guide("missing"));
    assert_eq!(other.iter().filter(|i| i.message.contains("ig-1")).count(), 1, "{:#?}", &other[..other.len().min(5)]);
}

/// U4: the Measure rules kept the element ids seen in a list, and counted
/// each element's same-named siblings again for each sibling.
#[test]
fn u4_duplicate_element_ids_in_a_large_measure_report_are_found_once() {
    let n = 20_000;
    let mut groups: Vec<Value> = (0..n).map(|i| json!({"id": format!("g{i}")})).collect();
    groups.push(json!({"id": "g7"}));
    let report = json!({"resourceType": "MeasureReport", "status": "complete", "type": "summary", "measure": "http://x.test/Measure/m",
        "period": {"start": "2026-01-01", "end": "2026-12-31"}, "group": groups});
    let found = common::issues_with(&[], &report);
    let duplicates: Vec<_> = found.iter().filter(|i| i.message.starts_with("Duplicate id value")).collect();
    assert_eq!(duplicates.len(), 1, "{:#?}", &found[..found.len().min(5)]);
    assert_eq!(duplicates[0].message, "Duplicate id value 'g7'");
    assert_eq!(duplicates[0].expression, format!("MeasureReport.group[{n}]"));
}

/// U5: each untyped input of a group looked for its passed variable in the
/// whole list passed; the variables are now found by name.
#[test]
fn u5_a_group_of_thousands_of_untyped_inputs_takes_each_passed_type() {
    let n = 3_000;
    let sources: Vec<Value> = (0..n).map(|i| json!({"context": "src", "element": "name", "variable": format!("v{i}")})).collect();
    let variables: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
    let inputs: Vec<Value> = (0..n).map(|i| json!({"name": format!("v{i}"), "mode": "source"})).collect();
    let map = |element: &str| {
        json!({"resourceType": "StructureMap", "url": "http://x.test/StructureMap/m", "name": "M", "status": "draft", "group": [
            {"name": "main", "typeMode": "none",
             "input": [{"name": "src", "type": "Patient", "mode": "source"}, {"name": "tgt", "type": "Patient", "mode": "target"}],
             "rule": [{"name": "call", "source": sources, "dependent": [{"name": "sub", "variable": variables}]}]},
            {"name": "sub", "typeMode": "none", "input": inputs,
             "rule": [{"name": "last", "source": [{"context": format!("v{}", n - 1), "element": element, "variable": "f"}]}]}]})
    };
    let fine = common::issues_with(&[], &map("family"));
    assert!(!fine.iter().any(|i| i.message.contains("refers to the path")), "{:#?}", &fine[..fine.len().min(5)]);
    let wrong = common::issues_with(&[], &map("surname"));
    let expected = format!("The source path v{}.surname refers to the path Patient.name.surname which is unknown", n - 1);
    assert!(wrong.iter().any(|i| i.message == expected), "{:#?}", &wrong[..wrong.len().min(5)]);
}
