//! The validator against the real R4 definitions: what it must find, and
//! what it must let through.

mod common;

use careplan::issue::{Issue, Severity};
use careplan::tree::Format;

fn errors(json: &str) -> Vec<Issue> {
    common::validator().validate_bytes(json.as_bytes(), Some(Format::Json)).into_iter().filter(|i| i.severity.is_error()).collect()
}

fn assert_error(json: &str, expression: &str, fragment: &str) {
    let errs = errors(json);
    assert!(
        errs.iter().any(|i| i.expression == expression && i.message.contains(fragment)),
        "expected an error at {expression} containing {fragment:?}, got {errs:#?}"
    );
}

#[test]
fn a_valid_care_plan_has_no_errors() {
    let errs = errors(
        r#"{"resourceType":"CarePlan","id":"cp1","status":"active","intent":"plan","subject":{"reference":"Patient/p1"},
            "activity":[{"detail":{"status":"in-progress","description":"Walk daily"}}]}"#,
    );
    assert!(errs.is_empty(), "{errs:#?}");
}

#[test]
fn missing_required_elements_are_reported_at_the_resource() {
    assert_error(r#"{"resourceType":"CarePlan","intent":"plan","subject":{"reference":"Patient/p1"}}"#, "CarePlan", "CarePlan.status: minimum required = 1");
}

#[test]
fn unknown_elements_are_reported_with_their_path() {
    assert_error(r#"{"resourceType":"Patient","name":[{"family":"X","nickname":"Y"}]}"#, "Patient.name[0]", "Unrecognized property 'nickname'");
}

#[test]
fn primitive_lexical_rules_apply() {
    assert_error(r#"{"resourceType":"Patient","birthDate":"1970-13-01"}"#, "Patient.birthDate", "1970-13-01");
    assert_error(r#"{"resourceType":"Patient","active":"true"}"#, "Patient.active", "the primitive value must be a boolean");
    assert_error(r#"{"resourceType":"Patient","id":"a_b"}"#, "Patient.id", "Invalid Resource id");
}

#[test]
fn json_arrays_must_match_cardinality() {
    assert_error(r#"{"resourceType":"Patient","name":{"family":"X"}}"#, "Patient.name", "The property name must be a JSON Array, not an Object (at Patient)");
    assert_error(r#"{"resourceType":"Patient","gender":["male"]}"#, "Patient.gender", "This property must be a simple value, not an Array (gender at Patient.gender)");
    assert_error(r#"{"resourceType":"Patient","maritalStatus":[{"text":"x"}]}"#, "Patient.maritalStatus", "The property maritalStatus must be an Object, not an Array (at Patient.maritalStatus)");
    assert_error(r#"{"resourceType":"Patient","maritalStatus":"married"}"#, "Patient.maritalStatus", "This property must be an object, not a Primitive property (maritalStatus at Patient.maritalStatus)");
}

#[test]
fn required_bindings_are_errors() {
    assert_error(r#"{"resourceType":"Patient","gender":"mail"}"#, "Patient.gender", "was not found in the value set 'AdministrativeGender'");
    let errs = errors(r#"{"resourceType":"CarePlan","status":"done","intent":"plan","subject":{"reference":"Patient/p1"}}"#);
    assert!(errs.iter().any(|i| i.expression == "CarePlan.status"), "{errs:#?}");
}

#[test]
fn codes_from_external_systems_are_not_errors() {
    let errs = errors(
        r#"{"resourceType":"Condition","subject":{"reference":"Patient/p1"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006"}]}}"#,
    );
    assert!(errs.is_empty(), "{errs:#?}");
}

#[test]
fn choice_types_and_their_paths() {
    assert_error(
        r#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":"1"}}"#,
        "Observation.value.ofType(Quantity).value",
        "the primitive value must be a number",
    );
    assert_error(r#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueBogus":1}"#, "Observation", "Unrecognized property 'valueBogus'");
}

#[test]
fn extensions_are_validated_against_their_definitions() {
    // birthPlace takes an Address, not a string.
    assert_error(
        r#"{"resourceType":"Patient","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthPlace","valueString":"Leeds"}]}"#,
        "Patient.extension[0]",
        "The Extension 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace' definition allows for the types [Address] but found type string",
    );
    assert_error(
        r#"{"resourceType":"Patient","extension":[{"url":"http://nowhere.invalid/ext","valueString":"x"}]}"#,
        "Patient.extension[0]",
        "could not be found",
    );
}

#[test]
fn references_resolve_inside_bundles_and_to_contained_resources() {
    assert_error(
        r##"{"resourceType":"CarePlan","status":"active","intent":"plan","subject":{"reference":"#p"}}"##,
        "CarePlan.subject",
        "Unable to resolve resource with reference '#p'",
    );
    let doc = r#"{"resourceType":"Bundle","type":"document","entry":[
        {"fullUrl":"urn:uuid:0b6a2a5e-0000-4000-8000-000000000001","resource":{"resourceType":"CarePlan","status":"active","intent":"plan",
          "subject":{"reference":"urn:uuid:0b6a2a5e-0000-4000-8000-000000000002"}}}]}"#;
    assert_error(doc, "Bundle.entry[0].resource.subject", "Can't find 'urn:uuid:0b6a2a5e-0000-4000-8000-000000000002' in the bundle");
    let ok = r#"{"resourceType":"Bundle","type":"transaction","entry":[
        {"fullUrl":"urn:uuid:0b6a2a5e-0000-4000-8000-000000000001","resource":{"resourceType":"CarePlan","status":"active","intent":"plan",
          "subject":{"reference":"urn:uuid:0b6a2a5e-0000-4000-8000-000000000002"}},"request":{"method":"POST","url":"CarePlan"}},
        {"fullUrl":"urn:uuid:0b6a2a5e-0000-4000-8000-000000000002","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}"#;
    assert!(errors(ok).is_empty(), "{:#?}", errors(ok));
    let wrong_type = r#"{"resourceType":"Bundle","type":"transaction","entry":[
        {"fullUrl":"urn:uuid:0b6a2a5e-0000-4000-8000-000000000001","resource":{"resourceType":"CarePlan","status":"active","intent":"plan",
          "subject":{"reference":"urn:uuid:0b6a2a5e-0000-4000-8000-000000000002"}},"request":{"method":"POST","url":"CarePlan"}},
        {"fullUrl":"urn:uuid:0b6a2a5e-0000-4000-8000-000000000002","resource":{"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"x"},"subject":{"reference":"Patient/1"}},"request":{"method":"POST","url":"Goal"}}]}"#;
    assert_error(wrong_type, "Bundle.entry[0].resource.subject", "Found Goal");
}

#[test]
fn xml_and_json_give_the_same_findings() {
    let xml = r#"<Patient xmlns="http://hl7.org/fhir"><id value="a_b"/><gender value="mail"/><birthDate value="1970-13-01"/></Patient>"#;
    let json = r#"{"resourceType":"Patient","id":"a_b","gender":"mail","birthDate":"1970-13-01"}"#;
    let v = common::validator();
    let mut from_xml: Vec<String> = v.validate_bytes(xml.as_bytes(), Some(Format::Xml)).into_iter().filter(|i| i.severity.is_error()).map(|i| i.expression).collect();
    let mut from_json: Vec<String> = errors(json).into_iter().map(|i| i.expression).collect();
    from_xml.sort();
    from_json.sort();
    assert_eq!(from_xml, from_json);
    assert_eq!(from_json.len(), 4, "{from_json:?}");
}

#[test]
fn malformed_input_is_one_fatal_issue_with_a_position() {
    let issues = common::validator().validate_bytes(b"{\"resourceType\": \"Patient\",\n \"active\": :true }", None);
    assert_eq!(issues.len(), 1, "{issues:#?}");
    assert_eq!(issues[0].severity, Severity::Fatal);
    assert_eq!(issues[0].pos.unwrap().line, 2);
}

#[test]
fn profiles_named_in_meta_are_applied_and_unknown_ones_warned() {
    let issues = common::validator().validate_bytes(
        br#"{"resourceType":"Observation","meta":{"profile":["http://hl7.org/fhir/StructureDefinition/vitalsigns"]},"status":"final","code":{"text":"x"}}"#,
        None,
    );
    assert!(issues.iter().any(|i| i.severity.is_error() && i.source.as_deref().is_some_and(|s| s.contains("vitalsigns"))), "{issues:#?}");
    let issues = common::validator().validate_bytes(br#"{"resourceType":"Patient","meta":{"profile":["http://nowhere.invalid/p"]}}"#, None);
    assert!(issues.iter().any(|i| i.severity == Severity::Warning && i.message.contains("http://nowhere.invalid/p")), "{issues:#?}");
}

#[test]
fn extensions_are_only_allowed_where_their_context_says() {
    let on_family = r#"{"resourceType":"Patient","name":[{"family":"van Beethoven","_family":{"extension":[
        {"url":"http://hl7.org/fhir/StructureDefinition/humanname-own-name","valueString":"Beethoven"}]}}]}"#;
    assert!(errors(on_family).is_empty(), "{:#?}", errors(on_family));
    let on_patient = r#"{"resourceType":"Patient","extension":[
        {"url":"http://hl7.org/fhir/StructureDefinition/humanname-own-name","valueString":"Beethoven"}]}"#;
    // Reported at the element the extension sits on, as the reference validator does.
    assert_error(on_patient, "Patient", "The extension http://hl7.org/fhir/StructureDefinition/humanname-own-name|5.3.0-ballot-tc1 is not allowed to be used at this point (this element is [Patient, Patient]; allowed for this version = e:HumanName.family)");
}

const VITAL: &str = r#"{"resourceType":"Observation","meta":{"profile":["http://hl7.org/fhir/StructureDefinition/heartrate"]},"status":"final",
 "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"CATEGORY"}]}],
 "code":{"coding":[{"system":"http://loinc.org","code":"CODE"}]},"subject":{"reference":"Patient/1"},"effectiveDateTime":"2020-01-01",
 "valueQuantity":{"value":60,"unit":"beats/minute","system":"http://unitsofmeasure.org","code":"/min"}}"#;

#[test]
fn slices_are_matched_by_their_discriminators() {
    let good = VITAL.replace("CATEGORY", "vital-signs").replace("CODE", "8867-4");
    assert!(errors(&good).is_empty(), "{:#?}", errors(&good));
    // No repetition of category matches the required VSCat slice (pattern discriminator).
    let no_slice = VITAL.replace("CATEGORY", "laboratory").replace("CODE", "8867-4");
    assert_error(&no_slice, "Observation", "Slice 'Observation.category:VSCat': a matching slice is required");
}

#[test]
fn patterns_and_fixed_values_from_profiles_apply() {
    // heartrate fixes the LOINC code through a pattern on code.coding.
    let wrong_code = VITAL.replace("CATEGORY", "vital-signs").replace("CODE", "1234-5");
    let errs = errors(&wrong_code);
    assert!(errs.iter().any(|i| i.expression.starts_with("Observation.code") && i.source.as_deref().is_some_and(|s| s.contains("heartrate"))), "{errs:#?}");
    // A versioned extension url breaks the fixed Extension.url of the extension's definition.
    let versioned = r#"{"resourceType":"Patient","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-congregation|4.0.0","valueString":"x"}]}"#;
    assert_error(versioned, "Patient.extension[0].url", "but is fixed to 'http://hl7.org/fhir/StructureDefinition/patient-congregation'");
}


#[test]
fn differential_profiles_apply_lengths_values_and_unit_bindings() {
    let profile = serde_json::json!({
        "resourceType": "StructureDefinition", "url": "http://example.org/sd/weight", "name": "Weight", "status": "draft",
        "kind": "resource", "abstract": false, "type": "Observation", "derivation": "constraint",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Observation",
        "differential": {"element": [
            {"id": "Observation.id", "path": "Observation.id",
             "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/minLength", "valueInteger": 5}]},
            {"id": "Observation.value[x]", "path": "Observation.value[x]", "type": [{"code": "Quantity"}],
             "binding": {"strength": "required", "valueSet": "http://example.org/vs/weight-units"},
             "maxValueQuantity": {"value": 500, "system": "http://unitsofmeasure.org", "code": "kg"}}
        ]}
    });
    let units = serde_json::json!({"resourceType": "ValueSet", "url": "http://example.org/vs/weight-units", "name": "WeightUnits", "status": "draft",
        "compose": {"include": [{"system": "http://unitsofmeasure.org", "concept": [{"code": "kg"}, {"code": "g"}]}]}});
    let v = common::validator_with(&[profile, units]);
    let obs = |id: &str, value: f64, unit: &str| {
        format!(r#"{{"resourceType":"Observation","id":"{id}","meta":{{"profile":["http://example.org/sd/weight"]}},"status":"final","code":{{"text":"weight"}},
            "valueQuantity":{{"value":{value},"system":"http://unitsofmeasure.org","code":"{unit}"}}}}"#)
    };
    let errs = |json: String| -> Vec<Issue> { v.validate_bytes(json.as_bytes(), None).into_iter().filter(|i| i.severity.is_error()).collect() };
    assert!(errs(obs("obs-1", 70.0, "kg")).is_empty(), "{:#?}", errs(obs("obs-1", 70.0, "kg")));
    assert!(errs(obs("o1", 70.0, "kg")).iter().any(|i| i.message.contains("shorter than permitted minimum length of 5")));
    assert!(errs(obs("obs-1", 700.0, "kg")).iter().any(|i| i.message.contains("greater than the specified maximum value")));
    assert!(errs(obs("obs-1", 70.0, "[lb_av]")).iter().any(|i| i.message.contains("was not found in the value set 'WeightUnits'")));
}

#[test]
fn discriminators_reach_values_fixed_in_nested_slices() {
    // R4's blood pressure profile slices components by code.coding.code,
    // whose values are fixed inside the nested code.coding slices.
    let bp = std::fs::read_to_string(common::examples_dir().join("Observation-blood-pressure.json")).unwrap();
    assert!(errors(&bp).is_empty(), "{:#?}", errors(&bp));
    let mut v: serde_json::Value = serde_json::from_str(&bp).unwrap();
    v["component"].as_array_mut().unwrap().retain(|c| c["code"]["coding"][0]["code"] != "8462-4");
    assert_error(&v.to_string(), "Observation", "Slice 'Observation.component:DiastolicBP': a matching slice is required");
}

#[test]
fn type_discriminators_follow_references() {
    let profile = serde_json::json!({
        "resourceType": "StructureDefinition", "url": "http://example.org/sd/patient-list", "name": "PatientList", "status": "draft",
        "kind": "resource", "abstract": false, "type": "List", "derivation": "constraint",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/List",
        "differential": {"element": [
            {"id": "List.entry", "path": "List.entry", "slicing": {"discriminator": [{"type": "type", "path": "item.resolve()"}], "rules": "closed"}},
            {"id": "List.entry:patient", "path": "List.entry", "sliceName": "patient", "min": 1, "max": "*"},
            {"id": "List.entry:patient.item", "path": "List.entry.item", "type": [{"code": "Reference", "targetProfile": ["http://hl7.org/fhir/StructureDefinition/Patient"]}]}
        ]}
    });
    let v = common::validator_with(&[profile]);
    let list = |target: &str| {
        format!(
            r##"{{"resourceType":"List","meta":{{"profile":["http://example.org/sd/patient-list"]}},"status":"current","mode":"working",
            "contained":[{{"resourceType":"{target}","id":"t"}}],"entry":[{{"item":{{"reference":"#t"}}}}]}}"##
        )
    };
    let errs = |json: String| -> Vec<Issue> { v.validate_bytes(json.as_bytes(), None).into_iter().filter(|i| i.severity.is_error()).collect() };
    assert!(errs(list("Patient")).is_empty(), "{:#?}", errs(list("Patient")));
    let wrong = errs(list("Organization"));
    assert!(wrong.iter().any(|i| i.message.contains("slicing is CLOSED")), "{wrong:#?}");
    assert!(wrong.iter().any(|i| i.message.contains("Slice 'List.entry:patient'")), "{wrong:#?}");
}

#[test]
fn modifier_extensions_belong_in_modifier_extension() {
    let as_modifier = r#"{"resourceType":"Task","status":"requested","intent":"order",
        "modifierExtension":[{"url":"http://hl7.org/fhir/StructureDefinition/request-doNotPerform","valueBoolean":true}]}"#;
    assert!(errors(as_modifier).is_empty(), "{:#?}", errors(as_modifier));
    let as_plain = as_modifier.replace("modifierExtension", "extension");
    assert_error(&as_plain, "Task.extension[0]", "The Extension 'http://hl7.org/fhir/StructureDefinition/request-doNotPerform' must not be used as an extension (it's a modifierExtension)");
    let plain_as_modifier = r#"{"resourceType":"Patient","modifierExtension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime","valueDateTime":"2020-01-01T10:00:00Z"}]}"#;
    assert_error(plain_as_modifier, "Patient.modifierExtension[0]", "The Extension 'http://hl7.org/fhir/StructureDefinition/patient-birthTime' must not be used as a modifierExtension (it's a regular extension)");
}

