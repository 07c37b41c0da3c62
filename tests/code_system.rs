//! CodeSystem rules (`src/validator/rules/code_system.rs`), one test per
//! rule, each on a small CodeSystem made for it.

mod common;

use common::{has, issues_with};

use careplan::issue::{Issue, Severity};
use serde_json::{json, Value};

fn issues(resource: &Value) -> Vec<Issue> {
    issues_with(&[], resource)
}

fn mentions(issues: &[Issue], fragment: &str) -> bool {
    issues.iter().any(|i| i.message.contains(fragment))
}

/// A complete, well-formed code system with `overrides` on top.
fn code_system(overrides: Value) -> Value {
    let mut cs = json!({
        "resourceType": "CodeSystem", "url": "http://example.org/CodeSystem/colours", "version": "1", "name": "Colours",
        "status": "draft", "content": "complete", "caseSensitive": true,
        "concept": [{"code": "red", "display": "Red"}, {"code": "blue", "display": "Blue"}]
    });
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            cs.as_object_mut().unwrap().remove(k);
        } else {
            cs[k] = v.clone();
        }
    }
    cs
}

/// The code system supplements are made for.
fn base_system() -> Value {
    json!({
        "resourceType": "CodeSystem", "url": "http://example.org/CodeSystem/base", "name": "Base", "status": "draft",
        "content": "complete", "hierarchyMeaning": "is-a", "count": 2,
        "concept": [{"code": "a", "display": "Alpha"}, {"code": "b", "display": "Beta"}]
    })
}

fn supplement(overrides: Value) -> Value {
    let mut s = code_system(json!({"url": "http://example.org/CodeSystem/supp", "content": "supplement", "caseSensitive": null,
        "supplements": "http://example.org/CodeSystem/base", "concept": [{"code": "a", "designation": [{"use": {"code": "x"}, "value": "A"}]}]}));
    for (k, v) in overrides.as_object().unwrap() {
        s[k] = v.clone();
    }
    s
}

#[test]
fn a_well_formed_code_system_raises_none_of_these_rules() {
    let found = issues(&code_system(json!({})));
    assert!(!found.iter().any(|i| i.severity.is_error()), "{found:#?}");
    // dom-6 (narrative) is the one warning a code system without text gets.
    assert!(!found.iter().any(|i| i.severity == Severity::Warning && !i.message.contains("dom-6")), "{found:#?}");
}

#[test]
fn codesystem_duplicate_code_is_an_error_at_any_depth() {
    let found = issues(&code_system(json!({"hierarchyMeaning": "is-a",
        "concept": [{"code": "red", "display": "Red", "concept": [{"code": "red", "display": "Again"}]}]})));
    assert!(has(&found, Severity::Error, "CodeSystem.concept[0].concept[0]", "The code 'red' has already been defined"), "{found:#?}");
}

#[test]
fn codesystem_cs_count_no_content_allowed() {
    let found = issues(&code_system(json!({"content": "not-present"})));
    assert!(has(&found, Severity::Error, "CodeSystem.concept[0]", "The code system says it has no content present, but concepts are found"), "{found:#?}");
    let fine = issues(&code_system(json!({"content": "not-present", "concept": null})));
    assert!(!mentions(&fine, "no content present"), "{fine:#?}");
}

#[test]
fn codesystem_cs_count_complete_wrong() {
    let found = issues(&code_system(json!({"count": 3})));
    assert!(has(&found, Severity::Error, "CodeSystem.count", "the number of concepts (2) does not match the stated total number (3)"), "{found:#?}");
    assert!(!mentions(&issues(&code_system(json!({"count": 2}))), "stated total number"));
}

#[test]
fn codesystem_cs_count_fragment_wrong() {
    let found = issues(&code_system(json!({"content": "fragment", "count": 2})));
    assert!(has(&found, Severity::Warning, "CodeSystem.count", "is a fragment/example, but the number of concepts (2) exceeds or matches the stated total number (2)"), "{found:#?}");
    assert!(!mentions(&issues(&code_system(json!({"content": "fragment", "count": 20}))), "fragment/example"));
}

#[test]
fn codesystem_cs_complete_and_empty() {
    let found = issues(&code_system(json!({"concept": null})));
    assert!(has(&found, Severity::Warning, "CodeSystem", "it doesn't make sense for there to be no concepts defined"), "{found:#?}");
}

