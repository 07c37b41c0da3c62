//! Index rows: what each search parameter's expression finds in a resource,
//! reduced to the values searches compare (codes, normalised strings, date
//! ranges, reference targets, numbers, URIs). Computed at write time.

use super::{dates, ParamType, Registry};
use crate::context::Context;
use crate::fhirpath::{self, EvalContext, Item};
use crate::tree::Node;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum IndexValue {
    Token { system: Option<String>, code: Option<String>, display: Option<String> },
    String { norm: String, exact: String },
    Date { lo: i64, hi: i64 },
    Reference { target_type: Option<String>, target_id: Option<String>, url: String },
    Quantity { value: Number, system: Option<String>, code: Option<String> },
    Uri(String),
}

/// A quantity's value: compared and hashed by its bits, so that rows can
/// be told apart in a set (a value is never NaN: it is parsed from FHIR).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Number(pub f64);

impl Eq for Number {}

impl std::hash::Hash for Number {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IndexRow {
    pub param: String,
    pub value: IndexValue,
    /// For a composite's components: the rows found on the same element share a group.
    pub group: Option<i64>,
}

impl IndexRow {
    /// About how many bytes the row's values take in the store.
    pub fn size(&self) -> usize {
        let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        self.param.len()
            + 16
            + match &self.value {
                IndexValue::Token { system, code, display } => opt(system) + opt(code) + opt(display),
                IndexValue::String { norm, exact } => norm.len() + exact.len(),
                IndexValue::Date { .. } => 16,
                IndexValue::Reference { target_type, target_id, url } => opt(target_type) + opt(target_id) + url.len(),
                IndexValue::Quantity { system, code, .. } => 8 + opt(system) + opt(code),
                IndexValue::Uri(u) => u.len(),
            }
    }
}

/// How strings are compared by default: case-insensitively.
pub fn normalize(s: &str) -> String {
    s.trim().to_lowercase()
}

/// `Patient/1`, `Patient/1/_history/2` or `http://base/Patient/1` → (`Patient`, `1`).
/// `urn:uuid:…` and `#contained` have no type and id of their own.
pub fn parse_reference(reference: &str) -> Option<(String, String)> {
    if reference.starts_with('#') || reference.starts_with("urn:") {
        return None;
    }
    let path = reference.split(['?', '#']).next().unwrap_or(reference);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let segments = match segments.iter().position(|s| *s == "_history") {
        Some(h) => &segments[..h],
        None => &segments[..],
    };
    let [.., t, id] = segments else { return None };
    t.starts_with(|c: char| c.is_ascii_uppercase()).then(|| (t.to_string(), id.to_string()))
}

/// Every index row of a resource.
pub fn extract(registry: &Registry, ctx: &Context, res_type: &str, root: &Node) -> Vec<IndexRow> {
    let env = EvalContext::new(ctx);
    let mut rows = Vec::new();
    // Rows already made, found in a set: a resource may make many thousands.
    let mut seen = std::collections::HashSet::new();
    let mut bytes = 0usize;
    for param in registry.params(res_type) {
        if !param.kind.searchable() {
            continue;
        }
        let mut group = 0i64;
        for path in &param.paths {
            let items = match fhirpath::evaluate(&path.expression, root, res_type, &env) {
                Ok(items) => items,
                Err(e) => {
                    tracing::debug!("search parameter {} on {res_type}: {e}", param.code);
                    continue;
                }
            };
            for item in &items {
                if param.kind == ParamType::Composite {
                    group += 1;
                    for (k, component) in param.components.iter().enumerate() {
                        let found = fhirpath::evaluate_item(&component.expression, Some(item.clone()), &env).unwrap_or_default();
                        for value in found.iter().flat_map(|f| values(component.kind, f, None)) {
                            let row = IndexRow { param: param.component_name(k), value, group: Some(group) };
                            if seen.insert(row.clone()) {
                                bytes += row.size();
                                rows.push(row);
                            }
                        }
                    }
                } else {
                    for value in values(param.kind, item, path.resolves_to.as_deref()) {
                        let row = IndexRow { param: param.code.clone(), value, group: None };
                        if seen.insert(row.clone()) {
                            bytes += row.size();
                            rows.push(row);
                        }
                    }
                }
                // Past the limits the rows are refused whole (`limits::check_index`): stop making them.
                if rows.len() > super::super::limits::MAX_INDEX_ROWS || bytes > super::super::limits::MAX_INDEX_BYTES {
                    return rows;
                }
            }
        }
    }
    rows
}

fn values(kind: ParamType, item: &Item<'_>, resolves_to: Option<&str>) -> Vec<IndexValue> {
    let Item::Node { node, type_name, .. } = item else {
        return item.text().map(|t| primitive(kind, &t)).into_iter().flatten().collect();
    };
    let text = |n: &Node, name: &str| n.child_text(name).map(str::to_string);
    match (kind, type_name.as_str()) {
        (ParamType::Token, "Coding") => vec![IndexValue::Token { system: text(node, "system"), code: text(node, "code"), display: text(node, "display") }],
        (ParamType::Token, "CodeableConcept") => {
            // The concept's text is a row of its own, not copied into every
            // coding's (a concept may carry thousands of codings and a long text).
            let mut codes: Vec<IndexValue> = node.children_named("coding").map(|c| IndexValue::Token { system: text(c, "system"), code: text(c, "code"), display: text(c, "display") }).collect();
            codes.extend(text(node, "text").map(|t| IndexValue::Token { system: None, code: None, display: Some(t) }));
            codes
        }
        (ParamType::Token, "Identifier") => vec![IndexValue::Token { system: text(node, "system"), code: text(node, "value"), display: None }],
        (ParamType::Token, "ContactPoint") => vec![IndexValue::Token { system: text(node, "system"), code: text(node, "value"), display: None }],
        (ParamType::String, "HumanName" | "Address") => {
            let parts = ["text", "family", "given", "prefix", "suffix", "line", "city", "district", "state", "postalCode", "country"];
            node.children.iter().filter(|c| parts.contains(&c.name.as_str())).filter_map(Node::text).map(string_value).collect()
        }
        (ParamType::Date, "Period") => {
            let lo = node.child_text("start").and_then(dates::range).map_or(i64::MIN, |r| r.0);
            let hi = node.child_text("end").and_then(dates::range).map_or(i64::MAX, |r| r.1);
            vec![IndexValue::Date { lo, hi }]
        }
        (ParamType::Date, "Timing") => node.children_named("event").filter_map(Node::text).filter_map(dates::range).map(|(lo, hi)| IndexValue::Date { lo, hi }).collect(),
        (ParamType::Reference, "Reference") => {
            let Some(reference) = node.child_text("reference") else { return Vec::new() };
            reference_value(reference, resolves_to).into_iter().collect()
        }
        (ParamType::Quantity | ParamType::Number, t) if crate::fhirpath::value::is_quantity_type(t) => {
            let Some(value) = node.child_text("value").and_then(|v| v.parse::<f64>().ok()) else { return Vec::new() };
            vec![IndexValue::Quantity { value: Number(value), system: text(node, "system"), code: text(node, "code").or_else(|| text(node, "unit")) }]
        }
        (ParamType::Reference, _) => node.text().and_then(|t| reference_value(t, resolves_to)).into_iter().collect(),
        _ => node.text().map(|t| primitive(kind, t)).into_iter().flatten().collect(),
    }
}

fn string_value(s: &str) -> IndexValue {
    IndexValue::String { norm: normalize(s), exact: s.to_string() }
}

fn reference_value(reference: &str, resolves_to: Option<&str>) -> Option<IndexValue> {
    let target = parse_reference(reference);
    if let (Some(want), Some((t, _))) = (resolves_to, &target) {
        if want != t {
            return None;
        }
    }
    let (target_type, target_id) = target.map_or((None, None), |(t, i)| (Some(t), Some(i)));
    Some(IndexValue::Reference { target_type, target_id, url: reference.to_string() })
}

/// A primitive value under a parameter of `kind`.
fn primitive(kind: ParamType, text: &str) -> Option<IndexValue> {
    match kind {
        ParamType::Token => Some(IndexValue::Token { system: None, code: Some(text.to_string()), display: None }),
        ParamType::String => Some(string_value(text)),
        ParamType::Date => dates::range(text).map(|(lo, hi)| IndexValue::Date { lo, hi }),
        ParamType::Uri => Some(IndexValue::Uri(text.to_string())),
        ParamType::Number | ParamType::Quantity => text.parse::<f64>().ok().map(|value| IndexValue::Quantity { value: Number(value), system: None, code: None }),
        ParamType::Reference => reference_value(text, None),
        ParamType::Composite | ParamType::Special => None,
    }
}

#[cfg(test)]
mod tests {
    use super::parse_reference;

    #[test]
    fn references_give_their_type_and_id() {
        assert_eq!(parse_reference("Patient/1"), Some(("Patient".into(), "1".into())));
        assert_eq!(parse_reference("http://x/fhir/Goal/g/_history/3"), Some(("Goal".into(), "g".into())));
        assert_eq!(parse_reference("urn:uuid:0c3a"), None);
        assert_eq!(parse_reference("#c1"), None);
    }
}
