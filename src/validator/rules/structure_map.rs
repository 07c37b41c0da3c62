//! StructureMap rules, as the reference's StructureMap validator applies
//! them: imports, groups and their inputs, rules with their sources and
//! targets (element paths against the definitions of the variables' types,
//! cardinalities, list modes), the transforms careplan can judge (`create`,
//! `copy`, `reference`, `evaluate`, `cc`, `append`, `uuid`, `translate`),
//! and dependent groups with the variables passed to them.
//!
//! Groups whose inputs all have types are checked first; a group without
//! types is checked once a dependent rule has called it (its inputs then
//! take the types of what was passed), and what no call reaches is checked
//! last, untyped, after a hint saying so.
//!
//! Each check names the message key it raises. Types and element paths are
//! read from the loaded definitions only; what is not loaded is reported as
//! not checkable, never as wrong.

use crate::issue::{quoted, IssueCode};
use crate::primitive::is_absolute_url;
use crate::structure::StructureDef;
use crate::tree::Node;
use crate::validator::element::Walk;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::collections::HashSet;

/// The group name the FHIR mapping language compiles `then { }`-less default
/// calls to, and the variable name of such implied dependent rules.
const DEF_GROUP_NAME: &str = "DefaultMappingGroupAnonymousAlias";
const AUTO_VAR_NAME: &str = "vvv";
const CORE: &str = "http://hl7.org/fhir/StructureDefinition/";
const UNBOUNDED: u32 = u32::MAX;
/// Walks up a chain of base definitions stop after this many steps.
const MAX_BASE_STEPS: usize = 24;
/// Variables listed in a message at most.
const MAX_LISTED_VARIABLES: usize = 50;
/// Maps a wildcard import may bring in at most.
const MAX_WILDCARD_MAPS: usize = 50;

/// What a variable's value is known to be: an element of a definition,
/// perhaps narrowed to one of its types, and how many values it may hold.
#[derive(Clone)]
struct Typed {
    sd: Arc<StructureDef>,
    ed: usize,
    max: u32,
    ty: Option<String>,
}

#[derive(Clone)]
struct Var {
    name: String,
    mode: Option<String>,
    typed: Option<Typed>,
}

impl Var {
    fn is_source(&self) -> bool {
        self.mode.as_deref() == Some("source")
    }
}

/// The variables in scope: a rule sees its group's and its enclosing rules'
/// variables, and its own, which hide any of the same name and mode.
struct Vars<'p> {
    parent: Option<&'p Vars<'p>>,
    list: Vec<Option<Var>>,
    index: HashMap<(String, bool), usize>,
}

impl<'p> Vars<'p> {
    fn root() -> Vars<'static> {
        Vars { parent: None, list: Vec::new(), index: HashMap::new() }
    }

    fn child(parent: &'p Vars<'p>) -> Vars<'p> {
        Vars { parent: Some(parent), list: Vec::new(), index: HashMap::new() }
    }

    fn get(&self, name: &str, source: bool) -> Option<&Var> {
        let mut scope = Some(self);
        while let Some(s) = scope {
            if let Some(&i) = s.index.get(&(name.to_owned(), source)) {
                return s.list[i].as_ref();
            }
            scope = s.parent;
        }
        None
    }

    fn has_name(&self, name: &str) -> bool {
        self.get(name, true).is_some() || self.get(name, false).is_some()
    }

    /// Adds a variable (replacing one of the same name and mode in this
    /// scope, hiding one in an enclosing scope) and returns where it is.
    fn add(&mut self, var: Var) -> usize {
        let key = (var.name.clone(), var.is_source());
        if let Some(&old) = self.index.get(&key) {
            self.list[old] = None;
        }
        self.list.push(Some(var));
        let at = self.list.len() - 1;
        self.index.insert(key, at);
        at
    }

    fn set_type(&mut self, at: usize, typed: Option<Typed>) {
        if let Some(v) = self.list[at].as_mut() {
            v.typed = typed;
        }
    }

    /// The variables in scope, outermost first, as `name : type (mode)`.
    fn summary(&self, ctx: &crate::context::Context) -> String {
        let mut scopes = Vec::new();
        let mut scope = Some(self);
        while let Some(s) = scope {
            scopes.push(s);
            scope = s.parent;
        }
        let mut parts = Vec::new();
        let mut more = false;
        for (depth, s) in scopes.iter().enumerate().rev() {
            for v in s.list.iter().flatten() {
                let key = (v.name.clone(), v.is_source());
                if scopes[..depth].iter().any(|inner| inner.index.contains_key(&key)) {
                    continue;
                }
                if parts.len() == MAX_LISTED_VARIABLES {
                    more = true;
                    break;
                }
                parts.push(var_summary(ctx, v));
            }
        }
        if more {
            parts.push("…".into());
        }
        parts.join(", ")
    }
}

/// `name : type (mode)`, as the reference lists a variable.
fn var_summary(ctx: &crate::context::Context, v: &Var) -> String {
    let ty = v.typed.as_ref().and_then(|t| working_type(ctx, t)).unwrap_or_else(|| "null".into());
    format!("{} : {} ({})", quoted(&v.name), quoted(&ty), v.mode.as_deref().unwrap_or("null"))
}

fn list_summary(ctx: &crate::context::Context, list: &[Var]) -> String {
    let mut parts: Vec<String> = list.iter().take(MAX_LISTED_VARIABLES).map(|v| var_summary(ctx, v)).collect();
    if list.len() > MAX_LISTED_VARIABLES {
        parts.push("…".into());
    }
    parts.join(", ")
}

/// Whether two variables passed to a group are the same: name, mode, and
/// the definition, element and type they stand for.
fn same_var(a: &Var, b: &Var) -> bool {
    if a.name != b.name || a.mode != b.mode {
        return false;
    }
    match (&a.typed, &b.typed) {
        (None, None) => true,
        (Some(x), Some(y)) => x.sd.url == y.sd.url && x.sd.elements[x.ed].path == y.sd.elements[y.ed].path && x.ty == y.ty,
        _ => false,
    }
}

/// The type a variable holds, as the reference names it: the chosen type
/// (as the element spells it), the resource or type it is the root of, the
/// element of an abstract type, or the element's one type.
fn working_type(ctx: &crate::context::Context, t: &Typed) -> Option<String> {
    let ed = &t.sd.elements[t.ed];
    if let Some(ty) = &t.ty {
        for td in &ed.types {
            if ctx.type_definition(&td.code).is_some_and(|sd| &sd.type_name == ty) {
                return Some(td.code.clone());
            }
        }
        return Some(ty.clone());
    }
    if !ed.path.contains('.') {
        return Some(ed.path.clone());
    }
    if ed.types.len() == 1 {
        if ctx.type_definition(&ed.types[0].code).is_some_and(|sd| sd.is_abstract) {
            return Some(format!("{}#{}", t.sd.url, ed.path));
        }
        return Some(ed.types[0].code.clone());
    }
    None
}

/// A group's input as the checks need it, from this map or an imported one.
struct Input {
    name: Option<String>,
    ty: Option<String>,
    mode: Option<String>,
}

#[derive(Clone, Copy)]
enum Resolved {
    Local(usize),
    Imported(usize, usize),
}

struct Group<'n> {
    node: &'n Node,
    has_input_types: bool,
    /// What the first dependent rule that called this group passed.
    params: Option<Vec<Var>>,
    validated: bool,
}

struct Map<'n> {
    node: &'n Node,
    groups: Vec<Group<'n>>,
    by_name: HashMap<&'n str, usize>,
    structures_by_alias: HashMap<&'n str, &'n Node>,
    imports: Vec<Arc<Value>>,
    imported_groups: Option<HashMap<String, (usize, usize)>>,
    /// Default groups (`types`/`type-and-types`, source then target input) by
    /// their source and target types.
    default_groups: Option<HashSet<(String, String)>>,
    /// From the imports: the target type of the first default group for a
    /// source type, for any type mode and for `type-and-types`.
    implied_targets: Option<(HashMap<String, String>, HashMap<String, String>)>,
    group_names: HashSet<&'n str>,
    /// Groups ready to check (typed or called), in document order.
    ready: BTreeSet<usize>,
}

