//! ConceptMap rules, as the reference's ConceptMap validator applies them,
//! on R4's element names: each group's source and target systems (given,
//! loaded, complete), the source and target codes and displays against
//! those systems and against the map's source and target value sets, and
//! targets mapped twice from one code (R4's `equivalence` where later
//! versions have `relationship`).
//!
//! Each check names the message key it raises. Look-ups go to the loaded
//! definitions only: what is not loaded is reported as not checked, never
//! as wrong.

use crate::issue::IssueCode;
use crate::terminology::Membership;
use crate::tree::Node;
use crate::validator::element::Walk;
use serde_json::Value;
use std::sync::Arc;
use std::collections::HashMap;

/// Systems whose codes the reference leaves to a terminology server.
const SERVER_SIDE: &[&str] = &["http://snomed.info/sct", "http://loinc.org"];

/// A value set the map is scoped by (R4 `source[x]` / `target[x]`).
struct Scope {
    url: String,
    version: Option<String>,
    /// Loaded.
    found: bool,
    /// `url|version`, shared by the codes checked against it.
    canonical: std::rc::Rc<str>,
}

/// A group's source or target system.
struct SystemRef {
    url: String,
    /// The CodeSystem, when loaded and its codes can be checked.
    cs: Option<Arc<Value>>,
    /// Its codes and their displays, gathered on first use and shared by
    /// the map's groups that name the same system: a map may name thousands
    /// of codes of a large system, in thousands of groups (the twenty-fourth
    /// pass's P3, the twenty-fifth's Q3).
    concepts: std::rc::Rc<std::cell::OnceCell<HashMap<String, Vec<String>>>>,
    /// `url` and `version`, shared by the codes of the group (Q4).
    shared_url: std::rc::Rc<str>,
    shared_version: Option<std::rc::Rc<str>>,
}

/// Concept indexes by code system canonical, for one ConceptMap.
type ConceptIndexes = HashMap<String, std::rc::Rc<std::cell::OnceCell<HashMap<String, Vec<String>>>>>;

/// The codes a map's value sets are asked about once the map is read, and
/// how many there were (past the limit, only counted).
#[derive(Default)]
struct Batch<'n> {
    items: Vec<Pending<'n>>,
    total: usize,
}

impl SystemRef {
    fn displays_of(&self, code: &str) -> Option<&Vec<String>> {
        let concepts = self.concepts.get_or_init(|| {
            let mut out = HashMap::new();
            fn gather(concepts: Option<&Value>, out: &mut HashMap<String, Vec<String>>) {
                for c in concepts.and_then(Value::as_array).into_iter().flatten() {
                    if let Some(code) = c.get("code").and_then(Value::as_str) {
                        out.entry(code.to_owned()).or_insert_with(|| displays(c));
                    }
                    gather(c.get("concept"), out);
                }
            }
            gather(self.cs.as_deref().and_then(|cs| cs.get("concept")), &mut out);
            out
        });
        concepts.get(code)
    }
}

/// A code whose system cannot be checked here, to check against its side's
/// value set once the whole map is read (the reference's batch).
struct Pending<'n> {
    path: crate::validator::expression::PathStack,
    node: &'n Node,
    code: &'n str,
    /// Shared by every code of its group: a system's url may be a megabyte
    /// (the twenty-fifth pass's Q4).
    system: std::rc::Rc<str>,
    version: Option<std::rc::Rc<str>>,
    value_set: std::rc::Rc<str>,
}

/// How many such codes the reference checks (its default limit).
const CODE_LIMIT: usize = 1000;

#[derive(Clone, Copy)]
enum Side {
    Source,
    Target,
}

impl Side {
    fn word(self) -> &'static str {
        match self {
            Side::Source => "source",
            Side::Target => "target",
        }
    }
}

