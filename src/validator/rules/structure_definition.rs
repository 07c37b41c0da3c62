//! StructureDefinition rules, as the reference's StructureDefinition
//! validator applies them: the definition against its base (derivation,
//! kind, type, circularity, experimental status), an extension's contexts
//! and its fixed url, obligation profiles, and, per element of the
//! differential and the snapshot, slicing, fixed and pattern values,
//! types and their profiles, bindings, invariants and the properties a
//! snapshot requires or prohibits; also the `eld-*`/`sdf-*` invariants that
//! need no FHIRPath engine and the differential against the snapshot
//! generated from it. Rules on one element's `eld-*` invariants live in
//! `element_rules.rs`.
//!
//! Each check names the message key it raises. Look-ups go to the loaded
//! definitions through the context's indexes; what is not loaded is not
//! judged (apart from the reference's own "unable to resolve" warnings).

use super::element_rules;
use crate::definition::{ElementDefinition, StructureDefinition};
use crate::issue::{quoted, Issue, IssueCode};
use crate::structure::StructureDef;
use crate::tree::Node;
use crate::validator::element::Walk;
use serde_json::Value;
use std::sync::Arc;
use std::collections::HashMap;

/// A StructureDefinition against its base and the rules of snapshot generation.
pub(super) fn check_structure_definition(walk: &mut Walk<'_, '_>, node: &Node) {
    let facts = Facts::read(walk, node);
    definition_rules(walk, node, &facts);
    type_value(walk, node);
    for list in ["differential", "snapshot"] {
        if let Some(list_node) = node.child(list) {
            walk.path.push(list, None);
            element_list_rules(walk, node, list_node, list == "snapshot", &facts);
            walk.path.pop();
        }
    }
    let json = crate::convert::resource_to_json(node, walk.ctx);
    // Without a url or a type it cannot be read; the walk has said what is missing.
    let Ok(sd) = serde_json::from_value::<StructureDefinition>(json) else { return };
    let diff: &[ElementDefinition] = sd.differential.as_ref().map_or(&[], |d| &d.element);
    let snap: &[ElementDefinition] = sd.snapshot.as_ref().map_or(&[], |s| &s.element);

    name_rule(walk, node, &sd);
    type_rules(walk, node, &sd);
    if diff.iter().any(|e| e.choice("defaultValue").is_some()) && sd.derivation.as_deref() != Some("specialization") {
        walk.error(node, IssueCode::Invariant, "Constraint failed: sdf-21: 'Default values can only be specified on specializations'".into());
    }

    let generated = differential_against_snapshot(walk, node, &sd, diff);
    let type_tail = type_tail(&sd.type_name).to_string();
    for (list, elements) in [("differential", diff), ("snapshot", snap)] {
        let Some(list_node) = node.child(list) else { continue };
        let nodes: Vec<&Node> = list_node.children_named("element").collect();
        walk.path.push(list, None);
        for (i, e) in elements.iter().enumerate() {
            let Some(&en) = nodes.get(i) else { break };
            walk.path.push("element", Some(i));
            if !e.path.is_empty() && e.path != type_tail && !e.path.starts_with(&format!("{type_tail}.")) {
                walk.error(en, IssueCode::NotFound, format!("The path {} must start with the type of the structure {type_tail}", e.path));
            }
            // The types an element has: its own, or (in a differential) those of
            // the snapshot element it constrains.
            let inherited = if e.types.is_empty() && list == "differential" {
                generated.as_ref().and_then(|g| g.get(i).cloned().flatten())
            } else {
                None
            };
            element_rules::check_element(walk, en, e, inherited.as_deref());
            if list == "differential" {
                element_rules::check_type_profiles(walk, en, e);
            }
            walk.path.pop();
        }
        if list == "differential" {
            element_rules::slice_must_support(walk, list_node, elements);
        }
        walk.path.pop();
    }
}

/// `sdf-0`: the name is usable as an identifier.
fn name_rule(walk: &mut Walk<'_, '_>, node: &Node, sd: &StructureDefinition) {
    let Some(name) = sd.name.as_deref() else { return };
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && name.len() <= 255
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        walk.warn(
            node,
            IssueCode::Invariant,
            "Constraint failed: sdf-0: 'Name should be usable as an identifier for the module by machine processing applications such as code generation'".into(),
        );
    }
}

fn is_absolute(url: &str) -> bool {
    url.contains("://") || url.starts_with("urn:")
}

/// `StructureDefinition.type` as the reference reads it for any
/// definition: present, a namespaced type only for a logical model, and a
/// FHIR type only in its own definition or a constraint on it.
fn type_value(walk: &mut Walk<'_, '_>, node: &Node) {
    let Some(type_node) = node.child("type") else { return };
    let (url, kind, derivation) = (node.child_text("url").unwrap_or_default(), node.child_text("kind").unwrap_or_default(), node.child_text("derivation"));
    walk.path.push("type", None);
    match type_node.text() {
        // SD_TYPE_MISSING
        None => walk.error(type_node, IssueCode::Invalid, "No type found".into()),
        Some(v) if is_absolute(v) => {
            if kind != "logical" {
                // SD_TYPE_NOT_LOGICAL
                walk.error(type_node, IssueCode::Invalid, format!("The type {v} can only be defined if the kind is 'logical' not {kind}"));
            }
        }
        Some(v) => {
            let own = format!("{}{v}", crate::context::CORE_SD_BASE);
            if walk.ctx.type_definition(v).is_some() && url != own && derivation != Some("constraint") {
                // SD_TYPE_NOT_DERIVED
                walk.error(type_node, IssueCode::Invalid, format!("The type {v} can only be used as a type when constraining the base definition of the type"));
            }
        }
    }
    walk.path.pop();
}

/// The name a type gives its elements' paths: `Foo` for `http://example.org/StructureDefinition/Foo`.
fn type_tail(type_name: &str) -> &str {
    if is_absolute(type_name) {
        type_name.rsplit('/').next().unwrap_or(type_name)
    } else {
        type_name
    }
}

/// What a specialization defines: a type of its own, named in FHIR or in a namespace.
fn type_rules(walk: &mut Walk<'_, '_>, node: &Node, sd: &StructureDefinition) {
    if sd.derivation.as_deref() != Some("specialization") || sd.type_name.is_empty() {
        return;
    }
    let type_node = node.child("type").unwrap_or(node);
    if !is_absolute(&sd.type_name) {
        if walk.ctx.type_definition(&sd.type_name).is_none() {
            walk.path.push("type", None);
            walk.error(
                type_node,
                IssueCode::Invalid,
                format!("The type {} is not legal because it is not defined in the FHIR specification. Other types must have a namespace on them", sd.type_name),
            );
            walk.path.pop();
        }
    } else if sd.kind.as_deref() == Some("logical") {
        let ns = sd.type_name.rsplit_once('/').map_or(sd.type_name.as_str(), |(ns, _)| ns);
        if !sd.url.starts_with(ns) {
            walk.path.push("type", None);
            walk.warn(
                type_node,
                IssueCode::Invalid,
                format!("The type namespace {} SHOULD match the url namespace {} for the definition of the type", sd.type_name, sd.url),
            );
            walk.path.pop();
        }
    }
    if let Some(base_url) = sd.base_definition.as_deref() {
        if let Some(base) = walk.ctx.structure_definition(base_url) {
            if base.type_name == sd.type_name {
                walk.error(
                    node,
                    IssueCode::NotFound,
                    format!("The type {} must not be the same as the type in the base structure {base_url} that is being specialised", sd.type_name),
                );
            }
        }
    }
}

/// See [`differential_against_snapshot`].
const MAX_DIFFERENTIAL_CHECKED: usize = 2_000;

/// Generates the snapshot from the differential as the reference validator
/// does when it checks a definition, and reports the differential elements
/// that match nothing in it. Returns, per differential element, the types
/// of the snapshot element it was applied to.
fn differential_against_snapshot(
    walk: &mut Walk<'_, '_>,
    node: &Node,
    sd: &StructureDefinition,
    diff: &[ElementDefinition],
) -> Option<Vec<Option<Vec<String>>>> {
    if diff.is_empty() {
        return None;
    }
    // Generating a snapshot costs more than in proportion to the slices of
    // one element (each new slice is placed after those before it): beyond
    // this many differential elements it is not generated (the
    // twenty-eighth pass's T2). R4's and real guides' differentials are a
    // few hundred elements at most.
    if diff.len() > MAX_DIFFERENTIAL_CHECKED {
        walk.inform(
            node,
            IssueCode::TooCostly,
            format!("The differential has {} elements, more than careplan generates a snapshot for to check it against ({MAX_DIFFERENTIAL_CHECKED}); it was not checked against its base", diff.len()),
        );
        return None;
    }
    let base_url = sd.base_definition.as_deref()?;
    if !walk.ctx.knows(base_url) {
        walk.warn(node, IssueCode::NotFound, format!("Unable to find base {base_url} for StructureDefinition, so can't check the differential"));
        return None;
    }
    // Known but unreadable: the loader has said so.
    walk.ctx.structure_definition(base_url)?;
    // A path with an empty name (`a..b`) stops the reference generator outright.
    if let Some(bad) = diff.iter().find(|e| e.path.split('.').any(str::is_empty)) {
        walk.error(
            node,
            IssueCode::Exception,
            format!(
                "Error generating Snapshot: Invalid path '{}' in differential in {}: name portion missing ('..') (this usually arises from a problem in the differential)",
                bad.path, sd.url
            ),
        );
        return None;
    }
    let mut to_generate = sd.clone();
    to_generate.snapshot = None;
    // Our generator's own failures are not the definition's: nothing is claimed.
    let (generated, matched) = crate::snapshot::generate_matching(to_generate, walk.ctx).ok()?;
    let elements = generated.snapshot.map(|s| s.element).unwrap_or_default();
    fixed_values_against_base(walk, node, base_url, diff, &matched);
    // Found by id through an index, not a scan per differential element
    // (the twenty-eighth pass's T2: thousands of slices).
    let mut by_id: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (ix, e) in elements.iter().enumerate() {
        if let Some(id) = e.id.as_deref() {
            by_id.entry(id).or_insert(ix);
        }
    }
    let position = |id: &str| by_id.get(id).copied();
    let positions: Vec<Option<usize>> = matched.iter().map(|m| m.as_deref().and_then(position)).collect();
    let types: Vec<Option<Vec<String>>> =
        positions.iter().map(|p| p.map(|ix| elements[ix].types.iter().map(|t| t.code.clone()).collect())).collect();

    // The reference generator walks the base snapshot in order and takes the
    // differential elements as it meets them: an element listed after one
    // that comes later in the snapshot is never reached.
    // Only elements applied where their own id says take part: one the
    // generator placed by its path instead (an id it could not follow, an R4
    // choice rename) has no reliable position.
    let placed_by_id = |i: usize| match (&diff[i].id, &matched[i]) {
        (Some(own), Some(applied)) => own == applied,
        _ => true,
    };
    let mut order: Vec<(usize, usize)> =
        positions.iter().enumerate().filter(|&(i, _)| placed_by_id(i)).filter_map(|(i, p)| p.map(|p| (p, i))).collect();
    order.sort();
    let mut unmatched: Vec<usize> = matched.iter().enumerate().filter(|(_, m)| m.is_none()).map(|(i, _)| i).collect();
    let mut cursor = 0usize;
    for (_, i) in order {
        if i < cursor {
            unmatched.push(i);
        } else {
            cursor = i + 1;
        }
    }
    unmatched.sort();
    if unmatched.is_empty() {
        return Some(types);
    }
    let nodes: Vec<&Node> = node.child("differential").map(|d| d.children_named("element").collect()).unwrap_or_default();
    let mut ids = Vec::new();
    for &i in &unmatched {
        let e = &diff[i];
        ids.push(e.id.clone().unwrap_or_else(|| e.path.clone()));
        let en = nodes.get(i).copied().unwrap_or(node);
        walk.path.push("differential", None);
        walk.path.push("element", Some(i));
        walk.error(
            en,
            IssueCode::Value,
            format!(
                "No match found for {} in the generated snapshot: check that the path and definitions are legal in the differential (including order)",
                e.id.as_deref().unwrap_or(&e.path)
            ),
        );
        walk.path.pop();
        walk.path.pop();
    }
    let n = ids.len();
    walk.error(
        node,
        IssueCode::Value,
        format!(
            "The profile {} has {n} {} in the differential ({}: {}) that don't have a matching element in the snapshot: check that the path and definitions are legal in the differential (including order)",
            sd.url,
            if n == 1 { "element" } else { "elements" },
            if n == 1 { "id" } else { "ids" },
            ids.join(", ")
        ),
    );
    Some(types)
}