#[test]
fn codesystem_missing_elements_for_hl7_and_others() {
    let found = issues(&code_system(json!({"caseSensitive": null})));
    assert!(has(&found, Severity::Information, "CodeSystem", "CodeSystems SHOULD have a stated value for the caseSensitive element"), "{found:#?}");
    let hl7 = issues(&code_system(json!({"url": "http://hl7.org/fhir/test/CodeSystem/colours", "caseSensitive": null,
        "concept": [{"code": "red", "display": "Red", "definition": "Red.", "concept": [{"code": "pink", "display": "Pink", "definition": "Pink."}]}]})));
    assert!(has(&hl7, Severity::Warning, "CodeSystem", "HL7 Defined CodeSystems SHOULD have a stated value for the caseSensitive element"), "{hl7:#?}");
    assert!(has(&hl7, Severity::Warning, "CodeSystem", "HL7 Defined CodeSystems SHOULD have a stated value for the hierarchyMeaning element"), "{hl7:#?}");
    let no_content = issues(&code_system(json!({"url": "http://hl7.org/fhir/test/CodeSystem/c2", "content": null})));
    assert!(has(&no_content, Severity::Error, "CodeSystem", "HL7 Defined CodeSystems SHALL have a stated value for the content element"), "{no_content:#?}");
}

#[test]
fn codesystem_concept_no_display_and_no_definition_for_hl7_systems_once() {
    let found = issues(&code_system(json!({"url": "http://hl7.org/fhir/test/CodeSystem/c3"})));
    let displays = found.iter().filter(|i| i.message.contains("should ensure that every concept has a definition")).count();
    assert_eq!(displays, 1, "{found:#?}");
    assert!(has(&found, Severity::Warning, "CodeSystem.concept[0]", "should ensure that every concept has a definition"), "{found:#?}");
    assert!(!mentions(&issues(&code_system(json!({}))), "should ensure that every concept"));
}

#[test]
fn supplements_say_content_supplement_and_not_case_sensitivity() {
    let found = issues_with(&[base_system()], &supplement(json!({"content": "fragment", "caseSensitive": true})));
    assert!(has(&found, Severity::Error, "CodeSystem.content", "CodeSystem Supplements SHALL have a content value of 'supplement'"), "{found:#?}");
    assert!(has(&found, Severity::Error, "CodeSystem.caseSensitive", "SHOULD NOT have a stated value for the caseSensitive element when they are a supplement"), "{found:#?}");
}

#[test]
fn content_supplement_needs_supplements() {
    let mut s = supplement(json!({}));
    s.as_object_mut().unwrap().remove("supplements");
    let found = issues(&s);
    assert!(has(&found, Severity::Error, "CodeSystem.content", "SHALL have a supplements element that specifies which code system is being supplemented"), "{found:#?}");
    assert!(has(&found, Severity::Error, "CodeSystem", "it does not define what code system it supplements"), "{found:#?}");
}

#[test]
fn codesystem_cs_supp_invalid_code_and_cant_check() {
    let good = issues_with(&[base_system()], &supplement(json!({})));
    assert!(!good.iter().any(|i| i.severity.is_error()), "{good:#?}");
    let bad = issues_with(&[base_system()], &supplement(json!({"concept": [{"code": "a"}, {"code": "zz"}]})));
    assert!(has(&bad, Severity::Error, "CodeSystem.concept[1]", "The code 'zz' is not declared in the base CodeSystem http://example.org/CodeSystem/base"), "{bad:#?}");
    let unknown = issues(&supplement(json!({"supplements": "http://example.org/CodeSystem/nowhere"})));
    assert!(has(&unknown, Severity::Warning, "CodeSystem", "CodeSystem http://example.org/CodeSystem/nowhere cannot be found, so can't check if concepts are valid"), "{unknown:#?}");
    assert!(!unknown.iter().any(|i| i.severity.is_error()), "{unknown:#?}");
}

#[test]
fn codesystem_cs_supp_hierarchy_meaning() {
    let found = issues_with(&[base_system()], &supplement(json!({"hierarchyMeaning": "part-of"})));
    assert!(has(&found, Severity::Error, "CodeSystem", "hierarchyMeaning of 'part-of' that doesn't match that in the base code system 'is-a'"), "{found:#?}");
}

#[test]
fn codesystem_cs_count_supplement_wrong() {
    let found = issues_with(&[base_system()], &supplement(json!({"count": 1})));
    assert!(has(&found, Severity::Error, "CodeSystem.count", "the underlying code system that states a value of 2"), "{found:#?}");
}

#[test]
fn codesystem_supp_no_display() {
    let found = issues_with(&[base_system()], &supplement(json!({"concept": [{"code": "a", "display": "Aleph"}]})));
    assert!(has(&found, Severity::Information, "CodeSystem.concept[0]", "This display ('Aleph') differs from that defined by the base code system ('Alpha')"), "{found:#?}");
}

