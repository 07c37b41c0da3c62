//! What a Reference's definition says about where its target may be held
//! (aggregation), and the query of a conditional reference.

use crate::issue::{quoted, IssueCode};
use crate::structure::{Element, ElementType};
use crate::tree::Node;
use crate::validator::element::Walk;

/// Where a reference's target was found.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Destination {
    /// In the resource (`#id`, or `#` for the container).
    Contained,
    /// In the enclosing Bundle. (careplan fetches nothing, so a target is
    /// never found elsewhere: the reference's `external`.)
    Internal,
}

impl Destination {
    fn code(self) -> &'static str {
        match self {
            Destination::Contained => "contained",
            Destination::Internal => "internal",
        }
    }
}

/// The aggregation modes of the element's Reference type, as the reference
/// reads them (the type that says `Reference`).
fn aggregation<'t>(def: &'t Element, t: &'t ElementType) -> &'t [String] {
    if t.code == "Reference" {
        return &t.aggregation;
    }
    def.types.iter().find(|x| x.code == "Reference").map_or(&[], |x| x.aggregation.as_slice())
}

/// A target found where the aggregation modes do not allow it, or a target
/// not found where only a contained or bundled one is allowed.
pub(crate) fn check_aggregation(walk: &mut Walk<'_, '_>, node: &Node, reference: &str, found: Option<Destination>, def: &Element, t: &ElementType) {
    let modes = aggregation(def, t);
    if modes.is_empty() {
        return;
    }
    match found {
        Some(dest) => {
            // Inside a Bundle (and always for R4), `bundled` asks for a target in the Bundle.
            let ok = modes.iter().any(|m| match m.as_str() {
                "contained" => dest == Destination::Contained,
                "bundled" => dest == Destination::Internal,
                "referenced" => dest != Destination::Contained,
                _ => false,
            });
            if !ok {
                // Reference_REF_Aggregation
                let msg = format!("Reference is {} which isn't supported by the specified aggregation mode(s) for the reference ({})", dest.code(), modes.join(", "));
                walk.error(node, IssueCode::Structure, msg);
            }
        }
        None if !modes.iter().any(|m| m == "referenced") => {
            // Reference_REF_NotFound_Bundle
            walk.error(node, IssueCode::Required, format!("Bundled or contained reference not found within the bundle/resource {}", quoted(reference)));
        }
        None => {}
    }
}

/// A conditional reference (`Patient?identifier=...`): its query must be
/// a list of `name=value` pairs with search parameter names.
pub(crate) fn check_conditional(walk: &mut Walk<'_, '_>, node: &Node, reference: &str) {
    let Some((type_name, query)) = reference.split_once('?') else { return };
    if !walk.ctx.type_definition(type_name).is_some_and(|sd| sd.is_resource()) {
        return;
    }
    if !is_search_query(query) {
        // REFERENCE_REF_QUERY_INVALID
        walk.error(node, IssueCode::Invalid, format!("The query part of the conditional reference is not a valid query string ({})", quoted(reference)));
    }
}

/// A search URL, `Type?name=value&...`, as the reference's Bundle
/// resolution accepts one in place of a relative reference in a
/// transaction or batch: a resource type, then a valid query.
pub(crate) fn is_search_url(walk: &Walk<'_, '_>, reference: &str) -> bool {
    let Some((type_name, query)) = reference.split_once('?') else { return false };
    walk.ctx.type_definition(type_name).is_some_and(|sd| sd.is_resource()) && is_search_query(query)
}

/// At least one pair; each `name=value`, the name a letter or `_` then
/// letters, digits, `_`, `.`, `:` or `-`, the value without `=` or `&`.
fn is_search_query(query: &str) -> bool {
    let pairs: Vec<&str> = query.split(['&', ';']).filter(|p| !p.is_empty()).collect();
    !pairs.is_empty()
        && pairs.iter().all(|p| {
            let Some((name, value)) = p.split_once('=') else { return false };
            let mut chars = name.chars();
            chars.next().is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c))
                && !value.contains('=')
        })
}
