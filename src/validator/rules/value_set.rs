//! ValueSet rules, as the reference's ValueSet validator applies them: each
//! `compose.include` and `compose.exclude` (its system: absolute, without a
//! `|version`, a CodeSystem and not a supplement, a ValueSet or an OID; its
//! imported value sets; its concepts against a loaded complete CodeSystem;
//! its filters: property known, operation allowed, value of the property's
//! type), and an expansion's parameters, total and offset.
//!
//! Each check names the message key it raises. Look-ups go to the loaded
//! definitions only: what is not loaded is reported as not checked, never
//! as wrong. What the reference asks a terminology server (codes of systems
//! not loaded, unknown systems) is left alone.

use crate::issue::{quoted, IssueCode};
use crate::tree::Node;
use crate::validator::element::Walk;
use serde_json::Value;
use std::collections::HashMap;

/// Systems the reference checks with a checker of their own (own property
/// names and value rules); their filters are left to a terminology server.
const SPECIAL_SYSTEMS: &[&str] = &[
    "http://snomed.info/sct",
    "http://loinc.org",
    "http://www.nlm.nih.gov/research/umls/rxnorm",
    "http://unitsofmeasure.org",
    "http://www.ama-assn.org/go/cpt",
    "urn:ietf:bcp:47",
];

/// The filter properties every code system has.
const GENERAL_PROPERTIES: &[&str] =
    &["concept", "code", "status", "inactive", "effectiveDate", "deprecationDate", "retirementDate", "notSelectable", "synonym", "comment", "itemWeight"];

/// Filter operations in the order the reference lists them.
const OPS: &[&str] = &["=", "is-a", "descendent-of", "is-not-a", "regex", "in", "not-in", "generalizes", "child-of", "descendent-leaf", "exists"];

/// The operations R4 allows on `concept` (and, with `regex`, on `code`).
const CONCEPT_OPS: &[&str] = &["=", "in", "is-a", "descendent-of", "is-not-a", "generalizes", "not-in"];

/// How many concepts of one include the reference checks (its default limit).
const CODE_LIMIT: usize = 1000;

const CQF_EXPRESSION: &str = "http://hl7.org/fhir/StructureDefinition/cqf-expression";

/// How a filter value is read, by the property's type (the reference's
/// names, which its messages cite).
#[derive(Clone, Copy, PartialEq, Debug)]
enum FilterType {
    Boolean,
    Integer,
    Decimal,
    Code,
    DateTime,
    Coding,
}

