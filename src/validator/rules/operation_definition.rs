//! OperationDefinition rules: a definition does not derive from itself
//! through its `base` chain, and the profiles it names for its input and
//! output Parameters agree with its parameter list (names, cardinality,
//! types and target profiles).

use crate::issue::{quoted, IssueCode};
use crate::structure::{Element, StructureDef};
use crate::tree::Node;
use crate::validator::element::Walk;

const ALLOWED_TYPE_EXT: &str = "http://hl7.org/fhir/StructureDefinition/operationdefinition-allowed-type";

/// How far a `base` chain is followed before giving up.
const MAX_BASE_CHAIN: usize = 64;

pub(crate) fn check_operation_definition(walk: &mut Walk<'_, '_>, node: &Node) {
    if let (Some(url), Some(base)) = (node.child_text("url"), node.child_text("base")) {
        circular(walk, node, url, base);
    }
    let params: Vec<&Node> = node.children_named("parameter").collect();
    for (property, usage) in [("inputProfile", "in"), ("outputProfile", "out")] {
        if let Some(p) = node.child(property) {
            if let Some(url) = p.text() {
                walk.path.push(property, None);
                profile(walk, p, url, usage, &params);
                walk.path.pop();
            }
        }
    }
}

/// OPDEF_CIRCULAR_DEFINITION: following `base` leads back to this definition.
fn circular(walk: &mut Walk<'_, '_>, node: &Node, url: &str, base: &str) {
    let mut last = url.to_string();
    let mut base = base.to_string();
    for _ in 0..MAX_BASE_CHAIN {
        let Some(def) = walk.ctx.resource_json(&base) else { return };
        if def.get("resourceType").and_then(|v| v.as_str()) != Some("OperationDefinition") {
            return;
        }
        if def.get("url").and_then(|v| v.as_str()) == Some(url) {
            // OPDEF_CIRCULAR_DEFINITION
            walk.error(
                node,
                IssueCode::Unknown,
                format!("The definition of the Operation is circular - it depends on itself (url = '{}', from '{}')", quoted(url), quoted(&last)),
            );
            return;
        }
        let Some(next) = def.get("base").and_then(|v| v.as_str()) else { return };
        last = std::mem::replace(&mut base, next.to_string());
    }
}

/// The parameter list against an input or output Parameters profile.
fn profile(walk: &mut Walk<'_, '_>, node: &Node, url: &str, usage: &str, params: &[&Node]) {
    let Some(sd) = walk.ctx.structure(url) else {
        // OPDEF_PROFILE_NOT_FOUND
        walk.error(node, IssueCode::Unknown, format!("The '{usage}' profile '{}' can not be resolved", quoted(url)));
        return;
    };
    if sd.type_name != "Parameters" {
        // OPDEF_PROFILE_NOT_PARAMETERS
        walk.error(node, IssueCode::Invalid, format!("The '{usage}' profile '{}' is not a profile on the 'Parameters' resource", quoted(url)));
        return;
    }
    let versioned = sd.versioned_url();
    let mut matched = vec![false; params.len()];
    let parameter = sd.root().children.iter().copied().find(|&c| sd.elements[c].name == "parameter");
    if let Some(parameter) = parameter {
        for &slice in &sd.elements[parameter].slices {
            let slice_el = &sd.elements[slice];
            let slice_name = slice_el.slice_name.as_deref().unwrap_or("");
            let Some(name_el) = child_by_name(&sd, slice, "name") else {
                // OPDEF_PROFILE_NO_SLICE
                walk.error(
                    node,
                    IssueCode::Unknown,
                    format!("The slice '{}' in the {usage} profile does not have a sub-slice for the parameter name", quoted(slice_name)),
                );
                continue;
            };
            // The reference reads the fixed value, else the pattern; with
            // neither it stops (an exception), so nothing is said here.
            let fixed = sd.elements[name_el].fixed.as_ref().or(sd.elements[name_el].pattern.as_ref());
            let Some(param_name) = fixed.and_then(|(_, v)| v.as_str()) else { continue };
            let found = params
                .iter()
                .position(|p| p.child_text("name") == Some(param_name) && p.child_text("use") == Some(usage));
            match found {
                None => {
                    // OPDEF_PROFILE_NOT_IN_PARAM
                    walk.warn(
                        node,
                        IssueCode::Unknown,
                        format!(
                            "The '{usage}' profile {versioned} defines a parameter '{}' but this is not in the parameters list in the operation definition",
                            quoted(param_name)
                        ),
                    );
                }
                Some(ix) => {
                    matched[ix] = true;
                    walk.path.push("parameter", Some(ix));
                    compare(walk, params[ix], usage, param_name, &sd, slice, &versioned);
                    walk.path.pop();
                }
            }
        }
    }
    for (ix, p) in params.iter().enumerate() {
        if !matched[ix] && p.child_text("use") == Some(usage) {
            let name = p.child_text("name").unwrap_or("");
            walk.path.push("parameter", Some(ix));
            // OPDEF_PROFILE_NOT_IN_PROFILE
            walk.warn(
                p,
                IssueCode::Unknown,
                format!(
                    "The '{usage}' profile does not have a parameter '{}' but it is in the parameters list in the operation definition",
                    quoted(name)
                ),
            );
            walk.path.pop();
        }
    }
}

