//! StructureMap rules (`src/validator/rules/structure_map.rs`), one test
//! per rule, each on a small StructureMap made for it.

mod common;

use common::issues_with;

use careplan::issue::{Issue, Severity};
use serde_json::{json, Value};

fn issues(resource: &Value) -> Vec<Issue> {
    issues_with(&[], resource)
}

/// Whether an issue of this severity and issue type sits at `expression`
/// with `fragment` in its message.
fn has(issues: &[Issue], severity: Severity, code: &str, expression: &str, fragment: &str) -> bool {
    issues.iter().any(|i| i.severity == severity && i.code.as_str() == code && i.expression == expression && i.message.contains(fragment))
}

fn mentions(issues: &[Issue], fragment: &str) -> bool {
    issues.iter().any(|i| i.message.contains(fragment))
}

/// A map with these groups (and `extra` top-level elements).
fn map_with(groups: Value, extra: Value) -> Value {
    let mut m = json!({
        "resourceType": "StructureMap", "url": "http://example.org/StructureMap/m", "name": "M", "status": "draft",
        "group": groups
    });
    for (k, v) in extra.as_object().unwrap() {
        m[k] = v.clone();
    }
    m
}

/// A typed group `main(source src : Patient, target tgt : Patient)` with these rules.
fn main_group(rules: Value) -> Value {
    json!({"name": "main", "typeMode": "none",
        "input": [{"name": "src", "type": "Patient", "mode": "source"}, {"name": "tgt", "type": "Patient", "mode": "target"}],
        "rule": rules})
}

fn map(rules: Value) -> Value {
    map_with(json!([main_group(rules)]), json!({}))
}

/// `src.<element> as <variable>` → `tgt.<element> = <target>`.
fn rule(name: &str, source: Value, target: Value) -> Value {
    json!({"name": name, "source": [source], "target": [target]})
}

fn copy_name() -> Value {
    rule("names", json!({"context": "src", "element": "name", "variable": "n"}),
        json!({"context": "tgt", "contextType": "variable", "element": "name", "transform": "copy", "parameter": [{"valueId": "n"}]}))
}

fn target(fields: Value) -> Value {
    let mut t = json!({"context": "tgt", "contextType": "variable"});
    for (k, v) in fields.as_object().unwrap() {
        t[k] = v.clone();
    }
    t
}

#[test]
fn a_well_formed_typed_map_raises_none_of_these_rules() {
    let found = issues(&map(json!([copy_name(),
        rule("gender", json!({"context": "src", "element": "gender", "variable": "g"}), target(json!({"element": "gender", "transform": "copy", "parameter": [{"valueId": "g"}]})))])));
    assert!(!found.iter().any(|i| i.severity.is_error()), "{found:#?}");
    assert!(!found.iter().any(|i| i.severity == Severity::Warning && !i.message.contains("dom-6")), "{found:#?}");
}

#[test]
fn sm_import_not_found() {
    let found = issues(&map_with(json!([main_group(json!([copy_name()]))]), json!({"import": ["http://example.org/StructureMap/missing"]})));
    assert!(has(&found, Severity::Warning, "invalid", "StructureMap.import[0]", "No maps were found to match http://example.org/StructureMap/missing - validation may be wrong"), "{found:#?}");
}

