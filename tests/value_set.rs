//! ValueSet rules (`src/validator/rules/value_set.rs`), one test per rule,
//! each on a small ValueSet made for it.

mod common;

use common::{has, issues_with};

use careplan::issue::{Issue, Severity};
use serde_json::{json, Value};

fn mentions(issues: &[Issue], fragment: &str) -> bool {
    issues.iter().any(|i| i.message.contains(fragment))
}

const CS: &str = "http://example.org/CodeSystem/colours";

/// The code system the value sets draw on: complete, with a hierarchy, a
/// filter and typed properties.
fn colours() -> Value {
    json!({
        "resourceType": "CodeSystem", "url": CS, "version": "1", "name": "Colours", "status": "draft",
        "content": "complete", "caseSensitive": true, "hierarchyMeaning": "is-a",
        "filter": [{"code": "shade", "operator": ["="], "value": "a shade"}],
        "property": [
            {"code": "shade", "type": "code"}, {"code": "bright", "type": "boolean"}, {"code": "weight", "type": "decimal"},
            {"code": "rank", "type": "integer"}, {"code": "since", "type": "dateTime"}, {"code": "related", "type": "Coding"}
        ],
        "concept": [{"code": "red", "display": "Red", "concept": [{"code": "crimson", "display": "Crimson"}]}, {"code": "blue", "display": "Blue"}]
    })
}

/// A well-formed value set over `colours` with `include` as its one include.
fn value_set(include: Value) -> Value {
    json!({
        "resourceType": "ValueSet", "url": "http://example.org/ValueSet/some-colours", "version": "1", "name": "SomeColours",
        "status": "draft", "compose": {"include": [include]}
    })
}

fn check(include: Value) -> Vec<Issue> {
    issues_with(&[colours()], &value_set(include))
}

const INC: &str = "ValueSet.compose.include[0]";
const FILTER: &str = "ValueSet.compose.include[0].filter[0]";

#[test]
fn a_well_formed_value_set_raises_no_errors() {
    let mut vs = value_set(json!({"system": CS, "concept": [{"code": "red", "display": "Red"}, {"code": "crimson", "display": "Crimson"}]}));
    vs["compose"]["include"].as_array_mut().unwrap().push(json!({"system": CS, "filter": [{"property": "concept", "op": "is-a", "value": "red"}]}));
    vs["compose"]["exclude"] = json!([{"system": CS, "concept": [{"code": "blue"}]}]);
    vs["expansion"] = json!({"identifier": "urn:uuid:8a3fc6f3-2f5e-4b0e-9df8-1b0a6fbb7a11", "timestamp": "2024-01-01T00:00:00Z", "total": 2,
        "parameter": [{"name": "count", "valueInteger": 10}, {"name": "used-codesystem", "valueUri": format!("{CS}|1")}],
        "contains": [{"system": CS, "code": "red"}, {"system": CS, "code": "crimson"}]});
    let found = issues_with(&[colours()], &vs);
    assert!(!found.iter().any(|i| i.severity.is_error()), "{found:#?}");
    assert!(!found.iter().any(|i| i.severity == Severity::Warning && !i.message.contains("dom-6")), "{found:#?}");
}

#[test]
fn valueset_reference_invalid_type_no_version_0() {
    let found = check(json!({"system": format!("{CS}|")}));
    assert!(has(&found, Severity::Warning, INC, &format!("Value set System reference '{CS}' ends with a '|' which is suspicious")), "{found:#?}");
    assert!(!mentions(&check(json!({"system": CS})), "canonical version syntax"));
}

#[test]
fn valueset_reference_invalid_type_no_version_1() {
    let found = check(json!({"system": format!("{CS}|1")}));
    assert!(has(&found, Severity::Error, INC, "must not use the canonical version syntax - the version '1' should be in the version property"), "{found:#?}");
}

#[test]
fn valueset_reference_invalid_type_no_version_2() {
    let found = check(json!({"system": format!("{CS}|1"), "version": "2"}));
    assert!(has(&found, Severity::Error, INC, "the version '1' should be in the version property, but that already contains '2'"), "{found:#?}");
}