fn all_codes(include: Value, expansion: Option<Value>) -> Value {
    let mut vs = json!({"resourceType": "ValueSet", "url": "http://example.org/ValueSet/all-colours", "status": "draft", "compose": {"include": include}});
    if let Some(e) = expansion {
        vs["expansion"] = e;
    }
    vs
}

#[test]
fn the_all_codes_value_set_includes_the_system_whole() {
    let with = |vs: Value| issues_with(&[vs], &code_system(json!({"valueSet": "http://example.org/ValueSet/all-colours"})));
    let good = with(all_codes(json!([{"system": "http://example.org/CodeSystem/colours"}]), None));
    assert!(!good.iter().any(|i| i.severity.is_error()), "{good:#?}");

    let two = with(all_codes(json!([{"system": "http://example.org/CodeSystem/colours"}, {"system": "http://example.org/x"}]), None));
    assert!(has(&two, Severity::Error, "CodeSystem", "but the value set doesn't have a single include"), "{two:#?}");
    let wrong = with(all_codes(json!([{"system": "http://example.org/x"}]), None));
    assert!(has(&wrong, Severity::Error, "CodeSystem", "but the value set doesn't have a matching system (http://example.org/x)"), "{wrong:#?}");
    let details = with(all_codes(json!([{"system": "http://example.org/CodeSystem/colours", "concept": [{"code": "red"}]}]), None));
    assert!(has(&details, Severity::Error, "CodeSystem", "but the include has extra details"), "{details:#?}");
    let expansion = json!({"timestamp": "2024-01-01T00:00:00Z", "contains": [{"system": "http://example.org/CodeSystem/colours", "code": "red"}]});
    let short = with(all_codes(json!([{"system": "http://example.org/CodeSystem/colours"}]), Some(expansion)));
    assert!(has(&short, Severity::Error, "CodeSystem", "it is an expansion with the wrong number of concepts (found 2, expected 1)"), "{short:#?}");
}

#[test]
fn codesystem_cs_no_vs_notcomplete() {
    let found = issues(&code_system(json!({"content": "fragment", "valueSet": "http://example.org/ValueSet/nowhere"})));
    assert!(has(&found, Severity::Information, "CodeSystem", "incomplete CodeSystems generally should not have an all codes value set specified"), "{found:#?}");
}

#[test]
fn codesystem_cs_no_vs_supplement() {
    let found = issues_with(&[base_system()], &supplement(json!({"valueSet": "http://example.org/ValueSet/all-base"})));
    assert!(has(&found, Severity::Warning, "CodeSystem", "CodeSystems supplements should not have an all codes value set specified"), "{found:#?}");
}

fn with_properties(properties: Value, concepts: Value) -> Value {
    code_system(json!({"property": properties, "concept": concepts}))
}

#[test]
fn property_uris_are_absolute_and_given_once() {
    let found = issues(&with_properties(json!([{"code": "p", "uri": "not-a-uri", "type": "string"}]), json!([{"code": "red"}])));
    assert!(has(&found, Severity::Error, "CodeSystem.property[0]", "A property URI must be an absolute URI, but 'not-a-uri' is not"), "{found:#?}");
    let twice = issues(&with_properties(
        json!([{"code": "p", "uri": "http://example.org/p", "type": "string"}, {"code": "q", "uri": "http://example.org/p", "type": "string"}]),
        json!([{"code": "red"}]),
    ));
    assert!(has(&twice, Severity::Error, "CodeSystem.property[1]", "A property is already defined with the URI 'http://example.org/p'"), "{twice:#?}");
}

#[test]
fn codesystem_property_duplicate_code() {
    let found = issues(&with_properties(json!([{"code": "p", "type": "string"}, {"code": "p", "type": "string"}]), json!([{"code": "red"}])));
    assert!(has(&found, Severity::Error, "CodeSystem.property[1]", "A property is already defined with the code 'p'"), "{found:#?}");
}

#[test]
fn codesystem_property_bad_hl7_uri() {
    let found = issues(&with_properties(json!([{"code": "mine", "uri": "http://hl7.org/fhir/concept-properties#mine", "type": "string"}]), json!([{"code": "red"}])));
    assert!(has(&found, Severity::Error, "CodeSystem.property[0]", "Unknown CodeSystem Property 'http://hl7.org/fhir/concept-properties#mine'"), "{found:#?}");
}

