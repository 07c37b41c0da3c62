//! Rules on one ElementDefinition inside a StructureDefinition (differential
//! or snapshot): the `eld-*` invariants that need no FHIRPath engine, bindings
//! on types that cannot carry one, type profiles of the wrong type, and
//! must-support across a slicing. The walk's path points at the element.

use crate::definition::ElementDefinition;
use crate::issue::IssueCode;
use crate::tree::Node;
use crate::validator::element::Walk;

/// Types a binding means something on (the reference validator's list, and
/// the types derived from them by specialization in R4).
const BINDABLE: &[&str] = &[
    "code", "Coding", "CodeableConcept", "CodeableReference", "Quantity", "string", "uri", "url", "canonical", "oid", "uuid", "id", "markdown",
];

/// Types whose elements can be anything: a binding on them is not judged.
const OPEN: &[&str] = &["*", "Element", "BackboneElement", "Extension", "Resource", "DomainResource"];

pub(super) fn check_element(walk: &mut Walk<'_, '_>, node: &Node, e: &ElementDefinition, inherited_types: Option<&[String]>) {
    // eld-13
    let codes: Vec<&str> = e.types.iter().map(|t| t.code.as_str()).collect();
    if codes.iter().enumerate().any(|(i, c)| codes[..i].contains(c)) {
        walk.error(node, IssueCode::Invariant, "Constraint failed: eld-13: 'Types must be unique by code'".into());
    }
    // eld-19, eld-20
    if !e.path.is_empty() {
        if !eld19(&e.path) {
            walk.error(node, IssueCode::Invariant, "Constraint failed: eld-19: 'Element names cannot include some special characters'".into());
        }
        if !eld20(&e.path) {
            walk.warn(
                node,
                IssueCode::Invariant,
                "Constraint failed: eld-20: 'Element names should be simple alphanumerics with a max of 64 characters, or code generation tools may be broken'"
                    .into(),
            );
        }
    }
    if e.binding.is_some() {
        let types: Vec<String> = if codes.is_empty() { inherited_types.map(<[String]>::to_vec).unwrap_or_default() } else { codes.iter().map(|c| c.to_string()).collect() };
        let judged = !types.is_empty() && !types.iter().any(|t| OPEN.contains(&t.as_str()) || t.contains(':'));
        if judged && !types.iter().any(|t| BINDABLE.contains(&t.as_str())) {
            walk.error(
                node,
                IssueCode::BusinessRule,
                format!("This element has a Binding but the types [{}] do not make this kind of constraint relevant", types.join(", ")),
            );
        }
    }
}

/// Characters eld-19 forbids in a name.
fn special(c: char) -> bool {
    c.is_whitespace() || ".,:;'\"/|?!@#$%&*()[]{}".contains(c)
}

/// eld-19: `name(.name([x])?(:slice)?)*`, names of 1 to 64 allowed characters.
fn eld19(path: &str) -> bool {
    let mut parts = path.split('.');
    let first = parts.next().unwrap_or("");
    let name_ok = |n: &str| (1..=64).contains(&n.chars().count()) && !n.chars().any(special);
    if !name_ok(first) {
        return false;
    }
    parts.all(|p| {
        let (head, slice) = match p.split_once(':') {
            Some((h, s)) => (h, Some(s)),
            None => (p, None),
        };
        let head = head.strip_suffix("[x]").unwrap_or(head);
        name_ok(head) && slice.is_none_or(|s| !s.is_empty() && !s.chars().any(char::is_whitespace))
    })
}

/// eld-20: `[A-Za-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*(\[x])?)*`.
fn eld20(path: &str) -> bool {
    let mut parts = path.split('.');
    let first = parts.next().unwrap_or("");
    let alnum_tail = |s: &str| s.chars().skip(1).all(|c| c.is_ascii_alphanumeric());
    if !first.starts_with(|c: char| c.is_ascii_alphabetic()) || !alnum_tail(first) {
        return false;
    }
    parts.all(|p| {
        let p = p.strip_suffix("[x]").unwrap_or(p);
        p.starts_with(|c: char| c.is_ascii_lowercase()) && alnum_tail(p)
    })
}

/// Abstract types an element can name while its profile names a concrete type.
const ABSTRACT: &[&str] = &["Resource", "DomainResource", "Element", "BackboneElement"];

/// A type's profile must be a profile of that type.
pub(super) fn check_type_profiles(walk: &mut Walk<'_, '_>, node: &Node, e: &ElementDefinition) {
    let type_nodes: Vec<&Node> = node.children_named("type").collect();
    for (ti, t) in e.types.iter().enumerate() {
        if ABSTRACT.contains(&t.code.as_str()) || t.code.contains(':') {
            continue;
        }
        for (pi, p) in t.profile.iter().enumerate() {
            let Some(profile) = walk.ctx.structure_definition(p) else { continue };
            if profile.type_name == t.code || profile.type_name.contains(':') {
                continue;
            }
            let pnode = type_nodes.get(ti).and_then(|tn| tn.children_named("profile").nth(pi)).unwrap_or(node);
            walk.path.push("type", Some(ti));
            walk.path.push("profile", Some(pi));
            walk.error(
                pnode,
                IssueCode::Exception,
                format!("Profile {p} is for type {}, but the {} element has type {}", profile.type_name, e.path, t.code),
            );
            walk.path.pop();
            walk.path.pop();
        }
    }
}

/// Slices of a must-support slicing should be must-support too (differential only).
/// The walk's path points at the differential.
pub(super) fn slice_must_support(walk: &mut Walk<'_, '_>, list_node: &Node, elements: &[ElementDefinition]) {
    for (i, sliced) in elements.iter().enumerate() {
        if sliced.slicing.is_none() || !sliced.must_support {
            continue;
        }
        let sliced_id = sliced.id.clone().unwrap_or_else(|| sliced.path.clone());
        let type_summary = sliced.types.iter().map(|t| t.code.as_str()).collect::<Vec<_>>().join(", ");
        for e in &elements[i + 1..] {
            // As the reference does: the slices end where the sliced element does.
            if e.path.len() < sliced.path.len() {
                break;
            }
            let Some(slice) = e.slice_name.as_deref() else { continue };
            if e.path != sliced.path || e.must_support {
                continue;
            }
            // The slice's id, when given, must name a slice of this element.
            if e.id.as_deref().is_some_and(|id| !id.starts_with(&format!("{sliced_id}:"))) {
                continue;
            }
            // A differential that leaves out the sliced element's types says nothing to compare with.
            if !sliced.types.is_empty() {
                for t in &e.types {
                    if !sliced.types.iter().any(|s| s.code == t.code) {
                        // SD_PATH_SLICE_INCONSISTENT_TYPE (the reference's wording lacks a closing quote)
                        walk.warn(
                            list_node,
                            IssueCode::Invalid,
                            format!(
                                "The slice '{slice}' on path '{}' has type '{}  which is not consistent with the element that defines the slicing, which has the type(s) '{type_summary}'",
                                e.path,
                                crate::issue::quoted(&t.code)
                            ),
                        );
                    }
                }
            }
            // SD_PATH_SLICE_INCONSISTENT_MS
            walk.warn(
                list_node,
                IssueCode::Invalid,
                format!(
                    "The slice '{slice}' on path '{}' is not marked as 'must-support' which is not consistent with the element that defines the slicing, where 'must-support' is true",
                    e.path
                ),
            );
        }
    }
}