#[test]
fn valueset_reference_invalid_type_no_version_3() {
    let found = check(json!({"system": format!("{CS}|1"), "version": "1"}));
    assert!(has(&found, Severity::Error, INC, "the version '1' is already in the version property"), "{found:#?}");
}

#[test]
fn valueset_reference_unknown() {
    let found = check(json!({"valueSet": ["http://example.org/ValueSet/nowhere"]}));
    assert!(has(&found, Severity::Warning, "ValueSet.compose.include[0].valueSet[0]", "The value set import http://example.org/ValueSet/nowhere could not be found so cannot be checked"), "{found:#?}");
    let other = value_set(json!({"system": CS}));
    let fine = issues_with(&[colours(), json!({"resourceType": "ValueSet", "url": "http://example.org/ValueSet/other", "status": "draft", "compose": {"include": [{"system": CS}]}})], &json!({
        "resourceType": "ValueSet", "url": "http://example.org/ValueSet/x", "status": "draft", "compose": {"include": [{"valueSet": ["http://example.org/ValueSet/other"]}]}}));
    assert!(!mentions(&fine, "could not be found"), "{fine:#?} {other}");
}

#[test]
fn valueset_reference_invalid_type() {
    let found = check(json!({"valueSet": [CS]}));
    assert!(has(&found, Severity::Warning, "ValueSet.compose.include[0].valueSet[0]", &format!("The value set import {CS} points to a resource of type CodeSystem which is not valid")), "{found:#?}");
}

#[test]
fn valueset_import_union_intersection() {
    let defs = [colours(), json!({"resourceType": "ValueSet", "url": "http://example.org/ValueSet/a", "status": "draft", "compose": {"include": [{"system": CS}]}}),
        json!({"resourceType": "ValueSet", "url": "http://example.org/ValueSet/b", "status": "draft", "compose": {"include": [{"system": CS}]}})];
    let found = issues_with(&defs, &value_set(json!({"valueSet": ["http://example.org/ValueSet/a", "http://example.org/ValueSet/b"]})));
    assert!(has(&found, Severity::Warning, INC, "This value set has a single include with multiple imported value sets"), "{found:#?}");
    let one = issues_with(&defs, &value_set(json!({"valueSet": ["http://example.org/ValueSet/a"]})));
    assert!(!mentions(&one, "multiple imported value sets"), "{one:#?}");
}

#[test]
fn valueset_include_system_absolute() {
    let found = check(json!({"system": "colours", "concept": [{"code": "red"}]}));
    assert!(has(&found, Severity::Error, INC, "URI values in ValueSet.compose.include.system must be absolute"), "{found:#?}");
    assert!(!mentions(&check(json!({"system": CS})), "must be absolute"));
}

#[test]
fn valueset_include_system_absolute_frag() {
    let mut vs = value_set(json!({"system": "#cs", "concept": [{"code": "red"}]}));
    vs["contained"] = json!([{"resourceType": "CodeSystem", "id": "cs", "url": "http://example.org/cs-inner", "status": "draft", "content": "complete", "concept": [{"code": "red"}]}]);
    let found = issues_with(&[], &vs);
    assert!(has(&found, Severity::Error, INC, "To reference a contained code system, use the full CodeSystem URL"), "{found:#?}");
    assert!(!mentions(&found, "No matching contained code system"), "{found:#?}");
}

#[test]
fn valueset_include_cs_not_found_and_not_cs() {
    let missing = check(json!({"system": "#nothing", "concept": [{"code": "red"}]}));
    assert!(has(&missing, Severity::Error, INC, "No matching contained code system found for system '#nothing'"), "{missing:#?}");
    let mut vs = value_set(json!({"system": "#vs", "concept": [{"code": "red"}]}));
    vs["contained"] = json!([{"resourceType": "ValueSet", "id": "vs", "status": "draft"}]);
    let found = issues_with(&[], &vs);
    assert!(has(&found, Severity::Error, INC, "the contained resource with that id is not a CodeSystem, it's a ValueSet"), "{found:#?}");
}