#[test]
fn standard_property_uris_keep_their_codes_and_types() {
    let found = issues(&with_properties(json!([{"code": "inactive", "uri": "http://hl7.org/fhir/concept-properties#status", "type": "string"}]), json!([{"code": "red"}])));
    assert!(has(&found, Severity::Error, "CodeSystem.property[0]", "The URI 'http://hl7.org/fhir/concept-properties#status' is normally assigned the code 'status'. Using the code 'inactive'"), "{found:#?}");
    assert!(has(&found, Severity::Error, "CodeSystem.property[0]", "Wrong type 'string': The URI 'http://hl7.org/fhir/concept-properties#status' identifies a property that has the type 'code'"), "{found:#?}");
}

#[test]
fn property_codes_without_uris() {
    let known = issues(&with_properties(json!([{"code": "inactive", "type": "string"}]), json!([{"code": "red"}])));
    assert!(has(&known, Severity::Warning, "CodeSystem.property[0]", "This property has only the standard code ('inactive') but not the standard URI 'http://hl7.org/fhir/concept-properties#inactive'"), "{known:#?}");
    assert!(has(&known, Severity::Warning, "CodeSystem.property[0]", "Wrong type 'string': The code 'inactive' identifies a property that has the type 'boolean'"), "{known:#?}");
    let unknown = issues(&with_properties(json!([{"code": "shade", "type": "string"}]), json!([{"code": "red"}])));
    assert!(has(&unknown, Severity::Information, "CodeSystem.property[0]", "This property has only a code ('shade') and not a URI"), "{unknown:#?}");
}

#[test]
fn property_uris_that_cannot_be_followed() {
    let found = issues(&with_properties(json!([{"code": "shade", "uri": "http://example.org/props", "type": "code"}]), json!([{"code": "red"}])));
    assert!(has(&found, Severity::Warning, "CodeSystem.property[0]", "The property uri 'http://example.org/props' is not known, so the property values can not be validated fully; unless specified elsewhere"), "{found:#?}");
    let base = issues(&with_properties(json!([{"code": "shade", "uri": "http://example.org/props#shade", "type": "string"}]), json!([{"code": "red"}])));
    assert!(has(&base, Severity::Warning, "CodeSystem.property[0]", "The base property uri 'http://example.org/props' is not known for the property 'shade'"), "{base:#?}");
}

#[test]
fn codesystem_property_valueset_not_found() {
    let found = issues(&with_properties(
        json!([{"code": "shade", "uri": "http://example.org/props", "type": "code",
            "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/codesystem-property-valueset", "valueCanonical": "http://example.org/ValueSet/shades"}]}]),
        json!([{"code": "red"}]),
    ));
    assert!(has(&found, Severity::Warning, "CodeSystem.property[0]", "The ValueSet http://example.org/ValueSet/shades is unknown, so the property codes cannot be validated"), "{found:#?}");
}

#[test]
fn concept_property_values_against_their_definitions() {
    let props = json!([
        {"code": "parent", "uri": "http://hl7.org/fhir/concept-properties#parent", "type": "code"},
        {"code": "weight", "uri": "http://hl7.org/fhir/concept-properties#itemWeight", "type": "decimal"}
    ]);
    let found = issues(&with_properties(
        props,
        json!([
            {"code": "red", "property": [{"code": "parent", "valueCode": "purple"}]},
            {"code": "blue", "property": [{"code": "weight", "valueString": "heavy"}, {"code": "hue", "valueString": "cold"}]}
        ]),
    ));
    assert!(has(&found, Severity::Error, "CodeSystem.concept[0].property[0]", "The code 'purple' is not a valid code in this code system"), "{found:#?}");
    assert!(has(&found, Severity::Error, "CodeSystem.concept[1].property[0]", "The property 'weight' has the invalid type 'string', when it is defined to have the type 'decimal'"), "{found:#?}");
    assert!(has(&found, Severity::Warning, "CodeSystem.concept[1].property[1]", "The property 'hue' has no definition in CodeSystem.property"), "{found:#?}");
}

#[test]
fn codesystem_property_no_value_and_synonym_check() {
    let found = issues(&with_properties(
        json!([{"code": "synonym", "uri": "http://hl7.org/fhir/concept-properties#synonym", "type": "code"}]),
        json!([{"code": "red", "property": [{"code": "synonym", "valueCode": "scarlet"}]}, {"code": "blue", "property": [{"code": "synonym"}]}]),
    ));
    assert!(has(&found, Severity::Warning, "CodeSystem.concept[0].property[0]", "The synonym 'scarlet' is not also defined in the code system"), "{found:#?}");
    assert!(has(&found, Severity::Error, "CodeSystem.concept[1].property[0]", "The property 'synonym' has no value, and cannot be understood"), "{found:#?}");
}