#[test]
fn sm_name_invalid_on_a_group_rule_and_variable() {
    let mut g = main_group(json!([rule("names-1", json!({"context": "src", "element": "name", "variable": "n_1"}), target(json!({"element": "name"})))]));
    g["name"] = json!("main-1");
    let found = issues(&map_with(json!([g]), json!({})));
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[0]", "The name main-1 is not valid"), "{found:#?}");
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[0].rule[0]", "The name names-1 is not valid"), "{found:#?}");
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[0].rule[0].source[0]", "The name n_1 is not valid"), "{found:#?}");
}

#[test]
fn sm_group_name_duplicate() {
    let found = issues(&map_with(json!([main_group(json!([copy_name()])), main_group(json!([copy_name()]))]), json!({})));
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[1]", "The Group name 'main' is already used"), "{found:#?}");
    assert!(!has(&found, Severity::Error, "invalid", "StructureMap.group[0]", "already used"), "{found:#?}");
}

#[test]
fn sm_rulegroup_not_found_for_extends_and_dependents() {
    let mut g = main_group(json!([{"name": "call", "source": [{"context": "src"}], "dependent": [{"name": "nowhere", "variable": ["src"]}]}]));
    g["extends"] = json!("base");
    let found = issues(&map_with(json!([g]), json!({})));
    assert!(has(&found, Severity::Error, "not-supported", "StructureMap.group[0].extends", "The group base could not be resolved"), "{found:#?}");
    assert!(has(&found, Severity::Error, "not-found", "StructureMap.group[0].rule[0].dependent[0]", "The group nowhere could not be resolved"), "{found:#?}");
}

#[test]
fn sm_group_input_duplicate() {
    let mut g = main_group(json!([copy_name()]));
    g["input"][1]["name"] = json!("src");
    let found = issues(&map_with(json!([g]), json!({})));
    assert!(has(&found, Severity::Error, "duplicate", "StructureMap.group[0].input[1]", "The name src is already used"), "{found:#?}");
}

#[test]
fn sm_group_input_mode_invalid() {
    let mut g = main_group(json!([copy_name()]));
    g["input"][1]["mode"] = json!("produced");
    let found = issues(&map_with(json!([g]), json!({})));
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[0].input[1]", "The group parameter tgt mode produced isn't valid"), "{found:#?}");
}

#[test]
fn sm_group_input_no_type_and_sm_orphan_group() {
    let g = json!({"name": "loose", "typeMode": "none", "input": [{"name": "src", "mode": "source"}],
        "rule": [{"name": "r", "source": [{"context": "src", "element": "name", "variable": "n"}]}]});
    let found = issues(&map_with(json!([g]), json!({})));
    assert!(has(&found, Severity::Information, "informational", "StructureMap.group[0]",
        "The group loose is not called successfully from within this mapping script, and does not have types on its inputs, so type verification is not possible"), "{found:#?}");
    assert!(has(&found, Severity::Warning, "not-supported", "StructureMap.group[0].input[0]", "Group loose parameter src has no type, so the paths cannot be validated"), "{found:#?}");
    // Untyped: the source path is not checked.
    assert!(!mentions(&found, "refers to the path"), "{found:#?}");
}

#[test]
fn sm_group_input_type_unknown_structure() {
    let mut g = main_group(json!([copy_name()]));
    g["input"][0]["type"] = json!("Legacy");
    let found = issues(&map_with(json!([g]), json!({"structure": [{"url": "http://example.org/StructureDefinition/legacy", "mode": "source", "alias": "Legacy"}]})));
    assert!(has(&found, Severity::Warning, "invalid", "StructureMap.group[0].input[0]",
        "The type Legacy which maps to the canonical URL http://example.org/StructureDefinition/legacy is not known, so the paths cannot be validated"), "{found:#?}");
}

#[test]
fn sm_group_input_type_unknown_type() {
    let mut g = main_group(json!([copy_name()]));
    g["input"][0]["type"] = json!("Patience");
    let found = issues(&map_with(json!([g]), json!({})));
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[0].input[0]", "The type Patience is not known, so the paths cannot be validated"), "{found:#?}");
}

#[test]
fn sm_group_input_mode_mismatch() {
    let mut g = main_group(json!([copy_name()]));
    g["input"][1]["type"] = json!("Pat");
    let found = issues(&map_with(json!([g]), json!({"structure": [{"url": "http://hl7.org/fhir/StructureDefinition/Patient", "mode": "source", "alias": "Pat"}]})));
    assert!(has(&found, Severity::Error, "not-supported", "StructureMap.group[0].input[1]",
        "The type 'Pat' has mode 'target' which doesn't match the structure definition mode of 'source'"), "{found:#?}");
    // A target structure may be read as a source.
    let mut g = main_group(json!([copy_name()]));
    g["input"][0]["type"] = json!("Pat");
    let fine = issues(&map_with(json!([g]), json!({"structure": [{"url": "http://hl7.org/fhir/StructureDefinition/Patient", "mode": "target", "alias": "Pat"}]})));
    assert!(!mentions(&fine, "doesn't match the structure definition mode"), "{fine:#?}");
}

#[test]
fn sm_source_context_unknown() {
    let found = issues(&map(json!([rule("r", json!({"context": "source", "element": "name", "variable": "n"}), target(json!({"element": "name"})))])));
    assert!(has(&found, Severity::Error, "unknown", "StructureMap.group[0].rule[0].source[0]", "The source context source is not known at this point"), "{found:#?}");
}

#[test]
fn sm_rule_source_unassigned() {
    let found = issues(&map(json!([{"name": "r", "source": [{"context": "src", "element": "name"}]}])));
    assert!(has(&found, Severity::Information, "invalid", "StructureMap.group[0].rule[0].source[0]",
        "The source statement doesn't assign a variable to the source - check that this is what is intended"), "{found:#?}");
}

#[test]
fn sm_source_path_invalid() {
    let found = issues(&map(json!([{"name": "r", "source": [{"context": "src", "element": "nickname", "variable": "n"}]}])));
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[0].rule[0].source[0]", "The source path src.nickname refers to the path Patient.nickname which is unknown"), "{found:#?}");
}

#[test]
fn sm_target_path_multiple_matches_on_a_source() {
    let mut g = main_group(json!([{"name": "r", "source": [{"context": "src", "element": "deceased", "variable": "d"}],
        "rule": [{"name": "inner", "source": [{"context": "d", "element": "id", "variable": "i"}]}]}]));
    g["input"][0]["type"] = json!("Patient");
    let found = issues(&map_with(json!([g]), json!({})));
    assert!(has(&found, Severity::Warning, "invalid", "StructureMap.group[0].rule[0].rule[0].source[0]",
        "The target path d.id refers to the path Patient.deceased[x].id which could be a reference to multiple elements (boolean.id, dateTime.id). No further checking can be performed"), "{found:#?}");
}

#[test]
fn sm_source_type_invalid() {
    let found = issues(&map(json!([{"name": "r", "source": [{"context": "src", "element": "deceased", "type": "integer", "variable": "d"}]}])));
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[0].rule[0].source[0]",
        "The type integer is not valid in the source context Patient.deceased. The possible types are [boolean, dateTime]"), "{found:#?}");
    let fine = issues(&map(json!([{"name": "r", "source": [{"context": "src", "element": "deceased", "type": "boolean", "variable": "d"}]}])));
    assert!(!mentions(&fine, "is not valid in the source context"), "{fine:#?}");
}

#[test]
fn sm_rule_source_min_redundant() {
    let mut g = main_group(json!([{"name": "r", "source": [{"context": "src", "element": "status", "variable": "s"}],
        "rule": [{"name": "inner", "source": [{"context": "s", "element": "id", "min": 0, "variable": "i"}]}]}]));
    g["input"][0]["type"] = json!("Observation");
    let found = issues(&map_with(json!([g]), json!({})));
    assert!(has(&found, Severity::Information, "invalid", "StructureMap.group[0].rule[0].rule[0].source[0]", "The min value of 0 is redundant since the valid min is 0"), "{found:#?}");
}

#[test]
fn sm_rule_source_max_redundant() {
    let found = issues(&map(json!([{"name": "r", "source": [{"context": "src", "element": "gender", "max": "5", "variable": "g"}]}])));
    assert!(has(&found, Severity::Warning, "invalid", "StructureMap.group[0].rule[0].source[0]", "The max value of 5 is redundant since the valid max is 5"), "{found:#?}");
    let fine = issues(&map(json!([{"name": "r", "source": [{"context": "src", "element": "name", "max": "5", "variable": "n"}]}])));
    assert!(!mentions(&fine, "is redundant"), "{fine:#?}");
}

#[test]
fn sm_list_rule_id_only_when_share() {
    let found = issues(&map(json!([rule("r", json!({"context": "src", "element": "name", "variable": "n"}),
        target(json!({"element": "name", "listMode": ["first"], "listRuleId": "names"})))])));
    assert!(has(&found, Severity::Warning, "invalid", "StructureMap.group[0].rule[0].target[0]", "A ruleId should only be provided when the rule mode is 'share'"), "{found:#?}");
    // The rule runs once per name: list modes are in place.
    assert!(!mentions(&found, "can only be executed once"), "{found:#?}");
}

#[test]
fn sm_no_list_mode_needed() {
    let found = issues(&map(json!([rule("r", json!({"context": "src", "element": "gender", "variable": "g"}), target(json!({"element": "gender", "listMode": ["first"]})))])));
    assert!(has(&found, Severity::Warning, "invalid", "StructureMap.group[0].rule[0].target[0]", "A list mode should not be provided since this is a rule that can only be executed once"), "{found:#?}");
}

#[test]
fn sm_no_list_rule_id_needed() {
    let found = issues(&map(json!([rule("r", json!({"context": "src", "element": "gender", "variable": "g"}),
        target(json!({"element": "gender", "listMode": ["share"], "listRuleId": "g"})))])));
    assert!(has(&found, Severity::Warning, "invalid", "StructureMap.group[0].rule[0].target[0]", "A list ruleId should not be provided since this is a rule that can only be executed once"), "{found:#?}");
}

#[test]
fn sm_target_context_unknown() {
    let found = issues(&map(json!([rule("r", json!({"context": "src", "element": "name", "variable": "n"}),
        json!({"context": "target", "contextType": "variable", "element": "name"}))])));
    assert!(has(&found, Severity::Error, "unknown", "StructureMap.group[0].rule[0].target[0]", "The target context 'target' is not known at this point"), "{found:#?}");
}

#[test]
fn a_choice_element_may_be_named_with_its_type() {
    let found = issues(&map(json!([rule("r", json!({"context": "src", "element": "deceasedBoolean", "variable": "d"}),
        target(json!({"element": "deceasedBoolean", "transform": "copy", "parameter": [{"valueId": "d"}], "variable": "e"})))])));
    assert!(!mentions(&found, "refers to the path"), "{found:#?}");
    assert!(!mentions(&found, "Multiple types are possible"), "{found:#?}");
}

#[test]
fn sm_target_path_invalid() {
    let found = issues(&map(json!([rule("r", json!({"context": "src", "element": "name", "variable": "n"}), target(json!({"element": "alias"})))])));
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[0].rule[0].target[0]", "The target path tgt.alias refers to the path Patient.alias which is unknown"), "{found:#?}");
}

#[test]
fn sm_target_no_transform_no_checked() {
    let found = issues(&map(json!([rule("r", json!({"context": "src", "element": "name", "variable": "n"}), target(json!({"element": "name", "parameter": [{"valueId": "n"}]})))])));
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[0].rule[0].target[0]", "When there is no transform, parameters can't be provided"), "{found:#?}");
}

#[test]
fn sm_target_transform_param_count_range() {
    let found = issues(&map(json!([rule("r", json!({"context": "src", "element": "name", "variable": "n"}),
        target(json!({"element": "name", "transform": "create", "parameter": [{"valueString": "HumanName"}, {"valueString": "extra"}]})))])));
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[0].rule[0].target[0]", "Transform create takes 0-1 parameter(s) but 2 were found"), "{found:#?}");
}

#[test]
fn sm_target_transform_param_count_single() {
    let found = issues(&map(json!([rule("r", json!({"context": "src", "element": "gender", "variable": "g"}), target(json!({"element": "gender", "transform": "evaluate"})))])));
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[0].rule[0].target[0]", "Transform evaluate takes 1 parameter(s) but 0 were found"), "{found:#?}");
}

#[test]
fn sm_target_transform_param_unprocessible() {
    let found = issues(&map(json!([rule("r", json!({"context": "src", "element": "gender", "variable": "g"}),
        target(json!({"element": "gender", "transform": "evaluate", "parameter": [{"id": "p"}]})))])));
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[0].rule[0].target[0]", "The parameter at index 0 could not be processed (type = 1)"), "{found:#?}");
}

#[test]
fn sm_target_transform_expression_error() {
    let found = issues(&map(json!([rule("r", json!({"context": "src", "element": "gender", "variable": "g"}),
        target(json!({"element": "gender", "transform": "evaluate", "parameter": [{"valueString": "g.where("}]})))])));
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[0].rule[0].target[0]", "The FHIRPath expression passed as the evaluate parameter is invalid: "), "{found:#?}");
    let fine = issues(&map(json!([rule("r", json!({"context": "src", "element": "gender", "variable": "g"}),
        target(json!({"element": "gender", "transform": "evaluate", "parameter": [{"valueString": "'male'"}]})))])));
    assert!(!mentions(&fine, "evaluate parameter is invalid"), "{fine:#?}");
}

#[test]
fn sm_target_transform_missing_params() {
    let found = issues(&map(json!([rule("r", json!({"context": "src", "element": "maritalStatus", "variable": "m"}),
        target(json!({"element": "maritalStatus", "transform": "cc", "parameter": [{"valueString": "http://example.org/cs"}]})))])));
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[0].rule[0].target[0]", "One or more parameters to the translate operation are missing (should be 3, was cc)"), "{found:#?}");
}

#[test]
fn sm_target_transform_translate_no_param() {
    let found = issues(&map(json!([rule("r", json!({"context": "src", "element": "gender", "variable": "g"}), target(json!({"element": "gender", "transform": "translate"})))])));
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[0].rule[0].target[0]", "No value for the source parameter found"), "{found:#?}");
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[0].rule[0].target[0]", "No value for the map_uri parameter found"), "{found:#?}");
}

#[test]
fn sm_target_transform_not_checked() {
    let found = issues(&map(json!([rule("r", json!({"context": "src", "element": "gender", "variable": "g"}),
        target(json!({"element": "gender", "transform": "truncate", "parameter": [{"valueId": "g"}, {"valueInteger": 3}]})))])));
    assert!(has(&found, Severity::Warning, "invalid", "StructureMap.group[0].rule[0].target[0]", "Transform truncate not checked yet"), "{found:#?}");
}

#[test]
fn sm_target_transform_type_unprocessible() {
    let found = issues(&map(json!([rule("r", json!({"context": "src", "element": "name", "variable": "n"}),
        target(json!({"element": "name", "transform": "create", "parameter": [{"id": "p"}]})))])));
    assert!(has(&found, Severity::Warning, "invalid", "StructureMap.group[0].rule[0].target[0]", "The value of the type parameter for create could not be processed"), "{found:#?}");
}

fn translate_map(source_element: &str, target_element: &str, parameters: Value) -> Value {
    map_with(json!([main_group(json!([rule("r", json!({"context": "src", "element": source_element, "variable": "v"}),
        target(json!({"element": target_element, "transform": "translate", "parameter": parameters})))]))]),
        json!({"contained": [{"resourceType": "ConceptMap", "id": "cm", "status": "draft"}]}))
}

#[test]
fn sm_target_transform_translate_unknown_source() {
    let found = issues(&translate_map("gender", "gender", json!([{"valueId": "w"}, {"valueString": "#cm"}, {"valueString": "code"}])));
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[0].rule[0].target[0]", "The source variable w is unknown"), "{found:#?}");
}

#[test]
fn sm_target_transform_translate_cm_not_found() {
    let found = issues(&translate_map("gender", "gender", json!([{"valueId": "v"}, {"valueString": "#other"}, {"valueString": "code"}])));
    assert!(has(&found, Severity::Error, "not-found", "StructureMap.group[0].rule[0].target[0]", "The map_uri '#other' could not be resolved, so the map can't be checked"), "{found:#?}");
    let elsewhere = issues(&translate_map("gender", "gender", json!([{"valueId": "v"}, {"valueString": "http://example.org/ConceptMap/x"}, {"valueString": "code"}])));
    assert!(has(&elsewhere, Severity::Warning, "not-found", "StructureMap.group[0].rule[0].target[0]", "The map_uri 'http://example.org/ConceptMap/x' could not be resolved"), "{elsewhere:#?}");
}

#[test]
fn sm_target_transform_translate_cm_bad_mode() {
    let found = issues(&translate_map("gender", "gender", json!([{"valueId": "v"}, {"valueString": "#cm"}, {"valueString": "coding"}])));
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[0].rule[0].target[0]", "The value 'coding' for the output parameter is incorrect"), "{found:#?}");
}

#[test]
fn sm_target_translate_binding_source() {
    let found = issues(&translate_map("maritalStatus", "gender", json!([{"valueId": "v"}, {"valueString": "#cm"}, {"valueString": "code"}])));
    assert!(has(&found, Severity::Warning, "invalid", "StructureMap.group[0].rule[0].target[0]",
        "The source variable does not have a required binding, so this concept map can't be checked"), "{found:#?}");
    assert!(!mentions(&found, "The target variable does not have a required binding"), "{found:#?}");
}

#[test]
fn sm_target_translate_binding_target() {
    let found = issues(&translate_map("gender", "maritalStatus", json!([{"valueId": "v"}, {"valueString": "#cm"}, {"valueString": "CodeableConcept"}])));
    assert!(has(&found, Severity::Warning, "invalid", "StructureMap.group[0].rule[0].target[0]",
        "The target variable does not have a required binding, so this concept map can't be checked"), "{found:#?}");
    assert!(!mentions(&found, "The source variable does not have a required binding"), "{found:#?}");
}

/// A logical model whose `code` has a required binding to a value set no package defines.
fn legacy_model() -> Value {
    json!({"resourceType": "StructureDefinition", "url": "http://example.org/StructureDefinition/Legacy", "name": "Legacy", "status": "draft",
        "kind": "logical", "abstract": false, "type": "http://example.org/StructureDefinition/Legacy",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Element", "derivation": "specialization",
        "snapshot": {"element": [
            {"id": "Legacy", "path": "Legacy", "min": 0, "max": "*"},
            {"id": "Legacy.code", "path": "Legacy.code", "min": 0, "max": "1", "type": [{"code": "code"}],
             "binding": {"strength": "required", "valueSet": "http://example.org/ValueSet/legacy-codes"}}
        ]}})
}

fn legacy_translate(to_legacy: bool) -> Value {
    let (src_ty, tgt_ty, src_el, tgt_el) = if to_legacy { ("Patient", "Legacy", "gender", "code") } else { ("Legacy", "Patient", "code", "gender") };
    let g = json!({"name": "main", "typeMode": "none",
        "input": [{"name": "src", "type": src_ty, "mode": "source"}, {"name": "tgt", "type": tgt_ty, "mode": "target"}],
        "rule": [rule("r", json!({"context": "src", "element": src_el, "variable": "v"}),
            target(json!({"element": tgt_el, "transform": "translate", "parameter": [{"valueId": "v"}, {"valueString": "#cm"}, {"valueString": "code"}]})))]});
    map_with(json!([g]), json!({"structure": [{"url": "http://example.org/StructureDefinition/Legacy", "mode": if to_legacy { "target" } else { "source" }, "alias": "Legacy"}],
        "contained": [{"resourceType": "ConceptMap", "id": "cm", "status": "draft"}]}))
}

#[test]
fn sm_target_translate_binding_vs_source() {
    let found = issues_with(&[legacy_model()], &legacy_translate(false));
    assert!(has(&found, Severity::Warning, "invalid", "StructureMap.group[0].rule[0].target[0]",
        "The source variable refers to an unknown value set 'http://example.org/ValueSet/legacy-codes', so this concept map can't be checked"), "{found:#?}");
}

#[test]
fn sm_target_translate_binding_vs_target() {
    let found = issues_with(&[legacy_model()], &legacy_translate(true));
    assert!(has(&found, Severity::Warning, "invalid", "StructureMap.group[0].rule[0].target[0]",
        "The target variable refers to an unknown value set 'http://example.org/ValueSet/legacy-codes', so this concept map can't be checked"), "{found:#?}");
    assert!(!mentions(&found, "The source variable refers to an unknown value set"), "{found:#?}");
}

#[test]
fn sm_target_type_multiple_possible() {
    let found = issues(&map(json!([rule("r", json!({"context": "src", "element": "deceased", "variable": "d"}),
        target(json!({"element": "deceased", "transform": "copy", "variable": "e"})))])));
    assert!(has(&found, Severity::Warning, "invalid", "StructureMap.group[0].rule[0].target[0]",
        "Multiple types are possible here (boolean, dateTime) so further type checking is not possible"), "{found:#?}");
}

#[test]
fn sm_target_transform_type_unknown() {
    let found = issues(&map(json!([rule("r", json!({"context": "src", "element": "id", "variable": "i"}),
        target(json!({"element": "contained", "transform": "create", "parameter": [{"valueString": "Patientt"}], "variable": "c"})))])));
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[0].rule[0].target[0]", "The type 'Patientt' is not known"), "{found:#?}");
}

#[test]
fn sm_target_type_unknown() {
    let found = issues(&map(json!([rule("r", json!({"context": "src", "element": "id", "variable": "i"}),
        json!({"transform": "create", "parameter": [{"valueString": "Compositio"}], "variable": "c"}))])));
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[0].rule[0].target[0]", "The type of the target variable is not known: Compositio"), "{found:#?}");
    let fine = issues(&map(json!([rule("r", json!({"context": "src", "element": "id", "variable": "i"}),
        json!({"transform": "create", "parameter": [{"valueString": "Composition"}], "variable": "c"}))])));
    assert!(!mentions(&fine, "is not known"), "{fine:#?}");
}

/// `main` calls `sub` (typed or not) from a rule over `src.name as n` and `tgt.name as t`.
fn calling(dependents: Value, sub: Value) -> Value {
    let r = json!({"name": "names", "source": [{"context": "src", "element": "name", "variable": "n"}],
        "target": [target(json!({"element": "name", "variable": "t"}))], "dependent": dependents});
    map_with(json!([main_group(json!([r])), sub]), json!({}))
}

fn sub_group(src_type: Option<&str>) -> Value {
    let mut input = json!([{"name": "s", "mode": "source"}, {"name": "d", "mode": "target"}]);
    if let Some(t) = src_type {
        input[0]["type"] = json!(t);
        input[1]["type"] = json!(t);
    }
    json!({"name": "sub", "typeMode": "none", "input": input,
        "rule": [{"name": "family", "source": [{"context": "s", "element": "family", "variable": "f"}]}]})
}

#[test]
fn sm_rulegroup_param_count_mismatch() {
    let found = issues(&calling(json!([{"name": "sub", "variable": ["n"]}]), sub_group(Some("HumanName"))));
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[0].rule[0].dependent[0]", "The group sub is invoked using 1 parameters, but it actually takes 2 instead"), "{found:#?}");
}

#[test]
fn sm_dependent_param_not_found() {
    let found = issues(&calling(json!([{"name": "sub", "variable": ["n", "x"]}]), sub_group(Some("HumanName"))));
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[0].rule[0].dependent[0].variable[1]",
        "The target parameter 'd' was not found. Known variables: src : Patient (source), tgt : Patient (target), n : HumanName (source), t : HumanName (target)"), "{found:#?}");
}

#[test]
fn sm_dependent_param_type_mismatch() {
    let found = issues(&calling(json!([{"name": "sub", "variable": ["n", "t"]}]), sub_group(Some("Address"))));
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[0].rule[0].dependent[0].variable[0]",
        "The parameter 's' refers to the variable 'n : HumanName (source)' but its type is 'Address' which is not compatible with the type required for the group 'sub', which is 'Address' (from map '$this')"), "{found:#?}");
    let fine = issues(&calling(json!([{"name": "sub", "variable": ["n", "t"]}]), sub_group(Some("HumanName"))));
    assert!(!mentions(&fine, "is not compatible"), "{fine:#?}");
}

#[test]
fn an_untyped_group_takes_the_types_passed_to_it() {
    let found = issues(&calling(json!([{"name": "sub", "variable": ["n", "t"]}]), sub_group(None)));
    assert!(!mentions(&found, "is not called successfully"), "{found:#?}");
    assert!(!mentions(&found, "has no type"), "{found:#?}");
    // `s` is a HumanName: its `family` is checked, and found.
    assert!(!mentions(&found, "refers to the path"), "{found:#?}");
    let mut sub = sub_group(None);
    sub["rule"][0]["source"][0]["element"] = json!("surname");
    let wrong = issues(&calling(json!([{"name": "sub", "variable": ["n", "t"]}]), sub));
    assert!(has(&wrong, Severity::Error, "invalid", "StructureMap.group[1].rule[0].source[0]", "The source path s.surname refers to the path Patient.name.surname which is unknown"), "{wrong:#?}");
}

#[test]
fn sm_dependent_param_type_mismatch_duplicate() {
    let r2 = json!({"name": "addresses", "source": [{"context": "src", "element": "address", "variable": "a"}],
        "target": [target(json!({"element": "address", "variable": "b"}))], "dependent": [{"name": "sub", "variable": ["a", "b"]}]});
    let mut m = calling(json!([{"name": "sub", "variable": ["n", "t"]}]), sub_group(None));
    m["group"][0]["rule"].as_array_mut().unwrap().push(r2);
    let found = issues(&m);
    assert!(has(&found, Severity::Warning, "invalid", "StructureMap.group[0].rule[1].dependent[0]",
        "The group sub has already been used with different parameters, so the type checking may be incorrect (other = [s : HumanName (source), d : HumanName (target)]; this = [s : Address (source), d : Address (target)])"), "{found:#?}");
}

#[test]
fn sm_dependent_param_mode_mismatch() {
    // An input whose mode is wrong is itself reported; passing it on is too.
    let mut m = calling(json!([{"name": "sub", "variable": ["n", "odd"]}]), sub_group(Some("HumanName")));
    m["group"][0]["input"].as_array_mut().unwrap().push(json!({"name": "odd", "type": "HumanName", "mode": "other"}));
    let found = issues(&m);
    assert!(has(&found, Severity::Error, "invalid", "StructureMap.group[0].rule[0].dependent[0].variable[1]",
        "The parameter null refers to the variable other but its mode is target which is not the same as the mode required for the group sub"), "{found:#?}");
}

fn default_call(source_element: &str, target_element: &str, extra_groups: Value) -> Value {
    let r = json!({"name": "names", "source": [{"context": "src", "element": source_element, "variable": "vvv"}],
        "target": [target(json!({"element": target_element, "variable": "vvv"}))],
        "dependent": [{"name": "DefaultMappingGroupAnonymousAlias", "variable": ["vvv", "vvv"]}]});
    let mut groups = vec![main_group(json!([r]))];
    groups.extend(extra_groups.as_array().unwrap().iter().cloned());
    map_with(Value::Array(groups), json!({}))
}

#[test]
fn sm_matching_rulegroup_not_found() {
    let found = issues(&default_call("name", "name", json!([])));
    assert!(has(&found, Severity::Error, "not-found", "StructureMap.group[0].rule[0].dependent[0]",
        "Unable to find a default rule for the type pair source=HumanName (http://hl7.org/fhir/StructureDefinition/Patient|4.0.1) and target=HumanName (http://hl7.org/fhir/StructureDefinition/Patient|4.0.1)"), "{found:#?}");
    let mut default = sub_group(Some("HumanName"));
    default["typeMode"] = json!("types");
    let fine = issues(&default_call("name", "name", json!([default])));
    assert!(!mentions(&fine, "Unable to find a default rule"), "{fine:#?}");
}

#[test]
fn sm_source_type_not_found() {
    let found = issues(&default_call("deceased", "name", json!([])));
    assert!(has(&found, Severity::Error, "not-found", "StructureMap.group[0].rule[0].dependent[0]",
        "No source type was found, so the default group for this implied dependent rule could not be determined"), "{found:#?}");
}

#[test]
fn sm_target_type_not_found() {
    let found = issues(&default_call("name", "deceased", json!([])));
    assert!(has(&found, Severity::Error, "not-found", "StructureMap.group[0].rule[0].dependent[0]",
        "No target type was found, so the default group for this implied dependent rule could not be determined"), "{found:#?}");
}

#[test]
fn a_large_flat_map_is_checked_in_linear_time() {
    let rules: Vec<Value> = (0..20_000).map(|i| rule(&format!("r{i}"), json!({"context": "src", "element": "name", "variable": format!("n{i}")}),
        target(json!({"element": "name", "variable": format!("t{i}")})))).collect();
    let start = std::time::Instant::now();
    let found = issues(&map(Value::Array(rules)));
    assert!(start.elapsed().as_secs() < 60, "{:?}", start.elapsed());
    assert!(!found.iter().any(|i| i.severity.is_error()), "{:#?}", &found[..found.len().min(5)]);
}

/// The legacy codes as a value set taking the whole of SNOMED CT, which cannot be listed offline.
fn open_legacy_codes() -> Value {
    json!({"resourceType": "ValueSet", "url": "http://example.org/ValueSet/legacy-codes", "name": "LegacyCodes", "status": "draft",
        "compose": {"include": [{"system": "http://snomed.info/sct"}]}})
}

#[test]
fn sm_target_translate_binding_vse_source() {
    let found = issues_with(&[legacy_model(), open_legacy_codes()], &legacy_translate(false));
    assert!(has(&found, Severity::Warning, "invalid", "StructureMap.group[0].rule[0].target[0]",
        "There was an error expanding the source value set, so this concept map can't be checked: 'the value set http://example.org/ValueSet/legacy-codes includes codes from http://snomed.info/sct that cannot be listed without a terminology server'"), "{found:#?}");
    assert!(!mentions(&found, "refers to an unknown value set"), "{found:#?}");
}

#[test]
fn sm_target_translate_binding_vse_target() {
    let found = issues_with(&[legacy_model(), open_legacy_codes()], &legacy_translate(true));
    assert!(has(&found, Severity::Warning, "invalid", "StructureMap.group[0].rule[0].target[0]",
        "There was an error expanding the target value set, so this concept map can't be checked: 'the value set http://example.org/ValueSet/legacy-codes includes codes from http://snomed.info/sct that cannot be listed without a terminology server'"), "{found:#?}");
    assert!(!mentions(&found, "error expanding the source value set"), "{found:#?}");
}

#[test]
fn sm_target_translate_binding_target_wrong() {
    // As the reference has it: with no required binding on the source, the map's target codes
    // that the target's (required) value set holds are listed.
    let cm = json!({"resourceType": "ConceptMap", "id": "cm", "status": "draft", "group": [{
        "source": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "target": "http://hl7.org/fhir/administrative-gender",
        "element": [{"code": "M", "target": [{"code": "male", "equivalence": "relatedto"}]},
                    {"code": "S", "target": [{"code": "nonsense", "equivalence": "relatedto"}]}]}]});
    let sm = map_with(json!([main_group(json!([rule("r", json!({"context": "src", "element": "maritalStatus", "variable": "v"}),
        target(json!({"element": "gender", "transform": "translate", "parameter": [{"valueId": "v"}, {"valueString": "#cm"}, {"valueString": "code"}]})))]))]),
        json!({"contained": [cm]}));
    let found = issues(&sm);
    assert!(has(&found, Severity::Warning, "invalid", "StructureMap.group[0].rule[0].target[0]",
        "The map produces one or more codes that the target value set does not include: male"), "{found:#?}");
}