#[test]
fn invariants_are_evaluated_with_their_key_and_text() {
    // cpl-3: an activity has a reference or a detail, not both.
    let both = r#"{"resourceType":"CarePlan","status":"active","intent":"plan","subject":{"reference":"Patient/p1"},
        "activity":[{"reference":{"reference":"ServiceRequest/s1"},"detail":{"status":"in-progress"}}]}"#;
    let errs = errors(both);
    let cpl3 = errs.iter().find(|i| i.rule.as_deref() == Some("cpl-3")).unwrap_or_else(|| panic!("{errs:#?}"));
    assert_eq!(cpl3.expression, "CarePlan.activity[0]");
    assert!(cpl3.message.starts_with("Constraint failed: cpl-3: "), "{}", cpl3.message);
    // ele-1: an element with neither value nor children.
    assert_error(r#"{"resourceType":"Patient","name":[{}]}"#, "Patient.name[0]", "ele-1");
}

#[test]
fn profile_invariants_can_ask_for_value_set_membership() {
    let profile = serde_json::json!({
        "resourceType": "StructureDefinition", "url": "http://example.org/sd/coded-basic", "name": "CodedBasic", "status": "draft",
        "kind": "resource", "abstract": false, "type": "Basic", "derivation": "constraint",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Basic",
        "differential": {"element": [
            {"id": "Basic.code", "path": "Basic.code", "constraint": [{"key": "cb-1", "severity": "error", "human": "must be a gender",
             "expression": "memberOf('http://hl7.org/fhir/ValueSet/administrative-gender')", "source": "http://example.org/sd/coded-basic"}]}
        ]}
    });
    let v = common::validator_with(&[profile]);
    let basic = |code: &str| {
        format!(r#"{{"resourceType":"Basic","meta":{{"profile":["http://example.org/sd/coded-basic"]}},
            "code":{{"coding":[{{"system":"http://hl7.org/fhir/administrative-gender","code":"{code}"}}]}}}}"#)
    };
    let errs = |json: String| -> Vec<Issue> { v.validate_bytes(json.as_bytes(), None).into_iter().filter(|i| i.severity.is_error()).collect() };
    assert!(errs(basic("female")).is_empty(), "{:#?}", errs(basic("female")));
    assert!(errs(basic("robot")).iter().any(|i| i.rule.as_deref() == Some("cb-1")), "{:#?}", errs(basic("robot")));
}