/// The child of `parent` with this name (`value` finds `value[x]`).
fn child_by_name(sd: &StructureDef, parent: usize, name: &str) -> Option<usize> {
    sd.elements[parent].children.iter().copied().find(|&c| {
        let n = &sd.elements[c].name;
        n == name || n.strip_prefix(name).is_some_and(|rest| rest.starts_with("[x]"))
    })
}

fn max_number(max: Option<&str>) -> Option<u64> {
    match max {
        Some("*") => Some(u64::MAX),
        Some(m) => m.parse().ok(),
        None => None,
    }
}

fn max_text(e: &Element) -> String {
    e.max.map_or_else(|| "*".to_string(), |m| m.to_string())
}

/// Sorted, joined with `,` and a final ` and `, or `(none)`.
fn listing(list: &[String]) -> String {
    if list.is_empty() {
        return "(none)".into();
    }
    let mut sorted: Vec<&str> = list.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    match sorted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(",")),
        _ => sorted.join(","),
    }
}

/// Whether `focus` carries the parameter's value: it may appear, and neither
/// of the other two value-carrying children is required.
fn used(sd: &StructureDef, focus: usize, others: [Option<usize>; 2]) -> bool {
    sd.elements[focus].max != Some(0) && others.iter().flatten().all(|&o| sd.elements[o].min == 0)
}