pub(crate) fn check_structure_map(walk: &mut Walk<'_, '_>, node: &Node) {
    let mut map = Map {
        node,
        groups: Vec::new(),
        by_name: HashMap::new(),
        structures_by_alias: HashMap::new(),
        imports: Vec::new(),
        imported_groups: None,
        default_groups: None,
        implied_targets: None,
        group_names: HashSet::new(),
        ready: BTreeSet::new(),
    };
    for s in node.children_named("structure") {
        if let Some(alias) = s.child_text("alias") {
            map.structures_by_alias.entry(alias).or_insert(s);
        }
    }
    for (i, g) in node.children_named("group").enumerate() {
        if let Some(name) = g.child_text("name") {
            map.by_name.entry(name).or_insert(i);
        }
        let has_input_types = g.children_named("input").all(|input| input.child("type").is_some());
        map.groups.push(Group { node: g, has_input_types, params: None, validated: false });
    }

    imports(walk, &mut map);

    // Typed groups, and the groups they call, in passes over the document
    // order until none is left that can be typed.
    map.ready = (0..map.groups.len()).filter(|&i| map.groups[i].has_input_types).collect();
    let mut cursor = 0;
    loop {
        let next = match map.ready.range(cursor..).next() {
            Some(&i) => i,
            None => match map.ready.iter().next() {
                Some(&i) => i,
                None => break,
            },
        };
        map.ready.remove(&next);
        map.groups[next].validated = true;
        group(walk, &mut map, next);
        cursor = next + 1;
    }
    for i in 0..map.groups.len() {
        if map.groups[i].validated {
            continue;
        }
        let g = map.groups[i].node;
        walk.path.push("group", Some(i));
        // SM_ORPHAN_GROUP
        walk.inform(
            g,
            IssueCode::Informational,
            format!(
                "The group {} is not called successfully from within this mapping script, and does not have types on its inputs, so type verification is not possible",
                quoted(g.child_text("name").unwrap_or("null"))
            ),
        );
        walk.path.pop();
        map.groups[i].validated = true;
        group(walk, &mut map, i);
    }
}

/// Each import must find a map (a `*` in it matches any text).
fn imports(walk: &mut Walk<'_, '_>, map: &mut Map<'_>) {
    let mut all_maps: Option<Vec<String>> = None;
    for (i, import) in map.node.children_named("import").enumerate() {
        let Some(url) = import.text() else { continue };
        let mut found = false;
        if let Some(json) = walk.ctx.resource_json(url).filter(|j| j["resourceType"] == "StructureMap") {
            map.imports.push(json);
            found = true;
        } else if let Some((start, end)) = url.split_once('*') {
            let urls = all_maps.get_or_insert_with(|| walk.ctx.entries().filter(|e| e.resource_type == "StructureMap").map(|e| e.url.clone()).collect());
            for u in urls.iter().filter(|u| u.len() >= start.len() + end.len() && u.starts_with(start) && u.ends_with(end)) {
                found = true;
                if map.imports.len() < MAX_WILDCARD_MAPS {
                    if let Some(json) = walk.ctx.resource_json(u) {
                        map.imports.push(json);
                    }
                }
            }
        }
        if !found {
            walk.path.push("import", Some(i));
            // SM_IMPORT_NOT_FOUND
            walk.warn(import, IssueCode::Invalid, format!("No maps were found to match {} - validation may be wrong", quoted(url)));
            walk.path.pop();
        }
    }
}

/// The reference's rule for names in a map: a letter, then letters and digits.
fn name_is_valid(name: Option<&str>) -> bool {
    name.is_some_and(|n| {
        let mut chars = n.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric())
    })
}

/// SM_NAME_INVALID, with the issue type of the place it is raised.
fn check_name(walk: &mut Walk<'_, '_>, node: &Node, code: IssueCode, name: Option<&str>) -> bool {
    if name_is_valid(name) {
        return true;
    }
    // SM_NAME_INVALID
    walk.error(node, code, format!("The name {} is not valid", quoted(name.unwrap_or("null"))));
    false
}

fn group(walk: &mut Walk<'_, '_>, map: &mut Map<'_>, gi: usize) {
    let g = map.groups[gi].node;
    walk.path.push("group", Some(gi));
    let name = g.child_text("name");
    check_name(walk, g, IssueCode::Invalid, name);
    if let Some(name) = name {
        if !map.group_names.insert(name) {
            // SM_GROUP_NAME_DUPLICATE
            walk.error(g, IssueCode::Invalid, format!("The Group name '{}' is already used", quoted(name)));
        }
    }
    if let Some(extends) = g.child("extends") {
        let target = extends.text();
        if target.and_then(|t| resolve_group(map, t)).is_none() {
            walk.path.push("extends", None);
            // SM_RULEGROUP_NOT_FOUND
            walk.error(extends, IssueCode::NotSupported, format!("The group {} could not be resolved", quoted(target.unwrap_or("null"))));
            walk.path.pop();
        }
    }

    let mut vars = Vars::root();
    let params = map.groups[gi].params.take();
    let passed = params.as_deref().map(Passed::of);
    let gname = name.unwrap_or("null");
    for (i, input) in g.children_named("input").enumerate() {
        walk.path.push("input", Some(i));
        group_input(walk, &*map, gname, input, &mut vars, passed.as_ref());
        walk.path.pop();
    }
    drop(passed);
    map.groups[gi].params = params;
    for (i, r) in g.children_named("rule").enumerate() {
        walk.path.push("rule", Some(i));
        rule(walk, map, r, &vars);
        walk.path.pop();
    }
    walk.path.pop();
}

/// The variables a dependent call passed to a group, by name and whether
/// each is a source (the first of each), so that a group of many inputs
/// finds each in one step.
struct Passed<'v>(HashMap<(&'v str, bool), &'v Var>);

impl<'v> Passed<'v> {
    fn of(params: &'v [Var]) -> Passed<'v> {
        let mut by = HashMap::new();
        for v in params {
            by.entry((v.name.as_str(), v.is_source())).or_insert(v);
        }
        Passed(by)
    }

    fn get(&self, name: &str, source: bool) -> Option<&'v Var> {
        self.0.get(&(name, source)).copied()
    }
}

