//! CodeSystem rules, as the reference's CodeSystem validator applies them:
//! what `content` and `count` say against the concepts present, a
//! supplement against the system it supplements, the "all codes" value set,
//! property definitions and the values concepts give them, codes defined
//! twice, and designations that only repeat the display.
//!
//! Each check names the message key it raises. Look-ups go to the loaded
//! definitions only: what is not loaded is reported as not checked, never
//! as wrong.

use crate::issue::{quoted, IssueCode};
use crate::tree::Node;
use crate::validator::element::Walk;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// The properties FHIR defines for every code system, with their types.
const KNOWN_PROPERTIES: &[(&str, &str)] = &[
    ("status", "code"),
    ("inactive", "boolean"),
    ("effectiveDate", "dateTime"),
    ("deprecationDate", "dateTime"),
    ("retirementDate", "dateTime"),
    ("notSelectable", "boolean"),
    ("parent", "code"),
    ("child", "code"),
    ("partOf", "code"),
    ("synonym", "code"),
    ("comment", "string"),
    ("itemWeight", "decimal"),
];

const CONCEPT_PROPERTIES: &str = "http://hl7.org/fhir/concept-properties";

/// Properties R4 does not define but later versions publish, which the
/// reference takes as known for R4 content too.
const OFFICIAL_LATER_PROPERTIES: &[&str] = &["alternateCode", "order", "definition"];

const PROPERTY_VALUE_SET_EXTENSIONS: &[&str] =
    &["http://hl7.org/fhir/StructureDefinition/codesystem-property-valueset", "http://hl7.org/fhir/6.0/StructureDefinition/extension-CodeSystem.property.valueSet"];

/// The most concepts of a supplement checked against its base code system
/// (the reference's default `codeSystemValidationSizeLimit`).
const SUPPLEMENT_CODE_LIMIT: usize = 1000;

/// How the codes a `code` property gives are checked.
#[derive(Clone, Copy, PartialEq)]
enum CodeRule {
    None,
    /// A code of this code system: an error when it is not.
    Internal,
    /// A code of this code system: a warning when it is not.
    InternalWarning,
    /// A code of the property's value set (`PropertyDef::value_set`): an error when it is not.
    ValueSet,
}

#[derive(Clone)]
struct PropertyDef {
    type_code: Option<String>,
    code_rule: CodeRule,
    /// The value set a `code` property's codes come from (its `codesystem-property-valueset` extension).
    value_set: Option<String>,
}

pub(crate) fn check_code_system(walk: &mut Walk<'_, '_>, cs: &Node) {
    let url = cs.child_text("url");
    let content = cs.child_text("content");
    let supplements = cs.child_text("supplements").filter(|s| !s.is_empty());
    let concept_count = count_concepts(cs);

    metadata(walk, cs, url, content, supplements, concept_count);
    all_codes_value_set(walk, cs, url, content, supplements, concept_count);
    if content == Some("supplement") || supplements.is_some() {
        supplement(walk, cs, supplements);
    }
    if cs.name == "contained" {
        let root = walk.resources.first().and_then(|f| f.node.resource_type.as_deref());
        if !matches!(root, Some("Questionnaire" | "CodeSystem")) {
            // CODESYSTEM_NOT_CONTAINED
            walk.inform(
                cs,
                IssueCode::BusinessRule,
                "CodeSystems are referred to directly from Coding.system, so it's generally best for them not to be contained resources".into(),
            );
        }
    }

    let mut properties = HashMap::new();
    for (i, property) in cs.children_named("property").enumerate() {
        walk.path.push("property", Some(i));
        property_definition(walk, cs, property, &mut properties);
        walk.path.pop();
    }

    let base = supplements.and_then(|s| walk.v.terminology().code_index(s));
    let mut codes = HashSet::new();
    let mut first_concept_noted = (false, false);
    // Read once: a concept's rules must not search the whole CodeSystem (the thirtieth pass's V3).
    let language = cs.child_text("language");
    walk_concepts(walk, cs, &mut |walk, concept| {
        concept_rules(walk, language, concept, url, base.as_deref(), &mut codes, &mut first_concept_noted);
    });
    let mut seen_property_codes = HashSet::new();
    walk_concepts(walk, cs, &mut |walk, concept| {
        for (i, property) in concept.children_named("property").enumerate() {
            walk.path.push("property", Some(i));
            property_value(walk, property, &properties, &codes, supplements, &mut seen_property_codes);
            walk.path.pop();
        }
    });
}