#[test]
fn valueset_include_csver_not_found() {
    let found = check(json!({"system": "#nothing", "version": "2", "concept": [{"code": "red"}]}));
    assert!(has(&found, Severity::Error, INC, "No matching contained code system found for system '#nothing' version '2'"), "{found:#?}");
}

#[test]
fn valueset_include_cs_multi_found() {
    let mut vs = value_set(json!({"system": "#cs", "concept": [{"code": "red"}]}));
    let inner = json!({"resourceType": "CodeSystem", "id": "cs", "url": "http://example.org/cs-inner", "status": "draft", "content": "complete"});
    vs["contained"] = json!([inner.clone(), inner]);
    let found = issues_with(&[], &vs);
    assert!(has(&found, Severity::Error, INC, "Multiple matching contained code systems found for system '#cs'"), "{found:#?}");
}

#[test]
fn valueset_include_cs_content() {
    let mut example = colours();
    example["content"] = json!("example");
    let found = issues_with(&[example], &value_set(json!({"system": CS})));
    assert!(has(&found, Severity::Warning, INC, &format!("The value set references CodeSystem '{CS}' which has status 'example'")), "{found:#?}");
    let mut fragment = colours();
    fragment["content"] = json!("fragment");
    let found = issues_with(&[fragment], &value_set(json!({"system": CS})));
    assert!(has(&found, Severity::Information, INC, "which has status 'fragment'"), "{found:#?}");
    assert!(!mentions(&check(json!({"system": CS})), "which has status"));
}

#[test]
fn valueset_include_csver_content() {
    let mut example = colours();
    example["content"] = json!("not-present");
    example.as_object_mut().unwrap().remove("concept");
    let found = issues_with(&[example], &value_set(json!({"system": CS, "version": "1", "concept": [{"code": "zzz"}]})));
    assert!(has(&found, Severity::Warning, INC, &format!("The value set references CodeSystem '{CS}' version '1' which has status 'not-present'")), "{found:#?}");
    assert!(!mentions(&found, "is not valid in the system"), "{found:#?}");
}

#[test]
fn valueset_include_cs_supplement() {
    let supp = json!({"resourceType": "CodeSystem", "url": "http://example.org/CodeSystem/supp", "status": "draft", "content": "supplement", "supplements": CS,
        "concept": [{"code": "red", "designation": [{"use": {"code": "x"}, "value": "Rouge"}]}]});
    let found = issues_with(&[colours(), supp], &value_set(json!({"system": "http://example.org/CodeSystem/supp", "concept": [{"code": "red"}]})));
    assert!(has(&found, Severity::Error, INC, &format!("which is a supplement. It must reference the underlying CodeSystem '{CS}'")), "{found:#?}");
}

#[test]
fn valueset_include_wrong_vs_hint() {
    let vs = json!({"resourceType": "ValueSet", "url": "http://example.org/ValueSet/reds", "status": "draft", "compose": {"include": [{"system": CS}]}});
    let found = issues_with(&[colours(), vs], &value_set(json!({"system": "http://example.org/ValueSet/reds", "concept": [{"code": "red"}]})));
    assert!(has(&found, Severity::Error, INC, &format!("The system 'http://example.org/ValueSet/reds' is actually a value set, which itself refers to the system '{CS}'")), "{found:#?}");
}

#[test]
fn valueset_include_wrong_vs() {
    let vs = json!({"resourceType": "ValueSet", "url": "http://example.org/ValueSet/empty", "status": "draft"});
    let found = issues_with(&[vs], &value_set(json!({"system": "http://example.org/ValueSet/empty"})));
    assert!(has(&found, Severity::Error, INC, "The system 'http://example.org/ValueSet/empty' is actually a value set"), "{found:#?}");
}

#[test]
fn valueset_include_wrong_vs_many() {
    let vs = json!({"resourceType": "ValueSet", "url": "http://example.org/ValueSet/mixed", "status": "draft",
        "compose": {"include": [{"system": CS}, {"system": "http://example.org/CodeSystem/other"}]}});
    let found = issues_with(&[colours(), vs], &value_set(json!({"system": "http://example.org/ValueSet/mixed"})));
    assert!(has(&found, Severity::Error, INC, &format!("which itself refers to the systems {CS}, http://example.org/CodeSystem/other")), "{found:#?}");
}