pub(crate) fn check_concept_map(walk: &mut Walk<'_, '_>, cm: &Node) {
    let source_scope = scope(walk, cm, "source");
    let target_scope = scope(walk, cm, "target");
    let mut batch = Batch::default();
    let mut indexes = ConceptIndexes::default();
    for (i, group) in cm.children_named("group").enumerate() {
        walk.path.push("group", Some(i));
        check_group(walk, group, source_scope.as_ref(), target_scope.as_ref(), &mut batch, &mut indexes);
        walk.path.pop();
    }
    if batch.total > CODE_LIMIT {
        // CONCEPTMAP_VS_TOO_MANY_CODES
        walk.inform(cm, IssueCode::BusinessRule, format!("The concept map has too many codes to validate ({}, more than the limit of {CODE_LIMIT})", batch.total));
        return;
    }
    for pending in batch.items {
        // A version of a known system that is not loaded decides nothing (the
        // reference's unsupported version), whatever the other versions hold.
        let version_missing = walk.ctx.entry(&pending.system).is_some()
            && pending.version.as_deref().is_some_and(|v| walk.ctx.entry(&format!("{}|{v}", pending.system)).is_none());
        let membership = if version_missing { None } else { Some(walk.v.terminology().member(&pending.value_set, Some(&pending.system), &pending.code)) };
        match membership {
            Some(Membership::NotIn) => {}
            None | Some(Membership::Unknown(_)) => {
                unknown_system(walk, pending);
                continue;
            }
            Some(Membership::In) => continue,
        }
        let saved = std::mem::replace(&mut walk.path, pending.path);
        let (code, url) = (crate::issue::quoted(pending.code), crate::issue::quoted(&pending.system));
        // The reference passes no value set for {2}, so its text says 'null'.
        match &pending.version {
            // CONCEPTMAP_VS_INVALID_CONCEPT_CODE
            None => walk.error(pending.node, IssueCode::BusinessRule, format!("The code '{code}' in the system {url} is not valid in the value set 'null'")),
            // CONCEPTMAP_VS_INVALID_CONCEPT_CODE_VER
            Some(v) => walk.error(pending.node, IssueCode::BusinessRule, format!("The code '{code}' in the system {url} version {v} is not valid in the value set 'null'")),
        }
        walk.path = saved;
    }
}

/// A code the value set cannot decide because its system (or that version
/// of it) is not loaded; the reference passes no value set for {2}, so its
/// text says 'null'.
fn unknown_system(walk: &mut Walk<'_, '_>, pending: Pending<'_>) {
    let (code, url) = (crate::issue::quoted(pending.code), crate::issue::quoted(&pending.system));
    let msg = if walk.ctx.entry(&pending.system).is_none() {
        // CONCEPTMAP_VS_CONCEPT_CODE_UNKNOWN_SYSTEM
        format!("The code '{code}' comes from the system {url} which could not be found, so it's not known whether it's valid in the value set 'null'")
    } else if let Some(v) = pending.version.as_deref().filter(|v| walk.ctx.entry(&format!("{}|{v}", pending.system)).is_none()) {
        // CONCEPTMAP_VS_CONCEPT_CODE_UNKNOWN_SYSTEM_VERSION
        format!("The code '{code}' comes from the system {url} version {v} which could not be found, so it's not known whether it's valid in the value set 'null'")
    } else {
        return;
    };
    let saved = std::mem::replace(&mut walk.path, pending.path);
    walk.warn(pending.node, IssueCode::BusinessRule, msg);
    walk.path = saved;
}

/// `source[x]` or `target[x]`: a ValueSet, when it names something loaded.
fn scope(walk: &mut Walk<'_, '_>, cm: &Node, name: &str) -> Option<Scope> {
    let node = cm.children.iter().find(|c| c.name.starts_with(name) && c.name.len() > name.len() && c.name[name.len()..].starts_with(|ch: char| ch.is_ascii_uppercase()))?;
    let reference = node.text()?;
    let (url, version) = match reference.split_once('|') {
        Some((u, v)) => (u.to_owned(), Some(v.to_owned())),
        None => (reference.to_owned(), None),
    };
    let mut found = false;
    if let Some(entry) = walk.ctx.entry(reference) {
        if entry.resource_type == "ValueSet" {
            found = true;
        } else {
            let kind = entry.resource_type.clone();
            walk.path.push(name, None);
            // CONCEPTMAP_VS_NOT_A_VS
            walk.error(node, IssueCode::Invalid, format!("Reference must be to a ValueSet, but found a {kind} instead"));
            walk.path.pop();
        }
    }
    let canonical: std::rc::Rc<str> = match &version {
        Some(v) => format!("{url}|{v}").into(),
        None => url.as_str().into(),
    };
    Some(Scope { url, version, found, canonical })
}