/// Calls `visit` on every concept, nested ones included, with the walk's
/// path at the concept.
fn walk_concepts<'n>(walk: &mut Walk<'_, '_>, parent: &'n Node, visit: &mut dyn FnMut(&mut Walk<'_, '_>, &'n Node)) {
    for (i, concept) in parent.children_named("concept").enumerate() {
        walk.path.push("concept", Some(i));
        visit(walk, concept);
        walk_concepts(walk, concept, visit);
        walk.path.pop();
    }
}

fn count_concepts(node: &Node) -> usize {
    node.children_named("concept").map(|c| 1 + count_concepts(c)).sum()
}

/// `content`, `caseSensitive`, `hierarchyMeaning` and `count` against what the resource holds.
fn metadata(walk: &mut Walk<'_, '_>, cs: &Node, url: Option<&str>, content: Option<&str>, supplements: Option<&str>, concept_count: usize) {
    let hl7 = url.is_some_and(|u| u.contains("hl7.org") || u.contains("fhir.org"));
    if walk.v.options().for_publication
        && url.is_some_and(|u| u.contains("hl7.org") && !u.contains("terminology.hl7.org") && !u.contains("hl7.org/cda/stds/core"))
    {
        // CODESYSTEM_THO_CHECK
        walk.inform(
            cs,
            IssueCode::BusinessRule,
            "Most code systems defined in HL7 IGs will need to move to THO later during the process. Consider giving this code system a THO URL now (See https://confluence.hl7.org/display/TSMG/Terminology+Play+Book, and/or talk to TSMG)".into(),
        );
    }
    if supplements.is_some() {
        if content != Some("supplement") {
            at_child(walk, cs, "content", |walk, node| {
                // CODESYSTEM_CS_HL7_PRESENT_ELEMENT_SUPPL_WRONG
                walk.error(node, IssueCode::BusinessRule, "CodeSystem Supplements SHALL have a content value of 'supplement'".into());
            });
        }
        if let Some(case_sensitive) = cs.child("caseSensitive") {
            walk.path.push("caseSensitive", None);
            // CODESYSTEM_CS_HL7_PRESENT_ELEMENT_SUPPL
            walk.error(
                case_sensitive,
                IssueCode::BusinessRule,
                "CodeSystems SHOULD NOT have a stated value for the caseSensitive element when they are a supplement".into(),
            );
            walk.path.pop();
        }
    } else {
        match content {
            None => at_child(walk, cs, "content", |walk, node| missing_element(walk, node, hl7, true, "content")),
            Some("supplement") => at_child(walk, cs, "content", |walk, node| {
                // CODESYSTEM_CS_HL7_PRESENT_ELEMENT_SUPPL_MISSING
                walk.error(
                    node,
                    IssueCode::BusinessRule,
                    "CodeSystem Supplements with a content value of 'supplement' SHALL have a supplements element that specifies which code system is being supplemented".into(),
                );
            }),
            Some(_) => {}
        }
        if cs.child_text("caseSensitive").is_none() {
            at_child(walk, cs, "caseSensitive", |walk, node| missing_element(walk, node, hl7, false, "caseSensitive"));
        }
        let has_hierarchy = cs.children_named("concept").any(|c| c.child("concept").is_some());
        if has_hierarchy && cs.child_text("hierarchyMeaning").is_none() {
            at_child(walk, cs, "hierarchyMeaning", |walk, node| missing_element(walk, node, hl7, false, "hierarchyMeaning"));
        }
    }

    if concept_count == 0 && content == Some("complete") {
        // CODESYSTEM_CS_COMPLETE_AND_EMPTY
        walk.warn(cs, IssueCode::BusinessRule, "When a CodeSystem has content = 'complete', it doesn't make sense for there to be no concepts defined".into());
    }

    if let (Some(count_node), Some(content)) = (cs.child("count"), content) {
        if let Some(stated) = count_node.text().and_then(|t| t.parse::<i64>().ok()).filter(|n| *n >= 0) {
            let stated = stated as usize;
            match content {
                "complete" if concept_count != stated => {
                    walk.path.push("count", None);
                    // CODESYSTEM_CS_COUNT_COMPLETE_WRONG
                    walk.error(
                        count_node,
                        IssueCode::Invalid,
                        format!("The code system is complete, but the number of concepts ({concept_count}) does not match the stated total number ({stated})"),
                    );
                    walk.path.pop();
                }
                "example" | "fragment" if concept_count >= stated => {
                    walk.path.push("count", None);
                    // CODESYSTEM_CS_COUNT_FRAGMENT_WRONG
                    walk.warn(
                        count_node,
                        IssueCode::Invalid,
                        format!("The code system is a fragment/example, but the number of concepts ({concept_count}) exceeds or matches the stated total number ({stated})"),
                    );
                    walk.path.pop();
                }
                "not-present" if stated == 0 => {
                    if let Some(concept) = cs.child("concept") {
                        walk.path.push("concept", Some(0));
                        // CODESYSTEM_CS_COUNT_NOTPRESENT_ZERO
                        walk.inform(
                            concept,
                            IssueCode::Invalid,
                            "The code system has no content, but the exceeds the stated total number is 0 concepts - check that this isn't a complete code system that has no concepts, or update/remove the stated count".into(),
                        );
                        walk.path.pop();
                    }
                }
                "supplement" => {
                    let base_count = supplements.and_then(|s| walk.ctx.resource_json(s)).and_then(|b| b.get("count").and_then(Value::as_u64));
                    if let Some(base_count) = base_count {
                        if base_count as usize != concept_count {
                            walk.path.push("count", None);
                            // CODESYSTEM_CS_COUNT_SUPPLEMENT_WRONG
                            walk.error(
                                count_node,
                                IssueCode::Invalid,
                                format!("The code system supplement states the total number of concepts as {stated}, but this is different to the underlying code system that states a value of {base_count}"),
                            );
                            walk.path.pop();
                        }
                    }
                }
                _ => {}
            }
        }
    }

    if content == Some("not-present") {
        if let Some(concept) = cs.child("concept") {
            walk.path.push("concept", Some(0));
            // CODESYSTEM_CS_COUNT_NO_CONTENT_ALLOWED
            walk.error(concept, IssueCode::Invalid, "The code system says it has no content present, but concepts are found".into());
            walk.path.pop();
        }
    }
}

