//! CapabilityStatement rules: a search parameter a resource declares has
//! the type of the SearchParameter its `definition` points to.

use crate::issue::{quoted, IssueCode};
use crate::tree::Node;
use crate::validator::element::Walk;

pub(crate) fn check_capability_statement(walk: &mut Walk<'_, '_>, node: &Node) {
    for (r, rest) in node.children_named("rest").enumerate() {
        for (t, resource) in rest.children_named("resource").enumerate() {
            for (s, param) in resource.children_named("searchParam").enumerate() {
                let Some(definition) = param.child_text("definition").filter(|d| !d.is_empty()) else { continue };
                let Some(sp) = walk.ctx.resource_json(definition) else { continue };
                if sp.get("resourceType").and_then(|v| v.as_str()) != Some("SearchParameter") {
                    continue;
                }
                let sp_type = sp.get("type").and_then(|v| v.as_str()).unwrap_or("");
                let declared = param.child_text("type");
                if declared == Some(sp_type) {
                    continue;
                }
                let url = sp.get("url").and_then(|v| v.as_str()).unwrap_or(definition);
                let versioned = match sp.get("version").and_then(|v| v.as_str()) {
                    Some(v) => format!("{url}|{v}"),
                    None => url.to_string(),
                };
                let declared = declared.map_or_else(|| "null".into(), quoted);
                walk.path.push("rest", Some(r));
                walk.path.push("resource", Some(t));
                walk.path.push("searchParam", Some(s));
                // CapabalityStatement_CS_SP_WrongType
                walk.error(
                    param,
                    IssueCode::Invalid,
                    format!("Type mismatch - SearchParameter '{}' type is {sp_type}, but type here is {declared}", quoted(&versioned)),
                );
                walk.path.pop();
                walk.path.pop();
                walk.path.pop();
            }
        }
    }
}
