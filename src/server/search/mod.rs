//! Search driven by the SearchParameter definitions in the loaded packages.
//!
//! At start the registry reads every SearchParameter and keeps, for each
//! resource type, the parts of its FHIRPath expression that apply to that
//! type (R4 writes one expression for many bases, joined with `|`).
//! `index.rs` evaluates them at write time into index rows; `query.rs`
//! turns a search's parameters into parameterised SQL over those rows.

pub mod dates;
pub mod index;
pub mod query;

use crate::context::Context;
use crate::fhirpath::{self, Expression};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamType {
    Number,
    Date,
    String,
    Token,
    Reference,
    Quantity,
    Uri,
    /// Two or more parameters matched together on one element
    /// (`code-value-quantity`): its components' rows share a group.
    Composite,
    /// Known, but not searchable here.
    Special,
}

impl ParamType {
    fn parse(s: &str) -> ParamType {
        match s {
            "number" => ParamType::Number,
            "date" => ParamType::Date,
            "string" => ParamType::String,
            "token" => ParamType::Token,
            "reference" => ParamType::Reference,
            "quantity" => ParamType::Quantity,
            "uri" => ParamType::Uri,
            "composite" => ParamType::Composite,
            _ => ParamType::Special,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::Number => "number",
            ParamType::Date => "date",
            ParamType::String => "string",
            ParamType::Token => "token",
            ParamType::Reference => "reference",
            ParamType::Quantity => "quantity",
            ParamType::Uri => "uri",
            ParamType::Composite => "composite",
            ParamType::Special => "special",
        }
    }

    /// Whether this server indexes and searches parameters of this type.
    pub fn searchable(self) -> bool {
        self != ParamType::Special
    }

    /// The index table holding this type's rows.
    pub fn table(self) -> Option<&'static str> {
        Some(match self {
            ParamType::Number | ParamType::Quantity => "idx_quantity",
            ParamType::Date => "idx_date",
            ParamType::String => "idx_string",
            ParamType::Token => "idx_token",
            ParamType::Reference => "idx_reference",
            ParamType::Uri => "idx_uri",
            ParamType::Composite | ParamType::Special => return None,
        })
    }
}

/// One part of a parameter's expression for one resource type, with the
/// target type of a `where(resolve() is T)` filter taken out of it.
#[derive(Clone, Debug)]
pub struct Path {
    pub expression: Expression,
    pub resolves_to: Option<String>,
}

/// One component of a composite parameter: its type and its expression,
/// relative to what the composite's own expression finds.
#[derive(Clone, Debug)]
pub struct Component {
    pub kind: ParamType,
    pub expression: Expression,
}

#[derive(Clone, Debug)]
pub struct SearchParam {
    pub code: String,
    pub url: String,
    pub kind: ParamType,
    /// Resource types a reference parameter may point to.
    pub targets: Vec<String>,
    pub paths: Vec<Path>,
    pub components: Vec<Component>,
}

impl SearchParam {
    /// The name a composite's component `k` is indexed under.
    pub fn component_name(&self, k: usize) -> String {
        format!("{}${k}", self.code)
    }
}

/// Parameters the store answers from its own columns, not from index rows.
pub const BUILT_IN: &[&str] = &["_id", "_lastUpdated"];

/// Every search parameter, by resource type and code.
#[derive(Default)]
pub struct Registry {
    by_type: HashMap<String, BTreeMap<String, Arc<SearchParam>>>,
    /// Parameters on `Resource` (`_profile`, `_tag`, ...), for every type.
    common: Vec<RawParam>,
    /// Every parameter's type by its canonical URL, for composites' components.
    kinds: HashMap<String, ParamType>,
}

#[derive(Clone, Debug)]
struct RawParam {
    code: String,
    url: String,
    kind: ParamType,
    targets: Vec<String>,
    expression: String,
    /// (definition URL, expression) of each component of a composite.
    components: Vec<(String, String)>,
}