/// An element the reference asks every code system to state: for HL7's own,
/// `content` SHALL be and the others SHOULD be; for everyone else, `content`
/// SHOULD be and the others are suggested.
fn missing_element(walk: &mut Walk<'_, '_>, node: &Node, hl7: bool, essential: bool, name: &str) {
    match (hl7, essential) {
        // CODESYSTEM_CS_HL7_MISSING_ELEMENT_SHALL
        (true, true) => walk.error(
            node,
            IssueCode::BusinessRule,
            format!("HL7 Defined CodeSystems SHALL have a stated value for the {name} element so that users know the status and meaning of the code system clearly"),
        ),
        // CODESYSTEM_CS_HL7_MISSING_ELEMENT_SHOULD
        (true, false) => walk.warn(
            node,
            IssueCode::BusinessRule,
            format!("HL7 Defined CodeSystems SHOULD have a stated value for the {name} element so that users know the status and meaning of the code system clearly"),
        ),
        // CODESYSTEM_CS_NONHL7_MISSING_ELEMENT
        (false, essential) => {
            let msg = format!("CodeSystems SHOULD have a stated value for the {name} element so that users know the status and meaning of the code system clearly");
            if essential {
                walk.warn(node, IssueCode::BusinessRule, msg);
            } else {
                walk.inform(node, IssueCode::BusinessRule, msg);
            }
        }
    }
}

/// Runs `report` with the path at `name` when the resource has it, and at
/// the resource when it does not (as the reference reports what is missing).
fn at_child(walk: &mut Walk<'_, '_>, cs: &Node, name: &str, report: impl FnOnce(&mut Walk<'_, '_>, &Node)) {
    match cs.child(name) {
        Some(child) => {
            walk.path.push(name, None);
            report(walk, child);
            walk.path.pop();
        }
        None => report(walk, cs),
    }
}