/// A profile may narrow what its base fixes or patterns, never contradict
/// it: a differential's fixed or pattern value must meet the base element's
/// fixed value exactly and its pattern as a pattern.
fn fixed_values_against_base(walk: &mut Walk<'_, '_>, node: &Node, base_url: &str, diff: &[ElementDefinition], matched: &[Option<String>]) {
    let Some(base) = walk.ctx.structure(base_url) else { return };
    let nodes: Vec<&Node> = node.child("differential").map(|d| d.children_named("element").collect()).unwrap_or_default();
    // SD_ELEMENT_REASON_DERIVED
    let reason = format!(", because the value must match the fixed value define in '{}'", base.versioned_url());
    for (i, d) in diff.iter().enumerate() {
        let Some((kind, value)) = d.choice("fixed").map(|(_, v)| ("fixed", v)).or_else(|| d.choice("pattern").map(|(_, v)| ("pattern", v))) else { continue };
        let element_node = nodes.get(i).copied().unwrap_or(node);
        // The reference compares with the base element whose id is this
        // element's path: a fixed value with a fixed value of the same type
        // (another type is SD_ELEMENT_FIXED_WRONG_TYPE, a pattern over a
        // pattern SD_ELEMENT_PATTERN_NO_FIXED, in `fixed_against_base`).
        if let Some(by_path) = base.elements.iter().find(|e| e.id == d.path).filter(|e| e.fixed.is_some() || e.pattern.is_some()) {
            let (Some((base_type, expected)), Some((own_type, actual))) = (&by_path.fixed, d.choice("fixed")) else { continue };
            if base_type != own_type || expected == actual {
                continue;
            }
            if let (Some(actual), Some(expected)) = (primitive_text(actual), primitive_text(expected)) {
                // _DT_Fixed_Wrong, where the reference puts it: at the element's path.
                let msg = format!("Value is '{}' but is fixed to '{}' in the profile {reason}", quoted(&actual), quoted(&expected));
                walk.report(element_node, Issue::error(IssueCode::Value, d.path.clone(), msg));
                continue;
            }
        }
        let Some(id) = matched.get(i).and_then(Option::as_deref) else { continue };
        let Some(b) = base.elements.iter().find(|e| e.id == id) else { continue };
        let problem = match (&b.fixed, &b.pattern) {
            (Some((_, f)), _) if f != value => Some(format!("is fixed to {} in the base", crate::validator::slicing::shown(f))),
            (None, Some((_, p))) if !json_meets_pattern(value, p) => Some(format!("must meet the pattern {} of the base", crate::validator::slicing::shown(p))),
            _ => None,
        };
        if let Some(problem) = problem {
            walk.path.push("differential", None);
            walk.path.push("element", Some(i));
            let msg = format!("The {kind} value {} of {id} {problem} {base_url}: a profile may narrow what its base fixes, not change it", crate::validator::slicing::shown(value));
            walk.error(element_node, IssueCode::Value, msg);
            walk.path.pop();
            walk.path.pop();
        }
    }
}

/// A primitive JSON value as text.
fn primitive_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Whether a JSON value has everything a pattern has (arrays: each pattern
/// item met by some item of the value).
fn json_meets_pattern(value: &serde_json::Value, pattern: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (value, pattern) {
        (Value::Object(v), Value::Object(p)) => p.iter().all(|(k, pv)| v.get(k).is_some_and(|vv| json_meets_pattern(vv, pv))),
        (Value::Array(v), Value::Array(p)) => p.iter().all(|pi| v.iter().any(|vi| json_meets_pattern(vi, pi))),
        (v, p) => v == p,
    }
}

// ------------------------------------------------------------------------
// The reference's StructureDefinition validator, rule by rule.

const CORE: &str = "http://hl7.org/fhir/StructureDefinition/";
const EXT_OBLIGATION_PROFILE: [&str; 2] =
    ["http://hl7.org/fhir/StructureDefinition/obligation-profile", "http://hl7.org/fhir/tools/StructureDefinition/obligation-profile"];
const EXT_OBLIGATION_INHERITS: [&str; 2] =
    ["http://hl7.org/fhir/StructureDefinition/inherit-obligations", "http://hl7.org/fhir/tools/StructureDefinition/inherit-obligations"];
const EXT_OBLIGATION: [&str; 2] = ["http://hl7.org/fhir/StructureDefinition/obligation", "http://hl7.org/fhir/tools/StructureDefinition/obligation"];
const EXT_ADDITIONAL_BINDING: &str = "http://hl7.org/fhir/tools/StructureDefinition/additional-binding";
const EXT_COMPLIES_WITH: &str = "http://hl7.org/fhir/StructureDefinition/structuredefinition-compliesWithProfile";
const EXT_JSON_NAME: [&str; 2] = ["http://hl7.org/fhir/tools/StructureDefinition/json-name", "http://hl7.org/fhir/tools/StructureDefinition/elementdefinition-json-name"];
const EXT_FHIR_TYPE: &str = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type";
const EXT_TYPE_MUST_SUPPORT: &str = "http://hl7.org/fhir/StructureDefinition/elementdefinition-type-must-support";
const EXT_BINDING_STYLE: &str = "http://hl7.org/fhir/tools/StructureDefinition/elementdefinition-binding-style";
const EXT_TYPE_CHARACTERISTICS: &str = "http://hl7.org/fhir/StructureDefinition/structuredefinition-type-characteristics";
const EXT_LOGICAL_TARGET: &str = "http://hl7.org/fhir/tools/StructureDefinition/logical-target";

/// What the rules read off the definition being validated and its base.
struct Facts {
    url: Option<String>,
    version: Option<String>,
    id: String,
    type_name: Option<String>,
    derivation: Option<String>,
    kind: Option<String>,
    experimental: bool,
    has_snapshot: bool,
    base_url: Option<String>,
    base: Option<Base>,
}

/// The base definition, as the rules need it.
struct Base {
    url: String,
    versioned: String,
    type_name: String,
    kind: String,
    is_abstract: bool,
    experimental: bool,
}

impl Facts {
    fn read(walk: &Walk<'_, '_>, node: &Node) -> Facts {
        let text = |name: &str| node.child_text(name).filter(|t| !t.is_empty()).map(str::to_owned);
        let base_url = text("baseDefinition");
        let base = base_url.as_deref().and_then(|b| walk.ctx.resource_json(b)).filter(|j| j.get("resourceType").and_then(Value::as_str) == Some("StructureDefinition")).map(|json| {
            let s = |k: &str| json.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            let url = s("url");
            let versioned = match json.get("version").and_then(Value::as_str) {
                Some(v) => format!("{url}|{v}"),
                None => url.clone(),
            };
            Base {
                versioned,
                type_name: s("type"),
                kind: s("kind"),
                is_abstract: json.get("abstract").and_then(Value::as_bool).unwrap_or(false),
                experimental: json.get("experimental").and_then(Value::as_bool).unwrap_or(false),
                url,
            }
        });
        Facts {
            url: text("url"),
            version: text("version"),
            id: text("id").unwrap_or_else(|| "null".into()),
            type_name: text("type"),
            derivation: text("derivation"),
            kind: text("kind"),
            experimental: node.child_text("experimental") == Some("true"),
            has_snapshot: node.child("snapshot").is_some(),
            base_url,
            base,
        }
    }
}

fn is_constraint(f: &Facts) -> bool {
    f.derivation.as_deref() == Some("constraint")
}

/// The extension of `node` with this url.
fn extension_named<'a>(node: &'a Node, urls: &[&str]) -> Option<&'a Node> {
    node.children_named("extension").find(|e| e.child_text("url").is_some_and(|u| urls.contains(&u)))
}

