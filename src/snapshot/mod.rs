//! Snapshot generation: turns a StructureDefinition that comes as a
//! differential only (profiles and extensions of implementation guides)
//! into one with a snapshot the validator can compile.
//!
//! The snapshot starts as a copy of the base definition's snapshot (itself
//! generated first when the base is a differential too). Each differential
//! element is then applied, in order, onto the snapshot element it names:
//! by element id when it has one, else by path and slice name. Naming an
//! element the snapshot does not list yet creates it:
//!
//! - a child of a complex type (`Patient.identifier.system`) expands the
//!   type: the type's (or the element's type profile's) snapshot elements
//!   are inserted under the element, re-rooted to its path and id;
//! - a slice (`Patient.identifier:nhs`) is a copy of the sliced element,
//!   placed after the sliced element's subtree and its earlier slices;
//! - an R4 choice rename (`Observation.valueQuantity`) narrows the types of
//!   the choice element (`Observation.value[x]`) and constrains it in place;
//! - a new element of a specialization (a logical model) is added.
//!
//! Errors name the differential element that cannot apply.

pub mod compare;

use crate::context::{Context, CORE_SD_BASE};
use crate::definition::{Discriminator, ElementBase, ElementDefinition, ElementList, Slicing, StructureDefinition};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// Why a snapshot cannot be generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotError {
    /// The definition being generated.
    pub url: String,
    /// The differential element that cannot apply, if one is to blame.
    pub element: Option<String>,
    pub message: String,
}

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.element {
            Some(e) => write!(f, "snapshot of {}: element {}: {}", self.url, e, self.message),
            None => write!(f, "snapshot of {}: {}", self.url, self.message),
        }
    }
}

impl std::error::Error for SnapshotError {}

/// Generates the snapshot of `sd` from its differential and its base
/// definition (found in `ctx`). An existing snapshot is replaced.
pub fn generate(sd: StructureDefinition, ctx: &Context) -> Result<StructureDefinition, SnapshotError> {
    Generator { ctx, stack: Vec::new(), memo: HashMap::new() }.generate(sd, None)
}

/// As [`generate`], and also what became of each differential element, in
/// differential order: the id of the snapshot element it was applied to, or
/// `None` when it names no element (it is skipped, as in [`generate`]).
pub fn generate_matching(sd: StructureDefinition, ctx: &Context) -> Result<(StructureDefinition, Vec<Option<String>>), SnapshotError> {
    let mut matched = Vec::new();
    let sd = Generator { ctx, stack: Vec::new(), memo: HashMap::new() }.generate(sd, Some(&mut matched))?;
    Ok((sd, matched))
}

/// The hook the loader installs in a context: a warning and `None` on failure.
pub fn context_hook(sd: StructureDefinition, ctx: &Context) -> Option<StructureDefinition> {
    match generate(sd, ctx) {
        Ok(sd) => Some(sd),
        Err(e) => {
            tracing::warn!("{e}");
            None
        }
    }
}

struct Generator<'c> {
    ctx: &'c Context,
    /// Definitions being generated, outermost first (cycle guard).
    stack: Vec<String>,
    /// Snapshots resolved during this generation, by canonical.
    memo: HashMap<String, Arc<Vec<ElementDefinition>>>,
}

impl Generator<'_> {
    fn generate(&mut self, mut sd: StructureDefinition, mut matched: Option<&mut Vec<Option<String>>>) -> Result<StructureDefinition, SnapshotError> {
        let url = sd.url.clone();
        let err = |element: Option<&str>, message: String| SnapshotError { url: url.clone(), element: element.map(str::to_string), message };
        let Some(base_url) = sd.base_definition.clone() else {
            return Err(err(None, "it has no baseDefinition to build on".into()));
        };
        if self.stack.iter().any(|u| u == &url) {
            return Err(err(None, format!("its base definitions go round in a circle ({} → {url})", self.stack.join(" → "))));
        }
        self.stack.push(url.clone());
        let base = self.snapshot_of(&base_url);
        self.stack.pop();
        let base = base.map_err(|e| err(None, format!("base definition {base_url}: {e}")))?;
        let diff: Vec<ElementDefinition> = sd.differential.as_ref().map(|d| d.element.clone()).unwrap_or_default();
        let specialization = sd.derivation.as_deref() == Some("specialization");
        let mut snap = Snapshot { elements: (*base).clone(), base: Vec::new(), specialization };
        snap.ensure_ids();
        snap.base = snap.elements.clone();
        if specialization {
            let root = diff.first().map(|d| d.path.split('.').next().unwrap_or(&d.path).to_string()).unwrap_or_else(|| sd.type_name.clone());
            snap.rename_root(&root);
        }
        let diff = with_ids(diff);
        for d in &diff {
            let shown = d.id.clone().unwrap_or_else(|| d.path.clone());
            let ix = match snap.locate(self, d) {
                Ok(ix) => ix,
                // As the reference validator: a differential element that names
                // nothing is reported, and the rest of the profile still applies.
                Err(m) if m.starts_with("no element") => {
                    tracing::warn!("{}", err(Some(&shown), m));
                    if let Some(record) = matched.as_deref_mut() {
                        record.push(None);
                    }
                    continue;
                }
                Err(m) => return Err(err(Some(&shown), m)),
            };
            merge(&mut snap.elements[ix], d, &url).map_err(|m| err(Some(&shown), m))?;
            if let Some(record) = matched.as_deref_mut() {
                record.push(Some(id_of(&snap.elements[ix]).to_string()));
            }
        }
        sd.snapshot = Some(ElementList { element: snap.elements });
        Ok(sd)
    }

    /// The snapshot elements of a definition, generated when it has none.
    fn snapshot_of(&mut self, canonical: &str) -> Result<Arc<Vec<ElementDefinition>>, String> {
        if let Some(hit) = self.memo.get(canonical) {
            return Ok(hit.clone());
        }
        let sd = self.ctx.structure_definition(canonical).ok_or_else(|| format!("{canonical} cannot be found"))?;
        let elements = match sd.snapshot {
            Some(s) if !s.element.is_empty() => s.element,
            _ => {
                let generated = self.generate(sd, None).map_err(|e| e.to_string())?;
                generated.snapshot.map(|s| s.element).unwrap_or_default()
            }
        };
        if elements.is_empty() {
            return Err(format!("{canonical} has no elements"));
        }
        let elements = Arc::new(elements);
        self.memo.insert(canonical.to_string(), elements.clone());
        Ok(elements)
    }
}

