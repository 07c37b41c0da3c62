//! What the reference says when a fixed or pattern value of some data types
//! is not met, part by part: a CodeableConcept's codings, a HumanName's
//! names, an Address's lines. `slicing.rs` decides that a value is not met;
//! this says how, where the reference has its own words for it.

use crate::tree::Node;
use crate::validator::slicing::node_matches;
use serde_json::Value;

/// The reference's messages for a `type` value that `node` does not meet
/// (`pattern`: as a pattern, else as a fixed value), or none where it has no
/// words of its own beyond the generic one.
pub(crate) fn mismatch(type_code: &str, node: &Node, expected: &Value, pattern: bool, profile: &str) -> Vec<String> {
    if !matches!(type_code, "CodeableConcept" | "HumanName" | "Address") {
        return Vec::new();
    }
    let Value::Object(map) = expected else { return Vec::new() };
    match type_code {
        "CodeableConcept" => codeable_concept(node, map, pattern, profile),
        "HumanName" => human_name(node, map, pattern),
        "Address" => address(node, map, pattern, profile),
        _ => Vec::new(),
    }
}

fn items<'v>(map: &'v serde_json::Map<String, Value>, name: &str) -> &'v [Value] {
    match map.get(name) {
        Some(Value::Array(a)) => a,
        Some(one) => std::slice::from_ref(one),
        None => &[],
    }
}

fn children<'n>(node: &'n Node, name: &'n str) -> impl Iterator<Item = &'n Node> + 'n {
    node.children.iter().filter(move |c| c.name == name)
}

fn codeable_concept(node: &Node, map: &serde_json::Map<String, Value>, pattern: bool, profile: &str) -> Vec<String> {
    let wanted = items(map, "coding");
    let found: Vec<&Node> = children(node, "coding").collect();
    let count_ok = if pattern { found.len() >= wanted.len() } else { found.len() == wanted.len() };
    if !count_ok {
        // Terminology_TX_Coding_Count
        return vec![format!("Expected {} but found {} coding elements", wanted.len(), found.len())];
    }
    if !pattern {
        return Vec::new();
    }
    let mut out = Vec::new();
    for coding in wanted {
        if found.iter().any(|c| node_matches(c, coding, false)) {
            continue;
        }
        let part = |k: &str| coding.get(k).map_or_else(|| "null".to_string(), |v| v.as_str().map_or_else(|| v.to_string(), str::to_string));
        let issues = found
            .iter()
            .map(|c| format!("system {}, code {}", c.child_text("system").unwrap_or("null"), c.child_text("code").unwrap_or("null")))
            .collect::<Vec<_>>()
            .join("; ");
        out.push(match coding.get("userSelected") {
            // TYPE_CHECKS_PATTERN_CC_US
            Some(us) => format!(
                "The pattern [system {}, code {}, display '{}' and userSelected {us}] defined in the profile {profile} not found. Issues: [{issues}]",
                part("system"),
                part("code"),
                part("display")
            ),
            // TYPE_CHECKS_PATTERN_CC
            None => format!("The pattern [system {}, code {}, and display '{}'] defined in the profile {profile} not found. Issues: [{issues}]", part("system"), part("code"), part("display")),
        });
    }
    out
}

fn human_name(node: &Node, map: &serde_json::Map<String, Value>, pattern: bool) -> Vec<String> {
    let mut out = Vec::new();
    let has_family = map.contains_key("family");
    if !pattern || has_family {
        let found = children(node, "family").count();
        if (found > 0) != has_family {
            // Fixed_Type_Checks_DT_Name_Family
            out.push(format!("Expected {} but found {found} family elements", usize::from(has_family)));
        }
    }
    for part in ["given", "prefix", "suffix"] {
        let wanted = items(map, part).len();
        if pattern && wanted == 0 {
            continue;
        }
        let found = children(node, part).count();
        if found != wanted {
            // Fixed_Type_Checks_DT_Name_Given, Fixed_Type_Checks_DT_Name_Prefix, Fixed_Type_Checks_DT_Name_Suffix
            out.push(match part {
                "given" => format!("Expected {wanted} but found {found} given elements"),
                "prefix" => format!("Expected {wanted} but found {found} prefix elements"),
                _ => format!("Expected {wanted} but found {found} suffix elements"),
            });
        }
    }
    out
}

fn address(node: &Node, map: &serde_json::Map<String, Value>, pattern: bool, profile: &str) -> Vec<String> {
    let wanted = items(map, "line");
    let found: Vec<&Node> = children(node, "line").collect();
    let count_ok = if pattern { found.len() >= wanted.len() } else { found.len() == wanted.len() };
    if !count_ok {
        // Fixed_Type_Checks_DT_Address_Line
        return vec![format!("Expected {} but found {} line elements", wanted.len(), found.len())];
    }
    if !pattern {
        return Vec::new();
    }
    let mut out = Vec::new();
    for line in wanted {
        if !found.iter().any(|l| node_matches(l, line, false)) {
            let text = line.as_str().map_or_else(|| line.to_string(), str::to_string);
            let issues = found.iter().filter_map(|l| l.text()).map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
            // PATTERN_CHECK_STRING
            out.push(format!("The pattern [{text}] defined in the profile {profile} not found. Issues: [found {issues}]"));
        }
    }
    out
}
