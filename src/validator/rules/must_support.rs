//! The must-support hint (the reference validator's `-hintAboutNonMustSupport`,
//! careplan's `--hint-about-must-support`): with profiles asked for, each
//! element the resource uses that no profile it was checked against marks
//! must-support is named, as information.
//!
//! As the reference does, an element is marked while the walks match it to
//! definitions: must-support where any definition it met says so, "does not
//! apply" where the definition's StructureDefinition marks nothing
//! must-support at all (a core type's, an unprofiled data type's), and an
//! element with a fixed or pattern value is left alone. Then one pass over
//! the resource names each unmarked element, going on below an element only
//! where it is marked must-support. careplan's profile walks leave out what
//! a profile inherits unchanged from a type; in the reference those parts
//! are checked against the type's own definition, which marks nothing
//! must-support, so an element no profile walk met counts as "does not apply".

use crate::issue::{Issue, IssueCode};
use crate::structure::StructureDef;
use crate::tree::Node;
use crate::validator::element::Walk;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// A definition it met is must-support.
    Supported,
    /// Met only definitions of StructureDefinitions that mark nothing must-support.
    NotApplicable,
    /// Met a profile that uses must-support, and is not marked in it.
    Unsupported,
}

/// What the walks noted about each element, by the element's address in the tree.
#[derive(Default)]
pub(crate) struct Usage {
    marks: HashMap<usize, Mark>,
    fixed: std::collections::HashSet<usize>,
    /// Where the walk against the resource's own type met each element: its
    /// expression and the versioned url of the definition that holds it.
    places: HashMap<usize, (String, String)>,
    /// Whether a StructureDefinition (by versioned url) marks any element must-support.
    uses_must_support: HashMap<String, bool>,
}

fn key(node: &Node) -> usize {
    node as *const Node as usize
}

impl Usage {
    /// `node` matched to element `ix` of `sd` in a profile walk.
    pub(crate) fn note(&mut self, node: &Node, sd: &Arc<StructureDef>, ix: usize) {
        let def = &sd.elements[ix];
        let k = key(node);
        let current = self.marks.get(&k).copied();
        if def.must_support {
            self.marks.insert(k, Mark::Supported);
        } else if current.is_none() {
            let uses = *self.uses_must_support.entry(sd.versioned_url()).or_insert_with(|| sd.elements.iter().any(|e| e.must_support));
            self.marks.insert(k, if uses { Mark::Unsupported } else { Mark::NotApplicable });
        }
        if def.fixed.is_some() || def.pattern.is_some() {
            self.fixed.insert(k);
        }
    }

    /// `node` met in the walk against its resource's type, at `expression`, in `sd`.
    pub(crate) fn place(&mut self, node: &Node, sd: &StructureDef, expression: impl FnOnce() -> String) {
        self.places.entry(key(node)).or_insert_with(|| (expression(), sd.versioned_url()));
    }
}

/// After every walk of the resource: the elements it uses that are not must-support.
pub(crate) fn report(walk: &mut Walk<'_, '_>, root: &Node) {
    let Some(usage) = walk.usage.take() else { return };
    for child in &root.children {
        // The resource's own id and narrative are never named.
        if child.name != "id" && child.name != "text" {
            element(walk, &usage, child);
        }
    }
}

fn element(walk: &mut Walk<'_, '_>, usage: &Usage, node: &Node) {
    let k = key(node);
    if usage.fixed.contains(&k) {
        return;
    }
    let mark = usage.marks.get(&k).copied().unwrap_or(Mark::NotApplicable);
    if mark == Mark::Unsupported {
        if let Some((expression, profile)) = usage.places.get(&k) {
            // MustSupport_VAL_MustSupport
            let message = format!(
                "The element {} is not marked as 'mustSupport' in the profile {profile}. Consider not using the element, or marking the element as must-Support in the profile",
                node.name
            );
            walk.report(node, Issue::info(IssueCode::Informational, expression.clone(), message));
        }
    }
    if mark != Mark::Supported {
        return;
    }
    for child in &node.children {
        element(walk, usage, child);
    }
}