/// The snapshot being built.
struct Snapshot {
    elements: Vec<ElementDefinition>,
    /// The base snapshot as it was: content references copy from it, as
    /// the profile's own constraints do not apply to the referenced content.
    base: Vec<ElementDefinition>,
    specialization: bool,
}

fn id_of(e: &ElementDefinition) -> &str {
    e.id.as_deref().unwrap_or(&e.path)
}

/// Whether `id` is `prefix` itself or lies beneath it (`prefix.x`, `prefix:s`, `prefix/r`).
fn within(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', ':', '/']))
}

/// Splits an element id at its last segment: `a.b:s.c` → (`a.b:s`, `c`).
fn split_last(id: &str) -> Option<(&str, &str)> {
    id.rfind('.').map(|i| (&id[..i], &id[i + 1..]))
}

/// Gives ids to differential elements that have none (older definitions),
/// as their order says: after a slice `a.b` (`sliceName` s), elements under
/// `a.b` belong to the slice, until another element at `a.b` comes.
fn with_ids(mut diff: Vec<ElementDefinition>) -> Vec<ElementDefinition> {
    // (path, id) of the slices currently open, innermost last.
    let mut open: Vec<(String, String)> = Vec::new();
    for d in &mut diff {
        if d.id.is_some() {
            continue;
        }
        let path = d.path.clone();
        let (parent_path, name) = match path.rfind('.') {
            Some(i) => (&path[..i], &path[i + 1..]),
            None => ("", path.as_str()),
        };
        let parent_id = open
            .iter()
            .rev()
            .find(|(p, _)| parent_path == p || parent_path.strip_prefix(p.as_str()).is_some_and(|r| r.starts_with('.')))
            .map(|(p, id)| format!("{id}{}", &parent_path[p.len()..]))
            .unwrap_or_else(|| parent_path.to_string());
        let mut id = if parent_id.is_empty() { name.to_string() } else { format!("{parent_id}.{name}") };
        // Whatever was open at or under this path is closed.
        open.retain(|(p, _)| !(p == &path || p.strip_prefix(path.as_str()).is_some_and(|r| r.starts_with('.'))));
        if let Some(slice) = &d.slice_name {
            id = format!("{id}:{slice}");
            open.push((path.clone(), id.clone()));
        }
        d.id = Some(id);
    }
    diff
}

/// `Quantity` for the suffix `Quantity`, `dateTime` for `DateTime`.
fn suffix_names_type(suffix: &str, code: &str) -> bool {
    let mut c = code.chars();
    let mut s = suffix.chars();
    matches!((c.next(), s.next()), (Some(a), Some(b)) if a.to_ascii_uppercase() == b && c.as_str() == s.as_str())
}

/// Replaces the leading `from` of an id or path with `to`.
fn reroot(s: &str, from: &str, to: &str) -> String {
    match s.strip_prefix(from) {
        Some(rest) => format!("{to}{rest}"),
        None => s.to_string(),
    }
}

impl Snapshot {
    /// Gives every element an id (older snapshots have none).
    fn ensure_ids(&mut self) {
        for e in &mut self.elements {
            if e.id.is_none() {
                e.id = Some(match &e.slice_name {
                    Some(s) => format!("{}:{s}", e.path),
                    None => e.path.clone(),
                });
            }
        }
    }

    /// A specialization names its own root: `Element.id` becomes `MyModel.id`.
    fn rename_root(&mut self, root: &str) {
        let old = self.elements[0].path.clone();
        if old == root {
            return;
        }
        for e in &mut self.elements {
            e.path = reroot(&e.path, &old, root);
            e.id = e.id.as_deref().map(|id| reroot(id, &old, root));
        }
    }

    fn index_of(&self, id: &str) -> Option<usize> {
        self.elements.iter().position(|e| id_of(e) == id)
    }

    /// One past the last element of `ix`'s subtree (its children, its slices and theirs).
    fn subtree_end(&self, ix: usize) -> usize {
        let id = id_of(&self.elements[ix]).to_string();
        let mut end = ix + 1;
        while end < self.elements.len() && within(id_of(&self.elements[end]), &id) {
            end += 1;
        }
        end
    }