/// A choice child (`fixedUri`, `valueBoolean`): its FHIR type and node.
fn choice_child<'a>(node: &'a Node, prefix: &str) -> Option<(String, &'a Node)> {
    node.children.iter().find_map(|c| {
        let suffix = c.name.strip_prefix(prefix)?;
        suffix.starts_with(|ch: char| ch.is_ascii_uppercase()).then(|| (fhir_type_of_suffix(suffix), c))
    })
}

/// `String` → `string`, `CodeableConcept` → `CodeableConcept`.
pub(super) fn fhir_type_of_suffix(suffix: &str) -> String {
    let mut chars = suffix.chars();
    let lower: String = chars.next().map(|c| c.to_ascii_lowercase()).into_iter().chain(chars).collect();
    if crate::primitive::is_primitive(&lower) {
        lower
    } else {
        suffix.to_owned()
    }
}

fn value_text(ext: &Node) -> Option<&str> {
    choice_child(ext, "value").and_then(|(_, n)| n.text())
}

/// A Java set as the reference prints it: `[a, b]`.
/// Input text, so cut as `quoted` cuts it.
fn listed(items: &[String]) -> String {
    quoted(&format!("[{}]", items.join(", "))).into_owned()
}

/// The rules on the definition as a whole.
fn definition_rules(walk: &mut Walk<'_, '_>, node: &Node, f: &Facts) {
    circular_base(walk, node, f);
    if let Some(base) = &f.base {
        base_rules(walk, node, f, base);
    }
    extension_contexts(walk, node, f);
    let Some(base) = &f.base else { return };
    no_concrete_descendant(walk, node, f);
    obligation_profile(walk, node, f, base);
    for (i, ext) in node.children_named("extension").enumerate() {
        if ext.child_text("url").is_some_and(|u| EXT_OBLIGATION_INHERITS.contains(&u)) {
            walk.path.push("extension", Some(i));
            inherited_obligations(walk, ext, f);
            walk.path.pop();
        }
    }
    context_invariants(walk, node);
    extension_url(walk, node, f);
    complies_with(walk, node);
}

/// SD_DERIVATION_NO_CONCRETE: an abstract definition that no loaded
/// StructureDefinition derives from.
fn no_concrete_descendant(walk: &mut Walk<'_, '_>, node: &Node, f: &Facts) {
    let Some(url) = f.url.as_deref() else { return };
    if node.child_text("abstract") != Some("true") || walk.ctx.is_base_of_any(url) {
        return;
    }
    let type_name = f.type_name.as_deref().unwrap_or_default();
    // A logical model's type is named by its last path segment.
    let type_name = if f.kind.as_deref() == Some("logical") { type_name.rsplit('/').next().unwrap_or(type_name) } else { type_name };
    walk.warn(
        node,
        IssueCode::NotFound,
        format!("{type_name} is labeled as an abstract type, but no concrete descendants were found (check definitions - this is usually an error unless concrete definitions are in some other package)"),
    );
}

/// SD_CIRCULAR_DEFINITION: following the base definitions leads back here.
fn circular_base(walk: &mut Walk<'_, '_>, node: &Node, f: &Facts) {
    let (Some(url), Some(first)) = (f.url.as_deref(), f.base_url.as_deref()) else { return };
    let mut last = url.to_owned();
    let mut base = first.to_owned();
    // A chain that loops without coming back here is followed a bounded number of steps.
    for _ in 0..64 {
        let Some(json) = walk.ctx.resource_json(&base) else { return };
        if json.get("url").and_then(Value::as_str) == Some(url) {
            walk.error(
                node,
                IssueCode::Unknown,
                format!("The definition of the Structure is circular - it depends on itself (url = '{}', from '{}')", quoted(url), quoted(&last)),
            );
            return;
        }
        let Some(next) = json.get("baseDefinition").and_then(Value::as_str) else { return };
        last = std::mem::replace(&mut base, next.to_owned());
    }
}

/// Derivation, kind, type and experimental status against the base.
fn base_rules(walk: &mut Walk<'_, '_>, node: &Node, f: &Facts, base: &Base) {
    if f.derivation.is_none() {
        // SD_MUST_HAVE_DERIVATION
        walk.error(
            node,
            IssueCode::NotFound,
            format!("StructureDefinition {} must have a derivation, since it has a baseDefinition", quoted(f.url.as_deref().unwrap_or("null"))),
        );
    } else {
        if is_constraint(f) && f.type_name.as_deref() != Some(base.type_name.as_str()) {
            // SD_CONSTRAINED_TYPE_NO_MATCH
            walk.error(
                node,
                IssueCode::NotFound,
                format!(
                    "The type {} must be the same as the type in the base structure {} that is being constrained",
                    quoted(f.type_name.as_deref().unwrap_or("null")),
                    base.type_name
                ),
            );
        }
    }
    // A kind other than the base's. R4's own example profiles
    // example-composition and example-section-library declare complex-type
    // on Composition and get both errors, from the reference too
    // (conformance-tests/r4-examples-errors.md).
    if f.derivation.is_some() && !base.is_abstract {
        if let Some(kind) = f.kind.as_deref().filter(|k| *k != base.kind) {
            // SD_CONSTRAINED_KIND_NO_MATCH
            walk.error(
                node,
                IssueCode::NotFound,
                format!(
                    "The kind {} must be the same as the kind {} in the base structure {} (base type = {})",
                    quoted(kind),
                    base.kind,
                    base.url,
                    base.type_name
                ),
            );
        }
    }
    if is_constraint(f) && f.kind.as_deref() != Some(base.kind.as_str()) {
        // SD_DERIVATION_KIND_MISMATCH
        walk.error(
            node,
            IssueCode::NotFound,
            format!(
                "The structure definition constrains a kind of {}, but has a different kind ({})",
                base.kind,
                quoted(f.kind.as_deref().unwrap_or("null"))
            ),
        );
    }
    if base.experimental && !f.experimental {
        // SD_BASE_EXPERIMENTAL
        walk.warn(
            node,
            IssueCode::BusinessRule,
            format!("The definition builds on '{}' which is experimental, but this definition is not labeled as experimental", base.url),
        );
    }
}

/// The published core versions (major.minor) an extension context is for:
/// those between its `version-specific-use` start and end, each R4 where not given.
fn context_versions(context: &Node) -> Vec<&'static str> {
    const PUBLISHED: [&str; 5] = ["1.0", "3.0", "4.0", "4.3", "5.0"];
    let usage = context.children_named("extension").find(|e| e.child_text("url") == Some("http://hl7.org/fhir/StructureDefinition/version-specific-use"));
    let part = |name: &str| {
        usage
            .and_then(|u| u.children_named("extension").find(|x| x.child_text("url") == Some(name)))
            .and_then(|x| x.children.iter().find(|c| c.name.starts_with("value")).and_then(|c| c.text()))
            .unwrap_or("4.0")
    };
    let major_minor = |v: &str| -> (u32, u32) {
        let mut it = v.split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
        (it.next().unwrap_or(0), it.next().unwrap_or(0))
    };
    let (start, end) = (major_minor(part("startFhirVersion")), major_minor(part("endFhirVersion")));
    PUBLISHED.into_iter().filter(|v| (start..=end).contains(&major_minor(v))).collect()
}

/// Where an extension may be used, and that only extensions say so.
fn extension_contexts(walk: &mut Walk<'_, '_>, node: &Node, f: &Facts) {
    let type_name = f.type_name.as_deref().unwrap_or("null");
    let is_extension = type_name == "Extension";
    for (i, context) in node.children_named("context").enumerate() {
        walk.path.push("context", Some(i));
        if is_extension {
            let kind = context.child_text("type");
            let expression = context.child_text("expression");
            if let (Some("element"), Some(path)) = (kind, expression) {
                // The core versions the context is for (its version-specific-use, R4 alone
                // without): the element is looked for in R4's definitions, the only ones loaded.
                let versions = context_versions(context);
                if versions.contains(&"4.0") && !context_element_exists(walk, path) {
                    if versions.len() == 1 {
                        // SD_CONTEXT_SHOULD_ELEMENT_NOT_FOUND
                        walk.error(context, IssueCode::Invalid, format!("The element {} is not valid", quoted(path)));
                    } else {
                        // SD_CONTEXT_SHOULD_ELEMENT_NOT_FOUND_VER
                        walk.error(context, IssueCode::Invalid, format!("The element {} is not valid in version {}", quoted(path), "4.0.1"));
                    }
                }
            }
            match (kind, expression) {
                (Some("element"), Some("Element")) => {
                    // SD_CONTEXT_SHOULD_NOT_BE_ELEMENT
                    walk.warn(
                        context,
                        IssueCode::BusinessRule,
                        format!(
                            "Review the extension type for {}: extensions should not have a context of {} unless it's really intended that they can be used anywhere",
                            quoted(&f.id),
                            "Element"
                        ),
                    );
                }
                (Some("fhirpath"), Some(path)) if is_simple_element(walk, path) => {
                    // SD_CONTEXT_SHOULD_NOT_BE_FHIRPATH
                    walk.warn(
                        context,
                        IssueCode::BusinessRule,
                        format!(
                            "Review the extension type for {}: the context of {} appears to be a simple element, so the context type should be 'element' not 'fhirpath'",
                            quoted(&f.id),
                            quoted(path)
                        ),
                    );
                }
                _ => {}
            }
        } else if !has_json_name(node) {
            // SD_NO_CONTEXT_WHEN_NOT_EXTENSION
            walk.error(context, IssueCode::Invalid, format!("The type is {} so an extension context should not be specified", quoted(type_name)));
        }
        walk.path.pop();
    }
    if !is_extension {
        for (i, invariant) in node.children_named("contextInvariant").enumerate() {
            walk.path.push("contextInvariant", Some(i));
            // SD_NO_CONTEXT_INV_WHEN_NOT_EXTENSION
            walk.error(
                invariant,
                IssueCode::Invalid,
                format!("The type is {} so an extension context invariants should not be specified", quoted(type_name)),
            );
            walk.path.pop();
        }
    }
}

/// A definition whose root element has a JSON name may be used as an extension.
fn has_json_name(node: &Node) -> bool {
    let root = ["snapshot", "differential"].iter().find_map(|l| node.child(l).and_then(|list| list.children_named("element").next()));
    root.is_some_and(|r| extension_named(r, &EXT_JSON_NAME).is_some())
}