#[test]
fn every_document_entry_is_reachable_from_the_composition() {
    let doc = |subject: &str| {
        format!(
            r#"{{"resourceType":"Bundle","type":"document","identifier":{{"system":"urn:ietf:rfc:3986","value":"urn:uuid:0b6a2a5e-0000-4000-8000-0000000000aa"}},"timestamp":"2024-01-01T00:00:00Z","entry":[
            {{"fullUrl":"urn:uuid:0b6a2a5e-0000-4000-8000-000000000001","resource":{{"resourceType":"Composition","status":"final","type":{{"text":"plan"}},
              "subject":{{"reference":"{subject}"}},"date":"2024-01-01","author":[{{"display":"Dr A"}}],"title":"Care plan"}}}},
            {{"fullUrl":"urn:uuid:0b6a2a5e-0000-4000-8000-000000000002","resource":{{"resourceType":"Patient"}}}}]}}"#
        )
    };
    let linked = doc("urn:uuid:0b6a2a5e-0000-4000-8000-000000000002");
    assert!(errors(&linked).is_empty(), "{:#?}", errors(&linked));
    let orphan = doc("Patient/elsewhere");
    assert_error(&orphan, "Bundle.entry[1]", "isn't reachable by traversing links");
}

#[test]
fn type_discriminators_on_this_resolve_look_at_the_reference() {
    let profile = serde_json::json!({
        "resourceType": "StructureDefinition", "url": "http://example.org/sd/appt", "name": "Appt", "status": "draft",
        "kind": "resource", "abstract": false, "type": "Appointment", "derivation": "constraint",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Appointment",
        "differential": {"element": [
            {"id": "Appointment.supportingInformation", "path": "Appointment.supportingInformation",
             "slicing": {"discriminator": [{"type": "type", "path": "$this.resolve()"}], "rules": "closed"}},
            {"id": "Appointment.supportingInformation:device", "path": "Appointment.supportingInformation", "sliceName": "device",
             "min": 0, "max": "1", "type": [{"code": "Reference", "targetProfile": ["http://hl7.org/fhir/StructureDefinition/Device"]}]}
        ]}
    });
    let v = common::validator_with(&[profile]);
    let appt = |ty: &str| {
        format!(
            r##"{{"resourceType":"Appointment","id":"a1","meta":{{"profile":["http://example.org/sd/appt"]}},
            "contained":[{{"resourceType":"{ty}","id":"t"}}],
            "status":"proposed","supportingInformation":[{{"reference":"#t"}}],
            "participant":[{{"actor":{{"display":"Fred"}},"status":"accepted"}}]}}"##
        )
    };
    let errs = |json: String| -> Vec<Issue> { v.validate_bytes(json.as_bytes(), None).into_iter().filter(|i| i.severity.is_error()).collect() };
    assert!(errs(appt("Device")).is_empty(), "{:#?}", errs(appt("Device")));
    assert!(errs(appt("Location")).iter().any(|i| i.message.contains("does not match any known slice")), "{:#?}", errs(appt("Location")));
}