fn group_input(walk: &mut Walk<'_, '_>, map: &Map<'_>, gname: &str, input: &Node, vars: &mut Vars<'_>, params: Option<&Passed<'_>>) {
    let name = input.child_text("name");
    let mode = input.child_text("mode");
    let mut ty = input.child_text("type").map(str::to_owned);
    let mut passed: Option<&Var> = None;
    if ty.is_none() {
        if let (Some(params), Some(n)) = (params, name) {
            // What was passed for a source input may have been a target.
            let source = mode == Some("source");
            passed = params.get(n, source).or_else(|| params.get(n, mode == Some("target")));
            ty = passed.and_then(|v| v.typed.as_ref()).and_then(|t| working_type(walk.ctx, t));
        }
    }
    if !check_name(walk, input, IssueCode::NotSupported, name) {
        return;
    }
    let name = name.unwrap_or_default();
    if vars.has_name(name) {
        // SM_GROUP_INPUT_DUPLICATE
        walk.error(input, IssueCode::Duplicate, format!("The name {} is already used", quoted(name)));
        return;
    }
    let at = vars.add(Var { name: name.to_owned(), mode: mode.map(str::to_owned), typed: None });
    if !matches!(mode, Some("source" | "target")) {
        // SM_GROUP_INPUT_MODE_INVALID
        walk.error(input, IssueCode::Invalid, format!("The group parameter {} mode {} isn't valid", quoted(name), quoted(mode.unwrap_or("null"))));
        return;
    }
    let mode = mode.unwrap_or_default();
    let Some(ty) = ty else {
        // SM_GROUP_INPUT_NO_TYPE
        walk.warn(input, IssueCode::NotSupported, format!("Group {} parameter {} has no type, so the paths cannot be validated", quoted(gname), quoted(name)));
        return;
    };
    let mut structure_mode = None;
    let typed = if let Some(p) = passed {
        p.typed.clone().map(|t| Typed { max: 1, ty: None, ..t })
    } else {
        let sd = if let Some(structure) = map.structures_by_alias.get(ty.as_str()) {
            structure_mode = structure.child_text("mode");
            let url = structure.child_text("url").unwrap_or_default();
            let sd = walk.ctx.structure(url);
            if sd.is_none() {
                // SM_GROUP_INPUT_TYPE_UNKNOWN_STRUCTURE
                walk.warn(
                    input,
                    IssueCode::Invalid,
                    format!("The type {} which maps to the canonical URL {} is not known, so the paths cannot be validated", quoted(&ty), quoted(url)),
                );
            }
            sd
        } else {
            let sd = walk.ctx.type_definition(&ty);
            if sd.is_none() {
                // SM_GROUP_INPUT_TYPE_UNKNOWN_TYPE
                walk.error(input, IssueCode::Invalid, format!("The type {} is not known, so the paths cannot be validated", quoted(&ty)));
            }
            sd
        };
        sd.map(|sd| Typed { sd, ed: 0, max: 1, ty: None })
    };
    if let Some(sm) = structure_mode {
        if sm != mode && !(sm == "target" && mode == "source") {
            // SM_GROUP_INPUT_MODE_MISMATCH
            walk.error(
                input,
                IssueCode::NotSupported,
                format!("The type '{}' has mode '{}' which doesn't match the structure definition mode of '{}'", quoted(&ty), mode, quoted(sm)),
            );
            return;
        }
    }
    vars.set_type(at, typed);
}

/// What a rule's sources tell its targets: how many times the rule may
/// run, and the variable of its first source.
struct RuleInfo {
    max: u32,
    def_variable: Option<String>,
}

impl RuleInfo {
    fn see_cardinality(&mut self, max: u32) {
        self.max = if max == UNBOUNDED || self.max == UNBOUNDED { UNBOUNDED } else { self.max.saturating_mul(max) };
    }
}

fn rule(walk: &mut Walk<'_, '_>, map: &mut Map<'_>, r: &Node, vars: &Vars<'_>) {
    check_name(walk, r, IssueCode::Invalid, r.child_text("name"));
    let mut info = RuleInfo { max: 1, def_variable: None };
    let mut lvars = Vars::child(vars);
    for (i, source) in r.children_named("source").enumerate() {
        walk.path.push("source", Some(i));
        rule_source(walk, source, &mut lvars, &mut info, i);
        walk.path.pop();
    }
    for (i, target) in r.children_named("target").enumerate() {
        walk.path.push("target", Some(i));
        rule_target(walk, map, r, target, &mut lvars, &info);
        walk.path.pop();
    }
    for (i, child) in r.children_named("rule").enumerate() {
        walk.path.push("rule", Some(i));
        rule(walk, map, child, &lvars);
        walk.path.pop();
    }
    for (i, dependent) in r.children_named("dependent").enumerate() {
        walk.path.push("dependent", Some(i));
        rule_dependent(walk, map, dependent, &lvars);
        walk.path.pop();
    }
}

/// An element definition, in the definition that holds it.
struct Ed {
    sd: Arc<StructureDef>,
    ix: usize,
    /// The type a choice element's full name (`occurrenceDateTime`) selects.
    choice: Option<String>,
}

fn rule_source(walk: &mut Walk<'_, '_>, source: &Node, vars: &mut Vars<'_>, info: &mut RuleInfo, position: usize) {
    if position > 0 {
        info.def_variable = None;
    }
    let context = source.child_text("context");
    if !check_name(walk, source, IssueCode::Invalid, context) {
        return;
    }
    let context = context.unwrap_or_default();
    let Some(v) = vars.get(context, true).cloned() else {
        // SM_SOURCE_CONTEXT_UNKNOWN
        walk.error(source, IssueCode::Unknown, format!("The source context {} is not known at this point", quoted(context)));
        return;
    };
    let variable = source.child_text("variable");
    let Some(t) = v.typed.clone() else {
        if let Some(variable) = variable {
            vars.add(Var { name: variable.to_owned(), mode: v.mode.clone(), typed: None });
        }
        return;
    };
    let assign = |walk: &mut Walk<'_, '_>, vars: &mut Vars<'_>, info: &mut RuleInfo| -> Option<usize> {
        let Some(variable) = variable else {
            // SM_RULE_SOURCE_UNASSIGNED
            walk.inform(source, IssueCode::Invalid, "The source statement doesn't assign a variable to the source - check that this is what is intended".into());
            return None;
        };
        if !check_name(walk, source, IssueCode::Invalid, Some(variable)) {
            return None;
        }
        if position == 0 {
            info.def_variable = Some(variable.to_owned());
        }
        Some(vars.add(Var { name: variable.to_owned(), mode: v.mode.clone(), typed: None }))
    };
    let Some(element) = source.child_text("element") else {
        if let Some(at) = assign(walk, vars, info) {
            vars.set_type(at, Some(t));
        }
        return;
    };
    let at = assign(walk, vars, info);
    let ctx_ed = &t.sd.elements[t.ed];
    let path = format!("{}.{}", ctx_ed.path, element);
    let els = element_definitions(walk.ctx, &t.sd, t.ed, t.ty.as_deref(), element);
    if els.is_empty() {
        // SM_SOURCE_PATH_INVALID
        walk.error(source, IssueCode::Invalid, format!("The source path {}.{} refers to the path {} which is unknown", quoted(context), quoted(element), quoted(&path)));
        return;
    }
    if els.len() > 1 {
        multiple_matches(walk, source, context, element, &path, &els);
        return;
    }
    let el = &els[0];
    let el_ed = &el.sd.elements[el.ix];
    let ty = source.child_text("type");
    if let Some(ty) = ty {
        if !has_type(walk.ctx, el_ed, ty) {
            // SM_SOURCE_TYPE_INVALID
            walk.error(
                source,
                IssueCode::Invalid,
                format!("The type {} is not valid in the source context {}. The possible types are [{}]", quoted(ty), quoted(&path), type_summary(el_ed)),
            );
        }
    }
    if let Some(min) = source.child_text("min") {
        if min.parse::<i64>().is_ok_and(|m| m < i64::from(ctx_ed.min)) {
            // SM_RULE_SOURCE_MIN_REDUNDANT
            walk.inform(source, IssueCode::Invalid, format!("The min value of {min} is redundant since the valid min is {min}", min = quoted(min)));
        }
    }
    let existing = if t.max == UNBOUNDED || el_ed.max.is_none() { UNBOUNDED } else { t.max.saturating_mul(el_ed.max.unwrap_or(1)) };
    let max = source.child_text("max");
    let i_max = max.and_then(|m| m.parse::<u32>().ok()).unwrap_or(existing);
    if i_max > existing {
        // SM_RULE_SOURCE_MAX_REDUNDANT
        let max = max.unwrap_or_default();
        walk.warn(source, IssueCode::Invalid, format!("The max value of {max} is redundant since the valid max is {max}", max = quoted(max)));
    }
    info.see_cardinality(i_max);
    if let Some(at) = at {
        vars.set_type(at, Some(Typed { sd: el.sd.clone(), ed: el.ix, max: i_max, ty: ty.map(str::to_owned).or_else(|| el.choice.clone()) }));
    }
}

/// The type codes of an element, as the reference sums them up.
fn type_summary(ed: &crate::structure::Element) -> String {
    ed.types.iter().map(|t| t.code.as_str()).collect::<Vec<_>>().join(", ")
}