    /// The snapshot element a differential element applies to, created when needed.
    fn locate(&mut self, g: &mut Generator, d: &ElementDefinition) -> Result<usize, String> {
        let by_path = match &d.slice_name {
            Some(s) if !d.path.ends_with(&format!(":{s}")) => format!("{}:{s}", d.path),
            _ => d.path.clone(),
        };
        let id = d.id.clone().unwrap_or_else(|| by_path.clone());
        match self.find_or_create(g, &id, Some(d)) {
            Ok(ix) => Ok(ix),
            Err(first) if id != by_path => self.find_or_create(g, &by_path, Some(d)).map_err(|_| first),
            Err(e) => Err(e),
        }
    }

    fn find_or_create(&mut self, g: &mut Generator, id: &str, leaf: Option<&ElementDefinition>) -> Result<usize, String> {
        if let Some(ix) = self.index_of(id) {
            return Ok(ix);
        }
        let Some((parent_id, segment)) = split_last(id) else {
            // The root, whatever its name in the differential.
            return Ok(0);
        };
        let parent = self.find_or_create(g, parent_id, None)?;
        self.ensure_children(g, parent)?;
        let parent_id = id_of(&self.elements[parent]).to_string();
        let (name, slice) = match segment.split_once(':') {
            Some((n, s)) => (n, Some(s)),
            None => (segment, None),
        };
        let found = self.child(parent, &parent_id, name);
        let Some((child, narrow)) = found else {
            if self.specialization && slice.is_none() {
                if let Some(d) = leaf {
                    return Ok(self.add_new(parent, &parent_id, name, d));
                }
            }
            return Err(format!("no element {name} in {parent_id} (of the base definition or its types)"));
        };
        if let Some(code) = &narrow {
            // valueQuantity: the choice element narrowed to Quantity. As the
            // reference generator reads it, the rename of a choice that is
            // not inside a slice is also the choice's type slice
            // `valueQuantity`; inside a slice it constrains the choice in place.
            self.elements[child].types.retain(|t| &t.code == code);
            let choice_id = id_of(&self.elements[child]).to_string();
            let slice_id = format!("{choice_id}:{name}");
            if let Some(ix) = self.index_of(&slice_id) {
                return Ok(ix);
            }
            if leaf.is_some() && slice.is_none() && !choice_id.contains(':') {
                return Ok(self.add_slice(child, &slice_id, name, Some(code.clone())));
            }
        }
        let Some(slice) = slice else { return Ok(child) };
        let child_id = id_of(&self.elements[child]).to_string();
        // A re-slice `b/c` is a slice of slice `b`.
        let sliced = match slice.rsplit_once('/') {
            Some((outer, _)) => self.find_or_create(g, &format!("{child_id}:{outer}"), None)?,
            None => child,
        };
        let choice_type = {
            let e = &self.elements[child];
            let prefix = e.path.rsplit('.').next().unwrap_or(&e.path).strip_suffix("[x]").map(str::to_string);
            prefix.and_then(|p| slice.strip_prefix(p.as_str()).and_then(|suffix| e.types.iter().find(|t| suffix_names_type(suffix, &t.code)).map(|t| t.code.clone())))
        };
        Ok(self.add_slice(sliced, &format!("{child_id}:{slice}"), slice, choice_type))
    }

    /// The child of `parent` named `name`, or for an R4 choice rename
    /// (`valueQuantity`) the choice element and the type it selects.
    fn child(&self, parent: usize, parent_id: &str, name: &str) -> Option<(usize, Option<String>)> {
        let exact = format!("{parent_id}.{name}");
        let end = self.subtree_end(parent);
        for ix in parent + 1..end {
            if id_of(&self.elements[ix]) == exact {
                return Some((ix, None));
            }
        }
        for ix in parent + 1..end {
            let e = &self.elements[ix];
            let Some(rest) = id_of(e).strip_prefix(parent_id).and_then(|r| r.strip_prefix('.')) else { continue };
            let Some(prefix) = rest.strip_suffix("[x]") else { continue };
            if prefix.contains(['.', ':']) {
                continue;
            }
            if let Some(suffix) = name.strip_prefix(prefix) {
                if let Some(t) = e.types.iter().find(|t| suffix_names_type(suffix, &t.code)) {
                    return Some((ix, Some(t.code.clone())));
                }
            }
        }
        None
    }

    /// A new slice of element `sliced`: a copy of it and its children, after
    /// its subtree and its earlier slices.
    fn add_slice(&mut self, sliced: usize, id: &str, slice_name: &str, choice_type: Option<String>) -> usize {
        if self.elements[sliced].slicing.is_none() {
            // Slicing the differential leaves implicit: extensions by url, choices by type.
            let implied = |kind: &str, path: &str, rules: &str| Slicing {
                discriminator: vec![Discriminator { kind: kind.into(), path: path.into() }],
                ordered: false,
                rules: Some(rules.into()),
            };
            let e = &self.elements[sliced];
            if choice_type.is_some() {
                self.elements[sliced].slicing = Some(implied("type", "$this", "closed"));
            } else if e.types.len() == 1 && e.types[0].code == "Extension" {
                self.elements[sliced].slicing = Some(implied("value", "url", "open"));
            }
        }
        let base = &self.elements[sliced];
        let base_id = id_of(base).to_string();
        let mut slice = base.clone();
        slice.id = Some(id.to_string());
        slice.slice_name = Some(slice_name.to_string());
        slice.slicing = None;
        // A slice is held to the original definition's cardinality, not to
        // the sliced element's (whose count covers all slices).
        slice.min = Some(base.base.as_ref().and_then(|b| b.min).unwrap_or(0).min(base.min.unwrap_or(0)));
        if let Some(max) = base.base.as_ref().and_then(|b| b.max.clone()) {
            slice.max = Some(max);
        }
        if let Some(code) = &choice_type {
            slice.types.retain(|t| &t.code == code);
        }
        let children_prefix = format!("{base_id}.");
        let end = self.subtree_end(sliced);
        let mut copies = vec![slice];
        for e in &self.elements[sliced + 1..end] {
            if id_of(e).starts_with(&children_prefix) {
                let mut c = e.clone();
                c.id = Some(reroot(id_of(e), &base_id, id));
                copies.push(c);
            }
        }
        self.elements.splice(end..end, copies);
        end
    }