#[test]
fn discriminators_can_look_inside_extensions() {
    let ext = serde_json::json!({
        "resourceType": "StructureDefinition", "url": "http://example.org/fhir/StructureDefinition/kind", "name": "Kind", "status": "draft",
        "kind": "complex-type", "abstract": false, "type": "Extension", "derivation": "constraint",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension",
        "context": [{"type": "element", "expression": "Identifier"}],
        "differential": {"element": [
            {"id": "Extension.url", "path": "Extension.url", "fixedUri": "http://example.org/fhir/StructureDefinition/kind"},
            {"id": "Extension.value[x]", "path": "Extension.value[x]", "type": [{"code": "code"}]}
        ]}
    });
    let profile = serde_json::json!({
        "resourceType": "StructureDefinition", "url": "http://example.org/fhir/StructureDefinition/kinded-patient", "name": "KindedPatient",
        "status": "draft", "kind": "resource", "abstract": false, "type": "Patient", "derivation": "constraint",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient",
        "differential": {"element": [
            {"id": "Patient.identifier", "path": "Patient.identifier",
             "slicing": {"discriminator": [{"type": "value", "path": "extension('http://example.org/fhir/StructureDefinition/kind').value"}], "rules": "open"}},
            {"id": "Patient.identifier:nhs", "path": "Patient.identifier", "sliceName": "nhs", "min": 1, "max": "1"},
            {"id": "Patient.identifier:nhs.extension:kind", "path": "Patient.identifier.extension", "sliceName": "kind", "min": 1, "max": "1",
             "type": [{"code": "Extension", "profile": ["http://example.org/fhir/StructureDefinition/kind"]}]},
            {"id": "Patient.identifier:nhs.extension:kind.value[x]", "path": "Patient.identifier.extension.value[x]", "fixedCode": "nhs"},
            {"id": "Patient.identifier:nhs.system", "path": "Patient.identifier.system", "min": 1}
        ]}
    });
    let v = common::validator_with(&[ext, profile]);
    let patient = |kind: &str| {
        format!(
            r#"{{"resourceType":"Patient","meta":{{"profile":["http://example.org/fhir/StructureDefinition/kinded-patient"]}},
            "identifier":[{{"extension":[{{"url":"http://example.org/fhir/StructureDefinition/kind","valueCode":"{kind}"}}],"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9000000009"}}]}}"#
        )
    };
    let errs = |json: String| -> Vec<Issue> { v.validate_bytes(json.as_bytes(), None).into_iter().filter(|i| i.severity.is_error()).collect() };
    assert!(errs(patient("nhs")).is_empty(), "{:#?}", errs(patient("nhs")));
    assert!(errs(patient("local")).iter().any(|i| i.message.contains("Slice 'Patient.identifier:nhs'")), "{:#?}", errs(patient("local")));
}