/// SM_TARGET_PATH_MULTIPLE_MATCHES (the reference says "target path" for sources too).
fn multiple_matches(walk: &mut Walk<'_, '_>, node: &Node, context: &str, element: &str, path: &str, els: &[Ed]) {
    walk.warn(
        node,
        IssueCode::Invalid,
        format!(
            "The target path {}.{} refers to the path {} which could be a reference to multiple elements ({}). No further checking can be performed",
            quoted(context),
            quoted(element),
            quoted(path),
            render(els)
        ),
    );
}

fn render(els: &[Ed]) -> String {
    els.iter().take(MAX_LISTED_VARIABLES).map(|e| e.sd.elements[e.ix].id.as_str()).collect::<Vec<_>>().join(", ")
}

/// Whether `ty` is one of the element's types or specialises one.
fn has_type(ctx: &crate::context::Context, ed: &crate::structure::Element, ty: &str) -> bool {
    for td in &ed.types {
        let Some(sd) = ctx.type_definition(&td.code) else { continue };
        if sd.type_name == ty {
            return true;
        }
        let mut t = ctx.type_definition(ty);
        for _ in 0..MAX_BASE_STEPS {
            let Some(cur) = t else { break };
            if cur.type_name == sd.type_name {
                return true;
            }
            t = cur.base_definition.as_deref().and_then(|b| ctx.structure(b));
        }
    }
    false
}

/// Whether the definition of `ty` is `sdt` or derives from it.
fn is_specialisation(ctx: &crate::context::Context, sdt: &StructureDef, ty: Option<&str>) -> bool {
    let mut t = ty.and_then(|ty| ctx.type_definition(ty));
    for _ in 0..MAX_BASE_STEPS {
        let Some(cur) = t else { return false };
        if cur.url == sdt.url {
            return true;
        }
        t = cur.base_definition.as_deref().and_then(|b| ctx.structure(b));
    }
    false
}

/// The element named `element` under the element `ix` of `sd`: among its
/// children (with their slices, following content references), or, for an
/// element with no children, among the top-level elements of its types
/// (of `ty` when that is given and one of them).
fn element_definitions(ctx: &crate::context::Context, sd: &Arc<StructureDef>, ix: usize, ty: Option<&str>, element: &str) -> Vec<Ed> {
    let mut out = Vec::new();
    let mut parent = ix;
    if let Some(reference) = &sd.elements[ix].content_reference {
        if sd.elements[ix].children.is_empty() {
            if let Some(target) = content_target(ctx, sd, reference) {
                if Arc::ptr_eq(&target.sd, sd) {
                    parent = target.ix;
                } else {
                    return element_definitions(ctx, &target.sd, target.ix, ty, element);
                }
            }
        }
    }
    let children = &sd.elements[parent].children;
    if children.is_empty() {
        for td in &sd.elements[parent].types {
            let Some(sdt) = ctx.type_definition(&td.code) else { continue };
            let chosen = if is_specialisation(ctx, &sdt, ty) { ty.and_then(|t| ctx.type_definition(t)) } else { Some(sdt.clone()) };
            let applies = ty.is_none_or(|t| t == td.code || chosen.as_ref().is_some_and(|c| c.type_name == t));
            if let (true, Some(chosen)) = (applies, chosen) {
                let top = |e: &crate::structure::Element| e.path.matches('.').count() == 1;
                let before = out.len();
                for (i, e) in chosen.elements.iter().enumerate() {
                    if top(e) && e.choice_name() == element {
                        out.push(Ed { sd: chosen.clone(), ix: i, choice: None });
                    }
                }
                if out.len() == before {
                    // a choice element by its full name, as above
                    for (i, e) in chosen.elements.iter().enumerate() {
                        if let Some(t) = e.choice_type(element).filter(|_| top(e) && e.slice_name.is_none()) {
                            out.push(Ed { sd: chosen.clone(), ix: i, choice: Some(t.code.clone()) });
                        }
                    }
                }
            }
        }
        return out;
    }
    for &c in children {
        let child = &sd.elements[c];
        if child.choice_name() != element {
            continue;
        }
        match &child.content_reference {
            Some(reference) => {
                if let Some(target) = content_target(ctx, sd, reference) {
                    out.push(target);
                }
            }
            None => {
                out.push(Ed { sd: sd.clone(), ix: c, choice: None });
                out.extend(child.slices.iter().map(|&s| Ed { sd: sd.clone(), ix: s, choice: None }));
            }
        }
    }
    if out.is_empty() {
        // `occurrenceDateTime`: the choice element, of the type its name
        // selects (the reference knows elements by their base names only,
        // but a map runs with the full name as well).
        if let Some((c, Some(t))) = sd.match_child(parent, element) {
            out.push(Ed { sd: sd.clone(), ix: c, choice: Some(t.code.clone()) });
        }
    }
    out
}

/// The element a content reference (`#Questionnaire.item`, or with a URL
/// before the `#`) points at.
fn content_target(ctx: &crate::context::Context, sd: &Arc<StructureDef>, reference: &str) -> Option<Ed> {
    let (url, path) = reference.split_once('#')?;
    let target = if url.is_empty() || url == sd.url { sd.clone() } else { ctx.structure(url)? };
    let ix = target.elements.iter().position(|e| e.path == path && e.slice_name.is_none()).or_else(|| target.element_by_id(path))?;
    Some(Ed { sd: target, ix, choice: None })
}

/// A target parameter's value and its type (`valueId` is an `id`).
fn param_value(param: &Node) -> Option<(&Node, String)> {
    param.children.iter().find_map(|c| {
        let suffix = c.name.strip_prefix("value")?;
        let mut chars = suffix.chars();
        let first = chars.next()?.to_ascii_lowercase();
        Some((c, format!("{first}{}", chars.as_str())))
    })
}

fn resolve_alias<'a>(map: &Map<'a>, ty: &'a str, mode: &str) -> &'a str {
    match map.structures_by_alias.get(ty) {
        Some(s) if s.child_text("mode") == Some(mode) => s.child_text("url").unwrap_or(ty),
        _ => {
            // A later structure with the same alias may have the mode.
            for s in map.node.children_named("structure") {
                if s.child_text("alias") == Some(ty) && s.child_text("mode") == Some(mode) {
                    return s.child_text("url").unwrap_or(ty);
                }
            }
            ty
        }
    }
}

/// The type `create('X')` makes: a URL, an alias of a target structure, or
/// a type name.
fn created_type(walk: &Walk<'_, '_>, map: &Map<'_>, param: &str) -> String {
    if is_absolute_url(param) {
        return param.to_owned();
    }
    let ty = resolve_alias(map, param, "target");
    if is_absolute_url(ty) {
        return ty.to_owned();
    }
    walk.ctx.type_definition(ty).map_or_else(|| ty.to_owned(), |sd| sd.type_name.clone())
}

fn param_count_range(walk: &mut Walk<'_, '_>, target: &Node, transform: &str, count: usize) {
    // SM_TARGET_TRANSFORM_PARAM_COUNT_RANGE
    walk.error(target, IssueCode::Invalid, format!("Transform {transform} takes {}-{} parameter(s) but {count} were found", 0, 1));
}

fn missing_params(walk: &mut Walk<'_, '_>, target: &Node, transform: &str) {
    // SM_TARGET_TRANSFORM_MISSING_PARAMS (the reference fills in the transform's name)
    walk.error(target, IssueCode::Invalid, format!("One or more parameters to the translate operation are missing (should be 3, was {})", quoted(transform)));
}

fn not_checked(walk: &mut Walk<'_, '_>, target: &Node, transform: &str) {
    // SM_TARGET_TRANSFORM_NOT_CHECKED
    walk.warn(target, IssueCode::Invalid, format!("Transform {} not checked yet", quoted(transform)));
}