impl Registry {
    /// Reads every SearchParameter in the context. Core definitions win over
    /// others with the same code on the same type.
    pub fn load(ctx: &Context) -> Registry {
        let mut raw: HashMap<String, Vec<RawParam>> = HashMap::new();
        let mut kinds = HashMap::new();
        let mut common = Vec::new();
        let mut entries: Vec<_> = ctx.entries().filter(|e| e.resource_type == "SearchParameter").collect();
        entries.sort_by_key(|e| (!e.url.starts_with("http://hl7.org/fhir/"), e.url.clone()));
        for e in entries {
            let Some(json) = ctx.resource_json(&e.url) else { continue };
            let text = |k: &str| json.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
            let list = |k: &str| -> Vec<String> { json.get(k).and_then(|v| v.as_array()).map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default() };
            let components = json
                .get("component")
                .and_then(|c| c.as_array())
                .map(|a| a.iter().map(|c| (c.get("definition").and_then(|d| d.as_str()).unwrap_or_default().to_string(), c.get("expression").and_then(|x| x.as_str()).unwrap_or_default().to_string())).collect())
                .unwrap_or_default();
            let param = RawParam { code: text("code"), url: e.url.clone(), kind: ParamType::parse(&text("type")), targets: list("target"), expression: text("expression"), components };
            kinds.insert(param.url.clone(), param.kind);
            if param.code.is_empty() || BUILT_IN.contains(&param.code.as_str()) {
                continue;
            }
            for base in list("base") {
                if base == "Resource" {
                    if !common.iter().any(|c: &RawParam| c.code == param.code) {
                        common.push(param.clone());
                    }
                } else if base != "DomainResource" {
                    let for_type = raw.entry(base).or_default();
                    if !for_type.iter().any(|c| c.code == param.code) {
                        for_type.push(param.clone());
                    }
                }
            }
        }
        let mut registry = Registry { by_type: HashMap::new(), common, kinds };
        for (res_type, params) in raw {
            let compiled = params.iter().chain(registry.common.iter()).filter_map(|p| compile(&res_type, p, &registry.kinds)).map(|p| (p.code.clone(), Arc::new(p))).collect();
            registry.by_type.insert(res_type, compiled);
        }
        registry
    }

    /// The parameters of a resource type (its own and the common ones).
    pub fn params(&self, res_type: &str) -> Vec<Arc<SearchParam>> {
        match self.by_type.get(res_type) {
            Some(m) => m.values().cloned().collect(),
            None => self.common.iter().filter_map(|p| compile(res_type, p, &self.kinds)).map(Arc::new).collect(),
        }
    }

    pub fn param(&self, res_type: &str, code: &str) -> Option<Arc<SearchParam>> {
        match self.by_type.get(res_type) {
            Some(m) => m.get(code).cloned(),
            None => self.common.iter().find(|p| p.code == code).and_then(|p| compile(res_type, p, &self.kinds)).map(Arc::new),
        }
    }
}

/// The parts of `param`'s expression that apply to `res_type`, parsed.
fn compile(res_type: &str, param: &RawParam, kinds: &HashMap<String, ParamType>) -> Option<SearchParam> {
    let mut paths = Vec::new();
    for part in split_union(&param.expression) {
        let part = part.trim();
        let (open, rest) = (part.len() - part.trim_start_matches('(').len(), part.trim_start_matches('('));
        let head: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        let body = if head == res_type {
            part.to_string()
        } else if head == "Resource" {
            format!("{}{res_type}{}", "(".repeat(open), &rest["Resource".len()..])
        } else {
            continue;
        };
        let (body, resolves_to) = take_resolve_filter(&body);
        match fhirpath::parse_cached(&body) {
            Ok(expression) => paths.push(Path { expression, resolves_to }),
            Err(e) => tracing::debug!("search parameter {} on {res_type}: cannot parse '{body}': {e}", param.code),
        }
    }
    if paths.is_empty() && param.kind.searchable() {
        return None;
    }
    let mut components = Vec::new();
    for (url, expression) in &param.components {
        let kind = kinds.get(url).copied().unwrap_or(ParamType::Special);
        match fhirpath::parse_cached(expression) {
            Ok(expression) if kind.table().is_some() => components.push(Component { kind, expression }),
            _ => {
                tracing::debug!("composite search parameter {} on {res_type}: component {url} ('{expression}') cannot be used", param.code);
                return None;
            }
        }
    }
    if param.kind == ParamType::Composite && components.len() < 2 {
        return None;
    }
    Some(SearchParam { code: param.code.clone(), url: param.url.clone(), kind: param.kind, targets: param.targets.clone(), paths, components })
}

/// Splits `a | b | (c | d)` at the top level only.
fn split_union(expr: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0usize);
    for (i, c) in expr.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            '|' if !quoted && depth == 0 => {
                parts.push(&expr[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&expr[start..]);
    parts
}

/// `subject.where(resolve() is Patient)` → (`subject`, `Patient`): the
/// store has no resolver at index time, so the type test is applied to the
/// reference itself.
fn take_resolve_filter(expr: &str) -> (String, Option<String>) {
    const OPEN: &str = ".where(resolve() is ";
    let Some(at) = expr.find(OPEN) else { return (expr.to_string(), None) };
    let rest = &expr[at + OPEN.len()..];
    let Some(close) = rest.find(')') else { return (expr.to_string(), None) };
    let target = rest[..close].trim().to_string();
    (format!("{}{}", &expr[..at], &rest[close + 1..]), Some(target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unions_split_at_the_top_level_and_resolve_filters_come_out() {
        assert_eq!(split_union("A.b | (C.d as X) | E.f.where(g = 'a|b')"), vec!["A.b ", " (C.d as X) ", " E.f.where(g = 'a|b')"]);
        assert_eq!(take_resolve_filter("CarePlan.subject.where(resolve() is Patient)"), ("CarePlan.subject".to_string(), Some("Patient".to_string())));
    }
}