#[test]
fn dates_can_be_limited_relative_to_today() {
    let profile = serde_json::json!({
        "resourceType": "StructureDefinition", "url": "http://example.org/sd/recent-birth", "name": "RecentBirth", "status": "draft",
        "kind": "resource", "abstract": false, "type": "Patient", "derivation": "constraint",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient",
        "differential": {"element": [{"id": "Patient.birthDate", "path": "Patient.birthDate",
            "minValueDuration": {"value": 120, "unit": "a", "system": "http://unitsofmeasure.org", "code": "a"},
            "maxValueDuration": {"value": 0, "unit": "d", "system": "http://unitsofmeasure.org", "code": "d"}}]}
    });
    let v = common::validator_with(&[profile]);
    let errs = |birth: &str| -> Vec<Issue> {
        let p = format!(r#"{{"resourceType":"Patient","meta":{{"profile":["http://example.org/sd/recent-birth"]}},"birthDate":"{birth}"}}"#);
        v.validate_bytes(p.as_bytes(), None).into_iter().filter(|i| i.severity.is_error()).collect()
    };
    assert!(errs("1980-05-01").is_empty(), "{:#?}", errs("1980-05-01"));
    assert!(errs("1850-05-01").iter().any(|i| i.message.contains("is not legal: minValue is 120a before now")));
    assert!(errs("2999-05-01").iter().any(|i| i.message.contains("is not legal: maxValue is 0d after now")));
}

#[test]
fn a_profile_that_narrows_a_choice_refuses_the_types_it_left_out() {
    // effectivePeriod is valid R4, so only the profile walk can report it.
    let profile = serde_json::json!({
        "resourceType": "StructureDefinition", "url": "http://example.org/sd/dated", "name": "Dated", "status": "draft",
        "kind": "resource", "abstract": false, "type": "Observation", "derivation": "constraint",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Observation",
        "differential": {"element": [{"id": "Observation.effective[x]", "path": "Observation.effective[x]", "type": [{"code": "dateTime"}]}]}
    });
    let v = common::validator_with(&[profile]);
    let obs = |effective: &str| format!(r#"{{"resourceType":"Observation","meta":{{"profile":["http://example.org/sd/dated"]}},"status":"final","code":{{"text":"x"}},{effective}}}"#);
    let errs = |json: String| -> Vec<Issue> { v.validate_bytes(json.as_bytes(), None).into_iter().filter(|i| i.severity.is_error()).collect() };
    assert!(errs(obs(r#""effectiveDateTime":"2026-04-01""#)).is_empty());
    let found = errs(obs(r#""effectivePeriod":{"start":"2026-04-01"}"#));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].expression, "Observation.effective.ofType(Period)");
    assert!(found[0].message == "The Profile 'http://example.org/sd/dated' definition allows for the type dateTime but found type Period", "{}", found[0].message);
    let found = errs(obs(r#""effectiveInstant":"2026-04-01T10:00:00Z""#));
    assert_eq!(found.first().map(|i| i.expression.as_str()), Some("Observation.effective.ofType(instant)"), "{found:#?}");
}

#[test]
fn extension_urls_are_absolute_except_inside_an_extension() {
    assert_error(
        r#"{"resourceType":"Patient","extension":[{"url":"something","valueString":"x"}]}"#,
        "Patient.extension[0]",
        "Extension.url must be an absolute URL",
    );
    // A sub-extension of a complex extension is named relative to it.
    let nested = r#"{"resourceType":"Patient","extension":[{"url":"http://example.org/fhir/StructureDefinition/complex",
        "extension":[{"url":"part","valueString":"x"}]}]}"#;
    assert!(errors(nested).is_empty(), "{:#?}", errors(nested));
}

/// REFERENCE_REF_BADTARGETTYPE2: the type a RESTful URL names is taken as the
/// target's only when told to (as the HL7 validator's -assumeValidRestReferences;
/// the server always is); otherwise an unresolved target's type is unknown.
#[test]
fn an_unresolved_reference_whose_url_names_a_type_not_allowed_is_an_error_when_rest_references_are_assumed_valid() {
    // Observation.hasMember allows Observation, QuestionnaireResponse and MolecularSequence.
    let observation = r#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"hasMember":[{"reference":"Patient/p1"}]}"#;
    assert!(errors(observation).is_empty(), "{:#?}", errors(observation));
    let options = careplan::validator::Options { assume_valid_rest_references: true, ..Default::default() };
    let assuming = careplan::validator::Validator::new(common::validator().context().clone(), options);
    let errs: Vec<Issue> = assuming.validate_bytes(observation.as_bytes(), Some(Format::Json)).into_iter().filter(|i| i.severity.is_error()).collect();
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert_eq!(errs[0].expression, "Observation.hasMember[0]");
    assert!(errs[0].message.contains("The type 'Patient' implied by the reference URL Patient/p1 is not a valid Target for this element (must be one of [Observation, QuestionnaireResponse, MolecularSequence])"), "{errs:#?}");
}

/// A unit bound by a required binding is looked for in the system its
/// Quantity states (UNABLE_TO_INFER_CODESYSTEM is for a bare code only).
#[test]
fn a_quantity_unit_is_checked_in_the_system_its_quantity_states() {
    let weight = |system: &str, code: &str| {
        format!(
            r#"{{"resourceType":"Observation","meta":{{"profile":["http://hl7.org/fhir/StructureDefinition/bodyweight"]}},"status":"final",
            "category":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}}]}}],
            "code":{{"coding":[{{"system":"http://loinc.org","code":"29463-7"}}]}},"subject":{{"reference":"Patient/p"}},"effectiveDateTime":"2020-01-01",
            "valueQuantity":{{"value":11,"unit":"stone","system":"{system}","code":"{code}"}}}}"#
        )
    };
    assert!(errors(&weight("http://unitsofmeasure.org", "kg")).is_empty());
    let errs = errors(&weight("http://unitsofmeasure.org", "[stone_av]"));
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert_eq!(errs[0].expression, "Observation.value.ofType(Quantity).code");
    assert!(errs[0].message.contains("The value provided ('[stone_av]') was not found in the value set 'Body Weight Units'"), "{errs:#?}");
    // A bare code still has its system guessed from the value set, and says so when it cannot.
    let errs = errors(r#"{"resourceType":"Patient","gender":"mail"}"#);
    assert!(errs.iter().any(|i| i.message.contains("The System URI could not be determined for the code 'mail'")), "{errs:#?}");
}