    /// A new element of a specialization, at the end of its parent's subtree.
    fn add_new(&mut self, parent: usize, parent_id: &str, name: &str, d: &ElementDefinition) -> usize {
        let mut e = d.clone();
        e.id = Some(format!("{parent_id}.{name}"));
        e.path = format!("{}.{name}", self.elements[parent].path);
        e.base = Some(ElementBase { path: e.path.clone(), min: Some(d.min.unwrap_or(0)), max: Some(d.max.clone().unwrap_or_else(|| "*".into())) });
        // Constraints are merged in by the caller.
        e.constraint.clear();
        e.min = None;
        e.max = None;
        let end = self.subtree_end(parent);
        self.elements.insert(end, e);
        end
    }

    /// Makes sure the children of element `ix` are listed, expanding its
    /// type (or content reference) when they are not.
    fn ensure_children(&mut self, g: &mut Generator, ix: usize) -> Result<(), String> {
        let id = id_of(&self.elements[ix]).to_string();
        let child_prefix = format!("{id}.");
        if self.elements.get(ix + 1).is_some_and(|n| id_of(n).starts_with(&child_prefix)) {
            return Ok(());
        }
        let el = &self.elements[ix];
        let path = el.path.clone();
        let (source, from_id, from_path): (Vec<ElementDefinition>, String, String) = if let Some(reference) = &el.content_reference {
            let target = reference.rsplit('#').next().unwrap_or(reference).to_string();
            let prefix = format!("{target}.");
            let pool = if self.base.iter().any(|e| id_of(e) == target) { &self.base } else { &self.elements };
            let t = pool.iter().position(|e| id_of(e) == target).ok_or_else(|| format!("{id} refers to {reference}, which is not in the snapshot"))?;
            let target_path = pool[t].path.clone();
            let items = pool[t + 1..].iter().take_while(|e| within(id_of(e), &target)).filter(|e| id_of(e).starts_with(&prefix)).cloned().collect();
            (items, target, target_path)
        } else {
            let mut codes: Vec<&str> = el.types.iter().map(|t| t.code.as_str()).collect();
            codes.dedup();
            let base_type = match codes.as_slice() {
                [code] if code.contains(':') => code.to_string(),
                [code] => format!("{CORE_SD_BASE}{code}"),
                [] => return Err(format!("{id} has no type whose children could be constrained")),
                _ => return Err(format!("{id} has several types ({}); constrain it to one before its children", codes.join(", "))),
            };
            let type_profile = el.types.first().and_then(|t| t.profile.first()).cloned();
            // A type profile we do not have: its base type still gives the children
            // (the validator reports the unknown profile where it is used).
            let mut from_profile = false;
            let type_snapshot = match type_profile.map(|p| g.snapshot_of(&p)) {
                Some(Ok(snapshot)) => {
                    from_profile = true;
                    snapshot
                }
                Some(Err(e)) => {
                    tracing::warn!("the type profile of {id}: {e}; using its base type");
                    g.snapshot_of(&base_type).map_err(|e| format!("the type of {id}: {e}"))?
                }
                None => g.snapshot_of(&base_type).map_err(|e| format!("the type of {id}: {e}"))?,
            };
            let root = &type_snapshot[0];
            let (root_id, root_path) = (id_of(root).to_string(), root.path.clone());
            // As the reference generator: an element expanded through its
            // type profile carries the profile's own constraints from then on.
            if from_profile {
                let inherited: Vec<_> = root.constraint.iter().filter(|c| !self.elements[ix].constraint.iter().any(|o| o.key == c.key)).cloned().collect();
                self.elements[ix].constraint.extend(inherited);
            }
            (type_snapshot[1..].to_vec(), root_id, root_path)
        };
        let inserted: Vec<ElementDefinition> = source
            .into_iter()
            .map(|mut e| {
                e.id = Some(reroot(id_of(&e), &from_id, &id));
                e.path = reroot(&e.path, &from_path, &path);
                e
            })
            .collect();
        self.elements.splice(ix + 1..ix + 1, inserted);
        Ok(())
    }
}

/// `*` is unbounded.
fn max_value(max: &str) -> Option<u64> {
    if max == "*" {
        None
    } else {
        max.parse().ok()
    }
}

/// Choice properties of which one value at most may be set.
const CHOICE_PROPERTIES: [&str; 5] = ["fixed", "pattern", "minValue", "maxValue", "defaultValue"];