fn rule_target(walk: &mut Walk<'_, '_>, map: &mut Map<'_>, r: &Node, target: &Node, vars: &mut Vars<'_>, info: &RuleInfo) {
    let params: Vec<&Node> = target.children_named("parameter").collect();
    let Some(context) = target.child_text("context") else {
        // `-> create('Composition') as c`: a new variable, of the created type.
        let mut at = None;
        if let Some(variable) = target.child_text("variable") {
            if check_name(walk, target, IssueCode::Invalid, Some(variable)) {
                at = Some(vars.add(Var { name: variable.to_owned(), mode: Some("target".into()), typed: None }));
            }
        }
        let Some(transform) = target.child_text("transform") else { return };
        let ty = match transform {
            "create" => {
                if params.len() >= 2 {
                    param_count_range(walk, target, "create", params.len());
                    None
                } else if let Some(p) = params.first() {
                    let ty = param_value(p).and_then(|(v, _)| v.text()).map(|p| created_type(walk, map, p));
                    if ty.is_none() {
                        // SM_TARGET_TRANSFORM_TYPE_UNPROCESSIBLE
                        walk.warn(target, IssueCode::Invalid, format!("The value of the type parameter for {} could not be processed", "create"));
                    }
                    ty
                } else {
                    None
                }
            }
            "uuid" => {
                if !params.is_empty() {
                    missing_params(walk, target, transform);
                }
                Some("string".to_owned())
            }
            _ => {
                not_checked(walk, target, transform);
                None
            }
        };
        if let (Some(at), Some(ty)) = (at, ty) {
            match walk.ctx.type_definition(&ty) {
                Some(sd) => vars.set_type(at, Some(Typed { sd, ed: 0, max: info.max, ty: None })),
                None => {
                    // SM_TARGET_TYPE_UNKNOWN
                    walk.error(target, IssueCode::Invalid, format!("The type of the target variable is not known: {}", quoted(&ty)));
                }
            }
        }
        return;
    };
    if !check_name(walk, target, IssueCode::Invalid, Some(context)) {
        return;
    }
    let Some(v) = vars.get(context, false).cloned() else {
        // SM_TARGET_CONTEXT_UNKNOWN
        walk.error(target, IssueCode::Unknown, format!("The target context '{}' is not known at this point", quoted(context)));
        return;
    };
    let Some(t) = v.typed.clone() else {
        // Not checkable; the variable is still known to what follows (the
        // reference leaves it out, and then reports it missing where it is passed).
        if let Some(variable) = target.child_text("variable").filter(|n| name_is_valid(Some(n))) {
            vars.add(Var { name: variable.to_owned(), mode: v.mode.clone(), typed: None });
        }
        return;
    };
    let list_mode = target.child_text("listMode");
    let list_rule_id = target.child_text("listRuleId");
    if list_rule_id.is_some() && list_mode != Some("share") {
        // SM_LIST_RULE_ID_ONLY_WHEN_SHARE
        walk.warn(target, IssueCode::Invalid, "A ruleId should only be provided when the rule mode is 'share'".into());
    }
    if info.max <= 1 {
        if list_mode.is_some() {
            // SM_NO_LIST_MODE_NEEDED
            walk.warn(target, IssueCode::Invalid, "A list mode should not be provided since this is a rule that can only be executed once".into());
        }
        if list_rule_id.is_some() {
            // SM_NO_LIST_RULE_ID_NEEDED
            walk.warn(target, IssueCode::Invalid, "A list ruleId should not be provided since this is a rule that can only be executed once".into());
        }
    }
    let mut at = None;
    if let Some(variable) = target.child_text("variable") {
        if check_name(walk, target, IssueCode::Invalid, Some(variable)) {
            at = Some(vars.add(Var { name: variable.to_owned(), mode: v.mode.clone(), typed: None }));
        }
    }
    let Some(element) = target.child_text("element") else { return };
    let path = format!("{}.{}", t.sd.elements[t.ed].path, element);
    let els = element_definitions(walk.ctx, &t.sd, t.ed, t.ty.as_deref(), element);
    if els.is_empty() {
        // SM_TARGET_PATH_INVALID
        walk.error(target, IssueCode::Invalid, format!("The target path {}.{} refers to the path {} which is unknown", quoted(context), quoted(element), quoted(&path)));
        return;
    }
    let first_path = &els[0].sd.elements[els[0].ix].path;
    let element_and_slices = els[1..].iter().all(|e| e.sd.elements[e.ix].slice_name.is_some() && &e.sd.elements[e.ix].path == first_path);
    if !element_and_slices {
        multiple_matches(walk, target, context, element, &path, &els);
        return;
    }
    let el = &els[0];
    let el_ed = &el.sd.elements[el.ix];
    let transform = match target.child_text("transform") {
        Some(t) => t,
        None => {
            if !params.is_empty() {
                // SM_TARGET_NO_TRANSFORM_NO_CHECKED
                walk.error(target, IssueCode::Invalid, "When there is no transform, parameters can't be provided".into());
            }
            "create"
        }
    };
    let mut ty = if let Some(choice) = &el.choice {
        Some(choice.clone())
    } else if el_ed.types.len() == 1 {
        Some(el_ed.types[0].code.clone())
    } else { infer_type(walk, map, info, vars, r, transform, &params) };
    // An expression's type is not worked out here: no guess, no warning.
    let mut type_unknowable = false;
    match transform {
        "create" | "copy" => {
            if params.len() >= 2 {
                // the reference names `create` for both
                param_count_range(walk, target, "create", params.len());
            } else if let Some(p) = params.first() {
                let value = param_value(p).and_then(|(v, _)| v.text());
                ty = match (transform, value) {
                    ("create", Some(value)) => Some(created_type(walk, map, value)),
                    (_, value) => value.map(str::to_owned),
                };
                if ty.is_none() {
                    // SM_TARGET_TRANSFORM_TYPE_UNPROCESSIBLE
                    walk.warn(target, IssueCode::Invalid, format!("The value of the type parameter for {transform} could not be processed"));
                }
            }
        }
        "reference" => {
            if params.len() == 1 {
                ty = Some("string".into());
            } else {
                param_count_range(walk, target, "reference", params.len());
            }
        }
        "evaluate" => {
            if params.len() != 1 {
                // SM_TARGET_TRANSFORM_PARAM_COUNT_SINGLE
                walk.error(target, IssueCode::Invalid, format!("Transform {} takes {} parameter(s) but {} were found", "evaluate", 1, params.len()));
            } else {
                match param_value(params[0]).and_then(|(v, _)| v.text()) {
                    None => {
                        // SM_TARGET_TRANSFORM_PARAM_UNPROCESSIBLE
                        walk.error(params[0], IssueCode::Invalid, format!("The parameter at index {} could not be processed (type = {})", 0, params.len()));
                    }
                    Some(expression) => {
                        type_unknowable = true;
                        if let Err(e) = crate::fhirpath::parse(expression) {
                            // SM_TARGET_TRANSFORM_EXPRESSION_ERROR
                            walk.error(params[0], IssueCode::Invalid, format!("The FHIRPath expression passed as the evaluate parameter is invalid: {}", quoted(&e.to_string())));
                        }
                    }
                }
            }
        }
        "cc" => {
            if !matches!(params.len(), 2 | 3) {
                missing_params(walk, target, transform);
            }
            // system and code are needed, display is not
            for i in 0..2 {
                if params.get(i).and_then(|p| param_value(p)).is_none() {
                    // SM_TARGET_TRANSFORM_TRANSLATE_NO_PARAM (the reference names `system` for each)
                    walk.error(target, IssueCode::Invalid, format!("No value for the {} parameter found", "system"));
                }
            }
        }
        "append" => {
            if params.is_empty() {
                missing_params(walk, target, transform);
            }
        }
        "uuid" => {
            if !params.is_empty() {
                missing_params(walk, target, transform);
            }
        }
        "translate" => translate(walk, map, target, &params, vars, el_ed),
        _ => not_checked(walk, target, transform),
    }
    let Some(at) = at else { return };
    let Some(ty) = ty else {
        if !type_unknowable {
            // SM_TARGET_TYPE_MULTIPLE_POSSIBLE
            walk.warn(target, IssueCode::Invalid, format!("Multiple types are possible here ({}) so further type checking is not possible", type_summary(el_ed)));
        }
        vars.set_type(at, Some(Typed { sd: el.sd.clone(), ed: el.ix, max: info.max, ty: None }));
        return;
    };
    if el_ed.types.len() == 1 && el_ed.types[0].code == "Resource" {
        match walk.ctx.type_definition(&ty) {
            Some(sd) => {
                vars.set_type(at, Some(Typed { sd, ed: 0, max: info.max, ty: None }));
                return;
            }
            None => {
                // SM_TARGET_TRANSFORM_TYPE_UNKNOWN
                walk.error(target, IssueCode::Invalid, format!("The type '{}' is not known", quoted(&ty)));
            }
        }
    }
    vars.set_type(at, Some(Typed { sd: el.sd.clone(), ed: el.ix, max: info.max, ty: Some(ty) }));
}