/// Whether an `element` context names an element: `Patient.name.given`
/// (through the types of the elements on the way), `url#path` for a
/// definition of its own.
fn context_element_exists(walk: &Walk<'_, '_>, path: &str) -> bool {
    let (url, inner) = match path.split_once('#') {
        Some((url, inner)) => (url.to_owned(), inner),
        None => (format!("{CORE}{}", path.split('.').next().unwrap_or("")), path),
    };
    let mut segments: Vec<&str> = inner.split('.').collect();
    let mut sd = walk.ctx.structure(&url);
    // The reference reads these two abstract resources through one that has their elements.
    for (abstract_type, stand_in) in [("CanonicalResource", "CodeSystem"), ("MetadataResource", "PlanDefinition")] {
        if sd.is_none() && url == format!("{CORE}{abstract_type}") {
            sd = walk.ctx.structure(&format!("{CORE}{stand_in}"));
            segments[0] = stand_in;
        }
    }
    let Some(sd) = sd else { return false };
    let Some(root) = sd.elements.first().map(|e| e.path.clone()) else { return false };
    let mut current = sd;
    let mut prefix = root;
    'segments: for segment in segments.iter().skip(1) {
        // Up to a few type hops per segment: the element's own children, then its type's.
        for _ in 0..4 {
            let candidate = format!("{prefix}.{segment}");
            let choice = format!("{candidate}[x]");
            if let Some(e) = current.elements.iter().find(|e| e.slice_name.is_none() && (e.path == candidate || e.path == choice)) {
                prefix = e.path.clone();
                continue 'segments;
            }
            let Some(here) = current.elements.iter().find(|e| e.slice_name.is_none() && e.path == prefix) else { return false };
            if let Some(target) = here.content_reference.as_deref().and_then(|r| r.split_once('#')).map(|(_, p)| p.to_owned()) {
                prefix = target;
                continue;
            }
            let [only] = here.types.as_slice() else { return false };
            let Some(next) = walk.ctx.type_definition(&only.code) else { return false };
            let Some(next_root) = next.elements.first().map(|e| e.path.clone()) else { return false };
            current = next;
            prefix = next_root;
        }
        return false;
    }
    true
}

/// Whether a FHIRPath context is just the path of an element of a type.
fn is_simple_element(walk: &Walk<'_, '_>, path: &str) -> bool {
    let type_name = path.split('.').next().unwrap_or(path);
    let Some(sd) = walk.ctx.type_definition(type_name) else { return false };
    let choice = format!("{path}[x]");
    sd.elements.iter().any(|e| e.path == path || e.path == choice)
}

/// Invariants of an extension's context, which need a type to be checked against.
fn context_invariants(walk: &mut Walk<'_, '_>, node: &Node) {
    let typed_contexts = node.children_named("context").filter(|c| matches!(c.child_text("type"), Some("element" | "extension"))).count();
    for (i, invariant) in node.children_named("contextInvariant").enumerate() {
        let Some(expression) = invariant.text().filter(|t| !t.is_empty()) else { continue };
        walk.path.push("contextInvariant", Some(i));
        if typed_contexts == 0 {
            let contexts: Vec<String> = node
                .children_named("context")
                .map(|c| format!("{}={}", c.child_text("type").unwrap_or("null"), quoted(c.child_text("expression").unwrap_or("null"))))
                .take(20)
                .collect();
            // UNABLE_TO_DETERMINE_TYPE_CONTEXT_INV
            walk.inform(
                invariant,
                IssueCode::Informational,
                format!("The types could not be determined from the extension context, so the invariant can't be validated (types = {})", contexts.join(", ")),
            );
        } else {
            let problem = match crate::fhirpath::parse(expression) {
                Err(e) => Some(quoted(&e.to_string()).into_owned()),
                Ok(parsed) => {
                    let focus: Vec<String> = node
                        .children_named("context")
                        .filter(|c| matches!(c.child_text("type"), Some("element" | "extension")))
                        .filter_map(|c| c.child_text("expression"))
                        .map(|e| if e.contains("://") { "Extension".to_owned() } else { e.to_owned() })
                        .collect();
                    match check_expression(walk, &parsed, &focus, Some("DomainResource".into())) {
                        Ok(warnings) => {
                            for w in warnings {
                                walk.warn(invariant, IssueCode::BusinessRule, w.message);
                            }
                            None
                        }
                        Err(e) => Some(e),
                    }
                }
            };
            if let Some(problem) = problem {
                // ED_CONTEXT_INVARIANT_EXPRESSION_ERROR
                walk.error(invariant, IssueCode::Invalid, format!("Error in constraint '{}': {}", quoted(expression), problem));
            }
        }
        walk.path.pop();
    }
}

/// An extension definition fixes `Extension.url` to its own url.
fn extension_url(walk: &mut Walk<'_, '_>, node: &Node, f: &Facts) {
    if f.type_name.as_deref() != Some("Extension") || f.base_url.as_deref() != Some("http://hl7.org/fhir/StructureDefinition/Extension") {
        return;
    }
    let Some(url) = f.url.as_deref() else { return };
    let first = node.child("differential").and_then(|d| d.children_named("element").find(|e| e.child_text("path") == Some("Extension.url")));
    match first.and_then(|e| choice_child(e, "fixed")).and_then(|(_, v)| v.text()) {
        // SD_EXTENSION_URL_MISSING
        None => walk.error(node, IssueCode::Invalid, format!("The value of Extension.url is not fixed to the extension URL {}", quoted(url))),
        // SD_EXTENSION_URL_MISMATCH
        Some(fixed) if fixed != url => walk.error(
            node,
            IssueCode::Invalid,
            format!("The fixed value for the extension URL is {} which doesn't match the canonical URL {}", quoted(fixed), quoted(url)),
        ),
        Some(_) => {}
    }
}

/// A profile that claims to comply with another names one that can be found.
fn complies_with(walk: &mut Walk<'_, '_>, node: &Node) {
    // Each claimed profile is judged once, and this profile's own snapshot
    // made once for all of them (the thirty-first pass's W3).
    let mut judged = std::collections::HashSet::new();
    let mut own_snapshot: Option<Option<Vec<ElementDefinition>>> = None;
    for ext in node.children_named("extension").filter(|e| e.child_text("url") == Some(EXT_COMPLIES_WITH)) {
        let Some(claimed) = value_text(ext) else { continue };
        if !judged.insert(claimed) {
            continue;
        }
        let Some(authority) = walk.ctx.structure(claimed) else {
            // SD_EXTENSION_COMPLIES_WITH_UNKNOWN
            walk.error(
                node,
                IssueCode::Invalid,
                format!("The profile '{}' cannot be found, so the validator cannot check that the profile does comply with it", quoted(claimed)),
            );
            continue;
        };
        let Some(own_type) = node.child_text("type") else { continue };
        let (errors, warnings) = if own_type != authority.type_name {
            // PROFILE_COMPLIES_WITH_WRONG_TYPE
            (vec![format!("The type found in the claimed profile is '{own_type}' not '{}'", authority.type_name)], Vec::new())
        } else {
            let own = own_snapshot.get_or_insert_with(|| {
                let json = crate::convert::resource_to_json(node, walk.ctx);
                serde_json::from_value::<StructureDefinition>(json).ok().and_then(|own| snapshot_elements(walk, own))
            });
            let Some(own) = own.as_ref() else { continue };
            let Some(authority) = walk.ctx.structure_definition(claimed) else { continue };
            match snapshot_elements(walk, authority) {
                Some(a) => super::complies_with::compare(walk.ctx, walk.v.terminology(), own, &a),
                None => continue,
            }
        };
        if !errors.is_empty() {
            // SD_EXTENSION_COMPLIES_WITH_ERROR
            walk.error(node, IssueCode::Invalid, format!("This profile does not comply with claimed profile '{}' because: {}", quoted(claimed), joined(&errors)));
        } else if !warnings.is_empty() {
            // SD_EXTENSION_COMPLIES_WITH_WARNING
            walk.warn(node, IssueCode::Invalid, format!("The validator cannot confirm that this profile complies with the claimed profile '{}' because: {}", quoted(claimed), joined(&warnings)));
        }
    }
}

/// Items as the reference lists them: `a, b and c`.
fn joined(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// A definition's snapshot: its own, or generated from its differential.
fn snapshot_elements(walk: &Walk<'_, '_>, sd: StructureDefinition) -> Option<Vec<ElementDefinition>> {
    if let Some(s) = sd.snapshot.as_ref().filter(|s| !s.element.is_empty()) {
        return Some(s.element.clone());
    }
    let mut sd = sd;
    sd.snapshot = None;
    let (generated, _) = crate::snapshot::generate_matching(sd, walk.ctx).ok()?;
    generated.snapshot.map(|s| s.element)
}

/// An obligation profile only adds obligations, must-support and
/// additional bindings to the elements of the profile it constrains.
fn obligation_profile(walk: &mut Walk<'_, '_>, node: &Node, f: &Facts, base: &Base) {
    let Some(flag) = extension_named(node, &EXT_OBLIGATION_PROFILE) else { return };
    if value_text(flag) != Some("true") {
        return;
    }
    if !is_constraint(f) {
        // SD_OBGLIGATION_PROFILE_DERIVATION
        walk.error(node, IssueCode::Invalid, "Only profiles that constrain another profile can be marked as an obligation profile".into());
        return;
    }
    let Some(differential) = node.child("differential") else { return };
    let Some(base_sd) = walk.ctx.structure(&base.url) else { return };
    let by_id: HashMap<&str, usize> = base_sd.elements.iter().enumerate().map(|(i, e)| (e.id.as_str(), i)).collect();
    walk.path.push("differential", None);
    for (i, element) in differential.children_named("element").enumerate() {
        walk.path.push("element", Some(i));
        let id = element.child_text("id").unwrap_or("null");
        match by_id.get(id).map(|&ix| &base_sd.elements[ix]) {
            None => {
                // SD_OBGLIGATION_PROFILE_UNMATCHED
                walk.error(
                    element,
                    IssueCode::Invalid,
                    format!("The element '{}' has no equivalent in the profile '{}' on which this Obligation Profile is based", quoted(id), base.versioned),
                );
            }
            Some(b) => obligation_element(walk, element, id, b),
        }
        walk.path.pop();
    }
    walk.path.pop();
}

/// The index each child gets in a FHIRPath: repeated names count up.
fn indexed_children(node: &Node) -> Vec<(&Node, Option<usize>)> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    node.children
        .iter()
        .map(|c| {
            let n = counts.entry(c.name.as_str()).or_insert(0);
            let index = c.in_array.then_some(*n);
            *n += 1;
            (c, index)
        })
        .collect()
}

