//! What an extension's own definition says about its content, beyond the
//! structure its snapshot gives: a simple extension carries a value, and a
//! complex extension's sub-extensions are the ones it defines.

use crate::issue::{quoted, Issue, IssueCode};
use crate::structure::StructureDef;
use crate::tree::Node;
use crate::validator::element::Walk;

/// An extension whose definition allows a value but which carries none.
pub(crate) fn simple_value(walk: &mut Walk<'_, '_>, node: &Node, sd: &StructureDef) {
    let has_value = node.children.iter().any(|c| c.name.strip_prefix("value").is_some_and(|s| s.starts_with(|c: char| c.is_ascii_uppercase())));
    if has_value {
        return;
    }
    // The first `Extension.value[x]` of the snapshot, as the reference reads it.
    let Some(value_def) = sd.elements.iter().find(|e| e.path.starts_with("Extension.value")) else { return };
    let mut allowed = value_def.max != Some(0) && !value_def.types.is_empty();
    if sd.url == "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type" {
        allowed = true;
    }
    if !allowed {
        return;
    }
    let url = quoted(node.child_text("url").unwrap_or(&sd.url));
    if node.children.iter().any(|c| c.name == "extension") {
        // Extensions without a value are fine unless the definition requires one.
        if value_def.min > 0 {
            // Extension_EXT_Simple_WRONG
            walk.error(node, IssueCode::Structure, format!("The Extension '{url}' definition is for a simple extension, so it must contain a value, not extensions"));
        }
    } else {
        // Extension_EXT_Simple_ABSENT
        walk.error(node, IssueCode::Structure, format!("The Extension '{url}' definition is for a simple extension, so it must contain a value"));
    }
}

/// A sub-extension (relative url) of a known complex extension whose
/// definition has no slice for that url.
pub(crate) fn sub_extension(walk: &mut Walk<'_, '_>, node: &Node, url: &str, parent: &StructureDef) {
    if parent.type_name != "Extension" {
        return;
    }
    let defined = parent
        .elements
        .iter()
        .any(|e| e.path == "Extension.extension.url" && e.fixed.as_ref().is_some_and(|(_, v)| v.as_str() == Some(url)));
    if defined {
        return;
    }
    let at = format!("{}[url='{}']", walk.path.render(), quoted(url));
    // Extension_EXT_SubExtension_Invalid
    let msg = format!("Sub-extension url '{}' is not defined by the Extension {}", quoted(url), parent.versioned_url());
    walk.report(node, Issue::error(IssueCode::Invalid, at, msg));
}

/// The extensions of an element with a fixed value: none when the fixed
/// value has none, else as many as it has, with the same urls.
pub(crate) fn fixed_extensions(walk: &mut Walk<'_, '_>, node: &Node, fixed: &serde_json::Value) {
    let present: Vec<&Node> = node.children.iter().filter(|c| c.name == "extension").collect();
    let wanted: &[serde_json::Value] = fixed.get("extension").and_then(|e| e.as_array()).map_or(&[], Vec::as_slice);
    if wanted.is_empty() {
        if !present.is_empty() {
            // Extension_EXT_Fixed_Banned
            walk.error(node, IssueCode::Value, "No extensions allowed, as the specified fixed value doesn't contain any extensions".into());
        }
        return;
    }
    if present.len() != wanted.len() {
        // Extension_EXT_Count_Mismatch
        walk.error(node, IssueCode::Value, format!("Extensions count mismatch: expected {} but found {}", wanted.len(), present.len()));
        return;
    }
    for url in wanted.iter().filter_map(|e| e.get("url").and_then(|u| u.as_str())) {
        if !present.iter().any(|p| p.child_text("url") == Some(url)) {
            // Extension_EXT_Count_NotFound
            walk.error(node, IssueCode::Value, format!("Extension count mismatch: unable to find extension: {}", quoted(url)));
        }
    }
}