/// One parameter of the operation against the profile's slice for it.
fn compare(walk: &mut Walk<'_, '_>, param: &Node, usage: &str, name: &str, sd: &StructureDef, slice: usize, versioned: &str) {
    let slice_el = &sd.elements[slice];
    let name = quoted(name);
    if let Some(min) = param.child_text("min") {
        if let Ok(n) = min.parse::<i64>() {
            if n >= 0 && n != i64::from(slice_el.min) {
                let profile_min = slice_el.min;
                // OPDEF_PROFILE_NOT_VALUE_MISMATCH
                walk.error(
                    param,
                    IssueCode::Unknown,
                    format!(
                        "The parameter '{name}' has a value for '{}' of '{profile_min}' in the '{usage}' profile {profile_min} that is different to '{}' which is the value in the parameter definition in the operation definition",
                        "min",
                        quoted(min)
                    ),
                );
            }
        }
    }
    let profile_max = max_text(slice_el);
    if let Some(max) = param.child_text("max") {
        if let (Some(ours), Some(theirs)) = (max_number(Some(max)), max_number(Some(&profile_max))) {
            if ours != theirs {
                // OPDEF_PROFILE_NOT_VALUE_MISMATCH
                walk.error(
                    param,
                    IssueCode::Unknown,
                    format!(
                        "The parameter '{name}' has a value for '{}' of '{profile_max}' in the '{usage}' profile {profile_max} that is different to '{}' which is the value in the parameter definition in the operation definition",
                        "max",
                        quoted(max)
                    ),
                );
            }
        }
    }

    let allowed_ext: Vec<String> = param
        .children_named("extension")
        .filter(|e| e.child_text("url") == Some(ALLOWED_TYPE_EXT))
        .filter_map(|e| e.children.iter().find(|c| c.name.starts_with("value")).and_then(Node::text))
        .map(str::to_string)
        .collect();
    let allowed_types: Vec<String> = if !allowed_ext.is_empty() {
        allowed_ext
    } else if param.child("allowedType").is_some() {
        param.children_named("allowedType").filter_map(Node::text).map(str::to_string).collect()
    } else {
        param.child_text("type").map(str::to_string).into_iter().collect()
    };
    let allowed_targets: Vec<String> = param.children_named("targetProfile").filter_map(Node::text).map(str::to_string).collect();

    let value = child_by_name(sd, slice, "value");
    let resource = child_by_name(sd, slice, "resource");
    let part = child_by_name(sd, slice, "part");
    let mut profile_types: Vec<String> = Vec::new();
    let mut profile_targets: Vec<String> = Vec::new();
    for (focus, others) in [(value, [resource, part]), (resource, [value, part])] {
        let Some(focus) = focus else { continue };
        if !used(sd, focus, others) {
            continue;
        }
        for t in &sd.elements[focus].types {
            profile_types.push(t.code.clone());
            profile_targets.extend(t.target_profiles.iter().cloned());
            if !allowed_types.contains(&t.code) {
                // OPDEF_PROFILE_TYPE_NOT_IN_PARAMS
                walk.error(
                    param,
                    IssueCode::Invalid,
                    format!(
                        "The type '{}' is allowed for the parameter '{name}' in the '{usage}' profile {versioned} but is not in the list of allowed types for the parameter in the operation definition: {}",
                        t.code,
                        quoted(&listing(&allowed_types))
                    ),
                );
            }
        }
    }
    for t in &allowed_types {
        if !profile_types.contains(t) {
            // OPDEF_PROFILE_TYPE_NOT_IN_PROFILE
            walk.error(
                param,
                IssueCode::Invalid,
                format!(
                    "The type '{}' is not allowed for the parameter '{name}' in the '{usage}' profile {versioned} but is in the list of allowed types for the parameter in the operation definition (allowed types = {})",
                    quoted(t),
                    listing(&profile_types)
                ),
            );
        }
    }
    for t in &allowed_targets {
        if !profile_targets.contains(t) {
            // OPDEF_PROFILE_PROFILE_NOT_IN_PROFILE
            walk.error(
                param,
                IssueCode::Invalid,
                format!(
                    "The target profile '{}' is not allowed for the parameter '{name}' in the '{usage}' profile but is in the list of target profiles for the parameter in the operation definition (profile target profiles = {})",
                    quoted(t),
                    listing(&profile_targets)
                ),
            );
        }
    }
    // A parameter of type Element may not declare target profiles (opd-3), so
    // the profile's cannot be compared with them.
    if param.child_text("type").is_some_and(|t| t != "Element") {
        for t in &profile_targets {
            if !allowed_targets.contains(t) {
                // OPDEF_PROFILE_PROFILE_NOT_IN_PARAMS
                walk.error(
                    param,
                    IssueCode::Invalid,
                    format!(
                        "The target profile '{t}' is allowed for the parameter '{name}' in the '{usage}' profile {versioned} but is not in the list of target profiles for the parameter in the operation definition: {}",
                        quoted(&listing(&allowed_targets))
                    ),
                );
            }
        }
    }
}