fn obligation_element(walk: &mut Walk<'_, '_>, element: &Node, id: &str, b: &crate::structure::Element) {
    for (child, index) in indexed_children(element) {
        let name = child.name.as_str();
        walk.path.push(name, index);
        match name {
            "extension" => {
                let url = child.child_text("url").unwrap_or("null");
                if !EXT_OBLIGATION.contains(&url) {
                    // SD_OBGLIGATION_PROFILE_ILLEGAL
                    let property = format!("{name}#{}", quoted(url));
                    walk.error(child, IssueCode::Invalid, format!("The element '{}' has a property '{}' which is not allowed in Obligation profiles", quoted(id), property));
                }
            }
            "mustSupport" | "min" | "max" | "id" => {}
            "binding" => match &b.binding {
                None => {
                    // SD_OBGLIGATION_PROFILE_ILLEGAL_BINDING
                    walk.error(
                        child,
                        IssueCode::Invalid,
                        format!("The element '{}' has a binding when the base element does not, and this is not allowed in Obligation profiles", quoted(id)),
                    );
                }
                Some(base_binding) => obligation_binding(walk, child, id, &base_binding.strength),
            },
            "path" => {
                let path = child.text().unwrap_or("");
                if path != b.path {
                    // SD_OBGLIGATION_PROFILE_PATH_WRONG
                    walk.error(
                        child,
                        IssueCode::Invalid,
                        format!("The element '{}' path value of '{}' doesn't match the base path '{}'", quoted(id), quoted(path), b.path),
                    );
                }
            }
            _ => {
                // SD_OBGLIGATION_PROFILE_ILLEGAL
                walk.error(child, IssueCode::Invalid, format!("The element '{}' has a property '{}' which is not allowed in Obligation profiles", quoted(id), name));
            }
        }
        walk.path.pop();
    }
}

fn obligation_binding(walk: &mut Walk<'_, '_>, binding: &Node, id: &str, base_strength: &str) {
    for (child, index) in indexed_children(binding) {
        let name = child.name.as_str();
        walk.path.push(name, index);
        match name {
            "extension" => {
                let url = child.child_text("url").unwrap_or("null");
                if url == EXT_ADDITIONAL_BINDING {
                    let purpose = child.children_named("extension").find(|e| e.child_text("url") == Some("purpose")).and_then(value_text);
                    if let Some(code) = purpose.filter(|c| matches!(*c, "maximum" | "required" | "extensible")) {
                        // SD_OBGLIGATION_PROFILE_INVALID_BINDING_CODE
                        walk.error(
                            child,
                            IssueCode::Invalid,
                            format!("The element '{}' has an additional binding purpose of '{}' which is not allowed in Obligation profiles", quoted(id), code),
                        );
                    }
                } else {
                    // SD_OBGLIGATION_PROFILE_ILLEGAL
                    let property = format!("{name}#{}", quoted(url));
                    walk.error(child, IssueCode::Invalid, format!("The element '{}' has a property '{}' which is not allowed in Obligation profiles", quoted(id), property));
                }
            }
            "strength" => {
                let strength = child.text().unwrap_or("null");
                if strength != base_strength {
                    // SD_OBGLIGATION_PROFILE_INVALID_BINDING_STRENGTH
                    walk.error(
                        child,
                        IssueCode::Invalid,
                        format!(
                            "The element '{}' has a different binding strength ('{}') from the base ('{}') which is not allowed in Obligation profiles",
                            quoted(id),
                            quoted(strength),
                            base_strength
                        ),
                    );
                }
            }
            _ => {
                // SD_OBGLIGATION_PROFILE_ILLEGAL_ON_BINDING
                walk.error(
                    child,
                    IssueCode::Invalid,
                    format!("The element '{}' has a binding property '{}' which is not allowed in Obligation profiles", quoted(id), name),
                );
            }
        }
        walk.path.pop();
    }
}

/// An `inherit-obligations` extension names an obligation profile on the same base.
fn inherited_obligations(walk: &mut Walk<'_, '_>, ext: &Node, f: &Facts) {
    let Some(target) = value_text(ext) else {
        // SD_OBGLIGATION_INHERITS_PROFILE_NO_TARGET
        walk.error(ext, IssueCode::Invalid, "Unable to read a value from this extension".into());
        return;
    };
    let Some(json) = walk.ctx.resource_json(target).filter(|j| j.get("resourceType").and_then(Value::as_str) == Some("StructureDefinition")) else {
        // SD_OBGLIGATION_INHERITS_PROFILE_TARGET_NOT_FOUND
        walk.error(ext, IssueCode::Invalid, format!("The profile '{}' could not be found", quoted(target)));
        return;
    };
    let flagged = json.get("extension").and_then(Value::as_array).is_some_and(|exts| {
        exts.iter().any(|e| {
            e.get("url").and_then(Value::as_str).is_some_and(|u| EXT_OBLIGATION_PROFILE.contains(&u)) && e.get("valueBoolean").and_then(Value::as_bool) == Some(true)
        })
    });
    if !flagged {
        // SD_OBGLIGATION_INHERITS_PROFILE_NOT_RIGHT_TYPE
        walk.error(ext, IssueCode::Invalid, format!("The profile '{}' is not marked as an obligation profile", quoted(target)));
        return;
    }
    let their_base = json.get("baseDefinition").and_then(Value::as_str).unwrap_or("null");
    if f.base_url.as_deref() != Some(their_base) {
        // SD_OBGLIGATION_INHERITS_PROFILE_NOT_RIGHT_BASE
        walk.error(
            ext,
            IssueCode::Invalid,
            format!(
                "The profile '{}' has a different base '{}' from that expected '{}'",
                quoted(target),
                quoted(their_base),
                quoted(f.base_url.as_deref().unwrap_or("null"))
            ),
        );
    }
}

// ------------------------------------------------------------------------
// Per element of the differential and the snapshot.

/// What the rules on one list of elements share.
struct ListFacts<'f> {
    f: &'f Facts,
    snapshot: bool,
    base: Option<Arc<StructureDef>>,
    /// The base's snapshot elements by id.
    base_by_id: HashMap<String, usize>,
    /// The base's invariants by key: the path they sit on and their expression.
    base_invariants: HashMap<String, (String, String)>,
    /// Invariants met so far in this list: key → (path, expression).
    seen_invariants: HashMap<String, (String, String)>,
}

fn element_list_rules(walk: &mut Walk<'_, '_>, root: &Node, list: &Node, snapshot: bool, f: &Facts) {
    // The reference checks elements only once the base is known.
    let Some(base_facts) = &f.base else { return };
    let base = walk.ctx.structure(&base_facts.url);
    let mut base_by_id = HashMap::new();
    let mut base_invariants = HashMap::new();
    if let Some(b) = &base {
        for (i, e) in b.elements.iter().enumerate() {
            base_by_id.entry(e.id.clone()).or_insert(i);
            for c in &e.constraints {
                if let Some(x) = &c.expression {
                    base_invariants.entry(c.key.clone()).or_insert_with(|| (e.path.clone(), x.clone()));
                }
            }
        }
    }
    let mut lf = ListFacts { f, snapshot, base, base_by_id, base_invariants, seen_invariants: HashMap::new() };
    let _ = root;
    for (i, element) in list.children_named("element").enumerate() {
        walk.path.push("element", Some(i));
        element_definition_rules(walk, element, &mut lf);
        walk.path.pop();
    }
}

fn element_definition_rules(walk: &mut Walk<'_, '_>, element: &Node, lf: &mut ListFacts<'_>) {
    let Some(path) = element.child_text("path").filter(|p| !p.is_empty()) else { return };
    let snapshot = lf.snapshot;
    let constraint = is_constraint(lf.f);
    let is_root = !path.contains('.');

    // SD_NO_SLICING_ON_ROOT
    if !snapshot && is_root && element.child("slicing").is_some() {
        walk.error(element, IssueCode::Invalid, "Slicing is not allowed at the root of a profile".into());
    }
    // SD_ELEMENT_NOT_IN_CONSTRAINT
    if !snapshot && constraint && element.child("meaningWhenMissing").is_some() && !(path == "Extension" || path.ends_with(".extension")) {
        walk.error(
            element,
            IssueCode::NotFound,
            format!("The element definition for {} has a property {} which is not allowed in a profile", quoted(path), "meaningWhenMissing"),
        );
    }

    if !snapshot {
        fixed_against_base(walk, element, path, lf);
    }

    // The types: their codes, must-support marks, profiles and target profiles.
    let mut type_codes: Vec<String> = Vec::new();
    if is_root {
        type_codes.push(path.to_owned());
    }
    let mut type_must_support = false;
    for (j, type_node) in element.children_named("type").enumerate() {
        if type_has_must_support(type_node) {
            type_must_support = true;
        }
        let mut code = type_node.child_text("code").map(str::to_owned);
        if let Some(v) = extension_named(type_node, &[EXT_FHIR_TYPE]).and_then(value_text) {
            code = Some(v.to_owned());
        }
        let code = code.filter(|c| !c.is_empty());
        if code.is_none() && type_node.child("code").is_some() {
            // SD_NO_TYPE_CODE_ON_CODE
            walk.error(element, IssueCode::Invalid, format!("Snapshot for {} element {} has type.code without a value", quoted(&lf.f.id), quoted(path)));
        }
        let Some(code) = code else { continue };
        if !type_codes.contains(&code) {
            type_codes.push(code.clone());
        }
        if let Some(declared) = type_node.child_text("code").filter(|c| !c.is_empty()) {
            walk.path.push("type", Some(j));
            type_profile_rules(walk, type_node, declared, path, lf.f);
            walk.path.pop();
        }
    }
    if type_must_support && element.child_text("mustSupport") != Some("true") {
        if snapshot {
            // SD_NESTED_MUST_SUPPORT_SNAPSHOT
            walk.warn(
                element,
                IssueCode::Exception,
                format!("The element {} has types/profiles/targets that are marked as must support, but the element itself is not marked as must-support", quoted(path)),
            );
        } else if !lf.f.has_snapshot {
            // SD_NESTED_MUST_SUPPORT_DIFF
            walk.inform(
                element,
                IssueCode::Exception,
                format!(
                    "The element {} has types/profiles/targets that are marked as must support, but the element itself is not marked as must-support. The inner must-supports will be ignored unless the element inherits must-support = true",
                    quoted(path)
                ),
            );
        }
    }
    if let Some(binding) = element.child("binding") {
        walk.path.push("binding", None);
        binding_rules(walk, binding, &type_codes, path, lf);
        walk.path.pop();
    }
    if snapshot {
        snapshot_values(walk, element, &type_codes, is_root);
    }
    // What the element's invariants are checked on: its types, or the
    // element itself where it defines its own children.
    let focus: Vec<String> = if is_root {
        type_codes.clone()
    } else if type_codes.iter().any(|c| c == "BackboneElement" || c == "Element") {
        vec![path.to_owned()]
    } else {
        type_codes.clone()
    };
    if let Some(slicing) = element.child("slicing") {
        let resource_type = resource_type_of(walk, lf.f.type_name.as_deref());
        slicing_rules(walk, slicing, path, &focus, resource_type);
    }
    for (k, invariant) in element.children_named("constraint").enumerate() {
        walk.path.push("constraint", Some(k));
        invariant_rules(walk, invariant, path, &focus, lf);
        walk.path.pop();
    }
    if snapshot {
        snapshot_table(walk, element, path, constraint, is_root);
    }
}