#[test]
fn valueset_include_wrong_cs_oid() {
    let mut cs = colours();
    cs["identifier"] = json!([{"system": "urn:ietf:rfc:3986", "value": "urn:oid:2.16.840.1.113883.999.1"}]);
    let found = issues_with(&[cs], &value_set(json!({"system": "urn:oid:2.16.840.1.113883.999.1"})));
    assert!(has(&found, Severity::Error, INC, &format!("It is not valid to refer to a CodeSystem by an identifier like this 'urn:oid:2.16.840.1.113883.999.1' - use '{CS}'")), "{found:#?}");
    let fine = issues_with(&[colours()], &value_set(json!({"system": "urn:oid:2.16.840.1.113883.999.2"})));
    assert!(!mentions(&fine, "by an identifier"), "{fine:#?}");
}

#[test]
fn valueset_include_wrong_cs_oid_plural() {
    let mut a = colours();
    a["identifier"] = json!([{"value": "urn:oid:2.16.840.1.113883.999.3"}]);
    let mut b = colours();
    b["url"] = json!("http://example.org/CodeSystem/colours2");
    b["identifier"] = json!([{"value": "urn:oid:2.16.840.1.113883.999.3"}]);
    let found = issues_with(&[a, b], &value_set(json!({"system": "urn:oid:2.16.840.1.113883.999.3"})));
    assert!(has(&found, Severity::Error, INC, "and the identifier matches to multiple CodeSystem resources ("), "{found:#?}");
}

#[test]
fn valueset_no_system_warning() {
    let vs = json!({"resourceType": "ValueSet", "url": "http://example.org/ValueSet/x", "status": "draft", "compose": {"include": [{"valueSet": ["http://example.org/ValueSet/y"], "concept": [{"code": "a"}]}]}});
    let found = issues_with(&[json!({"resourceType": "ValueSet", "url": "http://example.org/ValueSet/y", "status": "draft"})], &vs);
    assert!(has(&found, Severity::Warning, INC, "No System specified, so Concepts and Filters can't be checked"), "{found:#?}");
    assert!(!mentions(&check(json!({"system": CS, "concept": [{"code": "red"}]})), "No System specified"));
}

#[test]
fn valueset_include_invalid_concept_code() {
    let found = check(json!({"system": CS, "concept": [{"code": "red"}, {"code": "green"}]}));
    assert!(has(&found, Severity::Error, "ValueSet.compose.include[0].concept[1]", &format!("The code 'green' is not valid in the system {CS} (Unknown code 'green' in the CodeSystem '{CS}' version '1')")), "{found:#?}");
    assert!(!mentions(&found, "The code 'red' is not valid"), "{found:#?}");
}

#[test]
fn valueset_include_invalid_concept_code_ver() {
    let found = check(json!({"system": CS, "version": "1", "concept": [{"code": "green"}]}));
    assert!(has(&found, Severity::Error, "ValueSet.compose.include[0].concept[0]", &format!("The code 'green' is not valid in the system {CS} version 1")), "{found:#?}");
}

#[test]
fn valueset_example_system_hint() {
    let found = check(json!({"system": "http://example.org/CodeSystem/not-loaded", "concept": [{"code": "a"}]}));
    assert!(has(&found, Severity::Information, INC, "Example System 'http://example.org/CodeSystem/not-loaded' specified, so Concepts and Filters can't be checked"), "{found:#?}");
    assert!(!found.iter().any(|i| i.severity.is_error()), "{found:#?}");
    assert!(!mentions(&check(json!({"system": CS, "concept": [{"code": "red"}]})), "Example System"));
}

#[test]
fn valueset_concept_display_presence_mixed() {
    let found = check(json!({"system": CS, "concept": [{"code": "red", "display": "Red"}, {"code": "blue"}]}));
    assert!(has(&found, Severity::Information, INC, "This include has some concepts with displays and some without"), "{found:#?}");
}