/// `CodeSystem.valueSet`, the value set of all the system's codes: one
/// include of this system, nothing more, and an expansion (if any) with
/// every concept.
fn all_codes_value_set(walk: &mut Walk<'_, '_>, cs: &Node, url: Option<&str>, content: Option<&str>, supplements: Option<&str>, concept_count: usize) {
    let Some(vs_url) = cs.child_text("valueSet").filter(|v| !v.is_empty()) else { return };
    if content == Some("supplement") {
        match supplements.and_then(|s| walk.ctx.resource_json(s)) {
            Some(base) => match base.get("valueSet").and_then(Value::as_str) {
                Some(base_vs) if base_vs != vs_url => {
                    // CODESYSTEM_CS_NO_VS_SUPPLEMENT2
                    walk.warn(
                        cs,
                        IssueCode::BusinessRule,
                        format!("CodeSystems supplements should not have an all codes value set specified, and if they do, it must match the base code system, and this one does not ('{}')", quoted(base_vs)),
                    );
                }
                Some(_) => {}
                None => {
                    // CODESYSTEM_CS_NO_VS_SUPPLEMENT1
                    walk.warn(
                        cs,
                        IssueCode::BusinessRule,
                        "CodeSystems supplements should not have an all codes value set specified, and if they do, it must match the base code system".into(),
                    );
                }
            },
            None => not_complete_with_value_set(walk, cs, true),
        }
    } else if content != Some("complete") {
        not_complete_with_value_set(walk, cs, false);
    }

    let Some(vs) = all_codes_value_set_of(walk, cs, vs_url) else { return };
    let url = url.unwrap_or("");
    let includes = vs.pointer("/compose/include").and_then(Value::as_array);
    let Some(includes) = includes.filter(|i| i.len() == 1) else {
        // CodeSystem_CS_VS_Invalid
        walk.error(cs, IssueCode::BusinessRule, format!("CodeSystem {url} has an 'all system' value set of {vs_url}, but the value set doesn't have a single include"));
        return;
    };
    let include = &includes[0];
    let system = include.get("system").and_then(Value::as_str).unwrap_or("");
    if system != url {
        // CodeSystem_CS_VS_WrongSystem
        walk.error(
            cs,
            IssueCode::BusinessRule,
            format!("CodeSystem {url} has an 'all system' value set of {vs_url}, but the value set doesn't have a matching system ({system})"),
        );
        return;
    }
    if ["valueSet", "concept", "filter"].iter().any(|k| include.get(*k).is_some()) {
        // CodeSystem_CS_VS_IncludeDetails
        walk.error(cs, IssueCode::BusinessRule, format!("CodeSystem {url} has an 'all system' value set of {vs_url}, but the include has extra details"));
    }
    if let Some(contains) = vs.pointer("/expansion/contains").and_then(Value::as_array) {
        if contains.len() != concept_count {
            // CODESYSTEM_CS_VS_EXP_MISMATCH
            walk.error(
                cs,
                IssueCode::BusinessRule,
                format!(
                    "CodeSystem {url} has an 'all system' value set of {vs_url}, but it is an expansion with the wrong number of concepts (found {concept_count}, expected {})",
                    contains.len()
                ),
            );
        }
    }
}

/// The value set `vs_url` of the same publication as the code system: of
/// its version when the code system states one. Another version of it (a
/// later terminology release beside an older code system) says nothing
/// about this one.
fn all_codes_value_set_of(walk: &Walk<'_, '_>, cs: &Node, vs_url: &str) -> Option<std::sync::Arc<Value>> {
    let is_value_set = |v: &std::sync::Arc<Value>| v.get("resourceType").and_then(Value::as_str) == Some("ValueSet");
    let Some(version) = cs.child_text("version").filter(|_| !vs_url.contains('|')) else {
        return walk.ctx.resource_json(vs_url).filter(is_value_set);
    };
    if let Some(same) = walk.ctx.resource_json(&format!("{vs_url}|{version}")).filter(is_value_set) {
        return Some(same);
    }
    walk.ctx.resource_json(vs_url).filter(is_value_set).filter(|vs| vs.get("version").and_then(Value::as_str).is_none_or(|v| v == version))
}

fn not_complete_with_value_set(walk: &mut Walk<'_, '_>, cs: &Node, warning: bool) {
    // CODESYSTEM_CS_NO_VS_NOTCOMPLETE
    let msg = "Review the All Codes Value Set - incomplete CodeSystems generally should not have an all codes value set specified".to_string();
    if warning {
        walk.warn(cs, IssueCode::BusinessRule, msg);
    } else {
        walk.inform(cs, IssueCode::BusinessRule, msg);
    }
}