/// `translate(source, map_uri, output)`.
fn translate(walk: &mut Walk<'_, '_>, map: &Map<'_>, target: &Node, params: &[&Node], vars: &Vars<'_>, target_ed: &crate::structure::Element) {
    if params.len() != 3 {
        missing_params(walk, target, "translate");
    }
    let value = |i: usize| params.get(i).and_then(|p| param_value(p));
    let source = value(0);
    let mut source_var = None;
    match &source {
        None => {
            // SM_TARGET_TRANSFORM_TRANSLATE_NO_PARAM
            walk.error(target, IssueCode::Invalid, format!("No value for the {} parameter found", "source"));
        }
        Some((v, ty)) if ty == "id" => {
            let name = v.text().unwrap_or_default();
            source_var = vars.get(name, true);
            if source_var.is_none() {
                // SM_TARGET_TRANSFORM_TRANSLATE_UNKNOWN_SOURCE
                walk.error(target, IssueCode::Invalid, format!("The source variable {} is unknown", quoted(name)));
            }
        }
        Some(_) => {}
    }
    match value(1) {
        None => {
            // SM_TARGET_TRANSFORM_TRANSLATE_NO_PARAM
            walk.error(target, IssueCode::Invalid, format!("No value for the {} parameter found", "map_uri"));
        }
        Some((v, _)) => {
            let reference = v.text().unwrap_or_default();
            let concept_map = match reference.strip_prefix('#') {
                Some(id) => map.node.children_named("contained").any(|c| c.resource_type.as_deref() == Some("ConceptMap") && c.child_text("id") == Some(id)),
                None => walk.ctx.resource_json(reference).is_some_and(|j| j["resourceType"] == "ConceptMap"),
            };
            // An error for a contained map, a warning for one that may be
            // loaded where the map runs.
            if !concept_map {
                // SM_TARGET_TRANSFORM_TRANSLATE_CM_NOT_FOUND
                let msg = format!("The map_uri '{}' could not be resolved, so the map can't be checked", quoted(reference));
                if reference.starts_with('#') {
                    walk.error(target, IssueCode::NotFound, msg);
                } else {
                    walk.warn(target, IssueCode::NotFound, msg);
                }
            }
            if concept_map {
                if let Some(src_ed) = source_var.and_then(|v| v.typed.as_ref()).map(|t| &t.sd.elements[t.ed]) {
                    let cm: Option<Value> = match reference.strip_prefix('#') {
                        Some(id) => map
                            .node
                            .children_named("contained")
                            .find(|c| c.resource_type.as_deref() == Some("ConceptMap") && c.child_text("id") == Some(id))
                            .map(|c| crate::convert::resource_to_json(c, walk.ctx)),
                        None => walk.ctx.resource_json(reference).map(|j| (*j).clone()),
                    };
                    translate_bindings(walk, target, src_ed, target_ed, cm.as_ref());
                }
            }
        }
    }
    if let Some((v, _)) = value(2) {
        let mode = v.text().unwrap_or_default();
        if !matches!(mode, "code" | "system" | "display" | "Coding" | "CodeableConcept") {
            // SM_TARGET_TRANSFORM_TRANSLATE_CM_BAD_MODE
            walk.error(target, IssueCode::Invalid, format!("The value '{}' for the output parameter is incorrect", quoted(mode)));
        }
    }
}

/// A translation can be checked only between required bindings to known
/// value sets.
fn translate_bindings(walk: &mut Walk<'_, '_>, target: &Node, src: &crate::structure::Element, tgt: &crate::structure::Element, cm: Option<&Value>) {
    let required = |e: &crate::structure::Element| e.binding.as_ref().filter(|b| b.strength == "required").and_then(|b| b.value_set.clone());
    // An expansion that lists every code, or why there is none.
    let expansion = |walk: &Walk<'_, '_>, vs: &str| -> Result<std::sync::Arc<crate::terminology::Expansion>, String> {
        match walk.v.terminology.expand(vs) {
            Some(exp) if exp.complete => Ok(exp),
            Some(exp) => Err(crate::terminology::Undecided::Open(exp).to_string()),
            None => Err(crate::terminology::Undecided::Missing(vs.to_string()).to_string()),
        }
    };
    let source_required = required(src);
    match &source_required {
        None => {
            // SM_TARGET_TRANSLATE_BINDING_SOURCE
            walk.warn(target, IssueCode::Invalid, "The source variable does not have a required binding, so this concept map can't be checked".into());
        }
        Some(vs) => {
            if walk.ctx.value_set(vs).is_none() {
                // SM_TARGET_TRANSLATE_BINDING_VS_SOURCE
                walk.warn(target, IssueCode::Invalid, format!("The source variable refers to an unknown value set '{}', so this concept map can't be checked", quoted(vs)));
            } else if let Err(why) = expansion(walk, vs) {
                // SM_TARGET_TRANSLATE_BINDING_VSE_SOURCE (the reference's listing of the
                // source's unmapped codes that would follow never reports: its condition is
                // the one this branch holds)
                walk.warn(target, IssueCode::Invalid, format!("There was an error expanding the source value set, so this concept map can't be checked: '{}'", quoted(&why)));
            }
        }
    }
    match required(tgt) {
        None => {
            // SM_TARGET_TRANSLATE_BINDING_TARGET
            walk.warn(target, IssueCode::Invalid, "The target variable does not have a required binding, so this concept map can't be checked".into());
        }
        Some(vs) => {
            if walk.ctx.value_set(&vs).is_none() {
                // SM_TARGET_TRANSLATE_BINDING_VS_TARGET
                walk.warn(target, IssueCode::Invalid, format!("The target variable refers to an unknown value set '{}', so this concept map can't be checked", quoted(&vs)));
                return;
            }
            match expansion(walk, &vs) {
                Err(why) => {
                    // SM_TARGET_TRANSLATE_BINDING_VSE_TARGET
                    walk.warn(target, IssueCode::Invalid, format!("There was an error expanding the target value set, so this concept map can't be checked: '{}'", quoted(&why)));
                }
                // As the reference has it, the map's target codes are listed only when the
                // source has no required binding (so every group of the map counts), and
                // the codes listed are those the target value set holds.
                Ok(exp) if source_required.is_none() => {
                    let mut listed: Vec<&str> = Vec::new();
                    for group in cm.and_then(|c| c["group"].as_array()).into_iter().flatten() {
                        let system = group["target"].as_str().unwrap_or_default();
                        for element in group["element"].as_array().into_iter().flatten() {
                            for t in element["target"].as_array().into_iter().flatten() {
                                if let Some(code) = t["code"].as_str() {
                                    if exp.contains(system, code) {
                                        listed.push(code);
                                    }
                                }
                            }
                        }
                    }
                    if !listed.is_empty() {
                        // SM_TARGET_TRANSLATE_BINDING_TARGET_WRONG
                        walk.warn(target, IssueCode::Invalid, format!("The map produces one or more codes that the target value set does not include: {}", quoted(&listed.join(", "))));
                    }
                }
                Ok(_) => {}
            }
        }
    }
}