impl FilterType {
    fn name(self) -> &'static str {
        match self {
            FilterType::Boolean => "Boolean",
            FilterType::Integer => "Integer",
            FilterType::Decimal => "Decimal",
            FilterType::Code => "Code",
            FilterType::DateTime => "DateTime",
            FilterType::Coding => "Coding",
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum CodeRule {
    None,
    Warning,
    Error,
}

struct FilterRules {
    kind: FilterType,
    code_rule: CodeRule,
    ops: Vec<&'static str>,
}

/// The contained resources by id, looked up by each `#id` system (not
/// compared with every contained resource per include: the twenty-sixth
/// pass's R1).
type ContainedById<'n> = HashMap<&'n str, Vec<&'n Node>>;

pub(crate) fn check_value_set(walk: &mut Walk<'_, '_>, vs: &Node) {
    parameters(walk, vs);
    let mut contained: ContainedById = HashMap::new();
    for c in vs.children_named("contained") {
        contained.entry(c.child_text("id").unwrap_or("")).or_default().push(c);
    }
    let composes: Vec<&Node> = vs.children_named("compose").collect();
    for (ci, compose) in composes.iter().enumerate() {
        walk.path.push("compose", (composes.len() > 1).then_some(ci));
        for part in ["include", "exclude"] {
            for (i, include) in compose.children_named(part).enumerate() {
                walk.path.push(part, Some(i));
                check_include(walk, &contained, include);
                walk.path.pop();
            }
        }
        walk.path.pop();
    }
    let expansions: Vec<&Node> = vs.children_named("expansion").collect();
    for (ci, expansion) in expansions.iter().enumerate() {
        walk.path.push("expansion", (expansions.len() > 1).then_some(ci));
        check_expansion(walk, expansion);
        walk.path.pop();
    }
}

const VALUESET_PARAMETER: &str = "http://hl7.org/fhir/tools/StructureDefinition/valueset-parameter";

/// The value set's declared parameters (the tools' `valueset-parameter`
/// extension): named as recommended, documented, and used by a filter's
/// expression; and every `%name` a filter's expression uses, declared.
fn parameters(walk: &mut Walk<'_, '_>, vs: &Node) {
    let sub_value = |ext: &'_ Node, name: &str| -> Option<String> {
        ext.children_named("extension").find(|e| e.child_text("url") == Some(name)).and_then(|e| e.children.iter().find(|c| c.name.starts_with("value")).and_then(|v| v.text().map(str::to_owned)))
    };
    // (index among the extensions, name, used)
    let mut declared: Vec<(usize, String, bool)> = Vec::new();
    for (i, ext) in vs.children_named("extension").enumerate() {
        if ext.child_text("url") != Some(VALUESET_PARAMETER) {
            continue;
        }
        let Some(name) = sub_value(ext, "name") else { continue };
        walk.path.push("extension", Some(i));
        if sub_value(ext, "documentation").is_none() && !name.starts_with("p-") {
            // VALUESET_PARAMETER_NO_DOCO
            walk.warn(ext, IssueCode::BusinessRule, format!("Without documentation, users likely won't be able to use the valueset parameter '{name}' correctly"));
        }
        if !name.starts_with("p-") {
            // VALUESET_PARAMETER_NAME_WARNING
            walk.inform(ext, IssueCode::BusinessRule, format!("ValueSet parameter names are recommended to start with 'p-' but this is '{name}'"));
        }
        walk.path.pop();
        declared.push((i, name, false));
    }
    for compose in vs.children_named("compose") {
        for (part, sets) in [("include", compose.children_named("include").collect::<Vec<_>>()), ("exclude", compose.children_named("exclude").collect())] {
            for (si, set) in sets.iter().enumerate() {
                for (fi, filter) in set.children_named("filter").enumerate() {
                    let Some(value) = filter.child("value") else { continue };
                    for (ei, ext) in value.children_named("extension").enumerate() {
                        if ext.child_text("url") != Some(CQF_EXPRESSION) {
                            continue;
                        }
                        let Some(expression) = ext.child("valueExpression").and_then(|e| e.child_text("expression")) else { continue };
                        for constant in expression_constants(expression) {
                            match declared.iter_mut().find(|(_, n, _)| *n == constant) {
                                Some(p) => p.2 = true,
                                None => {
                                    let compose_index = (vs.children_named("compose").count() > 1).then_some(0);
                                    walk.path.push("compose", compose_index);
                                    walk.path.push(part, Some(si));
                                    walk.path.push("filter", Some(fi));
                                    walk.path.push("value", None);
                                    walk.path.push("extension", Some(ei));
                                    // VALUESET_BAD_FILTER_EXPR_PARAM_NAME
                                    walk.error(ext, IssueCode::Exception, format!("The filter parameter expression '{expression}' refers to the unknown parameter '{constant}'"));
                                    for _ in 0..5 {
                                        walk.path.pop();
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    let extensions: Vec<&Node> = vs.children_named("extension").collect();
    for (i, name, used) in declared {
        if !used {
            walk.path.push("extension", Some(i));
            // VALUESET_PARAMETER_NOT_USED
            walk.warn(extensions[i], IssueCode::BusinessRule, format!("The value set parameter '{name}' is not used"));
            walk.path.pop();
        }
    }
}

/// The `%name` constants a FHIRPath expression uses (quoted ones too: ``%`p-x` ``).
fn expression_constants(expression: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = expression;
    while let Some(at) = rest.find('%') {
        rest = &rest[at + 1..];
        let name: String = if let Some(quoted) = rest.strip_prefix('`').or_else(|| rest.strip_prefix('\'')) {
            quoted.chars().take_while(|c| *c != '`' && *c != '\'').collect()
        } else {
            rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
        };
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// One include or exclude.
fn check_include(walk: &mut Walk<'_, '_>, contained: &ContainedById, include: &Node) {
    let mut system = include.child_text("system").map(str::to_owned);
    let version = include.child_text("version");
    if let Some(s) = system.clone() {
        if let Some((base, uver)) = s.split_once('|') {
            system = Some(base.to_owned());
            if uver.is_empty() {
                // VALUESET_REFERENCE_INVALID_TYPE_NO_VERSION_0
                walk.warn(
                    include,
                    IssueCode::BusinessRule,
                    format!("Value set System reference '{base}' ends with a '|' which is suspicious. Note that the reference must not use the canonical version syntax; the version goes in the .version property"),
                );
            } else {
                match version {
                    // VALUESET_REFERENCE_INVALID_TYPE_NO_VERSION_1 (the reference fills {1} with nothing here)
                    None => walk.error(
                        include,
                        IssueCode::BusinessRule,
                        format!("Value set System references must not use the canonical version syntax - the version '{uver}' should be in the version property, but that already contains '{{1}}'"),
                    ),
                    // VALUESET_REFERENCE_INVALID_TYPE_NO_VERSION_2
                    Some(v) if v != uver => walk.error(
                        include,
                        IssueCode::BusinessRule,
                        format!("Value set System references must not use the canonical version syntax - the version '{uver}' should be in the version property, but that already contains '{v}'"),
                    ),
                    // VALUESET_REFERENCE_INVALID_TYPE_NO_VERSION_3
                    Some(_) => walk.error(
                        include,
                        IssueCode::BusinessRule,
                        format!("Value set System references must not use the canonical version syntax - the version '{uver}' is already in the version property"),
                    ),
                }
            }
        }
    }

    imports(walk, include);

    let concepts: Vec<&Node> = include.children_named("concept").collect();
    let filters: Vec<&Node> = include.children_named("filter").collect();
    if system.as_deref() == Some("") {
        // VALUESET_INCLUDE_SYSTEM_ABSOLUTE
        walk.error(include, IssueCode::Invalid, "URI values in ValueSet.compose.include.system must be absolute".into());
    }
    let Some(system) = system.clone().filter(|s| !s.is_empty()) else {
        if !concepts.is_empty() || !filters.is_empty() {
            // VALUESET_NO_SYSTEM_WARNING
            walk.warn(include, IssueCode::BusinessRule, "No System specified, so Concepts and Filters can't be checked".into());
        }
        return;
    };
    let system = system.as_str();

    if !crate::primitive::is_absolute_url(system) {
        let msg = if system.starts_with('#') {
            // VALUESET_INCLUDE_SYSTEM_ABSOLUTE_FRAG
            "URI values in ValueSet.compose.include.system must be absolute. To reference a contained code system, use the full CodeSystem URL and reference it using the http://hl7.org/fhir/StructureDefinition/valueset-system extension"
        } else {
            // VALUESET_INCLUDE_SYSTEM_ABSOLUTE
            "URI values in ValueSet.compose.include.system must be absolute"
        };
        walk.error(include, IssueCode::Invalid, msg.into());
    }
    if system.starts_with('#') {
        contained_system(walk, contained, include, system, version);
    }

    // The code system as loaded: by `url|version` when a version is given.
    let canonical = match version {
        Some(v) => format!("{system}|{v}"),
        None => system.to_owned(),
    };
    let cs = walk.ctx.resource_json(&canonical).filter(|r| r.get("resourceType").and_then(Value::as_str) == Some("CodeSystem"));
    let mut validate_concepts = true;
    match &cs {
        Some(cs) => {
            let content = cs.get("content").and_then(Value::as_str);
            let ver = version.unwrap_or("");
            let content_msg = |c: &str| match version {
                // VALUESET_INCLUDE_CS_CONTENT
                None => format!("The value set references CodeSystem '{system}' which has status '{c}'"),
                // VALUESET_INCLUDE_CSVER_CONTENT
                Some(v) => format!("The value set references CodeSystem '{system}' version '{v}' which has status '{c}'"),
            };
            match content {
                None => walk.warn(include, IssueCode::Invalid, content_msg("null")),
                Some("example") => walk.warn(include, IssueCode::Invalid, content_msg("example")),
                Some("fragment") => walk.inform(include, IssueCode::Invalid, content_msg("fragment")),
                Some("supplement") => {
                    validate_concepts = false;
                    let base = cs.get("supplements").and_then(Value::as_str).unwrap_or("");
                    let msg = match version {
                        // VALUESET_INCLUDE_CS_SUPPLEMENT
                        None => format!("The value set references CodeSystem '{system}' which is a supplement. It must reference the underlying CodeSystem '{base}' and use the http://hl7.org/fhir/StructureDefinition/valueset-supplement extension for the supplement"),
                        // VALUESET_INCLUDE_CSVER_SUPPLEMENT
                        Some(_) => format!("The value set references CodeSystem '{system}' version '{ver}' which is a supplement. It must reference the underlying CodeSystem '{base}' and use the http://hl7.org/fhir/StructureDefinition/valueset-supplement extension for the supplement"),
                    };
                    walk.error(include, IssueCode::Invalid, msg);
                }
                Some("not-present") => {
                    // The reference says so only when its terminology server does
                    // not support the system (it does the well-known external ones).
                    validate_concepts = false;
                    if !crate::terminology::EXTERNAL_SYSTEMS.contains(&system) {
                        walk.warn(include, IssueCode::Invalid, content_msg("not-present"));
                    }
                }
                Some(_) => {}
            }
        }
        None => {
            if system.starts_with("urn:oid:") {
                wrong_oid(walk, include, system);
            }
            let value_set = walk.ctx.resource_json(&canonical).filter(|r| r.get("resourceType").and_then(Value::as_str) == Some("ValueSet"));
            if let Some(value_set) = value_set {
                validate_concepts = false;
                let systems = list_systems(&value_set);
                let msg = match systems.len() {
                    // VALUESET_INCLUDE_WRONG_VS
                    0 => format!("The system '{system}' is actually a value set"),
                    // VALUESET_INCLUDE_WRONG_VS_HINT
                    1 => format!("The system '{system}' is actually a value set, which itself refers to the system '{}' so that may be what is intended here", systems[0]),
                    // VALUESET_INCLUDE_WRONG_VS_MANY
                    _ => format!("The system '{system}' is actually a value set, which itself refers to the systems {}", systems.join(", ")),
                };
                walk.error(include, IssueCode::Invalid, msg);
            }
        }
    }

    if validate_concepts && concepts.len() > CODE_LIMIT {
        // VALUESET_INC_TOO_MANY_CODES
        walk.inform(
            include,
            IssueCode::BusinessRule,
            format!("The value set include has too many concepts to validate ({}, more than the limit of {CODE_LIMIT}), so each individual code has not been checked", concepts.len()),
        );
    } else if validate_concepts && !concepts.is_empty() {
        include_concepts(walk, include, system, version, &concepts, cs.is_some());
    }

    let checker_cs = if SPECIAL_SYSTEMS.contains(&system) { None } else { walk.ctx.resource_json(system).filter(|r| r.get("resourceType").and_then(Value::as_str) == Some("CodeSystem")) };
    if !SPECIAL_SYSTEMS.contains(&system) {
        for (i, filter) in filters.iter().enumerate() {
            walk.path.push("filter", Some(i));
            check_filter(walk, filter, system, checker_cs.as_deref(), cs.is_some());
            walk.path.pop();
        }
    }
}

/// `include.valueSet`: each found, and a ValueSet; several in one include.
fn imports(walk: &mut Walk<'_, '_>, include: &Node) {
    let value_sets: Vec<&Node> = include.children_named("valueSet").collect();
    for (i, ve) in value_sets.iter().enumerate() {
        let Some(v) = ve.text() else { continue };
        if walk.ctx.value_set(v).is_some() {
            continue;
        }
        walk.path.push("valueSet", Some(i));
        match walk.ctx.entry(v).map(|e| e.resource_type.clone()) {
            Some(t) if t != "ValueSet" => {
                // VALUESET_REFERENCE_INVALID_TYPE
                walk.warn(ve, IssueCode::BusinessRule, format!("The value set import {v} points to a resource of type {t} which is not valid"));
            }
            Some(_) => {}
            None if is_implicit_value_set(v) => {}
            None => {
                // VALUESET_REFERENCE_UNKNOWN
                walk.warn(ve, IssueCode::BusinessRule, format!("The value set import {v} could not be found so cannot be checked"));
            }
        }
        walk.path.pop();
    }
    if value_sets.len() > 1 {
        // VALUESET_IMPORT_UNION_INTERSECTION
        walk.warn(
            include,
            IssueCode::Informational,
            "This value set has a single include with multiple imported value sets. Per issue https://jira.hl7.org/browse/FHIR-25179, there has been confusion in the past whether these value sets are unioned or intersectioned. If this value set is contained in a package published prior to March 31 2022, it will be treated as a union, otherwise it will be treated as an intersection. If want a union, split the value set imports across multiple includes".into(),
        );
    }
}

/// Value sets a terminology server makes up from their URL (SNOMED CT and
/// LOINC implicit value sets, a code system's `?vs`): not known here, not missing.
fn is_implicit_value_set(url: &str) -> bool {
    url.starts_with("http://snomed.info/sct") || url.starts_with("http://loinc.org/vs") || url.contains("?fhir_vs") || url.ends_with("?vs")
}

/// `system` written as `#id`: the contained resource with that id, which must be a CodeSystem.
fn contained_system(walk: &mut Walk<'_, '_>, by_id: &ContainedById, include: &Node, system: &str, version: Option<&str>) {
    let mut found = 0;
    let id = system.strip_prefix('#').unwrap_or(system);
    let system = quoted(system);
    for contained in by_id.get(id).into_iter().flatten() {
        let kind = contained.resource_type.as_deref().unwrap_or("");
        if kind != "CodeSystem" {
            // VALUESET_INCLUDE_CS_NOT_CS
            walk.error(
                include,
                IssueCode::Invalid,
                format!("The include system '{system}' is a reference to a contained resource, but the contained resource with that id is not a CodeSystem, it's a {kind}"),
            );
        } else if version.is_none() || version == contained.child_text("version") {
            found += 1;
        }
    }
    let ver = quoted(version.unwrap_or(""));
    if found == 0 {
        let msg = match version {
            // VALUESET_INCLUDE_CS_NOT_FOUND
            None => format!("No matching contained code system found for system '{system}'"),
            // VALUESET_INCLUDE_CSVER_NOT_FOUND
            Some(_) => format!("No matching contained code system found for system '{system}' version '{ver}'"),
        };
        walk.error(include, IssueCode::Invalid, msg);
    } else if found > 1 {
        let msg = match version {
            // VALUESET_INCLUDE_CS_MULTI_FOUND
            None => format!("Multiple matching contained code systems found for system '{system}'"),
            // VALUESET_INCLUDE_CSVER_MULTI_FOUND
            Some(_) => format!("Multiple matching contained code systems found for system '{system}' version '{ver}'"),
        };
        walk.error(include, IssueCode::Invalid, msg);
    }
}

/// A system given as an OID that is the identifier of loaded CodeSystems.
/// The reference raises it only when neither the loaded definitions nor its
/// terminology server know a code system by that OID; a server is taken to
/// know one when a loaded CodeSystem with the identifier is not complete
/// (a fragment points at the full system, which may live under the OID:
/// v2-0005 and CDC race and ethnicity), so only complete ones are named.
fn wrong_oid(walk: &mut Walk<'_, '_>, include: &Node, system: &str) {
    // Looked up in the context's index of identifiers, not by reading every
    // CodeSystem per include (the twenty-fourth pass's P1).
    let canonicals: Vec<String> = walk.ctx.code_systems_identified_by(system).to_vec();
    let mut matches: Vec<String> = Vec::new();
    let mut incomplete = false;
    for canonical in &canonicals {
        let Some(cs) = walk.ctx.resource_json(canonical) else { continue };
        incomplete |= cs.get("content").and_then(Value::as_str) != Some("complete");
        let url = cs.get("url").and_then(Value::as_str).unwrap_or("").to_owned();
        let versioned = match cs.get("version").and_then(Value::as_str) {
            Some(v) => format!("{url}|{v}"),
            None => url.clone(),
        };
        matches.push(if matches.is_empty() { url } else { versioned });
    }
    if incomplete {
        return;
    }
    match matches.len() {
        0 => {}
        // VALUESET_INCLUDE_WRONG_CS_OID
        1 => walk.error(include, IssueCode::Invalid, format!("It is not valid to refer to a CodeSystem by an identifier like this '{system}' - use '{}'", matches[0])),
        // VALUESET_INCLUDE_WRONG_CS_OID_PLURAL (versioned urls)
        _ => walk.error(
            include,
            IssueCode::Invalid,
            format!("It is not valid to refer to a CodeSystem by an identifier like this '{system}', and the identifier matches to multiple CodeSystem resources ({})", canonicals.join(",")),
        ),
    }
}

/// The systems a value set's compose names (with `|version`), sorted, once each.
fn list_systems(vs: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in ["include", "exclude"] {
        for inc in vs.pointer(&format!("/compose/{part}")).and_then(Value::as_array).into_iter().flatten() {
            if let Some(s) = inc.get("system").and_then(Value::as_str) {
                let s = match inc.get("version").and_then(Value::as_str) {
                    Some(v) => format!("{s}|{v}"),
                    None => s.to_owned(),
                };
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
    }
    out.sort();
    out
}

/// The include's concepts against the code system, when it is loaded and
/// complete; an example system that is not loaded is named as such.
fn include_concepts(walk: &mut Walk<'_, '_>, include: &Node, system: &str, version: Option<&str>, concepts: &[&Node], loaded: bool) {
    if !loaded {
        if version.is_none() && is_example_url(system) && walk.v.terminology().code_index(system).is_none() {
            // VALUESET_EXAMPLE_SYSTEM_HINT (examples allowed, as the reference's default settings have it)
            walk.inform(include, IssueCode::BusinessRule, format!("Example System '{system}' specified, so Concepts and Filters can't be checked"));
        } else if !concepts.is_empty() && !is_example_url(system) && !crate::terminology::EXTERNAL_SYSTEMS.contains(&system) && walk.v.terminology().code_index(system).is_none() {
            if concepts.len() > 1 {
                // VALUESET_INC_CS_NO_SUPPORT
                walk.inform(
                    include,
                    IssueCode::BusinessRule,
                    format!("The concepts in the value set include have not been validated because the code system '{system}' is not known, and no terminology service supports it"),
                );
            } else {
                let why = match version {
                    // UNKNOWN_CODESYSTEM
                    None => format!("A definition for CodeSystem '{system}' could not be found, so the code cannot be validated"),
                    // UNKNOWN_CODESYSTEM_VERSION_NONE (no version of the system is loaded)
                    Some(v) => format!("A definition for CodeSystem '{system}' version '{v}' could not be found, so the code cannot be validated. No versions of this code system are known"),
                };
                walk.path.push("concept", Some(0));
                walk.inform(concepts[0], IssueCode::BusinessRule, why);
                walk.path.pop();
            }
        }
        return;
    }
    let canonical = match version {
        Some(v) => format!("{system}|{v}"),
        None => system.to_owned(),
    };
    let (mut with_display, mut without_display) = (false, false);
    for (i, concept) in concepts.iter().enumerate() {
        let Some(code) = concept.child_text("code") else { continue };
        match concept.child_text("display") {
            Some(d) if !d.is_empty() => {
                with_display = true;
                if let Some(wrong) = walk.v.terminology().display_issue(system, code, d) {
                    walk.path.push("concept", Some(i));
                    // VALUESET_CODE_CONCEPT_HINT, and VALUESET_CODE_CONCEPT_HINT_VER for a versioned include (the same words)
                    walk.inform(
                        concept,
                        IssueCode::Informational,
                        format!("{wrong}. Note that the display in the ValueSet does not have to match; this check exists to help check that it's not accidentally the wrong code"),
                    );
                    walk.path.pop();
                }
            }
            _ => without_display = true,
        }
        let unknown = if version.is_some() {
            walk.v.terminology().code_index(&canonical).filter(|ix| ix.complete && !ix.contains(code)).map(|ix| {
                let v = ix.version.as_deref().map(|v| format!(" version '{v}'")).unwrap_or_default();
                format!("Unknown code '{code}' in the CodeSystem '{system}'{v}")
            })
        } else {
            walk.v.terminology().unknown_code(system, code)
        };
        if let Some(why) = unknown {
            walk.path.push("concept", Some(i));
            match version {
                // VALUESET_INCLUDE_INVALID_CONCEPT_CODE
                None => walk.error(concept, IssueCode::BusinessRule, format!("The code '{code}' is not valid in the system {system} ({why})")),
                // VALUESET_INCLUDE_INVALID_CONCEPT_CODE_VER (the reference's text repeats {2}, the code)
                Some(v) => walk.error(concept, IssueCode::BusinessRule, format!("The code '{code}' is not valid in the system {system} version {v} ({code})")),
            }
            walk.path.pop();
        }
    }
    if with_display && without_display {
        // VALUESET_CONCEPT_DISPLAY_PRESENCE_MIXED
        walk.inform(include, IssueCode::BusinessRule, "This include has some concepts with displays and some without - check that this is what is intended".into());
    }
}

/// The reference's example URLs: example.org and friends, and the OIDs kept for examples.
fn is_example_url(url: &str) -> bool {
    const HOSTS: &[&str] = &["example.org", "acme.com", "acme.org", "example.com", "example.net"];
    HOSTS.iter().any(|h| url.contains(&format!("{h}/")) || url.ends_with(h)) || url.starts_with("urn:oid:1.3.6.1.4.1.32473.") || url.starts_with("urn:oid:2.999.")
}

/// One filter: its property known to the system, its operation allowed for
/// the property, its value readable as the property's type.
fn check_filter(walk: &mut Walk<'_, '_>, filter: &Node, system: &str, cs: Option<&Value>, version_loaded: bool) {
    let Some(property) = filter.child_text("property") else { return };
    let op = filter.child_text("op");
    let value_node = filter.child("value");
    let value = value_node.and_then(Node::text);
    let expression = value_node.and_then(|v| v.children_named("extension").find(|e| e.child_text("url") == Some(CQF_EXPRESSION)));

    let mut known: Vec<String> = GENERAL_PROPERTIES.iter().map(|s| s.to_string()).collect();
    if let Some(cs) = cs {
        if cs.get("hierarchyMeaning").is_some() {
            known.extend(["parent", "child", "partOf"].map(String::from));
        }
        for key in ["filter", "property"] {
            for f in cs.get(key).and_then(Value::as_array).into_iter().flatten() {
                if let Some(code) = f.get("code").and_then(Value::as_str) {
                    if !known.iter().any(|k| k == code) {
                        known.push(code.to_owned());
                    }
                }
            }
        }
    }
    if !known.iter().any(|k| k == property) {
        let list = known.join(",");
        if version_loaded {
            // VALUESET_UNKNOWN_FILTER_PROPERTY
            walk.warn(
                filter,
                IssueCode::Invalid,
                format!("The property '{property}' is not known for the system '{system}', so may not be understood by the terminology ecosystem. Known properties for this system: {list}"),
            );
        } else {
            // VALUESET_UNKNOWN_FILTER_PROPERTY_NO_CS
            walk.inform(
                filter,
                IssueCode::Invalid,
                format!("No definition can be found for the system {system}, and the property '{property}' is not a generally known property, so the property might not be valid, or understood by the terminology ecosystem. In case it's useful, the list of generally known properties for all systems is {list}"),
            );
        }
        return;
    }
    let Some(rules) = rules_for_filter(property, cs) else { return };
    if !rules.ops.is_empty() {
        if let Some(op) = op.filter(|op| !rules.ops.contains(op)) {
            let allowed: Vec<&str> = OPS.iter().copied().filter(|o| rules.ops.contains(o)).collect();
            // VALUESET_BAD_FILTER_OP
            walk.error(
                filter,
                IssueCode::Invalid,
                format!("The operation '{op}' is not allowed for property '{property}' in system '{system}'. Allowed ops: {}", allowed.join(",")),
            );
        }
    }
    let Some(value) = value else {
        let expr_value = expression.and_then(|e| e.children.iter().find(|c| c.name.starts_with("value")));
        let Some(expr_value) = expr_value else {
            // VALUESET_BAD_FILTER_EXPR_OR_VALUE
            walk.error(filter, IssueCode::Invalid, "A filter needs a value and or an expression for the value".into());
            return;
        };
        let language = expr_value.child_text("language").unwrap_or("");
        if language != "text/fhirpath" {
            walk.path.push("value", None);
            walk.path.push("extension", None);
            walk.path.push("value", None);
            // VALUESET_BAD_FILTER_EXPR_LANG
            walk.error(expr_value, IssueCode::Invalid, format!("A ValueSet expression language must be 'text/fhirpath' not '{language}'"));
            walk.path.pop();
            walk.path.pop();
            walk.path.pop();
        } else if let Some(text) = expr_value.child_text("expression") {
            if let Err(e) = crate::fhirpath::parse(text) {
                walk.path.push("value", None);
                walk.path.push("extension", None);
                walk.path.push("value", None);
                // VALUESET_BAD_FILTER_EXPR_VALUE
                walk.error(expr_value, IssueCode::Exception, format!("The value of the expression '{text}' is not a valid FHIRPath: {e}"));
                walk.path.pop();
                walk.path.pop();
                walk.path.pop();
            }
        }
        return;
    };
    if expression.is_some() {
        // VALUESET_BAD_FILTER_EXPR_AND_VALUE
        walk.error(filter, IssueCode::Invalid, "A filter can't have both a value and and expression for the value at the same time".into());
    }
    match op {
        Some("exists") => {
            let boolean = FilterRules { kind: FilterType::Boolean, code_rule: CodeRule::None, ops: Vec::new() };
            filter_value(walk, filter, system, property, "exists", value, &boolean);
        }
        Some("regex") => {
            if let Some(err) = regex_error(value) {
                // VALUESET_BAD_FILTER_VALUE_VALID_REGEX
                walk.error(filter, IssueCode::Invalid, format!("The value for a filter based on property '{property}' should be a valid regex, not '{value}' (err = '{err}')"));
            }
            if property == "concept" {
                // VALUESET_BAD_PROPERTY_NO_REGEX
                walk.error(
                    filter,
                    IssueCode::Invalid,
                    format!("Cannot apply a regex filter to the property '{property}' (usually regex filters are applied to the codes, or a named property of the code system)"),
                );
            }
        }
        Some(o @ ("in" | "not-in")) => {
            for v in value.split(',') {
                filter_value(walk, filter, system, property, o, v, &rules);
            }
        }
        o => filter_value(walk, filter, system, property, o.unwrap_or(""), value, &rules),
    }
}

/// The reference's rules for a filter on `property`: from the code
/// system's own filters and property definitions, then the general ones.
fn rules_for_filter(property: &str, cs: Option<&Value>) -> Option<FilterRules> {
    let mut ops: Vec<&'static str> = Vec::new();
    if let Some(cs) = cs {
        for f in cs.get("filter").and_then(Value::as_array).into_iter().flatten() {
            if f.get("code").and_then(Value::as_str) == Some(property) {
                for op in f.get("operator").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                    if let Some(known) = OPS.iter().find(|o| **o == op) {
                        if !ops.contains(known) {
                            ops.push(known);
                        }
                    }
                }
            }
        }
        for p in cs.get("property").and_then(Value::as_array).into_iter().flatten() {
            if p.get("code").and_then(Value::as_str) != Some(property) {
                continue;
            }
            let kind = match p.get("type").and_then(Value::as_str) {
                Some("boolean") => FilterType::Boolean,
                // Properties of type code: a code of the system, a warning when not (outside publication).
                Some("code") => return Some(FilterRules { kind: FilterType::Code, code_rule: CodeRule::Warning, ops }),
                Some("Coding") => FilterType::Coding,
                Some("dateTime") => FilterType::DateTime,
                Some("decimal") => FilterType::Decimal,
                Some("integer") => FilterType::Integer,
                Some("string") => return None,
                _ => continue,
            };
            return Some(FilterRules { kind, code_rule: CodeRule::None, ops });
        }
    }
    let add = |mut ops: Vec<&'static str>, more: &[&'static str]| {
        for m in more {
            if !ops.contains(m) {
                ops.push(m);
            }
        }
        ops
    };
    let rules = |kind, code_rule, ops| Some(FilterRules { kind, code_rule, ops });
    match property {
        "concept" => rules(FilterType::Code, CodeRule::Error, add(ops, CONCEPT_OPS)),
        "code" => rules(FilterType::Code, CodeRule::Error, add(ops, &["regex", "=", "in", "is-a", "descendent-of", "is-not-a", "generalizes", "not-in"])),
        "status" | "synonym" => rules(FilterType::Code, CodeRule::None, ops),
        "inactive" | "notSelectable" => rules(FilterType::Boolean, CodeRule::None, ops),
        "effectiveDate" | "deprecationDate" | "retirementDate" => rules(FilterType::DateTime, CodeRule::None, ops),
        "parent" | "child" | "partOf" => rules(FilterType::Code, CodeRule::Error, ops),
        "itemWeight" => rules(FilterType::Decimal, CodeRule::None, ops),
        _ => None,
    }
}

/// One filter value against the property's type.
fn filter_value(walk: &mut Walk<'_, '_>, filter: &Node, system: &str, property: &str, op: &str, value: &str, rules: &FilterRules) {
    if op != "in" && op != "not-in" && value.contains(',') {
        // VALUESET_BAD_FILTER_VALUE_HAS_COMMA
        walk.inform(
            filter,
            IssueCode::Invalid,
            format!("The filter value has a comma, but the operation is different to 'in' and 'not-in', so the comma will be interpreted as part of the {} value", rules.kind.name()),
        );
    }
    let comparison = |v: &str| -> String {
        match ["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"].iter().find(|p| v.starts_with(**p)) {
            Some(_) => v[2..].to_owned(),
            None => v.to_owned(),
        }
    };
    match rules.kind {
        FilterType::Boolean => {
            if value != "true" && value != "false" {
                // VALUESET_BAD_FILTER_VALUE_BOOLEAN
                walk.error(filter, IssueCode::Invalid, format!("The value for a filter based on property '{property}' must be either 'true' or 'false', not '{value}'"));
            }
        }
        FilterType::Code => {
            if value.trim() != value {
                // VALUESET_BAD_FILTER_VALUE_CODE
                walk.error(filter, IssueCode::Invalid, format!("The value for a filter based on property '{property}' must be a valid code, not '{value}'"));
            }
            if rules.code_rule != CodeRule::None {
                if let Some(why) = walk.v.terminology().unknown_code(system, value) {
                    // VALUESET_BAD_FILTER_VALUE_VALID_CODE
                    let msg = format!("The value for a filter based on property '{property}' must be a valid code from the system '{system}', and '{value}' is not ({why})");
                    if rules.code_rule == CodeRule::Error {
                        walk.error(filter, IssueCode::Invalid, msg);
                    } else {
                        walk.warn(filter, IssueCode::Invalid, msg);
                    }
                } else if walk.v.terminology().code_inactive(system, value) {
                    // VALUESET_BAD_FILTER_VALUE_VALID_CODE_INACTIVE
                    walk.warn(filter, IssueCode::Invalid, format!("The code for the filter '{property}' is inactive ('{value}')"));
                }
            }
        }
        FilterType::DateTime => {
            let v = comparison(value);
            if !is_filter_date_time(&v) {
                // VALUESET_BAD_FILTER_VALUE_DATETIME
                walk.error(filter, IssueCode::Invalid, format!("The value for a filter based on property '{property}' must be a valid date(/time), not '{v}'"));
            }
        }
        FilterType::Decimal => {
            let v = comparison(value);
            if !is_decimal(&v) {
                // VALUESET_BAD_FILTER_VALUE_DECIMAL
                walk.error(filter, IssueCode::Invalid, format!("The value for a filter based on property '{property}' must be a decimal value, not '{v}'"));
            }
        }
        FilterType::Integer => {
            let v = comparison(value);
            if !is_integer(&v) {
                // VALUESET_BAD_FILTER_VALUE_INTEGER
                walk.error(filter, IssueCode::Invalid, format!("The value for a filter based on property '{property}' must be integer value, not '{v}'"));
            }
        }
        FilterType::Coding => {
            if is_legacy_coding(value) {
                // VALUESET_BAD_FILTER_VALUE_CODED_LEGACY
                walk.warn(
                    filter,
                    IssueCode::Invalid,
                    format!("The value for a filter based on property '{property}' should be in the format system(|version)#code, not the coding search pattern '{value}'"),
                );
            } else {
                let (sv, code) = match value.split_once('#') {
                    Some((s, c)) => (s, Some(c)),
                    None => (value, None),
                };
                let system = sv.split_once('|').map_or(sv, |(s, _)| s);
                if !crate::primitive::is_absolute_url(system) && code.is_none() {
                    // VALUESET_BAD_FILTER_VALUE_CODED
                    walk.error(filter, IssueCode::Invalid, format!("The value for a filter based on property '{property}' must be in the format system(|version)#code, not '{value}'"));
                } else if let Some(why) = code.and_then(|c| walk.v.terminology().unknown_code(system, c)) {
                    // VALUESET_BAD_FILTER_VALUE_CODED_INVALID: the coding names a code its loaded system does not hold
                    walk.error(filter, IssueCode::Invalid, format!("The value for a filter based on property '{property}' is '{value}' which is not a valid code ({why})"));
                }
            }
        }
    }
}

/// `system|code`, the search syntax, where the filter wants `system#code`.
fn is_legacy_coding(v: &str) -> bool {
    let Some((scheme, rest)) = v.split_once(':') else { return false };
    let scheme_ok = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
    let Some((middle, code)) = rest.rsplit_once('|') else { return false };
    // `[^\s|]+\|\S+`: the part before the one bar has no bar and no space.
    scheme_ok && !middle.is_empty() && !middle.contains('|') && !middle.chars().any(char::is_whitespace) && !code.is_empty() && !code.chars().any(char::is_whitespace)
}

/// The reference's date(/time) pattern for filter values (year, month, day, time with zone).
fn is_filter_date_time(v: &str) -> bool {
    use std::sync::OnceLock;
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?)?)?)?$").expect("the date pattern compiles")
    })
    .is_match(v)
}

/// A decimal, exponent allowed.
fn is_decimal(v: &str) -> bool {
    let v = v.strip_prefix(['-', '+']).unwrap_or(v);
    let (mantissa, exponent) = match v.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (v, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(int) && frac.is_none_or(digits) && exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)))
}

/// A 32-bit integer.
fn is_integer(v: &str) -> bool {
    let digits = v.strip_prefix('-').unwrap_or(v);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && v.parse::<i32>().is_ok()
}

/// Why a regex cannot compile, as far as the syntax both Rust and Java
/// share tells: what only Java supports (look-around, back-references,
/// possessive quantifiers, `\Q..\E`, Java classes) is never an error here.
fn regex_error(pattern: &str) -> Option<String> {
    if ["*+", "++", "?+", "}+", "\\Q", "\\p{java", "\\G", "\\Z", "\\z", "\\R", "\\h", "\\H", "\\X", "&&"].iter().any(|j| pattern.contains(j)) {
        return None;
    }
    match regex_syntax::ast::parse::Parser::new().parse(pattern) {
        Ok(_) => None,
        Err(e) => {
            use regex_syntax::ast::ErrorKind;
            match e.kind() {
                ErrorKind::UnsupportedLookAround | ErrorKind::UnsupportedBackreference => None,
                ErrorKind::EscapeUnrecognized => None,
                _ => Some(e.kind().to_string()),
            }
        }
    }
}

/// An expansion: its parameters, identifier, offset and total against what it contains.
fn check_expansion(walk: &mut Walk<'_, '_>, expansion: &Node) {
    let parameters: Vec<&Node> = expansion.children_named("parameter").collect();
    let control = parameters.iter().filter(|p| !p.child_text("name").unwrap_or("").starts_with("used-")).count();
    if control == 0 {
        // VALUESET_EXPANSION_PARAMETER_NOT_FOUND
        walk.warn(
            expansion,
            IssueCode::BusinessRule,
            "This expansion has no parameters; in the absence of the parameters that controlled the expansion, systems may not be able to determine whether it is safe to use this expansion".into(),
        );
    }
    if expansion.child("identifier").is_none() {
        // VALUESET_EXPANSION_NO_IDENTIFIER
        walk.inform(expansion, IssueCode::BusinessRule, "This expansion has no identifier. Identifiers are recommended to help with audit and traceability".into());
    }
    let mut count = 0usize;
    // Each system once, in order of first use: an expansion may name
    // thousands (the twenty-fourth pass's P2).
    let mut unversioned: indexmap::IndexSet<&str> = indexmap::IndexSet::new();
    fn gather<'n>(node: &'n Node, count: &mut usize, unversioned: &mut indexmap::IndexSet<&'n str>) {
        for contains in node.children_named("contains") {
            *count += 1;
            if let (Some(system), None) = (contains.child_text("system"), contains.child("version")) {
                unversioned.insert(system);
            }
            gather(contains, count, unversioned);
        }
    }
    gather(expansion, &mut count, &mut unversioned);

    let total = expansion.child_text("total").and_then(|t| t.parse::<i64>().ok());
    let offset = expansion.child_text("offset").and_then(|t| t.parse::<i64>().ok());
    if let (Some(t), Some(o)) = (total, offset) {
        if o + count as i64 > t {
            // VALUESET_EXPANSION_PARAMETER_COUNT_WRONG
            walk.warn(expansion, IssueCode::Invalid, format!("The expansion offset ({o}) + the count of items ({count}) is greater than the stated total ({t})"));
        }
    }

    // The versions `used-codesystem` gives each system (`system|version`).
    let mut used: std::collections::HashMap<&str, Vec<&str>> = std::collections::HashMap::new();
    for value in parameters
        .iter()
        .filter(|p| p.child_text("name") == Some("used-codesystem"))
        .filter_map(|p| p.children.iter().find(|c| c.name.starts_with("value")).and_then(Node::text))
    {
        if let Some((system, _)) = value.rsplit_once('|') {
            let versions = used.entry(system).or_default();
            if !versions.contains(&value) && versions.len() < 2 {
                versions.push(value);
            }
        }
    }
    for system in unversioned {
        let matches = used.get(system).map_or(0, Vec::len);
        match matches {
            0 => {
                // VALUESET_EXPANSION_PARAMETER_SYSTEM_NEEDED
                walk.warn(
                    expansion,
                    IssueCode::Invalid,
                    format!("Because the expansion uses system '{system}' without a version, it should list the system using the expansion parameter 'used-codesystem'"),
                );
            }
            1 => {}
            _ => {
                // VALUESET_EXPANSION_PARAMETER_SYSTEM_MULTIPLE
                walk.error(
                    expansion,
                    IssueCode::Invalid,
                    format!("The expansion uses system '{system}' without a version, but then provides multiple 'used-codesystem' parameters so the version cannot be determined"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{is_decimal, is_filter_date_time, is_integer, is_legacy_coding, regex_error};

    #[test]
    fn absolute_urls_as_the_reference_reads_them() {
        assert!(crate::primitive::is_absolute_url("http://example.org/cs"));
        assert!(crate::primitive::is_absolute_url("urn:oid:1.2.3"));
        assert!(!crate::primitive::is_absolute_url("#cs"));
        assert!(!crate::primitive::is_absolute_url("cs"));
        assert!(!crate::primitive::is_absolute_url("http://a b"));
        assert!(!crate::primitive::is_absolute_url("x-y:z"));
    }

    #[test]
    fn filter_values_by_type() {
        assert!(is_decimal("1.5") && is_decimal("-2") && is_decimal("1e3") && !is_decimal("1.") && !is_decimal("a"));
        assert!(is_integer("12") && is_integer("-3") && !is_integer("1.2") && !is_integer("99999999999"));
        assert!(is_filter_date_time("2020") && is_filter_date_time("2020-01-02T10:00:00Z") && !is_filter_date_time("2020-13"));
        assert!(is_legacy_coding("http://loinc.org|1234-5") && !is_legacy_coding("http://loinc.org#1234-5"));
        assert!(regex_error("[a-z]+").is_none() && regex_error("(?=a)b").is_none() && regex_error("[a-").is_some());
    }
}