/// A supplement: what it supplements is named, and (when that system is
/// loaded and complete) each code it adds to is one of that system's.
fn supplement(walk: &mut Walk<'_, '_>, cs: &Node, supplements: Option<&str>) {
    let Some(supplements) = supplements else {
        // CODESYSTEM_CS_SUPP_NO_SUPP
        walk.error(cs, IssueCode::BusinessRule, "The code system is marked as a supplement, but it does not define what code system it supplements".into());
        return;
    };
    let Some(base) = walk.ctx.code_system(supplements) else {
        if cs.child("concept").is_some() {
            // CODESYSTEM_CS_SUPP_CANT_CHECK
            walk.warn(cs, IssueCode::BusinessRule, format!("CodeSystem {supplements} cannot be found, so can't check if concepts are valid"));
        }
        return;
    };
    if let (Some(ours), Some(theirs)) = (cs.child_text("hierarchyMeaning"), base.hierarchy_meaning.as_deref()) {
        if ours != theirs {
            // CODESYSTEM_CS_SUPP_HIERARCHY_MEANING
            walk.error(
                cs,
                IssueCode::BusinessRule,
                format!("The supplement declares a hierarchyMeaning of '{ours}' that doesn't match that in the base code system '{theirs}'"),
            );
        }
    }
    let concepts = cs.children_named("concept").count();
    if concepts > SUPPLEMENT_CODE_LIMIT {
        // CODESYSTEM_CS_SUPP_TOO_MANY_CODES
        walk.inform(
            cs,
            IssueCode::BusinessRule,
            format!("The supplement has too many concepts to validate ({concepts}, more than the limit of {SUPPLEMENT_CODE_LIMIT}), so they have not been checked against the base CodeSystem"),
        );
        return;
    }
    let Some(index) = walk.v.terminology().code_index(supplements).filter(|ix| ix.complete) else { return };
    for (i, concept) in cs.children_named("concept").enumerate() {
        let Some(code) = concept.child_text("code").filter(|c| !c.is_empty()) else { continue };
        if !index.contains(code) {
            walk.path.push("concept", Some(i));
            // CODESYSTEM_CS_SUPP_INVALID_CODE
            walk.error(
                concept,
                IssueCode::BusinessRule,
                format!("The code '{code}' is not declared in the base CodeSystem {supplements} so is not valid in the supplement"),
            );
            walk.path.pop();
        }
    }
}

/// One `CodeSystem.property`: its uri and code, each given once and
/// agreeing with FHIR's own properties.
fn property_definition(walk: &mut Walk<'_, '_>, cs: &Node, property: &Node, properties: &mut HashMap<String, PropertyDef>) {
    let uri = property.child_text("uri");
    let code = property.child_text("code");
    let type_code = property.child_text("type");
    let mut def = PropertyDef { type_code: type_code.map(str::to_owned), code_rule: CodeRule::None, value_set: None };
    let mut known_by_uri = None;

    if let Some(uri) = uri {
        if !crate::primitive::is_absolute_url(uri) {
            // CODESYSTEM_PROPERTY_ABSOLUTE_URI
            walk.error(property, IssueCode::BusinessRule, format!("A property URI must be an absolute URI, but '{uri}' is not"));
            return;
        }
        if properties.contains_key(uri) {
            // CODESYSTEM_PROPERTY_DUPLICATE_URI
            walk.error(property, IssueCode::BusinessRule, format!("A property is already defined with the URI '{uri}'"));
        } else {
            uri_meaning(walk, property, uri, code.unwrap_or(""), type_code);
        }
        if uri.contains("://hl7.org/fhir") {
            known_by_uri = uri.strip_prefix(CONCEPT_PROPERTIES).and_then(|r| r.strip_prefix('#')).and_then(known_property);
            if known_by_uri.is_none() {
                let cs_url = cs.child_text("url");
                let base_spec = cs_url.is_some_and(|u| u.strip_prefix("http://hl7.org/fhir/").is_some_and(|r| !r.contains('/')));
                let self_ref = cs_url.is_some_and(|u| uri.starts_with(u));
                if !base_spec && !self_ref {
                    // CODESYSTEM_PROPERTY_BAD_HL7_URI
                    walk.error(
                        property,
                        IssueCode::BusinessRule,
                        format!("Unknown CodeSystem Property '{uri}'. If you are creating your own property, do not create it in the HL7 namespace"),
                    );
                }
            }
        }
    }

    let known_by_code = code.and_then(known_property);
    if let Some(code) = code {
        if properties.contains_key(code) {
            // CODESYSTEM_PROPERTY_DUPLICATE_CODE
            walk.error(property, IssueCode::BusinessRule, format!("A property is already defined with the code '{code}'"));
        }
    }

    if let Some((known_code, known_type)) = known_by_uri {
        let uri = uri.unwrap_or("");
        if let Some(code) = code.filter(|_| known_by_code.is_some_and(|(c, _)| c != known_code)) {
            // CODESYSTEM_PROPERTY_URI_CODE_MISMATCH
            walk.error(
                property,
                IssueCode::BusinessRule,
                format!("The URI '{uri}' is normally assigned the code '{known_code}'. Using the code '{code}' will usually create confusion in ValueSet filters etc"),
            );
        }
        if let Some(t) = type_code.filter(|t| *t != known_type) {
            // CODESYSTEM_PROPERTY_URI_TYPE_MISMATCH
            walk.error(property, IssueCode::BusinessRule, format!("Wrong type '{t}': The URI '{uri}' identifies a property that has the type '{known_type}'"));
        }
        if matches!(known_code, "child" | "parent" | "partOf" | "synonym") {
            def.code_rule = CodeRule::Internal;
        }
    } else if type_code == Some("code") {
        if let Some(vs) = property_value_set(property) {
            if walk.ctx.value_set(vs).is_none() {
                // CODESYSTEM_PROPERTY_VALUESET_NOT_FOUND
                walk.warn(property, IssueCode::NotFound, format!("The ValueSet {vs} is unknown, so the property codes cannot be validated"));
            } else {
                def.code_rule = CodeRule::ValueSet;
                def.value_set = Some(vs.to_owned());
            }
        } else {
            def.code_rule = CodeRule::InternalWarning;
            // CODESYSTEM_PROPERTY_CODE_DEFAULT_WARNING
            walk.inform(
                property,
                IssueCode::BusinessRule,
                "The type of property 'code' is 'code', but no ValueSet information was found, so the codes will be validated as internal codes".into(),
            );
        }
    }

    if uri.is_none() {
        match known_by_code {
            None => {
                // CODESYSTEM_PROPERTY_UNKNOWN_CODE
                walk.inform(
                    property,
                    IssueCode::BusinessRule,
                    format!("This property has only a code ('{}') and not a URI, so it has no clearly defined meaning in the terminology ecosystem", code.unwrap_or("")),
                );
            }
            Some((known_code, known_type)) => {
                // CODESYSTEM_PROPERTY_KNOWN_CODE_SUGGESTIVE
                walk.warn(
                    property,
                    IssueCode::BusinessRule,
                    format!(
                        "This property has only the standard code ('{known_code}') but not the standard URI '{CONCEPT_PROPERTIES}#{known_code}', so it has no clearly defined meaning in the terminology ecosystem"
                    ),
                );
                if let Some(t) = type_code.filter(|t| *t != known_type) {
                    // CODESYSTEM_PROPERTY_CODE_TYPE_MISMATCH
                    walk.warn(property, IssueCode::BusinessRule, format!("Wrong type '{t}': The code '{known_code}' identifies a property that has the type '{known_type}'"));
                }
            }
        }
    }

    // The reference keeps uris and codes in one map.
    if let Some(uri) = uri {
        properties.entry(uri.to_owned()).or_insert(def.clone());
    }
    if let Some(code) = code {
        properties.entry(code.to_owned()).or_insert(def);
    }
}