/// `http://hl7.org/fhir/StructureDefinition/X` for a bare type name `X`.
fn full_type(ty: &str) -> String {
    if is_absolute_url(ty) {
        ty.to_owned()
    } else {
        format!("{CORE}{ty}")
    }
}

/// An imported group input's type: the URL of a structure of the same
/// alias and mode, or the type as written.
fn imported_input_type(map: &Value, input: &Value) -> Option<String> {
    let ty = input["type"].as_str()?;
    let mode = if input["mode"] == "source" { "source" } else { "target" };
    let structures = map["structure"].as_array().map(Vec::as_slice).unwrap_or_default();
    Some(structures.iter().find(|s| s["alias"] == ty && s["mode"] == mode).and_then(|s| s["url"].as_str()).unwrap_or(ty).to_owned())
}

/// The target type of a `create`/`copy` without parameters, where the
/// imports' default groups decide it from the first source's type.
fn infer_type(walk: &Walk<'_, '_>, map: &mut Map<'_>, info: &RuleInfo, vars: &Vars<'_>, r: &Node, transform: &str, params: &[&Node]) -> Option<String> {
    let def_variable = info.def_variable.as_deref()?;
    if !matches!(transform, "create" | "copy") || !params.is_empty() {
        return None;
    }
    let t = vars.get(def_variable, true)?.typed.as_ref()?;
    let ed = &t.sd.elements[t.ed];
    let ty = match &t.ty {
        Some(ty) => ed.types.iter().find(|td| walk.ctx.type_definition(&td.code).is_some_and(|sd| &sd.type_name == ty)).map_or_else(|| ty.clone(), |td| td.code.clone()),
        None if ed.types.len() == 1 => ed.types[0].code.clone(),
        None => return None,
    };
    let imports = &map.imports;
    let (any_mode, type_and_types) = map.implied_targets.get_or_insert_with(|| {
        let mut any_mode = HashMap::new();
        let mut type_and_types = HashMap::new();
        for m in imports {
            for g in m["group"].as_array().map(Vec::as_slice).unwrap_or_default() {
                let inputs = g["input"].as_array().map(Vec::as_slice).unwrap_or_default();
                let Some(mode) = g["typeMode"].as_str() else { continue };
                if inputs.len() != 2 {
                    continue;
                }
                let (Some(src), Some(tgt)) = (imported_input_type(m, &inputs[0]), imported_input_type(m, &inputs[1])) else { continue };
                any_mode.entry(full_type(&src)).or_insert_with(|| tgt.clone());
                if mode == "type-and-types" {
                    type_and_types.entry(full_type(&src)).or_insert(tgt);
                }
            }
        }
        (any_mode, type_and_types)
    });
    let mut dependents = r.children_named("dependent");
    let (first, second) = (dependents.next(), dependents.next());
    match (first, second) {
        (Some(d), None) if d.child_text("name") == Some(DEF_GROUP_NAME) => any_mode.get(&full_type(&ty)).cloned(),
        (None, _) => type_and_types.get(&full_type(&ty)).cloned(),
        _ => None,
    }
}

fn resolve_group(map: &mut Map<'_>, name: &str) -> Option<Resolved> {
    if let Some(&i) = map.by_name.get(name) {
        return Some(Resolved::Local(i));
    }
    let imports = &map.imports;
    let index = map.imported_groups.get_or_insert_with(|| {
        let mut index = HashMap::new();
        for (mi, m) in imports.iter().enumerate() {
            for (gi, g) in m["group"].as_array().map(Vec::as_slice).unwrap_or_default().iter().enumerate() {
                if let Some(n) = g["name"].as_str() {
                    index.entry(n.to_owned()).or_insert((mi, gi));
                }
            }
        }
        index
    });
    index.get(name).map(|&(m, g)| Resolved::Imported(m, g))
}

fn group_inputs(map: &Map<'_>, g: Resolved) -> Vec<Input> {
    match g {
        Resolved::Local(i) => map.groups[i]
            .node
            .children_named("input")
            .map(|n| Input { name: n.child_text("name").map(str::to_owned), ty: n.child_text("type").map(str::to_owned), mode: n.child_text("mode").map(str::to_owned) })
            .collect(),
        Resolved::Imported(m, g) => map.imports[m]["group"][g]["input"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|n| Input { name: n["name"].as_str().map(str::to_owned), ty: n["type"].as_str().map(str::to_owned), mode: n["mode"].as_str().map(str::to_owned) })
            .collect(),
    }
}

fn group_name(map: &Map<'_>, g: Resolved) -> String {
    match g {
        Resolved::Local(i) => map.groups[i].node.child_text("name").unwrap_or("null").to_owned(),
        Resolved::Imported(m, g) => map.imports[m]["group"][g]["name"].as_str().unwrap_or("null").to_owned(),
    }
}

/// A group input's type, through the aliases of the map that holds the group.
fn input_type(map: &Map<'_>, g: Resolved, ty: &str) -> String {
    match g {
        Resolved::Local(_) => map.structures_by_alias.get(ty).and_then(|s| s.child_text("url")).unwrap_or(ty).to_owned(),
        Resolved::Imported(m, _) => {
            let structures = map.imports[m]["structure"].as_array().map(Vec::as_slice).unwrap_or_default();
            structures.iter().find(|s| s["alias"] == ty).and_then(|s| s["url"].as_str()).unwrap_or(ty).to_owned()
        }
    }
}

/// Whether a variable may be passed where `ty` is expected: the type of
/// its definition or element, the type it was narrowed to, or a type it
/// specialises.
fn types_match(ctx: &crate::context::Context, v: &Var, ty: &str) -> bool {
    let Some(t) = &v.typed else { return true };
    if t.sd.url == ty || t.sd.type_name == ty || t.ty.as_deref() == Some(ty) {
        return true;
    }
    let wanted = full_type(ty);
    let ed = &t.sd.elements[t.ed];
    if t.ed == 0 && full_type(&t.sd.type_name) == wanted {
        return true;
    }
    if ed.types.iter().any(|td| full_type(&td.code) == wanted) {
        return true;
    }
    let Some(tsd) = ctx.type_definition(ty) else { return false };
    let starts: Vec<String> = match &t.ty {
        Some(own) => vec![own.clone()],
        None if t.ed == 0 => vec![t.sd.url.clone()],
        None => ed.types.iter().map(|td| td.code.clone()).collect(),
    };
    starts.iter().any(|s| {
        let mut sd = ctx.type_definition(s);
        for _ in 0..MAX_BASE_STEPS {
            let Some(cur) = sd else { return false };
            if cur.url == tsd.url {
                return true;
            }
            sd = cur.base_definition.as_deref().and_then(|b| ctx.type_definition(b));
        }
        false
    })
}