fn filter(property: &str, op: &str, value: &str) -> Vec<Issue> {
    check(json!({"system": CS, "filter": [{"property": property, "op": op, "value": value}]}))
}

#[test]
fn valueset_unknown_filter_property() {
    let found = filter("flavour", "=", "x");
    assert!(has(&found, Severity::Warning, FILTER, &format!("The property 'flavour' is not known for the system '{CS}'")), "{found:#?}");
    assert!(!mentions(&filter("shade", "=", "red"), "is not known for the system"));
}

#[test]
fn valueset_unknown_filter_property_no_cs() {
    let found = check(json!({"system": "http://example.net/cs", "filter": [{"property": "flavour", "op": "=", "value": "x"}]}));
    assert!(has(&found, Severity::Information, FILTER, "No definition can be found for the system http://example.net/cs, and the property 'flavour' is not a generally known property"), "{found:#?}");
}

#[test]
fn valueset_bad_filter_op() {
    let found = filter("concept", "exists", "true");
    assert!(has(&found, Severity::Error, FILTER, &format!("The operation 'exists' is not allowed for property 'concept' in system '{CS}'. Allowed ops: =,is-a,descendent-of,is-not-a,in,not-in,generalizes")), "{found:#?}");
    let declared = filter("shade", "is-a", "red");
    assert!(has(&declared, Severity::Error, FILTER, "Allowed ops: ="), "{declared:#?}");
    assert!(!mentions(&filter("concept", "is-a", "red"), "is not allowed for property"));
}

#[test]
fn valueset_bad_filter_value_boolean() {
    let found = filter("bright", "=", "yes");
    assert!(has(&found, Severity::Error, FILTER, "The value for a filter based on property 'bright' must be either 'true' or 'false', not 'yes'"), "{found:#?}");
    assert!(!mentions(&filter("bright", "=", "true"), "must be either"));
    let exists = filter("rank", "exists", "maybe");
    assert!(has(&exists, Severity::Error, FILTER, "based on property 'rank' must be either 'true' or 'false', not 'maybe'"), "{exists:#?}");
}

#[test]
fn valueset_bad_filter_value_code() {
    let found = filter("concept", "in", "red, blue");
    assert!(has(&found, Severity::Error, FILTER, "The value for a filter based on property 'concept' must be a valid code, not ' blue'"), "{found:#?}");
    assert!(!mentions(&filter("concept", "in", "red,blue"), "must be a valid code"));
}

#[test]
fn valueset_bad_filter_value_valid_code() {
    let found = filter("concept", "is-a", "green");
    assert!(has(&found, Severity::Error, FILTER, &format!("The value for a filter based on property 'concept' must be a valid code from the system '{CS}', and 'green' is not (Unknown code 'green'")), "{found:#?}");
    let typed = filter("shade", "=", "green");
    assert!(has(&typed, Severity::Warning, FILTER, "based on property 'shade' must be a valid code from the system"), "{typed:#?}");
    assert!(!mentions(&filter("concept", "is-a", "red"), "must be a valid code from the system"));
}

#[test]
fn valueset_bad_filter_value_has_comma() {
    let found = filter("concept", "is-a", "red,blue");
    assert!(has(&found, Severity::Information, FILTER, "The filter value has a comma, but the operation is different to 'in' and 'not-in', so the comma will be interpreted as part of the Code value"), "{found:#?}");
    assert!(!mentions(&filter("concept", "in", "red,blue"), "has a comma"));
}

#[test]
fn valueset_bad_filter_value_integer() {
    let found = filter("rank", "=", "1.5");
    assert!(has(&found, Severity::Error, FILTER, "The value for a filter based on property 'rank' must be integer value, not '1.5'"), "{found:#?}");
    assert!(!mentions(&filter("rank", "=", "3"), "must be integer value"));
}