/// What a property's uri points at: a property or concept of a loaded code
/// system (`system#code`), or nothing that can be checked.
fn uri_meaning(walk: &mut Walk<'_, '_>, property: &Node, uri: &str, code: &str, type_code: Option<&str>) {
    let Some((base, local)) = uri.split_once('#') else {
        if type_code == Some("code") {
            // CODESYSTEM_PROPERTY_URI_UNKNOWN_TYPE
            walk.warn(
                property,
                IssueCode::NotFound,
                format!("The property uri '{uri}' is not known, so the property values can not be validated fully; unless specified elsewhere, codes will be treated as internal references"),
            );
        } else {
            // CODESYSTEM_PROPERTY_URI_UNKNOWN
            walk.inform(property, IssueCode::NotFound, format!("The property uri '{uri}' is not known, so the property values can not be validated fully"));
        }
        return;
    };
    let Some(defining) = walk.ctx.resource_json(base).filter(|r| r.get("resourceType").and_then(Value::as_str) == Some("CodeSystem")) else {
        if base != CONCEPT_PROPERTIES {
            // CODESYSTEM_PROPERTY_URI_UNKNOWN_BASE
            walk.warn(
                property,
                IssueCode::NotFound,
                format!("The base property uri '{base}' is not known for the property '{code}', so the property values can not be validated fully"),
            );
        }
        return;
    };
    let defines_property = defining.get("property").and_then(Value::as_array).is_some_and(|ps| ps.iter().any(|p| p.get("uri").and_then(Value::as_str) == Some(uri)));
    let official = base == CONCEPT_PROPERTIES && (known_property(local).is_some() || OFFICIAL_LATER_PROPERTIES.contains(&local));
    // The concept is looked up in the system's code index, built once, not
    // by walking its concepts per property (the twenty-sixth pass's R5).
    if !defines_property && !official && !walk.v.terminology().code_index(base).is_some_and(|ix| ix.contains(local)) {
        let present = defining.get("title").or_else(|| defining.get("name")).and_then(Value::as_str).unwrap_or(base);
        // CODESYSTEM_PROPERTY_URI_INVALID
        walk.warn(
            property,
            IssueCode::Invalid,
            format!("The uri '{uri}' for the property '{code}' implies a property with that URI exists in the CodeSystem {present} for {base}, or the code '{local}' does, but neither were found"),
        );
    }
}

