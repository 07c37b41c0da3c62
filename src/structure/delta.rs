//! What a profile adds to the type it constrains.
//!
//! The validator walks every resource against the definition of its type
//! first, then against each of its profiles. A profile's snapshot repeats
//! the whole type, but most of its elements are the type's own, unchanged:
//! the walk against the type has already checked them. Comparing each
//! profile element with the element it constrains, once when the profile is
//! compiled, lets the profile walk visit only what the profile changes.

use super::{Element, ElementType, Invariant, StructureDef};
use std::sync::Arc;

/// The compiled definition of a type by its code (`Identifier`, `Extension`).
pub type TypeLookup<'a> = dyn Fn(&str) -> Option<Arc<StructureDef>> + 'a;

impl StructureDef {
    /// Sets [`Element::inherited`], [`Element::constrains`] and
    /// [`Invariant::inherited`] by comparing this profile with `base`, the
    /// definition of its type. Elements the profile expands into a data type
    /// (`Goal.identifier.system`) are compared with that type's elements.
    pub fn mark_inherited(&mut self, base: &Arc<StructureDef>, types: &TypeLookup<'_>) {
        if self.elements.is_empty() || base.elements.is_empty() {
            return;
        }
        self.mark(0, Some((base.clone(), 0)), types);
    }

    /// Marks element `ix` and everything below it; returns its `constrains`.
    fn mark(&mut self, ix: usize, base: Option<(Arc<StructureDef>, usize)>, types: &TypeLookup<'_>) -> bool {
        let inherited = match &base {
            Some((b, bix)) => {
                let counterpart = &b.elements[*bix];
                // The walk against the type evaluates the element's invariants and its type's.
                let type_root = single_type(counterpart, None).and_then(|code| types(&code));
                let known: Vec<&Invariant> = counterpart.invariants.iter().chain(type_root.iter().flat_map(|t| t.elements[0].invariants.iter())).collect();
                for inv in &mut self.elements[ix].invariants {
                    inv.inherited |= known.iter().any(|k| same_invariant(k, inv));
                }
                same_checks(&self.elements[ix], counterpart)
            }
            None => false,
        };
        let mut below = false;
        for c in self.elements[ix].children.clone() {
            let counterpart = base.as_ref().and_then(|(b, bix)| base_child(b, *bix, &self.elements[ix], &self.elements[c].name, types));
            below |= self.mark(c, counterpart, types);
        }
        for s in self.elements[ix].slices.clone() {
            // A slice constrains the element it slices: compared with that element's base.
            self.mark(s, base.clone(), types);
            below = true;
        }
        let el = &mut self.elements[ix];
        // A content reference walks another element's children, whose
        // constraints apply here too: never skipped.
        el.inherited = inherited && el.slices.is_empty() && el.content_reference.is_none();
        el.constrains = !el.inherited || below;
        el.constrains
    }
}

/// Whether a profile element checks exactly what its base element checks.
fn same_checks(p: &Element, b: &Element) -> bool {
    let same_binding = match (&p.binding, &b.binding) {
        (None, None) => true,
        // Extensions carry additional bindings.
        (Some(x), Some(y)) => x.strength == y.strength && x.value_set == y.value_set && x.extension == y.extension,
        _ => false,
    };
    let same_slicing = match (&p.slicing, &b.slicing) {
        (None, _) => true,
        (Some(x), Some(y)) => x == y,
        (Some(_), None) => false,
    };
    p.min == b.min
        && p.max == b.max
        && same_types(&p.types, &b.types)
        && p.fixed == b.fixed
        && p.pattern == b.pattern
        && same_binding
        && same_slicing
        && p.min_value == b.min_value
        && p.max_value == b.max_value
        && p.max_length == b.max_length
        && p.min_length == b.min_length
        && p.narrative_languages == b.narrative_languages
        && p.narrative_source == b.narrative_source
        && p.value_rules == b.value_rules
        && p.is_modifier == b.is_modifier
        && p.invariants.iter().all(|i| i.inherited)
}

fn same_types(p: &[ElementType], b: &[ElementType]) -> bool {
    p.len() == b.len() && p.iter().zip(b).all(|(x, y)| x.code == y.code && x.profiles == y.profiles && x.target_profiles == y.target_profiles)
}

fn same_invariant(a: &Invariant, b: &Invariant) -> bool {
    a.key == b.key
        && match (&a.expression, &b.expression) {
            (Ok(x), Ok(y)) => x.source() == y.source(),
            _ => false,
        }
}

/// The one type of an element; for a choice the profile narrowed to one
/// type (`value[x]` to Quantity), that type.
fn single_type(base: &Element, profile: Option<&Element>) -> Option<String> {
    match base.types.as_slice() {
        [t] => Some(t.code.clone()),
        many => {
            let [t] = profile?.types.as_slice() else { return None };
            many.iter().any(|b| b.code == t.code).then(|| t.code.clone())
        }
    }
}

/// The base element of a profile child named `name` under `profile_parent`,
/// whose own base is element `bix` of `b`: a child of that element, or of
/// its type's definition when the base does not expand the type.
fn base_child(b: &Arc<StructureDef>, bix: usize, profile_parent: &Element, name: &str, types: &TypeLookup<'_>) -> Option<(Arc<StructureDef>, usize)> {
    let parent = &b.elements[bix];
    if !parent.children.is_empty() {
        return child_named(b, bix, name).map(|c| (b.clone(), c));
    }
    let tsd = types(&single_type(parent, Some(profile_parent))?)?;
    child_named(&tsd, 0, name).map(|c| (tsd, c))
}

fn child_named(sd: &StructureDef, parent: usize, name: &str) -> Option<usize> {
    sd.elements[parent].children.iter().copied().find(|&c| sd.elements[c].name == name)
}