fn check_group<'n>(walk: &mut Walk<'_, '_>, group: &'n Node, source_scope: Option<&Scope>, target_scope: Option<&Scope>, batch: &mut Batch<'n>, indexes: &mut ConceptIndexes) {
    let shared = |system: Option<SystemRef>, indexes: &mut ConceptIndexes| {
        system.map(|mut s| {
            if let Some(cs) = s.cs.as_deref() {
                s.concepts = indexes.entry(versioned_url(cs)).or_default().clone();
            }
            s
        })
    };
    let source = shared(group_system(walk, group, Side::Source, source_scope), indexes);
    let target = shared(group_system(walk, group, Side::Target, target_scope), indexes);
    let mut relationships: HashMap<&'n str, Relationships<'n>> = HashMap::new();
    for (i, element) in group.children_named("element").enumerate() {
        walk.path.push("element", Some(i));
        let code = element.child("code");
        if let Some(code) = code {
            walk.path.push("code", None);
            check_code(walk, element, code, Side::Source, source.as_ref(), source_scope, batch);
            walk.path.pop();
        }
        let source_code = code.and_then(Node::text);
        // The source code is looked up once for all its targets (a code may be a megabyte; the twenty-fifth pass's P4).
        let mut known = source_code.map(|c| std::mem::take(relationships.entry(c).or_default()));
        for (t, tgt) in element.children_named("target").enumerate() {
            walk.path.push("target", Some(t));
            if let Some(code) = tgt.child("code") {
                walk.path.push("code", None);
                check_code(walk, tgt, code, Side::Target, target.as_ref(), target_scope, batch);
                walk.path.pop();
            }
            if let (Some(source), Some(known)) = (source_code, known.as_mut()) {
                duplicate_targets(walk, tgt, source, known);
            }
            walk.path.pop();
        }
        if let (Some(c), Some(known)) = (source_code, known) {
            relationships.insert(c, known);
        }
        walk.path.pop();
    }
}

/// `group.source` / `group.target`: given, loaded, complete enough to check codes against.
fn group_system(walk: &mut Walk<'_, '_>, group: &Node, side: Side, scope: Option<&Scope>) -> Option<SystemRef> {
    let name = side.word();
    let Some(node) = group.child(name) else {
        let msg = match side {
            // CONCEPTMAP_GROUP_SOURCE_MISSING
            Side::Source => "No Source Code System, so the source codes cannot be checked",
            // CONCEPTMAP_GROUP_TARGET_MISSING
            Side::Target => "No Target Code System, so the target codes cannot be checked",
        };
        walk.warn(group, IssueCode::Required, msg.into());
        return None;
    };
    let given = node.text().unwrap_or("");
    let mut url = given.to_owned();
    let mut version = group.child_text(&format!("{name}Version")).map(str::to_owned);
    if version.is_none() {
        if let Some((u, v)) = given.split_once('|') {
            url = u.to_owned();
            version = Some(v.to_owned());
        } else if let Some(scope) = scope.filter(|s| s.found) {
            // The version the scope's value set includes the system at.
            let canonical = match &scope.version {
                Some(v) => format!("{}|{v}", scope.url),
                None => scope.url.clone(),
            };
            if let Some(vs) = walk.ctx.resource_json(&canonical) {
                for inc in vs.pointer("/compose/include").and_then(Value::as_array).into_iter().flatten() {
                    if inc.get("system").and_then(Value::as_str) == Some(url.as_str()) {
                        if let Some(v) = inc.get("version").and_then(Value::as_str) {
                            version = Some(v.to_owned());
                        }
                    }
                }
            }
        }
    }
    let canonical = match &version {
        Some(v) => format!("{url}|{v}"),
        None => url.clone(),
    };
    let mut cs = walk.ctx.resource_json(&canonical).filter(|r| r.get("resourceType").and_then(Value::as_str) == Some("CodeSystem"));
    walk.path.push(name, None);
    match &cs {
        Some(found) => {
            let content = found.get("content").and_then(Value::as_str).unwrap_or("");
            if SERVER_SIDE.contains(&url.as_str()) {
                let msg = match side {
                    // CONCEPTMAP_GROUP_SOURCE_SERVER_SIDE
                    Side::Source => format!("Source Code System {given} is only supported on the terminology server, so the source codes are not validated for performance reasons"),
                    // CONCEPTMAP_GROUP_TARGET_SERVER_SIDE
                    Side::Target => format!("Target Code System {given} is only supported on the terminology server, so the target codes are not validated for performance reasons"),
                };
                walk.inform(node, IssueCode::BusinessRule, msg);
                cs = None;
            } else if matches!(content, "not-present" | "example" | "fragment") {
                let msg = match side {
                    // CONCEPTMAP_GROUP_SOURCE_INCOMPLETE
                    Side::Source => format!("Source Code System {given} doesn't have all content (content = {content}), so the source codes cannot be checked"),
                    // CONCEPTMAP_GROUP_TARGET_INCOMPLETE
                    Side::Target => format!("Target Code System {given} doesn't have all content (content = {content}), so the target codes cannot be checked"),
                };
                walk.warn(node, IssueCode::NotFound, msg);
                cs = None;
            }
        }
        None => {
            if scope.is_none() {
                let msg = match side {
                    // CONCEPTMAP_GROUP_SOURCE_UNKNOWN
                    Side::Source => format!("The Source Code System {given} is not fully defined and populated, and no sourceScope is specified, so the source code checking will not be performed"),
                    // CONCEPTMAP_GROUP_TARGET_UNKNOWN
                    Side::Target => format!("The Target Code System {given} is not fully defined and populated, and no targetScope is specified, so the target code checking will not be performed"),
                };
                walk.warn(node, IssueCode::NotFound, msg);
            }
        }
    }
    walk.path.pop();
    let shared_url: std::rc::Rc<str> = url.as_str().into();
    let shared_version = version.as_deref().map(std::rc::Rc::<str>::from);
    Some(SystemRef { url, cs, concepts: Default::default(), shared_url, shared_version })
}