/// Whether a type, or one of its profiles or target profiles, carries the type-must-support extension.
fn type_has_must_support(type_node: &Node) -> bool {
    let marked = |n: &Node| extension_named(n, &[EXT_TYPE_MUST_SUPPORT]).and_then(value_text) == Some("true");
    marked(type_node) || type_node.children_named("profile").any(marked) || type_node.children_named("targetProfile").any(marked)
}

/// Slicing only where the element repeats (or is a choice), and the deprecated pattern discriminator.
/// Each discriminator's path is checked on the sliced element's types (`focus`),
/// where the element is one of its type's own (as the reference does).
fn slicing_rules(walk: &mut Walk<'_, '_>, slicing: &Node, path: &str, focus: &[String], resource_type: Option<String>) {
    walk.path.push("slicing", None);
    let type_name = path.split('.').next().unwrap_or(path);
    let mut in_type = false;
    if let Some(tsd) = walk.ctx.type_definition(type_name) {
        if let Some(ted) = tsd.elements.iter().find(|e| e.path == path && e.slice_name.is_none()) {
            in_type = true;
            if ted.max == Some(1) && !ted.path.contains("[x]") {
                // SD_PATH_NO_SLICING
                walk.error(slicing, IssueCode::NotFound, format!("Slicing is not allowed at '{}'", quoted(path)));
            }
        }
    }
    for (i, discriminator) in slicing.children_named("discriminator").enumerate() {
        if let (true, false, Some(expression)) = (in_type, focus.is_empty(), discriminator.child_text("path")) {
            walk.path.push("discriminator", Some(i));
            discriminator_path(walk, discriminator, expression, path, focus, resource_type.clone());
            walk.path.pop();
        }
        if discriminator.child_text("type") == Some("pattern") {
            walk.path.push("discriminator", Some(i));
            // SD_PATH_SLICING_DEPRECATED
            walk.inform(
                discriminator,
                IssueCode::BusinessRule,
                format!(
                    "The discriminator type '{}' is deprecated in R5+. For future compatibility, you could consider using type=value with a pattern[x] instead (if this is not an inherited slicing)",
                    "pattern"
                ),
            );
            walk.path.pop();
        }
    }
    walk.path.pop();
}

/// A differential's fixed or pattern value where the base element (the
/// one whose id is this element's path) has a fixed or pattern value.
fn fixed_against_base(walk: &mut Walk<'_, '_>, element: &Node, path: &str, lf: &ListFacts<'_>) {
    let Some(base) = &lf.base else { return };
    let Some(b) = lf.base_by_id.get(path).map(|&i| &base.elements[i]) else { return };
    if let Some((base_suffix, _)) = &b.fixed {
        let Some((fixed_type, fixed)) = choice_child(element, "fixed") else { return };
        let base_type = fhir_type_of_suffix(base_suffix);
        if fixed_type != base_type {
            walk.path.push_choice("fixed", &fixed_type);
            // SD_ELEMENT_FIXED_WRONG_TYPE
            walk.error(
                fixed,
                IssueCode::Invalid,
                format!(
                    "The base element has a fixed type of '{}', so this element must have a fixed value of the same type, not '{}'",
                    quoted(&fixed_type),
                    base_type
                ),
            );
            walk.path.pop();
        }
    } else if b.pattern.is_some() {
        let Some((pattern_type, pattern)) = choice_child(element, "pattern") else { return };
        walk.path.push_choice("pattern", &pattern_type);
        // SD_ELEMENT_PATTERN_NO_FIXED
        walk.error(
            pattern,
            IssueCode::Invalid,
            format!("The base element has a pattern type of '{}', so this element must have a fixed value but it doesn't", quoted(&pattern_type)),
        );
        walk.path.pop();
    }
}

/// A snapshot element's types and its default, fixed and pattern values.
fn snapshot_values(walk: &mut Walk<'_, '_>, element: &Node, type_codes: &[String], is_root: bool) {
    let Some(id) = element.child_text("id").filter(|id| id.contains('.')) else { return };
    let _ = is_root;
    if type_codes.is_empty() && element.child("contentReference").is_none() {
        // SD_NO_TYPES_OR_CONTENTREF
        walk.error(element, IssueCode::Exception, format!("The element {} has no assigned types, and no content reference", quoted(id)));
        return;
    }
    let repeating = !matches!(element.child_text("max"), Some("0" | "1"));
    for property in ["defaultValue", "fixed", "pattern"] {
        let Some((value_type, value)) = choice_child(element, property) else { continue };
        walk.path.push_choice(property, &value_type);
        if !type_codes.contains(&value_type) {
            // SD_VALUE_TYPE_IILEGAL
            walk.error(
                value,
                IssueCode::Exception,
                format!(
                    "The element {} has a {} of type {}, which is not in the list of allowed types ({})",
                    quoted(id),
                    property,
                    quoted(&value_type),
                    listed(type_codes)
                ),
            );
        }
        if property != "defaultValue" {
            if repeating {
                // SD_VALUE_TYPE_REPEAT_HINT
                walk.inform(
                    value,
                    IssueCode::Exception,
                    format!("The repeating element has a {property}. The {property} will apply to all the repeats (this has not been clear to all users)"),
                );
            }
            if crate::primitive::is_primitive(&value_type) {
                if repeating {
                    // SD_VALUE_TYPE_REPEAT_WARNING_DOTNET
                    walk.warn(
                        value,
                        IssueCode::Exception,
                        format!("The repeating element has a {property} value for a primitive type. The DotNet validator will not apply this to all the repeats - this is an error"),
                    );
                }
            } else if property == "fixed" {
                // SD_VALUE_COMPLEX_FIXED
                walk.warn(
                    value,
                    IssueCode::Exception,
                    format!("For the complex type {}, consider using a pattern rather than a fixed value to avoid over-constraining the instance", quoted(&value_type)),
                );
            }
        }
        walk.path.pop();
    }
}

/// What a snapshot element must have, or must not, at the root or inside,
/// in a profile (constraint) or a new type (specialization).
fn snapshot_table(walk: &mut Walk<'_, '_>, element: &Node, path: &str, constraint: bool, is_root: bool) {
    // The reference's lists also name defaultValue, fixed, pattern, minValue
    // and maxValue, but it looks children up by their exact name, which a
    // choice (`minValueInteger`) never has: those never fire, and R4's own
    // `integer.value` (minValueInteger in a specialization) stays valid.
    const ROOT_OF_PROFILE: &[&str] = &["sliceName", "slicing", "requirements", "nameReference", "meaningWhenMissing", "example", "maxLength"];
    const INSIDE_TYPE: &[&str] = &["sliceName"];
    const ROOT_OF_TYPE: &[&str] = &["sliceName", "slicing", "requirements", "nameReference", "example"];
    let (mode, prohibited, required): (&str, &[&str], &[&str]) = match (constraint, is_root) {
        (true, true) => ("constraint", ROOT_OF_PROFILE, &[]),
        (true, false) => return,
        (false, false) => ("specialization", INSIDE_TYPE, &["min", "max"]),
        (false, true) => ("specialization", ROOT_OF_TYPE, &[]),
    };
    for &name in required {
        if element.child(name).is_none() {
            // SD_TABLE_REQUIRED
            walk.error(element, IssueCode::Exception, format!("The element {name} is required on the element {} in the context of a {mode}", quoted(path)));
        }
    }
    for &name in prohibited {
        if element.child(name).is_some() {
            // SD_TABLE_PROHIBITED
            walk.error(element, IssueCode::Exception, format!("The element {name} is prohibited on the element {} in the context of a {mode}", quoted(path)));
        }
    }
}