fn property_value_set(property: &Node) -> Option<&str> {
    property
        .children_named("extension")
        .find(|e| e.child_text("url").is_some_and(|u| PROPERTY_VALUE_SET_EXTENSIONS.contains(&u)))
        .and_then(|e| e.children.iter().find(|c| c.name.starts_with("value")).and_then(Node::text))
}

fn known_property(code: &str) -> Option<(&'static str, &'static str)> {
    KNOWN_PROPERTIES.iter().find(|(c, _)| *c == code).copied()
}

/// One concept: defined once, and (for HL7's systems) with a display and a
/// definition; its designations and, in a supplement, its display against
/// the base system's.
fn concept_rules(
    walk: &mut Walk<'_, '_>,
    language: Option<&str>,
    concept: &Node,
    url: Option<&str>,
    base: Option<&crate::terminology::CodeIndex>,
    codes: &mut HashSet<String>,
    noted: &mut (bool, bool),
) {
    let code = concept.child_text("code").unwrap_or("");
    if !codes.insert(code.to_owned()) {
        // CODESYSTEM_DUPLICATE_CODE
        walk.error(concept, IssueCode::BusinessRule, format!("The code '{code}' has already been defined"));
    }
    if url.is_some_and(|u| u.contains("hl7")) {
        if !noted.0 && concept.child("display").is_none() {
            noted.0 = true;
            // CODESYSTEM_CONCEPT_NO_DISPLAY
            walk.warn(concept, IssueCode::BusinessRule, "HL7 Defined CodeSystems should ensure that every concept has a display".into());
        }
        if !noted.1 && concept.child("definition").is_none() {
            noted.1 = true;
            // CODESYSTEM_CONCEPT_NO_DEFINITION
            walk.warn(concept, IssueCode::BusinessRule, "HL7 Defined CodeSystems should ensure that every concept has a definition".into());
        }
    }
    let display = concept.child_text("display");
    if let (Some(base), Some(display)) = (base, display) {
        if let Some(base_display) = base.display(code).filter(|b| !b.eq_ignore_ascii_case(display)) {
            if language.is_none() {
                // CODESYSTEM_SUPP_NO_DISPLAY
                walk.inform(
                    concept,
                    IssueCode::BusinessRule,
                    format!(
                        "This display ('{}') differs from that defined by the base code system ('{}'). Both displays claim to be the 'primary designation' for the same language ('{}'), and the correct interpretation of this is undefined",
                        quoted(display),
                        quoted(base_display),
                        "undefined"
                    ),
                );
            }
        }
    }
    for (i, designation) in concept.children_named("designation").enumerate() {
        if designation.child("use").is_some() || designation.child("additionalUse").is_some() {
            continue;
        }
        let value = designation.child_text("value").unwrap_or("");
        let Some(display) = display.filter(|d| *d != value) else { continue };
        let own_language = designation.child_text("language");
        walk.path.push("designation", Some(i));
        match (language, own_language) {
            (None, None) => {
                // CODESYSTEM_DESIGNATION_DISP_CLASH_NO_LANG
                walk.warn(
                    designation,
                    IssueCode::BusinessRule,
                    format!("The designation '{}' has no use and no language, so is not differentiated from the base display ('{}')", crate::issue::quoted(value), crate::issue::quoted(display)),
                );
            }
            (Some(lang), None) => designation_same_language(walk, designation, value, display, lang),
            (Some(lang), Some(own)) if lang == own => designation_same_language(walk, designation, value, display, lang),
            _ => {}
        }
        walk.path.pop();
    }
}

fn designation_same_language(walk: &mut Walk<'_, '_>, designation: &Node, value: &str, display: &str, lang: &str) {
    // CODESYSTEM_DESIGNATION_DISP_CLASH_LANG
    walk.warn(
        designation,
        IssueCode::BusinessRule,
        format!("The designation '{}' has no use and is in the same language ('{lang}'), so is not differentiated from the base display ('{}')", crate::issue::quoted(value), crate::issue::quoted(display)),
    );
}