/// A primitive with only an id: ele-1 fails (an id is not content), but it
/// has a child, so TYPE_SPECIFIC_CHECKS_DT_PRIMITIVE_VALUEEXT does not fire.
#[test]
fn a_primitive_with_only_an_id_fails_ele_1_alone() {
    let errs = errors(r#"{"resourceType":"Patient","active":true,"_implicitRules":{"id":"i1"}}"#);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(errs[0].message.starts_with("Constraint failed: ele-1"), "{errs:#?}");
    assert_eq!(errs[0].expression, "Patient.implicitRules");
}

/// `#id` inside a contained Questionnaire names a resource of its container:
/// a ValueSet contained beside it in the QuestionnaireResponse is found.
#[test]
fn a_contained_questionnaire_finds_a_value_set_contained_beside_it() {
    let response = |code: &str| {
        format!(
            r##"{{"resourceType":"QuestionnaireResponse","status":"completed","questionnaire":"#phq",
            "contained":[
              {{"resourceType":"Questionnaire","id":"phq","status":"active","item":[{{"linkId":"1","text":"Interest","type":"choice","answerValueSet":"#VSPHQ9"}}]}},
              {{"resourceType":"ValueSet","id":"VSPHQ9","status":"active","compose":{{"include":[{{"system":"http://loinc.org","concept":[{{"code":"LA6568-5"}},{{"code":"LA6569-3"}}]}}]}}}}],
            "item":[{{"linkId":"1","answer":[{{"valueCoding":{{"system":"http://loinc.org","code":"{code}"}}}}]}}]}}"##
        )
    };
    let errs = errors(&response("LA6568-5"));
    assert!(errs.is_empty(), "{errs:#?}");
    let errs = errors(&response("LA9999-9"));
    assert!(!errs.iter().any(|i| i.message.contains("not found")), "{errs:#?}");
    assert!(errs.iter().any(|i| i.message.contains("LA9999-9")), "{errs:#?}");
}