fn rule_dependent(walk: &mut Walk<'_, '_>, map: &mut Map<'_>, dependent: &Node, vars: &Vars<'_>) {
    let name = dependent.child_text("name");
    if name == Some(DEF_GROUP_NAME) {
        default_dependent(walk, map, dependent, vars);
        return;
    }
    let Some(g) = name.and_then(|n| resolve_group(map, n)) else {
        // SM_RULEGROUP_NOT_FOUND
        walk.error(dependent, IssueCode::NotFound, format!("The group {} could not be resolved", quoted(name.unwrap_or("null"))));
        return;
    };
    let name = name.unwrap_or_default();
    let inputs = group_inputs(map, g);
    let params: Vec<&Node> = dependent.children_named("variable").collect();
    if params.len() != inputs.len() {
        // SM_RULEGROUP_PARAM_COUNT_MISMATCH
        walk.error(
            dependent,
            IssueCode::Invalid,
            format!("The group {} is invoked using {} parameters, but it actually takes {} instead", quoted(name), params.len(), inputs.len()),
        );
        return;
    }
    let target_name = group_name(map, g);
    let map_url = match g {
        Resolved::Local(_) => "$this".to_owned(),
        Resolved::Imported(m, _) => {
            let m = &map.imports[m];
            match (m["url"].as_str(), m["version"].as_str()) {
                (Some(u), Some(v)) => format!("{u}|{v}"),
                (Some(u), None) => u.to_owned(),
                _ => "null".to_owned(),
            }
        }
    };
    let mut ok = true;
    let mut passed = Vec::with_capacity(params.len());
    for (i, (param, input)) in params.iter().zip(&inputs).enumerate() {
        // A group input without a valid mode is reported on the group.
        let Some(mode) = input.mode.as_deref().filter(|m| matches!(*m, "source" | "target")) else {
            ok = false;
            continue;
        };
        walk.path.push("variable", Some(i));
        let value = param.text().unwrap_or_default();
        let mut v = vars.get(value, mode == "source");
        if v.is_none() && mode == "source" {
            // a target can be passed on as a source
            v = vars.get(value, false);
        }
        let pname = input.name.as_deref().unwrap_or("null");
        match v {
            None => {
                // SM_DEPENDENT_PARAM_NOT_FOUND
                walk.error(
                    param,
                    IssueCode::Invalid,
                    format!("The {} parameter '{}' was not found. Known variables: {}", mode, quoted(pname), vars.summary(walk.ctx)),
                );
                ok = false;
            }
            Some(v) => {
                let v_mode = v.mode.as_deref().unwrap_or("null");
                let ity = input.ty.as_deref().map(|t| input_type(map, g, t));
                if v_mode != mode && !(v_mode == "target" && mode == "source") {
                    // SM_DEPENDENT_PARAM_MODE_MISMATCH (the reference names the parameter by a `name` R4's string parameters do not have)
                    walk.error(
                        param,
                        IssueCode::Invalid,
                        format!(
                            "The parameter {} refers to the variable {} but its mode is {} which is not the same as the mode required for the group {}",
                            "null",
                            quoted(v_mode),
                            mode,
                            quoted(&target_name)
                        ),
                    );
                    ok = false;
                } else if ity.as_deref().is_some_and(|ity| !types_match(walk.ctx, v, ity)) {
                    let ity = input.ty.as_deref().unwrap_or("null");
                    // SM_DEPENDENT_PARAM_TYPE_MISMATCH
                    walk.error(
                        param,
                        IssueCode::Invalid,
                        format!(
                            "The parameter '{}' refers to the variable '{}' but its type is '{}' which is not compatible with the type required for the group '{}', which is '{}' (from map '{}')",
                            quoted(pname),
                            var_summary(walk.ctx, v),
                            quoted(ity),
                            quoted(&target_name),
                            quoted(ity),
                            quoted(&map_url)
                        ),
                    );
                    ok = false;
                } else {
                    let mut p = v.clone();
                    p.name = pname.to_owned();
                    passed.push(p);
                }
            }
        }
        walk.path.pop();
    }
    if let (true, Resolved::Local(gi)) = (ok, g) {
        match &map.groups[gi].params {
            Some(earlier) => {
                if earlier.len() != passed.len() || !earlier.iter().zip(&passed).all(|(a, b)| same_var(a, b)) {
                    // SM_DEPENDENT_PARAM_TYPE_MISMATCH_DUPLICATE
                    walk.warn(
                        dependent,
                        IssueCode::Invalid,
                        format!(
                            "The group {} has already been used with different parameters, so the type checking may be incorrect (other = [{}]; this = [{}])",
                            quoted(&target_name),
                            list_summary(walk.ctx, earlier),
                            list_summary(walk.ctx, &passed)
                        ),
                    );
                }
            }
            None => {
                map.groups[gi].params = Some(passed);
                if !map.groups[gi].validated {
                    map.ready.insert(gi);
                }
            }
        }
    }
}

/// `then DefaultMappingGroupAnonymousAlias(vvv, vvv)`: a default group must
/// exist for the types of the source and target `vvv` variables.
fn default_dependent(walk: &mut Walk<'_, '_>, map: &mut Map<'_>, dependent: &Node, vars: &Vars<'_>) {
    let (Some(src), Some(tgt)) = (vars.get(AUTO_VAR_NAME, true), vars.get(AUTO_VAR_NAME, false)) else { return };
    let (Some(st), Some(tt)) = (&src.typed, &tgt.typed) else { return };
    let Some(src_type) = working_type(walk.ctx, st) else {
        // SM_SOURCE_TYPE_NOT_FOUND
        walk.error(dependent, IssueCode::NotFound, "No source type was found, so the default group for this implied dependent rule could not be determined".into());
        return;
    };
    let Some(tgt_type) = working_type(walk.ctx, tt) else {
        // SM_TARGET_TYPE_NOT_FOUND
        walk.error(dependent, IssueCode::NotFound, "No target type was found, so the default group for this implied dependent rule could not be determined".into());
        return;
    };
    let ctx = walk.ctx;
    let groups = &map.groups;
    let imports = &map.imports;
    let defaults = map.default_groups.get_or_insert_with(|| {
        let url_of = |ty: Option<&str>| ty.and_then(|t| ctx.type_definition(t)).map(|sd| full_type(&sd.url));
        let mut set = HashSet::new();
        for g in groups {
            if !matches!(g.node.child_text("typeMode"), Some("types" | "type-and-types")) {
                continue;
            }
            let inputs: Vec<&Node> = g.node.children_named("input").collect();
            if inputs.len() != 2 || inputs[0].child_text("mode") != Some("source") {
                continue;
            }
            if let (Some(s), Some(t)) = (url_of(inputs[0].child_text("type")), url_of(inputs[1].child_text("type"))) {
                set.insert((s, t));
            }
        }
        for m in imports {
            let structures = m["structure"].as_array().map(Vec::as_slice).unwrap_or_default();
            let resolve = |input: &Value| {
                let ty = input["type"].as_str()?;
                match structures.iter().find(|s| s["alias"] == ty).and_then(|s| s["url"].as_str()) {
                    Some(u) => Some(full_type(u)),
                    None => url_of(Some(ty)),
                }
            };
            for g in m["group"].as_array().map(Vec::as_slice).unwrap_or_default() {
                let inputs = g["input"].as_array().map(Vec::as_slice).unwrap_or_default();
                if !matches!(g["typeMode"].as_str(), Some("types" | "type-and-types")) || inputs.len() != 2 || inputs[0]["mode"] != "source" || inputs[1]["mode"] != "target" {
                    continue;
                }
                if let (Some(s), Some(t)) = (resolve(&inputs[0]), resolve(&inputs[1])) {
                    set.insert((s, t));
                }
            }
        }
        set
    });
    let found = defaults.contains(&(full_type(&src_type), full_type(&tgt_type))) || defaults.contains(&(full_type(&st.sd.url), full_type(&tt.sd.url)));
    if !found {
        let summary = |t: &Typed| t.sd.versioned_url();
        // SM_MATCHING_RULEGROUP_NOT_FOUND
        walk.error(
            dependent,
            IssueCode::NotFound,
            format!(
                "Unable to find a default rule for the type pair source={} and target={}",
                quoted(&format!("{src_type} ({})", summary(st))),
                quoted(&format!("{tgt_type} ({})", summary(tt)))
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_a_letter_then_letters_and_digits() {
        assert!(name_is_valid(Some("a1B")));
        assert!(!name_is_valid(Some("1a")));
        assert!(!name_is_valid(Some("a-b")));
        assert!(!name_is_valid(Some("")));
        assert!(!name_is_valid(None));
    }
}