#[test]
fn valueset_bad_filter_value_decimal() {
    let found = filter("weight", "=", "heavy");
    assert!(has(&found, Severity::Error, FILTER, "The value for a filter based on property 'weight' must be a decimal value, not 'heavy'"), "{found:#?}");
    assert!(!mentions(&filter("weight", "=", "gt1.5"), "must be a decimal value"));
}

#[test]
fn valueset_bad_filter_value_datetime() {
    let found = filter("since", "=", "yesterday");
    assert!(has(&found, Severity::Error, FILTER, "The value for a filter based on property 'since' must be a valid date(/time), not 'yesterday'"), "{found:#?}");
    assert!(!mentions(&filter("since", "=", "ge2020-01-01"), "valid date(/time)"));
}

#[test]
fn valueset_bad_filter_value_coded() {
    let found = filter("related", "=", "just-a-code");
    assert!(has(&found, Severity::Error, FILTER, "The value for a filter based on property 'related' must be in the format system(|version)#code, not 'just-a-code'"), "{found:#?}");
    assert!(!mentions(&filter("related", "=", "http://loinc.org#1234-5"), "system(|version)#code"));
}

#[test]
fn valueset_bad_filter_value_coded_legacy() {
    let found = filter("related", "=", "http://loinc.org|1234-5");
    assert!(has(&found, Severity::Warning, FILTER, "should be in the format system(|version)#code, not the coding search pattern 'http://loinc.org|1234-5'"), "{found:#?}");
}

#[test]
fn valueset_bad_filter_value_valid_regex() {
    let found = filter("code", "regex", "[a-");
    assert!(has(&found, Severity::Error, FILTER, "The value for a filter based on property 'code' should be a valid regex, not '[a-'"), "{found:#?}");
    assert!(!mentions(&filter("code", "regex", "(?=r)[a-z]+"), "should be a valid regex"));
}

#[test]
fn valueset_bad_property_no_regex() {
    let found = filter("concept", "regex", "r.*");
    assert!(has(&found, Severity::Error, FILTER, "Cannot apply a regex filter to the property 'concept'"), "{found:#?}");
    assert!(!mentions(&filter("code", "regex", "r.*"), "Cannot apply a regex filter"));
}