#[test]
fn designations_without_use_repeat_the_display() {
    let found = issues(&code_system(json!({"concept": [{"code": "red", "display": "Red", "designation": [{"value": "Crimson"}, {"value": "Red"}]}]})));
    assert!(has(&found, Severity::Warning, "CodeSystem.concept[0].designation[0]", "The designation 'Crimson' has no use and no language, so is not differentiated from the base display ('Red')"), "{found:#?}");
    assert!(!has(&found, Severity::Warning, "CodeSystem.concept[0].designation[1]", "has no use"), "{found:#?}");
    let lang = issues(&code_system(json!({"language": "en", "concept": [{"code": "red", "display": "Red", "designation": [{"language": "en", "value": "Crimson"}, {"language": "fr", "value": "Rouge"}]}]})));
    assert!(has(&lang, Severity::Warning, "CodeSystem.concept[0].designation[0]", "has no use and is in the same language ('en')"), "{lang:#?}");
    assert!(!mentions(&lang, "'Rouge' has no use"), "{lang:#?}");
}

#[test]
fn codesystem_not_contained() {
    let patient = json!({"resourceType": "Patient", "contained": [code_system(json!({"id": "cs"}))],
        "maritalStatus": {"coding": [{"system": "http://example.org/CodeSystem/colours", "code": "red"}]},
        "extension": [{"url": "http://example.org/x", "valueReference": {"reference": "#cs"}}]});
    let found = issues(&patient);
    assert!(has(&found, Severity::Information, "Patient.contained[0]", "it's generally best for them not to be contained resources"), "{found:#?}");
}

#[test]
fn an_all_codes_value_set_of_another_version_is_not_compared() {
    let later = json!({"resourceType": "ValueSet", "url": "http://example.org/ValueSet/all-colours", "version": "2", "status": "draft",
        "compose": {"include": [{"system": "http://example.org/CodeSystem/colours"}, {"system": "http://example.org/x"}]}});
    let found = issues_with(&[later.clone()], &code_system(json!({"valueSet": "http://example.org/ValueSet/all-colours"})));
    assert!(!mentions(&found, "all system"), "{found:#?}");
    let same = issues_with(&[later], &code_system(json!({"version": "2", "valueSet": "http://example.org/ValueSet/all-colours"})));
    assert!(mentions(&same, "doesn't have a single include"), "{same:#?}");
}

/// The one issue whose message is exactly `message`.
fn exactly<'a>(found: &'a [Issue], message: &str) -> &'a Issue {
    let hits: Vec<&Issue> = found.iter().filter(|i| i.message == message).collect();
    assert_eq!(hits.len(), 1, "{message}\n{found:#?}");
    hits[0]
}

#[test]
fn a_not_present_system_with_concepts_and_a_zero_count_is_noted() {
    // CODESYSTEM_CS_COUNT_NOTPRESENT_ZERO
    let found = issues(&code_system(json!({"content": "not-present", "count": 0})));
    let i = exactly(&found, "The code system has no content, but the exceeds the stated total number is 0 concepts - check that this isn't a complete code system that has no concepts, or update/remove the stated count");
    assert_eq!((i.severity, i.code.as_str()), (Severity::Information, "invalid"));
    assert_eq!(i.expression, "CodeSystem.concept[0]");
}

#[test]
fn a_supplement_whose_all_codes_value_set_differs_from_the_bases_is_warned_about() {
    // CODESYSTEM_CS_NO_VS_SUPPLEMENT2
    let mut base = base_system();
    base["valueSet"] = json!("http://example.org/ValueSet/base-all");
    let found = issues_with(&[base], &supplement(json!({"valueSet": "http://example.org/ValueSet/other"})));
    let i = exactly(&found, "CodeSystems supplements should not have an all codes value set specified, and if they do, it must match the base code system, and this one does not ('http://example.org/ValueSet/base-all')");
    assert_eq!((i.severity, i.code.as_str()), (Severity::Warning, "business-rule"));
    assert_eq!(i.expression, "CodeSystem");
}

#[test]
fn a_supplement_display_other_than_the_bases_is_noted() {
    // CODESYSTEM_SUPP_NO_DISPLAY
    let found = issues_with(&[base_system()], &supplement(json!({"concept": [{"code": "a", "display": "Alef"}]})));
    let i = exactly(&found, "This display ('Alef') differs from that defined by the base code system ('Alpha'). Both displays claim to be the 'primary designation' for the same language ('undefined'), and the correct interpretation of this is undefined");
    assert_eq!((i.severity, i.code.as_str()), (Severity::Information, "business-rule"));
    assert_eq!(i.expression, "CodeSystem.concept[0]");
}