/// A source or target code: a code of its system (an error when the system
/// is complete, a warning otherwise), its display one of the code's, and a
/// member of the map's value set for that side.
#[allow(clippy::too_many_arguments)]
fn check_code<'n>(walk: &mut Walk<'_, '_>, owner: &Node, code_node: &'n Node, side: Side, system: Option<&SystemRef>, scope: Option<&Scope>, batch: &mut Batch<'n>) {
    let Some(code) = code_node.text() else { return };
    let Some(system) = system else { return };
    let Some(cs) = system.cs.as_deref() else {
        if let Some(scope) = scope.filter(|s| s.found) {
            // Past the limit only the count matters (the reference checks none then).
            batch.total += 1;
            if batch.total <= CODE_LIMIT + 1 {
                batch.items.push(Pending {
                    path: walk.path.clone(),
                    node: code_node,
                    code,
                    system: system.shared_url.clone(),
                    version: system.shared_version.clone(),
                    value_set: scope.canonical.clone(),
                });
            }
        }
        return;
    };
    let complete = cs.get("content").and_then(Value::as_str) == Some("complete");
    let versioned = versioned_url(cs);
    let Some(displays) = system.displays_of(code) else {
        // Packages can carry several versions of a system; a code any of them defines is known.
        let terminology = walk.v.terminology();
        if walk.ctx.versions(&system.url).into_iter().flatten().any(|v| terminology.code_index(&format!("{}|{v}", system.url)).is_some_and(|ix| ix.contains(code))) {
            return;
        }
        let msg = match side {
            // CONCEPTMAP_GROUP_SOURCE_CODE_INVALID
            Side::Source => format!("The source code '{code}' is not valid in the code system {versioned}"),
            // CONCEPTMAP_GROUP_TARGET_CODE_INVALID
            Side::Target => format!("The target code '{code}' is not valid in the code system {versioned}"),
        };
        if complete {
            walk.error(code_node, IssueCode::Required, msg);
        } else {
            walk.warn(code_node, IssueCode::Required, msg);
        }
        return;
    };
    if let Some(display) = owner.child_text("display") {
        if !displays.iter().any(|d| d.to_lowercase() == display.to_lowercase()) {
            let list = displays.iter().map(|d| format!("'{d}'")).collect::<Vec<_>>().join(", ");
            let msg = match side {
                // CONCEPTMAP_GROUP_SOURCE_DISPLAY_INVALID
                Side::Source => format!("The source display '{display}' for the code '{versioned}#{code}' is not valid. Possible displays: {list}"),
                // CONCEPTMAP_GROUP_TARGET_DISPLAY_INVALID
                Side::Target => format!("The target display '{display}' for the code '{versioned}#{code}' is not valid. Possible displays: {list}"),
            };
            walk.warn(code_node, IssueCode::Required, msg);
        }
    }
    let Some(scope) = scope.filter(|s| s.found) else { return };
    let vs_canonical: &str = &scope.canonical;
    match walk.v.terminology().member(vs_canonical, Some(&system.url), code) {
        Membership::In => {}
        Membership::NotIn => {
            // The reference cites the value set for a source code, the code system for a target code.
            let msg = match side {
                // CONCEPTMAP_GROUP_SOURCE_CODE_INVALID_VS
                Side::Source => format!("The source code '{code}' is not valid in the value set {}", versioned_vs(walk, &vs_canonical)),
                // CONCEPTMAP_GROUP_TARGET_CODE_INVALID_VS
                Side::Target => format!("The target code '{code}' is not valid in the value set {versioned}"),
            };
            if complete {
                walk.error(code_node, IssueCode::Required, msg);
            } else {
                walk.warn(code_node, IssueCode::Required, msg);
            }
        }
        Membership::Unknown(_) => {
            let msg = match side {
                // CONCEPTMAP_GROUP_SOURCE_CODE_CANT_CHECK
                Side::Source => format!("The source code '{code}' in the code system {versioned} cannot be checked due to special rules around the code system"),
                // CONCEPTMAP_GROUP_TARGET_CODE_CANT_CHECK
                Side::Target => format!("The target code '{code}' in the code system {versioned} cannot be checked due to special rules around the code system"),
            };
            walk.warn(code_node, IssueCode::Required, msg);
        }
    }
}

