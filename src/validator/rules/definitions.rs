//! StructureDefinition rules: what the reference validator checks on a
//! definition beyond its structure — the type it defines, the paths of its
//! elements, the `eld-*`/`sdf-*` invariants that need no FHIRPath engine,
//! and its differential against the snapshot generated from it.
//! SearchParameter rules live in `search_parameter.rs`.

use super::element_rules;
use crate::definition::{ElementDefinition, StructureDefinition};
use crate::issue::IssueCode;
use crate::tree::Node;
use crate::validator::element::Walk;

/// A StructureDefinition against its base and the rules of snapshot generation.
pub(super) fn check_structure_definition(walk: &mut Walk<'_, '_>, node: &Node) {
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
    let position = |id: &str| elements.iter().position(|e| e.id.as_deref() == Some(id));
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
    for (i, d) in diff.iter().enumerate() {
        let Some((kind, value)) = d.choice("fixed").map(|(_, v)| ("fixed", v)).or_else(|| d.choice("pattern").map(|(_, v)| ("pattern", v))) else { continue };
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
            walk.error(nodes.get(i).copied().unwrap_or(node), IssueCode::Value, msg);
            walk.path.pop();
            walk.path.pop();
        }
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