/// A relative reference in a Bundle resolves against the base of its entry's
/// fullUrl only when that fullUrl ends with the entry's own type and id; in a
/// document, one that resolves to nothing is an error that says why
/// (BUNDLE_BUNDLE_ENTRY_NOTFOUND_CANNOT).
#[test]
fn a_relative_reference_resolves_against_a_full_url_that_names_its_own_resource() {
    let document = |composition_id: &str| {
        format!(
            r#"{{"resourceType":"Bundle","identifier":{{"system":"http://example.org/docs","value":"1"}},"type":"document","timestamp":"2023-11-11T12:16:44Z",
            "entry":[
              {{"fullUrl":"http://example.org/x/Composition/666","resource":{{"resourceType":"Composition",{composition_id}"status":"final","type":{{"text":"Letter"}},"date":"2023-11-11","title":"A letter","author":[{{"reference":"Organization/666"}}]}}}},
              {{"fullUrl":"http://example.org/x/Organization/666","resource":{{"resourceType":"Organization","id":"666","name":"Lab"}}}}]}}"#
        )
    };
    let errs = errors(&document(r#""id":"666","#));
    assert!(errs.is_empty(), "{errs:#?}");
    let errs = errors(&document(""));
    let cannot = errs.iter().find(|i| i.expression == "Bundle.entry[0].resource.author[0]").unwrap_or_else(|| panic!("{errs:#?}"));
    assert_eq!(
        cannot.message,
        "Can't find 'Organization/666' in the bundle (Composition.author). Note that there is a resource in the bundle with the same type and id, but it does not match because of the fullUrl based rules around matching relative references. Found 'http://example.org/x/Organization/666', but it doesn't match because of the source fullUrl 'http://example.org/x/Composition/666'"
    );
}

/// An XML primitive holding a `<value>` element instead of a value attribute:
/// the element is unknown, and the primitive is left empty (ele-1).
#[test]
fn an_xml_primitive_with_a_value_element_is_empty() {
    let xml = r#"<Observation xmlns="http://hl7.org/fhir"><status value="final"/><code><text value="pain"/></code><valueInteger><value value="0"/></valueInteger></Observation>"#;
    let errs: Vec<Issue> = common::validator().validate_bytes(xml.as_bytes(), Some(Format::Xml)).into_iter().filter(|i| i.severity.is_error()).collect();
    assert!(errs.iter().any(|i| i.expression == "Observation.value.ofType(integer)" && i.message.starts_with("Constraint failed: ele-1")), "{errs:#?}");
    // Located as the reference's XML reader locates it, by its XML path.
    let undefined = errs.iter().find(|i| i.message.starts_with("Undefined element 'value'")).expect("an undefined element");
    assert_eq!(undefined.message, "Undefined element 'value' at /f:Observation/f:valueInteger");
    assert_eq!(undefined.location.as_deref(), Some("/f:Observation/f:valueInteger"));
    // TYPE_SPECIFIC_CHECKS_DT_PRIMITIVE_VALUEEXT: what is not an element of
    // the primitive is no content of it.
    assert!(
        errs.iter().any(|i| i.expression == "Observation.value.ofType(integer)" && i.message == "Primitive types must have a value or must have child extensions"),
        "{errs:#?}"
    );
    // A complex type's child named value is content.
    assert!(errors(r#"{"resourceType":"Observation","status":"final","code":{"text":"weight"},"valueQuantity":{"value":72}}"#).is_empty());
}

/// Inside a nested resource the reference's XML path starts again at the resource's type.
#[test]
fn an_undefined_xml_element_in_a_bundle_entry_is_located_from_its_resource() {
    let xml = r#"<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/><entry><fullUrl value="urn:uuid:6f3c1a8e-3d1b-4c55-9a8e-0d7c3b2a1f10"/>
        <resource><Endpoint><status value="active"/><connectionType><coding><code value="hl7-fhir-rest"/></coding></connectionType>
        <payloadType><text value="any"/></payloadType><address value="http://example.org/fhir"/></Endpoint></resource></entry></Bundle>"#;
    let errs: Vec<Issue> = common::validator().validate_bytes(xml.as_bytes(), Some(Format::Xml)).into_iter().filter(|i| i.severity.is_error()).collect();
    let undefined = errs.iter().find(|i| i.message.starts_with("Undefined element")).unwrap_or_else(|| panic!("{errs:#?}"));
    assert_eq!(undefined.message, "Undefined element 'coding' at Endpoint/f:connectionType");
    assert_eq!(undefined.expression, "Bundle.entry[0].resource.connectionType");
    assert_eq!(undefined.location.as_deref(), Some("Endpoint/f:connectionType"));
}

/// The reference validator's `validateContains` policy `IGNORE`: resources
/// inside a resource are not validated, nor is whether each is referenced.
#[test]
fn nested_resources_can_be_left_unvalidated() {
    let condition = r#"{"resourceType":"Condition","id":"c","subject":{"reference":"Patient/p"},
        "contained":[{"resourceType":"Patient","id":"1234567890123456789012345678901234567890123456789012345678901234567","gender":"mail"}]}"#;
    let validated = errors(condition);
    assert!(validated.iter().any(|i| i.expression == "Condition.contained[0].id"), "{validated:#?}");
    assert!(validated.iter().any(|i| i.message.contains("is not referenced to from elsewhere")), "{validated:#?}");
    let ignoring = careplan::validator::Validator::new(common::context(), careplan::validator::Options { validate_nested_resources: false, ..Default::default() });
    let errs: Vec<Issue> = ignoring.validate_bytes(condition.as_bytes(), Some(Format::Json)).into_iter().filter(|i| i.severity.is_error()).collect();
    assert!(errs.is_empty(), "{errs:#?}");
    // The container itself still is.
    let bad_container = condition.replace(r#""id":"c","#, r#""id":"c","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"nope"}]},"#);
    assert!(ignoring.validate_bytes(bad_container.as_bytes(), Some(Format::Json)).iter().any(|i| i.severity.is_error()));
}

#[test]
fn unit_bindings_name_the_allowed_units() {
    let weight = |code: &str, profile: Option<&str>| {
        let mut o = serde_json::json!({"resourceType": "Observation", "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]}, "subject": {"reference": "Patient/x"}, "effectiveDateTime": "2020-01-01",
            "valueQuantity": {"value": 70, "unit": code, "system": "http://unitsofmeasure.org", "code": code}});
        if let Some(p) = profile {
            o["meta"] = serde_json::json!({"profile": [p]});
        }
        o.to_string()
    };
    // R4's body weight profile binds the unit's code.
    let v = common::validator();
    let errors: Vec<String> = v.validate_bytes(weight("mg", None).as_bytes(), None).into_iter().filter(|i| i.severity.is_error()).map(|i| i.message).collect();
    assert!(
        errors.iter().any(|m| m.starts_with("The value provided ('mg') was not found in the value set 'Body Weight Units'") && m.ends_with("and a code is required from this value set  (error message = The provided code 'http://unitsofmeasure.org#mg' was not found in the value set 'http://hl7.org/fhir/ValueSet/ucum-bodyweight|4.0.1') (allowed units: [lb_av], g, kg)")),
        "{errors:#?}"
    );
    assert!(v.validate_bytes(weight("kg", None).as_bytes(), None).iter().all(|i| !i.severity.is_error()));
    // A profile that binds the Quantity itself.
    let profile = serde_json::json!({
        "resourceType": "StructureDefinition", "url": "http://example.org/sd/weighed", "name": "Weighed", "status": "draft",
        "kind": "resource", "abstract": false, "type": "Observation", "derivation": "constraint", "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Observation",
        "differential": {"element": [{"id": "Observation.value[x]", "path": "Observation.value[x]", "type": [{"code": "Quantity"}],
            "binding": {"strength": "required", "valueSet": "http://hl7.org/fhir/ValueSet/ucum-bodyweight|4.0.1"}}]}
    });
    let v = common::validator_with(&[profile]);
    let errors: Vec<String> = v.validate_bytes(weight("mg", Some("http://example.org/sd/weighed")).as_bytes(), None).into_iter().filter(|i| i.severity.is_error()).map(|i| i.message).collect();
    assert!(
        errors.iter().any(|m| m.starts_with("The code provided (http://unitsofmeasure.org#mg) was not found in the value set 'Body Weight Units'")
            && m.ends_with("and a code from this value set is required: The provided code 'http://unitsofmeasure.org#mg' was not found in the value set 'http://hl7.org/fhir/ValueSet/ucum-bodyweight|4.0.1' (allowed units: [lb_av], g, kg)")),
        "{errors:#?}"
    );
}

#[test]
fn a_reference_to_nothing_should_say_what_it_means() {
    let v = common::validator();
    let warnings = |json: &str| -> Vec<String> {
        v.validate_bytes(json.as_bytes(), None).into_iter().filter(|i| i.severity == Severity::Warning && i.message.starts_with("A Reference without")).map(|i| i.expression).collect()
    };
    let task = |owner: &str| format!(r#"{{"resourceType":"Task","status":"requested","intent":"order","owner":{owner}}}"#);
    assert_eq!(warnings(&task(r#"{"identifier":{"use":"official"}}"#)), ["Task.owner"]);
    assert!(warnings(&task(r#"{"display":"the ward clerk"}"#)).is_empty());
    assert!(warnings(&task(r#"{"identifier":{"system":"https://fhir.nhs.uk/Id/sds-user-id","value":"123"}}"#)).is_empty());
    assert!(warnings(&task(r#"{"reference":"Practitioner/x"}"#)).is_empty());
}

#[test]
fn a_bound_codeable_concept_without_codes_says_so() {
    let v = common::validator();
    let said = |json: &str| -> Vec<(Severity, String, String)> { v.validate_bytes(json.as_bytes(), None).into_iter().filter(|i| i.message.starts_with("No code provided")).map(|i| (i.severity, i.expression, i.message)).collect() };
    let allergy = r#"{"resourceType":"AllergyIntolerance","clinicalStatus":{"text":"active"},"patient":{"reference":"Patient/p"}}"#;
    assert_eq!(
        said(allergy),
        [(Severity::Error, "AllergyIntolerance.clinicalStatus".to_owned(), "No code provided, and a code is required from the value set 'AllergyIntolerance Clinical Status Codes' (http://hl7.org/fhir/ValueSet/allergyintolerance-clinical|4.0.1)".to_owned())]
    );
    let observation = r#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"interpretation":[{"text":"high"}]}"#;
    let found = said(observation);
    assert!(found.len() == 1 && found[0].0 == Severity::Warning && found[0].1 == "Observation.interpretation[0]" && found[0].2.starts_with("No code provided, and a code should be provided from the value set"), "{found:#?}");
}

#[test]
fn a_message_quoting_long_input_is_kept_short() {
    let url = format!("http://x.test/{}", "z".repeat(50_000));
    let patient = serde_json::json!({"resourceType": "Patient", "extension": [{"url": url, "valueString": "x"}]}).to_string();
    let all = common::validator().validate_bytes(patient.as_bytes(), None);
    let quoted = all.iter().find(|i| i.message.contains("http://x.test/zzz")).unwrap_or_else(|| panic!("{all:#?}"));
    assert!(quoted.message.chars().count() < 2_100 && quoted.message.ends_with("characters more)"), "{}", &quoted.message[..200]);
}

#[test]
fn what_a_request_names_does_not_stay_in_the_caches() {
    // Unknown extensions, profiles, code systems and value sets, and a
    // known profile written many ways (the twenty-first pass's J2). A
    // context of its own: other tests' lookups would fill a shared one.
    common::context();
    let ctx = careplan::loader::load(&careplan::loader::LoadOptions::default()).unwrap();
    let v = careplan::validator::Validator::new(std::sync::Arc::new(ctx), careplan::validator::Options::default());
    let resource = |tag: usize| {
        serde_json::json!({"resourceType": "Observation", "status": "final",
            "meta": {"profile": [format!("http://x.test/{tag}/p"), format!("http://hl7.org/fhir/StructureDefinition/vitalsigns|4.0.{tag}")]},
            "code": {"coding": [{"system": format!("http://x.test/{tag}/cs"), "code": "c"}]},
            "extension": [{"url": format!("http://x.test/{tag}/ext"), "valueString": "v"}]})
        .to_string()
    };
    // Warm the caches with what is really there.
    for tag in 0..3 {
        v.validate_bytes(resource(tag).as_bytes(), None);
    }
    let before = (v.context().cached_lookups(), v.terminology().cached_lookups());
    for tag in 3..200 {
        v.validate_bytes(resource(tag).as_bytes(), None);
    }
    assert_eq!((v.context().cached_lookups(), v.terminology().cached_lookups()), before);
}

#[test]
fn a_list_of_issues_stops_at_its_size_and_says_how_many_more() {
    // 100,000 empty extensions: four issues each, each with its path.
    let extensions = vec![serde_json::json!({}); 100_000];
    let basic = serde_json::json!({"resourceType": "Basic", "code": {"text": "x"}, "extension": extensions}).to_string();
    let all = common::validator().validate_bytes(basic.as_bytes(), None);
    let listed: usize = all.iter().map(|i| i.message.len() + i.expression.len()).sum();
    assert!(listed < 40 << 20, "{listed} bytes listed");
    let last = all.last().unwrap();
    assert!(last.severity.is_error() && last.message.contains("more issues") && last.message.contains("are not listed"), "{last:#?}");
}

/// Extension urls have no versions: what the reference says, by what the
/// version names (EXT_VER_URL_NOT_ALLOWED, _REVERSION, _NO_MATCH), at the
/// extension with its url.
#[test]
fn versioned_extension_urls_are_named_for_what_they_match() {
    let patient = |url: &str| format!(r#"{{"resourceType":"Patient","extension":[{{"url":"{url}","valueAddress":{{"city":"Leeds"}}}}]}}"#);
    let all = |url: &str| common::validator().validate_bytes(patient(url).as_bytes(), Some(Format::Json));
    let base = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace";
    let loaded = format!("{base}|5.3.0-ballot-tc1");
    let found = all(&loaded);
    let issue = found.iter().find(|i| i.message.starts_with("The extension URL must not contain a version")).unwrap_or_else(|| panic!("{found:#?}"));
    assert_eq!((issue.severity, issue.message.as_str()), (Severity::Error, "The extension URL must not contain a version"));
    assert_eq!(issue.expression, format!("Patient.extension[0][url='{loaded}']"));
    let older = format!("{base}|4.0.1");
    let found = all(&older);
    assert!(
        found.iter().any(|i| i.severity == Severity::Error
            && i.message == "The extension URL must not contain a version. The extension was validated against version 5.3.0-ballot-tc1 of the extension"),
        "{found:#?}"
    );
    let unknown = "http://example.org/fhir/StructureDefinition/nowhere|1.0";
    let found = all(unknown);
    assert!(
        found.iter().any(|i| i.severity == Severity::Warning
            && i.message == "Extension URLs don't have versions. The validator wasn't able to resolve this URL with or without version-based resolution"),
        "{found:#?}"
    );
}