/// Applies a differential element onto its snapshot element.
fn merge(target: &mut ElementDefinition, d: &ElementDefinition, url: &str) -> Result<(), String> {
    if target.base.is_none() {
        target.base = Some(ElementBase { path: target.path.clone(), min: target.min, max: target.max.clone() });
    }
    if let Some(min) = d.min {
        let current = target.min.unwrap_or(0);
        // As the reference validator: minimum cardinality rules do not apply
        // to a slice (Provenance.agent is 1..*, yet its author slice may be 0..1;
        // the sliced element's own min still counts all its slices together).
        if min < current && target.slice_name.is_none() {
            return Err(format!("min {min} is less than the base min {current}"));
        }
        target.min = Some(min);
    }
    if let Some(max) = &d.max {
        let wider = match (max_value(max), target.max.as_deref().map(max_value)) {
            (_, None) => false,
            (None, Some(None)) => false,
            (None, Some(Some(_))) => true,
            (Some(m), Some(Some(b))) => m > b,
            (Some(_), Some(None)) => false,
        };
        if wider {
            return Err(format!("max {max} is more than the base max {}", target.max.as_deref().unwrap_or("*")));
        }
        if max != "*" && max_value(max).is_none() {
            return Err(format!("max {max:?} is not a number or *"));
        }
        target.max = Some(max.clone());
    }
    if let (Some(min), Some(Some(max))) = (target.min, target.max.as_deref().map(max_value)) {
        if u64::from(min) > max {
            return Err(format!("min {min} is more than max {max}"));
        }
    }
    if !d.types.is_empty() {
        let outside: Vec<&str> = d.types.iter().map(|t| t.code.as_str()).filter(|c| !target.types.iter().any(|t| t.code == *c)).collect();
        if !outside.is_empty() && !target.types.is_empty() {
            tracing::debug!("{url}: {} narrows types to {} outside the base types", target.path, outside.join(", "));
        }
        target.types = d.types.clone();
    }
    if d.content_reference.is_some() {
        target.content_reference = d.content_reference.clone();
    }
    if let Some(b) = &d.binding {
        target.binding = Some(b.clone());
    }
    for c in &d.constraint {
        let mut c = c.clone();
        if c.source.is_none() {
            c.source = Some(url.to_string());
        }
        match target.constraint.iter_mut().find(|t| t.key == c.key) {
            Some(t) => *t = c,
            None => target.constraint.push(c),
        }
    }
    if let Some(s) = &d.slicing {
        let mut s = s.clone();
        if s.discriminator.is_empty() {
            if let Some(old) = &target.slicing {
                s.discriminator = old.discriminator.clone();
            }
        }
        target.slicing = Some(s);
    }
    if d.max_length.is_some() {
        target.max_length = d.max_length;
    }
    if d.short.is_some() {
        target.short = d.short.clone();
    }
    target.must_support |= d.must_support;
    target.is_modifier |= d.is_modifier;
    for (key, value) in &d.other {
        if let Some(prefix) = CHOICE_PROPERTIES.iter().find(|p| key.strip_prefix(**p).is_some_and(|s| s.starts_with(|c: char| c.is_ascii_uppercase()))) {
            target.other.retain(|k, _| !k.strip_prefix(*prefix).is_some_and(|s| s.starts_with(|c: char| c.is_ascii_uppercase())));
        }
        match (key.as_str(), target.other.get_mut(key), value) {
            ("condition" | "mapping" | "alias", Some(Value::Array(old)), Value::Array(new)) => {
                for v in new {
                    if !old.contains(v) {
                        old.push(v.clone());
                    }
                }
            }
            _ => {
                target.other.insert(key.clone(), value.clone());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A tiny world: Resource-ish Patient, Identifier, uri, string, boolean, Extension.
    fn ctx() -> Context {
        let mut ctx = Context::new();
        let prim = |name: &str| {
            json!({"resourceType": "StructureDefinition", "url": format!("{CORE_SD_BASE}{name}"), "type": name, "kind": "primitive-type",
                "snapshot": {"element": [
                    {"id": name, "path": name, "min": 0, "max": "*"},
                    {"id": format!("{name}.id"), "path": format!("{name}.id"), "min": 0, "max": "1", "type": [{"code": "string"}]},
                    {"id": format!("{name}.extension"), "path": format!("{name}.extension"), "min": 0, "max": "*", "type": [{"code": "Extension"}]},
                    {"id": format!("{name}.value"), "path": format!("{name}.value"), "min": 0, "max": "1"}
                ]}})
        };
        for p in ["uri", "string", "boolean"] {
            ctx.add_json(prim(p), "test");
        }
        ctx.add_json(
            json!({"resourceType": "StructureDefinition", "url": format!("{CORE_SD_BASE}Identifier"), "type": "Identifier", "kind": "complex-type",
                "snapshot": {"element": [
                    {"id": "Identifier", "path": "Identifier", "min": 0, "max": "*", "base": {"path": "Identifier", "min": 0, "max": "*"}},
                    {"id": "Identifier.extension", "path": "Identifier.extension", "min": 0, "max": "*", "type": [{"code": "Extension"}],
                     "base": {"path": "Element.extension", "min": 0, "max": "*"}},
                    {"id": "Identifier.system", "path": "Identifier.system", "min": 0, "max": "1", "type": [{"code": "uri"}],
                     "base": {"path": "Identifier.system", "min": 0, "max": "1"}},
                    {"id": "Identifier.value", "path": "Identifier.value", "min": 0, "max": "1", "type": [{"code": "string"}],
                     "base": {"path": "Identifier.value", "min": 0, "max": "1"}}
                ]}}),
            "test",
        );
        ctx.add_json(
            json!({"resourceType": "StructureDefinition", "url": format!("{CORE_SD_BASE}Patient"), "type": "Patient", "kind": "resource",
                "snapshot": {"element": [
                    {"id": "Patient", "path": "Patient", "min": 0, "max": "*", "constraint": [{"key": "dom-1", "severity": "error", "human": "x", "source": "core"}]},
                    {"id": "Patient.extension", "path": "Patient.extension", "min": 0, "max": "*", "type": [{"code": "Extension"}],
                     "slicing": {"discriminator": [{"type": "value", "path": "url"}], "rules": "open"}},
                    {"id": "Patient.identifier", "path": "Patient.identifier", "min": 0, "max": "*", "type": [{"code": "Identifier"}],
                     "base": {"path": "Patient.identifier", "min": 0, "max": "*"}},
                    {"id": "Patient.active", "path": "Patient.active", "min": 0, "max": "1", "type": [{"code": "boolean"}]},
                    {"id": "Patient.deceased[x]", "path": "Patient.deceased[x]", "min": 0, "max": "1", "type": [{"code": "boolean"}, {"code": "string"}]}
                ]}}),
            "test",
        );
        ctx.add_json(
            json!({"resourceType": "StructureDefinition", "url": format!("{CORE_SD_BASE}Extension"), "type": "Extension", "kind": "complex-type",
                "snapshot": {"element": [
                    {"id": "Extension", "path": "Extension", "min": 0, "max": "*"},
                    {"id": "Extension.extension", "path": "Extension.extension", "min": 0, "max": "*", "type": [{"code": "Extension"}]},
                    {"id": "Extension.url", "path": "Extension.url", "min": 1, "max": "1", "type": [{"code": "uri"}]},
                    {"id": "Extension.value[x]", "path": "Extension.value[x]", "min": 0, "max": "1", "type": [{"code": "string"}, {"code": "boolean"}, {"code": "Identifier"}]}
                ]}}),
            "test",
        );
        ctx
    }

    fn sd(v: Value) -> StructureDefinition {
        serde_json::from_value(v).unwrap()
    }

    fn nhs_profile() -> StructureDefinition {
        sd(json!({"url": "http://x/nhs-patient", "type": "Patient", "kind": "resource", "derivation": "constraint",
            "baseDefinition": format!("{CORE_SD_BASE}Patient"),
            "differential": {"element": [
                {"id": "Patient.identifier", "path": "Patient.identifier", "min": 1,
                 "slicing": {"discriminator": [{"type": "value", "path": "system"}], "rules": "open"}},
                {"id": "Patient.identifier:nhs", "path": "Patient.identifier", "sliceName": "nhs", "max": "1"},
                {"id": "Patient.identifier:nhs.system", "path": "Patient.identifier.system", "min": 1, "fixedUri": "https://fhir.nhs.uk/Id/nhs-number"},
                {"id": "Patient.identifier:nhs.value", "path": "Patient.identifier.value", "min": 1,
                 "constraint": [{"key": "nhs-1", "severity": "error", "human": "ten digits", "expression": "matches('^[0-9]{10}$')"}]}
            ]}}))
    }

    fn ids(sd: &StructureDefinition) -> Vec<&str> {
        sd.snapshot.as_ref().unwrap().element.iter().map(|e| e.id.as_deref().unwrap()).collect()
    }

    fn element<'a>(sd: &'a StructureDefinition, id: &str) -> &'a ElementDefinition {
        sd.snapshot.as_ref().unwrap().element.iter().find(|e| e.id.as_deref() == Some(id)).unwrap_or_else(|| panic!("no {id} in {:?}", ids(sd)))
    }

    #[test]
    fn slices_are_placed_after_the_sliced_element_with_their_children() {
        let out = generate(nhs_profile(), &ctx()).unwrap();
        assert_eq!(
            ids(&out),
            vec![
                "Patient",
                "Patient.extension",
                "Patient.identifier",
                "Patient.identifier:nhs",
                "Patient.identifier:nhs.extension",
                "Patient.identifier:nhs.system",
                "Patient.identifier:nhs.value",
                "Patient.active",
                "Patient.deceased[x]"
            ]
        );
        let identifier = element(&out, "Patient.identifier");
        assert_eq!((identifier.min, identifier.max.as_deref()), (Some(1), Some("*")));
        assert_eq!(identifier.base.as_ref().unwrap().min, Some(0));
        let nhs = element(&out, "Patient.identifier:nhs");
        assert_eq!((nhs.min, nhs.max.as_deref(), nhs.slice_name.as_deref()), (Some(0), Some("1"), Some("nhs")));
        assert!(nhs.slicing.is_none());
        let system = element(&out, "Patient.identifier:nhs.system");
        assert_eq!(system.path, "Patient.identifier.system");
        assert_eq!(system.min, Some(1));
        assert_eq!(system.other.get("fixedUri"), Some(&json!("https://fhir.nhs.uk/Id/nhs-number")));
        assert_eq!(system.base.as_ref().unwrap().path, "Identifier.system");
        let value = element(&out, "Patient.identifier:nhs.value");
        assert_eq!(value.constraint[0].source.as_deref(), Some("http://x/nhs-patient"));
        assert_eq!(element(&out, "Patient").constraint[0].source.as_deref(), Some("core"));
        // The compiled structure keeps the slice out of the children.
        let compiled = crate::structure::StructureDef::compile(out).unwrap();
        let identifier = compiled.element_by_id("Patient.identifier").unwrap();
        assert_eq!(compiled.elements[identifier].slices.len(), 1);
        assert_eq!(compiled.root().children.len(), 4);
    }

    #[test]
    fn a_second_slice_follows_the_first_and_its_subtree() {
        let mut p = nhs_profile();
        p.differential.as_mut().unwrap().element.push(serde_json::from_value(json!({"id": "Patient.identifier:local", "path": "Patient.identifier", "sliceName": "local"})).unwrap());
        let out = generate(p, &ctx()).unwrap();
        let all = ids(&out);
        let local = all.iter().position(|i| *i == "Patient.identifier:local").unwrap();
        assert_eq!(all[local - 1], "Patient.identifier:nhs.value");
        assert_eq!(all[local + 1], "Patient.active");
    }

    #[test]
    fn widening_cardinality_is_an_error_naming_the_element() {
        let p = sd(json!({"url": "http://x/bad", "type": "Patient", "baseDefinition": format!("{CORE_SD_BASE}Patient"), "derivation": "constraint",
            "differential": {"element": [{"id": "Patient.active", "path": "Patient.active", "max": "*"}]}}));
        let e = generate(p, &ctx()).unwrap_err();
        assert_eq!(e.element.as_deref(), Some("Patient.active"));
        assert!(e.message.contains("max * is more than the base max 1"), "{e}");
        let p = sd(json!({"url": "http://x/bad2", "type": "Patient", "baseDefinition": "http://x/nhs-patient", "derivation": "constraint",
            "differential": {"element": [{"id": "Patient.identifier", "path": "Patient.identifier", "min": 0}]}}));
        let mut c = ctx();
        let v = serde_json::to_value(nhs_profile()).unwrap();
        let mut v = v.as_object().unwrap().clone();
        v.insert("resourceType".into(), json!("StructureDefinition"));
        c.add_json(Value::Object(v), "test");
        let e = generate(p, &c).unwrap_err();
        assert!(e.to_string().contains("Patient.identifier: min 0 is less than the base min 1"), "{e}");
    }

    #[test]
    fn a_slice_may_lower_the_min_it_was_given() {
        // The base profile requires its nhs slice; a profile on it may make
        // the slice optional (the sliced element's own min 1 still holds).
        let mut c = ctx();
        let mut base = serde_json::to_value(nhs_profile()).unwrap();
        base["resourceType"] = json!("StructureDefinition");
        base["differential"]["element"][1]["min"] = json!(1);
        c.add_json(base, "test");
        let p = sd(json!({"url": "http://x/optional-nhs", "type": "Patient", "baseDefinition": "http://x/nhs-patient", "derivation": "constraint",
            "differential": {"element": [{"id": "Patient.identifier:nhs", "path": "Patient.identifier", "sliceName": "nhs", "min": 0}]}}));
        let out = generate(p, &c).unwrap();
        let elements = &out.snapshot.as_ref().unwrap().element;
        let find = |id: &str| elements.iter().find(|e| e.id.as_deref() == Some(id)).unwrap();
        assert_eq!(find("Patient.identifier:nhs").min, Some(0));
        assert_eq!(find("Patient.identifier").min, Some(1));
    }

    #[test]
    fn choice_renames_narrow_the_choice_element_and_become_its_type_slice() {
        let p = sd(json!({"url": "http://x/ext", "type": "Extension", "baseDefinition": format!("{CORE_SD_BASE}Extension"), "derivation": "constraint",
            "differential": {"element": [
                {"id": "Extension", "path": "Extension", "max": "1"},
                {"id": "Extension.url", "path": "Extension.url", "fixedUri": "http://x/ext"},
                {"id": "Extension.valueIdentifier", "path": "Extension.valueIdentifier", "min": 1},
                {"id": "Extension.valueIdentifier.system", "path": "Extension.valueIdentifier.system", "min": 1}
            ]}}));
        let out = generate(p, &ctx()).unwrap();
        let v = element(&out, "Extension.value[x]");
        assert_eq!(v.types.iter().map(|t| t.code.as_str()).collect::<Vec<_>>(), vec!["Identifier"]);
        assert_eq!(v.slicing.as_ref().map(|s| (s.discriminator[0].kind.as_str(), s.discriminator[0].path.as_str())), Some(("type", "$this")));
        let slice = element(&out, "Extension.value[x]:valueIdentifier");
        assert_eq!(slice.min, Some(1));
        assert_eq!(slice.slice_name.as_deref(), Some("valueIdentifier"));
        assert_eq!(element(&out, "Extension.value[x]:valueIdentifier.system").min, Some(1));
        assert_eq!(element(&out, "Extension").max.as_deref(), Some("1"));
    }

    #[test]
    fn type_slices_of_a_choice_are_slices_of_one_type() {
        let p = sd(json!({"url": "http://x/ext2", "type": "Extension", "baseDefinition": format!("{CORE_SD_BASE}Extension"), "derivation": "constraint",
            "differential": {"element": [
                {"id": "Extension.value[x]:valueString", "path": "Extension.value[x]", "sliceName": "valueString", "min": 1}
            ]}}));
        let out = generate(p, &ctx()).unwrap();
        let s = element(&out, "Extension.value[x]:valueString");
        assert_eq!(s.types.len(), 1);
        assert_eq!(s.types[0].code, "string");
    }

    #[test]
    fn extension_slices_expand_their_profile() {
        let mut c = ctx();
        c.add_json(
            json!({"resourceType": "StructureDefinition", "url": "http://x/ext-flag", "type": "Extension", "derivation": "constraint",
                "baseDefinition": format!("{CORE_SD_BASE}Extension"),
                "differential": {"element": [{"id": "Extension.value[x]", "path": "Extension.value[x]", "type": [{"code": "boolean"}]}]}}),
            "test",
        );
        let p = sd(json!({"url": "http://x/p", "type": "Patient", "baseDefinition": format!("{CORE_SD_BASE}Patient"), "derivation": "constraint",
            "differential": {"element": [
                {"id": "Patient.extension:flag", "path": "Patient.extension", "sliceName": "flag", "type": [{"code": "Extension", "profile": ["http://x/ext-flag"]}]},
                {"id": "Patient.extension:flag.value[x]", "path": "Patient.extension.value[x]", "min": 1}
            ]}}));
        let out = generate(p, &c).unwrap();
        let v = element(&out, "Patient.extension:flag.value[x]");
        assert_eq!(v.path, "Patient.extension.value[x]");
        assert_eq!(v.types[0].code, "boolean");
        assert_eq!(v.min, Some(1));
    }

    #[test]
    fn cycles_and_missing_bases_are_errors() {
        let mut c = ctx();
        c.add_json(json!({"resourceType": "StructureDefinition", "url": "http://x/a", "type": "Patient", "baseDefinition": "http://x/b", "differential": {"element": []}}), "t");
        c.add_json(json!({"resourceType": "StructureDefinition", "url": "http://x/b", "type": "Patient", "baseDefinition": "http://x/a", "differential": {"element": []}}), "t");
        let a = c.structure_definition("http://x/a").unwrap();
        assert!(generate(a, &c).unwrap_err().to_string().contains("circle"));
        let p = sd(json!({"url": "http://x/m", "type": "Patient", "baseDefinition": "http://x/missing"}));
        assert!(generate(p, &c).unwrap_err().to_string().contains("cannot be found"));
    }

    #[test]
    fn unknown_elements_are_skipped_and_unnarrowed_choices_are_errors() {
        // As the reference validator: an element that names nothing is left
        // out (and logged); the rest of the differential still applies.
        let p = sd(json!({"url": "http://x/u", "type": "Patient", "baseDefinition": format!("{CORE_SD_BASE}Patient"), "derivation": "constraint",
            "differential": {"element": [{"id": "Patient.nickname", "path": "Patient.nickname", "min": 1},
                                         {"id": "Patient.active", "path": "Patient.active", "min": 1}]}}));
        let out = generate(p, &ctx()).unwrap();
        assert!(!ids(&out).iter().any(|i| i.contains("nickname")));
        assert_eq!(element(&out, "Patient.active").min, Some(1));
        let p = sd(json!({"url": "http://x/u", "type": "Patient", "baseDefinition": format!("{CORE_SD_BASE}Patient"), "derivation": "constraint",
            "differential": {"element": [{"id": "Patient.deceased[x].id", "path": "Patient.deceased[x].id", "max": "0"}]}}));
        assert!(generate(p, &ctx()).unwrap_err().message.contains("several types"));
    }

    #[test]
    fn specializations_add_their_own_elements() {
        let p = sd(json!({"url": "http://x/Model", "type": "Model", "kind": "logical", "baseDefinition": format!("{CORE_SD_BASE}Extension"), "derivation": "specialization",
            "differential": {"element": [
                {"id": "Model", "path": "Model"},
                {"id": "Model.name", "path": "Model.name", "min": 1, "max": "1", "type": [{"code": "string"}]}
            ]}}));
        let out = generate(p, &ctx()).unwrap();
        assert_eq!(ids(&out), vec!["Model", "Model.extension", "Model.url", "Model.value[x]", "Model.name"]);
        assert_eq!(element(&out, "Model.name").min, Some(1));
    }

    #[test]
    fn differentials_without_ids_follow_their_slices_in_order() {
        let p = sd(json!({"url": "http://x/old", "type": "Patient", "baseDefinition": format!("{CORE_SD_BASE}Patient"), "derivation": "constraint",
            "differential": {"element": [
                {"path": "Patient.identifier", "slicing": {"discriminator": [{"type": "value", "path": "system"}], "rules": "open"}},
                {"path": "Patient.identifier", "sliceName": "a", "max": "2"},
                {"path": "Patient.identifier.system", "min": 1},
                {"path": "Patient.identifier", "sliceName": "b"},
                {"path": "Patient.identifier.value", "min": 1},
                {"path": "Patient.active", "min": 1}
            ]}}));
        let out = generate(p, &ctx()).unwrap();
        assert_eq!(element(&out, "Patient.identifier:a.system").min, Some(1));
        assert_eq!(element(&out, "Patient.identifier:b.value").min, Some(1));
        assert_eq!(element(&out, "Patient.identifier:b.system").min, Some(0));
        assert_eq!(element(&out, "Patient.active").min, Some(1));
        assert!(ids(&out).iter().all(|i| *i != "Patient.identifier.system"));
    }

    #[test]
    fn a_slice_may_repeat_more_than_the_constrained_sliced_element() {
        let p = sd(json!({"url": "http://x/s", "type": "Patient", "baseDefinition": format!("{CORE_SD_BASE}Patient"), "derivation": "constraint",
            "differential": {"element": [
                {"id": "Patient.identifier", "path": "Patient.identifier", "max": "3"},
                {"id": "Patient.identifier:many", "path": "Patient.identifier", "sliceName": "many", "max": "10"}
            ]}}));
        assert_eq!(element(&generate(p, &ctx()).unwrap(), "Patient.identifier:many").max.as_deref(), Some("10"));
    }
}