/// An element's invariants: a key, an expression, and one meaning per key.
fn invariant_rules(walk: &mut Walk<'_, '_>, invariant: &Node, path: &str, focus: &[String], lf: &mut ListFacts<'_>) {
    let Some(key) = invariant.child_text("key").filter(|k| !k.is_empty()) else {
        // ED_INVARIANT_NO_KEY
        walk.warn(invariant, IssueCode::Informational, "The constraint has no key, so the content cannot be validated".into());
        return;
    };
    let Some(expression) = invariant.child_text("expression").filter(|x| !x.is_empty()) else {
        // ED_INVARIANT_NO_EXPRESSION
        walk.inform(
            invariant,
            IssueCode::Informational,
            format!("The constraint '{}' has no computable expression, so validators will not be able to check it", quoted(key)),
        );
        return;
    };
    let source = invariant.child_text("source");
    let url = lf.f.url.as_deref().unwrap_or("null");
    if lf.snapshot {
        match lf.seen_invariants.get(key) {
            Some((_, earlier)) => {
                if earlier != expression && key != "ele-1" {
                    // ED_INVARIANT_EXPRESSION_CONFLICT
                    walk.error(
                        invariant,
                        IssueCode::Invalid,
                        format!(
                            "The constraint '{}' has an expression '{}', which differs from the earlier expression provided of '{}' (invariants are allowed to repeat, but cannot differ)",
                            quoted(key),
                            quoted(expression),
                            quoted(earlier)
                        ),
                    );
                }
            }
            None => {
                lf.seen_invariants.insert(key.to_owned(), (path.to_owned(), expression.to_owned()));
            }
        }
        if source.is_none_or(|s| s.is_empty() || s == url) {
            let problem = match crate::fhirpath::parse(expression) {
                Err(e) => Some(quoted(&e.to_string()).into_owned()),
                Ok(parsed) => {
                    let resource_type = resource_type_of(walk, lf.f.type_name.as_deref());
                    match check_expression(walk, &parsed, focus, resource_type) {
                        Ok(warnings) => {
                            for w in warnings {
                                walk.warn(invariant, IssueCode::BusinessRule, format!("{key}: {}", w.message));
                            }
                            None
                        }
                        Err(e) => Some(e),
                    }
                }
            };
            if let Some(problem) = problem {
                // ED_INVARIANT_EXPRESSION_ERROR
                walk.error(invariant, IssueCode::Invalid, format!("Error in constraint '{}' with expression '{}': {}", quoted(key), quoted(expression), problem));
            }
        }
        return;
    }
    if let Some(source) = source {
        let versioned = lf.f.version.as_deref().map(|v| format!("{url}|{v}"));
        if source != url && Some(source) != versioned.as_deref() {
            // ED_INVARIANT_DIFF_NO_SOURCE
            walk.error(
                invariant,
                IssueCode::Invalid,
                format!(
                    "The invariant {} defined in the differential must have no source, or the source must be the same as the profile ({} vs {})",
                    quoted(key),
                    quoted(source),
                    quoted(url)
                ),
            );
            return;
        }
    }
    if let Some((_, base_expression)) = lf.base_invariants.get(key) {
        if base_expression != expression {
            let at = lf.base.as_ref().map(|b| b.versioned_url()).unwrap_or_default();
            // ED_INVARIANT_KEY_ALREADY_USED
            walk.error(
                invariant,
                IssueCode::Invalid,
                format!("The constraint key '{}' already exists at the location '{}' with a different expression ('{}')", quoted(key), at, quoted(base_expression)),
            );
            return;
        }
    }
    match lf.seen_invariants.get(key) {
        Some((earlier_path, earlier)) => {
            if earlier != expression {
                // ED_INVARIANT_KEY_ALREADY_USED
                walk.error(
                    invariant,
                    IssueCode::Invalid,
                    format!("The constraint key '{}' already exists at the location '{}' with a different expression ('{}')", quoted(key), quoted(earlier_path), quoted(earlier)),
                );
            }
        }
        None => {
            lf.seen_invariants.insert(key.to_owned(), (path.to_owned(), expression.to_owned()));
        }
    }
}

/// What `%resource` is when a profile of `type_name` is checked: the
/// resource itself, or for a data type any resource that holds it.
fn resource_type_of(walk: &Walk<'_, '_>, type_name: Option<&str>) -> Option<String> {
    let t = type_name?;
    match walk.ctx.type_definition(t) {
        Some(sd) if sd.is_resource() || sd.kind == "logical" => Some(t.to_owned()),
        _ => Some("DomainResource".to_owned()),
    }
}

/// Checks an expression against the types it is evaluated on, as the
/// reference's FHIRPath engine does before any instance is met: an error
/// (the engine's message) or the warnings about what may fail on content.
fn check_expression(walk: &Walk<'_, '_>, expr: &crate::fhirpath::Expression, focus: &[String], resource_type: Option<String>) -> Result<Vec<crate::fhirpath::check::Warning>, String> {
    use crate::fhirpath::check;
    let cc = check::CheckContext { ctx: walk.ctx, resource_type };
    let types = check::focus_types(walk.ctx, focus);
    check::check(expr, &cc, &types).map(|(_, warnings)| warnings).map_err(|e| e.message)
}

/// A discriminator's path, checked on the types of the element it slices:
/// a path that can select nothing, or one the checker refuses. A name at
/// the start of the path may select nothing on some of the types (the
/// reference's `canBeNone`); after it, an unknown name is an error.
fn discriminator_path(walk: &mut Walk<'_, '_>, discriminator: &Node, expression: &str, path: &str, focus: &[String], resource_type: Option<String>) {
    use crate::fhirpath::check;
    let problem = match crate::fhirpath::parse(expression) {
        Err(e) => Err(e.to_string()),
        Ok(parsed) => {
            let cc = check::CheckContext { ctx: walk.ctx, resource_type };
            let types = check::focus_types(walk.ctx, focus);
            check::check_may_select_nothing(&parsed, &cc, &types).map_err(|e| e.message).map(|(out, _)| out.is_empty())
        }
    };
    match problem {
        // SD_PATH_NOT_VALID
        Ok(true) => walk.error(
            discriminator,
            IssueCode::Invalid,
            format!("The discriminator path '{}' does not appear to be valid for the element that is being sliced '{}'", quoted(expression), quoted(path)),
        ),
        Ok(false) => {}
        // SD_PATH_ERROR
        Err(e) => walk.error(
            discriminator,
            IssueCode::Invalid,
            format!("The discriminator path '{}' does not appear to be valid for the element that is being sliced '{}': {}", quoted(expression), quoted(path), e),
        ),
    }
}

/// Types a binding applies to directly.
const BOUND_TYPES: &[&str] = &["code", "Coding", "CodeableConcept", "Quantity", "CodeableReference"];
/// Types whose specializations can carry a binding.
const BINDABLE_BASES: &[&str] = &["string", "uri", "CodeableConcept", "Quantity", "CodeableReference"];

/// Whether one of the types can carry a binding: by name, or up its base chain.
fn has_bindable_type(walk: &Walk<'_, '_>, type_codes: &[String]) -> bool {
    type_codes.iter().any(|tc| {
        if BOUND_TYPES.contains(&tc.as_str()) || BINDABLE_BASES.contains(&tc.as_str()) {
            return true;
        }
        let mut next = walk.ctx.type_definition(tc);
        for _ in 0..16 {
            let Some(sd) = next else { return false };
            if BINDABLE_BASES.contains(&sd.type_name.as_str()) {
                return true;
            }
            if let Some(json) = walk.ctx.resource_json(&sd.url) {
                let marked = json.get("extension").and_then(Value::as_array).is_some_and(|exts| {
                    exts.iter().any(|e| match e.get("url").and_then(Value::as_str) {
                        Some(EXT_BINDING_STYLE) => true,
                        Some(EXT_TYPE_CHARACTERISTICS) => e.get("valueCode").and_then(Value::as_str) == Some("can-bind"),
                        _ => false,
                    })
                });
                if marked {
                    return true;
                }
            }
            next = sd.base_definition.as_deref().and_then(|b| walk.ctx.structure(b));
        }
        false
    })
}

/// An element's binding: a bindable type, a value set that is one, and
/// the value sets that are too wide to be meant. The walk's path is at the binding.
fn binding_rules(walk: &mut Walk<'_, '_>, binding: &Node, type_codes: &[String], path: &str, lf: &ListFacts<'_>) {
    let snapshot = lf.snapshot;
    if snapshot && !has_bindable_type(walk, type_codes) {
        // SD_ED_BIND_NO_BINDABLE
        walk.error(
            binding,
            IssueCode::BusinessRule,
            format!("The element {} has a binding, but no bindable types are present {}", quoted(path), listed(type_codes)),
        );
    }
    if !snapshot {
        const BINDABLE: &[&str] = &["code", "string", "url", "uri", "Coding", "CodeableConcept", "Quantity", "CodeableReference"];
        if type_codes.iter().filter(|t| BINDABLE.contains(&t.as_str())).count() > 1 {
            // SD_ED_BIND_MULTIPLE_TYPES
            walk.inform(
                binding,
                IssueCode::BusinessRule,
                format!("The element {} has a binding, and has multiple types subject to bindings ({}). The binding will apply to all the types", quoted(path), listed(type_codes)),
            );
        }
    }
    additional_binding_usages(walk, binding, lf);
    let Some(value_set) = binding.child("valueSet") else { return };
    let Some(reference) = value_set.text().or_else(|| value_set.child_text("reference")).filter(|r| !r.is_empty()) else {
        if snapshot {
            // SD_ED_SHOULD_BIND_WITH_VS
            walk.warn(
                binding,
                IssueCode::BusinessRule,
                format!("The element {} has a type that should have a binding ({{1}}), but the binding has no value set", quoted(path)),
            );
        }
        return;
    };
    let implicit = reference.starts_with("http://snomed.info/sct") || reference.starts_with("http://loinc.org/vs");
    let unversioned = reference.split('|').next().unwrap_or(reference);
    if walk.ctx.entry(reference).is_none() && walk.ctx.entry(unversioned).is_none() && !implicit && !walk.v.terminology.has_server() {
        // SD_ED_BIND_UNKNOWN_VS (implicit SNOMED CT and LOINC value sets are a
        // terminology server's, and are not said to be unknown; with a server
        // given, the reference takes the server to know what it cannot find)
        walk.warn(binding, IssueCode::BusinessRule, format!("The valueSet reference {} on element {} could not be resolved", quoted(reference), quoted(path)));
    }
    if let Some(entry) = walk.ctx.entry(reference) {
        // A binding to a CodeSystem's url is read as its whole code system
        // (R4's own ExplanationOfBenefit.priority binds so), not flagged.
        if entry.resource_type != "ValueSet" && entry.resource_type != "CodeSystem" {
            let found = entry.resource_type.clone();
            // SD_ED_BIND_NOT_VS
            walk.error(
                binding,
                IssueCode::BusinessRule,
                format!("The valueSet reference {} on element {} points to something that is not a value set ({})", quoted(reference), quoted(path), found),
            );
        } else if binding.child_text("strength") != Some("example") && !lf.f.experimental {
            let experimental = walk.ctx.resource_json(reference).is_some_and(|j| j.get("experimental").and_then(Value::as_bool) == Some(true));
            if experimental {
                // SD_ED_EXPERIMENTAL_BINDING
                walk.warn(
                    binding,
                    IssueCode::BusinessRule,
                    format!(
                        "The definition for the element '{}' binds to the value set '{}' which is experimental, but this structure is not labeled as experimental",
                        quoted(path),
                        quoted(reference)
                    ),
                );
            }
        }
    }
    match reference {
        // SD_ED_BIND_ALL_LOINC_CODES
        "http://loinc.org/vs" => walk.warn(
            binding,
            IssueCode::BusinessRule,
            "This binding is to ALL LOINC codes, which includes part codes and answer list codes. The value set choice should be reviewed".into(),
        ),
        // SD_ED_BIND_ALLSCT_CODES
        "http://snomed.info/sct?fhir_vs" => walk.warn(
            binding,
            IssueCode::BusinessRule,
            "This binding is to ALL SNOMED CT codes, which includes qualifiers etc. The value set choice should be reviewed".into(),
        ),
        // SD_ED_BIND_ALL_CPT_CODES
        "http://hl7.org/fhir/ValueSet/cpt-all" => walk.warn(
            binding,
            IssueCode::BusinessRule,
            "This binding is to ALL CPT codes, which includes modifiers and internal metadata codes. The value set choice should be reviewed".into(),
        ),
        _ => {}
    }
}