/// The same source code mapped twice: to nothing (an `unmatched` target
/// without a code) and to codes, or to one code twice.
/// The equivalences seen from one source code: to no target, and to each target.
#[derive(Default)]
struct Relationships<'n> {
    alone: Option<&'n str>,
    to: HashMap<&'n str, &'n str>,
}

/// A target's relationship against those given before for the same source
/// code. Keys and messages borrow the codes: a code may be a megabyte, and
/// a map thousands of targets (the twenty-fourth pass's P4).
fn duplicate_targets<'n>(walk: &mut Walk<'_, '_>, tgt: &'n Node, source: &'n str, known: &mut Relationships<'n>) {
    let Some(reln) = tgt.child_text("equivalence") else { return };
    let target = tgt.child_text("code");
    let quoted = |text: &str| crate::issue::quoted(text).into_owned();
    let shown = || quoted(target.unwrap_or("--"));
    // CONCEPTMAP_GROUP_TARGET_DUPLICATION (the reference leaves {2} unfilled)
    let duplication = || format!("A {{2}} relationship has already been defined from the code {} to the code {}", quoted(source), shown());
    // CONCEPTMAP_GROUP_TARGET_DUPLICATION_DIFFERENT
    let different = |earlier: &str| {
        format!("A {} relationship has already been defined from the code {} to the code {}, but this defines a new relationship {}", quoted(reln), quoted(source), shown(), quoted(earlier))
    };
    match target {
        None => match known.alone {
            None => known.alone = Some(reln),
            Some(earlier) if earlier == reln => walk.warn(tgt, IssueCode::BusinessRule, duplication()),
            Some(earlier) => walk.warn(tgt, IssueCode::BusinessRule, different(earlier)),
        },
        Some(t) => {
            if let Some(earlier) = known.alone {
                walk.warn(tgt, IssueCode::BusinessRule, different(earlier));
            }
            match known.to.get(t).copied() {
                // As the reference has it: the same relationship again is reported as "different", a different one as a duplicate.
                Some(earlier) if earlier == reln => walk.warn(tgt, IssueCode::BusinessRule, different(earlier)),
                Some(_) => walk.warn(tgt, IssueCode::BusinessRule, duplication()),
                None => {
                    known.to.insert(t, reln);
                }
            }
        }
    }
}

/// A concept's display, then its designations' values, each once.
fn displays(concept: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(d) = concept.get("display").and_then(Value::as_str) {
        out.push(d.to_owned());
    }
    for d in concept.get("designation").and_then(Value::as_array).into_iter().flatten() {
        if let Some(v) = d.get("value").and_then(Value::as_str) {
            if !out.iter().any(|o| o == v) {
                out.push(v.to_owned());
            }
        }
    }
    out
}

fn versioned_url(resource: &Value) -> String {
    let url = resource.get("url").and_then(Value::as_str).unwrap_or("");
    match resource.get("version").and_then(Value::as_str) {
        Some(v) => format!("{url}|{v}"),
        None => url.to_owned(),
    }
}

fn versioned_vs(walk: &Walk<'_, '_>, canonical: &str) -> String {
    walk.ctx.resource_json(canonical).map(|vs| versioned_url(&vs)).unwrap_or_else(|| canonical.to_owned())
}