/// A concept's property value against the property's definition.
fn property_value(
    walk: &mut Walk<'_, '_>,
    property: &Node,
    properties: &HashMap<String, PropertyDef>,
    codes: &HashSet<String>,
    supplements: Option<&str>,
    seen: &mut HashSet<String>,
) {
    let Some(code) = property.child_text("code") else { return };
    let def = properties.get(code);
    if def.is_none() {
        // CODESYSTEM_PROPERTY_UNDEFINED
        walk.warn(
            property,
            IssueCode::BusinessRule,
            format!("The property '{code}' has no definition in CodeSystem.property. Many terminology tools won't know what to do with it"),
        );
    }
    let value = property.children.iter().find(|c| c.name.starts_with("value") && c.name.len() > 5);
    let Some(value) = value else {
        // CODESYSTEM_PROPERTY_NO_VALUE
        walk.error(property, IssueCode::BusinessRule, format!("The property '{code}' has no value, and cannot be understood"));
        return;
    };
    let value_type = type_of_value(&value.name);
    if let Some(def) = def {
        if let Some(expected) = def.type_code.as_deref() {
            if value_type != expected {
                // CODESYSTEM_PROPERTY_WRONG_TYPE
                walk.error(property, IssueCode::BusinessRule, format!("The property '{code}' has the invalid type '{value_type}', when it is defined to have the type '{expected}'"));
                return;
            }
        }
        if value_type == "code" {
            if let Some(v) = value.text() {
                // Seen once per value set (or per code system for internal codes).
                let first_time = seen.insert(format!("{}#{v}", def.value_set.as_deref().unwrap_or("null")));
                if let (true, CodeRule::ValueSet, Some(vs)) = (first_time, def.code_rule, def.value_set.as_deref()) {
                    if walk.v.terminology().member(vs, None, v) == crate::terminology::Membership::NotIn {
                        // CODESYSTEM_PROPERTY_BAD_PROPERTY_CODE (the reference leaves the value set unnamed here; it is named)
                        walk.error(property, IssueCode::Invalid, format!("The code '{v}' is not a valid code in the value set '{vs}'"));
                    }
                } else if first_time && supplements.is_none() && !codes.contains(v) {
                    // CODESYSTEM_PROPERTY_BAD_INTERNAL_REFERENCE
                    let msg = format!("The code '{v}' is not a valid code in this code system");
                    match def.code_rule {
                        CodeRule::Internal => walk.error(property, IssueCode::Invalid, msg),
                        CodeRule::InternalWarning => walk.warn(property, IssueCode::Invalid, msg),
                        CodeRule::None | CodeRule::ValueSet => {}
                    }
                }
            }
        }
    }
    if code == "synonym" {
        let v = value.text().unwrap_or("");
        if !codes.contains(v) {
            // CODESYSTEM_PROPERTY_SYNONYM_CHECK
            walk.warn(
                property,
                IssueCode::BusinessRule,
                format!("The synonym '{v}' is not also defined in the code system. The Synonym property should only used to declare equivalence to other existing codes"),
            );
        }
    }
}

/// `valueDateTime` → `dateTime`, `valueCoding` → `Coding` (the one
/// complex type a concept property may have).
fn type_of_value(name: &str) -> String {
    let suffix = name.strip_prefix("value").unwrap_or(name);
    if suffix == "Coding" {
        suffix.to_owned()
    } else {
        let mut chars = suffix.chars();
        chars.next().map(|f| f.to_ascii_lowercase().to_string() + chars.as_str()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::type_of_value;
    use crate::primitive::is_absolute_url;

    #[test]
    fn value_names_give_fhir_types() {
        assert_eq!(type_of_value("valueCode"), "code");
        assert_eq!(type_of_value("valueDateTime"), "dateTime");
        assert_eq!(type_of_value("valueCoding"), "Coding");
        assert_eq!(type_of_value("valueBoolean"), "boolean");
        assert_eq!(type_of_value("valueDecimal"), "decimal");
    }

    #[test]
    fn absolute_urls_have_a_lower_case_scheme_and_no_spaces() {
        assert!(is_absolute_url("http://example.org/p"));
        assert!(is_absolute_url("urn:oid:1.2.3"));
        assert!(!is_absolute_url("status"));
        assert!(!is_absolute_url("HTTP://example.org"));
        assert!(!is_absolute_url("http://a b"));
        assert!(!is_absolute_url("http:"));
    }
}