/// The usages of a binding's additional bindings (the tools' extension):
/// a usage whose code names this profile must name one of its elements,
/// with a CodeableConcept value; other usage codes cannot be checked.
fn additional_binding_usages(walk: &mut Walk<'_, '_>, binding: &Node, lf: &ListFacts<'_>) {
    let Some(sd) = walk.resources.last().map(|f| f.node) else { return };
    let has_element = |path: &str| {
        ["differential", "snapshot"]
            .iter()
            .filter_map(|list| sd.child(list))
            .any(|list| list.children_named("element").any(|e| e.child_text("path") == Some(path)))
    };
    for (i, additional) in binding.children_named("extension").enumerate() {
        if additional.child_text("url") != Some(EXT_ADDITIONAL_BINDING) {
            continue;
        }
        for (j, usage) in additional.children_named("extension").enumerate() {
            if usage.child_text("url") != Some("usage") {
                continue;
            }
            let Some(context) = usage.child("valueUsageContext") else { continue };
            let Some(code) = context.child("code") else { continue };
            let (system, code_value) = (code.child_text("system"), code.child_text("code"));
            walk.path.push("extension", Some(i));
            walk.path.push("extension", Some(j));
            walk.path.push_choice("value", "UsageContext");
            let (shown_system, shown_code) = (system.unwrap_or("null"), code_value.unwrap_or("null"));
            if system.is_some() && system == lf.f.url.as_deref() {
                if !code_value.is_some_and(|c| has_element(c)) {
                    // SD_ED_ADDITIONAL_BINDING_USAGE_INVALID_ELEMENT
                    walk.error(context, IssueCode::BusinessRule, format!("The Usage Context {shown_system}#{shown_code} is a reference to an element that does not exist"));
                } else if let Some(value) = context.children.iter().find(|c| c.name.starts_with("value") && c.name.len() > 5) {
                    let found = fhir_type_of_suffix(&value.name[5..]);
                    if found != "CodeableConcept" {
                        // SD_ED_ADDITIONAL_BINDING_USAGE_INVALID_TYPE
                        walk.error(context, IssueCode::BusinessRule, format!("The Usage Context value must be of type CodeableConcept not {found}"));
                    }
                }
            } else {
                // SD_ED_ADDITIONAL_BINDING_USAGE_UNKNOWN
                walk.inform(context, IssueCode::BusinessRule, format!("The Usage Context {shown_system}#{shown_code} is not recognized so cannot be validated"));
            }
            walk.path.pop();
            walk.path.pop();
            walk.path.pop();
        }
    }
}

/// Cross-version extensions (`http://hl7.org/fhir/3.0/StructureDefinition/extension-…`),
/// which the reference makes up from other versions' definitions rather than resolving.
fn is_cross_version_extension(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://hl7.org/fhir/") else { return false };
    let b = rest.as_bytes();
    b.len() > 4 && b[0].is_ascii_digit() && b[1] == b'.' && b[2].is_ascii_digit() && rest[3..].starts_with("/StructureDefinition/extension-")
}

/// The first definition up a profile's base chain that is not a constraint: the type it applies to.
fn type_applied_to(walk: &Walk<'_, '_>, sd: Arc<StructureDef>) -> Option<Arc<StructureDef>> {
    let mut current = sd;
    for _ in 0..32 {
        if current.derivation.as_deref() != Some("constraint") {
            return Some(current);
        }
        current = walk.ctx.structure(current.base_definition.as_deref()?)?;
    }
    None
}

/// Whether a type is, or specializes through abstract or logical bases, `code`.
fn is_instance_of(walk: &Walk<'_, '_>, sd: Arc<StructureDef>, code: &str) -> bool {
    let mut current = Some(sd);
    for _ in 0..32 {
        let Some(sd) = current else { return false };
        if sd.type_name == code || sd.url == code {
            return true;
        }
        current = sd.base_definition.as_deref().and_then(|b| walk.ctx.structure(b)).filter(|b| b.is_abstract || b.kind == "logical");
    }
    false
}

/// A definition as the reference prints one: `StructureDefinition[url|version]`.
fn shown_definition(sd: &StructureDef) -> String {
    format!("StructureDefinition[{}]", sd.versioned_url())
}

/// Whether a logical model says it can be the target of a reference.
fn referenceable(walk: &Walk<'_, '_>, sd: &StructureDef) -> bool {
    let Some(json) = walk.ctx.resource_json(&sd.url) else { return false };
    json.get("extension").and_then(Value::as_array).is_some_and(|exts| {
        exts.iter().any(|e| match e.get("url").and_then(Value::as_str) {
            Some(EXT_TYPE_CHARACTERISTICS) => e.get("valueCode").and_then(Value::as_str) == Some("can-be-target"),
            Some(EXT_LOGICAL_TARGET) => e.get("valueBoolean").and_then(Value::as_bool) == Some(true),
            _ => false,
        })
    })
}

/// A type's profiles and target profiles: known, of a type, a modifier
/// extension exactly where the element is a modifier, targets that can be
/// targets. The walk's path is at the type.
fn type_profile_rules(walk: &mut Walk<'_, '_>, type_node: &Node, code: &str, path: &str, f: &Facts) {
    for (k, profile) in type_node.children_named("profile").enumerate() {
        let Some(p) = profile.text().filter(|p| !p.is_empty()) else { continue };
        walk.path.push("profile", Some(k));
        match walk.ctx.structure(p) {
            None if is_cross_version_extension(p) => {}
            // SD_ED_TYPE_PROFILE_UNKNOWN
            None => walk.warn(profile, IssueCode::Exception, format!("Unable to resolve profile {}", quoted(p))),
            Some(sd) => match type_applied_to(walk, sd.clone()) {
                // SD_ED_TYPE_PROFILE_NOTYPE
                None => walk.error(profile, IssueCode::Exception, format!("Found profile {}, but unable to determine the type it applies to", quoted(p))),
                // (a profile of another type: SD_ED_TYPE_PROFILE_WRONG, in element_rules)
                Some(t) if t.type_name != "Extension" && is_instance_of(walk, t.clone(), code) => {
                    // MSG_DEPENDS_ON_PROFILE: a deprecated, withdrawn or retired profile is said to be so
                    walk.definition_status(profile, &sd, "profile");
                }
                Some(t) if t.type_name == "Extension" && is_instance_of(walk, t.clone(), code) => {
                    // MSG_DEPENDS_ON_EXTENSION
                    walk.definition_status(profile, &sd, "extension");
                    let modifier_definition = sd.elements.first().is_some_and(|e| e.is_modifier);
                    let modifier_context = path.ends_with(".modifierExtension");
                    if modifier_definition && !modifier_context {
                        // SD_ED_TYPE_PROFILE_NOT_MODIFIER
                        walk.error(
                            profile,
                            IssueCode::Exception,
                            format!("Profile {} is for a modifier extension, but the {} element is not a modifier", quoted(p), quoted(path)),
                        );
                    } else if !modifier_definition && modifier_context {
                        // SD_ED_TYPE_PROFILE_IS_MODIFIER
                        walk.error(
                            profile,
                            IssueCode::Exception,
                            format!("Profile {} is for not for a modifier extension, but the {} element is a modifier", quoted(p), quoted(path)),
                        );
                    }
                }
                Some(_) => {}
            },
        }
        walk.path.pop();
    }
    let logical = f.kind.as_deref() == Some("logical");
    for (k, target) in type_node.children_named("targetProfile").enumerate() {
        let Some(p) = target.text().filter(|p| !p.is_empty()) else { continue };
        walk.path.push("targetProfile", Some(k));
        let required = match code {
            "Reference" | "CodeableReference" => Some("Resource"),
            "canonical" => Some("Canonical Resource"),
            _ => None,
        };
        match required {
            // SD_ED_TYPE_NO_TARGET_PROFILE
            None => walk.error(target, IssueCode::Exception, format!("Type {} does not allow for target Profiles", quoted(code))),
            Some(required) => match walk.ctx.structure(p) {
                // SD_ED_TYPE_PROFILE_UNKNOWN
                None => walk.warn(target, IssueCode::Exception, format!("Unable to resolve profile {}", quoted(p))),
                Some(sd) => match type_applied_to(walk, sd.clone()) {
                    // SD_ED_TYPE_PROFILE_NOTYPE
                    None => walk.error(target, IssueCode::Exception, format!("Found profile {}, but unable to determine the type it applies to", quoted(p))),
                    Some(t) => {
                        let fits = if required == "Resource" {
                            sd.kind == "resource" || (logical && referenceable(walk, &t))
                        } else {
                            super::canonical_resource::is_canonical_type(&t.type_name) || t.type_name == "Resource"
                        };
                        if !fits {
                            // SD_ED_TYPE_PROFILE_WRONG_TARGET
                            walk.error(
                                target,
                                IssueCode::Exception,
                                format!(
                                    "Profile {} is for type {}, which is not a {} (which is required because the {} element has the type {})",
                                    quoted(p),
                                    shown_definition(&t),
                                    required,
                                    quoted(path),
                                    quoted(code)
                                ),
                            );
                        }
                    }
                },
            },
        }
        walk.path.pop();
    }
}