#[test]
fn valueset_bad_filter_expr_and_value() {
    let found = check(json!({"system": CS, "filter": [{"property": "concept", "op": "is-a", "value": "red",
        "_value": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/cqf-expression", "valueExpression": {"language": "text/fhirpath", "expression": "'red'"}}]}}]}));
    assert!(has(&found, Severity::Error, FILTER, "A filter can't have both a value and and expression for the value at the same time"), "{found:#?}");
}

#[test]
fn valueset_bad_filter_expr_or_value() {
    let found = check(json!({"system": CS, "filter": [{"property": "concept", "op": "is-a"}]}));
    assert!(has(&found, Severity::Error, FILTER, "A filter needs a value and or an expression for the value"), "{found:#?}");
}

#[test]
fn valueset_bad_filter_expr_lang() {
    let found = check(json!({"system": CS, "filter": [{"property": "concept", "op": "is-a",
        "_value": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/cqf-expression", "valueExpression": {"language": "text/cql", "expression": "'red'"}}]}}]}));
    assert!(has(&found, Severity::Error, "ValueSet.compose.include[0].filter[0].value.extension.value", "A ValueSet expression language must be 'text/fhirpath' not 'text/cql'"), "{found:#?}");
}

#[test]
fn valueset_bad_filter_expr_value() {
    let found = check(json!({"system": CS, "filter": [{"property": "concept", "op": "is-a",
        "_value": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/cqf-expression", "valueExpression": {"language": "text/fhirpath", "expression": "'red' +"}}]}}]}));
    assert!(has(&found, Severity::Error, "ValueSet.compose.include[0].filter[0].value.extension.value", "The value of the expression ''red' +' is not a valid FHIRPath"), "{found:#?}");
}

fn expansion(exp: Value) -> Vec<Issue> {
    let mut vs = value_set(json!({"system": CS}));
    vs["expansion"] = exp;
    issues_with(&[colours()], &vs)
}

fn good_expansion() -> Value {
    json!({"identifier": "urn:uuid:8a3fc6f3-2f5e-4b0e-9df8-1b0a6fbb7a11", "timestamp": "2024-01-01T00:00:00Z", "total": 2, "offset": 0,
        "parameter": [{"name": "count", "valueInteger": 10}, {"name": "used-codesystem", "valueUri": format!("{CS}|1")}],
        "contains": [{"system": CS, "code": "red"}, {"system": CS, "code": "blue"}]})
}

#[test]
fn valueset_expansion_parameter_not_found() {
    let mut exp = good_expansion();
    exp["parameter"] = json!([{"name": "used-codesystem", "valueUri": format!("{CS}|1")}]);
    let found = expansion(exp);
    assert!(has(&found, Severity::Warning, "ValueSet.expansion", "This expansion has no parameters"), "{found:#?}");
    assert!(!mentions(&expansion(good_expansion()), "This expansion has no parameters"));
}

#[test]
fn valueset_expansion_no_identifier() {
    let mut exp = good_expansion();
    exp.as_object_mut().unwrap().remove("identifier");
    let found = expansion(exp);
    assert!(has(&found, Severity::Information, "ValueSet.expansion", "This expansion has no identifier"), "{found:#?}");
    assert!(!mentions(&expansion(good_expansion()), "has no identifier"));
}

#[test]
fn valueset_expansion_parameter_count_wrong() {
    let mut exp = good_expansion();
    exp["offset"] = json!(1);
    let found = expansion(exp);
    assert!(has(&found, Severity::Warning, "ValueSet.expansion", "The expansion offset (1) + the count of items (2) is greater than the stated total (2)"), "{found:#?}");
    assert!(!mentions(&expansion(good_expansion()), "is greater than the stated total"));
}

#[test]
fn valueset_expansion_parameter_system_needed() {
    let mut exp = good_expansion();
    exp["parameter"] = json!([{"name": "count", "valueInteger": 10}]);
    let found = expansion(exp);
    assert!(has(&found, Severity::Warning, "ValueSet.expansion", &format!("Because the expansion uses system '{CS}' without a version, it should list the system using the expansion parameter 'used-codesystem'")), "{found:#?}");
    assert!(!mentions(&expansion(good_expansion()), "should list the system"));
}

#[test]
fn valueset_expansion_parameter_system_multiple() {
    let mut exp = good_expansion();
    exp["parameter"] = json!([{"name": "count", "valueInteger": 10}, {"name": "used-codesystem", "valueUri": format!("{CS}|1")}, {"name": "used-codesystem", "valueUri": format!("{CS}|2")}]);
    let found = expansion(exp);
    assert!(has(&found, Severity::Error, "ValueSet.expansion", &format!("The expansion uses system '{CS}' without a version, but then provides multiple 'used-codesystem' parameters")), "{found:#?}");
}

#[test]
fn an_oid_of_an_incomplete_code_system_may_be_a_system_of_its_own() {
    let mut cs = colours();
    cs["content"] = json!("fragment");
    cs["identifier"] = json!([{"value": "urn:oid:2.16.840.1.113883.999.4"}]);
    let found = issues_with(&[cs], &value_set(json!({"system": "urn:oid:2.16.840.1.113883.999.4"})));
    assert!(!mentions(&found, "by an identifier"), "{found:#?}");
}

#[test]
fn valueset_inc_too_many_codes() {
    let concepts: Vec<Value> = (0..1001).map(|i| json!({"code": format!("c{i}")})).collect();
    let found = check(json!({"system": CS, "concept": concepts}));
    assert!(has(&found, Severity::Information, INC, "The value set include has too many concepts to validate (1001, more than the limit of 1000)"), "{:#?}", &found[..found.len().min(5)]);
    assert!(!mentions(&found, "is not valid in the system"));
}

#[test]
fn valueset_include_system_absolute_when_empty() {
    let found = check(json!({"system": "", "concept": [{"code": "red"}]}));
    assert!(has(&found, Severity::Error, INC, "URI values in ValueSet.compose.include.system must be absolute"), "{found:#?}");
}
