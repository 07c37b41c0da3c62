//! The element tree back to FHIR JSON. XML does not say which elements
//! repeat or which primitives are numbers, so the definitions decide; this is
//! how XML conformance resources (UK Core ships only XML) become the JSON the
//! context reads.

use crate::context::Context;
use crate::structure::StructureDef;
use crate::tree::{Node, ValueKind};
use serde_json::{Map, Number, Value};
use std::sync::Arc;

/// A resource node as FHIR JSON.
pub fn resource_to_json(node: &Node, ctx: &Context) -> Value {
    resource(node, ctx, false)
}

/// Marks a number kept in its lexical form by `resource_to_json_exact`.
pub const EXACT_NUMBER: char = '\u{E000}';

/// As `resource_to_json`, but every number keeps its lexical form (`1.50`
/// stays `1.50`): it is a string starting with `EXACT_NUMBER`. For writers
/// that must reproduce the instance's numbers exactly (signature canonical forms).
pub fn resource_to_json_exact(node: &Node, ctx: &Context) -> Value {
    resource(node, ctx, true)
}

fn resource(node: &Node, ctx: &Context, exact: bool) -> Value {
    let type_name = node.resource_type.as_deref().unwrap_or(node.name.as_str());
    let mut obj = Map::new();
    obj.insert("resourceType".into(), Value::String(type_name.to_string()));
    let sd = ctx.type_definition(type_name);
    fill(&mut obj, node, sd.as_ref().map(|s| (s, 0)), ctx, exact);
    Value::Object(obj)
}

type Scope<'a> = Option<(&'a Arc<StructureDef>, usize)>;

fn fill(obj: &mut Map<String, Value>, node: &Node, scope: Scope<'_>, ctx: &Context, exact: bool) {
    // Group children by name, keeping first-appearance order, in one pass
    // (an element may have very many differently named children).
    let mut groups: Vec<(&str, Vec<&Node>)> = Vec::new();
    let mut group_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for c in &node.children {
        let i = *group_of.entry(c.name.as_str()).or_insert_with(|| {
            groups.push((c.name.as_str(), Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(c);
    }
    for (name, items) in groups {
        let def = scope.and_then(|(sd, ix)| sd.match_child(ix, name).map(|(d, t)| (sd, d, t.map(|t| t.code.clone()))));
        let repeats = match def {
            Some((sd, d, _)) => sd.elements[d].repeats,
            None => items.len() > 1,
        };
        let type_code = def.clone().and_then(|(sd, d, chosen)| chosen.or_else(|| (sd.elements[d].types.len() == 1).then(|| sd.elements[d].types[0].code.clone())));
        let mut values = Vec::new();
        let mut shadows = Vec::new();
        for item in &items {
            let (v, shadow) = item_to_json(item, def.as_ref().map(|(sd, d, _)| (*sd, *d)), type_code.as_deref(), ctx, exact);
            values.push(v);
            shadows.push(shadow);
        }
        let any_value = values.iter().any(|v| !v.is_null());
        let any_shadow = shadows.iter().any(Option::is_some);
        if repeats {
            if any_value {
                obj.insert(name.to_string(), Value::Array(values));
            }
            if any_shadow {
                obj.insert(format!("_{name}"), Value::Array(shadows.into_iter().map(|s| s.map(Value::Object).unwrap_or(Value::Null)).collect()));
            }
        } else {
            if let Some(v) = values.into_iter().next().filter(|v| !v.is_null()) {
                obj.insert(name.to_string(), v);
            }
            if let Some(Some(s)) = shadows.into_iter().next() {
                obj.insert(format!("_{name}"), Value::Object(s));
            }
        }
    }
}

/// One element: its JSON value, and for a primitive, the `_name` object
/// holding its id and extensions.
fn item_to_json(item: &Node, def: Scope<'_>, type_code: Option<&str>, ctx: &Context, exact: bool) -> (Value, Option<Map<String, Value>>) {
    if item.resource_type.is_some() {
        return (resource(item, ctx, exact), None);
    }
    if let Some(v) = &item.value {
        let mut json = primitive_json(&v.text, v.kind, type_code);
        if exact && json.is_number() {
            json = Value::String(format!("{EXACT_NUMBER}{}", v.text));
        }
        let shadow = (!item.children.is_empty()).then(|| {
            let mut m = Map::new();
            let prim_sd = type_code.and_then(|t| ctx.type_definition(t));
            fill(&mut m, item, prim_sd.as_ref().map(|s| (s, 0)), ctx, exact);
            m
        });
        return (json, shadow);
    }
    let is_primitive = type_code.is_some_and(crate::validator::is_primitive_type);
    let mut m = Map::new();
    let child_scope: Option<(Arc<StructureDef>, usize)> = match def {
        Some((sd, d)) if !sd.elements[d].children.is_empty() => Some((sd.clone(), d)),
        Some((sd, d)) if sd.elements[d].content_reference.is_some() => {
            let r = sd.elements[d].content_reference.as_deref().unwrap_or_default();
            sd.element_by_id(r.rsplit('#').next().unwrap_or(r)).map(|t| (sd.clone(), t))
        }
        _ => type_code.and_then(|t| ctx.type_definition(t)).map(|s| (s, 0)),
    };
    fill(&mut m, item, child_scope.as_ref().map(|(s, i)| (s, *i)), ctx, exact);
    if is_primitive {
        (Value::Null, Some(m))
    } else {
        (Value::Object(m), None)
    }
}

fn primitive_json(text: &str, kind: ValueKind, type_code: Option<&str>) -> Value {
    match kind {
        ValueKind::JsonBool => return Value::Bool(text == "true"),
        ValueKind::JsonNumber => return number(text),
        _ => {}
    }
    match type_code {
        Some("boolean") if text == "true" || text == "false" => Value::Bool(text == "true"),
        Some("integer" | "positiveInt" | "unsignedInt" | "decimal") => number(text),
        _ => Value::String(text.to_string()),
    }
}

fn number(text: &str) -> Value {
    text.parse::<i64>()
        .ok()
        .map(Number::from)
        .or_else(|| text.parse::<f64>().ok().and_then(Number::from_f64))
        .map(Value::Number)
        .unwrap_or_else(|| Value::String(text.to_string()))
}
